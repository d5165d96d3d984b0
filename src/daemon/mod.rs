//! The scheduled service on top of the pipeline: jobs from `iorready.toml`
//! ([`jobs`]), when they run ([`schedule`]), one run of one job
//! ([`runner`]), what runs remember ([`state`], [`memory`]), the daemon that
//! fires them ([`service`]), its health and metrics endpoint ([`http`]),
//! and the tidying of each job's folders ([`housekeeping`]).

pub mod housekeeping;
pub mod http;
pub mod jobs;
pub mod memory;
pub mod rollout_plan;
pub mod runner;
pub mod schedule;
pub mod service;
pub mod state;

pub use jobs::{Job, JobsConfig};
pub use runner::{run_job, JobError, JobReport, RunOptions};
pub use schedule::Schedule;
pub use service::{serve, DaemonError};
pub use state::{Outcome, State};
