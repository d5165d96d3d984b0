//! `iorready validate`, `run`, `daemon`, `status` and `history`: the
//! commands that work from the jobs file and the state.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use chrono::{NaiveDate, Utc};

use iorready::daemon::runner::job_lock_name;
use iorready::daemon::state::{Lock, Outcome};
use iorready::daemon::{run_job, serve, JobsConfig, RunOptions, State};
use iorready::terminal::escape_controls;

fn load(config: &Path) -> Result<JobsConfig> {
    JobsConfig::load(config).map_err(|e| anyhow!("{e}"))
}

/// Checks the whole configuration; `online` adds each connector's check.
pub fn validate(
    config: &Path,
    online: bool,
    connectors_check: impl Fn(&Path, &str) -> Result<ExitCode>,
) -> Result<ExitCode> {
    let errors = JobsConfig::validate(config);
    for e in &errors {
        println!("error: {e}");
    }
    if !errors.is_empty() {
        println!("{} error(s): {} is not valid", errors.len(), config.display());
        return Ok(ExitCode::from(super::USAGE));
    }
    let loaded = load(config)?;
    let mut failed = false;
    if online {
        for job in &loaded.jobs {
            for name in &job.connectors {
                println!("job '{}', connector '{name}':", job.name);
                if connectors_check(&job.connectors_dir, name)? != ExitCode::SUCCESS {
                    failed = true;
                }
            }
        }
    }
    if failed {
        println!("{} is not valid", config.display());
        return Ok(ExitCode::from(super::USAGE));
    }
    for job in &loaded.jobs {
        let next = job
            .schedule
            .next_after(Utc::now())
            .map(|t| t.with_timezone(&job.schedule.timezone()).to_string())
            .unwrap_or_else(|| "never".into());
        println!(
            "ok: job '{}': {} input(s), {} connector(s), schedule '{}' ({}), next run {next}",
            job.name,
            job.inputs.len(),
            job.connectors.len(),
            job.schedule.expr(),
            job.schedule.timezone()
        );
    }
    println!("{} is valid; state in {}", config.display(), loaded.state_dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Runs the named job, or every job, once.
pub fn run(config: &Path, job: Option<&str>, as_of: Option<NaiveDate>, full_sync: bool) -> Result<ExitCode> {
    let config = load(config)?;
    let jobs: Vec<_> = match job {
        Some(name) => vec![config
            .job(name)
            .ok_or_else(|| anyhow!("{}: no job named '{name}'", config.file.display()))?],
        None => config.jobs.iter().collect(),
    };
    let state = Arc::new(State::open(&config.state_dir)?);
    let mut worst = ExitCode::SUCCESS;
    for job in jobs {
        let options = RunOptions {
            as_of,
            full_sync,
            ..Default::default()
        };
        let report = run_job(job, &config.state_dir, &state, options)?;
        for line in &report.written_back {
            println!("{line}");
        }
        let summary = report.summary.as_ref();
        if let Some(r) = state.runs(Some(&job.name), 1)?.first() {
            println!(
                "job '{}': run {} {}: {} input(s), {} scored, {} unchanged, {} not scored, {} change(s), {} write-back(s){}",
                job.name,
                r.id,
                r.outcome,
                r.inputs,
                r.scored,
                r.unchanged,
                r.failed,
                r.changes,
                r.written_back,
                r.message.as_deref().map(|m| format!(" ({})", escape_controls(m))).unwrap_or_default()
            );
        }
        if let Some(s) = summary {
            for (file, message) in &s.errors {
                println!("  not scored: {}: {}", escape_controls(file), escape_controls(message));
            }
        }
        for (file, message) in &report.not_fetched {
            println!("  {}: {}", escape_controls(file), escape_controls(message));
        }
        if report.outcome != Outcome::Ok {
            worst = ExitCode::from(super::PARTIAL);
        }
    }
    Ok(worst)
}

/// Runs the service until stopped.
pub fn daemon(config: &Path) -> Result<ExitCode> {
    let config = Arc::new(load(config)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the scheduler")?;
    rt.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

/// Each job's last and next run.
pub fn status(config: &Path) -> Result<ExitCode> {
    let config = load(config)?;
    let state = State::open(&config.state_dir)?;
    let daemon = match Lock::take(&config.state_dir, iorready::daemon::service::DAEMON_LOCK, "daemon") {
        Ok(_) => "not running",
        Err(_) => "running",
    };
    println!("state {} (daemon {daemon})", state.path().display());
    println!(
        "{:<20} {:<11} {:<25} {:<25} {:>6} {:>6} {:>6}  next run",
        "job", "last", "started", "finished", "scored", "same", "failed"
    );
    for job in &config.jobs {
        let running = Lock::take(&config.state_dir, &job_lock_name(&job.name), "job").is_err();
        let runs = state.runs(Some(&job.name), 1)?;
        let next = job
            .schedule
            .next_after(Utc::now())
            .map(|t| {
                t.with_timezone(&job.schedule.timezone())
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            })
            .unwrap_or_else(|| "never".into());
        match runs.first() {
            Some(r) => {
                let outcome = if running && r.outcome == Outcome::Running {
                    "running".to_owned()
                } else if r.outcome == Outcome::Running {
                    "interrupted".to_owned()
                } else {
                    r.outcome.to_string()
                };
                println!(
                    "{:<20} {:<11} {:<25} {:<25} {:>6} {:>6} {:>6}  {next}",
                    job.name,
                    outcome,
                    r.started.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    r.finished
                        .map(|f| f.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.scored,
                    r.unchanged,
                    r.failed
                );
                if let Some(m) = &r.message {
                    println!("{:<20} {}", "", escape_controls(m));
                }
            }
            None => println!(
                "{:<20} {:<11} {:<25} {:<25} {:>6} {:>6} {:>6}  {next}",
                job.name, "never", "-", "-", "", "", ""
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A provider's tiers over time.
pub fn history(config: &Path, provider: &str, country: Option<&str>) -> Result<ExitCode> {
    let config = load(config)?;
    let state = State::open(&config.state_dir)?;
    let entries = state.history(provider, country)?;
    if entries.is_empty() {
        println!(
            "no history for '{provider}'{}",
            country.map(|c| format!(" in {c}")).unwrap_or_default()
        );
        return Ok(ExitCode::from(super::PARTIAL));
    }
    println!("{} ({} assessment(s))", entries[0].provider_name, entries.len());
    println!(
        "{:<8} {:<11} {:<20} {:>5} {:<14} {:>7} {:<14} flags",
        "country", "as of", "run", "", "tier", "score", "coverage"
    );
    let mut last: Option<(&str, &str, f64, &str)> = None;
    for e in &entries {
        // Repeated identical lines (a rerun the same day) say nothing new.
        let now = (e.country.as_str(), e.tier.as_str(), e.score, e.flags.as_str());
        if last == Some(now) {
            continue;
        }
        let moved = match last {
            Some((c, t, _, _)) if c == e.country && t != e.tier => "<-",
            _ => "",
        };
        last = Some(now);
        println!(
            "{:<8} {:<11} {:<20} {:>5} {:<14} {:>7.2} {:<14} {}",
            e.country,
            e.as_of,
            format!("#{} {}", e.run_id, e.run_started.get(..10).unwrap_or(&e.run_started)),
            moved,
            e.tier,
            e.score,
            e.coverage_class,
            e.flags
        );
    }
    Ok(ExitCode::SUCCESS)
}
