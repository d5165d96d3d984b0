//! A job's memory of its inputs, kept in the state: an input whose content
//! hash and scoring settings match what is remembered is not read, scored or
//! rewritten again; its remembered result goes into the portfolio as is.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::state::{InputRecord, State};
use crate::history::{diff, Change, Standing};
use crate::pipeline::{canonical_target, InputMemory, Recalled, Remembered};
use crate::scoring::ProviderSummary;

/// The memory of one job's run.
pub struct JobMemory {
    state: Arc<State>,
    job: String,
    run_id: i64,
    settings: String,
    as_of: NaiveDate,
    /// Inputs whose results must still be written back.
    write_back: HashSet<PathBuf>,
    hashes: Mutex<HashMap<PathBuf, String>>,
    seen: Mutex<Vec<String>>,
    current: Mutex<Vec<Standing>>,
    rescored: Mutex<Vec<PathBuf>>,
    recalled: AtomicUsize,
}

impl JobMemory {
    /// The memory of run `run_id` of `job`; `settings` fingerprints what
    /// scores the inputs (see [`settings_fingerprint`]).
    pub fn new(state: Arc<State>, job: &str, run_id: i64, settings: String, as_of: NaiveDate) -> Self {
        Self {
            state,
            job: job.to_owned(),
            run_id,
            settings,
            as_of,
            write_back: HashSet::new(),
            hashes: Mutex::default(),
            seen: Mutex::default(),
            current: Mutex::default(),
            rescored: Mutex::default(),
            recalled: AtomicUsize::new(0),
        }
    }

    /// Marks `path` (a connector's workbook) as one whose results are
    /// written back.
    pub fn with_write_back(mut self, path: PathBuf) -> Self {
        self.write_back.insert(path);
        self
    }

    /// The key an input is remembered under: its canonical path. An input
    /// that cannot be resolved now (it went away mid-run, a share dropped,
    /// a symlink dangles) keeps the key it was remembered under: its
    /// folder's canonical path with its name, or else its absolute path,
    /// never the relative path a job gave (`./inbox`), which would make it
    /// look like another input and its providers look removed.
    pub fn key(&self, input: &Path) -> String {
        input_key(input)
    }

    /// Every input key seen by this run.
    pub fn seen(&self) -> Vec<String> {
        lock(&self.seen).clone()
    }

    /// The standings of every provider and country of this run.
    pub fn standings(&self) -> Vec<Standing> {
        lock(&self.current).clone()
    }

    /// The inputs scored afresh in this run.
    pub fn rescored(&self) -> Vec<PathBuf> {
        lock(&self.rescored).clone()
    }

    /// When `inputs` (with their annotated copies `outputs`) are exactly
    /// what the previous complete run scored, unchanged, so the whole run
    /// can be skipped without reading a remembered result: the annotated
    /// copies they own (JSON documents and failed inputs own none).
    pub fn nothing_changed(&self, inputs: &[PathBuf], outputs: &[PathBuf]) -> Option<Vec<PathBuf>> {
        let known = self.state.input_fingerprints(&self.job).ok()?;
        if known.len() != inputs.len() {
            return None;
        }
        let mut owned = Vec::new();
        for (input, output) in inputs.iter().zip(outputs) {
            let known = known.get(&self.key(input))?;
            let unchanged = known.settings == self.settings
                && (!known.annotated || copy_in_place(known.output.as_deref(), output))
                && self.content_hash(input).is_some_and(|h| h == known.content_hash);
            if !unchanged {
                return None;
            }
            if known.annotated {
                owned.push(output.clone());
            }
        }
        self.previous_run_complete().then_some(owned)
    }

    /// What the state remembers of the input `key`, if anything.
    fn stored(&self, key: &str) -> Option<InputRecord> {
        match self.state.input(&self.job, key) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(job = %self.job, "cannot look up an input in the state: {e}");
                None
            }
        }
    }

    /// Takes an earlier run's result for the input `key` into this run (seen,
    /// its standings among this run's), with its annotated copy if it has one.
    fn take_back(&self, key: String, record: InputRecord) -> Option<(Recalled, Option<PathBuf>)> {
        let recalled = if let Some(error) = record.error {
            Recalled::Failed(error)
        } else {
            let summaries: Vec<ProviderSummary> = serde_json::from_str(record.summaries.as_deref()?).ok()?;
            let standings: Vec<Standing> = serde_json::from_str(record.standings.as_deref()?).ok()?;
            lock(&self.current).extend(standings);
            Recalled::Scored {
                summaries,
                json: record.json,
                flags: record.flags,
                annotated: record.annotated,
            }
        };
        lock(&self.seen).push(key);
        let copy = record.output.filter(|_| record.annotated).map(PathBuf::from);
        Some((recalled, copy))
    }

    fn previous_run_complete(&self) -> bool {
        self.state
            .runs(Some(&self.job), 2)
            .ok()
            .and_then(|runs| runs.into_iter().find(|r| r.id != self.run_id))
            // Errors it listed without remembering them may have cleared.
            .is_some_and(|r| r.outcome.completed() && r.unremembered == 0)
    }

    fn content_hash(&self, input: &Path) -> Option<String> {
        let mut file = std::fs::File::open(input).ok()?;
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buf[..n]);
                }
                Err(_) => return None,
            }
        }
        Some(hasher.finalize().to_hex().to_string())
    }
}

/// True when the annotated copy remembered at `remembered` is the file
/// this run would write at `output`, and is there. When names shift (a
/// same-named workbook came or went), the file at `output` may be another
/// input's copy, or an old one: the input is annotated again.
fn copy_in_place(remembered: Option<&str>, output: &Path) -> bool {
    remembered.is_some_and(|r| canonical_target(Path::new(r)) == canonical_target(output)) && output.is_file()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data: a panic elsewhere leaves it consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// See [`JobMemory::key`].
fn input_key(input: &Path) -> String {
    if let Ok(p) = input.canonicalize() {
        return p.display().to_string();
    }
    let in_folder = input
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .or(Some(Path::new(".")))
        .and_then(|p| p.canonicalize().ok())
        .zip(input.file_name())
        .map(|(dir, name)| dir.join(name));
    in_folder
        .or_else(|| std::path::absolute(input).ok())
        .unwrap_or_else(|| input.to_owned())
        .display()
        .to_string()
}

impl InputMemory for JobMemory {
    fn recall(&self, input: &Path, output: &Path) -> Option<Recalled> {
        let key = self.key(input);
        let hash = self.content_hash(input)?;
        lock(&self.hashes).insert(input.to_owned(), hash.clone());
        let record = self.stored(&key)?;
        if record.content_hash != hash || record.settings != self.settings {
            return None;
        }
        if record.error.is_none() && record.annotated && !copy_in_place(record.output.as_deref(), output) {
            return None;
        }
        let (recalled, _) = self.take_back(key, record)?;
        self.recalled.fetch_add(1, Ordering::Relaxed);
        Some(recalled)
    }

    fn remember(&self, input: &Path, outcome: Remembered<'_>) -> Result<(), String> {
        let key = self.key(input);
        let hash = match lock(&self.hashes).get(input).cloned() {
            Some(h) => h,
            None => self.content_hash(input).unwrap_or_default(),
        };
        let (record, standings) = match outcome {
            Remembered::Scored {
                results,
                json,
                flags,
                annotated,
                output,
            } => {
                let summaries: Vec<ProviderSummary> = results.iter().map(|r| r.summary()).collect();
                let standings: Vec<Standing> = results.iter().flat_map(Standing::of).collect();
                let record = InputRecord {
                    content_hash: hash,
                    settings: self.settings.clone(),
                    error: None,
                    summaries: Some(serde_json::to_string(&summaries).map_err(|e| e.to_string())?),
                    json: json.to_vec(),
                    flags: flags.to_vec(),
                    annotated,
                    standings: Some(serde_json::to_string(&standings).map_err(|e| e.to_string())?),
                    output: annotated.then(|| output.display().to_string()),
                };
                (record, standings)
            }
            Remembered::Failed(message) => (
                InputRecord {
                    content_hash: hash,
                    settings: self.settings.clone(),
                    error: Some(message.to_owned()),
                    summaries: None,
                    json: Vec::new(),
                    flags: Vec::new(),
                    annotated: false,
                    standings: None,
                    output: None,
                },
                Vec::new(),
            ),
        };
        let pending = self.write_back.contains(input) && record.error.is_none();
        self.state
            .put_input(&self.job, &key, self.run_id, &record, &standings, self.as_of, pending)
            .map_err(|e| e.to_string())?;
        lock(&self.current).extend(standings);
        lock(&self.seen).push(key);
        lock(&self.rescored).push(input.to_owned());
        Ok(())
    }

    fn keep_previous(&self, input: &Path) -> Option<(Recalled, Option<PathBuf>)> {
        let key = self.key(input);
        // Its row stays as the earlier run wrote it (content hash included),
        // so the next run scores the input again.
        let record = self.stored(&key)?;
        self.take_back(key, record)
    }

    fn outputs_current(&self) -> bool {
        if !lock(&self.rescored).is_empty() {
            return false;
        }
        let previous_complete = self.previous_run_complete();
        let seen: HashSet<String> = self.seen().into_iter().collect();
        let nothing_removed = self
            .state
            .input_keys(&self.job)
            .is_ok_and(|keys| keys.iter().all(|k| seen.contains(k)));
        previous_complete && nothing_removed
    }

    fn changes(&self) -> Result<Vec<Change>, String> {
        let previous = self.state.standings(&self.job).map_err(|e| e.to_string())?;
        Ok(diff(&previous, &lock(&self.current)))
    }
}

/// A fingerprint of everything besides an input's content that decides its
/// result: the profile, the mappings, the as-of date (staleness moves with
/// it) and this build of iorready.
pub fn settings_fingerprint(profile: &[u8], mappings: &[Vec<u8>], as_of: NaiveDate) -> String {
    let mut h = blake3::Hasher::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(as_of.to_string().as_bytes());
    h.update(&(profile.len() as u64).to_le_bytes());
    h.update(profile);
    for m in mappings {
        h.update(&(m.len() as u64).to_le_bytes());
        h.update(m);
    }
    h.finalize().to_hex().to_string()
}
