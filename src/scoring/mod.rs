//! Scoring: from a provider's answers to dimension scores, knockouts,
//! coverage class, tier, confidence and flags, under a scoring profile.

mod assess;
mod dates;
mod explain;
mod flag;
mod profile;
mod rollup;
mod why;

pub use assess::{
    assess_response, Assessed, Confidence, CoverageClass, Dimension, DimensionScore, ProviderResult, Tier,
};
pub use dates::{more_than_months_before, within_days_after};
pub use flag::{Flag, FlagCode, Severity};
pub use profile::{Profile, DEFAULT_PROFILE};
pub use rollup::{ProviderSummary, Rollup};
