//! The scoring profile: weights, value scores, thresholds and flag
//! severities, read from TOML. The built-in default reproduces
//! capability-model.md exactly.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use strum::{IntoEnumIterator, VariantNames};

use super::flag::{FlagCode, Severity};
use crate::config::{ConfigError, Source};
use crate::model::{
    DutiesFunding, Evidence, IorRole, Liability, OperatingModel, ProductCompliance, RegulatoryPathway, VatRecovery,
};

/// The default profile, as shipped in `mappings/profiles/default.toml`.
pub const DEFAULT_PROFILE: &str = include_str!("../../mappings/profiles/default.toml");

/// A checked scoring profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// A name shown in outputs.
    pub name: String,
    /// Dimension weights, summing to 1.
    pub weights: Weights,
    /// Value scores per answer, per field.
    pub values: Values,
    /// Execution history bands.
    pub execution_history: ExecutionHistory,
    /// Lead time bands.
    pub lead_time: LeadTime,
    /// Modifiers.
    pub modifiers: Modifiers,
    /// Tier thresholds.
    pub tiers: Tiers,
    /// Flag settings.
    pub flags: Flags,
    /// What the deployment requires.
    pub deployment: Deployment,
}

/// Dimension weights.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Weights {
    pub legal_standing: f64,
    pub in_country_operation: f64,
    pub execution_history: f64,
    pub regulatory_pathway: f64,
    pub product_compliance: f64,
    pub duties_and_vat: f64,
    pub lead_time: f64,
}

/// Value scores by answer identifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Values {
    pub ior_role: BTreeMap<String, f64>,
    pub liability: BTreeMap<String, f64>,
    pub operating_model: BTreeMap<String, f64>,
    pub regulatory_pathway: BTreeMap<String, f64>,
    pub product_compliance: BTreeMap<String, f64>,
    pub duties_funding: BTreeMap<String, f64>,
    pub vat_recovery: BTreeMap<String, f64>,
    pub evidence: BTreeMap<String, f64>,
}

/// Execution history scoring.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionHistory {
    /// Bands, highest minimum first.
    pub bands: Vec<ExecutionBand>,
    /// Months after which the last execution is stale.
    pub stale_after_months: u32,
    /// The cap on the value when stale.
    pub stale_cap: f64,
}

/// One execution band.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionBand {
    /// Lowest number of executions in the band.
    pub min_executions: u32,
    /// The value.
    pub value: f64,
}

/// Lead time scoring.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadTime {
    /// Bands, shortest first.
    pub bands: Vec<LeadTimeBand>,
    /// The value beyond the last band.
    pub longer: f64,
}

/// One lead time band.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadTimeBand {
    /// Highest number of days in the band.
    pub max_days: u32,
    /// The value.
    pub value: f64,
}

/// Modifiers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modifiers {
    /// Factor on the regulatory value when a licence expired.
    pub expired_licence_factor: f64,
    /// Months after which a response is stale.
    pub stale_response_months: u32,
}

/// Tier thresholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    /// Lowest score for ready (with active coverage).
    pub ready_min_score: f64,
    /// Lowest score for conditional.
    pub conditional_min_score: f64,
    /// Executions needed for active coverage.
    pub active_min_executions: u32,
}

/// Flag settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flags {
    /// Window for LICENCE_EXPIRING.
    pub licence_expiring_days: u32,
    /// Ratio for COVERAGE_INFLATION.
    pub coverage_inflation_ratio: f64,
    /// Severity per code.
    pub severity: BTreeMap<String, Severity>,
}

/// Deployment requirements.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Knock out countries where product certification is not supported.
    pub require_provider_compliance: bool,
}

impl Profile {
    /// The built-in default profile.
    pub fn builtin() -> Result<Profile, ConfigError> {
        Self::from_source(&Source::new("<built-in profile default.toml>", DEFAULT_PROFILE))
    }

    /// Loads and checks a profile file.
    pub fn load(path: &Path) -> Result<Profile, ConfigError> {
        Self::from_source(&Source::read(path)?)
    }

    /// Checks a parsed profile.
    pub fn from_source(src: &Source) -> Result<Profile, ConfigError> {
        let p: Profile = src.parse()?;
        p.check(src)?;
        Ok(p)
    }

    fn check(&self, src: &Source) -> Result<(), ConfigError> {
        let w = &self.weights;
        let weights = [
            ("legal_standing", w.legal_standing),
            ("in_country_operation", w.in_country_operation),
            ("execution_history", w.execution_history),
            ("regulatory_pathway", w.regulatory_pathway),
            ("product_compliance", w.product_compliance),
            ("duties_and_vat", w.duties_and_vat),
            ("lead_time", w.lead_time),
        ];
        for (k, v) in weights {
            unit(src, &format!("weights.{k}"), v)?;
        }
        let sum: f64 = weights.iter().map(|(_, v)| v).sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(src.error("weights", format!("weights must sum to 1, they sum to {sum:.4}")));
        }
        let v = &self.values;
        check_values(src, "ior_role", &v.ior_role, IorRole::VARIANTS)?;
        check_values(src, "liability", &v.liability, Liability::VARIANTS)?;
        check_values(src, "operating_model", &v.operating_model, OperatingModel::VARIANTS)?;
        check_values(
            src,
            "regulatory_pathway",
            &v.regulatory_pathway,
            RegulatoryPathway::VARIANTS,
        )?;
        check_values(
            src,
            "product_compliance",
            &v.product_compliance,
            ProductCompliance::VARIANTS,
        )?;
        check_values(src, "duties_funding", &v.duties_funding, DutiesFunding::VARIANTS)?;
        check_values(src, "vat_recovery", &v.vat_recovery, VatRecovery::VARIANTS)?;
        check_values(src, "evidence", &v.evidence, Evidence::VARIANTS)?;

        let eh = &self.execution_history;
        if eh.bands.is_empty() {
            return Err(src.error("execution_history.bands", "give at least one band"));
        }
        for (i, b) in eh.bands.iter().enumerate() {
            unit(src, &format!("execution_history.bands[{i}].value"), b.value)?;
            if i > 0 && b.min_executions >= eh.bands[i - 1].min_executions {
                return Err(src.error(
                    "execution_history.bands",
                    "list bands from the highest min_executions down, each lower than the one before",
                ));
            }
        }
        if eh.bands.last().is_some_and(|b| b.min_executions != 0) {
            return Err(src.error("execution_history.bands", "the last band must have min_executions = 0"));
        }
        unit(src, "execution_history.stale_cap", eh.stale_cap)?;
        months(src, "execution_history.stale_after_months", eh.stale_after_months)?;

        for (i, b) in self.lead_time.bands.iter().enumerate() {
            unit(src, &format!("lead_time.bands[{i}].value"), b.value)?;
            if i > 0 && b.max_days <= self.lead_time.bands[i - 1].max_days {
                return Err(src.error("lead_time.bands", "list bands from the shortest max_days up"));
            }
        }
        unit(src, "lead_time.longer", self.lead_time.longer)?;
        unit(
            src,
            "modifiers.expired_licence_factor",
            self.modifiers.expired_licence_factor,
        )?;
        months(
            src,
            "modifiers.stale_response_months",
            self.modifiers.stale_response_months,
        )?;

        let t = &self.tiers;
        for (k, v) in [
            ("ready_min_score", t.ready_min_score),
            ("conditional_min_score", t.conditional_min_score),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(src.error(&format!("tiers.{k}"), format!("must be between 0 and 100, not {v}")));
            }
        }
        if t.conditional_min_score > t.ready_min_score {
            return Err(src.error("tiers.conditional_min_score", "must not exceed ready_min_score"));
        }
        if self.flags.licence_expiring_days > 3660 {
            return Err(src.error("flags.licence_expiring_days", "must be at most 3660 days"));
        }
        let r = self.flags.coverage_inflation_ratio;
        if !(r.is_finite() && r >= 1.0) {
            return Err(src.error("flags.coverage_inflation_ratio", format!("must be 1 or more, not {r}")));
        }
        for code in self.flags.severity.keys() {
            if code.parse::<FlagCode>().is_err() {
                return Err(src.error(
                    &format!("flags.severity.{code}"),
                    format!(
                        "'{code}' is not a flag code; expected one of: {}",
                        FlagCode::VARIANTS.join(", ")
                    ),
                ));
            }
        }
        for code in FlagCode::iter() {
            if !self.flags.severity.contains_key(code.code()) {
                return Err(src.error("flags.severity", format!("missing severity for {}", code.code())));
            }
        }
        Ok(())
    }

    /// The severity of a flag code.
    pub fn severity(&self, code: FlagCode) -> Severity {
        // Every code is checked present when the profile is loaded.
        self.flags
            .severity
            .get(code.code())
            .copied()
            .unwrap_or(Severity::Warning)
    }

    /// The value of an answer identifier in a value table.
    pub fn value(table: &BTreeMap<String, f64>, id: &str) -> f64 {
        // Every identifier is checked present when the profile is loaded.
        table.get(id).copied().unwrap_or(0.0)
    }
}

fn unit(src: &Source, key: &str, v: f64) -> Result<(), ConfigError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(src.error(key, format!("must be between 0 and 1, not {v}")))
    }
}

fn months(src: &Source, key: &str, v: u32) -> Result<(), ConfigError> {
    if (1..=1200).contains(&v) {
        Ok(())
    } else {
        Err(src.error(key, format!("must be between 1 and 1200 months, not {v}")))
    }
}

fn check_values(src: &Source, field: &str, table: &BTreeMap<String, f64>, ids: &[&str]) -> Result<(), ConfigError> {
    for (id, v) in table {
        let key = format!("values.{field}.{id}");
        if !ids.contains(&id.as_str()) {
            return Err(src.error(
                &key,
                format!("'{id}' is not a value of {field}; expected one of: {}", ids.join(", ")),
            ));
        }
        unit(src, &key, *v)?;
    }
    for id in ids {
        if !table.contains_key(*id) {
            return Err(src.error(&format!("values.{field}"), format!("missing a value for '{id}'")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(from: &str, to: &str) -> Result<Profile, ConfigError> {
        assert!(DEFAULT_PROFILE.contains(from), "{from}");
        Profile::from_source(&Source::new("p.toml", DEFAULT_PROFILE.replacen(from, to, 1)))
    }

    #[test]
    fn the_default_profile_loads() {
        let p = Profile::builtin().unwrap();
        assert_eq!(p.weights.legal_standing, 0.25);
        assert_eq!(p.severity(FlagCode::LicenceExpired), Severity::Critical);
    }

    #[test]
    fn weights_not_summing_to_one_are_refused_naming_the_key() {
        let err = edited("lead_time = 0.05", "lead_time = 0.10").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("weights"), "{err}");
        assert!(err.message.contains("sum to 1"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused_naming_the_key() {
        let err = edited("[tiers]", "[tiers]\nreddy_min_score = 70").unwrap_err();
        assert!(err.message.contains("reddy_min_score"), "{err}");
        assert!(err.line.is_some());
    }

    #[test]
    fn out_of_range_values_are_refused_naming_the_key() {
        let err = edited("capped = 0.6", "capped = 1.6").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("values.liability.capped"), "{err}");
        assert!(err.line.is_some());
    }

    #[test]
    fn unknown_answer_identifiers_are_refused() {
        let err = edited("capped = 0.6", "capped = 0.6\ncaped = 0.5").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("values.liability.caped"), "{err}");
    }

    #[test]
    fn a_missing_flag_severity_is_refused() {
        let err = edited("VAT_NOT_RECOVERABLE = \"info\"\n", "").unwrap_err();
        assert!(err.message.contains("VAT_NOT_RECOVERABLE"), "{err}");
    }
}
