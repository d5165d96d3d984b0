//! Scoring one country assessment: dimension values, the evidence
//! multiplier, knockouts, coverage class, tier and confidence.

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;
use strum::{Display, IntoStaticStr};

use super::dates::more_than_months_before;
use super::explain::{provider_flags, raise_flags};
use super::flag::Flag;
use super::profile::Profile;
use super::rollup::Rollup;
use crate::model::{
    Answer, CountryAssessment, Evidence, IorRole, Liability, OperatingModel, ProductCompliance, Provider,
    ProviderResponse, RegulatoryPathway, RowIssue, MANDATORY_FIELDS,
};

/// A scoring dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Display, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[allow(missing_docs)]
pub enum Dimension {
    LegalStanding,
    InCountryOperation,
    ExecutionHistory,
    RegulatoryPathway,
    ProductCompliance,
    DutiesAndVat,
    LeadTime,
}

impl Dimension {
    /// The name shown to analysts.
    pub fn label(self) -> &'static str {
        match self {
            Dimension::LegalStanding => "Legal standing",
            Dimension::InCountryOperation => "In-country operation",
            Dimension::ExecutionHistory => "Execution history",
            Dimension::RegulatoryPathway => "Regulatory pathway",
            Dimension::ProductCompliance => "Product compliance",
            Dimension::DutiesAndVat => "Duties and VAT",
            Dimension::LeadTime => "Lead time",
        }
    }
}

/// One dimension's contribution to a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionScore {
    /// The dimension.
    pub dimension: Dimension,
    /// Its weight.
    pub weight: f64,
    /// Its value, 0 to 1.
    pub value: f64,
    /// Points contributed: 100 x weight x value x evidence multiplier.
    pub points: f64,
    /// How the value was reached, in words.
    pub basis: String,
}

/// Active vs passive coverage (the seed article's distinction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, Display, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CoverageClass {
    /// Not covered, or nothing answered.
    None,
    /// Forwarding only, or no liability taken.
    ForwardingOnly,
    /// Established capability.
    Active,
    /// Coverage claimed, capability not established.
    Passive,
}

/// The readiness tier.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize, Display, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Tier {
    /// Active coverage and a high score.
    Ready,
    /// A fair score, capability to confirm.
    Conditional,
    /// Claimed, not capable on the evidence.
    CoverageOnly,
    /// Knocked out.
    NotCapable,
    /// Not offered.
    NotOffered,
}

impl Tier {
    /// All tiers, best first.
    pub const ALL: [Tier; 5] = [
        Tier::Ready,
        Tier::Conditional,
        Tier::CoverageOnly,
        Tier::NotCapable,
        Tier::NotOffered,
    ];

    /// The identifier (`coverage_only`).
    pub fn id(self) -> &'static str {
        self.into()
    }

    /// What the tier means, for the legend.
    pub fn meaning(self) -> &'static str {
        match self {
            Tier::Ready => "Active coverage and a high score: the provider can import here in its own name, under known rules, and has done so.",
            Tier::Conditional => "A fair score but not ready: capability to confirm before relying on it.",
            Tier::CoverageOnly => "Claimed, but the answers do not show the capability.",
            Tier::NotCapable => "Knocked out: forwarding only, no liability, IOR not permitted, or (when required) no product certification.",
            Tier::NotOffered => "Not covered, or claimed without any mandatory answer.",
        }
    }

    /// The name shown to analysts.
    pub fn label(self) -> &'static str {
        match self {
            Tier::Ready => "Ready",
            Tier::Conditional => "Conditional",
            Tier::CoverageOnly => "Coverage only",
            Tier::NotCapable => "Not capable",
            Tier::NotOffered => "Not offered",
        }
    }
}

impl CoverageClass {
    /// Every class, strongest first.
    pub const ALL: [CoverageClass; 4] = [
        CoverageClass::Active,
        CoverageClass::Passive,
        CoverageClass::ForwardingOnly,
        CoverageClass::None,
    ];

    /// The identifier (`forwarding_only`).
    pub fn id(self) -> &'static str {
        self.into()
    }

    /// The name shown to analysts.
    pub fn label(self) -> &'static str {
        match self {
            CoverageClass::Active => "Active",
            CoverageClass::Passive => "Passive",
            CoverageClass::ForwardingOnly => "Forwarding only",
            CoverageClass::None => "None",
        }
    }

    /// What the class means, for the legend.
    pub fn meaning(self) -> &'static str {
        match self {
            CoverageClass::Active => "Established capability: own entity or contracted partner, recent IOR shipments, a defined and repeatable regulatory pathway, no knockout.",
            CoverageClass::Passive => "Coverage claimed (or answers given) but capability not established: a partner found on demand, few shipments, or no defined pathway.",
            CoverageClass::ForwardingOnly => "The provider only forwards freight or takes no liability: nobody acts as importer of record.",
            CoverageClass::None => "Not covered: coverage not claimed, the country not offered, or no mandatory question answered.",
        }
    }
}

/// How far the answers can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Display, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[allow(missing_docs)]
pub enum Confidence {
    High,
    Medium,
    Low,
}

impl Confidence {
    /// Every level, highest first.
    pub const ALL: [Confidence; 3] = [Confidence::High, Confidence::Medium, Confidence::Low];

    /// The identifier (`high`).
    pub fn id(self) -> &'static str {
        self.into()
    }

    /// The name shown to analysts.
    pub fn label(self) -> &'static str {
        match self {
            Confidence::High => "High",
            Confidence::Medium => "Medium",
            Confidence::Low => "Low",
        }
    }

    /// What the level means, for the legend.
    pub fn meaning(self) -> &'static str {
        match self {
            Confidence::High => "Evidence verified and every mandatory question answered.",
            Confidence::Medium => "Evidence documented or verified, at most one mandatory answer missing.",
            Confidence::Low => "Self-declared answers, or two or more mandatory answers missing.",
        }
    }
}

/// A scored country assessment.
#[derive(Debug, Clone)]
pub struct Assessed {
    /// The answers.
    pub assessment: CountryAssessment,
    /// The seven dimensions.
    pub dimensions: Vec<DimensionScore>,
    /// The evidence level used, after the staleness drop.
    pub evidence_level: Evidence,
    /// Its multiplier.
    pub evidence_multiplier: f64,
    /// 0 to 100.
    pub score: f64,
    /// Why the assessment is knocked out, if it is.
    pub knockouts: Vec<String>,
    /// Active, passive, forwarding only or none.
    pub coverage_class: CoverageClass,
    /// The tier.
    pub tier: Tier,
    /// The confidence.
    pub confidence: Confidence,
    /// Flags, empty when the tier is not_offered.
    pub flags: Vec<Flag>,
    /// Why the tier, in one or two plain sentences.
    pub reason: String,
}

/// Everything scored for one provider from one source.
#[derive(Debug, Clone)]
pub struct ProviderResult {
    /// The provider.
    pub provider: Provider,
    /// The input it came from.
    pub source: PathBuf,
    /// The mapping that read it.
    pub mapping: String,
    /// One per country, in source order.
    pub assessed: Vec<Assessed>,
    /// Counts per tier and class.
    pub rollup: Rollup,
    /// Provider-level flags (coverage inflation, unreadable details).
    pub flags: Vec<Flag>,
    /// Rows skipped while reading.
    pub row_issues: Vec<RowIssue>,
}

/// Scores every country of a response and rolls the provider up.
pub fn assess_response(
    response: ProviderResponse,
    source: PathBuf,
    mapping: &str,
    profile: &Profile,
    as_of: NaiveDate,
) -> ProviderResult {
    let provider = response.provider;
    let stale_response = provider
        .response_date
        .get()
        .is_some_and(|d| more_than_months_before(*d, as_of, profile.modifiers.stale_response_months));
    let assessed: Vec<Assessed> = response
        .assessments
        .into_iter()
        .map(|a| assess(a, &provider, stale_response, profile, as_of))
        .collect();
    let rollup = Rollup::of(&provider, &assessed);
    let flags = provider_flags(&provider, &rollup, &response.row_issues, profile);
    ProviderResult {
        provider,
        source,
        mapping: mapping.to_owned(),
        assessed,
        rollup,
        flags,
        row_issues: response.row_issues,
    }
}

fn value_of<T: Copy>(
    a: &Answer<T>,
    id: impl Fn(T) -> &'static str,
    table: &std::collections::BTreeMap<String, f64>,
) -> (f64, String) {
    match a.get() {
        Some(v) => {
            let id = id(*v);
            let x = Profile::value(table, id);
            (x, format!("{} {x}", crate::model::value_words(id)))
        }
        None => (0.0, "not answered 0".to_owned()),
    }
}

/// True when the licence expired before the as-of date.
pub(super) fn licence_expired(a: &CountryAssessment, as_of: NaiveDate) -> bool {
    a.licence_expiry.get().is_some_and(|d| *d < as_of)
}

/// True when the last execution is stale.
pub(super) fn execution_stale(a: &CountryAssessment, profile: &Profile, as_of: NaiveDate) -> bool {
    a.last_execution
        .get()
        .is_some_and(|d| more_than_months_before(*d, as_of, profile.execution_history.stale_after_months))
}

fn dimensions(a: &CountryAssessment, profile: &Profile, as_of: NaiveDate) -> Vec<(Dimension, f64, f64, String)> {
    let v = &profile.values;
    let w = &profile.weights;

    let (role, role_why) = value_of(&a.ior_role, IorRole::id, &v.ior_role);
    let (liab, liab_why) = value_of(&a.liability, Liability::id, &v.liability);
    let legal = (
        (role + liab) / 2.0,
        format!("mean of importer of record {role_why} and liability {liab_why}"),
    );

    let (op, op_why) = value_of(&a.operating_model, OperatingModel::id, &v.operating_model);

    let history = match a.executions_24m.get() {
        Some(n) => {
            let band = profile
                .execution_history
                .bands
                .iter()
                .find(|b| *n >= b.min_executions)
                .map_or(0.0, |b| b.value);
            if execution_stale(a, profile, as_of) && band > profile.execution_history.stale_cap {
                (
                    profile.execution_history.stale_cap,
                    format!(
                        "{n} IOR shipments {band}, capped at {} as the last one is stale",
                        profile.execution_history.stale_cap
                    ),
                )
            } else {
                (band, format!("{n} IOR shipments {band}"))
            }
        }
        None => (0.0, "IOR shipments not answered 0".to_owned()),
    };

    let (path, path_why) = value_of(&a.regulatory_pathway, RegulatoryPathway::id, &v.regulatory_pathway);
    let regulatory = if licence_expired(a, as_of) {
        let f = profile.modifiers.expired_licence_factor;
        (path * f, format!("{path_why} x{f} for the expired licence"))
    } else {
        (path, path_why)
    };

    let compliance = value_of(&a.product_compliance, ProductCompliance::id, &v.product_compliance);

    let (duty, duty_why) = value_of(&a.duties_funding, |d| d.id(), &v.duties_funding);
    let (vat, vat_why) = value_of(&a.vat_recovery, |d| d.id(), &v.vat_recovery);
    let duties = (
        (duty + vat) / 2.0,
        format!("mean of duties {duty_why} and import VAT {vat_why}"),
    );

    let lead = match a.lead_time_days.get() {
        Some(days) => {
            let x = profile
                .lead_time
                .bands
                .iter()
                .find(|b| *days <= b.max_days)
                .map_or(profile.lead_time.longer, |b| b.value);
            (x, format!("{days} days {x}"))
        }
        None => (0.0, "not answered 0".to_owned()),
    };

    vec![
        (Dimension::LegalStanding, w.legal_standing, legal.0, legal.1),
        (Dimension::InCountryOperation, w.in_country_operation, op, op_why),
        (Dimension::ExecutionHistory, w.execution_history, history.0, history.1),
        (
            Dimension::RegulatoryPathway,
            w.regulatory_pathway,
            regulatory.0,
            regulatory.1,
        ),
        (
            Dimension::ProductCompliance,
            w.product_compliance,
            compliance.0,
            compliance.1,
        ),
        (Dimension::DutiesAndVat, w.duties_and_vat, duties.0, duties.1),
        (Dimension::LeadTime, w.lead_time, lead.0, lead.1),
    ]
}

/// Rounds away floating-point noise so that a score that is 75 in exact
/// arithmetic compares as 75 against the tier thresholds.
fn clean(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn knockouts(a: &CountryAssessment, profile: &Profile) -> Vec<String> {
    let mut k = Vec::new();
    match a.operating_model.get() {
        Some(OperatingModel::ForwardingOnly) => k.push("operating model is forwarding only".to_owned()),
        Some(OperatingModel::NotOffered) => k.push("the country is not offered".to_owned()),
        _ => {}
    }
    if a.ior_role.is(&IorRole::ForwardingOnly) {
        k.push("nobody acts as importer of record (forwarding only)".to_owned());
    }
    if a.liability.is(&Liability::None) {
        k.push("the provider takes no legal liability".to_owned());
    }
    if a.regulatory_pathway.is(&RegulatoryPathway::NotPermitted) {
        k.push("IOR imports are not permitted".to_owned());
    }
    if profile.deployment.require_provider_compliance && a.product_compliance.is(&ProductCompliance::NotSupported) {
        k.push("product certification is not supported and the deployment requires it".to_owned());
    }
    k
}

/// The number of mandatory fields without a usable answer.
pub(super) fn missing_mandatory(a: &CountryAssessment) -> usize {
    MANDATORY_FIELDS
        .iter()
        .filter(|f| a.answer_of(**f).2 != crate::model::AnswerState::Answered)
        .count()
}

fn coverage_class(a: &CountryAssessment, knocked_out: bool, profile: &Profile) -> CoverageClass {
    if a.coverage_claimed.is(&false)
        || a.operating_model.is(&OperatingModel::NotOffered)
        || missing_mandatory(a) == MANDATORY_FIELDS.len()
    {
        return CoverageClass::None;
    }
    if a.operating_model.is(&OperatingModel::ForwardingOnly)
        || a.ior_role.is(&IorRole::ForwardingOnly)
        || a.liability.is(&Liability::None)
    {
        return CoverageClass::ForwardingOnly;
    }
    let established = matches!(
        a.operating_model.get(),
        Some(OperatingModel::OwnEntity | OperatingModel::ContractedPartner)
    );
    let executed = a
        .executions_24m
        .get()
        .is_some_and(|n| *n >= profile.tiers.active_min_executions);
    if !knocked_out && established && executed && a.regulatory_pathway.is(&RegulatoryPathway::DefinedRepeatable) {
        CoverageClass::Active
    } else {
        CoverageClass::Passive
    }
}

fn assess(
    a: CountryAssessment,
    provider: &Provider,
    stale_response: bool,
    profile: &Profile,
    as_of: NaiveDate,
) -> Assessed {
    let mut level = a.evidence.get().copied().unwrap_or(Evidence::Claimed);
    if stale_response {
        level = level.dropped();
    }
    let multiplier = Profile::value(&profile.values.evidence, level.id());
    let dims: Vec<DimensionScore> = dimensions(&a, profile, as_of)
        .into_iter()
        .map(|(dimension, weight, value, basis)| DimensionScore {
            dimension,
            weight,
            value,
            points: 100.0 * weight * value * multiplier,
            basis,
        })
        .collect();
    let score = clean(100.0 * dims.iter().map(|d| d.weight * d.value).sum::<f64>() * multiplier);
    let knockouts = knockouts(&a, profile);
    let class = coverage_class(&a, !knockouts.is_empty(), profile);
    let tier = if class == CoverageClass::None {
        Tier::NotOffered
    } else if !knockouts.is_empty() {
        Tier::NotCapable
    } else if class == CoverageClass::Active && score >= profile.tiers.ready_min_score {
        Tier::Ready
    } else if score >= profile.tiers.conditional_min_score {
        Tier::Conditional
    } else {
        Tier::CoverageOnly
    };
    let missing = missing_mandatory(&a);
    let confidence = match level {
        Evidence::Verified if missing == 0 => Confidence::High,
        Evidence::Verified | Evidence::Documented if missing <= 1 => Confidence::Medium,
        _ => Confidence::Low,
    };
    let flags = if tier == Tier::NotOffered {
        Vec::new()
    } else {
        raise_flags(&a, provider, stale_response, profile, as_of)
    };
    let mut assessed = Assessed {
        assessment: a,
        dimensions: dims,
        evidence_level: level,
        evidence_multiplier: multiplier,
        score,
        knockouts,
        coverage_class: class,
        tier,
        confidence,
        flags,
        reason: String::new(),
    };
    assessed.reason = super::why::tier_reason(&assessed, profile, as_of);
    assessed
}
