//! The provider roll-up: "150 countries claimed, 23 ready".

use serde::{Deserialize, Serialize};

use super::assess::{Assessed, CoverageClass, Tier};
use crate::model::Provider;

/// Counts per tier and coverage class for one provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// What a run keeps of a scored provider once its workbook is written: small
/// enough to hold for thousands of providers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderSummary {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The input it came from.
    pub source: std::path::PathBuf,
    /// The mapping that read it.
    pub mapping: String,
    /// Counts.
    pub rollup: Rollup,
    /// Provider-level flags.
    pub flags: Vec<super::Flag>,
    /// Country and tier, in source order.
    pub tiers: Vec<(crate::model::Country, Tier)>,
    /// Number of flags over all countries and the provider.
    pub flag_count: usize,
    /// Rows skipped while reading.
    pub row_issues: Vec<crate::model::RowIssue>,
}

impl super::ProviderResult {
    /// The display name: the provider's name, else its id.
    pub fn display_name(&self) -> String {
        self.provider
            .name
            .get()
            .cloned()
            .unwrap_or_else(|| self.provider.id.clone())
    }

    /// The part of the result a run keeps in memory.
    pub fn summary(&self) -> ProviderSummary {
        ProviderSummary {
            id: self.provider.id.clone(),
            name: self.display_name(),
            source: self.source.clone(),
            mapping: self.mapping.clone(),
            rollup: self.rollup.clone(),
            flags: self.flags.clone(),
            tiers: self
                .assessed
                .iter()
                .filter_map(|a| a.assessment.country.map(|c| (c, a.tier)))
                .collect(),
            flag_count: self.flags.len() + self.assessed.iter().map(|a| a.flags.len()).sum::<usize>(),
            row_issues: self.row_issues.clone(),
        }
    }
}
