//! One scoring run: find the workbooks, read and map each, score it, write
//! its annotated copy, then the portfolio and the JSON result. Workbooks are
//! processed in parallel, one at a time per worker, so memory depends on the
//! number of workers, not of workbooks; one bad workbook never stops the
//! others.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::mapping::{extract, extract_records, MappingSet};
use crate::scoring::{assess_response, Profile, ProviderResult, ProviderSummary};
use crate::sinks::{write_annotated, write_json, write_portfolio, AnnotateInput, SinkError, Spool};
use crate::sources::{discover_inputs, is_json_name, read_json, read_workbook};

/// The portfolio workbook's file name in the output folder.
pub const PORTFOLIO_NAME: &str = "portfolio.xlsx";
/// What annotated copies' names end with.
pub const ANNOTATED_SUFFIX: &str = ".annotated.xlsx";

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
    /// Inputs that failed: (file, message).
    pub errors: Vec<(String, String)>,
    /// The portfolio workbook.
    pub portfolio: PathBuf,
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
    #[error("no spreadsheet (xlsx, xlsm, xlsb, xls, ods) found in the inputs")]
    NoInputs,
    /// The portfolio or JSON could not be written.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The worker pool could not start.
    #[error("cannot start workers: {0}")]
    Pool(String),
}

/// True for the files iorready itself writes, so that a run whose output
/// folder is among its inputs does not score its own outputs.
pub fn is_output_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.to_lowercase().ends_with(ANNOTATED_SUFFIX) || n.eq_ignore_ascii_case(PORTFOLIO_NAME))
}

/// One output name per input: `<stem>.annotated.xlsx`, numbered when two
/// inputs share a stem.
fn output_paths(inputs: &[PathBuf], out_dir: &Path) -> Vec<PathBuf> {
    let mut taken = HashSet::new();
    inputs
        .iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "workbook".into());
            let mut name = format!("{stem}{ANNOTATED_SUFFIX}");
            let mut n = 2;
            while !taken.insert(name.to_lowercase()) {
                name = format!("{stem}-{n}{ANNOTATED_SUFFIX}");
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
    let inputs = discover_inputs(&req.inputs, &is_output_name).map_err(RunError::Input)?;
    if inputs.is_empty() {
        return Err(RunError::NoInputs);
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
    // Each worker scores a workbook, writes its annotated copy, spools its
    // share of the JSON and Flags sheet, and keeps only the summary.
    let outcomes: Vec<Result<(Vec<ProviderSummary>, bool), String>> = pool.install(|| {
        inputs
            .par_iter()
            .zip(outputs.par_iter())
            .enumerate()
            .map(|(index, (input, output))| {
                let outcome = if canonical_inputs.contains(&canonical_target(output)) {
                    Err(format!(
                        "{}: refusing to write the annotated copy over an input",
                        output.display()
                    ))
                } else {
                    score_input(input, output, req).and_then(|(results, annotated)| {
                        spool
                            .put(index, &results, req.json.is_some())
                            .map_err(|e| format!("{}: cannot spool the results: {e}", input.display()))?;
                        Ok((results.iter().map(ProviderResult::summary).collect(), annotated))
                    })
                };
                progress.done();
                outcome
            })
            .collect()
    });
    let mut results = Vec::new();
    let mut annotated = Vec::new();
    let mut annotated_for = Vec::new();
    let mut errors = Vec::new();
    let mut scored = Vec::new();
    for (index, ((input, output), outcome)) in inputs.iter().zip(outputs).zip(outcomes).enumerate() {
        match outcome {
            Ok((r, wrote)) => {
                results.extend(r);
                if wrote {
                    annotated_for.push((input.clone(), output.clone()));
                    annotated.push(output);
                }
                scored.push(index);
            }
            Err(message) => {
                tracing::warn!(file = %input.display(), "not scored: {message}");
                errors.push((input.display().to_string(), message));
            }
        }
    }
    let portfolio = req.out_dir.join(PORTFOLIO_NAME);
    let (written, json) = pool.join(
        || {
            let mut rows = scored.iter().flat_map(|&i| match spool.flag_rows(i) {
                Ok(rows) => Box::new(rows) as Box<dyn Iterator<Item = std::io::Result<_>>>,
                Err(e) => Box::new(std::iter::once(Err(e))),
            });
            write_portfolio(&portfolio, &results, &mut rows, &errors, req.as_of, &req.profile)
        },
        || match &req.json {
            Some(path) => write_json(path, req.as_of, &req.profile.name, &spool, &scored, &errors),
            None => Ok(()),
        },
    );
    written?;
    json?;
    Ok(RunSummary {
        scored_inputs: scored.len(),
        results,
        annotated,
        annotated_for,
        errors,
        portfolio,
    })
}

/// The canonical path a file would have once written.
fn canonical_target(path: &Path) -> PathBuf {
    match (path.parent().and_then(|p| p.canonicalize().ok()), path.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path.to_owned(),
    }
}

/// Reads, maps and scores one input: a workbook (annotated too, with as
/// many providers as it holds) or a JSON document of records (no annotated
/// copy). Returns the results and whether an annotated copy was written.
/// Any failure, including a panic inside a reader, becomes a message naming
/// the file.
fn score_input(input: &Path, output: &Path, req: &ScoreRequest) -> Result<(Vec<ProviderResult>, bool), String> {
    if is_json_name(input) {
        return score_records(input, req).map(|r| (r, false));
    }
    score_file(input, output, req).map(|r| (r, true))
}

fn score_records(input: &Path, req: &ScoreRequest) -> Result<Vec<ProviderResult>, String> {
    let doc = read_json(input).map_err(|e| e.to_string())?;
    let mapping = req.mappings.choose_json(&doc)?;
    let extracted = extract_records(&doc, mapping).map_err(|e| e.to_string())?;
    Ok(extracted
        .responses
        .into_iter()
        .map(|response| assess_response(response, input.to_owned(), &mapping.name, &req.profile, req.as_of))
        .collect())
}

/// Reads, maps, scores and annotates one workbook.
fn score_file(input: &Path, output: &Path, req: &ScoreRequest) -> Result<Vec<ProviderResult>, String> {
    let run = || -> Result<Vec<ProviderResult>, String> {
        let wb = read_workbook(input).map_err(|e| e.to_string())?;
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
        write_annotated(&annotate, output).map_err(|e| e.to_string())?;
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
        Ok(results)
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{}: the spreadsheet reader failed on this file (it is probably damaged); re-save it in Excel or LibreOffice",
            input.display()
        )),
    }
}
