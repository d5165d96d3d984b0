//! The long-running service: fires each job on its schedule, never two runs
//! of one job at once, makes up a run missed while it was down (once), and
//! on SIGTERM or SIGINT starts nothing new, lets the current writes finish
//! and exits within the configured grace.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::http;
use super::jobs::{Job, JobsConfig};
use super::runner::run_job;
use super::state::{Lock, State, StateError};

/// The lock file that keeps a second daemon off the same state.
pub const DAEMON_LOCK: &str = "daemon.lock";

/// What the scheduler shares with `/healthz` and `/metrics`.
pub struct Liveness {
    /// Unix seconds of the scheduler's last heartbeat.
    pub heartbeat: AtomicI64,
    /// Per job (in config order): running now.
    pub running: Vec<AtomicBool>,
}

impl Liveness {
    fn beat(&self) {
        self.heartbeat.store(Utc::now().timestamp(), Ordering::SeqCst);
    }

    /// True while the scheduler's heartbeat is recent.
    pub fn alive(&self) -> bool {
        Utc::now().timestamp() - self.heartbeat.load(Ordering::SeqCst) <= 30
    }
}

/// The service could not start or stopped on an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The state refused, or another daemon holds it.
    #[error(transparent)]
    State(#[from] StateError),
    /// The endpoint or the signal handlers could not be set up.
    #[error("{0}")]
    Setup(String),
}

/// Runs the service until SIGTERM or SIGINT.
pub async fn serve(config: Arc<JobsConfig>) -> Result<(), DaemonError> {
    let _lock = Lock::take(&config.state_dir, DAEMON_LOCK, "an iorready daemon")?;
    let state = Arc::new(State::open(&config.state_dir)?);
    let liveness = Arc::new(Liveness {
        heartbeat: AtomicI64::new(Utc::now().timestamp()),
        running: config.jobs.iter().map(|_| AtomicBool::new(false)).collect(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    if let Some(addr) = config.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| DaemonError::Setup(format!("cannot listen on {addr}: {e}")))?;
        tracing::info!(%addr, "serving /healthz and /metrics");
        let app = http::router(config.clone(), state.clone(), liveness.clone());
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!("the health endpoint stopped: {e}");
            }
        });
    }
    let mut tasks = Vec::new();
    for (index, _) in config.jobs.iter().enumerate() {
        let (config, state, liveness, stop, rx) = (
            config.clone(),
            state.clone(),
            liveness.clone(),
            stop.clone(),
            stop_rx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            job_loop(config, index, state, liveness, stop, rx).await;
        }));
    }
    let beat = {
        let liveness = liveness.clone();
        let mut rx = stop_rx.clone();
        tokio::spawn(async move {
            loop {
                liveness.beat();
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    _ = rx.wait_for(|s| *s) => break,
                }
            }
        })
    };
    tracing::info!(jobs = config.jobs.len(), state = %config.state_dir.display(), "daemon started");
    wait_for_signal().await?;
    tracing::info!("stopping: no new runs; waiting for the current ones to finish");
    stop.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    let all = futures_util::future::join_all(tasks);
    if tokio::time::timeout(config.shutdown_grace, all).await.is_err() {
        tracing::warn!(
            grace_seconds = config.shutdown_grace.as_secs(),
            "runs still going after the grace period; exiting (outputs are whole, the next start finishes them)"
        );
    }
    beat.abort();
    tracing::info!("daemon stopped");
    Ok(())
}

async fn wait_for_signal() -> Result<(), DaemonError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| DaemonError::Setup(format!("cannot watch SIGTERM: {e}")))?;
        tokio::select! {
            _ = term.recv() => {}
            r = tokio::signal::ctrl_c() => r.map_err(|e| DaemonError::Setup(format!("cannot watch SIGINT: {e}")))?,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| DaemonError::Setup(format!("cannot watch Ctrl-C: {e}")))?;
    Ok(())
}

/// One job's schedule, run by run: the next run is planned only once the
/// current one has ended, so runs never overlap and slots passed during a
/// long run are not queued up.
async fn job_loop(
    config: Arc<JobsConfig>,
    index: usize,
    state: Arc<State>,
    liveness: Arc<Liveness>,
    stop: Arc<AtomicBool>,
    mut rx: watch::Receiver<bool>,
) {
    let job: &Job = &config.jobs[index];
    let mut make_up = match state.runs(Some(&job.name), 1) {
        Ok(runs) => runs
            .first()
            .is_some_and(|last| !last.outcome.completed() || job.schedule.missed(last.started, Utc::now())),
        Err(e) => {
            tracing::error!(job = %job.name, "cannot read the job's last run: {e}");
            false
        }
    };
    loop {
        if !make_up {
            let Some(next) = job.schedule.next_after(Utc::now()) else {
                tracing::warn!(job = %job.name, "the schedule fires no more");
                return;
            };
            tracing::debug!(job = %job.name, next = %next, "next run");
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = rx.wait_for(|s| *s) => return,
            }
        } else {
            tracing::info!(job = %job.name, "making up a run missed or cut short while the daemon was down");
        }
        make_up = false;
        if stop.load(Ordering::SeqCst) {
            return;
        }
        liveness.running[index].store(true, Ordering::SeqCst);
        // The run blocks (it scores on its own worker pool and drives its
        // connectors on its own runtime): a plain thread keeps it off this
        // runtime's workers.
        let (tx, done) = tokio::sync::oneshot::channel();
        let (config2, state2, stop2) = (config.clone(), state.clone(), stop.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("job-{}", job.name))
            .spawn(move || {
                let job = &config2.jobs[index];
                let options = super::RunOptions {
                    stop: Some(stop2),
                    ..Default::default()
                };
                let r = run_job(job, &config2.state_dir, &state2, options);
                let _ = tx.send(r);
            });
        match spawned {
            Ok(_) => match done.await {
                Ok(Ok(report)) => {
                    tracing::debug!(job = %job.name, run = report.run_id, outcome = report.outcome.id(), "run ended")
                }
                Ok(Err(e)) => tracing::error!(job = %job.name, "run failed or not started: {e}"),
                Err(_) => tracing::error!(job = %job.name, "the run's thread ended without a result"),
            },
            Err(e) => tracing::error!(job = %job.name, "cannot start the run's thread: {e}"),
        }
        liveness.running[index].store(false, Ordering::SeqCst);
    }
}
