//! The scoring contract of capability-model.md, one behaviour per test:
//! knockouts, coverage classes, tier boundaries, confidence, staleness and
//! every flag, through the public API with the built-in default profile.

use chrono::NaiveDate;
use iorready::model::{
    Answer, Conflict, Country, CountryAssessment, DutiesFunding, Evidence, Field, IorRole, Liability, Normalised,
    OperatingModel, ProductCompliance, Provider, ProviderResponse, RegulatoryPathway, SourceRef, VatRecovery,
};
use iorready::scoring::{
    assess_response, Assessed, Confidence, CoverageClass, FlagCode, Profile, ProviderResult, Tier,
};

const AS_OF: (i32, u32, u32) = (2026, 6, 15);

fn as_of() -> NaiveDate {
    d(AS_OF.0, AS_OF.1, AS_OF.2)
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// The cell of a field in the reference layout, on row 2.
fn cell(field: Field) -> Option<SourceRef> {
    let col = match field {
        Field::Country => 0,
        Field::CoverageClaimed => 1,
        Field::OperatingModel => 2,
        Field::IorRole => 3,
        Field::Liability => 4,
        Field::LocalEntityName => 5,
        Field::LocalEntityId => 6,
        Field::LicenceIds => 7,
        Field::LicenceExpiry => 8,
        Field::Executions24m => 9,
        Field::LastExecution => 10,
        Field::RegulatoryPathway => 11,
        Field::ProductCompliance => 12,
        Field::DutiesFunding => 13,
        Field::VatRecovery => 14,
        Field::LeadTimeDays => 15,
        Field::Evidence => 16,
        Field::EvidenceRef => 17,
        Field::Comments => 18,
    };
    Some(SourceRef::new("q.xlsx".into(), "Countries".into(), 1, col))
}

fn k<T>(field: Field, v: T) -> Answer<T> {
    Answer::known(v, "answer", cell(field))
}

fn blank<T>(field: Field) -> Answer<T> {
    Answer {
        value: Normalised::Unknown,
        raw: String::new(),
        source: cell(field),
    }
}

/// A country where everything is established: scores 100, ready.
fn ideal() -> CountryAssessment {
    CountryAssessment {
        country: Country::from_alpha2("DE"),
        country_source: cell(Field::Country),
        coverage_claimed: k(Field::CoverageClaimed, true),
        operating_model: k(Field::OperatingModel, OperatingModel::OwnEntity),
        ior_role: k(Field::IorRole, IorRole::ProviderIsIor),
        liability: k(Field::Liability, Liability::Full),
        local_entity_name: k(Field::LocalEntityName, "X GmbH".into()),
        local_entity_id: k(Field::LocalEntityId, "HRB 1".into()),
        licence_ids: k(Field::LicenceIds, vec!["L-1".into()]),
        licence_expiry: k(Field::LicenceExpiry, d(2028, 1, 1)),
        executions_24m: k(Field::Executions24m, 12),
        last_execution: k(Field::LastExecution, d(2026, 5, 1)),
        regulatory_pathway: k(Field::RegulatoryPathway, RegulatoryPathway::DefinedRepeatable),
        product_compliance: k(Field::ProductCompliance, ProductCompliance::ProviderHandles),
        duties_funding: k(Field::DutiesFunding, DutiesFunding::ProviderPrefunds),
        vat_recovery: k(Field::VatRecovery, VatRecovery::ClientRecovers),
        lead_time_days: k(Field::LeadTimeDays, 3),
        evidence: k(Field::Evidence, Evidence::Verified),
        evidence_ref: k(Field::EvidenceRef, "audit".into()),
        comments: blank(Field::Comments),
        conflicts: Vec::new(),
    }
}

fn provider(response: NaiveDate, claimed: Option<u32>) -> Provider {
    let src = |row| Some(SourceRef::new("q.xlsx".into(), "Provider".into(), row, 1));
    Provider {
        id: "acme".into(),
        name: Answer::known("Acme".into(), "Acme", src(1)),
        response_date: Answer::known(response, "date", src(5)),
        countries_claimed: match claimed {
            Some(n) => Answer::known(n, n.to_string(), src(6)),
            None => Answer::default(),
        },
        ..Provider::default()
    }
}

fn run_with(rows: Vec<CountryAssessment>, provider: Provider, profile: &Profile) -> ProviderResult {
    let response = ProviderResponse {
        provider,
        assessments: rows,
        row_issues: Vec::new(),
    };
    assess_response(response, "q.xlsx".into(), "test", profile, as_of())
}

fn score(a: CountryAssessment) -> Assessed {
    let profile = Profile::builtin().unwrap();
    run_with(vec![a], provider(d(2026, 5, 1), None), &profile)
        .assessed
        .remove(0)
}

fn codes(a: &Assessed) -> Vec<FlagCode> {
    a.flags.iter().map(|f| f.code).collect()
}

fn flag_cells(a: &Assessed, code: FlagCode) -> Vec<String> {
    a.flags
        .iter()
        .filter(|f| f.code == code)
        .flat_map(|f| f.cells.iter().map(|c| c.to_string()))
        .collect()
}

// --- scores ---

#[test]
fn an_established_verified_country_scores_100_and_is_ready() {
    let a = score(ideal());
    assert_eq!(a.score, 100.0);
    assert_eq!(a.tier, Tier::Ready);
    assert_eq!(a.coverage_class, CoverageClass::Active);
    assert_eq!(a.confidence, Confidence::High);
    assert!(a.flags.is_empty(), "{:?}", codes(&a));
}

#[test]
fn unknown_answers_score_zero_and_stay_in_the_denominator() {
    let mut a = ideal();
    a.product_compliance = blank(Field::ProductCompliance);
    a.duties_funding = blank(Field::DutiesFunding);
    a.vat_recovery = blank(Field::VatRecovery);
    a.lead_time_days = blank(Field::LeadTimeDays);
    assert_eq!(score(a).score, 80.0);
}

#[test]
fn legal_standing_is_the_mean_of_ior_role_and_liability() {
    let mut a = ideal();
    a.ior_role = k(Field::IorRole, IorRole::PartnerIsIor);
    a.liability = k(Field::Liability, Liability::Capped);
    // (0.7 + 0.6) / 2 x 0.25 = 0.1625 instead of 0.25
    assert!((score(a).score - 91.25).abs() < 1e-9);
}

#[test]
fn execution_bands_are_0_half_0_8_and_1() {
    for (n, want) in [(0, 80.0), (1, 90.0), (2, 90.0), (3, 96.0), (9, 96.0), (10, 100.0)] {
        let mut a = ideal();
        a.executions_24m = k(Field::Executions24m, n);
        assert!((score(a).score - want).abs() < 1e-9, "{n} executions");
    }
}

#[test]
fn lead_time_bands_are_5_10_20_and_longer() {
    for (days, want) in [(5, 100.0), (6, 99.0), (10, 99.0), (11, 97.5), (20, 97.5), (21, 96.0)] {
        let mut a = ideal();
        a.lead_time_days = k(Field::LeadTimeDays, days);
        assert!((score(a).score - want).abs() < 1e-9, "{days} days");
    }
}

#[test]
fn evidence_multiplies_the_whole_score() {
    for (e, want) in [
        (Evidence::Verified, 100.0),
        (Evidence::Documented, 85.0),
        (Evidence::Claimed, 60.0),
    ] {
        let mut a = ideal();
        a.evidence = k(Field::Evidence, e);
        assert!((score(a).score - want).abs() < 1e-9, "{e:?}");
    }
}

#[test]
fn unknown_evidence_counts_as_claimed() {
    let mut a = ideal();
    a.evidence = blank(Field::Evidence);
    assert!((score(a).score - 60.0).abs() < 1e-9);
}

// --- knockouts ---

fn knocked_out(mutate: impl FnOnce(&mut CountryAssessment)) -> Assessed {
    let mut a = ideal();
    mutate(&mut a);
    score(a)
}

#[test]
fn forwarding_only_operating_model_is_not_capable() {
    let a = knocked_out(|a| a.operating_model = k(Field::OperatingModel, OperatingModel::ForwardingOnly));
    assert_eq!(a.tier, Tier::NotCapable);
    assert_eq!(a.coverage_class, CoverageClass::ForwardingOnly);
}

#[test]
fn forwarding_only_ior_role_is_not_capable() {
    let a = knocked_out(|a| a.ior_role = k(Field::IorRole, IorRole::ForwardingOnly));
    assert_eq!(a.tier, Tier::NotCapable);
    assert_eq!(a.coverage_class, CoverageClass::ForwardingOnly);
}

#[test]
fn no_liability_is_not_capable() {
    let a = knocked_out(|a| a.liability = k(Field::Liability, Liability::None));
    assert_eq!(a.tier, Tier::NotCapable);
    assert_eq!(a.coverage_class, CoverageClass::ForwardingOnly);
}

#[test]
fn ior_not_permitted_is_not_capable_but_keeps_its_score() {
    let a = knocked_out(|a| a.regulatory_pathway = k(Field::RegulatoryPathway, RegulatoryPathway::NotPermitted));
    assert_eq!(a.tier, Tier::NotCapable);
    assert_eq!(a.coverage_class, CoverageClass::Passive);
    assert!((a.score - 85.0).abs() < 1e-9, "the score is computed as for any row");
}

#[test]
fn not_offered_operating_model_is_not_offered() {
    let a = knocked_out(|a| a.operating_model = k(Field::OperatingModel, OperatingModel::NotOffered));
    assert_eq!(a.tier, Tier::NotOffered);
    assert_eq!(a.coverage_class, CoverageClass::None);
}

#[test]
fn unsupported_certification_knocks_out_only_when_the_deployment_requires_it() {
    let mut a = ideal();
    a.product_compliance = k(Field::ProductCompliance, ProductCompliance::NotSupported);
    assert_eq!(score(a.clone()).tier, Tier::Ready);
    let mut profile = Profile::builtin().unwrap();
    profile.deployment.require_provider_compliance = true;
    let r = run_with(vec![a], provider(d(2026, 5, 1), None), &profile);
    assert_eq!(r.assessed[0].tier, Tier::NotCapable);
    assert_eq!(
        r.assessed[0].coverage_class,
        CoverageClass::Passive,
        "a knockout prevents active coverage"
    );
}

// --- coverage class ---

#[test]
fn coverage_not_claimed_is_class_none_and_not_offered_without_flags() {
    let mut a = ideal();
    a.coverage_claimed = k(Field::CoverageClaimed, false);
    a.evidence = blank(Field::Evidence);
    let a = score(a);
    assert_eq!(a.coverage_class, CoverageClass::None);
    assert_eq!(a.tier, Tier::NotOffered);
    assert!(a.flags.is_empty());
}

#[test]
fn no_mandatory_answer_is_class_none() {
    let mut a = ideal();
    a.operating_model = blank(Field::OperatingModel);
    a.ior_role = blank(Field::IorRole);
    a.liability = blank(Field::Liability);
    a.executions_24m = blank(Field::Executions24m);
    a.regulatory_pathway = blank(Field::RegulatoryPathway);
    let a = score(a);
    assert_eq!(a.coverage_class, CoverageClass::None);
    assert_eq!(a.tier, Tier::NotOffered);
}

#[test]
fn blank_coverage_with_answers_given_still_counts_as_coverage() {
    let mut a = ideal();
    a.coverage_claimed = blank(Field::CoverageClaimed);
    let a = score(a);
    assert_eq!(a.coverage_class, CoverageClass::Active);
    assert_eq!(a.tier, Tier::Ready);
}

#[test]
fn active_coverage_needs_three_executions() {
    let mut a = ideal();
    a.executions_24m = k(Field::Executions24m, 2);
    let a = score(a);
    assert_eq!(a.coverage_class, CoverageClass::Passive);
    assert_eq!(a.tier, Tier::Conditional, "90 points but passive");
}

#[test]
fn active_coverage_needs_a_defined_pathway() {
    let mut a = ideal();
    a.regulatory_pathway = k(Field::RegulatoryPathway, RegulatoryPathway::CaseByCase);
    assert_eq!(score(a).coverage_class, CoverageClass::Passive);
}

#[test]
fn a_partner_sourced_on_demand_is_passive_coverage() {
    let mut a = ideal();
    a.operating_model = k(Field::OperatingModel, OperatingModel::OnDemandPartner);
    assert_eq!(score(a).coverage_class, CoverageClass::Passive);
}

#[test]
fn a_contracted_partner_can_be_active_coverage() {
    let mut a = ideal();
    a.operating_model = k(Field::OperatingModel, OperatingModel::ContractedPartner);
    assert_eq!(score(a).coverage_class, CoverageClass::Active);
}

// --- tier boundaries ---

/// Active, verified, exactly 75: 0.2 + 0.2 + 0.16 + 0.15 + 0.04.
fn seventy_five() -> CountryAssessment {
    let mut a = ideal();
    a.liability = k(Field::Liability, Liability::Capped);
    a.executions_24m = k(Field::Executions24m, 5);
    a.product_compliance = blank(Field::ProductCompliance);
    a.duties_funding = blank(Field::DutiesFunding);
    a.vat_recovery = blank(Field::VatRecovery);
    a.lead_time_days = k(Field::LeadTimeDays, 8);
    a
}

#[test]
fn an_active_score_of_exactly_75_is_ready() {
    let a = score(seventy_five());
    assert_eq!(a.score, 75.0);
    assert_eq!(a.tier, Tier::Ready);
}

#[test]
fn an_active_score_just_below_75_is_conditional() {
    let mut a = seventy_five();
    a.lead_time_days = k(Field::LeadTimeDays, 15);
    let a = score(a);
    assert!((a.score - 73.5).abs() < 1e-9, "{}", a.score);
    assert_eq!(a.tier, Tier::Conditional);
}

/// Passive, verified, exactly 50: 0.25 + 0.06 + 0 + 0.15 + 0.04.
fn fifty() -> CountryAssessment {
    let mut a = ideal();
    a.operating_model = k(Field::OperatingModel, OperatingModel::OnDemandPartner);
    a.executions_24m = k(Field::Executions24m, 0);
    a.product_compliance = blank(Field::ProductCompliance);
    a.duties_funding = blank(Field::DutiesFunding);
    a.vat_recovery = blank(Field::VatRecovery);
    a.lead_time_days = k(Field::LeadTimeDays, 8);
    a
}

#[test]
fn a_score_of_exactly_50_is_conditional() {
    let a = score(fifty());
    assert_eq!(a.score, 50.0);
    assert_eq!(a.tier, Tier::Conditional);
}

#[test]
fn a_score_below_50_is_coverage_only() {
    let mut a = fifty();
    a.lead_time_days = k(Field::LeadTimeDays, 15);
    let a = score(a);
    assert!((a.score - 48.5).abs() < 1e-9, "{}", a.score);
    assert_eq!(a.tier, Tier::CoverageOnly);
}

#[test]
fn a_passive_score_above_75_is_only_conditional() {
    let mut a = ideal();
    a.executions_24m = k(Field::Executions24m, 1);
    let a = score(a);
    assert_eq!(a.score, 90.0);
    assert_eq!(a.tier, Tier::Conditional);
}

// --- confidence ---

#[test]
fn verified_with_everything_answered_is_high_confidence() {
    assert_eq!(score(ideal()).confidence, Confidence::High);
}

#[test]
fn verified_with_one_mandatory_missing_is_medium_confidence() {
    let mut a = ideal();
    a.liability = blank(Field::Liability);
    assert_eq!(score(a).confidence, Confidence::Medium);
}

#[test]
fn documented_with_one_mandatory_missing_is_medium_confidence() {
    let mut a = ideal();
    a.evidence = k(Field::Evidence, Evidence::Documented);
    a.liability = blank(Field::Liability);
    assert_eq!(score(a).confidence, Confidence::Medium);
}

#[test]
fn two_mandatory_missing_is_low_confidence() {
    let mut a = ideal();
    a.liability = blank(Field::Liability);
    a.ior_role = blank(Field::IorRole);
    assert_eq!(score(a).confidence, Confidence::Low);
}

#[test]
fn an_unrecognised_mandatory_answer_counts_as_missing_for_confidence() {
    let mut a = ideal();
    a.liability = Answer {
        value: Normalised::Unrecognised,
        raw: "depends".into(),
        source: cell(Field::Liability),
    };
    assert_eq!(score(a).confidence, Confidence::Medium);
}

#[test]
fn self_declared_answers_are_low_confidence() {
    let mut a = ideal();
    a.evidence = k(Field::Evidence, Evidence::Claimed);
    assert_eq!(score(a).confidence, Confidence::Low);
}

// --- staleness ---

fn with_response(a: CountryAssessment, response: NaiveDate, as_of_date: NaiveDate) -> Assessed {
    let profile = Profile::builtin().unwrap();
    let r = ProviderResponse {
        provider: provider(response, None),
        assessments: vec![a],
        row_issues: Vec::new(),
    };
    assess_response(r, "q.xlsx".into(), "test", &profile, as_of_date)
        .assessed
        .remove(0)
}

#[test]
fn a_response_exactly_12_months_old_is_not_stale() {
    let a = with_response(ideal(), d(2025, 6, 15), as_of());
    assert!(!codes(&a).contains(&FlagCode::StaleResponse));
    assert_eq!(a.score, 100.0);
}

#[test]
fn a_response_older_than_12_months_drops_one_evidence_level() {
    let a = with_response(ideal(), d(2025, 6, 14), as_of());
    assert_eq!(flag_cells(&a, FlagCode::StaleResponse), vec!["Provider!B6"]);
    assert_eq!(a.evidence_level, Evidence::Documented);
    assert_eq!(a.score, 85.0);
    assert_eq!(a.confidence, Confidence::Medium);
}

#[test]
fn a_stale_response_drops_documented_to_claimed() {
    let mut a = ideal();
    a.evidence = k(Field::Evidence, Evidence::Documented);
    let a = with_response(a, d(2024, 1, 1), as_of());
    assert_eq!(a.evidence_level, Evidence::Claimed);
    assert_eq!(a.score, 60.0);
}

#[test]
fn months_before_a_day_that_does_not_exist_count_from_the_last_day_of_the_month() {
    // 12 months before 2024-02-29 is 2023-02-28.
    let leap = d(2024, 2, 29);
    assert!(!codes(&with_response(ideal(), d(2023, 2, 28), leap)).contains(&FlagCode::StaleResponse));
    assert!(codes(&with_response(ideal(), d(2023, 2, 27), leap)).contains(&FlagCode::StaleResponse));
}

#[test]
fn a_last_execution_exactly_24_months_old_is_not_stale() {
    let mut a = ideal();
    a.last_execution = k(Field::LastExecution, d(2024, 6, 15));
    let a = score(a);
    assert!(!codes(&a).contains(&FlagCode::StaleExecution));
    assert_eq!(a.score, 100.0);
}

#[test]
fn a_stale_last_execution_caps_execution_history_at_0_3() {
    let mut a = ideal();
    a.last_execution = k(Field::LastExecution, d(2024, 6, 14));
    let a = score(a);
    assert_eq!(flag_cells(&a, FlagCode::StaleExecution), vec!["Countries!K2"]);
    assert!((a.score - 86.0).abs() < 1e-9, "0.2 x 0.3 instead of 0.2: {}", a.score);
}

#[test]
fn an_expired_licence_halves_the_regulatory_pathway() {
    let mut a = ideal();
    a.licence_expiry = k(Field::LicenceExpiry, d(2026, 6, 14));
    let a = score(a);
    assert_eq!(flag_cells(&a, FlagCode::LicenceExpired), vec!["Countries!I2"]);
    assert!((a.score - 92.5).abs() < 1e-9);
}

#[test]
fn a_licence_expiring_on_the_as_of_date_is_expiring_not_expired() {
    let mut a = ideal();
    a.licence_expiry = k(Field::LicenceExpiry, as_of());
    let a = score(a);
    assert!(codes(&a).contains(&FlagCode::LicenceExpiring));
    assert!(!codes(&a).contains(&FlagCode::LicenceExpired));
    assert_eq!(a.score, 100.0);
}

#[test]
fn licence_expiring_includes_the_sixtieth_day_and_not_the_sixty_first() {
    let mut a = ideal();
    a.licence_expiry = k(Field::LicenceExpiry, d(2026, 8, 14));
    assert!(codes(&score(a.clone())).contains(&FlagCode::LicenceExpiring));
    a.licence_expiry = k(Field::LicenceExpiry, d(2026, 8, 15));
    assert!(!codes(&score(a)).contains(&FlagCode::LicenceExpiring));
}

// --- flags ---

fn flagged(mutate: impl FnOnce(&mut CountryAssessment), code: FlagCode) -> Vec<String> {
    let mut a = ideal();
    mutate(&mut a);
    let a = score(a);
    assert!(codes(&a).contains(&code), "{code} expected, got {:?}", codes(&a));
    flag_cells(&a, code)
}

#[test]
fn forwarding_only_is_flagged_on_the_answers_that_say_so() {
    let cells = flagged(
        |a| {
            a.operating_model = k(Field::OperatingModel, OperatingModel::ForwardingOnly);
            a.ior_role = k(Field::IorRole, IorRole::ForwardingOnly);
        },
        FlagCode::ForwardingOnly,
    );
    assert_eq!(cells, vec!["Countries!C2", "Countries!D2"]);
}

#[test]
fn no_liability_is_flagged() {
    assert_eq!(
        flagged(
            |a| a.liability = k(Field::Liability, Liability::None),
            FlagCode::NoIorLiability
        ),
        vec!["Countries!E2"]
    );
}

#[test]
fn capped_liability_is_flagged() {
    assert_eq!(
        flagged(
            |a| a.liability = k(Field::Liability, Liability::Capped),
            FlagCode::LiabilityCapped
        ),
        vec!["Countries!E2"]
    );
}

#[test]
fn an_on_demand_partner_is_flagged() {
    let cells = flagged(
        |a| a.operating_model = k(Field::OperatingModel, OperatingModel::OnDemandPartner),
        FlagCode::OnDemandPartner,
    );
    assert_eq!(cells, vec!["Countries!C2"]);
}

#[test]
fn a_case_by_case_pathway_is_flagged() {
    let cells = flagged(
        |a| a.regulatory_pathway = k(Field::RegulatoryPathway, RegulatoryPathway::CaseByCase),
        FlagCode::CaseByCasePathway,
    );
    assert_eq!(cells, vec!["Countries!L2"]);
}

#[test]
fn ior_not_permitted_is_flagged() {
    let cells = flagged(
        |a| a.regulatory_pathway = k(Field::RegulatoryPathway, RegulatoryPathway::NotPermitted),
        FlagCode::IorNotPermitted,
    );
    assert_eq!(cells, vec!["Countries!L2"]);
}

#[test]
fn zero_executions_are_flagged_as_no_prior_execution() {
    assert_eq!(
        flagged(
            |a| a.executions_24m = k(Field::Executions24m, 0),
            FlagCode::NoPriorExecution
        ),
        vec!["Countries!J2"]
    );
}

#[test]
fn unknown_executions_are_flagged_as_no_prior_execution() {
    assert_eq!(
        flagged(
            |a| a.executions_24m = blank(Field::Executions24m),
            FlagCode::NoPriorExecution
        ),
        vec!["Countries!J2"]
    );
}

#[test]
fn self_declared_evidence_is_flagged() {
    assert_eq!(
        flagged(
            |a| a.evidence = k(Field::Evidence, Evidence::Claimed),
            FlagCode::SelfAttestedOnly
        ),
        vec!["Countries!Q2"]
    );
}

#[test]
fn missing_evidence_is_flagged_as_self_attested() {
    assert_eq!(
        flagged(|a| a.evidence = blank(Field::Evidence), FlagCode::SelfAttestedOnly),
        vec!["Countries!Q2"]
    );
}

#[test]
fn documented_evidence_is_not_flagged_as_self_attested() {
    let mut a = ideal();
    a.evidence = k(Field::Evidence, Evidence::Documented);
    assert!(!codes(&score(a)).contains(&FlagCode::SelfAttestedOnly));
}

#[test]
fn an_own_entity_without_registration_id_is_flagged() {
    let cells = flagged(
        |a| a.local_entity_id = blank(Field::LocalEntityId),
        FlagCode::EntityNotIdentified,
    );
    assert_eq!(cells, vec!["Countries!G2", "Countries!C2"]);
}

#[test]
fn an_on_demand_partner_without_registration_id_is_not_flagged_as_unidentified() {
    let mut a = ideal();
    a.operating_model = k(Field::OperatingModel, OperatingModel::OnDemandPartner);
    a.local_entity_id = blank(Field::LocalEntityId);
    assert!(!codes(&score(a)).contains(&FlagCode::EntityNotIdentified));
}

#[test]
fn certifications_held_by_the_client_are_flagged() {
    let cells = flagged(
        |a| a.product_compliance = k(Field::ProductCompliance, ProductCompliance::ClientMustHold),
        FlagCode::CertHeldByClient,
    );
    assert_eq!(cells, vec!["Countries!M2"]);
}

#[test]
fn unsupported_certification_is_flagged() {
    let cells = flagged(
        |a| a.product_compliance = k(Field::ProductCompliance, ProductCompliance::NotSupported),
        FlagCode::CertNotSupported,
    );
    assert_eq!(cells, vec!["Countries!M2"]);
}

#[test]
fn unrecoverable_vat_is_flagged() {
    let cells = flagged(
        |a| a.vat_recovery = k(Field::VatRecovery, VatRecovery::NotRecoverable),
        FlagCode::VatNotRecoverable,
    );
    assert_eq!(cells, vec!["Countries!O2"]);
}

#[test]
fn each_unanswered_mandatory_field_is_flagged_on_its_cell() {
    let mut a = ideal();
    a.liability = blank(Field::Liability);
    a.regulatory_pathway = blank(Field::RegulatoryPathway);
    let a = score(a);
    assert_eq!(
        flag_cells(&a, FlagCode::UnansweredMandatory),
        vec!["Countries!E2", "Countries!L2"]
    );
}

#[test]
fn an_unrecognised_answer_is_flagged_and_counts_as_unanswered() {
    let mut a = ideal();
    a.liability = Answer {
        value: Normalised::Unrecognised,
        raw: "It depends".into(),
        source: cell(Field::Liability),
    };
    let a = score(a);
    assert_eq!(flag_cells(&a, FlagCode::AnswerUnrecognised), vec!["Countries!E2"]);
    assert_eq!(flag_cells(&a, FlagCode::UnansweredMandatory), vec!["Countries!E2"]);
    assert!(
        a.flags.iter().any(|f| f.message.contains("It depends")),
        "the message quotes the answer"
    );
    assert_eq!(a.score, 87.5, "liability scored as unknown: (1.0 + 0) / 2 x 0.25");
}

#[test]
fn an_unrecognised_optional_answer_is_flagged_but_not_as_unanswered_mandatory() {
    let mut a = ideal();
    a.lead_time_days = Answer {
        value: Normalised::Unrecognised,
        raw: "soon".into(),
        source: cell(Field::LeadTimeDays),
    };
    let a = score(a);
    assert_eq!(flag_cells(&a, FlagCode::AnswerUnrecognised), vec!["Countries!P2"]);
    assert!(!codes(&a).contains(&FlagCode::UnansweredMandatory));
}

#[test]
fn conflicting_sources_are_flagged_on_both_cells() {
    let mut a = ideal();
    a.conflicts.push(Conflict {
        field: Field::Liability,
        kept: ("Full".into(), cell(Field::Liability)),
        other: (
            "Capped".into(),
            Some(SourceRef::new("q.xlsx".into(), "Countries".into(), 9, 4)),
        ),
    });
    let a = score(a);
    assert_eq!(
        flag_cells(&a, FlagCode::ConflictingSources),
        vec!["Countries!E2", "Countries!E10"]
    );
}

#[test]
fn not_offered_rows_carry_no_flags() {
    let mut a = ideal();
    a.operating_model = k(Field::OperatingModel, OperatingModel::NotOffered);
    a.evidence = blank(Field::Evidence);
    a.liability = blank(Field::Liability);
    assert!(score(a).flags.is_empty());
}

#[test]
fn flags_take_their_severity_from_the_profile() {
    let mut a = ideal();
    a.liability = k(Field::Liability, Liability::None);
    let a = score(a);
    let f = a.flags.iter().find(|f| f.code == FlagCode::NoIorLiability).unwrap();
    assert_eq!(f.severity.to_string(), "critical");
}

// --- provider roll-up ---

#[test]
fn coverage_inflation_compares_the_headline_figure_with_ready_and_conditional_countries() {
    let profile = Profile::builtin().unwrap();
    let rows = vec![ideal(), ideal()];
    let r = run_with(rows.clone(), provider(d(2026, 5, 1), Some(5)), &profile);
    assert_eq!(r.rollup.countries_claimed, 5);
    assert!(r.flags.iter().any(|f| f.code == FlagCode::CoverageInflation));
    assert_eq!(r.flags[0].cells[0].to_string(), "Provider!B7");
    let r = run_with(rows, provider(d(2026, 5, 1), Some(4)), &profile);
    assert!(r.flags.is_empty(), "4 is not more than twice 2");
}

#[test]
fn without_a_headline_figure_countries_claimed_are_rows_with_coverage() {
    let profile = Profile::builtin().unwrap();
    let mut none = ideal();
    none.coverage_claimed = k(Field::CoverageClaimed, false);
    let mut passive = ideal();
    passive.operating_model = k(Field::OperatingModel, OperatingModel::OnDemandPartner);
    passive.executions_24m = k(Field::Executions24m, 0);
    passive.evidence = k(Field::Evidence, Evidence::Claimed);
    let r = run_with(
        vec![ideal(), none, passive.clone(), passive],
        provider(d(2026, 5, 1), None),
        &profile,
    );
    assert_eq!(r.rollup.countries_claimed, 3);
    assert_eq!(r.rollup.ready, 1);
    assert_eq!(r.rollup.coverage_only, 2);
    assert_eq!(r.rollup.not_offered, 1);
    assert_eq!((r.rollup.active, r.rollup.passive), (1, 2));
    assert_eq!(r.rollup.inflation_ratio, Some(3.0));
    assert!(
        r.flags.iter().any(|f| f.code == FlagCode::CoverageInflation),
        "3 > 2 x 1"
    );
}

#[test]
fn an_unreadable_headline_figure_is_flagged_at_provider_level() {
    let profile = Profile::builtin().unwrap();
    let mut p = provider(d(2026, 5, 1), None);
    p.countries_claimed = Answer {
        value: Normalised::Unrecognised,
        raw: "most of Europe".into(),
        source: Some(SourceRef::new("q.xlsx".into(), "Provider".into(), 6, 1)),
    };
    let r = run_with(vec![ideal()], p, &profile);
    let f = r.flags.iter().find(|f| f.code == FlagCode::AnswerUnrecognised).unwrap();
    assert_eq!(f.cells[0].to_string(), "Provider!B7");
    assert!(f.message.contains("most of Europe"));
    assert_eq!(r.rollup.countries_claimed, 1, "falls back to rows with coverage");
}
