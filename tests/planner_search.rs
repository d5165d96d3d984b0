//! The rollout planner's exact search, against an independent exhaustive
//! search on small questions: the same objective figures, and every
//! assignment meeting its country's row.

use std::time::Duration;

use iorready::planning::solver::{objective_of, solve, Assignment, Candidate, Need, Objective, Question};
use rand::{Rng, SeedableRng};

/// A small random question: scores from a few levels, so that ties and
/// dominated providers are common.
fn small_question(seed: u64, countries: usize, providers: usize, max: Option<usize>) -> Question {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let needs = (0..countries)
        .map(|_| {
            let wants_fallback = rng.random_bool(0.7);
            let mut need = Need {
                wants_fallback,
                ..Need::default()
            };
            for p in 0..providers {
                let score = 10_000 * rng.random_range(5..10i64) * 10;
                if rng.random_bool(0.45) {
                    need.primary.push(Candidate { provider: p, score });
                }
                if wants_fallback && rng.random_bool(0.55) {
                    need.fallback.push(Candidate {
                        provider: p,
                        score: score - 50_000,
                    });
                }
            }
            need
        })
        .collect();
    Question {
        preferred: (0..providers).map(|_| rng.random_bool(0.3)).collect(),
        needs,
        max_providers: max,
    }
}

/// The lexicographic key of a plan: higher is better.
fn key(o: &Objective) -> (usize, usize, i64, usize, i64, i64) {
    (
        o.countries_covered,
        o.fallbacks_covered,
        -(o.providers as i64),
        o.preferred,
        o.primary_score_sum,
        o.fallback_score_sum,
    )
}

/// Every plan there is, one country at a time: the best key within the
/// maximum number of providers.
fn exhaustive(q: &Question) -> Objective {
    let options: Vec<Vec<Assignment>> = q
        .needs
        .iter()
        .map(|n| {
            let mut o = vec![Assignment::default()];
            for p in &n.primary {
                o.push(Assignment {
                    primary: Some(*p),
                    fallback: None,
                });
                for f in n.fallback.iter().filter(|f| f.provider != p.provider) {
                    o.push(Assignment {
                        primary: Some(*p),
                        fallback: Some(*f),
                    });
                }
            }
            o
        })
        .collect();
    let mut best: Option<Objective> = None;
    let mut current = vec![Assignment::default(); q.needs.len()];
    walk(q, &options, 0, &mut current, &mut best);
    best.unwrap_or_default()
}

fn walk(
    q: &Question,
    options: &[Vec<Assignment>],
    i: usize,
    current: &mut Vec<Assignment>,
    best: &mut Option<Objective>,
) {
    if i == options.len() {
        let o = objective_of(q, current);
        if q.max_providers.is_some_and(|m| o.providers > m) {
            return;
        }
        if best.as_ref().is_none_or(|b| key(&o) > key(b)) {
            *best = Some(o);
        }
        return;
    }
    for a in &options[i] {
        current[i] = *a;
        walk(q, options, i + 1, current, best);
    }
}

fn assert_meets_rows(q: &Question, assignments: &[Assignment]) {
    for (need, a) in q.needs.iter().zip(assignments) {
        if let Some(p) = a.primary {
            assert!(need.primary.contains(&p), "primary {p:?} not a candidate");
        }
        if let Some(f) = a.fallback {
            assert!(
                need.wants_fallback && need.fallback.contains(&f),
                "fallback {f:?} not a candidate"
            );
            assert_ne!(
                a.primary.map(|p| p.provider),
                Some(f.provider),
                "fallback is the primary"
            );
            assert!(a.primary.is_some(), "a fallback without a primary");
        }
    }
}

#[test]
fn plans_have_the_objective_figures_of_an_exhaustive_search() {
    for seed in 0..150 {
        let q = small_question(seed, 3, 5, None);
        let solved = solve(&q, Duration::from_secs(20)).unwrap();
        assert!(solved.optimal, "seed {seed}");
        assert_eq!(solved.objective, exhaustive(&q), "seed {seed}");
        assert_meets_rows(&q, &solved.assignments);
    }
}

#[test]
fn plans_within_a_maximum_of_providers_have_the_figures_of_an_exhaustive_search() {
    for seed in 0..120 {
        let max = 1 + (seed as usize % 2);
        let q = small_question(1000 + seed, 3, 5, Some(max));
        let solved = solve(&q, Duration::from_secs(20)).unwrap();
        assert!(solved.objective.providers <= max, "seed {seed}");
        assert_eq!(solved.objective, exhaustive(&q), "seed {seed}");
        assert_meets_rows(&q, &solved.assignments);
    }
}

#[test]
fn a_provider_and_its_only_equal_can_both_be_needed_for_a_primary_and_fallback() {
    // Two identical providers: the reduction must not drop either, or the
    // country loses its fallback.
    let c = |provider| Candidate {
        provider,
        score: 800_000,
    };
    let q = Question {
        preferred: vec![false, false],
        needs: vec![Need {
            primary: vec![c(0), c(1)],
            fallback: vec![c(0), c(1)],
            wants_fallback: true,
        }],
        max_providers: None,
    };
    let solved = solve(&q, Duration::from_secs(5)).unwrap();
    assert_eq!(solved.objective.fallbacks_covered, 1);
    assert_eq!(
        solved.assignments[0].primary.map(|p| p.provider),
        Some(0),
        "the earlier name first"
    );
}

#[test]
fn a_provider_two_others_dominate_is_left_out_of_the_search() {
    let c = |provider, score| Candidate { provider, score };
    let q = Question {
        preferred: vec![false; 3],
        needs: vec![Need {
            primary: vec![c(0, 900_000), c(1, 900_000), c(2, 700_000)],
            fallback: vec![c(0, 900_000), c(1, 900_000), c(2, 700_000)],
            wants_fallback: true,
        }],
        max_providers: None,
    };
    let solved = solve(&q, Duration::from_secs(5)).unwrap();
    assert_eq!(solved.reduced_away, 1);
    assert_eq!(solved.objective, exhaustive(&q));
}

#[test]
fn a_search_stopped_by_the_time_limit_keeps_its_best_plan_and_gives_a_bound() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let needs = (0..60)
        .map(|_| {
            let mut n = Need {
                wants_fallback: true,
                ..Need::default()
            };
            for p in 0..150 {
                if rng.random_bool(0.3) {
                    let score = rng.random_range(600_000..950_000);
                    n.primary.push(Candidate { provider: p, score });
                    n.fallback.push(Candidate { provider: p, score });
                }
            }
            n
        })
        .collect();
    let q = Question {
        preferred: vec![false; 150],
        needs,
        max_providers: None,
    };
    let solved = solve(&q, Duration::from_millis(300)).unwrap();
    assert!(!solved.optimal, "this size is not proven in 0.3 s");
    let bound = solved.bound.expect("a bound where the search stopped");
    assert!(!bound.objective.is_empty());
    assert_eq!(
        solved.objective.countries_covered, 60,
        "the coverage stage needs no search"
    );
    assert_meets_rows(&q, &solved.assignments);
}

#[test]
fn a_country_whose_best_primary_is_its_only_fallback_takes_the_next_primary_with_it() {
    // Germany: A (90) may be primary or fallback, B (50) only primary; the
    // fallback counts before the primary's score, so B is primary and A
    // its fallback. France makes both providers needed.
    let c = |provider, score| Candidate { provider, score };
    let q = Question {
        preferred: vec![false, false],
        needs: vec![
            Need {
                primary: vec![c(0, 900_000), c(1, 500_000)],
                fallback: vec![c(0, 850_000)],
                wants_fallback: true,
            },
            Need {
                primary: vec![c(1, 800_000)],
                fallback: Vec::new(),
                wants_fallback: false,
            },
        ],
        max_providers: None,
    };
    let solved = solve(&q, Duration::from_secs(5)).unwrap();
    assert_eq!(solved.objective, exhaustive(&q));
    assert_eq!(solved.objective.primary_score_sum, 1_300_000);
    assert_eq!(solved.assignments[0].fallback.map(|f| f.provider), Some(0));
}
