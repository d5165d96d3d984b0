//! Benchmark of the rollout planner's exact search.
//!
//! Generates rollouts of C countries x P providers, with scores drawn close
//! together (the case where proving the score sums optimal is hardest), and
//! reports, per size, the wall time, whether the plan is proven optimal and
//! the bound when the time limit stopped it.
//!
//! Run: `cargo bench --bench rollout_plan`
//! Data: `IORREADY_BENCH_MODE=answers` (scores shaped like questionnaire
//! answers, the default) or `random` (independent near-equal scores).
//! Sizes: `IORREADY_BENCH_SIZES=60x100,60x500`; time limit
//! `IORREADY_BENCH_TIME_LIMIT=30` (seconds); `IORREADY_BENCH_SEEDS=3`.

use std::time::{Duration, Instant};

use iorready::planning::solver::{solve, Candidate, Need, Question};
use rand::{Rng, SeedableRng};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// A rollout of independent random scores: each provider serves about a
/// third of the countries, a little over half of those well enough to be
/// primary, scores drawn close together (within +-`IORREADY_BENCH_SPREAD`
/// points of the provider's own level). The hard case for the proof.
fn random_question(countries: usize, providers: usize, seed: u64) -> Question {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let preferred = (0..providers).map(|_| rng.random_bool(0.05)).collect();
    let spread: i64 = env("IORREADY_BENCH_SPREAD", "30").parse().unwrap_or(30);
    let quality: Vec<i64> = (0..providers).map(|_| rng.random_range(600_000..950_000)).collect();
    let needs = (0..countries)
        .map(|_| {
            let wants_fallback = rng.random_bool(0.8);
            let mut need = Need {
                wants_fallback,
                ..Need::default()
            };
            for (p, level) in quality.iter().enumerate() {
                if !rng.random_bool(0.33) {
                    continue;
                }
                let score = (level + rng.random_range(-spread * 10_000..=spread * 10_000)).clamp(0, 1_000_000);
                if rng.random_bool(0.55) {
                    need.primary.push(Candidate { provider: p, score });
                }
                if wants_fallback {
                    need.fallback.push(Candidate { provider: p, score });
                }
            }
            need
        })
        .collect();
    Question {
        preferred,
        needs,
        max_providers: None,
    }
}

/// A rollout shaped like questionnaire answers: each provider has a
/// footprint (10 to 50 of the countries, the large networks rarer) and a
/// way of working that sets its score level; a country's score moves from
/// that level by the few discrete steps answers make (evidence, execution
/// history, liability), so many providers tie. Tiers follow the model's
/// thresholds: ready from 75 (when coverage is active, most of the time),
/// conditional from 50; rows ask for ready (70%) or conditional.
fn answers_question(countries: usize, providers: usize, seed: u64) -> Question {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let preferred = (0..providers).map(|_| rng.random_bool(0.05)).collect();
    let rows: Vec<(i64, bool)> = (0..countries)
        .map(|_| {
            (
                if rng.random_bool(0.7) { 750_000 } else { 500_000 },
                rng.random_bool(0.8),
            )
        })
        .collect();
    let mut needs: Vec<Need> = rows
        .iter()
        .map(|(_, wants)| Need {
            wants_fallback: *wants,
            ..Need::default()
        })
        .collect();
    let steps = [-150_000i64, -75_000, -50_000, 0, 0, 0, 50_000];
    for p in 0..providers {
        let level = 450_000 + 25_000 * rng.random_range(0..20i64);
        let footprint = (10.0 + 40.0 * rng.random::<f64>().powi(2)) as usize;
        for c in rand::seq::index::sample(&mut rng, countries, footprint.min(countries)) {
            let score = (level + steps[rng.random_range(0..steps.len())]).clamp(0, 1_000_000);
            let active = rng.random_bool(0.8);
            let tier = if active && score >= 750_000 {
                750_000
            } else if score >= 500_000 {
                500_000
            } else {
                0
            };
            let (minimum, wants) = rows[c];
            if tier >= minimum {
                needs[c].primary.push(Candidate { provider: p, score });
            }
            if wants && tier >= 500_000 {
                needs[c].fallback.push(Candidate { provider: p, score });
            }
        }
    }
    Question {
        preferred,
        needs,
        max_providers: None,
    }
}

fn main() {
    let limit = Duration::from_secs_f64(env("IORREADY_BENCH_TIME_LIMIT", "30").parse().unwrap_or(30.0));
    let seeds: u64 = env("IORREADY_BENCH_SEEDS", "3").parse().unwrap_or(3);
    let mode = env("IORREADY_BENCH_MODE", "answers");
    println!("mode {mode}");
    for size in env("IORREADY_BENCH_SIZES", "60x100,60x500").split(',') {
        let (c, p) = size.split_once('x').expect("sizes look like 60x100");
        let (c, p): (usize, usize) = (c.parse().expect("countries"), p.parse().expect("providers"));
        for seed in 0..seeds {
            let q = match mode.as_str() {
                "random" => random_question(c, p, seed),
                _ => answers_question(c, p, seed),
            };
            let started = Instant::now();
            let solved = solve(&q, limit).expect("the search runs");
            let took = started.elapsed();
            let o = solved.objective;
            println!(
                "{c} countries x {p} providers, seed {seed}: {:.2} s, optimal {}, bound {}, \
                 covered {}/{} fallbacks {} providers {} preferred {} primary sum {:.4} fallback sum {:.4}, \
                 {} providers left out by the reduction",
                took.as_secs_f64(),
                solved.optimal,
                solved
                    .bound
                    .map(|b| format!("{} at best {}", b.objective, b.value))
                    .unwrap_or_else(|| "-".into()),
                o.countries_covered,
                c,
                o.fallbacks_covered,
                o.providers,
                o.preferred,
                o.primary_score_sum as f64 / 10_000.0,
                o.fallback_score_sum as f64 / 10_000.0,
                solved.reduced_away,
            );
        }
    }
}
