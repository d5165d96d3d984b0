//! Flags: what a procurement analyst must know about an assessment, each
//! with a severity, a plain-words message and the cells that caused it.

use serde::Serialize;
use strum::{Display, EnumIter, EnumString, IntoStaticStr, VariantNames};

use crate::model::SourceRef;

/// The flag codes of capability-model.md.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
    EnumIter,
    VariantNames,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)] // each code is explained by `FlagCode::meaning`
pub enum FlagCode {
    ForwardingOnly,
    NoIorLiability,
    LiabilityCapped,
    OnDemandPartner,
    CaseByCasePathway,
    IorNotPermitted,
    NoPriorExecution,
    StaleExecution,
    SelfAttestedOnly,
    StaleResponse,
    EntityNotIdentified,
    LicenceExpired,
    LicenceExpiring,
    CertHeldByClient,
    CertNotSupported,
    VatNotRecoverable,
    UnansweredMandatory,
    AnswerUnrecognised,
    ConflictingSources,
    CoverageInflation,
}

impl FlagCode {
    /// The code as written in files (`LIABILITY_CAPPED`).
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// The flag in a few words, for a cell or a heading
    /// ("Liability capped"); the code goes beside it.
    pub fn words(self) -> &'static str {
        match self {
            FlagCode::ForwardingOnly => "Forwarding only",
            FlagCode::NoIorLiability => "No IOR liability",
            FlagCode::LiabilityCapped => "Liability capped",
            FlagCode::OnDemandPartner => "Partner sourced on demand",
            FlagCode::CaseByCasePathway => "Case-by-case pathway",
            FlagCode::IorNotPermitted => "IOR not permitted",
            FlagCode::NoPriorExecution => "No prior IOR shipment",
            FlagCode::StaleExecution => "Last shipment out of date",
            FlagCode::SelfAttestedOnly => "Self-declared only",
            FlagCode::StaleResponse => "Response out of date",
            FlagCode::EntityNotIdentified => "Entity not identified",
            FlagCode::LicenceExpired => "Licence expired",
            FlagCode::LicenceExpiring => "Licence expiring",
            FlagCode::CertHeldByClient => "Certification held by client",
            FlagCode::CertNotSupported => "Certification not supported",
            FlagCode::VatNotRecoverable => "VAT not recoverable",
            FlagCode::UnansweredMandatory => "Mandatory answer missing",
            FlagCode::AnswerUnrecognised => "Answer not recognised",
            FlagCode::ConflictingSources => "Conflicting sources",
            FlagCode::CoverageInflation => "Coverage inflation",
        }
    }

    /// The words with the code beside them: "Liability capped
    /// (LIABILITY_CAPPED)".
    pub fn words_and_code(self) -> String {
        format!("{} ({})", self.words(), self.code())
    }

    /// What the flag means, in one line, for the legend.
    pub fn meaning(self) -> &'static str {
        match self {
            FlagCode::ForwardingOnly => "The provider only forwards freight here; nobody acts as importer of record.",
            FlagCode::NoIorLiability => "The provider takes no legal liability as importer.",
            FlagCode::LiabilityCapped => "The provider's liability as importer is capped.",
            FlagCode::OnDemandPartner => "A partner is found only when a project comes up (passive coverage).",
            FlagCode::CaseByCasePathway => "The regulatory route is decided case by case, not repeatable.",
            FlagCode::IorNotPermitted => "Importer-of-record imports are not permitted in this country.",
            FlagCode::NoPriorExecution => "No IOR import done here in the last 24 months, or not said.",
            FlagCode::StaleExecution => "The last IOR import here is more than 24 months old.",
            FlagCode::SelfAttestedOnly => "The answers are self-declared, with no documents or verification.",
            FlagCode::StaleResponse => "The questionnaire answers are more than 12 months old.",
            FlagCode::EntityNotIdentified => {
                "An own entity or contracted partner is claimed without a registration ID."
            }
            FlagCode::LicenceExpired => "The import licence has expired.",
            FlagCode::LicenceExpiring => "The import licence expires within 60 days.",
            FlagCode::CertHeldByClient => "The client must hold the product certifications.",
            FlagCode::CertNotSupported => "Product certification is not supported.",
            FlagCode::VatNotRecoverable => "Import VAT cannot be recovered.",
            FlagCode::UnansweredMandatory => "A mandatory question was not answered.",
            FlagCode::AnswerUnrecognised => "An answer could not be read; it is scored as unknown.",
            FlagCode::ConflictingSources => "Two sources give different answers to the same question.",
            FlagCode::CoverageInflation => {
                "The provider claims more than twice the countries it is ready or conditional in."
            }
        }
    }
}

/// How serious a flag is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    Display,
    EnumString,
    IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Severity {
    /// Blocks or nearly blocks using the provider here.
    Critical,
    /// Needs follow-up.
    Warning,
    /// Worth knowing.
    Info,
}

/// One raised flag.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Flag {
    /// The code.
    pub code: FlagCode,
    /// The severity from the profile.
    pub severity: Severity,
    /// One line for a procurement analyst, quoting the answer.
    pub message: String,
    /// The cells that caused it.
    pub cells: Vec<SourceRef>,
}
