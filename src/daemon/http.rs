//! The loopback endpoint: `/healthz` (200 while the scheduler is alive and
//! no job has failed too many runs in a row, else 503 with the reason) and
//! `/metrics` in the Prometheus text format, read from the state so the
//! figures survive restarts.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State as Shared;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::Utc;

use super::jobs::JobsConfig;
use super::service::Liveness;
use super::state::State;

#[derive(Clone)]
struct App {
    config: Arc<JobsConfig>,
    state: Arc<State>,
    liveness: Arc<Liveness>,
}

/// The endpoint's routes.
pub fn router(config: Arc<JobsConfig>, state: Arc<State>, liveness: Arc<Liveness>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(App {
            config,
            state,
            liveness,
        })
}

async fn healthz(Shared(app): Shared<App>) -> impl IntoResponse {
    let mut problems = Vec::new();
    if !app.liveness.alive() {
        problems.push("the scheduler has stopped".to_owned());
    }
    for job in &app.config.jobs {
        match app.state.failures_in_a_row(&job.name) {
            Ok(n) if n >= app.config.unhealthy_after_failures => {
                problems.push(format!("job '{}': the last {n} runs failed", job.name))
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("state: {e}")),
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, "ok\n".to_owned())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n") + "\n")
    }
}

async fn metrics(Shared(app): Shared<App>) -> impl IntoResponse {
    match render(&app) {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("state: {e}\n")).into_response(),
    }
}

/// A label value, escaped as the text format wants.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The per-job gauges, each family's samples right under its own TYPE
/// line (the text format's parsers type a sample by the line above its
/// family, so families must not interleave).
fn job_gauges(app: &App, out: &mut String) -> Result<(), super::state::StateError> {
    let mut last_started = String::new();
    let mut last_success = String::new();
    let mut next_run = String::new();
    let mut failures = String::new();
    for job in &app.config.jobs {
        let name = label(&job.name);
        let runs = app.state.runs(Some(&job.name), 20)?;
        if let Some(last) = runs.first() {
            let _ = writeln!(
                last_started,
                "iorready_job_last_run_timestamp_seconds{{job=\"{name}\"}} {}",
                last.started.timestamp()
            );
        }
        if let Some(done) = runs.iter().find(|r| r.finished.is_some()) {
            let _ = writeln!(
                last_success,
                "iorready_job_last_run_success{{job=\"{name}\"}} {}",
                u8::from(done.outcome.completed())
            );
        }
        if let Some(next) = job.schedule.next_after(Utc::now()) {
            let _ = writeln!(
                next_run,
                "iorready_job_next_run_timestamp_seconds{{job=\"{name}\"}} {}",
                next.timestamp()
            );
        }
        let _ = writeln!(
            failures,
            "iorready_job_failures_in_a_row{{job=\"{name}\"}} {}",
            app.state.failures_in_a_row(&job.name)?
        );
    }
    for (name, help, samples) in [
        (
            "iorready_job_last_run_timestamp_seconds",
            "When the job's last run started.",
            last_started,
        ),
        (
            "iorready_job_last_run_success",
            "1 when the job's last finished run completed.",
            last_success,
        ),
        (
            "iorready_job_next_run_timestamp_seconds",
            "When the job runs next.",
            next_run,
        ),
        ("iorready_job_failures_in_a_row", "Failed runs in a row.", failures),
    ] {
        family(out, name, "gauge", help);
        out.push_str(&samples);
    }
    Ok(())
}

/// The metrics, rendered from the state and the scheduler.
fn render(app: &App) -> Result<String, super::state::StateError> {
    let mut out = String::new();
    let totals = app.state.run_totals()?;
    family(&mut out, "iorready_runs_total", "counter", "Runs by job and outcome.");
    for (job, outcome, v) in &totals {
        let _ = writeln!(
            out,
            "iorready_runs_total{{job=\"{}\",outcome=\"{}\"}} {}",
            label(job),
            label(outcome),
            v[0]
        );
    }
    family(
        &mut out,
        "iorready_run_seconds_total",
        "counter",
        "Time spent in runs, by job and outcome.",
    );
    for (job, outcome, v) in &totals {
        let _ = writeln!(
            out,
            "iorready_run_seconds_total{{job=\"{}\",outcome=\"{}\"}} {:.3}",
            label(job),
            label(outcome),
            v[1]
        );
    }
    let sums = |i: usize| {
        let mut per_job: std::collections::BTreeMap<&str, f64> = Default::default();
        for (job, _, v) in &totals {
            *per_job.entry(job.as_str()).or_default() += v[i];
        }
        per_job
    };
    for (i, name, help) in [
        (2, "iorready_workbooks_total", "Inputs seen by runs, by job."),
        (3, "iorready_workbooks_scored_total", "Inputs scored afresh, by job."),
        (
            4,
            "iorready_workbooks_unchanged_total",
            "Inputs unchanged since an earlier run, by job.",
        ),
        (5, "iorready_errors_total", "Inputs that could not be scored, by job."),
        (6, "iorready_written_back_total", "Write-backs done, by job."),
    ] {
        family(&mut out, name, "counter", help);
        for (job, v) in sums(i) {
            let _ = writeln!(out, "{name}{{job=\"{}\"}} {v}", label(job));
        }
    }
    let connectors = app.state.connector_totals()?;
    for (i, name, help) in [
        (
            0,
            "iorready_connector_files_total",
            "Workbooks fetched, by job and connector.",
        ),
        (
            1,
            "iorready_connector_written_total",
            "Write-backs done, by job and connector.",
        ),
        (
            2,
            "iorready_connector_errors_total",
            "Failed fetches and write-backs, by job and connector.",
        ),
    ] {
        family(&mut out, name, "counter", help);
        for (job, connector, v) in &connectors {
            let _ = writeln!(
                out,
                "{name}{{job=\"{}\",connector=\"{}\"}} {}",
                label(job),
                label(connector),
                v[i]
            );
        }
    }
    family(
        &mut out,
        "iorready_job_running",
        "gauge",
        "1 while a run of the job is going.",
    );
    for (job, running) in app.config.jobs.iter().zip(&app.liveness.running) {
        let _ = writeln!(
            out,
            "iorready_job_running{{job=\"{}\"}} {}",
            label(&job.name),
            u8::from(running.load(Ordering::SeqCst))
        );
    }
    job_gauges(app, &mut out)?;
    family(&mut out, "iorready_up", "gauge", "1 while the scheduler is alive.");
    let _ = writeln!(out, "iorready_up {}", u8::from(app.liveness.alive()));
    Ok(out)
}
