//! One scoring run: find the workbooks, read and map each, score it, write
//! its annotated copy, then the portfolio and the JSON result. Workbooks are
//! processed in parallel, one at a time per worker, so memory depends on the
//! number of workers, not of workbooks; one bad workbook never stops the
//! others.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::history::Change;
use crate::mapping::{extract, extract_records, MappingSet, RecordsReader};
use crate::scoring::{assess_response, Profile, ProviderResult, ProviderSummary};
use crate::sinks::{
    with_flags_written_early, write_annotated, write_json, AnnotateInput, CopyKind, EarlyFlags, InputDone, Portfolio,
    PortfolioEnd, SinkError, Spool,
};
use crate::sources::{discover_inputs, for_each_record, is_json_name, read_json, read_workbook};

/// The portfolio workbook's file name in the output folder.
pub const PORTFOLIO_NAME: &str = "portfolio.xlsx";
/// What annotated copies' names end with.
pub const ANNOTATED_SUFFIX: &str = ".annotated.xlsx";
/// The name an xlsm input's annotated copy ends with: a macro-enabled
/// workbook keeps its kind (and its macros, never run).
pub const ANNOTATED_MACRO_SUFFIX: &str = ".annotated.xlsm";

/// True for a name iorready gives annotated copies.
pub fn is_annotated_name(name: &str) -> bool {
    let name = name.to_lowercase();
    name.ends_with(ANNOTATED_SUFFIX) || name.ends_with(ANNOTATED_MACRO_SUFFIX)
}

/// What to score and where the results go.
pub struct ScoreRequest {
    /// Workbooks or folders.
    pub inputs: Vec<PathBuf>,
    /// The output folder (created if missing).
    pub out_dir: PathBuf,
    /// Where to write the JSON result, if wanted.
    pub json: Option<PathBuf>,
    /// The as-of date.
    pub as_of: NaiveDate,
    /// The scoring profile.
    pub profile: Profile,
    /// The mappings to choose from (or one, forced).
    pub mappings: MappingSet,
    /// Worker threads (0: one per core).
    pub jobs: usize,
    /// What earlier runs remember of the inputs (the daemon's state), so an
    /// unchanged input is neither rescored nor rewritten.
    pub memory: Option<Arc<dyn InputMemory>>,
    /// Set to stop starting new inputs (a shutdown): inputs not started are
    /// left for the next run, the one being written is finished, and the
    /// portfolio and JSON stay as the last complete run wrote them.
    pub stop: Option<Arc<AtomicBool>>,
    /// Inputs read with a named mapping rather than the one that
    /// recognises them (records a connector names its mapping for).
    pub input_mappings: Vec<(PathBuf, String)>,
    /// With no inputs found, write an empty portfolio and JSON rather than
    /// fail with [`RunError::NoInputs`]: a scheduled job whose inbox was
    /// emptied shows no providers, not the last ones it had.
    pub allow_empty: bool,
    /// Errors found before the run, to list beside the inputs' own in the
    /// portfolio and the JSON: (file, message), such as a connector's file
    /// that could not be fetched. When any, the portfolio and JSON are
    /// written even if nothing else changed.
    pub extra_errors: Vec<(String, String)>,
}

impl ScoreRequest {
    /// A request with no memory of earlier runs.
    pub fn new(
        inputs: Vec<PathBuf>,
        out_dir: PathBuf,
        as_of: NaiveDate,
        profile: Profile,
        mappings: MappingSet,
    ) -> Self {
        Self {
            inputs,
            out_dir,
            json: None,
            as_of,
            profile,
            mappings,
            jobs: 0,
            memory: None,
            stop: None,
            input_mappings: Vec::new(),
            allow_empty: false,
            extra_errors: Vec::new(),
        }
    }
}

/// What an input came to in an earlier run, kept by an [`InputMemory`].
pub enum Recalled {
    /// Scored: its providers' summaries, its JSON entries and Flags rows as
    /// the spool holds them, and whether it has an annotated copy.
    Scored {
        /// The providers.
        summaries: Vec<ProviderSummary>,
        /// JSON entries, one per line.
        json: Vec<u8>,
        /// Flags rows, one per line.
        flags: Vec<u8>,
        /// Whether the annotated copy was written.
        annotated: bool,
    },
    /// Not scored, with the message.
    Failed(String),
}

/// What an input came to in this run, for an [`InputMemory`] to keep.
pub enum Remembered<'a> {
    /// Scored.
    Scored {
        /// The results.
        results: &'a [ProviderResult],
        /// JSON entries, one per line.
        json: &'a [u8],
        /// Flags rows, one per line.
        flags: &'a [u8],
        /// Whether the annotated copy was written.
        annotated: bool,
        /// Where the annotated copy is.
        output: &'a Path,
    },
    /// Not scored, with the message.
    Failed(&'a str),
}

/// Memory of earlier runs: lets a scheduled run skip inputs whose content
/// (and the settings that score them) did not change, and say what moved.
pub trait InputMemory: Send + Sync {
    /// The outcome kept for `input` if it is unchanged and its annotated
    /// copy is still in place under the name `output` this run gives it;
    /// `None` to score it.
    fn recall(&self, input: &Path, output: &Path) -> Option<Recalled>;
    /// Keeps what `input` came to in this run.
    fn remember(&self, input: &Path, outcome: Remembered<'_>) -> Result<(), String>;
    /// Carries `input`'s earlier outcome into this run, whatever its
    /// content now: it failed on a passing fault, so its providers stay as
    /// they were rather than leave the run and come back next time. Returns
    /// that outcome and where its annotated copy is (to keep it), or `None`
    /// when nothing is remembered of it.
    fn keep_previous(&self, input: &Path) -> Option<(Recalled, Option<PathBuf>)>;
    /// True when nothing was rescored or removed and the previous run's
    /// portfolio and JSON are complete: they need not be written again.
    fn outputs_current(&self) -> bool;
    /// What moved since the previous complete run.
    fn changes(&self) -> Result<Vec<Change>, String>;
}

/// What a run did.
pub struct RunSummary {
    /// One summary per scored workbook, in input order.
    pub results: Vec<ProviderSummary>,
    /// Inputs scored (workbooks and JSON documents).
    pub scored_inputs: usize,
    /// Annotated copies written, in input order.
    pub annotated: Vec<PathBuf>,
    /// Each scored workbook with its annotated copy.
    pub annotated_for: Vec<(PathBuf, PathBuf)>,
    /// The annotated copy's path of every input found, in input order,
    /// whether written, kept from an earlier run, or not written at all.
    pub outputs: Vec<PathBuf>,
    /// The annotated copies this run stands by: written or kept unchanged,
    /// and the earlier copies of inputs that failed on a passing fault.
    /// Any other copy in the output folder belongs to no input.
    pub owned: Vec<PathBuf>,
    /// Inputs that failed: (file, message).
    pub errors: Vec<(String, String)>,
    /// The portfolio workbook.
    pub portfolio: PathBuf,
    /// Inputs taken unchanged from an earlier run.
    pub unchanged: usize,
    /// Inputs left for the next run because the run was asked to stop.
    pub left: usize,
    /// False when the portfolio and JSON were left as they were: nothing
    /// changed, or the run was stopped with inputs left.
    pub outputs_written: bool,
    /// What moved since the previous run, when the run remembers it and
    /// was not stopped with inputs left.
    pub changes: Option<Vec<Change>>,
    /// Inputs that failed on a passing fault (not remembered, tried again
    /// next run).
    pub passing_failures: usize,
    /// Annotated copies rebuilt rather than patched: (input, why), so the
    /// provider's formatting is not in them.
    pub rebuilt: Vec<(String, String)>,
}

/// A run that could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An input path does not exist or cannot be listed.
    #[error("input: {0}")]
    Input(std::io::Error),
    /// The output folder cannot be created or written.
    #[error("{path}: cannot write in the output folder: {source}")]
    OutDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No spreadsheet among the inputs.
    #[error("no spreadsheet (xlsx, xlsm, xlsb, xls, ods) found in the inputs; {found}")]
    NoInputs {
        /// What the inputs hold instead, in words.
        found: String,
    },
    /// The portfolio or JSON could not be written.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The worker pool could not start.
    #[error("cannot start workers: {0}")]
    Pool(String),
    /// The memory of earlier runs failed.
    #[error("run state: {0}")]
    Memory(String),
}

/// True for the files iorready itself writes, so that a run whose output
/// folder is among its inputs does not score its own outputs.
pub fn is_output_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| is_annotated_name(n) || n.eq_ignore_ascii_case(PORTFOLIO_NAME))
}

/// One output name per input: `<stem>.annotated.xlsx` (`.xlsm` for an xlsm),
/// numbered when two inputs share a stem.
pub fn output_paths(inputs: &[PathBuf], out_dir: &Path) -> Vec<PathBuf> {
    let mut taken = HashSet::new();
    inputs
        .iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "workbook".into());
            let macros = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsm"));
            let suffix = if macros {
                ANNOTATED_MACRO_SUFFIX
            } else {
                ANNOTATED_SUFFIX
            };
            let mut name = format!("{stem}{suffix}");
            let mut n = 2;
            while !taken.insert(name.to_lowercase()) {
                name = format!("{stem}-{n}{suffix}");
                n += 1;
            }
            out_dir.join(name)
        })
        .collect()
}

/// Hears how far a run is, for a progress bar.
pub trait Progress: Sync {
    /// The run found `total` workbooks.
    fn start(&self, _total: usize) {}
    /// One workbook is done (scored or failed).
    fn done(&self) {}
}

/// No progress reporting.
impl Progress for () {}

/// Runs the whole pipeline.
pub fn run_score(req: &ScoreRequest, progress: &dyn Progress) -> Result<RunSummary, RunError> {
    let started = std::time::Instant::now();
    let inputs = discover_inputs(&req.inputs, &is_output_name).map_err(RunError::Input)?;
    if inputs.is_empty() && !req.allow_empty {
        return Err(RunError::NoInputs {
            found: crate::sources::what_else_is_there(&req.inputs),
        });
    }
    progress.start(inputs.len());
    std::fs::create_dir_all(&req.out_dir).map_err(|source| RunError::OutDir {
        path: req.out_dir.clone(),
        source,
    })?;
    let outputs = output_paths(&inputs, &req.out_dir);
    let spool = Spool::new(&req.out_dir).map_err(|source| RunError::OutDir {
        path: req.out_dir.clone(),
        source,
    })?;
    let canonical_inputs: HashSet<PathBuf> = inputs.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(req.jobs)
        .build()
        .map_err(|e| RunError::Pool(e.to_string()))?;
    // Each worker takes the next input, scores it, writes its annotated
    // copy, spools its share of the JSON and Flags sheet, and keeps only the
    // summary. Inputs are taken in order, so they finish nearly in order and
    // the portfolio's Flags sheet is written alongside, not after.
    let unchanged = AtomicUsize::new(0);
    let passing = AtomicUsize::new(0);
    let rebuilt = std::sync::Mutex::new(Vec::new());
    let portfolio = req.out_dir.join(PORTFOLIO_NAME);
    let next = AtomicUsize::new(0);
    let early = EarlyFlags {
        spool: &spool,
        out: &portfolio,
        total: inputs.len(),
        eager: req.memory.is_none(),
        stop: req.stop.as_deref(),
    };
    let (outcomes, flags_early) = with_flags_written_early(early, |report| {
        let finished = pool.broadcast(|_| {
            let mut mine = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let (Some(input), Some(output)) = (inputs.get(index), outputs.get(index)) else {
                    break;
                };
                // Fresh: scored this run, so the portfolio will change.
                let (outcome, fresh) = if req.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
                    (None, false)
                } else if canonical_inputs.contains(&canonical_target(output)) {
                    let message = format!(
                        "{}: refusing to write the annotated copy over an input",
                        output.display()
                    );
                    (Some(Err(Failed::alone(message))), false)
                } else if let Some(recalled) = req.memory.as_ref().and_then(|m| m.recall(input, output)) {
                    unchanged.fetch_add(1, Ordering::Relaxed);
                    (Some(reuse(recalled, index, input, &spool)), false)
                } else {
                    (
                        Some(score_and_remember(
                            index,
                            input,
                            output,
                            req,
                            &spool,
                            (&passing, &rebuilt),
                        )),
                        true,
                    )
                };
                if outcome.is_some() {
                    progress.done();
                }
                let spooled = matches!(&outcome, Some(Ok(_)) | Some(Err(Failed { kept: Some(_), .. })));
                report(InputDone { index, spooled, fresh });
                mine.push((index, outcome));
            }
            mine
        });
        let mut outcomes: Vec<Option<Outcome>> = (0..inputs.len()).map(|_| None).collect();
        for (index, outcome) in finished.into_iter().flatten() {
            if let Some(slot) = outcomes.get_mut(index) {
                *slot = outcome;
            }
        }
        outcomes
    });
    let left = outcomes.iter().filter(|o| o.is_none()).count();
    tracing::debug!(
        inputs = inputs.len(),
        seconds = started.elapsed().as_secs_f64(),
        "inputs scored and annotated"
    );
    let mut results = Vec::new();
    let mut annotated = Vec::new();
    let mut annotated_for = Vec::new();
    let mut errors = Vec::new();
    let mut scored = 0;
    // The inputs whose pieces are in the spool: scored, or carried forward.
    let mut spooled = Vec::new();
    let mut owned = Vec::new();
    for (index, ((input, output), outcome)) in inputs.iter().zip(outputs.iter().cloned()).zip(outcomes).enumerate() {
        let Some(outcome) = outcome else { continue };
        match outcome {
            Ok((r, wrote)) => {
                results.extend(r);
                if wrote {
                    annotated_for.push((input.clone(), output.clone()));
                    owned.push(output.clone());
                    annotated.push(output);
                }
                scored += 1;
                spooled.push(index);
            }
            Err(Failed { message, kept }) => {
                tracing::warn!(file = %input.display(), "not scored: {message}");
                let message = match &kept {
                    Some(_) => format!("{message} (could not be read this run: its last standing is kept, stale, and nothing of it changes until it can be read)"),
                    None => message,
                };
                errors.push((input.display().to_string(), message));
                if let Some((summaries, copy)) = kept {
                    results.extend(summaries);
                    owned.extend(copy);
                    spooled.push(index);
                }
            }
        }
    }
    let unchanged = unchanged.into_inner();
    // With nothing rescored, removed or left, the outputs on disk are
    // already this run's outputs.
    let (changes, write) = match &req.memory {
        // A run stopped with inputs left holds only part of the results:
        // the last complete run's portfolio and JSON stay, and nothing is
        // said to have moved (the inputs left are not gone).
        _ if left > 0 => (None, false),
        // An input that failed on a passing fault is not remembered, so the
        // memory cannot tell its error row from the last run's outputs; nor
        // does it know the errors found before the run.
        Some(memory)
            if passing.load(Ordering::Relaxed) == 0
                && req.extra_errors.is_empty()
                && memory.outputs_current()
                && portfolio.is_file()
                && req.json.as_ref().is_none_or(|j| j.is_file()) =>
        {
            (Some(Vec::new()), false)
        }
        Some(memory) => (Some(memory.changes().map_err(RunError::Memory)?), true),
        None => (None, true),
    };
    // A Flags sheet that could not be written alongside is written now,
    // from the spool.
    let flags_early = flags_early.unwrap_or_else(|e| {
        if write {
            tracing::warn!("the portfolio's Flags sheet is written after scoring: {e}");
        } else {
            tracing::debug!("the portfolio's early Flags sheet failed: {e}");
        }
        None
    });
    if write {
        let outputs_started = std::time::Instant::now();
        let all_errors: Vec<(String, String)> = errors.iter().chain(&req.extra_errors).cloned().collect();
        write_run_outputs(
            req,
            &pool,
            &spool,
            (&portfolio, flags_early),
            &results,
            &spooled,
            &all_errors,
            changes.as_deref(),
        )?;
        tracing::debug!(
            seconds = outputs_started.elapsed().as_secs_f64(),
            "portfolio and JSON written"
        );
    }
    Ok(RunSummary {
        scored_inputs: scored,
        results,
        annotated,
        annotated_for,
        outputs,
        owned,
        errors,
        portfolio,
        unchanged,
        left,
        outputs_written: write,
        changes,
        passing_failures: passing.load(Ordering::Relaxed),
        rebuilt: {
            let mut v = rebuilt.into_inner().unwrap_or_else(|e| e.into_inner());
            v.sort();
            v
        },
    })
}

/// Writes the portfolio and the JSON result, side by side. The portfolio
/// may have been started while the inputs were scored, with every spooled
/// input's Flags rows in it already.
#[allow(clippy::too_many_arguments)] // the run's pieces, passed through once
fn write_run_outputs(
    req: &ScoreRequest,
    pool: &rayon::ThreadPool,
    spool: &Spool,
    (path, started): (&Path, Option<Portfolio>),
    results: &[ProviderSummary],
    scored: &[usize],
    errors: &[(String, String)],
    changes: Option<&[Change]>,
) -> Result<(), RunError> {
    let (written, json) = pool.join(
        || {
            let t = std::time::Instant::now();
            let end = PortfolioEnd {
                summaries: results,
                errors,
                as_of: req.as_of,
                profile: &req.profile,
                changes,
            };
            let started = match started {
                Some(portfolio) => Ok(portfolio),
                None => Portfolio::start(path).and_then(|mut portfolio| {
                    for &i in scored {
                        portfolio.add_spooled_flags(spool, i)?;
                    }
                    Ok(portfolio)
                }),
            };
            let r = started.and_then(|portfolio| portfolio.finish(&end));
            tracing::debug!(seconds = t.elapsed().as_secs_f64(), "portfolio written");
            r
        },
        || {
            let t = std::time::Instant::now();
            let r = match &req.json {
                Some(path) => write_json(path, req.as_of, &req.profile.name, spool, scored, errors, changes),
                None => Ok(()),
            };
            tracing::debug!(seconds = t.elapsed().as_secs_f64(), "JSON written");
            r
        },
    );
    written?;
    json?;
    Ok(())
}

/// What one input came to: its providers' summaries and whether it has an
/// annotated copy, or why it was not scored.
type Outcome = Result<(Vec<ProviderSummary>, bool), Failed>;

/// An input not scored this run.
struct Failed {
    /// Why.
    message: String,
    /// What an earlier run made of it, carried forward because this run
    /// failed on a passing fault: its providers' summaries (their pieces
    /// in the spool) and its annotated copy, if any.
    kept: Option<(Vec<ProviderSummary>, Option<PathBuf>)>,
}

impl Failed {
    /// Failed with nothing carried forward.
    fn alone(message: String) -> Failed {
        Failed { message, kept: None }
    }
}

/// Puts an input's remembered pieces in the spool, as if just scored.
fn reuse(recalled: Recalled, index: usize, input: &Path, spool: &Spool) -> Outcome {
    match recalled {
        Recalled::Scored {
            summaries,
            json,
            flags,
            annotated,
        } => {
            spool
                .put_raw(index, &json, &flags)
                .map_err(|e| Failed::alone(format!("{}: cannot spool the results: {e}", input.display())))?;
            Ok((summaries, annotated))
        }
        Recalled::Failed(message) => Err(Failed::alone(message)),
    }
}

/// Why an input was not scored: the message, and whether the fault is a
/// passing one (see [`crate::faults`]). A run that remembers keeps a fault
/// in the content until the file changes; a passing one it does not keep,
/// so the next run tries the input again.
struct Failure {
    message: String,
    passing: bool,
}

impl Failure {
    /// Classified by the error's chain of causes.
    fn of<E: std::error::Error + 'static>(error: E) -> Failure {
        Failure {
            passing: crate::faults::is_passing(&error),
            message: error.to_string(),
        }
    }
}

/// A message alone is a fault in the content, or in how the mappings fit
/// it.
impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            message,
            passing: false,
        }
    }
}

/// The input's copies rebuilt rather than patched, with the reason.
type Rebuilt = std::sync::Mutex<Vec<(String, String)>>;

/// Scores an input, spools its pieces and, when the run remembers, keeps
/// them for the next run. Counts in `passing` the failures not kept, and
/// notes in `rebuilt` a copy that could not be patched.
fn score_and_remember(
    index: usize,
    input: &Path,
    output: &Path,
    req: &ScoreRequest,
    spool: &Spool,
    (passing, rebuilt): (&AtomicUsize, &Rebuilt),
) -> Outcome {
    // A run that remembers always keeps the JSON entries: a later run may
    // want a JSON result this one did not.
    let want_json = req.json.is_some() || req.memory.is_some();
    let scored = score_input(input, output, req).and_then(|(results, copy)| {
        if let Some(CopyKind::Rebuilt(reason)) = &copy {
            if let Ok(mut list) = rebuilt.lock() {
                list.push((input.display().to_string(), reason.clone()));
            }
        }
        let annotated = copy.is_some();
        spool.put(index, &results, want_json).map_err(|e| Failure {
            message: format!("{}: cannot spool the results: {e}", input.display()),
            // The spool is this run's own temporary file.
            passing: true,
        })?;
        Ok((results, annotated))
    });
    let summaries = |(results, annotated): (Vec<ProviderResult>, bool)| {
        (results.iter().map(ProviderResult::summary).collect(), annotated)
    };
    let Some(memory) = &req.memory else {
        return scored.map(summaries).map_err(|f| Failed::alone(f.message));
    };
    let mut carried = None;
    let kept = match &scored {
        Ok((results, annotated)) => spool.raw(index).map_err(|e| e.to_string()).and_then(|(json, flags)| {
            memory.remember(
                input,
                Remembered::Scored {
                    results,
                    json: &json,
                    flags: &flags,
                    annotated: *annotated,
                    output,
                },
            )
        }),
        Err(failure) if failure.passing => {
            passing.fetch_add(1, Ordering::Relaxed);
            tracing::info!(file = %input.display(), "not remembered, to be tried again next run: {}", failure.message);
            carried = carry_forward(memory.as_ref(), index, input, spool);
            Ok(())
        }
        Err(failure) => memory.remember(input, Remembered::Failed(&failure.message)),
    };
    if let Err(e) = kept {
        // The input is scored again next run; this run's outputs are whole.
        tracing::warn!(file = %input.display(), "cannot remember this input's result: {e}");
    }
    scored.map(summaries).map_err(|f| Failed {
        message: f.message,
        kept: carried,
    })
}

/// What an earlier run made of `input`, which failed this run on a passing
/// fault: its pieces go into the spool, its summaries and annotated copy
/// into this run's, so its providers neither leave the portfolio nor come
/// back next run.
fn carry_forward(
    memory: &dyn InputMemory,
    index: usize,
    input: &Path,
    spool: &Spool,
) -> Option<(Vec<ProviderSummary>, Option<PathBuf>)> {
    let (recalled, copy) = memory.keep_previous(input)?;
    match recalled {
        Recalled::Scored {
            summaries, json, flags, ..
        } => match spool.put_raw(index, &json, &flags) {
            Ok(()) => Some((summaries, copy)),
            Err(e) => {
                tracing::warn!(file = %input.display(), "cannot spool the earlier results: {e}");
                None
            }
        },
        Recalled::Failed(_) => None,
    }
}

/// The canonical path a file would have once written.
pub(crate) fn canonical_target(path: &Path) -> PathBuf {
    match (path.parent().and_then(|p| p.canonicalize().ok()), path.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path.to_owned(),
    }
}

/// Reads, maps and scores one input: a workbook (annotated too, with as
/// many providers as it holds) or a JSON document of records (no annotated
/// copy). Returns the results and how the annotated copy was made, if one
/// was.
/// Any failure, including a panic inside a reader, becomes a message naming
/// the file.
fn score_input(
    input: &Path,
    output: &Path,
    req: &ScoreRequest,
) -> Result<(Vec<ProviderResult>, Option<CopyKind>), Failure> {
    if is_json_name(input) {
        return score_records(input, req).map(|r| (r, None));
    }
    score_file(input, output, req).map(|(r, copy)| (r, Some(copy)))
}

fn score_records(input: &Path, req: &ScoreRequest) -> Result<Vec<ProviderResult>, Failure> {
    let (mapping, extracted) = match req.input_mappings.iter().find(|(p, _)| p == input) {
        // The mapping is known (a connector's records): read the records
        // one at a time, never the whole document.
        Some((_, name)) => {
            let mapping = req
                .mappings
                .mappings()
                .iter()
                .find(|m| &m.name == name)
                .ok_or_else(|| {
                    format!(
                        "{}: mapping '{name}' is not among the run's mappings (add its file to the mappings folder)",
                        input.display()
                    )
                })?;
            let mut reader = RecordsReader::new(mapping, input).map_err(|e| e.to_string())?;
            let pointer = reader.pointer().to_owned();
            if !for_each_record(input, &pointer, |record| reader.push(&record)).map_err(Failure::of)? {
                return Err(format!(
                    "{}: no array of records at '{pointer}' (mapping '{}')",
                    input.display(),
                    mapping.name
                )
                .into());
            }
            (mapping, reader.finish().map_err(|e| e.to_string())?)
        }
        None => {
            let doc = read_json(input).map_err(Failure::of)?;
            let mapping = req.mappings.choose_json(&doc)?;
            (mapping, extract_records(&doc, mapping).map_err(|e| e.to_string())?)
        }
    };
    Ok(extracted
        .responses
        .into_iter()
        .map(|response| assess_response(response, input.to_owned(), &mapping.name, &req.profile, req.as_of))
        .collect())
}

/// Reads, maps, scores and annotates one workbook.
fn score_file(input: &Path, output: &Path, req: &ScoreRequest) -> Result<(Vec<ProviderResult>, CopyKind), Failure> {
    let run = || -> Result<(Vec<ProviderResult>, CopyKind), Failure> {
        let wb = read_workbook(input).map_err(Failure::of)?;
        let mapping = req.mappings.choose(&wb)?;
        let extracted = extract(&wb, mapping).map_err(|e| e.to_string())?;
        let results: Vec<ProviderResult> = extracted
            .responses
            .into_iter()
            .map(|response| assess_response(response, input.to_owned(), &mapping.name, &req.profile, req.as_of))
            .collect();
        let annotate = AnnotateInput {
            workbook: &wb,
            results: &results,
            placement: &extracted.placement,
            as_of: req.as_of,
            profile: &req.profile,
        };
        let copy = write_annotated(&annotate, output).map_err(Failure::of)?;
        for result in &results {
            tracing::info!(
                file = %input.display(),
                mapping = %mapping.name,
                provider = %result.provider.id,
                countries = result.assessed.len(),
                ready = result.rollup.ready,
                "scored"
            );
        }
        Ok((results, copy))
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{}: the spreadsheet reader failed on this file (it is probably damaged); re-save it in Excel or LibreOffice",
            input.display()
        )
        .into()),
    }
}
