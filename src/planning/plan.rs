//! The plan: for each target country its primary and fallback, the
//! providers to contract, and the gaps with what keeps the best option
//! from the requirement. Built in named stages: the question, the search,
//! the assignments, the contracts, the gaps.

use std::time::Duration;

use serde::Serialize;

use super::candidates::{fallback_misses, named, primary_misses, Portfolio, Scored, ScoredProvider};
use super::rollout::{Rollout, Target};
use super::solver::{solve, Assignment, Bound, Candidate, Need, Question, SolveError, Solved};
use crate::model::Country;
use crate::scoring::Tier;

/// A provider in a role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pick {
    /// The provider's name (with its file when two inputs share it).
    pub provider: String,
    /// The input it came from.
    pub source: String,
    /// Tier id.
    pub tier: Tier,
    /// 0-100.
    pub score: f64,
    /// Coverage class id.
    pub coverage_class: String,
    /// Confidence id.
    pub confidence: String,
}

/// One country of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    /// ISO alpha-2.
    pub country: String,
    /// English name.
    pub country_name: String,
    /// What the rollout asks, in words.
    pub requirement: String,
    /// The primary, if any.
    pub primary: Option<Pick>,
    /// The fallback, if any.
    pub fallback: Option<Pick>,
    /// Why the primary or a wanted fallback is missing, in words.
    pub reason: Option<String>,
    /// The analyst's notes from the rollout.
    pub notes: String,
    #[serde(skip)]
    /// The row of the rollout.
    pub target: Target,
}

/// A provider to contract.
#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    /// The provider.
    pub provider: String,
    /// Preferred in the rollout's options.
    pub preferred: bool,
    /// Countries it serves as primary (ISO alpha-2).
    pub primary: Vec<String>,
    /// Countries it backs up as fallback.
    pub fallback: Vec<String>,
}

/// A country without a primary, or without a fallback it asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// ISO alpha-2.
    pub country: String,
    /// `primary` or `fallback`.
    pub missing: &'static str,
    /// The best provider available, if any answered for the country.
    pub best: Option<String>,
    /// What keeps it from the requirement, in words.
    pub why: String,
    /// What the analyst can do about it.
    pub action: String,
}

/// The objective figures, scores in points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Countries with a primary.
    pub countries_covered: usize,
    /// Countries that asked for a fallback and have one.
    pub fallbacks_covered: usize,
    /// Providers to contract.
    pub providers: usize,
    /// Of those, preferred.
    pub preferred: usize,
    /// Sum of primary scores.
    pub primary_score_sum: f64,
    /// Sum of fallback scores.
    pub fallback_score_sum: f64,
}

/// The bound where the search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlanBound {
    /// The objective not proven.
    pub objective: &'static str,
    /// No plan does better on it than this.
    pub value: f64,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Proven optimal.
    pub optimal: bool,
    /// When not proven, how far it could go.
    pub bound: Option<PlanBound>,
    /// Its figures.
    pub objective: Figures,
    /// Per target country, in the rollout's order.
    pub assignments: Vec<Planned>,
    /// Providers to contract, by name.
    pub contracts: Vec<Contract>,
    /// What is missing.
    pub gaps: Vec<Gap>,
    /// Names in the options that no scored provider has.
    pub unknown_names: Vec<String>,
    /// Countries the rollout wants.
    #[serde(skip)]
    pub countries_wanted: usize,
    /// Fallbacks the rollout wants.
    #[serde(skip)]
    pub fallbacks_wanted: usize,
    /// The search's time.
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Plan {
    /// Every country has what it asked for.
    pub fn complete(&self) -> bool {
        self.gaps.is_empty()
    }
}

/// Plans `rollout` over the providers of `portfolio`.
pub fn make_plan(rollout: &Rollout, portfolio: &Portfolio, time_limit: Duration) -> Result<Plan, SolveError> {
    let started = std::time::Instant::now();
    let providers = &portfolio.providers;
    let question = question_of(rollout, providers);
    // The solver is a library of its own: should it ever panic on a
    // question, the plan fails with a message instead of the process.
    let solved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| solve(&question, time_limit)))
        .map_err(|_| SolveError::new("the solver stopped unexpectedly on this rollout"))??;
    let assignments = assignments_of(rollout, providers, &solved);
    let contracts = contracts_of(rollout, providers, &solved);
    let gaps = gaps_of(rollout, providers, &question, &solved, &assignments);
    let assignments = with_reasons(assignments, &gaps);
    let mut unknown_names: Vec<String> = rollout
        .options
        .exclude
        .iter()
        .chain(&rollout.options.prefer)
        .filter(|n| !providers.iter().any(|p| named(std::slice::from_ref(n), p)))
        .cloned()
        .collect();
    unknown_names.dedup();
    Ok(Plan {
        optimal: solved.optimal,
        bound: solved
            .bound
            .map(|Bound { objective, value }| PlanBound { objective, value }),
        objective: figures(&solved),
        assignments,
        contracts,
        gaps,
        unknown_names,
        countries_wanted: rollout.targets.len(),
        fallbacks_wanted: rollout.targets.iter().filter(|t| t.fallback_needed).count(),
        elapsed: started.elapsed(),
    })
}

/// Stage 1: the question for the search: who may take which role where.
pub fn question_of(rollout: &Rollout, providers: &[ScoredProvider]) -> Question {
    let excluded: Vec<bool> = providers.iter().map(|p| named(&rollout.options.exclude, p)).collect();
    let needs = rollout
        .targets
        .iter()
        .map(|t| {
            let mut need = Need {
                wants_fallback: t.fallback_needed,
                ..Need::default()
            };
            for (i, p) in providers.iter().enumerate() {
                let Some(row) = p.row(t.country).filter(|_| !excluded[i]) else {
                    continue;
                };
                let c = Candidate {
                    provider: i,
                    score: row.units(),
                };
                if primary_misses(row, t).is_empty() {
                    need.primary.push(c);
                }
                if t.fallback_needed && fallback_misses(row, t, &rollout.options).is_empty() {
                    need.fallback.push(c);
                }
            }
            need
        })
        .collect();
    Question {
        preferred: providers.iter().map(|p| named(&rollout.options.prefer, p)).collect(),
        needs,
        max_providers: rollout.options.max_providers,
    }
}

fn pick(providers: &[ScoredProvider], c: Option<Candidate>, country: Country) -> Option<Pick> {
    let p = &providers[c?.provider];
    let row = p.row(country)?;
    Some(Pick {
        provider: p.label.clone(),
        source: p.source.clone(),
        tier: row.tier,
        score: row.score,
        coverage_class: row.coverage_class.clone(),
        confidence: row.confidence.clone(),
    })
}

/// Stage 2: the countries with their picks.
fn assignments_of(rollout: &Rollout, providers: &[ScoredProvider], solved: &Solved) -> Vec<Planned> {
    rollout
        .targets
        .iter()
        .zip(&solved.assignments)
        .map(|(t, a)| Planned {
            country: t.country.alpha2().to_owned(),
            country_name: t.country.name().to_owned(),
            requirement: t.requirement(rollout.options.fallback_tier),
            primary: pick(providers, a.primary, t.country),
            fallback: pick(providers, a.fallback, t.country),
            reason: None,
            notes: t.notes.clone(),
            target: t.clone(),
        })
        .collect()
}

/// Stage 3: the providers to contract, by name.
fn contracts_of(rollout: &Rollout, providers: &[ScoredProvider], solved: &Solved) -> Vec<Contract> {
    let mut contracts: Vec<Contract> = Vec::new();
    for (i, p) in providers.iter().enumerate() {
        let mut c = Contract {
            provider: p.label.clone(),
            preferred: named(&rollout.options.prefer, p),
            primary: Vec::new(),
            fallback: Vec::new(),
        };
        for (t, a) in rollout.targets.iter().zip(&solved.assignments) {
            if a.primary.is_some_and(|x| x.provider == i) {
                c.primary.push(t.country.alpha2().to_owned());
            }
            if a.fallback.is_some_and(|x| x.provider == i) {
                c.fallback.push(t.country.alpha2().to_owned());
            }
        }
        if !c.primary.is_empty() || !c.fallback.is_empty() {
            contracts.push(c);
        }
    }
    contracts
}

fn figures(solved: &Solved) -> Figures {
    let o = solved.objective;
    Figures {
        countries_covered: o.countries_covered,
        fallbacks_covered: o.fallbacks_covered,
        providers: o.providers,
        preferred: o.preferred,
        primary_score_sum: o.primary_score_sum as f64 / 10_000.0,
        fallback_score_sum: o.fallback_score_sum as f64 / 10_000.0,
    }
}

/// Stage 4: each missing primary or wanted fallback, with the best option
/// and what keeps it out.
fn gaps_of(
    rollout: &Rollout,
    providers: &[ScoredProvider],
    q: &Question,
    solved: &Solved,
    planned: &[Planned],
) -> Vec<Gap> {
    let mut gaps = Vec::new();
    for (i, (t, a)) in rollout.targets.iter().zip(&solved.assignments).enumerate() {
        if a.primary.is_none() {
            gaps.push(primary_gap(rollout, providers, &q.needs[i], t));
        } else if t.fallback_needed && a.fallback.is_none() {
            gaps.push(fallback_gap(rollout, providers, &q.needs[i], t, a, &planned[i]));
        }
    }
    gaps
}

/// The best of a country's rows for a role: fewest misses, best tier,
/// highest score, earlier name.
fn best_row<'a>(
    providers: &'a [ScoredProvider],
    rollout: &Rollout,
    t: &Target,
    misses: &dyn Fn(&Scored) -> Vec<String>,
    skip: Option<usize>,
) -> Option<(&'a ScoredProvider, &'a Scored, Vec<String>)> {
    providers
        .iter()
        .enumerate()
        .filter(|(i, p)| Some(*i) != skip && !named(&rollout.options.exclude, p))
        .filter_map(|(_, p)| {
            p.row(t.country)
                .filter(|r| r.tier != Tier::NotOffered)
                .map(|r| (p, r, misses(r)))
        })
        .min_by(|a, b| {
            (a.2.len(), a.1.tier)
                .cmp(&(b.2.len(), b.1.tier))
                .then(b.1.score.total_cmp(&a.1.score))
        })
}

fn primary_gap(rollout: &Rollout, providers: &[ScoredProvider], need: &Need, t: &Target) -> Gap {
    let gap = |best: Option<String>, why: String, action: String| Gap {
        country: t.country.alpha2().to_owned(),
        missing: "primary",
        best,
        why,
        action,
    };
    if !need.primary.is_empty() {
        let names = names_of(providers, &need.primary);
        return gap(
            Some(names[0].clone()),
            format!(
                "{} could serve it, but the plan is held to {} providers (Maximum providers) and covers more countries without it",
                names.join(", "),
                rollout.options.max_providers.unwrap_or(0)
            ),
            raise_maximum(rollout),
        );
    }
    match best_row(providers, rollout, t, &|r| primary_misses(r, t), None) {
        Some((p, row, misses)) => gap(
            Some(p.label.clone()),
            best_words(p, row, &misses),
            action(p, row, t, t.minimum_tier, true),
        ),
        None => gap(
            None,
            format!("no provider in the inputs offers {}", t.country.name()),
            source_one(t),
        ),
    }
}

fn raise_maximum(rollout: &Rollout) -> String {
    format!(
        "Raise Maximum providers to {} on the Options sheet, or accept the gap.",
        rollout.options.max_providers.unwrap_or(0) + 1
    )
}

fn source_one(t: &Target) -> String {
    format!(
        "Source a provider for {} (send it the questionnaire), or take the country out of the rollout.",
        t.country.name()
    )
}

/// What would let the best row take the role: each thing it misses, as a
/// step for the analyst.
fn action(p: &ScoredProvider, row: &Scored, t: &Target, least: Tier, liability: bool) -> String {
    let mut steps = Vec::new();
    if t.provider_compliance && row.compliance_not_supported() {
        steps.push(format!(
            "{} does not handle product compliance: hold the certificates yourself (then set Provider-handled compliance to no) or source a provider that handles it",
            p.label
        ));
    }
    if row.tier > least {
        steps.push(format!(
            "ask {} to close what its score lists (evidence, shipments, licences) to reach {}",
            p.label,
            least.label()
        ));
    }
    if liability && !t.liability.met_by(row.liability()) {
        steps.push(format!("negotiate {} liability with {}", t.liability.id(), p.label));
    }
    if steps.is_empty() {
        return source_one(t);
    }
    let mut text = steps.join("; ");
    text.push_str(&format!("; or source another provider for {}.", t.country.name()));
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn fallback_gap(
    rollout: &Rollout,
    providers: &[ScoredProvider],
    need: &Need,
    t: &Target,
    a: &Assignment,
    planned: &Planned,
) -> Gap {
    let primary = a.primary.map(|c| c.provider);
    let gap = |best: Option<String>, why: String, action: String| Gap {
        country: t.country.alpha2().to_owned(),
        missing: "fallback",
        best,
        why,
        action,
    };
    let others: Vec<Candidate> = need
        .fallback
        .iter()
        .copied()
        .filter(|c| Some(c.provider) != primary)
        .collect();
    if !others.is_empty() {
        let names = names_of(providers, &others);
        return gap(
            Some(names[0].clone()),
            format!(
                "{} could back it up, but the plan is held to {} providers (Maximum providers)",
                names.join(", "),
                rollout.options.max_providers.unwrap_or(0)
            ),
            raise_maximum(rollout),
        );
    }
    let misses = |r: &Scored| fallback_misses(r, t, &rollout.options);
    match best_row(providers, rollout, t, &misses, primary) {
        Some((p, row, misses)) => gap(
            Some(p.label.clone()),
            best_words(p, row, &misses),
            action(p, row, t, rollout.options.fallback_tier, false),
        ),
        None => {
            let only = planned.primary.as_ref().map(|p| p.provider.clone()).unwrap_or_default();
            gap(
                None,
                format!("no provider besides {only} (the primary) offers {}", t.country.name()),
                source_one(t),
            )
        }
    }
}

fn names_of(providers: &[ScoredProvider], cs: &[Candidate]) -> Vec<String> {
    let mut by_score: Vec<&Candidate> = cs.iter().collect();
    by_score.sort_by_key(|c| (std::cmp::Reverse(c.score), c.provider));
    by_score.iter().map(|c| providers[c.provider].label.clone()).collect()
}

/// "best: GlobeReach (29.40): Coverage only, Conditional needed. 29.40,
/// 20.60 short of Conditional: ..."
fn best_words(p: &ScoredProvider, row: &Scored, misses: &[String]) -> String {
    let mut words = format!("best: {} ({:.2})", p.label, row.score);
    if misses.is_empty() {
        words.push_str(&format!(": {}", row.tier.label()));
    } else {
        words.push_str(": ");
        words.push_str(&misses.join("; "));
    }
    if !row.why.is_empty() {
        words.push_str(". ");
        words.push_str(&row.why);
    }
    words
}

/// Stage 5: each country's reason, in short, from its gap.
fn with_reasons(mut planned: Vec<Planned>, gaps: &[Gap]) -> Vec<Planned> {
    for p in &mut planned {
        if let Some(g) = gaps.iter().find(|g| g.country == p.country) {
            // The first sentence: the Gaps sheet has the whole of it.
            let short = g.why.split(". ").next().unwrap_or(&g.why);
            p.reason = Some(format!("No {}: {short}", g.missing));
        }
    }
    planned
}
