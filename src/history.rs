//! What moved between two runs: each provider and country's standing (tier,
//! score, coverage class, flags) and the changes between one run's
//! standings and the next's, in words a procurement analyst reads in the
//! portfolio's Changes sheet.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr};

use crate::scoring::{CoverageClass, ProviderResult, Tier};

/// Where one provider stands in one country after a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    /// The provider's stable id.
    pub provider: String,
    /// The provider's display name.
    pub provider_name: String,
    /// ISO alpha-2.
    pub country: String,
    /// The tier.
    pub tier: Tier,
    /// 0 to 100.
    pub score: f64,
    /// Active, passive, forwarding only or none.
    pub coverage_class: CoverageClass,
    /// high, medium or low.
    pub confidence: String,
    /// Flag codes, sorted.
    pub flags: Vec<String>,
}

impl Standing {
    /// The standings of every assessed country of a result.
    pub fn of(result: &ProviderResult) -> Vec<Standing> {
        let name = result.display_name();
        result
            .assessed
            .iter()
            .filter_map(|a| {
                let country = a.assessment.country?;
                let mut flags: Vec<String> = a.flags.iter().map(|f| f.code.code().to_owned()).collect();
                flags.sort();
                flags.dedup();
                Some(Standing {
                    provider: result.provider.id.clone(),
                    provider_name: name.clone(),
                    country: country.alpha2().to_owned(),
                    tier: a.tier,
                    score: a.score,
                    coverage_class: a.coverage_class,
                    confidence: a.confidence.id().to_owned(),
                    flags,
                })
            })
            .collect()
    }
}

/// The kind of a change, as the JSON result spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Display, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChangeKind {
    /// A provider seen for the first time.
    ProviderAdded,
    /// A provider no longer in the inputs.
    ProviderRemoved,
    /// A country a known provider now answers for.
    CountryAdded,
    /// A country a provider no longer answers for.
    CountryRemoved,
    /// A better tier.
    TierUp,
    /// A worse tier.
    TierDown,
    /// Coverage downgraded from active to passive: the provider no longer
    /// imports there under its own entity or a contracted partner.
    ActiveToPassive,
    /// Coverage upgraded from passive to active.
    PassiveToActive,
    /// New flags raised.
    FlagsAdded,
    /// Flags no longer raised.
    FlagsCleared,
}

impl ChangeKind {
    /// The identifier (`tier_down`).
    pub fn id(self) -> &'static str {
        self.into()
    }

    /// Worth an analyst's attention first.
    pub fn is_downgrade(self) -> bool {
        matches!(
            self,
            ChangeKind::ProviderRemoved
                | ChangeKind::CountryRemoved
                | ChangeKind::TierDown
                | ChangeKind::ActiveToPassive
        )
    }
}

/// One thing that moved since the previous run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The provider's display name.
    pub provider: String,
    /// The provider's stable id.
    pub provider_id: String,
    /// ISO alpha-2, empty for a provider-level change.
    pub country: String,
    /// What kind of move.
    pub kind: ChangeKind,
    /// The value before (a tier, a coverage class, flag codes), or empty.
    pub from: String,
    /// The value now, or empty.
    pub to: String,
    /// One sentence in plain words.
    pub detail: String,
}

/// What moved from `previous` to `current` standings, sorted by provider,
/// country and kind.
pub fn diff(previous: &[Standing], current: &[Standing]) -> Vec<Change> {
    let index = |s: &[Standing]| -> BTreeMap<(String, String), Standing> {
        s.iter()
            .map(|x| ((x.provider.clone(), x.country.clone()), x.clone()))
            .collect()
    };
    let before = index(previous);
    let after = index(current);
    let providers = |m: &BTreeMap<(String, String), Standing>| -> HashMap<String, String> {
        m.values()
            .map(|s| (s.provider.clone(), s.provider_name.clone()))
            .collect()
    };
    let (old_providers, new_providers) = (providers(&before), providers(&after));
    let mut changes = Vec::new();
    let provider_level = |id: &str, name: &str, kind: ChangeKind, n: usize| Change {
        provider: name.to_owned(),
        provider_id: id.to_owned(),
        country: String::new(),
        kind,
        from: String::new(),
        to: String::new(),
        detail: match kind {
            ChangeKind::ProviderAdded => format!("{name} is new: {n} countries assessed"),
            _ => format!("{name} is no longer among the inputs ({n} countries were assessed)"),
        },
    };
    for (id, name) in &new_providers {
        if !old_providers.contains_key(id) {
            let n = after.keys().filter(|(p, _)| p == id).count();
            changes.push(provider_level(id, name, ChangeKind::ProviderAdded, n));
        }
    }
    for (id, name) in &old_providers {
        if !new_providers.contains_key(id) {
            let n = before.keys().filter(|(p, _)| p == id).count();
            changes.push(provider_level(id, name, ChangeKind::ProviderRemoved, n));
        }
    }
    for (key, now) in &after {
        if !old_providers.contains_key(&now.provider) {
            continue;
        }
        match before.get(key) {
            None => changes.push(country_change(
                now,
                ChangeKind::CountryAdded,
                "",
                now.tier.label(),
                || format!("now answers for {}: {}", now.country, now.tier.label()),
            )),
            Some(was) => compare(was, now, &mut changes),
        }
    }
    for (key, was) in &before {
        if new_providers.contains_key(&was.provider) && !after.contains_key(key) {
            changes.push(country_change(
                was,
                ChangeKind::CountryRemoved,
                was.tier.label(),
                "",
                || format!("no longer answers for {} (was {})", was.country, was.tier.label()),
            ));
        }
    }
    changes.sort_by(|a, b| {
        (&a.provider, &a.provider_id, &a.country, a.kind).cmp(&(&b.provider, &b.provider_id, &b.country, b.kind))
    });
    changes
}

fn country_change(s: &Standing, kind: ChangeKind, from: &str, to: &str, detail: impl FnOnce() -> String) -> Change {
    Change {
        provider: s.provider_name.clone(),
        provider_id: s.provider.clone(),
        country: s.country.clone(),
        kind,
        from: from.to_owned(),
        to: to.to_owned(),
        detail: detail(),
    }
}

fn compare(was: &Standing, now: &Standing, out: &mut Vec<Change>) {
    if was.tier != now.tier {
        // Tiers are ordered best first.
        let kind = if now.tier < was.tier {
            ChangeKind::TierUp
        } else {
            ChangeKind::TierDown
        };
        out.push(country_change(now, kind, was.tier.label(), now.tier.label(), || {
            format!(
                "{} from {} to {} (score {:.2} to {:.2})",
                if kind == ChangeKind::TierUp { "up" } else { "down" },
                was.tier.label(),
                now.tier.label(),
                was.score,
                now.score
            )
        }));
    }
    let downgrade = was.coverage_class == CoverageClass::Active && now.coverage_class == CoverageClass::Passive;
    let upgrade = was.coverage_class == CoverageClass::Passive && now.coverage_class == CoverageClass::Active;
    if downgrade || upgrade {
        let kind = if downgrade {
            ChangeKind::ActiveToPassive
        } else {
            ChangeKind::PassiveToActive
        };
        out.push(country_change(
            now,
            kind,
            was.coverage_class.id(),
            now.coverage_class.id(),
            || {
                format!(
                    "coverage {} from {} to {}",
                    if downgrade { "downgraded" } else { "upgraded" },
                    was.coverage_class.id(),
                    now.coverage_class.id()
                )
            },
        ));
    }
    let old: BTreeSet<&String> = was.flags.iter().collect();
    let new: BTreeSet<&String> = now.flags.iter().collect();
    let added: Vec<&str> = new.difference(&old).map(|s| s.as_str()).collect();
    let cleared: Vec<&str> = old.difference(&new).map(|s| s.as_str()).collect();
    if !added.is_empty() {
        out.push(country_change(
            now,
            ChangeKind::FlagsAdded,
            "",
            &added.join(", "),
            || format!("new flags: {}", added.join(", ")),
        ));
    }
    if !cleared.is_empty() {
        out.push(country_change(
            now,
            ChangeKind::FlagsCleared,
            &cleared.join(", "),
            "",
            || format!("flags cleared: {}", cleared.join(", ")),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(provider: &str, country: &str, tier: Tier, class: CoverageClass, flags: &[&str]) -> Standing {
        Standing {
            provider: provider.to_owned(),
            provider_name: provider.to_uppercase(),
            country: country.to_owned(),
            tier,
            score: 50.0,
            coverage_class: class,
            confidence: "high".into(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn kinds(changes: &[Change]) -> Vec<(&str, ChangeKind)> {
        changes.iter().map(|c| (c.country.as_str(), c.kind)).collect()
    }

    #[test]
    fn identical_standings_have_no_changes() {
        let s = vec![standing("a", "DE", Tier::Ready, CoverageClass::Active, &["X"])];
        assert!(diff(&s, &s).is_empty());
    }

    #[test]
    fn a_better_tier_is_a_tier_up_and_a_worse_one_a_tier_down() {
        let before = vec![
            standing("a", "DE", Tier::Conditional, CoverageClass::Active, &[]),
            standing("a", "FR", Tier::Ready, CoverageClass::Active, &[]),
        ];
        let after = vec![
            standing("a", "DE", Tier::Ready, CoverageClass::Active, &[]),
            standing("a", "FR", Tier::CoverageOnly, CoverageClass::Active, &[]),
        ];
        let changes = diff(&before, &after);
        assert_eq!(
            kinds(&changes),
            [("DE", ChangeKind::TierUp), ("FR", ChangeKind::TierDown)]
        );
        assert_eq!(changes[1].from, "Ready");
        assert_eq!(changes[1].to, "Coverage only");
    }

    #[test]
    fn active_to_passive_is_reported_as_a_downgrade() {
        let before = vec![standing("a", "DE", Tier::CoverageOnly, CoverageClass::Active, &[])];
        let after = vec![standing("a", "DE", Tier::CoverageOnly, CoverageClass::Passive, &[])];
        let changes = diff(&before, &after);
        assert_eq!(kinds(&changes), [("DE", ChangeKind::ActiveToPassive)]);
        assert!(changes[0].kind.is_downgrade());
    }

    #[test]
    fn flags_added_and_cleared_are_listed_by_code() {
        let before = vec![standing(
            "a",
            "DE",
            Tier::Ready,
            CoverageClass::Active,
            &["OLD", "KEEP"],
        )];
        let after = vec![standing(
            "a",
            "DE",
            Tier::Ready,
            CoverageClass::Active,
            &["KEEP", "NEW"],
        )];
        let changes = diff(&before, &after);
        assert_eq!(
            kinds(&changes),
            [("DE", ChangeKind::FlagsAdded), ("DE", ChangeKind::FlagsCleared)]
        );
        assert_eq!(changes[0].to, "NEW");
        assert_eq!(changes[1].from, "OLD");
    }

    #[test]
    fn a_new_provider_is_one_change_not_one_per_country() {
        let after = vec![
            standing("b", "DE", Tier::Ready, CoverageClass::Active, &[]),
            standing("b", "FR", Tier::Ready, CoverageClass::Active, &[]),
        ];
        let changes = diff(&[], &after);
        assert_eq!(kinds(&changes), [("", ChangeKind::ProviderAdded)]);
        assert!(changes[0].detail.contains("2 countries"), "{}", changes[0].detail);
    }

    #[test]
    fn a_provider_gone_from_the_inputs_is_removed() {
        let before = vec![standing("b", "DE", Tier::Ready, CoverageClass::Active, &[])];
        assert_eq!(kinds(&diff(&before, &[])), [("", ChangeKind::ProviderRemoved)]);
    }

    #[test]
    fn countries_added_and_dropped_by_a_known_provider_are_listed() {
        let before = vec![standing("a", "DE", Tier::Ready, CoverageClass::Active, &[])];
        let after = vec![standing("a", "FR", Tier::Ready, CoverageClass::Active, &[])];
        assert_eq!(
            kinds(&diff(&before, &after)),
            [("DE", ChangeKind::CountryRemoved), ("FR", ChangeKind::CountryAdded)]
        );
    }
}
