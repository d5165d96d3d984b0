//! `iorready plan`: a rollout and the scored providers (scored here, or read
//! from a JSON result) make a plan, written as plan.xlsx and optionally
//! JSON. Stages: read the rollout, get the scores, plan, write, report.
//! Exit status 0 when every country has what it asked for, 1 with gaps (or
//! inputs that could not be scored), 2 for a bad rollout or usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};

use iorready::planning::plan::Plan;
use iorready::planning::{make_plan, read_rollout, Portfolio};
use iorready::terminal::escape_controls;

use super::{ScoreArgs, PARTIAL};

/// What `plan` was asked.
pub struct PlanArgs {
    pub rollout: PathBuf,
    pub inputs: Vec<PathBuf>,
    pub from: Option<PathBuf>,
    pub out: PathBuf,
    pub json: Option<PathBuf>,
    pub time_limit: f64,
    pub exclude: Vec<String>,
    pub score: ScoreArgs,
}

/// The name of the plan workbook in the output folder.
pub const PLAN_NAME: &str = "plan.xlsx";

pub fn plan(args: PlanArgs) -> Result<ExitCode> {
    if !(args.time_limit.is_finite() && args.time_limit > 0.0 && args.time_limit <= 1e7) {
        anyhow::bail!("--time-limit: expected a number of seconds above 0, such as 30");
    }
    let rollout = read_rollout(&args.rollout)?;
    let (portfolio, scored_ok) = portfolio_of(&args)?;
    let limit = Duration::from_secs_f64(args.time_limit);
    let mut asked = rollout.clone();
    asked.options.exclude.extend(args.exclude.iter().cloned());
    let plan = make_plan(&asked, &portfolio, limit)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create the folder", args.out.display()))?;
    let workbook = args.out.join(PLAN_NAME);
    iorready::sinks::write_plan_workbook(&workbook, &plan, &asked, None)?;
    if let Some(json) = &args.json {
        iorready::sinks::write_plan_json(json, &plan, &asked, None, None)?;
    }
    print_plan(&plan, &workbook);
    if !args.exclude.is_empty() {
        let without = make_plan(&rollout, &portfolio, limit)?;
        print_cost(&args.exclude, &without, &plan);
    }
    Ok(if plan.complete() && scored_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(PARTIAL)
    })
}

/// The scores: read from `--from`, or the inputs scored into the output
/// folder (annotated copies, portfolio and `result.json` beside the plan).
fn portfolio_of(args: &PlanArgs) -> Result<(Portfolio, bool)> {
    if let Some(from) = &args.from {
        return Ok((Portfolio::read(from)?, true));
    }
    let result = args.out.join("result.json");
    let mut score = args
        .score
        .clone_for(args.inputs.clone(), args.out.clone(), result.clone());
    score.quiet = true;
    let code = super::score(score)?;
    let scored_ok = code == ExitCode::SUCCESS;
    if !result.is_file() {
        anyhow::bail!("the inputs could not be scored, so there is nothing to plan with");
    }
    Ok((Portfolio::read(&result)?, scored_ok))
}

fn print_plan(plan: &Plan, workbook: &Path) {
    let f = &plan.objective;
    println!(
        "Plan: {} of {} countries with a primary, {} of {} fallbacks, {} provider(s) to contract{}",
        f.countries_covered,
        plan.countries_wanted,
        f.fallbacks_covered,
        plan.fallbacks_wanted,
        f.providers,
        if plan.optimal {
            " (proven optimal)"
        } else {
            " (not proven optimal: the time limit stopped the search)"
        }
    );
    for c in &plan.contracts {
        println!(
            "  {}: primary for {}{}",
            escape_controls(&c.provider),
            if c.primary.is_empty() {
                "none".into()
            } else {
                c.primary.join(", ")
            },
            if c.fallback.is_empty() {
                String::new()
            } else {
                format!("; fallback for {}", c.fallback.join(", "))
            }
        );
    }
    for g in &plan.gaps {
        // The first sentence; the Gaps sheet has the whole explanation.
        let short = g.why.split(". ").next().unwrap_or(&g.why);
        println!("  Gap, {} {}: {}", g.country, g.missing, escape_controls(short));
    }
    for n in &plan.unknown_names {
        eprintln!(
            "iorready: warning: no scored provider is called '{}' (Exclude or Prefer)",
            escape_controls(n)
        );
    }
    println!("Wrote {}", workbook.display());
}

/// What excluding providers costs, against the plan without them.
fn print_cost(excluded: &[String], without: &Plan, with: &Plan) {
    let (a, b) = (&without.objective, &with.objective);
    println!(
        "Without {}: countries with a primary {} -> {}, fallbacks {} -> {}, providers {} -> {}, primary score sum {:.2} -> {:.2}",
        escape_controls(&excluded.join(", ")),
        a.countries_covered,
        b.countries_covered,
        a.fallbacks_covered,
        b.fallbacks_covered,
        a.providers,
        b.providers,
        a.primary_score_sum,
        b.primary_score_sum
    );
    for (x, y) in without.assignments.iter().zip(&with.assignments) {
        let name =
            |p: &Option<iorready::planning::plan::Pick>| p.as_ref().map_or("none".to_owned(), |p| p.provider.clone());
        if name(&x.primary) != name(&y.primary) || name(&x.fallback) != name(&y.fallback) {
            println!(
                "  {}: primary {} -> {}, fallback {} -> {}",
                x.country,
                escape_controls(&name(&x.primary)),
                escape_controls(&name(&y.primary)),
                escape_controls(&name(&x.fallback)),
                escape_controls(&name(&y.fallback))
            );
        }
    }
}
