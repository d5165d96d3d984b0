//! The provider roll-up: "150 countries claimed, 23 ready".

use serde::Serialize;

use super::assess::{Assessed, CoverageClass, Tier};
use crate::model::Provider;

/// Counts per tier and coverage class for one provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rollup {
    /// The headline figure, or the number of rows with coverage.
    pub countries_claimed: u32,
    /// Rows assessed.
    pub countries_assessed: usize,
    /// Tier counts.
    pub ready: usize,
    /// Tier counts.
    pub conditional: usize,
    /// Tier counts.
    pub coverage_only: usize,
    /// Tier counts.
    pub not_capable: usize,
    /// Tier counts.
    pub not_offered: usize,
    /// Active coverage.
    pub active: usize,
    /// Passive coverage.
    pub passive: usize,
    /// Countries claimed / (ready + conditional); `None` when nothing is
    /// ready or conditional.
    pub inflation_ratio: Option<f64>,
}

impl Rollup {
    /// Rolls up a provider's scored countries.
    pub fn of(provider: &Provider, assessed: &[Assessed]) -> Rollup {
        let count = |t: Tier| assessed.iter().filter(|a| a.tier == t).count();
        let class = |c: CoverageClass| assessed.iter().filter(|a| a.coverage_class == c).count();
        let with_coverage = assessed
            .iter()
            .filter(|a| a.coverage_class != CoverageClass::None)
            .count();
        let countries_claimed = provider
            .countries_claimed
            .get()
            .copied()
            .unwrap_or_else(|| u32::try_from(with_coverage).unwrap_or(u32::MAX));
        let ready = count(Tier::Ready);
        let conditional = count(Tier::Conditional);
        let capable = ready + conditional;
        Rollup {
            countries_claimed,
            countries_assessed: assessed.len(),
            ready,
            conditional,
            coverage_only: count(Tier::CoverageOnly),
            not_capable: count(Tier::NotCapable),
            not_offered: count(Tier::NotOffered),
            active: class(CoverageClass::Active),
            passive: class(CoverageClass::Passive),
            inflation_ratio: (capable > 0).then(|| f64::from(countries_claimed) / capable as f64),
        }
    }
}
