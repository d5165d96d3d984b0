//! A job's rollout plan, refreshed after each run: made again when the
//! rollout or the JSON result changed since the plan on disk was made, and
//! the moves since that plan said in words (plan.xlsx's Changes sheet,
//! plan.json's `changes`, and the log).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::jobs::Job;
use crate::planning::changes::{diff, earlier_picks};
use crate::planning::{make_plan, read_rollout, Portfolio};
use crate::sinks::{write_plan_json, write_plan_workbook};

/// The plan workbook's and JSON's names in the job's output folder.
pub const PLAN_WORKBOOK: &str = "plan.xlsx";
/// See [`PLAN_WORKBOOK`].
pub const PLAN_JSON: &str = "plan.json";

/// How long a scheduled run searches for the plan.
const TIME_LIMIT: Duration = Duration::from_secs(30);

/// What the refresh did.
#[derive(Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// The job plans no rollout.
    NoRollout,
    /// Rollout and result as when the plan was made.
    Current,
    /// Planned again, with this many moves since the previous plan.
    Planned {
        /// Moves since the previous plan.
        changes: usize,
        /// Countries missing a primary or fallback.
        gaps: usize,
    },
}

#[derive(Deserialize)]
struct Made {
    #[serde(default)]
    made_from: Option<String>,
}

/// Makes the job's plan again if its rollout or JSON result changed.
/// Errors (a rollout that cannot be read, a result missing) leave the
/// previous plan as it was and are returned in words.
pub fn refresh_plan(job: &Job) -> Result<Refreshed, String> {
    let (Some(rollout_path), Some(result_path)) = (&job.plan, &job.json) else {
        return Ok(Refreshed::NoRollout);
    };
    let json_path = job.out.join(PLAN_JSON);
    let made_from = digest_of(&[rollout_path.clone(), result_path.clone()])?;
    if job.out.join(PLAN_WORKBOOK).is_file() && made_from_of(&json_path).as_deref() == Some(made_from.as_str()) {
        return Ok(Refreshed::Current);
    }
    let rollout = read_rollout(rollout_path).map_err(|e| e.to_string())?;
    let portfolio = Portfolio::read(result_path).map_err(|e| e.to_string())?;
    let plan = make_plan(&rollout, &portfolio, TIME_LIMIT).map_err(|e| e.to_string())?;
    let changes = earlier_picks(&json_path).map(|before| diff(&before, &plan, &rollout, &portfolio));
    for c in changes.iter().flatten() {
        tracing::info!(job = %job.name, country = %c.country, role = %c.role, "plan changed: {}", c.detail);
    }
    let workbook = job.out.join(PLAN_WORKBOOK);
    write_plan_workbook(&workbook, &plan, &rollout, changes.as_deref()).map_err(|e| e.to_string())?;
    write_plan_json(&json_path, &plan, &rollout, changes.as_deref(), Some(&made_from)).map_err(|e| e.to_string())?;
    Ok(Refreshed::Planned {
        changes: changes.map_or(0, |c| c.len()),
        gaps: plan.gaps.len(),
    })
}

fn made_from_of(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice::<Made>(&bytes).ok()?.made_from
}

/// One digest of the files' contents, so that an edited rollout or a new
/// result makes a new plan and nothing else does.
fn digest_of(files: &[PathBuf]) -> Result<String, String> {
    let mut h = blake3::Hasher::new();
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| format!("{}: cannot read: {e}", f.display()))?;
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().to_hex()[..32].to_owned())
}
