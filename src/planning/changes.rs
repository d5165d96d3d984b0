//! What moved between two plans of the same rollout, and why, in words:
//! "DE: primary Meridian -> Atlas: Meridian's tier for Germany is now
//! Conditional (Ready needed)".

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::candidates::{fallback_misses, named, primary_misses, Portfolio};
use super::plan::Plan;
use super::rollout::Rollout;

/// One move of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChange {
    /// ISO alpha-2.
    pub country: String,
    /// `primary` or `fallback`.
    pub role: String,
    /// The provider before, empty for none.
    pub from: String,
    /// The provider now, empty for none.
    pub to: String,
    /// The whole change in one sentence.
    pub detail: String,
}

/// A country of an earlier plan: its code, primary and fallback.
pub type Picks = (String, Option<String>, Option<String>);

#[derive(Deserialize)]
struct Earlier {
    plan: EarlierPlan,
}

#[derive(Deserialize)]
struct EarlierPlan {
    assignments: Vec<EarlierRow>,
}

#[derive(Deserialize)]
struct EarlierRow {
    country: String,
    primary: Option<EarlierPick>,
    fallback: Option<EarlierPick>,
}

#[derive(Deserialize)]
struct EarlierPick {
    provider: String,
}

/// The picks of the plan saved at `path` (a plan JSON), per country; `None`
/// when there is none or it cannot be read (then nothing is said to have
/// moved).
pub fn earlier_picks(path: &Path) -> Option<Vec<Picks>> {
    let bytes = std::fs::read(path).ok()?;
    let earlier: Earlier = serde_json::from_slice(&bytes).ok()?;
    Some(
        earlier
            .plan
            .assignments
            .into_iter()
            .map(|r| (r.country, r.primary.map(|p| p.provider), r.fallback.map(|p| p.provider)))
            .collect(),
    )
}

/// The moves from `before` to `plan`, with the reason read from the
/// portfolio the new plan was made from.
pub fn diff(before: &[Picks], plan: &Plan, rollout: &Rollout, portfolio: &Portfolio) -> Vec<PlanChange> {
    let mut changes = Vec::new();
    for a in &plan.assignments {
        let Some((_, was_p, was_f)) = before.iter().find(|b| b.0 == a.country) else {
            continue;
        };
        let now_p = a.primary.as_ref().map(|p| p.provider.clone());
        let now_f = a.fallback.as_ref().map(|p| p.provider.clone());
        for (role, was, now) in [("primary", was_p, now_p), ("fallback", was_f, now_f)] {
            if *was == now {
                continue;
            }
            let why = reason(was.as_deref(), role, &a.country, rollout, portfolio);
            let name = |p: &Option<String>| p.clone().unwrap_or_else(|| "none".into());
            changes.push(PlanChange {
                country: a.country.clone(),
                role: role.into(),
                from: was.clone().unwrap_or_default(),
                to: now.clone().unwrap_or_default(),
                detail: format!("{}: {role} {} -> {}: {why}", a.country, name(was), name(&now)),
            });
        }
    }
    changes
}

/// Why the earlier provider left the role.
fn reason(was: Option<&str>, role: &str, country: &str, rollout: &Rollout, portfolio: &Portfolio) -> String {
    let Some(was) = was else {
        return "a provider now meets the requirement".into();
    };
    let Some(p) = portfolio.providers.iter().find(|p| p.label == was || p.name == was) else {
        return format!("{was} is no longer among the scored providers");
    };
    if named(&rollout.options.exclude, p) {
        return format!("{was} is excluded");
    }
    let target = rollout.targets.iter().find(|t| t.country.alpha2() == country);
    let (Some(t), Some(row)) = (target, target.and_then(|t| p.row(t.country))) else {
        return format!("{was} no longer answers for {country}");
    };
    let misses = match role {
        "primary" => primary_misses(row, t),
        _ => fallback_misses(row, t, &rollout.options),
    };
    if misses.is_empty() {
        return "the plan as a whole is better this way (fewer providers, a fallback more, or higher scores)".into();
    }
    let mut text = format!("{was}'s answers for {}: {}", t.country.name(), misses.join("; "));
    if !row.why.is_empty() {
        text.push_str(&format!(" ({})", row.why));
    }
    text
}
