//! Raising flags, each with a message in plain words that quotes the answer
//! and names the cells that caused it.

use chrono::NaiveDate;
use strum::IntoEnumIterator;

use super::assess::{execution_stale, licence_expired};
use super::dates::within_days_after;
use super::flag::{Flag, FlagCode};
use super::profile::Profile;
use super::rollup::Rollup;
use crate::model::{
    Answer, AnswerState, CountryAssessment, Evidence, Field, IorRole, Liability, OperatingModel, ProductCompliance,
    Provider, RegulatoryPathway, RowIssue, SourceRef, VatRecovery, MANDATORY_FIELDS,
};

struct Raiser<'a> {
    profile: &'a Profile,
    flags: Vec<Flag>,
}

impl Raiser<'_> {
    fn raise(&mut self, code: FlagCode, message: String, cells: impl IntoIterator<Item = Option<SourceRef>>) {
        self.flags.push(Flag {
            code,
            severity: self.profile.severity(code),
            message,
            cells: cells.into_iter().flatten().collect(),
        });
    }
}

/// `'Capped - USD 1M'` as the provider wrote it.
fn quoted<T>(a: &Answer<T>) -> String {
    format!("'{}'", a.raw.trim())
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The flags of one country assessment (not called for not_offered rows).
pub(super) fn raise_flags(
    a: &CountryAssessment,
    provider: &Provider,
    stale_response: bool,
    profile: &Profile,
    as_of: NaiveDate,
) -> Vec<Flag> {
    let mut r = Raiser {
        profile,
        flags: Vec::new(),
    };
    let country = a.country.map(|c| c.name()).unwrap_or("this country");

    let op_fwd = a.operating_model.is(&OperatingModel::ForwardingOnly);
    let role_fwd = a.ior_role.is(&IorRole::ForwardingOnly);
    if op_fwd || role_fwd {
        let which = if op_fwd {
            quoted(&a.operating_model)
        } else {
            quoted(&a.ior_role)
        };
        r.raise(
            FlagCode::ForwardingOnly,
            format!("Answered {which}: the provider would only forward freight to {country}; nobody acts as importer of record."),
            [
                op_fwd.then(|| a.operating_model.source.clone()).flatten(),
                role_fwd.then(|| a.ior_role.source.clone()).flatten(),
            ],
        );
    }
    match a.liability.get() {
        Some(Liability::None) => r.raise(
            FlagCode::NoIorLiability,
            format!("Legal liability answered {}: the provider takes no liability as importer, so the legal risk stays with you.", quoted(&a.liability)),
            [a.liability.source.clone()],
        ),
        Some(Liability::Capped) => r.raise(
            FlagCode::LiabilityCapped,
            format!("Legal liability answered {}: liability is capped; check the cap against the value of each shipment.", quoted(&a.liability)),
            [a.liability.source.clone()],
        ),
        _ => {}
    }
    if a.operating_model.is(&OperatingModel::OnDemandPartner) {
        r.raise(
            FlagCode::OnDemandPartner,
            format!(
                "Operating model answered {}: a local partner is sourced only when a project comes up (passive coverage), so availability and execution vary.",
                quoted(&a.operating_model)
            ),
            [a.operating_model.source.clone()],
        );
    }
    match a.regulatory_pathway.get() {
        Some(RegulatoryPathway::CaseByCase) => r.raise(
            FlagCode::CaseByCasePathway,
            format!("Regulatory pathway answered {}: each import is assessed case by case; there is no repeatable route yet.", quoted(&a.regulatory_pathway)),
            [a.regulatory_pathway.source.clone()],
        ),
        Some(RegulatoryPathway::NotPermitted) => r.raise(
            FlagCode::IorNotPermitted,
            format!("Regulatory pathway answered {}: importer-of-record imports are not permitted in {country}.", quoted(&a.regulatory_pathway)),
            [a.regulatory_pathway.source.clone()],
        ),
        _ => {}
    }
    match a.executions_24m.get() {
        Some(0) => r.raise(
            FlagCode::NoPriorExecution,
            format!("IOR shipments in the last 24 months answered {}: the provider has not imported into {country} as IOR recently.", quoted(&a.executions_24m)),
            [a.executions_24m.source.clone()],
        ),
        None => r.raise(
            FlagCode::NoPriorExecution,
            format!("IOR shipments in the last 24 months {}: no prior execution in {country} is shown.", not_answered(&a.executions_24m)),
            [a.executions_24m.source.clone()],
        ),
        Some(_) => {}
    }
    if execution_stale(a, profile, as_of) {
        if let Some(d) = a.last_execution.get() {
            r.raise(
                FlagCode::StaleExecution,
                format!(
                    "Last IOR shipment {} is more than {} months before {}: the experience may be out of date; execution history is capped at {}.",
                    date(*d),
                    profile.execution_history.stale_after_months,
                    date(as_of),
                    profile.execution_history.stale_cap
                ),
                [a.last_execution.source.clone()],
            );
        }
    }
    match a.evidence.get() {
        Some(Evidence::Claimed) => r.raise(
            FlagCode::SelfAttestedOnly,
            format!(
                "Evidence answered {}: the answers are self-declared, so the score is multiplied by {}.",
                quoted(&a.evidence),
                Profile::value(&profile.values.evidence, "claimed")
            ),
            [a.evidence.source.clone()],
        ),
        None => r.raise(
            FlagCode::SelfAttestedOnly,
            format!(
                "Evidence {}: the answers count as self-declared, so the score is multiplied by {}.",
                not_answered(&a.evidence),
                Profile::value(&profile.values.evidence, "claimed")
            ),
            [a.evidence.source.clone()],
        ),
        Some(_) => {}
    }
    if stale_response {
        if let Some(d) = provider.response_date.get() {
            r.raise(
                FlagCode::StaleResponse,
                format!(
                    "The response is dated {}, more than {} months before {}: the evidence level drops one step.",
                    date(*d),
                    profile.modifiers.stale_response_months,
                    date(as_of)
                ),
                [provider.response_date.source.clone()],
            );
        }
    }
    if matches!(
        a.operating_model.get(),
        Some(OperatingModel::OwnEntity | OperatingModel::ContractedPartner)
    ) && !a.local_entity_id.is_answered()
    {
        r.raise(
            FlagCode::EntityNotIdentified,
            format!(
                "Operating model answered {} but no local entity registration ID is given: ask for it to confirm the entity exists.",
                quoted(&a.operating_model)
            ),
            [a.local_entity_id.source.clone(), a.operating_model.source.clone()],
        );
    }
    if let Some(d) = a.licence_expiry.get() {
        if licence_expired(a, as_of) {
            r.raise(
                FlagCode::LicenceExpired,
                format!(
                    "Licence expiry {} is before {}: the import licence has expired; the regulatory pathway value is multiplied by {}.",
                    date(*d),
                    date(as_of),
                    profile.modifiers.expired_licence_factor
                ),
                [a.licence_expiry.source.clone()],
            );
        } else if within_days_after(*d, as_of, profile.flags.licence_expiring_days) {
            r.raise(
                FlagCode::LicenceExpiring,
                format!(
                    "Licence expiry {} is within {} days of {}: confirm the renewal before shipping.",
                    date(*d),
                    profile.flags.licence_expiring_days,
                    date(as_of)
                ),
                [a.licence_expiry.source.clone()],
            );
        }
    }
    match a.product_compliance.get() {
        Some(ProductCompliance::ClientMustHold) => r.raise(
            FlagCode::CertHeldByClient,
            format!(
                "Product certification answered {}: you must hold the product certifications for {country} yourself.",
                quoted(&a.product_compliance)
            ),
            [a.product_compliance.source.clone()],
        ),
        Some(ProductCompliance::NotSupported) => r.raise(
            FlagCode::CertNotSupported,
            format!(
                "Product certification answered {}: the provider does not handle product certification in {country}.",
                quoted(&a.product_compliance)
            ),
            [a.product_compliance.source.clone()],
        ),
        _ => {}
    }
    if a.vat_recovery.is(&VatRecovery::NotRecoverable) {
        r.raise(
            FlagCode::VatNotRecoverable,
            format!(
                "Import VAT recovery answered {}: import VAT becomes a cost you cannot recover.",
                quoted(&a.vat_recovery)
            ),
            [a.vat_recovery.source.clone()],
        );
    }
    for field in MANDATORY_FIELDS {
        let (raw, source, state) = a.answer_of(field);
        let message = match state {
            AnswerState::Answered => continue,
            AnswerState::Unknown if source.is_none() => {
                format!(
                    "{} is mandatory but the questionnaire has no column for it: it scores 0.",
                    field.label()
                )
            }
            AnswerState::Unknown => format!("{} is mandatory and was not answered: it scores 0.", field.label()),
            AnswerState::Unrecognised => format!(
                "{} is mandatory and the answer '{}' could not be read, so it counts as unanswered and scores 0.",
                field.label(),
                raw.trim()
            ),
        };
        r.raise(FlagCode::UnansweredMandatory, message, [source.cloned()]);
    }
    for field in Field::iter() {
        let (raw, source, state) = a.answer_of(field);
        if state == AnswerState::Unrecognised {
            r.raise(
                FlagCode::AnswerUnrecognised,
                format!(
                    "{}: '{}' is not an answer iorready recognises; it is kept as written and scored as unknown. Use one of the listed answers.",
                    field.label(),
                    raw.trim()
                ),
                [source.cloned()],
            );
        }
    }
    for c in &a.conflicts {
        let at = |s: &Option<SourceRef>| {
            s.as_ref()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "another source".into())
        };
        r.raise(
            FlagCode::ConflictingSources,
            format!(
                "{}: {} says '{}' but {} says '{}'; the first answer is used. Ask the provider which is right.",
                c.field.label(),
                at(&c.kept.1),
                c.kept.0.trim(),
                at(&c.other.1),
                c.other.0.trim()
            ),
            [c.kept.1.clone(), c.other.1.clone()],
        );
    }
    r.flags
}

fn not_answered<T>(a: &Answer<T>) -> String {
    if a.is_unrecognised() {
        format!("answered '{}', which could not be read", a.raw.trim())
    } else if a.source.is_none() {
        "not asked in this questionnaire".to_owned()
    } else {
        "not answered".to_owned()
    }
}

/// Flags about the provider as a whole.
pub(super) fn provider_flags(
    provider: &Provider,
    rollup: &Rollup,
    row_issues: &[RowIssue],
    profile: &Profile,
) -> Vec<Flag> {
    let mut r = Raiser {
        profile,
        flags: Vec::new(),
    };
    let capable = rollup.ready + rollup.conditional;
    let ratio = profile.flags.coverage_inflation_ratio;
    if f64::from(rollup.countries_claimed) > ratio * capable as f64 {
        let name = provider.name.get().map(String::as_str).unwrap_or("The provider");
        r.raise(
            FlagCode::CoverageInflation,
            format!(
                "{name} claims {} countries but is ready or conditional in {capable}: coverage is declared, not established.",
                rollup.countries_claimed
            ),
            [provider.countries_claimed.source.clone()],
        );
    }
    let details = [
        (
            "Response date",
            provider.response_date.is_unrecognised(),
            &provider.response_date.raw,
            &provider.response_date.source,
        ),
        (
            "Countries claimed",
            provider.countries_claimed.is_unrecognised(),
            &provider.countries_claimed.raw,
            &provider.countries_claimed.source,
        ),
    ];
    for issue in row_issues {
        if let Some((raw, cell)) = &issue.unrecognised {
            r.raise(
                FlagCode::AnswerUnrecognised,
                format!(
                    "Country: '{}' is not a country iorready recognises, so the row was not scored. Use an English name or ISO code, or add an alias to the mapping.",
                    raw.trim()
                ),
                [Some(cell.clone())],
            );
        }
    }
    for (label, unrecognised, raw, source) in details {
        if unrecognised {
            r.raise(
                FlagCode::AnswerUnrecognised,
                format!(
                    "{label}: '{}' is not an answer iorready recognises; it is kept as written and treated as unknown.",
                    raw.trim()
                ),
                [source.clone()],
            );
        }
    }
    r.flags
}
