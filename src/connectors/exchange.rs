//! A run's exchange with its connectors: the workbooks of their file streams
//! fetched into a folder to be scored like any other (saved in the mirror,
//! see `mirror`), with what could not be fetched and the cursors to resume
//! from.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::mirror::{
    forget_moved_and_deleted, id_text, mirrored, move_aside, safe_name, save, write_sidecar, Fetched, Gone,
    MirrorNames, SupplierFolders, TOP_LEVEL,
};
use super::{for_each_file, Client, Connector, ConnectorError, Redactor};
use crate::config::ConfigError;

/// A file a connector's listing named that could not be fetched this run:
/// any copy fetched earlier stays in the mirror and is scored as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFetched {
    /// The connector's name.
    pub connector: String,
    /// The file's name at the vendor.
    pub file: String,
    /// Why: the API's answer to its download, or what is wrong with it.
    pub reason: String,
    /// The HTTP status its download was refused with, if it was.
    pub status: Option<u16>,
}

impl NotFetched {
    /// How a run lists it among the inputs not scored (file, message): the
    /// same in `score --connector`, `run` and the daemon.
    pub fn as_run_error(&self) -> (String, String) {
        (
            format!("{} (connector '{}')", self.file, self.connector),
            format!("not fetched: {}", self.reason),
        )
    }
}

/// What one connector's fetch brought.
#[derive(Debug, Default)]
pub struct FetchOutcome {
    /// The workbooks fetched, and the earlier copies kept of those that
    /// could not be fetched this run.
    pub files: Vec<Fetched>,
    /// For each incremental or delta stream read completely: the cursor its
    /// records reached (RFC 3339) or the delta link it ended with (under
    /// its delta key: the stream's name, or `stream@parent id` for a
    /// stream read per parent), to save once they are stored and written
    /// back. None when a file could not be fetched: the next run reads
    /// from the same cursors, and tries it again.
    pub cursors: Vec<(String, String)>,
    /// True when every stream was read from its start (no cursor, or a
    /// delta link the API said has expired): the files are the vendor's
    /// whole set, so a mirror may drop the others.
    pub complete: bool,
    /// The files that could not be fetched, to report as not scored.
    pub not_fetched: Vec<NotFetched>,
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
    #[error("connector '{0}' has no file stream (a stream with `file`) and no records mapping to score")]
    NoFileStream(String),
    /// The connector's records mapping is missing or reads workbooks.
    #[error("{0}")]
    Mapping(String),
    /// A full listing none of whose files could be fetched, when several
    /// were tried or each was refused with 401, 403 or 5xx: more likely the
    /// API or the credentials than the files; the mirror is kept.
    #[error("connector '{connector}': none of the {count} files listed could be fetched (first: '{file}': {reason})")]
    NothingFetched {
        /// The connector.
        connector: String,
        /// How many files were tried.
        count: usize,
        /// The first file's name.
        file: String,
        /// Why it could not be fetched.
        reason: String,
    },
    /// A complete listing that came back empty where the connector
    /// brought something before: more often lost access or a changed
    /// filter than everything deleted, so nothing is removed.
    #[error("connector '{connector}' listed no {what} where {earlier} came from it before; nothing was removed, as an empty listing is more often lost access or a changed filter than everything deleted (if they really are gone, run once with --full-sync)")]
    EmptyListing {
        /// The connector.
        connector: String,
        /// What was listed (workbooks, records).
        what: &'static str,
        /// How many there were before.
        earlier: usize,
    },
    /// Local files.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExchangeError + '_ {
    move |source| ExchangeError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Fetches the workbooks of every file stream of the connector `name` into
/// `dir/<name>/<supplier id>/<file name>` (the same path for the same file on
/// every run, so `dir` can be kept as a mirror), each with a sidecar saying
/// where it came from. Streams resume from `resume` (key, saved cursor):
/// an incremental stream from its date-time, a delta listing from its
/// link (one per parent record for a child stream, keyed
/// `stream@parent id`; an expired link starts a full listing; an older
/// link saved under a child stream's name alone is resumed only by the
/// parent the mirror shows it served). Files a
/// delta listing says were deleted, renamed, moved out of the stream's
/// view or renamed to something not a workbook leave the mirror. A file
/// that cannot be fetched is reported in [`FetchOutcome::not_fetched`] and
/// its earlier copy kept; only a full listing none of whose files can be
/// fetched fails (see [`ExchangeError::NothingFetched`]). With
/// `keep_when_empty`, a full listing that comes back empty where the mirror
/// holds the connector's workbooks fails too, and leaves the mirror as it
/// is ([`ExchangeError::EmptyListing`]).
pub async fn fetch_workbooks(
    connectors: &Path,
    name: &str,
    dir: &Path,
    resume: &[(String, String)],
    keep_when_empty: bool,
) -> Result<FetchOutcome, ExchangeError> {
    let connector = Connector::find(connectors, name)?;
    let folder = dir.join(crate::model::slug(name));
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let streams: Vec<_> = connector.streams.iter().filter(|s| s.file.is_some()).cloned().collect();
    if streams.is_empty() {
        if connector.mapping.is_some() {
            return Ok(FetchOutcome {
                complete: true,
                ..Default::default()
            });
        }
        return Err(ExchangeError::NoFileStream(name.to_owned()));
    }
    let incremental: Vec<String> = connector
        .streams
        .iter()
        .filter(|s| s.incremental.is_some())
        .map(|s| s.name.clone())
        .collect();
    let delta: HashSet<String> = connector
        .streams
        .iter()
        .filter(|s| super::paging::is_delta(s))
        .map(|s| s.name.clone())
        .collect();
    // A delta key is `stream` or `stream@parent id` (an id may hold `@`).
    let is_delta_key = |key: &str| {
        delta.iter().any(|d| {
            key.strip_prefix(d.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('@'))
        })
    };
    let child_delta: HashSet<String> = connector
        .streams
        .iter()
        .filter(|s| s.parent.is_some() && super::paging::is_delta(s))
        .map(|s| s.name.clone())
        .collect();
    let client = Client::new(connector, Redactor::default())?;
    let earlier = mirrored(dir, name);
    for (key, cursor) in resume {
        if incremental.contains(key) {
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(cursor) {
                client.resume_from(key, at.to_utc());
            }
            continue;
        }
        if child_delta.contains(key) {
            // A child stream's link saved under the stream's name alone
            // (before links were kept per parent) does not say whose it
            // is. When all of the stream's mirrored files came from one
            // parent and the stream still has that one parent only (see
            // `for_each_file`), the link was that parent's, and is resumed
            // under its key. Otherwise (the job now points at another
            // folder, or nothing was mirrored) it is left unused and each
            // parent lists its stream whole once.
            match only_parent_mirrored(&earlier, key) {
                Some(id) => {
                    let keyed = format!("{key}@{id}");
                    if !resume.iter().any(|(k, _)| *k == keyed) {
                        client.adopt_legacy_link(&keyed, cursor);
                    }
                }
                None => {
                    tracing::info!(connector = %name, stream = %key, "a delta link saved without its parent, whose it was unknown; not used")
                }
            }
            continue;
        }
        if is_delta_key(key) {
            client.resume_link(key, cursor);
        }
    }
    let mut names = MirrorNames::new(&earlier);
    let mut suppliers = SupplierFolders::new(&earlier);
    let mut files: Vec<Fetched> = Vec::new();
    let mut not_fetched: Vec<NotFetched> = Vec::new();
    let mut kept: Vec<Fetched> = Vec::new();
    let mut gone = Gone::new();
    let mut tried = 0usize;
    for stream in &streams {
        // Each workbook is saved as it arrives: a large folder never sits
        // in memory whole.
        for_each_file(&client, stream, |file| {
            let record_id = id_text(&file.record);
            let parent = file
                .parent
                .as_ref()
                .and_then(id_text)
                .unwrap_or_else(|| TOP_LEVEL.to_owned());
            // One folder per supplier keeps the file's own name, which the
            // annotated copy (and its write-back) is named after.
            let sub = folder.join(suppliers.folder(&parent));
            if file.deleted {
                gone.extend(record_id.map(|id| (stream.name.clone(), sub, id)));
                return Ok(());
            }
            tried += 1;
            if let Some(reason) = file.failed {
                // The copy fetched earlier, if any, is scored as it was.
                let before = match &record_id {
                    Some(id) => names.earlier_by_record.get(&(sub.clone(), id.clone())).cloned(),
                    None => Some(sub.join(safe_name(&file.name))),
                };
                kept.extend(before.and_then(|p| earlier.iter().find(|f| f.path == p)).cloned());
                not_fetched.push(NotFetched {
                    connector: name.to_owned(),
                    file: file.name,
                    reason,
                    status: file.failed_status,
                });
                return Ok(());
            }
            std::fs::create_dir_all(&sub).map_err(io(&sub))?;
            // A record without an id is told apart by its content.
            let label = record_id
                .clone()
                .unwrap_or_else(|| blake3::hash(&file.bytes).to_hex().as_str()[..12].to_owned());
            let placed = names.place(&sub, record_id.as_deref().unwrap_or_default(), &label, &file.name);
            if let Some((from, to)) = placed.displaced {
                move_aside(&mut files, &from, &to)?;
            }
            let fetched = Fetched {
                connector: name.to_owned(),
                path: placed.path,
                parent: file.parent,
                record_id,
                stream: Some(stream.name.clone()),
            };
            save(&fetched.path, &file.bytes)?;
            write_sidecar(&fetched)?;
            files.retain(|f| f.path != fetched.path);
            files.push(fetched);
            Ok::<_, ExchangeError>(())
        })
        .await?;
    }
    let complete = !client.resumed();
    // Every download refused: the API or the credentials, more likely than
    // every file, when several were tried or each refusal says so (401,
    // 403, 5xx). A folder holding one file too large is not a broken API.
    let systemic = |n: &NotFetched| n.status.is_some_and(|s| s == 401 || s == 403 || s >= 500);
    if complete && tried > 0 && not_fetched.len() == tried && (tried >= 2 || not_fetched.iter().all(systemic)) {
        // Failing keeps the mirror as it is.
        let first = &not_fetched[0];
        return Err(ExchangeError::NothingFetched {
            connector: name.to_owned(),
            count: tried,
            file: first.file.clone(),
            reason: first.reason.clone(),
        });
    }
    if complete && keep_when_empty && files.is_empty() && not_fetched.is_empty() && !earlier.is_empty() {
        return Err(ExchangeError::EmptyListing {
            connector: name.to_owned(),
            what: "workbooks",
            earlier: earlier.len(),
        });
    }
    forget_moved_and_deleted(dir, name, &files, &gone);
    let cursors: Vec<(String, String)> = if not_fetched.is_empty() {
        let mut cursors: Vec<(String, String)> = incremental
            .iter()
            .filter_map(|s| client.cursor_reached(s).map(|c| (s.clone(), c.to_rfc3339())))
            .collect();
        cursors.extend(client.links_reached().into_iter().filter(|(key, _)| is_delta_key(key)));
        cursors
    } else {
        tracing::warn!(connector = %name, files = not_fetched.len(), "files not fetched; the cursors stay where they were, to try them again next run");
        Vec::new()
    };
    tracing::info!(connector = %name, files = files.len(), not_fetched = not_fetched.len(), complete, "workbooks fetched");
    files.extend(kept);
    Ok(FetchOutcome {
        files,
        cursors,
        complete,
        not_fetched,
    })
}

/// The id of the one parent record whose files of `stream` the mirror
/// holds (files from before sidecars named their stream count as any
/// stream's); `None` when it holds none, or several parents' files.
fn only_parent_mirrored(earlier: &[Fetched], stream: &str) -> Option<String> {
    let mut ids = earlier
        .iter()
        .filter(|f| f.stream.as_deref().is_none_or(|s| s == stream))
        .map(|f| f.parent.as_ref().and_then(id_text));
    let first = ids.next()??;
    ids.all(|id| id.as_deref() == Some(first.as_str())).then_some(first)
}
