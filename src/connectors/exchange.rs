//! A run's exchange with its connectors: the workbooks of their file streams
//! fetched into a folder to be scored like any other, and each one's results
//! written back to the record it came from.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{for_each_file, read_tree, write_back, Client, Connector, ConnectorError, Redactor, WritebackItem};
use crate::config::ConfigError;
use crate::pipeline::RunSummary;
use crate::scoring::ProviderSummary;

/// A workbook fetched from a connector, remembered for write-back.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Fetched {
    /// The connector's name.
    pub connector: String,
    /// Where it was saved for scoring. In its sidecar, only its file name:
    /// the sidecar sits beside it, so a state folder that moves keeps its
    /// mirror.
    pub path: PathBuf,
    /// The supplier record it belongs to.
    pub parent: Option<serde_json::Value>,
    /// The id of the record that pointed at it (a drive item's id), which
    /// a delta listing names when the file is renamed or deleted.
    #[serde(default)]
    pub record_id: Option<String>,
}

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

/// What sits beside each mirrored workbook: how to write its results back.
const SIDECAR: &str = ".iorready.json";

/// The longest mirror file name, in bytes: room for the sidecar's suffix
/// and any file system's limit.
const MAX_NAME_BYTES: usize = 120;

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
    /// A full listing none of whose files could be fetched: more likely
    /// the API or the credentials than the files; the mirror is kept.
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

/// A file name safe on every file system, keeping what it can of `name`:
/// never a folder above or the folder itself, never hidden (so never taken
/// for one of iorready's own `.iorready-` temporary files and swept), and
/// at most [`MAX_NAME_BYTES`] bytes, keeping the extension.
fn safe_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    // `..`, `.` or nothing would name a folder above or the folder itself,
    // and a leading dot a hidden file: a name from an API must stay one
    // visible file inside the mirror.
    let safe = if safe.trim_matches(['.', ' ']).is_empty() || safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    };
    shorten(&safe, MAX_NAME_BYTES)
}

/// `name` cut to at most `max` bytes on a character boundary, keeping its
/// extension (up to 16 bytes of it).
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= 16 => name.split_at(i),
        _ => (name, ""),
    };
    let mut cut = max.saturating_sub(ext.len()).min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// The text of a record's `id`: a string as it is, a number as written.
fn id_text(record: &serde_json::Value) -> Option<String> {
    record
        .get("id")
        .filter(|id| !id.is_null())
        .map(super::paging::value_text)
}

/// How a mirrored file is named in its supplier's folder: its own name,
/// or `<record id>-<name>` when another record of the folder has the same
/// name. Which one keeps the plain name never depends on the order the API
/// lists them in: a file mirrored in an earlier run keeps the name its
/// sidecar records; among new ones, a clash gives each the prefixed name.
struct MirrorNames {
    /// Earlier runs' files: by (supplier folder, record id), their path.
    earlier_by_record: HashMap<(PathBuf, String), PathBuf>,
    /// Earlier runs' files: by path, the record id their sidecar names.
    earlier_holder: HashMap<PathBuf, Option<String>>,
    /// This run's claims of plain names: the record that took it (its id,
    /// empty when it has none, and its label), or `None` once two records
    /// clashed on it.
    claims: HashMap<PathBuf, Option<(String, String)>>,
}

/// Where a file goes, and an earlier file of this run to move aside.
struct Placed {
    path: PathBuf,
    /// A file saved earlier in this run under the plain name, with the
    /// path it moves to now that another record has the same name.
    displaced: Option<(PathBuf, PathBuf)>,
}

impl MirrorNames {
    fn new(earlier: &[Fetched]) -> Self {
        let mut earlier_by_record = HashMap::new();
        let mut earlier_holder = HashMap::new();
        for f in earlier {
            if let (Some(dir), Some(id)) = (f.path.parent(), &f.record_id) {
                earlier_by_record.insert((dir.to_owned(), id.clone()), f.path.clone());
            }
            earlier_holder.insert(f.path.clone(), f.record_id.clone());
        }
        Self {
            earlier_by_record,
            earlier_holder,
            claims: HashMap::new(),
        }
    }

    /// Where the file `name` of the record `id` (empty when it has none)
    /// goes in the folder `sub`; `label` prefixes its name on a clash: its
    /// id, or for a record without one a digest of its content.
    fn place(&mut self, sub: &Path, id: &str, label: &str, name: &str) -> Placed {
        let plain = sub.join(safe_name(name));
        let prefixed = |label: &str| sub.join(safe_name(&format!("{label}-{name}")));
        let mine = prefixed(label);
        let kept = |path: PathBuf| Placed { path, displaced: None };
        if let Some(before) = self.earlier_by_record.get(&(sub.to_owned(), id.to_owned())) {
            if *before == plain || *before == mine {
                return kept(before.clone());
            }
        }
        // Without ids, the record that held the name before is taken to be
        // this one: nothing tells them apart.
        if self
            .earlier_holder
            .get(&plain)
            .is_some_and(|holder| holder.as_deref().unwrap_or_default() != id)
        {
            return kept(mine);
        }
        match self.claims.get(&plain) {
            None => {
                self.claims
                    .insert(plain.clone(), Some((id.to_owned(), label.to_owned())));
                kept(plain)
            }
            // The same record listed twice (a delta listing may).
            Some(Some((first, first_label))) if *first == id && (!id.is_empty() || first_label == label) => kept(plain),
            Some(Some((_, first_label))) => {
                let moved = prefixed(first_label);
                self.claims.insert(plain.clone(), None);
                Placed {
                    path: mine,
                    displaced: Some((plain, moved)),
                }
            }
            Some(None) => kept(mine),
        }
    }
}

/// Fetches the workbooks of every file stream of the connector `name` into
/// `dir/<name>/<supplier id>/<file name>` (the same path for the same file on
/// every run, so `dir` can be kept as a mirror), each with a sidecar saying
/// where it came from. Streams resume from `resume` (key, saved cursor):
/// an incremental stream from its date-time, a delta listing from its
/// link (one per parent record for a child stream, keyed
/// `stream@parent id`; an expired link starts a full listing). Files a
/// delta listing says were deleted, renamed, moved out of the stream's
/// view or renamed to something not a workbook leave the mirror. A file
/// that cannot be fetched is reported in [`FetchOutcome::not_fetched`] and
/// its earlier copy kept; only a full listing none of whose files can be
/// fetched fails.
pub async fn fetch_workbooks(
    connectors: &Path,
    name: &str,
    dir: &Path,
    resume: &[(String, String)],
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
    let client = Client::new(connector, Redactor::default())?;
    for (key, cursor) in resume {
        if incremental.contains(key) {
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(cursor) {
                client.resume_from(key, at.to_utc());
            }
            continue;
        }
        // A child stream's link saved under the stream's name alone (before
        // links were kept per parent) is taken up by its only parent, if it
        // has just one; see `for_each_file`.
        if is_delta_key(key) {
            client.resume_link(key, cursor);
        }
    }
    let earlier = mirrored(dir, name);
    let mut names = MirrorNames::new(&earlier);
    let mut files: Vec<Fetched> = Vec::new();
    let mut not_fetched: Vec<NotFetched> = Vec::new();
    let mut kept: Vec<Fetched> = Vec::new();
    let mut gone: HashSet<(PathBuf, String)> = HashSet::new();
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
                // Files of a top-level stream share one folder; the listing's
                // order may change, so not one numbered by position.
                .unwrap_or_else(|| "files".to_owned());
            // One folder per supplier keeps the file's own name, which the
            // annotated copy (and its write-back) is named after.
            let sub = folder.join(safe_name(&parent));
            if file.deleted {
                gone.extend(record_id.map(|id| (sub, id)));
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
    if complete && tried > 0 && not_fetched.len() == tried {
        // Every download refused: the API or the credentials, more likely
        // than every file. Failing keeps the mirror as it is.
        let first = &not_fetched[0];
        return Err(ExchangeError::NothingFetched {
            connector: name.to_owned(),
            count: tried,
            file: first.file.clone(),
            reason: first.reason.clone(),
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

/// Moves a file saved earlier in this run, and its sidecar, from `from` to
/// `to`: another record of its folder turned out to have the same name.
fn move_aside(files: &mut [Fetched], from: &Path, to: &Path) -> Result<(), ExchangeError> {
    let Some(f) = files.iter_mut().find(|f| f.path == from) else {
        return Ok(());
    };
    std::fs::rename(from, to).map_err(io(from))?;
    let _ = std::fs::remove_file(sidecar_path(from));
    f.path = to.to_owned();
    write_sidecar(f)
}

/// Writes the sidecar of a mirrored file, naming the file relative to
/// itself.
fn write_sidecar(fetched: &Fetched) -> Result<(), ExchangeError> {
    let sidecar = sidecar_path(&fetched.path);
    let relative = Fetched {
        path: PathBuf::from(fetched.path.file_name().unwrap_or_default()),
        ..fetched.clone()
    };
    let bytes = serde_json::to_vec(&relative).map_err(|e| ExchangeError::Io {
        path: sidecar.clone(),
        source: std::io::Error::other(e),
    })?;
    save(&sidecar, &bytes)
}

fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(SIDECAR);
    path.with_file_name(name)
}

/// Writes a fetched file whole or not at all: a run killed mid-write must
/// not leave half a workbook in a mirror.
fn save(path: &Path, bytes: &[u8]) -> Result<(), ExchangeError> {
    crate::sinks::write_atomically(path, |tmp| {
        std::io::Write::write_all(tmp, bytes).map_err(|source| crate::sinks::SinkError::Io {
            path: path.to_owned(),
            source,
        })
    })
    .map_err(|e| ExchangeError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Removes from the mirror the files a delta listing said left their
/// supplier's folder (`gone`: the folder and the record id: deleted,
/// moved out of the stream's view, no longer a workbook), and the old
/// copies of files fetched again under a new name (same record id, other
/// path).
fn forget_moved_and_deleted(dir: &Path, name: &str, fetched: &[Fetched], gone: &HashSet<(PathBuf, String)>) {
    if gone.is_empty() && fetched.iter().all(|f| f.record_id.is_none()) {
        return;
    }
    let mut current: HashMap<&str, HashSet<&Path>> = HashMap::new();
    for f in fetched {
        if let Some(id) = f.record_id.as_deref() {
            current.entry(id).or_default().insert(f.path.as_path());
        }
    }
    for old in mirrored(dir, name) {
        let Some(id) = old.record_id.as_deref() else { continue };
        let fetched_now = current.get(id).is_some_and(|paths| paths.contains(old.path.as_path()));
        if fetched_now {
            continue;
        }
        let deleted = old
            .path
            .parent()
            .is_some_and(|sub| gone.contains(&(sub.to_owned(), id.to_owned())));
        let moved = current.contains_key(id);
        if deleted || moved {
            tracing::info!(connector = %name, file = %old.path.display(), deleted, "removed from the mirror");
            let _ = std::fs::remove_file(&old.path);
            let _ = std::fs::remove_file(sidecar_path(&old.path));
        }
    }
}

/// Every workbook mirrored in `dir/<name>/` with its sidecar. Each one's
/// path is the sidecar's own, less its suffix: what the sidecar says is
/// not trusted to point anywhere else, and the mirror may have moved.
pub fn mirrored(dir: &Path, name: &str) -> Vec<Fetched> {
    let folder = dir.join(crate::model::slug(name));
    let mut out = Vec::new();
    let mut stack = vec![folder];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let file_name = entry.file_name();
            let Some(workbook) = file_name.to_str().and_then(|n| n.strip_suffix(SIDECAR)) else {
                continue;
            };
            let parsed: Option<Fetched> = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
            if let Some(mut f) = parsed {
                f.path = d.join(workbook);
                if f.path.is_file() {
                    out.push(f);
                }
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Removes from the mirror `dir/<name>/` every workbook not in `keep` (the
/// vendor no longer has it), with its sidecar.
pub fn prune_mirror(dir: &Path, name: &str, keep: &[Fetched]) {
    let keep: HashSet<&Path> = keep.iter().map(|f| f.path.as_path()).collect();
    for f in mirrored(dir, name) {
        if !keep.contains(f.path.as_path()) {
            tracing::info!(connector = %name, file = %f.path.display(), "no longer at the vendor; removed from the mirror");
            let _ = std::fs::remove_file(&f.path);
            let _ = std::fs::remove_file(sidecar_path(&f.path));
        }
    }
}

/// Records of a connector that names a records `mapping`, saved as one
/// JSON document to score.
#[derive(Debug, Clone)]
pub struct FetchedRecords {
    /// The JSON document.
    pub path: PathBuf,
    /// The mapping to read it with.
    pub mapping: String,
    /// How many records.
    pub count: usize,
}

/// When the connector `name` names a records `mapping`: reads its first
/// top-level stream without files in full, nests the records of its child
/// streams (without files) in each record under the child's name, and
/// saves the records at the mapping's records pointer in
/// `dir/<name>/records.json`. A full read
/// each time: the document must hold every supplier, and an unchanged one
/// is then recognised by its content.
pub async fn fetch_records(
    connectors: &Path,
    name: &str,
    dir: &Path,
    mappings: &crate::mapping::MappingSet,
) -> Result<Option<FetchedRecords>, ExchangeError> {
    let connector = Connector::find(connectors, name)?;
    let Some(mapping_name) = connector.mapping.clone() else {
        return Ok(None);
    };
    let mapping = mappings.mappings().iter().find(|m| m.name == mapping_name).ok_or_else(|| {
        ExchangeError::Mapping(format!(
            "connector '{name}' names mapping '{mapping_name}', which is not among the mappings (add its file to the mappings folder)"
        ))
    })?;
    let crate::mapping::Layout::Records { records: pointer, .. } = &mapping.countries.layout else {
        return Err(ExchangeError::Mapping(format!(
            "connector '{name}': mapping '{mapping_name}' reads workbooks, not records"
        )));
    };
    let Some(stream) = connector
        .streams
        .iter()
        .find(|s| s.file.is_none() && s.parent.is_none())
        .cloned()
    else {
        return Err(ExchangeError::Mapping(format!(
            "connector '{name}' has a mapping but no top-level stream of records"
        )));
    };
    let children: Vec<_> = connector
        .streams
        .iter()
        .filter(|s| s.file.is_none() && s.parent.as_deref() == Some(stream.name.as_str()))
        .cloned()
        .collect();
    let client = Client::new(connector, Redactor::default())?;
    let mut records: Vec<serde_json::Value> = read_tree(&client, &stream, None)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    // Child streams (a supplier's answers) are nested in each record under
    // the child stream's name, so a mapping reads them as the record's own.
    for child in &children {
        let mut by_parent: std::collections::HashMap<String, Vec<serde_json::Value>> = Default::default();
        for (parent, record) in read_tree(&client, child, None).await? {
            let key = parent.as_ref().map(record_key).unwrap_or_default();
            by_parent.entry(key).or_default().push(record);
        }
        for record in &mut records {
            let nested = by_parent.remove(&record_key(record)).unwrap_or_default();
            if let serde_json::Value::Object(map) = record {
                map.insert(child.name.clone(), serde_json::Value::Array(nested));
            }
        }
    }
    let count = records.len();
    let mut doc = serde_json::Value::Null;
    place(&mut doc, pointer, serde_json::Value::Array(records));
    let folder = dir.join(crate::model::slug(name));
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let path = folder.join("records.json");
    let bytes = serde_json::to_vec(&doc).map_err(|e| ExchangeError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    save(&path, &bytes)?;
    tracing::info!(connector = %name, stream = %stream.name, records = count, "records fetched");
    Ok(Some(FetchedRecords {
        path,
        mapping: mapping_name,
        count,
    }))
}

/// What identifies a parent record: its `id` when it has one (the record
/// may have changed between the parent's two reads), else all of it.
fn record_key(record: &serde_json::Value) -> String {
    match record.get("id") {
        Some(id) => format!("id:{id}"),
        None => record.to_string(),
    }
}

/// Puts `value` at the JSON pointer `pointer` in `doc`, creating objects
/// on the way (`/suppliers` makes `{"suppliers": value}`).
fn place(doc: &mut serde_json::Value, pointer: &str, value: serde_json::Value) {
    let mut at = doc;
    for token in pointer.split('/').skip(1) {
        let key = token.replace("~1", "/").replace("~0", "~");
        if !at.is_object() {
            *at = serde_json::Value::Object(Default::default());
        }
        let serde_json::Value::Object(map) = at else { return };
        at = map.entry(key).or_insert(serde_json::Value::Null);
    }
    *at = value;
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

/// The values a fields write-back may place in the supplier record: counts
/// per tier and coverage class, the countries ready, the best tier, the
/// share of claimed countries that are capable, and the as-of date. A
/// workbook holding several providers adds their counts up.
fn field_values(providers: &[&ProviderSummary], as_of: chrono::NaiveDate) -> Vec<(String, String)> {
    let sum = |f: &dyn Fn(&crate::scoring::Rollup) -> usize| providers.iter().map(|p| f(&p.rollup)).sum::<usize>();
    let ready = sum(&|r| r.ready);
    let conditional = sum(&|r| r.conditional);
    let claimed: u64 = providers.iter().map(|p| u64::from(p.rollup.countries_claimed)).sum();
    let mut ready_countries: Vec<&str> = providers
        .iter()
        .flat_map(|p| p.tiers.iter())
        .filter(|(_, t)| *t == crate::scoring::Tier::Ready)
        .map(|(c, _)| c.alpha2())
        .collect();
    ready_countries.sort_unstable();
    ready_countries.dedup();
    let best = providers
        .iter()
        .flat_map(|p| p.tiers.iter().map(|(_, t)| *t))
        .min()
        .map(|t| t.id())
        .unwrap_or("not_offered");
    let capable_share = if claimed == 0 {
        0.0
    } else {
        (ready + conditional) as f64 * 100.0 / claimed as f64
    };
    vec![
        ("as_of".into(), as_of.to_string()),
        ("ready".into(), ready.to_string()),
        ("conditional".into(), conditional.to_string()),
        ("coverage_only".into(), sum(&|r| r.coverage_only).to_string()),
        ("not_capable".into(), sum(&|r| r.not_capable).to_string()),
        ("not_offered".into(), sum(&|r| r.not_offered).to_string()),
        ("active".into(), sum(&|r| r.active).to_string()),
        ("passive".into(), sum(&|r| r.passive).to_string()),
        ("countries_claimed".into(), claimed.to_string()),
        ("ready_countries".into(), ready_countries.join(", ")),
        ("best_tier".into(), best.to_owned()),
        ("capable_share".into(), format!("{capable_share:.2}")),
    ]
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
        fields: field_values(&providers, as_of),
    };
    let client = Client::new(connector, Redactor::default())?;
    Ok(write_back(&client, std::slice::from_ref(&item), dry_run).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_from_an_api_never_leaves_its_folder() {
        for evil in ["..", ".", "", "../../etc/passwd", "a/../../b", " .. "] {
            let safe = safe_name(evil);
            assert!(
                !safe.contains('/') && !safe.trim_matches(['.', ' ']).is_empty(),
                "{evil:?} -> {safe:?}"
            );
            let p = Path::new("/mirror/x").join(&safe);
            assert_eq!(p.parent(), Some(Path::new("/mirror/x")), "{evil:?}");
        }
    }

    #[test]
    fn a_name_from_an_api_is_never_hidden_nor_taken_for_a_temporary_file() {
        for name in [".iorready-x.xlsx", ".hidden.xlsx", ".iorready-", "..x"] {
            let safe = safe_name(name);
            assert!(!safe.starts_with('.'), "{name:?} -> {safe:?}");
        }
        assert_eq!(safe_name(".iorready-x.xlsx"), "_.iorready-x.xlsx");
    }

    #[test]
    fn a_long_name_is_cut_on_a_character_boundary_keeping_its_extension() {
        let long = format!("{}.xlsx", "é".repeat(100));
        let safe = safe_name(&long);
        assert!(safe.len() <= MAX_NAME_BYTES, "{}", safe.len());
        assert!(safe.ends_with("é.xlsx"), "{safe}");
        assert_eq!(safe_name(&"a".repeat(300)).len(), MAX_NAME_BYTES);
    }

    #[test]
    fn records_clashing_on_a_name_are_named_alike_whatever_their_order() {
        let sub = Path::new("/m/c/S1");
        let names = |order: &[&str]| {
            let mut n = MirrorNames::new(&[]);
            let mut placed: Vec<(String, PathBuf)> = Vec::new();
            for id in order {
                let p = n.place(sub, id, id, "q.xlsx");
                if let Some((from, to)) = p.displaced {
                    for (_, path) in placed.iter_mut().filter(|(_, path)| *path == from) {
                        *path = to.clone();
                    }
                }
                placed.push((id.to_string(), p.path));
            }
            placed.sort();
            placed
        };
        let expected = vec![
            ("7".to_owned(), sub.join("7-q.xlsx")),
            ("8".to_owned(), sub.join("8-q.xlsx")),
        ];
        assert_eq!(names(&["7", "8"]), expected);
        assert_eq!(names(&["8", "7"]), expected);
    }

    #[test]
    fn a_name_an_earlier_run_gave_a_record_stays_its_own() {
        let sub = Path::new("/m/c/S1");
        let earlier = Fetched {
            connector: "c".into(),
            path: sub.join("q.xlsx"),
            parent: None,
            record_id: Some("7".into()),
        };
        let mut n = MirrorNames::new(&[earlier]);
        assert_eq!(n.place(sub, "8", "8", "q.xlsx").path, sub.join("8-q.xlsx"));
        let seven = n.place(sub, "7", "7", "q.xlsx");
        assert_eq!((seven.path, seven.displaced), (sub.join("q.xlsx"), None));
    }

    #[test]
    fn an_ordinary_file_name_is_kept() {
        assert_eq!(safe_name("IOR questionnaire 2026.xlsx"), "IOR questionnaire 2026.xlsx");
    }
}
