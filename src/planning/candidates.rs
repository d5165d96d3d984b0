//! The scored providers as the planner sees them (read from a JSON result),
//! and which of them may be a country's primary or fallback, and why not.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::rollout::{Options, Target};
use crate::model::Country;
use crate::scoring::Tier;

/// One provider's row for one country.
#[derive(Debug, Clone, Deserialize)]
pub struct Scored {
    /// ISO alpha-2.
    pub country: String,
    /// 0-100.
    pub score: f64,
    /// Tier.
    pub tier: Tier,
    /// Coverage class id.
    pub coverage_class: String,
    /// Confidence id.
    pub confidence: String,
    /// Liability answer, if known.
    #[serde(default)]
    pub liability: Option<String>,
    /// Product compliance answer, if known.
    #[serde(default)]
    pub product_compliance: Option<String>,
    /// Flag codes, for results written before the answers were.
    #[serde(default)]
    pub flags: Vec<FlagCode>,
    /// Why the tier, in words.
    #[serde(default)]
    pub why: String,
}

/// A flag's code.
#[derive(Debug, Clone, Deserialize)]
pub struct FlagCode {
    /// `LIABILITY_CAPPED`...
    pub code: String,
}

impl Scored {
    /// The liability answer, or what the flags say of it.
    pub fn liability(&self) -> Option<&str> {
        self.liability.as_deref().or_else(|| {
            let has = |c: &str| self.flags.iter().any(|f| f.code == c);
            if has("LIABILITY_CAPPED") {
                Some("capped")
            } else if has("NO_IOR_LIABILITY") {
                Some("none")
            } else {
                None
            }
        })
    }

    /// True when the provider does not support product compliance.
    pub fn compliance_not_supported(&self) -> bool {
        match &self.product_compliance {
            Some(v) => v == "not_supported",
            None => self.flags.iter().any(|f| f.code == "CERT_NOT_SUPPORTED"),
        }
    }

    /// The score x 10,000, exact as the JSON result gives it.
    pub fn units(&self) -> i64 {
        (self.score * 10_000.0).round() as i64
    }
}

/// A scored provider.
#[derive(Debug, Clone, Deserialize)]
pub struct ScoredProvider {
    /// Its name.
    pub name: String,
    /// The input it came from.
    #[serde(default)]
    pub source: String,
    /// Its rows.
    #[serde(default)]
    pub assessments: Vec<Scored>,
    /// The name shown in the plan: the name, with the file when two
    /// inputs give the same name.
    #[serde(skip)]
    pub label: String,
}

impl ScoredProvider {
    /// Its row for `country`, if it has one.
    pub fn row(&self, country: Country) -> Option<&Scored> {
        self.assessments.iter().find(|a| a.country == country.alpha2())
    }
}

/// The providers of a scoring run.
#[derive(Debug, Clone, Deserialize)]
pub struct Portfolio {
    /// The as-of date of the scores.
    #[serde(default)]
    pub as_of: String,
    /// Every provider scored.
    pub providers: Vec<ScoredProvider>,
}

/// A result that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: not an iorready JSON result: {message}")]
pub struct PortfolioError {
    /// The file.
    pub path: String,
    /// Why.
    pub message: String,
}

impl Portfolio {
    /// Reads a JSON result as `iorready score --json` writes it.
    pub fn read(path: &Path) -> Result<Portfolio, PortfolioError> {
        let err = |message: String| PortfolioError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let mut p: Portfolio = serde_json::from_slice(&text).map_err(|e| err(e.to_string()))?;
        p.label();
        Ok(p)
    }

    /// Gives each provider its label, and sorts them by it: ties between
    /// equal plans go to the earlier name.
    pub fn label(&mut self) {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for p in &self.providers {
            *count.entry(p.name.clone()).or_default() += 1;
        }
        for p in &mut self.providers {
            p.label = if count[&p.name] > 1 {
                let file = Path::new(&p.source)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned());
                format!("{} ({})", p.name, file.unwrap_or_else(|| p.source.clone()))
            } else {
                p.name.clone()
            };
        }
        self.providers.sort_by(|a, b| {
            a.label
                .to_lowercase()
                .cmp(&b.label.to_lowercase())
                .then(a.label.cmp(&b.label))
        });
    }
}

/// Whether a name is in a list of names (without case or outer spaces).
pub fn named(list: &[String], p: &ScoredProvider) -> bool {
    list.iter()
        .any(|n| n.trim().eq_ignore_ascii_case(&p.name) || n.trim().eq_ignore_ascii_case(&p.label))
}

/// Why a row cannot be a country's primary; empty when it can.
pub fn primary_misses(row: &Scored, target: &Target) -> Vec<String> {
    let mut misses = tier_misses(row, target, target.minimum_tier);
    if !target.liability.met_by(row.liability()) {
        misses.push(match row.liability() {
            Some(l) => format!(
                "liability {}, {} needed",
                crate::model::value_words(l).to_lowercase(),
                target.liability.id()
            ),
            None => format!("liability not answered, {} needed", target.liability.id()),
        });
    }
    misses
}

/// Why a row cannot be a country's fallback; empty when it can.
pub fn fallback_misses(row: &Scored, target: &Target, options: &Options) -> Vec<String> {
    tier_misses(row, target, options.fallback_tier)
}

fn tier_misses(row: &Scored, target: &Target, least: Tier) -> Vec<String> {
    let mut misses = Vec::new();
    if target.provider_compliance && row.compliance_not_supported() {
        misses.push("product compliance not supported, and the rollout requires it handled by the provider".into());
    }
    if row.tier > least {
        misses.push(format!("{}, {} needed", row.tier.label(), least.label()));
    }
    misses
}
