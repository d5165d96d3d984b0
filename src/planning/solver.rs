//! The exact search for a rollout plan: which providers to contract so that
//! the objectives of the deployment plan are met in their order.
//!
//! The objectives are lexicographic, so they are solved in stages, each a
//! mixed-integer programme (microlp's branch and bound) that keeps the
//! optimum of the stages before it as a constraint:
//! 1. coverage: most countries with a primary, then with a fallback (only a
//!    search when `Maximum providers` is set; otherwise every country that
//!    has candidates is covered);
//! 2. contracts: fewest providers, then most preferred among them;
//! 3. primary score sum; 4. fallback score sum.
//!
//! Stages 1 and 2 need only one variable per provider: a set of providers
//! gives a country a primary when one of them may be its primary, and a
//! fallback as well when, besides, one may be its fallback and at least two
//! of them may be either (then a distinct pair exists). Stages 3 and 4 add
//! one variable per (country, candidate). Each stage starts from the plan
//! of the stage before, so a stage stopped by the time limit still has a
//! plan, and its proven bound is reported.

use std::time::{Duration, Instant};

use microlp::{ComparisonOp, LinearExpr, OptimizationDirection, Problem, SolveOptions, TerminationReason, Variable};

use super::reduce::reduce;

/// A provider that may take a role in a country, with its score in
/// ten-thousandths of a point (the JSON result's precision), so that sums
/// are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the provider.
    pub provider: usize,
    /// Score x 10,000.
    pub score: i64,
}

/// What one country offers the search.
#[derive(Debug, Clone, Default)]
pub struct Need {
    /// Providers that meet the country's row as primary.
    pub primary: Vec<Candidate>,
    /// Providers that may be its fallback (empty when none is needed).
    pub fallback: Vec<Candidate>,
    /// The row asks for a fallback.
    pub wants_fallback: bool,
}

/// The whole question. Providers are indexed in name order: among equal
/// plans, the one with the earlier names is kept.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// Per provider: is it preferred.
    pub preferred: Vec<bool>,
    /// Per country of the rollout, in its order.
    pub needs: Vec<Need>,
    /// At most this many providers.
    pub max_providers: Option<usize>,
}

/// Primary and fallback of one country.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Assignment {
    /// The primary's candidate.
    pub primary: Option<Candidate>,
    /// The fallback's candidate.
    pub fallback: Option<Candidate>,
}

/// The objective figures, in the order they are optimised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Objective {
    /// Countries with a primary.
    pub countries_covered: usize,
    /// Countries that asked for a fallback and have one.
    pub fallbacks_covered: usize,
    /// Distinct providers chosen.
    pub providers: usize,
    /// Of those, preferred.
    pub preferred: usize,
    /// Sum of primary scores x 10,000.
    pub primary_score_sum: i64,
    /// Sum of fallback scores x 10,000.
    pub fallback_score_sum: i64,
}

/// The objective a stopped search could not prove, and the best value any
/// plan could reach on it (the earlier objectives kept).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// `countries_covered`, `providers`, `primary_score_sum`...
    pub objective: &'static str,
    /// The bound, in the objective's own unit (scores in points).
    pub value: f64,
}

/// The plan the search settled on.
#[derive(Debug, Clone)]
pub struct Solved {
    /// One per need, in order.
    pub assignments: Vec<Assignment>,
    /// Its figures.
    pub objective: Objective,
    /// Proven optimal for every objective.
    pub optimal: bool,
    /// Where the proof stopped, when it did.
    pub bound: Option<Bound>,
    /// Providers left out by the reduction (dominated by two others).
    pub reduced_away: usize,
}

/// The solver failed in a way that is not a time limit.
#[derive(Debug, thiserror::Error)]
#[error("the plan's search failed: {0}")]
pub struct SolveError(String);

impl SolveError {
    /// A failure in words.
    pub fn new(message: impl Into<String>) -> Self {
        SolveError(message.into())
    }
}

/// Solves `q` exactly, or as far as `time_limit` allows.
pub fn solve(q: &Question, time_limit: Duration) -> Result<Solved, SolveError> {
    let deadline = Instant::now() + time_limit;
    let keep = reduce(q);
    let reduced_away = q.preferred.len() - keep.iter().filter(|k| **k).count();
    let mut search = Search::new(q, keep);
    let mut chosen = search.coverage(deadline)?;
    if chosen.bound.is_none() {
        chosen = search.contracts(chosen, deadline)?;
    }
    if chosen.bound.is_none() {
        chosen = search.scores(chosen, deadline, Role::Primary)?;
    }
    if chosen.bound.is_none() {
        chosen = search.scores(chosen, deadline, Role::Fallback)?;
    }
    let assignments = best_assignments(q, &chosen.set);
    let objective = objective_of(q, &assignments);
    Ok(Solved {
        assignments,
        objective,
        optimal: chosen.bound.is_none(),
        bound: chosen.bound,
        reduced_away,
    })
}

/// A set of providers, with what is proven about it.
struct Chosen {
    set: Vec<bool>,
    bound: Option<Bound>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Primary,
    Fallback,
}

/// The staged search over one question.
struct Search<'a> {
    q: &'a Question,
    keep: Vec<bool>,
    /// Fixed by the stages so far.
    covered: Option<(usize, usize)>,
    contracts: Option<(usize, usize)>,
    primary_sum: Option<i64>,
}

impl<'a> Search<'a> {
    fn new(q: &'a Question, keep: Vec<bool>) -> Self {
        Search {
            q,
            keep,
            covered: None,
            contracts: None,
            primary_sum: None,
        }
    }

    /// Stage 1: without a maximum, every country that has candidates is
    /// covered (contract them all); with one, a search.
    fn coverage(&mut self, deadline: Instant) -> Result<Chosen, SolveError> {
        let all = self.keep.clone();
        let Some(max) = self.q.max_providers else {
            let o = objective_of(self.q, &best_assignments(self.q, &all));
            self.covered = Some((o.countries_covered, o.fallbacks_covered));
            return Ok(Chosen { set: all, bound: None });
        };
        let weight = self.q.needs.len() as f64 + 1.0;
        let mut m = Model::new(self, OptimizationDirection::Maximize, |_| 0.0);
        let (ys, zs) = m.coverage_rows(self, weight, 1.0);
        m.at_most(&m.x_all(), max as f64);
        let start = m.start_of(self, &vec![false; self.keep.len()], &[]);
        let outcome = m.run(start, deadline)?;
        let set = m.set_of(&outcome);
        let covered = outcome.count(&ys);
        let fallbacks = outcome.count(&zs);
        self.covered = Some((covered, fallbacks));
        let bound = outcome.bound.map(|b| Bound {
            objective: "countries_covered",
            value: (b / weight).floor(),
        });
        Ok(Chosen { set, bound })
    }

    /// Stage 2: fewest providers, then most preferred, keeping coverage.
    fn contracts(&mut self, from: Chosen, deadline: Instant) -> Result<Chosen, SolveError> {
        let preferred = self.q.preferred.iter().filter(|p| **p).count() as f64;
        let weight = preferred + 1.0;
        let q = self.q;
        let mut m = Model::new(self, OptimizationDirection::Minimize, |p| {
            weight - if q.preferred[p] { 1.0 } else { 0.0 }
        });
        self.coverage_kept(&mut m);
        let start = m.start_of(self, &from.set, &[]);
        let outcome = m.run(start, deadline)?;
        let set = m.set_of(&outcome);
        let count = set.iter().filter(|s| **s).count();
        let pref = (0..set.len()).filter(|p| set[*p] && q.preferred[*p]).count();
        self.contracts = Some((count, pref));
        let bound = outcome.bound.map(|b| Bound {
            objective: "providers",
            value: (b / weight).ceil(),
        });
        Ok(Chosen { set, bound })
    }

    /// Stages 3 and 4: the highest sum of primary (then fallback) scores,
    /// keeping coverage and contracts.
    fn scores(&mut self, from: Chosen, deadline: Instant, role: Role) -> Result<Chosen, SolveError> {
        let mut m = Model::new(self, OptimizationDirection::Maximize, |_| 0.0);
        self.coverage_kept(&mut m);
        let (count, pref) = self.contracts.unwrap_or((self.keep.len(), 0));
        m.at_most(&m.x_all(), count as f64);
        let preferred: Vec<usize> = (0..self.keep.len()).filter(|p| self.q.preferred[*p]).collect();
        m.at_least(&m.x_of(&preferred), pref as f64);
        m.role_vars(self, role);
        let start_assignments = best_assignments(self.q, &from.set);
        let start = m.start_of(self, &from.set, &start_assignments);
        let outcome = m.run(start, deadline)?;
        let set = m.set_of(&outcome);
        let sum = objective_of(self.q, &best_assignments(self.q, &set));
        if role == Role::Primary {
            self.primary_sum = Some(sum.primary_score_sum);
        }
        let bound = outcome.bound.map(|b| Bound {
            objective: match role {
                Role::Primary => "primary_score_sum",
                Role::Fallback => "fallback_score_sum",
            },
            value: (b.floor()) / 10_000.0,
        });
        Ok(Chosen { set, bound })
    }

    /// The coverage of stage 1 as constraints.
    fn coverage_kept(&self, m: &mut Model) {
        let (covered, fallbacks) = self.covered.unwrap_or((0, 0));
        let (ys, zs) = m.coverage_rows(self, 0.0, 0.0);
        m.at_least(&ys, covered as f64);
        m.at_least(&zs, fallbacks as f64);
        if let Some(max) = self.q.max_providers {
            m.at_most(&m.x_all(), max as f64);
        }
    }
}

/// One stage's programme: a provider variable per kept provider, and the
/// rows and role variables the stage adds.
struct Model {
    p: Problem,
    /// Per provider, its variable (None when reduced away).
    x: Vec<Option<Variable>>,
    /// Coverage variables per need: (y, z).
    cover: Vec<(Option<Variable>, Option<Variable>)>,
    /// Role variables per need: (provider, primary var, fallback var).
    roles: Vec<Vec<RoleVars>>,
}

/// A candidate's provider and its primary and fallback variables.
type RoleVars = (usize, Option<Variable>, Option<Variable>);

/// What a run of the programme gave.
struct Outcome {
    solution: microlp::Solution,
    bound: Option<f64>,
}

impl Outcome {
    fn on(&self, v: Variable) -> bool {
        self.solution.var_value_raw(v) > 0.5
    }

    fn count(&self, vars: &[Variable]) -> usize {
        vars.iter().filter(|v| self.on(**v)).count()
    }
}

impl Model {
    fn new(s: &Search<'_>, dir: OptimizationDirection, cost: impl Fn(usize) -> f64) -> Self {
        let mut p = Problem::new(dir);
        let x = (0..s.keep.len())
            .map(|i| s.keep[i].then(|| p.add_binary_var(cost(i))))
            .collect();
        Model {
            p,
            x,
            cover: vec![(None, None); s.q.needs.len()],
            roles: vec![Vec::new(); s.q.needs.len()],
        }
    }

    fn x_all(&self) -> Vec<Variable> {
        self.x.iter().flatten().copied().collect()
    }

    fn x_of(&self, providers: &[usize]) -> Vec<Variable> {
        providers.iter().filter_map(|p| self.x[*p]).collect()
    }

    fn sum(vars: &[Variable], coeff: f64) -> LinearExpr {
        let mut e = LinearExpr::empty();
        for v in vars {
            e.add(*v, coeff);
        }
        e
    }

    fn at_most(&mut self, vars: &[Variable], rhs: f64) {
        self.p.add_constraint(Self::sum(vars, 1.0), ComparisonOp::Le, rhs);
    }

    fn at_least(&mut self, vars: &[Variable], rhs: f64) {
        self.p.add_constraint(Self::sum(vars, 1.0), ComparisonOp::Ge, rhs);
    }

    /// Per need, y (has a primary) and z (has a fallback), tied to the
    /// provider variables; their objective weights are given.
    fn coverage_rows(&mut self, s: &Search<'_>, y_weight: f64, z_weight: f64) -> (Vec<Variable>, Vec<Variable>) {
        let (mut ys, mut zs) = (Vec::new(), Vec::new());
        for (i, need) in s.q.needs.iter().enumerate() {
            let prim = self.x_of(&need.primary.iter().map(|c| c.provider).collect::<Vec<_>>());
            if prim.is_empty() {
                continue;
            }
            let y = self.p.add_binary_var(y_weight);
            self.p
                .add_constraint(with(Self::sum(&prim, 1.0), y, -1.0), ComparisonOp::Ge, 0.0);
            ys.push(y);
            let fall = self.x_of(&need.fallback.iter().map(|c| c.provider).collect::<Vec<_>>());
            let either = self.x_of(&either_of(need));
            if !need.wants_fallback || fall.is_empty() || either.len() < 2 {
                self.cover[i] = (Some(y), None);
                continue;
            }
            let z = self.p.add_binary_var(z_weight);
            self.p.add_constraint([(y, 1.0), (z, -1.0)], ComparisonOp::Ge, 0.0);
            self.p
                .add_constraint(with(Self::sum(&fall, 1.0), z, -1.0), ComparisonOp::Ge, 0.0);
            self.p
                .add_constraint(with(Self::sum(&either, 1.0), z, -2.0), ComparisonOp::Ge, 0.0);
            self.cover[i] = (Some(y), Some(z));
            zs.push(z);
        }
        (ys, zs)
    }

    /// Per need and candidate, a primary and a fallback variable: one
    /// primary per country, a fallback only beside it, never the same
    /// provider in both roles, only a chosen provider; the objective is
    /// the role's score. Sets the earlier score sum as a constraint.
    fn role_vars(&mut self, s: &Search<'_>, role: Role) {
        let mut primary_sum = LinearExpr::empty();
        let (mut all_a, mut all_b) = (Vec::new(), Vec::new());
        for (i, need) in s.q.needs.iter().enumerate() {
            let mut row = Vec::new();
            for p in either_of(need) {
                let Some(x) = self.x[p] else { continue };
                let ps = need.primary.iter().find(|c| c.provider == p).map(|c| c.score);
                let fs = need.fallback.iter().find(|c| c.provider == p).map(|c| c.score);
                let a = ps.map(|sc| {
                    self.p
                        .add_binary_var(if role == Role::Primary { sc as f64 } else { 0.0 })
                });
                let b = fs.map(|sc| {
                    self.p
                        .add_binary_var(if role == Role::Fallback { sc as f64 } else { 0.0 })
                });
                if let (Some(a), Some(sc)) = (a, ps) {
                    primary_sum.add(a, sc as f64);
                }
                let mut link = LinearExpr::empty();
                a.iter().chain(b.iter()).for_each(|v| link.add(*v, 1.0));
                link.add(x, -1.0);
                self.p.add_constraint(link, ComparisonOp::Le, 0.0);
                row.push((p, a, b));
            }
            let a: Vec<Variable> = row.iter().filter_map(|r| r.1).collect();
            let b: Vec<Variable> = row.iter().filter_map(|r| r.2).collect();
            self.p.add_constraint(Self::sum(&a, 1.0), ComparisonOp::Le, 1.0);
            let mut pair = Self::sum(&b, 1.0);
            a.iter().for_each(|v| pair.add(*v, -1.0));
            self.p.add_constraint(pair, ComparisonOp::Le, 0.0);
            all_a.extend(a);
            all_b.extend(b);
            self.roles[i] = row;
        }
        let (covered, fallbacks) = s.covered.unwrap_or((0, 0));
        self.at_least(&all_a, covered as f64);
        self.at_least(&all_b, fallbacks as f64);
        if let (Role::Fallback, Some(sum)) = (role, s.primary_sum) {
            self.p.add_constraint(primary_sum, ComparisonOp::Ge, sum as f64 - 0.5);
        }
    }

    /// A complete starting point from a set of providers and, for the
    /// score stages, its assignments.
    fn start_of(&self, s: &Search<'_>, set: &[bool], assignments: &[Assignment]) -> Vec<(Variable, f64)> {
        let on = |b: bool| if b { 1.0 } else { 0.0 };
        let mut start: Vec<(Variable, f64)> = self
            .x
            .iter()
            .enumerate()
            .filter_map(|(p, x)| x.map(|x| (x, on(set[p]))))
            .collect();
        let evaluated = best_assignments(s.q, set);
        for (i, (y, z)) in self.cover.iter().enumerate() {
            let a = evaluated[i];
            y.iter().for_each(|y| start.push((*y, on(a.primary.is_some()))));
            z.iter().for_each(|z| start.push((*z, on(a.fallback.is_some()))));
        }
        for (i, row) in self.roles.iter().enumerate() {
            let a = assignments.get(i).copied().unwrap_or_default();
            for (p, av, bv) in row {
                av.iter()
                    .for_each(|v| start.push((*v, on(a.primary.is_some_and(|c| c.provider == *p)))));
                bv.iter()
                    .for_each(|v| start.push((*v, on(a.fallback.is_some_and(|c| c.provider == *p)))));
            }
        }
        start
    }

    fn run(&self, start: Vec<(Variable, f64)>, deadline: Instant) -> Result<Outcome, SolveError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut options = SolveOptions::default();
        options.time_limit = Some(left.max(Duration::from_millis(1)));
        options.warm_start = Some(start);
        let outcome = self.p.solve_with(options).map_err(|e| SolveError(e.to_string()))?;
        let reason = outcome.termination_reason();
        let stats = outcome.stats();
        let solution = outcome
            .into_solution()
            .map_err(|_| SolveError("stopped before any plan was found".into()))?;
        let proven = reason == TerminationReason::ProvenOptimal;
        Ok(Outcome {
            solution,
            bound: (!proven).then(|| stats.best_bound.unwrap_or(f64::INFINITY)),
        })
    }

    fn set_of(&self, outcome: &Outcome) -> Vec<bool> {
        self.x.iter().map(|x| x.is_some_and(|x| outcome.on(x))).collect()
    }
}

fn with(mut e: LinearExpr, v: Variable, coeff: f64) -> LinearExpr {
    e.add(v, coeff);
    e
}

/// Providers that may take either role in a need, in index order.
pub(super) fn either_of(need: &Need) -> Vec<usize> {
    let mut all: Vec<usize> = need.primary.iter().chain(&need.fallback).map(|c| c.provider).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The best primary and fallback of each need among the providers of
/// `set`: a fallback when one can be had, then the highest primary score,
/// then the highest fallback score, then the earlier names.
pub fn best_assignments(q: &Question, set: &[bool]) -> Vec<Assignment> {
    q.needs.iter().map(|need| best_assignment(need, set)).collect()
}

fn best_assignment(need: &Need, set: &[bool]) -> Assignment {
    let within = |cs: &[Candidate]| -> Vec<Candidate> { cs.iter().copied().filter(|c| set[c.provider]).collect() };
    let prim = within(&need.primary);
    let fall = if need.wants_fallback {
        within(&need.fallback)
    } else {
        Vec::new()
    };
    let mut best: Option<(Assignment, (bool, i64, i64))> = None;
    let better = |key: (bool, i64, i64), a: &Assignment, than: &Option<(Assignment, (bool, i64, i64))>| match than {
        None => true,
        Some((b, k)) => key > *k || (key == *k && names_key(a) < names_key(b)),
    };
    for p in &prim {
        let mut options: Vec<Option<Candidate>> = vec![None];
        options.extend(fall.iter().filter(|f| f.provider != p.provider).map(|f| Some(*f)));
        for f in options {
            let a = Assignment {
                primary: Some(*p),
                fallback: f,
            };
            let key = (f.is_some(), p.score, f.map_or(0, |f| f.score));
            if better(key, &a, &best) {
                best = Some((a, key));
            }
        }
    }
    best.map(|(a, _)| a).unwrap_or_default()
}

fn names_key(a: &Assignment) -> (usize, usize) {
    (
        a.primary.map_or(usize::MAX, |c| c.provider),
        a.fallback.map_or(usize::MAX, |c| c.provider),
    )
}

/// The figures of a plan.
pub fn objective_of(q: &Question, assignments: &[Assignment]) -> Objective {
    let mut used = vec![false; q.preferred.len()];
    let mut o = Objective::default();
    for a in assignments {
        if let Some(p) = a.primary {
            o.countries_covered += 1;
            o.primary_score_sum += p.score;
            used[p.provider] = true;
        }
        if let Some(f) = a.fallback {
            o.fallbacks_covered += 1;
            o.fallback_score_sum += f.score;
            used[f.provider] = true;
        }
    }
    o.providers = used.iter().filter(|u| **u).count();
    o.preferred = (0..used.len()).filter(|p| used[*p] && q.preferred[*p]).count();
    o
}
