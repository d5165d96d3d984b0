//! The rollout: the target countries, what each asks of its primary and
//! fallback provider, and the options that apply to all of them.

use std::fmt;
use std::path::PathBuf;

use crate::model::Country;
use crate::scoring::Tier;

/// The least liability a primary must accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LiabilityMinimum {
    /// Any answer, unknown included.
    Any,
    /// Capped or full.
    Capped,
    /// Full only.
    Full,
}

impl LiabilityMinimum {
    /// The identifier written in rollouts.
    pub fn id(self) -> &'static str {
        match self {
            LiabilityMinimum::Any => "any",
            LiabilityMinimum::Capped => "capped",
            LiabilityMinimum::Full => "full",
        }
    }

    /// Whether a provider's liability answer (`full`, `capped`, `none`, or
    /// unknown) meets this minimum.
    pub fn met_by(self, answer: Option<&str>) -> bool {
        match self {
            LiabilityMinimum::Any => true,
            LiabilityMinimum::Capped => matches!(answer, Some("capped" | "full")),
            LiabilityMinimum::Full => answer == Some("full"),
        }
    }
}

/// One target country and what it asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The country.
    pub country: Country,
    /// The primary's least tier: ready or conditional.
    pub minimum_tier: Tier,
    /// A fallback is wanted.
    pub fallback_needed: bool,
    /// The primary's least liability.
    pub liability: LiabilityMinimum,
    /// Product compliance must be handled by the provider: not supported
    /// is then a knockout.
    pub provider_compliance: bool,
    /// The analyst's notes, carried to the plan.
    pub notes: String,
    /// Where the row is (`rollout.xlsx, sheet Rollout, row 4`).
    pub place: String,
}

impl Target {
    /// A row for `country` with the defaults: ready, a fallback, capped
    /// liability, no compliance requirement.
    pub fn new(country: Country) -> Self {
        Target {
            country,
            minimum_tier: Tier::Ready,
            fallback_needed: true,
            liability: LiabilityMinimum::Capped,
            provider_compliance: false,
            notes: String::new(),
            place: String::new(),
        }
    }

    /// The requirement in words, each part the least accepted: "Ready,
    /// liability capped, fallback Conditional".
    pub fn requirement(&self, fallback_tier: Tier) -> String {
        let mut words = vec![self.minimum_tier.label().to_owned()];
        if self.liability != LiabilityMinimum::Any {
            words.push(format!("liability {}", self.liability.id()));
        }
        if self.provider_compliance {
            words.push("compliance by the provider".to_owned());
        }
        words.push(if self.fallback_needed {
            format!("fallback {}", fallback_tier.label())
        } else {
            "no fallback".to_owned()
        });
        words.join(", ")
    }
}

/// Options of the whole rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// At most this many providers in the plan.
    pub max_providers: Option<usize>,
    /// The fallback's least tier.
    pub fallback_tier: Tier,
    /// Providers never chosen (names, compared without case).
    pub exclude: Vec<String>,
    /// Providers chosen over others when the plan is otherwise as good.
    pub prefer: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_providers: None,
            fallback_tier: Tier::Conditional,
            exclude: Vec::new(),
            prefer: Vec::new(),
        }
    }
}

/// A rollout as read from a workbook or a TOML file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// The file it came from.
    pub file: PathBuf,
    /// Target countries, in the file's order.
    pub targets: Vec<Target>,
    /// The options.
    pub options: Options,
}

/// A rollout that cannot be used, with the place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RolloutError {
    /// File, sheet and cell (or file, line and key).
    pub place: String,
    /// What is wrong, and what is expected.
    pub message: String,
}

impl fmt::Display for RolloutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// Reads a minimum tier: ready or conditional for a primary; coverage only
/// as well for a fallback.
pub fn parse_tier(text: &str, fallback: bool) -> Result<Tier, String> {
    let t = words(text);
    match t.as_str() {
        "ready" => Ok(Tier::Ready),
        "conditional" => Ok(Tier::Conditional),
        "coverage only" | "coverage_only" if fallback => Ok(Tier::CoverageOnly),
        _ if fallback => Err(format!(
            "'{text}' is not a tier; expected ready, conditional or coverage only"
        )),
        _ => Err(format!("'{text}' is not a minimum tier; expected ready or conditional")),
    }
}

/// Reads yes or no.
pub fn parse_yes_no(text: &str) -> Result<bool, String> {
    match words(text).as_str() {
        "yes" | "y" | "true" | "1" | "required" => Ok(true),
        "no" | "n" | "false" | "0" | "not required" => Ok(false),
        _ => Err(format!("'{text}' is not yes or no")),
    }
}

/// Reads a liability minimum.
pub fn parse_liability(text: &str) -> Result<LiabilityMinimum, String> {
    match words(text).as_str() {
        "any" => Ok(LiabilityMinimum::Any),
        "capped" => Ok(LiabilityMinimum::Capped),
        "full" => Ok(LiabilityMinimum::Full),
        _ => Err(format!(
            "'{text}' is not a liability minimum; expected any, capped or full"
        )),
    }
}

/// Reads a country by name, ISO code or alias, as questionnaires are read:
/// the built-in mapping's aliases first ("UAE", "Holland"), then names and
/// codes.
pub fn parse_country(text: &str) -> Result<Country, String> {
    let folded = crate::mapping::values::fold(text);
    crate::mapping::builtin_aliases()
        .iter()
        .find(|(a, _)| *a == folded)
        .map(|(_, c)| *c)
        .or_else(|| Country::lookup(text))
        .ok_or_else(|| format!("'{text}' is not a country name or ISO code"))
}

/// Provider names from one cell or value: separated by commas, semicolons
/// or line breaks.
pub fn split_names(text: &str) -> Vec<String> {
    text.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn words(text: &str) -> String {
    text.trim().to_lowercase().replace(['_', '-'], " ")
}

impl Rollout {
    /// Refuses a rollout without countries or with a country twice.
    pub fn check(&self) -> Result<(), RolloutError> {
        if self.targets.is_empty() {
            return Err(RolloutError {
                place: self.file.display().to_string(),
                message: "the rollout lists no country".into(),
            });
        }
        for (i, t) in self.targets.iter().enumerate() {
            if let Some(first) = self.targets[..i].iter().find(|o| o.country == t.country) {
                return Err(RolloutError {
                    place: t.place.clone(),
                    message: format!("{} is listed twice (first at {})", t.country.name(), first.place),
                });
            }
        }
        Ok(())
    }
}
