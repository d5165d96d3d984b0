//! The capability model: what a provider says about each country, normalised,
//! with every value kept beside its raw answer and the place it came from.

mod answer;
mod assessment;
mod country;
mod provider;
pub mod source;
mod values;

pub use answer::{Answer, Normalised};
pub use assessment::{AnswerState, Conflict, CountryAssessment, Field, FieldKind, Parsed, MANDATORY_FIELDS};
pub use country::Country;
pub use provider::{slug, Provider, ProviderField, ProviderResponse, RowIssue};
pub use source::SourceRef;
pub use values::{
    value_words, DutiesFunding, Evidence, IorRole, Liability, OperatingModel, ProductCompliance, RegulatoryPathway,
    VatRecovery,
};
