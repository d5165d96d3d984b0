//! One run of one job: fetch the connectors' workbooks, score what changed
//! (remembering the rest), write the annotated copies, portfolio and JSON,
//! write results back, and record it all in the state. A run killed at any
//! point leaves outputs whole (renamed into place) and the state as of its
//! last transaction; the next run finishes what is left.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};

use super::housekeeping::{remove_unowned_copies, sweep, sweep_tree};
use super::jobs::Job;
use super::memory::{settings_fingerprint, JobMemory};
use super::state::{ConnectorCounts, Lock, Outcome, RunCounts, State, StateError};
use crate::connectors::{
    fetch_records, fetch_workbooks, mirrored, prune_mirror, write_back_one, Fetched, FetchedRecords,
};
use crate::pipeline::{run_score, RunSummary, ScoreRequest};
use crate::scoring::DEFAULT_PROFILE;

/// What a job's run came to.
pub struct JobReport {
    /// The run's number in the state.
    pub run_id: i64,
    /// How it ended.
    pub outcome: Outcome,
    /// The scoring run, when it got that far.
    pub summary: Option<RunSummary>,
    /// Why it failed, or what went wrong on the way.
    pub message: Option<String>,
    /// Write-back lines.
    pub written_back: Vec<String>,
    /// Files a connector listed but could not fetch: (file, why). Any
    /// earlier copy of one was scored as it was.
    pub not_fetched: Vec<(String, String)>,
}

/// A run that could not even be recorded.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The state refused, or the job is already running elsewhere.
    #[error(transparent)]
    State(#[from] StateError),
    /// The run panicked: a bug, with the panic's message.
    #[error("the run stopped on an internal error: {0}")]
    Panicked(String),
}

/// A panic's message, when it carries one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// The lock file that keeps a job from overlapping itself, across processes.
pub fn job_lock_name(job: &str) -> String {
    format!("job-{job}.lock")
}

/// How to run a job beyond its configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stops starting new inputs when set (those left are scored next run).
    pub stop: Option<Arc<AtomicBool>>,
    /// The as-of date; default today in the job's time zone.
    pub as_of: Option<NaiveDate>,
    /// Read connectors from their start, not from the saved cursors: an
    /// incremental read cannot see what the vendor deleted, a full one can.
    pub full_sync: bool,
}

/// Runs `job` once.
pub fn run_job(
    job: &Job,
    state_dir: &std::path::Path,
    state: &Arc<State>,
    options: RunOptions,
) -> Result<JobReport, JobError> {
    let _lock = Lock::take(state_dir, &job_lock_name(&job.name), &format!("job '{}'", job.name))?;
    let run_id = state.begin_run(&job.name)?;
    let mut connector_counts: Vec<(String, ConnectorCounts)> = Vec::new();
    // A panic part-way is recorded like any failure, not left `running`
    // until the job next starts.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_begun(job, state_dir, state, options, run_id, &mut connector_counts)
    }))
    .unwrap_or_else(|panic| Err(JobError::Panicked(panic_message(panic.as_ref()))));
    // A run already recorded (the failure came after its end was written)
    // keeps what was recorded.
    let still_running = || {
        state
            .runs(Some(&job.name), 20)
            .map(|runs| runs.iter().any(|r| r.id == run_id && r.outcome == Outcome::Running))
            .unwrap_or(true)
    };
    if let Err(e) = ran
        .as_ref()
        .map(|_| ())
        .or_else(|e| if still_running() { Err(e) } else { Ok(()) })
    {
        // Only a process that died may leave a run `running`: whatever
        // stopped this one part-way is recorded. Best effort, as the state
        // may be what failed.
        tracing::error!(job = %job.name, run = run_id, "run failed: {e}");
        let message = e.to_string();
        let recorded = state.finish_run(
            &job.name,
            run_id,
            Outcome::Failed,
            &RunCounts::default(),
            Some(&message),
            None,
            &connector_counts,
            &[],
        );
        if let Err(again) = recorded {
            tracing::error!(job = %job.name, run = run_id, "cannot record the run as failed either: {again}");
        }
    }
    ran
}

/// The run `run_id` of `job`, once begun. Every error returned here comes
/// before the run's end is recorded; after `finish_run` nothing may fail.
fn run_begun(
    job: &Job,
    state_dir: &std::path::Path,
    state: &Arc<State>,
    options: RunOptions,
    run_id: i64,
    connector_counts: &mut Vec<(String, ConnectorCounts)>,
) -> Result<JobReport, JobError> {
    let RunOptions { stop, as_of, full_sync } = options;
    let started = std::time::Instant::now();
    tracing::info!(job = %job.name, run = run_id, "run started");
    let as_of = as_of.unwrap_or_else(|| Utc::now().with_timezone(&job.schedule.timezone()).date_naive());
    let mut report = JobReport {
        run_id,
        outcome: Outcome::Failed,
        summary: None,
        message: None,
        written_back: Vec::new(),
        not_fetched: Vec::new(),
    };
    let fail = |report: &mut JobReport, connectors: &[(String, ConnectorCounts)], message: String| {
        tracing::error!(job = %job.name, run = run_id, "run failed: {message}");
        report.outcome = Outcome::Failed;
        report.message = Some(message);
        state.finish_run(
            &job.name,
            run_id,
            Outcome::Failed,
            &RunCounts::default(),
            report.message.as_deref(),
            None,
            connectors,
            &[],
        )
    };
    let (profile, mappings) = match (job.load_profile(), job.load_mappings()) {
        (Ok(p), Ok(m)) => (p, m),
        (Err(e), _) | (_, Err(e)) => {
            fail(&mut report, connector_counts, e.to_string())?;
            return Ok(report);
        }
    };
    let settings = settings_fingerprint(&profile_bytes(job), &mapping_bytes(job.mappings.as_deref()), as_of);
    // A run killed earlier may have left its temporary files; this job's
    // lock makes them surely nobody else's.
    sweep(&job.out, ".iorready-");
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            fail(
                &mut report,
                connector_counts,
                format!("cannot start the connectors' runtime: {e}"),
            )?;
            return Ok(report);
        }
    };
    // Workbooks from connectors are mirrored in the state folder: an
    // incremental read brings only what changed, the rest is still there
    // to go into the portfolio.
    let mirror = state_dir.join("mirror").join(&job.name);
    sweep_tree(&mirror, ".iorready-");
    let mut fetched: Vec<Fetched> = Vec::new();
    let mut records: Vec<FetchedRecords> = Vec::new();
    let mut cursors: Vec<(String, String, String)> = Vec::new();
    // Files a connector listed but could not fetch: not scored this run.
    let mut not_fetched: Vec<(String, String)> = Vec::new();
    for name in &job.connectors {
        let resume = if full_sync {
            Vec::new()
        } else {
            saved_cursors(state, &job.name, name)?
        };
        // A complete listing that comes back empty, where the connector
        // brought something before, is refused unless --full-sync asked
        // for it.
        let fetch = async {
            let files = fetch_workbooks(&job.connectors_dir, name, &mirror, &resume, !full_sync).await?;
            let recs = fetch_records(&job.connectors_dir, name, &mirror, &mappings, !full_sync).await?;
            Ok::<_, crate::connectors::ExchangeError>((files, recs))
        };
        match rt.block_on(fetch) {
            Ok((outcome, recs)) => {
                connector_counts.push((
                    name.clone(),
                    ConnectorCounts {
                        files: outcome.files.len() + recs.as_ref().map(|r| r.count).unwrap_or(0),
                        errors: outcome.not_fetched.len(),
                        ..Default::default()
                    },
                ));
                not_fetched.extend(outcome.not_fetched.iter().map(|n| n.as_run_error()));
                records.extend(recs);
                if outcome.complete {
                    prune_mirror(&mirror, name, &outcome.files);
                }
                cursors.extend(outcome.cursors.into_iter().map(|(stream, c)| (name.clone(), stream, c)));
                fetched.extend(mirrored(&mirror, name));
            }
            Err(e) => {
                // Without this connector's workbooks the portfolio would
                // drop its providers: fail the run; the next one retries
                // from the same cursor.
                connector_counts.push((
                    name.clone(),
                    ConnectorCounts {
                        errors: 1,
                        ..Default::default()
                    },
                ));
                fail(&mut report, connector_counts, e.to_string())?;
                return Ok(report);
            }
        }
    }
    let mut memory = JobMemory::new(state.clone(), &job.name, run_id, settings, as_of);
    if job.write_back {
        for f in &fetched {
            memory = memory.with_write_back(f.path.clone());
        }
    }
    let memory = Arc::new(memory);
    let mut inputs: Vec<PathBuf> = job.inputs.clone();
    inputs.extend(fetched.iter().map(|f| f.path.clone()));
    inputs.extend(records.iter().map(|r| r.path.clone()));
    if let Some((count, owned)) = unchanged_run(&memory, &inputs, job, state)?.filter(|_| not_fetched.is_empty()) {
        // What the cursors cover is mirrored and as scored before (an
        // expired delta link listed whole again, say): they move on too.
        let cursors = cursors_to_save(&job.name, &cursors, connector_counts);
        let counts = RunCounts {
            inputs: count,
            unchanged: count,
            ..Default::default()
        };
        // An edited rollout is planned again even when no input changed.
        let (outcome, message) = match plan_after_run(job) {
            None => (Outcome::Ok, "nothing changed".to_owned()),
            Some(problem) => (Outcome::Partial, format!("nothing changed; {problem}")),
        };
        state.finish_run(
            &job.name,
            run_id,
            outcome,
            &counts,
            Some(&message),
            // Standings, inputs and changes stay as the previous run left them.
            None,
            connector_counts,
            &cursors,
        )?;
        remove_unowned_copies(&job.out, &owned);
        tracing::info!(job = %job.name, run = run_id, outcome = outcome.id(), inputs = count, unchanged = count, seconds = started.elapsed().as_secs_f64(), "run finished: nothing changed");
        report.outcome = outcome;
        report.message = Some(message);
        return Ok(report);
    }
    let mut req = ScoreRequest::new(inputs, job.out.clone(), as_of, profile, mappings);
    req.json = job.json.clone();
    req.memory = Some(memory.clone());
    req.stop = stop;
    req.input_mappings = records.iter().map(|r| (r.path.clone(), r.mapping.clone())).collect();
    // An emptied inbox is a quiet run, not a failure: its providers leave
    // the portfolio, the JSON and the output folder like any removed ones.
    req.allow_empty = true;
    req.extra_errors = not_fetched.clone();
    let summary = match run_score(&req, &()) {
        Ok(s) => s,
        Err(e) => {
            fail(&mut report, connector_counts, e.to_string())?;
            return Ok(report);
        }
    };
    // Write back what was scored afresh, and what an earlier run scored but
    // could not write back (it was stopped, or the API failed).
    let mut write_errors = Vec::new();
    if job.write_back {
        let rescored: std::collections::HashSet<PathBuf> = memory.rescored().into_iter().collect();
        let pending: std::collections::HashSet<String> = state.pending_write_backs(&job.name)?.into_iter().collect();
        // Only what has results in this run: an input carried forward
        // past a passing fault keeps its pending mark for a later run.
        let has_results = |f: &&Fetched| summary.annotated_for.iter().any(|(input, _)| *input == f.path);
        let mut run = crate::connectors::WriteBackRun::default();
        for f in fetched
            .iter()
            .filter(|f| rescored.contains(&f.path) || pending.contains(&memory.key(&f.path)))
            .filter(has_results)
        {
            // Left pending: written by the next run, as a failed one is.
            if run.skip(&f.connector) {
                continue;
            }
            let counts = connector_counts
                .iter_mut()
                .find(|(n, _)| *n == f.connector)
                .map(|(_, c)| c);
            let outcome = rt.block_on(write_back_one(&job.connectors_dir, f, &summary, as_of, false));
            if run.record(&f.connector, &outcome) {
                tracing::warn!(job = %job.name, connector = %f.connector, "its API could not be reached {} times in a row: no more write-backs through it in this run; the rest stay pending for the next run", crate::connectors::UNREACHABLE_IN_A_ROW);
            }
            match outcome {
                Ok(lines) => {
                    state.written_back(&job.name, &memory.key(&f.path))?;
                    if let Some(c) = counts {
                        c.written += lines.len();
                    }
                    report.written_back.extend(lines);
                }
                Err(e) => {
                    if let Some(c) = counts {
                        c.errors += 1;
                    }
                    tracing::warn!(job = %job.name, connector = %f.connector, "write-back failed: {e}");
                    write_errors.push(e.to_string());
                }
            }
        }
        write_errors.extend(run.given_up());
    }
    let counts = RunCounts {
        inputs: summary.scored_inputs + summary.errors.len() + summary.left,
        scored: memory.rescored().len(),
        unchanged: summary.unchanged,
        failed: summary.errors.len(),
        written_back: report.written_back.len(),
        unremembered: summary.passing_failures + not_fetched.len(),
    };
    let (outcome, message) = if summary.left > 0 {
        (
            Outcome::Interrupted,
            Some(format!("stopped: {} inputs left for the next run", summary.left)),
        )
    } else if !write_errors.is_empty() {
        (Outcome::Partial, Some(write_errors.join("; ")))
    } else if !summary.errors.is_empty() || !not_fetched.is_empty() {
        (
            Outcome::Partial,
            Some(not_scored_message(summary.errors.len(), &not_fetched)),
        )
    } else if summary.outputs.is_empty() {
        (Outcome::Ok, Some("no inputs".to_owned()))
    } else {
        (Outcome::Ok, None)
    };
    // A run stopped part way leaves the plan to the next complete one.
    let plan_problem = if outcome.completed() { plan_after_run(job) } else { None };
    let (outcome, message) = match plan_problem {
        None => (outcome, message),
        Some(problem) => (
            Outcome::Partial,
            Some(match message {
                Some(m) => format!("{m}; {problem}"),
                None => problem,
            }),
        ),
    };
    // The cursors advance only with the run's end: what they cover is
    // mirrored, scored, recorded and written back.
    let cursors = if outcome.completed() {
        cursors_to_save(&job.name, &cursors, connector_counts)
    } else {
        Vec::new()
    };
    let standings = memory.standings();
    let seen = memory.seen();
    let changes = summary.changes.clone().unwrap_or_default();
    let completed = outcome
        .completed()
        .then_some((standings.as_slice(), changes.as_slice(), seen.as_slice()));
    state.finish_run(
        &job.name,
        run_id,
        outcome,
        &counts,
        message.as_deref(),
        completed,
        connector_counts,
        &cursors,
    )?;
    if outcome.completed() {
        remove_unowned_copies(&job.out, &summary.owned);
    }
    tracing::info!(
        job = %job.name,
        run = run_id,
        outcome = outcome.id(),
        inputs = counts.inputs,
        scored = counts.scored,
        unchanged = counts.unchanged,
        failed = counts.failed,
        changes = changes.len(),
        written_back = counts.written_back,
        seconds = started.elapsed().as_secs_f64(),
        "run finished"
    );
    report.outcome = outcome;
    report.message = message;
    report.summary = Some(summary);
    report.not_fetched = not_fetched;
    Ok(report)
}

/// Refreshes the job's rollout plan; the problem in words when it could
/// not be made (the previous plan stays).
fn plan_after_run(job: &Job) -> Option<String> {
    match super::rollout_plan::refresh_plan(job) {
        Ok(super::rollout_plan::Refreshed::Planned { changes, gaps }) => {
            tracing::info!(job = %job.name, changes, gaps, "plan refreshed");
            None
        }
        Ok(_) => None,
        Err(e) => {
            tracing::error!(job = %job.name, "plan not refreshed: {e}");
            Some(format!("plan not refreshed: {e}"))
        }
    }
}

/// What a partial run's message says: inputs not scored, files not fetched.
fn not_scored_message(not_scored: usize, not_fetched: &[(String, String)]) -> String {
    let mut parts = Vec::new();
    if not_scored > 0 {
        parts.push(format!("{not_scored} input(s) not scored"));
    }
    if !not_fetched.is_empty() {
        // A connector keeps the earlier copy of a file it cannot fetch, and
        // that copy is scored as it was.
        parts.push(format!(
            "{} file(s) not fetched (any earlier copy scored as it was)",
            not_fetched.len()
        ));
    }
    parts.join("; ")
}

/// The profile's text and the switches that change it.
fn profile_bytes(job: &Job) -> Vec<u8> {
    let mut bytes = match &job.profile {
        Some(p) => std::fs::read(p).unwrap_or_default(),
        None => DEFAULT_PROFILE.as_bytes().to_vec(),
    };
    bytes.push(u8::from(job.require_provider_compliance));
    bytes
}

/// The mapping files' texts, in name order.
fn mapping_bytes(mappings: Option<&std::path::Path>) -> Vec<Vec<u8>> {
    let builtin = || vec![crate::mapping::QUESTIONNAIRE_V1.as_bytes().to_vec()];
    match mappings {
        None => builtin(),
        Some(p) if p.is_dir() => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.sort();
            let mut all = builtin();
            all.extend(files.iter().filter_map(|f| std::fs::read(f).ok()));
            all
        }
        Some(p) => vec![std::fs::read(p).unwrap_or_default()],
    }
}

/// When every input is as the previous complete run left it (same set,
/// same content, same settings, annotated copies and portfolio in place),
/// the annotated copies the inputs own: the run has nothing to do. Pending
/// write-backs make it a normal run.
fn unchanged_run(
    memory: &JobMemory,
    inputs: &[PathBuf],
    job: &Job,
    state: &State,
) -> Result<Option<(usize, Vec<PathBuf>)>, JobError> {
    if job.write_back && !state.pending_write_backs(&job.name)?.is_empty() {
        return Ok(None);
    }
    let portfolio = job.out.join(crate::pipeline::PORTFOLIO_NAME);
    if !portfolio.is_file() || job.json.as_ref().is_some_and(|j| !j.is_file()) {
        return Ok(None);
    }
    let Ok(found) = crate::sources::discover_inputs(inputs, &crate::pipeline::is_output_name) else {
        return Ok(None);
    };
    let outputs = crate::pipeline::output_paths(&found, &job.out);
    Ok(memory
        .nothing_changed(&found, &outputs)
        .map(|owned| (found.len(), owned)))
}

/// Cursors are kept per job: two jobs reading one connector into their own
/// mirrors each need their own.
fn cursor_owner(job: &str, connector: &str) -> String {
    format!("{job}/{connector}")
}

/// The cursors this run read to, as (owner, stream, cursor) to save with
/// the run's end, except those of a connector that failed (a write-back):
/// it keeps its cursor, so the next run reads those records again.
fn cursors_to_save(
    job: &str,
    cursors: &[(String, String, String)],
    connector_counts: &[(String, ConnectorCounts)],
) -> Vec<(String, String, String)> {
    let failed: std::collections::HashSet<&str> = connector_counts
        .iter()
        .filter(|(_, c)| c.errors > 0)
        .map(|(n, _)| n.as_str())
        .collect();
    cursors
        .iter()
        .filter(|(c, _, _)| !failed.contains(c.as_str()))
        .map(|(connector, stream, cursor)| (cursor_owner(job, connector), stream.clone(), cursor.clone()))
        .collect()
}

/// The saved cursors of `connector`'s streams for `job`: date-times
/// (RFC 3339) or delta links.
fn saved_cursors(state: &State, job: &str, connector: &str) -> Result<Vec<(String, String)>, StateError> {
    state.cursors(&cursor_owner(job, connector))
}
