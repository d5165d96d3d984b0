//! A run's exchange with its connectors: the workbooks of their file streams
//! fetched into a folder to be scored like any other, and each one's results
//! written back to the record it came from.

use std::path::{Path, PathBuf};

use super::{fetch_files, write_back, Client, Connector, ConnectorError, Redactor, WritebackItem};
use crate::config::ConfigError;
use crate::pipeline::RunSummary;
use crate::scoring::ProviderSummary;

/// A workbook fetched from a connector, remembered for write-back.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The connector's name.
    pub connector: String,
    /// Where it was saved for scoring.
    pub path: PathBuf,
    /// Where it lives at the vendor, stable between runs
    /// (`connector/supplier-id/file name`).
    pub key: String,
    /// The supplier record it belongs to.
    pub parent: Option<serde_json::Value>,
}

/// A fetch or write-back that failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// A connector definition was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A request failed.
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    /// The connector cannot be scored.
    #[error("connector '{0}' has no file stream (a stream with `file`) to score")]
    NoFileStream(String),
    /// Local files.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExchangeError + '_ {
    move |source| ExchangeError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A file name safe on every file system, keeping what it can of `name`.
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Fetches the workbooks of every file stream of the connector `name` into
/// `dir/<name>/<supplier id>/<file name>`.
pub async fn fetch_workbooks(connectors: &Path, name: &str, dir: &Path) -> Result<Vec<Fetched>, ExchangeError> {
    let connector = Connector::find(connectors, name)?;
    let folder = dir.join(crate::model::slug(name));
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let streams: Vec<_> = connector.streams.iter().filter(|s| s.file.is_some()).cloned().collect();
    if streams.is_empty() {
        return Err(ExchangeError::NoFileStream(name.to_owned()));
    }
    let client = Client::new(connector, Redactor::default())?;
    let mut fetched = Vec::new();
    for stream in &streams {
        for (i, file) in fetch_files(&client, stream, None).await?.into_iter().enumerate() {
            let parent = file
                .parent
                .as_ref()
                .and_then(|p| p.get("id"))
                .map(|id| id.to_string().trim_matches('"').to_owned())
                .unwrap_or_else(|| i.to_string());
            let safe = safe_name(&file.name);
            // One folder per supplier keeps the file's own name, which the
            // annotated copy (and its write-back) is named after.
            let sub = folder.join(safe_name(&parent));
            std::fs::create_dir_all(&sub).map_err(io(&sub))?;
            let mut path = sub.join(&safe);
            if path.exists() {
                path = sub.join(format!("{i}-{safe}"));
            }
            std::fs::write(&path, &file.bytes).map_err(io(&path))?;
            fetched.push(Fetched {
                connector: name.to_owned(),
                key: format!(
                    "{name}/{}/{}",
                    stream.name,
                    path.strip_prefix(&folder).unwrap_or(&path).display()
                ),
                path,
                parent: file.parent,
            });
        }
    }
    tracing::info!(connector = %name, files = fetched.len(), "workbooks fetched");
    Ok(fetched)
}

/// The tier summary written back beside an annotated workbook.
fn summary_text(providers: &[&ProviderSummary], as_of: chrono::NaiveDate, file_name: &str) -> String {
    let text = providers
        .iter()
        .map(|p| {
            let r = &p.rollup;
            format!(
                "{}: {} ready, {} conditional, {} coverage only, {} not capable, {} not offered; {} countries claimed",
                p.name, r.ready, r.conditional, r.coverage_only, r.not_capable, r.not_offered, r.countries_claimed
            )
        })
        .collect::<Vec<_>>()
        .join(" | ");
    format!("iorready: readiness as of {as_of}. {text} (annotated workbook: {file_name})")
}

/// Writes one fetched workbook's results back through its connector (or says
/// what it would write): one line per write. Nothing is written for a
/// workbook that was not scored, or a connector with write-back off.
pub async fn write_back_one(
    connectors: &Path,
    fetched: &Fetched,
    summary: &RunSummary,
    as_of: chrono::NaiveDate,
    dry_run: bool,
) -> Result<Vec<String>, ExchangeError> {
    let connector = Connector::find(connectors, &fetched.connector)?;
    if connector.writeback.iter().all(|w| !w.enabled) {
        return Ok(Vec::new());
    }
    let Some((_, annotated)) = summary.annotated_for.iter().find(|(input, _)| *input == fetched.path) else {
        return Ok(Vec::new());
    };
    let providers: Vec<&ProviderSummary> = summary.results.iter().filter(|r| r.source == fetched.path).collect();
    let file_name = annotated
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let item = WritebackItem {
        parent: fetched.parent.clone(),
        file_name: file_name.clone(),
        content: std::fs::read(annotated).map_err(io(annotated))?,
        summary: summary_text(&providers, as_of, &file_name),
    };
    let client = Client::new(connector, Redactor::default())?;
    Ok(write_back(&client, std::slice::from_ref(&item), dry_run).await?)
}
