//! The jobs file (`iorready.toml`): where the state lives, the optional
//! health and metrics endpoint, and each job's sources, mappings, profile,
//! sinks and schedule. Parsed into plain serde structs, then resolved
//! (paths against the file's folder, `${env:NAME}` references, schedules,
//! time zones) into [`Job`]s, reporting every error with file, line and key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::schedule::Schedule;
use crate::config::{ConfigError, Source};
use crate::connectors::{Connector, SecretRef};
use crate::mapping::{Mapping, MappingSet};
use crate::scoring::Profile;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    service: RawService,
    #[serde(default)]
    jobs: BTreeMap<String, RawJob>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    listen: Option<String>,
    unhealthy_after_failures: Option<usize>,
    shutdown_grace_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    schedule: String,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    inputs: Vec<String>,
    #[serde(default)]
    connectors: Vec<String>,
    #[serde(default)]
    connectors_dir: Option<String>,
    #[serde(default)]
    mappings: Option<String>,
    #[serde(default)]
    profile: Option<String>,
    out: String,
    #[serde(default)]
    json: Option<String>,
    #[serde(default)]
    plan: Option<String>,
    #[serde(default = "yes")]
    write_back: bool,
    #[serde(default)]
    require_provider_compliance: bool,
}

fn yes() -> bool {
    true
}

/// The resolved jobs file.
#[derive(Debug)]
pub struct JobsConfig {
    /// The file.
    pub file: PathBuf,
    /// The state folder.
    pub state_dir: PathBuf,
    /// Where `/healthz` and `/metrics` listen, if anywhere.
    pub listen: Option<SocketAddr>,
    /// Failed runs in a row after which `/healthz` answers 503.
    pub unhealthy_after_failures: usize,
    /// How long a stop waits for the current runs to finish.
    pub shutdown_grace: std::time::Duration,
    /// The jobs, by name.
    pub jobs: Vec<Job>,
}

/// One job: what to score, how, where the results go, and when.
#[derive(Debug)]
pub struct Job {
    /// The job's name (`[jobs.NAME]`).
    pub name: String,
    /// When it runs.
    pub schedule: Schedule,
    /// Folders and workbooks.
    pub inputs: Vec<PathBuf>,
    /// Connectors whose file streams are scored.
    pub connectors: Vec<String>,
    /// The folder of connector definitions.
    pub connectors_dir: PathBuf,
    /// A mapping file (used for every workbook) or a folder to choose from;
    /// `None`: the built-in questionnaire-v1.
    pub mappings: Option<PathBuf>,
    /// A scoring profile; `None`: the built-in one.
    pub profile: Option<PathBuf>,
    /// The output folder.
    pub out: PathBuf,
    /// The JSON result, if wanted (always, at `out/result.json` unless
    /// named, when the job plans a rollout).
    pub json: Option<PathBuf>,
    /// A rollout to plan after each run (plan.xlsx and plan.json beside
    /// the portfolio).
    pub plan: Option<PathBuf>,
    /// Write results back through the connectors.
    pub write_back: bool,
    /// Knock out countries without provider-handled product compliance.
    pub require_provider_compliance: bool,
}

impl Job {
    /// Loads the job's mappings.
    pub fn load_mappings(&self) -> Result<MappingSet, ConfigError> {
        match &self.mappings {
            Some(p) if p.is_dir() => MappingSet::load_dir(p),
            Some(p) => Ok(MappingSet::forced(Mapping::load(p)?)),
            None => MappingSet::builtin(),
        }
    }

    /// Loads the job's profile, with its deployment switches applied.
    pub fn load_profile(&self) -> Result<Profile, ConfigError> {
        let mut profile = match &self.profile {
            Some(p) => Profile::load(p)?,
            None => Profile::builtin()?,
        };
        if self.require_provider_compliance {
            profile.deployment.require_provider_compliance = true;
        }
        Ok(profile)
    }
}

impl JobsConfig {
    /// Reads and resolves the jobs file, stopping at the first error.
    pub fn load(path: &Path) -> Result<JobsConfig, ConfigError> {
        Self::load_all(path).map_err(|mut errors| errors.remove(0))
    }

    /// Reads and resolves the jobs file, collecting every error (never an
    /// empty list).
    pub fn load_all(path: &Path) -> Result<JobsConfig, Vec<ConfigError>> {
        let (config, errors) = Self::resolve(path)?;
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors)
        }
    }

    /// Every error of the jobs file and of what its jobs reference
    /// (folders, connectors and their secrets, mappings, profiles), without
    /// network access; empty when the configuration is valid.
    pub fn validate(path: &Path) -> Vec<ConfigError> {
        match Self::resolve(path) {
            Err(errors) => errors,
            Ok((config, mut errors)) => {
                errors.extend(config.check_references());
                errors
            }
        }
    }

    /// The configuration as far as it resolves, and what did not. Jobs
    /// with a wrong schedule are kept (on a placeholder schedule) so their
    /// references are checked too.
    fn resolve(path: &Path) -> Result<(JobsConfig, Vec<ConfigError>), Vec<ConfigError>> {
        let src = Source::read(path).map_err(|e| vec![e])?;
        let raw: RawConfig = src.parse_all()?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        let mut errors = Vec::new();
        let text = |key: &str, value: &str, errors: &mut Vec<ConfigError>| -> String {
            match SecretRef::new(value).resolve(&Default::default()) {
                Ok(s) => s.expose().to_owned(),
                Err(e) => {
                    errors.push(src.error(key, e.to_string()));
                    value.to_owned()
                }
            }
        };
        let resolve = |p: &str| -> PathBuf {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };
        let state_dir = match &raw.state.dir {
            Some(d) => resolve(&text("state.dir", d, &mut errors)),
            None => default_state_dir(&base),
        };
        let listen = raw.service.listen.as_ref().and_then(|l| {
            let l = text("service.listen", l, &mut errors);
            match l.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    errors.push(src.error(
                        "service.listen",
                        format!("'{l}' is not an address and port such as 127.0.0.1:9187"),
                    ));
                    None
                }
            }
        });
        let unhealthy_after_failures = raw.service.unhealthy_after_failures.unwrap_or(3);
        if unhealthy_after_failures == 0 {
            errors.push(src.error("service.unhealthy_after_failures", "must be at least 1"));
        }
        if raw.jobs.is_empty() {
            errors.push(src.error("jobs", "no job is configured; add a [jobs.NAME] table"));
        }
        let mut jobs = Vec::new();
        let mut outs: Vec<(PathBuf, String)> = Vec::new();
        let mut folded: Vec<&str> = Vec::new();
        for (name, j) in &raw.jobs {
            let key = |k: &str| format!("jobs.{name}.{k}");
            // Job names name state rows, log fields and `--job`; two that
            // differ only in case would be one on many systems and to a
            // reader.
            if let Some(other) = folded.iter().find(|o| o.eq_ignore_ascii_case(name)) {
                errors.push(src.error(
                    &format!("jobs.{name}"),
                    format!(
                        "job '{name}' differs from job '{other}' only in case; give them names that differ in letters"
                    ),
                ));
            }
            folded.push(name);
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                errors.push(src.error(
                    &format!("jobs.{name}"),
                    "a job name may hold only letters, digits, '-' and '_'",
                ));
            }
            let tz = j.timezone.as_deref().unwrap_or("UTC");
            let schedule = match Schedule::parse(&j.schedule, tz) {
                Ok(s) => s,
                Err(e) => {
                    let k = if e.in_timezone { "timezone" } else { "schedule" };
                    errors.push(src.error(&key(k), e.message));
                    Schedule::placeholder()
                }
            };
            if j.inputs.is_empty() && j.connectors.is_empty() {
                errors.push(src.error(&key("inputs"), "a job needs inputs (folders, workbooks) or connectors"));
            }
            let inputs: Vec<PathBuf> = j
                .inputs
                .iter()
                .enumerate()
                .map(|(i, p)| resolve(&text(&key(&format!("inputs[{i}]")), p, &mut errors)))
                .collect();
            let out = resolve(&text(&key("out"), &j.out, &mut errors));
            let plan = j.plan.as_ref().map(|p| resolve(&text(&key("plan"), p, &mut errors)));
            let json = j
                .json
                .as_ref()
                .map(|p| resolve(&text(&key("json"), p, &mut errors)))
                // A plan is made from the JSON result.
                .or_else(|| plan.as_ref().map(|_| out.join("result.json")));
            let connectors_dir = resolve(j.connectors_dir.as_deref().unwrap_or("connectors"));
            let mappings = j
                .mappings
                .as_ref()
                .map(|p| resolve(&text(&key("mappings"), p, &mut errors)));
            let profile = j
                .profile
                .as_ref()
                .map(|p| resolve(&text(&key("profile"), p, &mut errors)));
            // Compared as the folders they are, however they are spelled
            // (`a/../out`, `./out`, a link to the same folder).
            let place = real_place(&out);
            if let Some((_, other)) = outs.iter().find(|(o, _)| *o == place) {
                errors.push(src.error(
                    &key("out"),
                    format!("job '{other}' writes to the same folder; give each job its own"),
                ));
            }
            if let Some(i) = inputs.iter().position(|i| real_place(i) == place) {
                errors.push(src.error(
                    &key("out"),
                    format!(
                        "{} is also the job's input folder inputs[{i}]; annotated copies and the portfolio need a folder of their own",
                        out.display()
                    ),
                ));
            }
            outs.push((place, name.clone()));
            {
                jobs.push(Job {
                    name: name.clone(),
                    schedule,
                    inputs,
                    connectors: j.connectors.clone(),
                    connectors_dir,
                    mappings,
                    profile,
                    out,
                    json,
                    plan,
                    write_back: j.write_back,
                    require_provider_compliance: j.require_provider_compliance,
                });
            }
        }
        let config = JobsConfig {
            file: path.to_owned(),
            state_dir,
            listen,
            unhealthy_after_failures,
            shutdown_grace: std::time::Duration::from_secs(raw.service.shutdown_grace_seconds.unwrap_or(60)),
            jobs,
        };
        Ok((config, errors))
    }

    /// The job called `name`.
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// Checks everything the jobs reference without network access: input
    /// folders, connector definitions and their secrets, mappings,
    /// profiles. Returns every problem found.
    pub fn check_references(&self) -> Vec<ConfigError> {
        let src = Source::read(&self.file).ok();
        let error = |key: String, message: String| match &src {
            Some(s) => s.error(&key, message),
            None => ConfigError {
                file: self.file.clone(),
                line: None,
                key: Some(key),
                message,
            },
        };
        let mut errors = Vec::new();
        for job in &self.jobs {
            let key = |k: &str| format!("jobs.{}.{k}", job.name);
            for (i, input) in job.inputs.iter().enumerate() {
                if !input.exists() {
                    errors.push(error(
                        key(&format!("inputs[{i}]")),
                        format!("{}: no such file or folder", input.display()),
                    ));
                }
            }
            if let Some(Err(e)) = job.plan.as_deref().map(crate::planning::read_rollout) {
                errors.push(error(key("plan"), e.to_string()));
            }
            for (i, name) in job.connectors.iter().enumerate() {
                match Connector::find(&job.connectors_dir, name) {
                    // Not found (or no folder): said at the job's key.
                    Err(e) if e.line.is_none() && e.key.is_none() => {
                        errors.push(error(key(&format!("connectors[{i}]")), e.message));
                    }
                    // Its own file is wrong: that file's line and key.
                    Err(e) => errors.push(e),
                    Ok(c) => {
                        if !c.streams.iter().any(|s| s.file.is_some()) && c.mapping.is_none() {
                            errors.push(error(
                                key(&format!("connectors[{i}]")),
                                format!(
                                    "connector '{name}' has no file stream (a stream with `file`) and no records mapping to score"
                                ),
                            ));
                        }
                        if let (Some(m), Ok(set)) = (&c.mapping, job.load_mappings()) {
                            if !set.mappings().iter().any(|x| &x.name == m) {
                                errors.push(error(
                                    key("mappings"),
                                    format!(
                                        "connector '{name}' names mapping '{m}', which is not among the job's mappings"
                                    ),
                                ));
                            }
                        }
                        for problem in c.unresolvable_secrets() {
                            errors.push(error(
                                key(&format!("connectors[{i}]")),
                                format!("connector '{name}': {problem}"),
                            ));
                        }
                    }
                }
            }
            // A folder or file that is not there is said at the job's key;
            // one that is there but wrong, at its own line and key.
            match &job.mappings {
                Some(dir) if !dir.is_dir() => errors.push(error(
                    key("mappings"),
                    format!("{}: no such folder of mapping files", dir.display()),
                )),
                _ => errors.extend(job.load_mappings().err()),
            }
            match &job.profile {
                Some(file) if !file.is_file() => errors.push(error(
                    key("profile"),
                    format!("{}: no such profile file", file.display()),
                )),
                _ => errors.extend(job.load_profile().err()),
            }
        }
        errors
    }
}

/// Where `path` really is: `.` and `..` resolved, and the part of it that
/// exists followed through links, so two spellings of one folder compare
/// equal even before the folder is created.
fn real_place(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut lexical = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !lexical.pop() {
                    lexical.push(part);
                }
            }
            other => lexical.push(other),
        }
    }
    // The longest part that exists is canonicalised; the rest is appended.
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (existing.file_name().map(|n| n.to_owned()), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_owned();
            }
            _ => return lexical,
        }
    }
}

/// `$STATE_DIRECTORY` (set by systemd's `StateDirectory=`), else `state`
/// beside the jobs file.
fn default_state_dir(base: &Path) -> PathBuf {
    match std::env::var_os("STATE_DIRECTORY") {
        // systemd may list several folders separated by ':'; the first is ours.
        Some(d) if !d.is_empty() => PathBuf::from(d.to_string_lossy().split(':').next().unwrap_or_default()),
        _ => base.join("state"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The errors `validate` gives for a jobs file holding `jobs`, in a
    /// folder with `inbox/` and `out/`.
    fn errors_of(jobs: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        let file = dir.path().join("iorready.toml");
        std::fs::write(&file, format!("[state]\ndir = \"state\"\n{jobs}")).unwrap();
        JobsConfig::validate(&file).iter().map(|e| e.to_string()).collect()
    }

    fn job(name: &str, out: &str) -> String {
        format!("[jobs.{name}]\nschedule = \"@hourly\"\ninputs = [\"inbox\"]\nout = \"{out}\"\n")
    }

    #[test]
    fn two_jobs_on_one_output_folder_are_refused_however_it_is_spelled() {
        let errors = errors_of(&(job("a", "out") + &job("b", "inbox/../out/.")));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("jobs.b.out") && e.contains("same folder")),
            "{errors:?}"
        );
    }

    #[test]
    fn two_jobs_on_one_folder_not_yet_made_are_refused() {
        let errors = errors_of(&(job("a", "later/x") + &job("b", "./later/x")));
        assert!(errors.iter().any(|e| e.contains("same folder")), "{errors:?}");
    }

    #[cfg(unix)]
    #[test]
    fn two_jobs_writing_through_a_link_to_one_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("out"), dir.path().join("link")).unwrap();
        let file = dir.path().join("iorready.toml");
        std::fs::write(&file, job("a", "out") + &job("b", "link")).unwrap();
        let errors: Vec<String> = JobsConfig::validate(&file).iter().map(|e| e.to_string()).collect();
        assert!(errors.iter().any(|e| e.contains("same folder")), "{errors:?}");
    }

    #[test]
    fn an_output_folder_that_is_the_jobs_inbox_is_refused() {
        let errors = errors_of(&job("a", "./inbox"));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("jobs.a.out") && e.contains("inputs[0]")),
            "{errors:?}"
        );
    }

    #[test]
    fn jobs_with_their_own_output_folders_pass() {
        let errors = errors_of(&(job("a", "out/a") + &job("b", "out/b")));
        assert!(errors.is_empty(), "{errors:?}");
    }
}
