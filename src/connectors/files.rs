//! File streams: records that point at workbooks (attachments, drive
//! items), fetched so they can be scored like files from a folder.

use base64::Engine;
use futures_util::StreamExt;
use serde_json::Value;

use super::client::{Client, ConnectorError};
use super::config::Stream;
use super::paging::read_stream;

/// A workbook fetched from a connector.
#[derive(Debug, Clone)]
pub struct ConnectorFile {
    /// The file name the API gives.
    pub name: String,
    /// The parent record (the supplier) it belongs to, if any.
    pub parent: Option<Value>,
    /// The record that pointed at it.
    pub record: Value,
    /// Its bytes (none for a deletion or a file not fetched).
    pub bytes: Vec<u8>,
    /// The file leaves whatever mirror holds it under its parent, and has
    /// no bytes: the record says it was deleted (a delta listing), it is
    /// not (or no longer) a workbook, or a resumed delta listing's filter
    /// passed over it (moved out of the watched folder).
    pub deleted: bool,
    /// Why the file could not be fetched, when it could not (its download
    /// refused or too large, its content not base64): it has no bytes, and
    /// any copy fetched earlier stays as it was.
    pub failed: Option<String>,
    /// The HTTP status its download was refused with, when it was: a 401,
    /// 403 or 5xx says more about the API or the credentials than the
    /// file.
    pub failed_status: Option<u16>,
}

impl ConnectorFile {
    /// A record whose file leaves the mirror.
    fn removal(name: String, parent: Option<Value>, record: Value) -> Self {
        Self {
            name,
            parent,
            record,
            bytes: Vec::new(),
            deleted: true,
            failed: None,
            failed_status: None,
        }
    }
}

/// Replaces each `{record:/pointer}` in the URL path `template` with that
/// value of `record`, percent-encoded as a path segment.
fn fill_record(template: &str, record: &Value) -> Result<String, String> {
    super::templates::fill_template(template, super::templates::Placement::Url, &|token| {
        super::templates::pointer_token(token, "record:", Some(record), "the record")
    })
}

/// The records a child `stream` is read for: every record of its parent
/// stream `parent_name`, itself read as a tree.
pub async fn parent_records(client: &Client, stream: &Stream, parent_name: &str) -> Result<Vec<Value>, ConnectorError> {
    let parent_stream = client
        .connector()
        .stream(Some(parent_name))
        .cloned()
        .ok_or_else(|| ConnectorError {
            connector: client.connector().name.clone(),
            stream: stream.name.clone(),
            method: "-".into(),
            url: "-".into(),
            message: format!("no parent stream '{parent_name}'"),
        })?;
    // Boxed: a parent may itself be a child stream.
    let tree = Box::pin(read_tree(client, &parent_stream)).await?;
    Ok(tree.into_iter().map(|(_, parent)| parent).collect())
}

/// Every record of `stream`, with the parent record it was read for (a
/// child stream is read once per record of its parent).
pub async fn read_tree(client: &Client, stream: &Stream) -> Result<Vec<(Option<Value>, Value)>, ConnectorError> {
    let Some(parent_name) = &stream.parent else {
        let out = read_stream(client, stream, None, None).await?;
        return Ok(out.records.into_iter().map(|r| (None, r)).collect());
    };
    let parents = parent_records(client, stream, parent_name).await?;
    read_for_parents(client, stream, &parents).await
}

/// Every record of the child `stream` read for each of `parents` (records
/// of its parent stream already read), with the parent it was read for.
pub async fn read_for_parents(
    client: &Client,
    stream: &Stream,
    parents: &[Value],
) -> Result<Vec<(Option<Value>, Value)>, ConnectorError> {
    let mut out = Vec::new();
    for_each_parents_records(client, stream, parents, |parent, records| {
        out.extend(records.into_iter().map(|r| (Some(parent.clone()), r)));
        Ok::<_, ConnectorError>(())
    })
    .await?;
    Ok(out)
}

/// Reads the child `stream` for each of `parents`, several at once up to
/// the connector's concurrency (one at a time when it is 1), and hands
/// each parent's records to `each` in the parents' order, so memory holds
/// the records of at most that many parents. The first failure ends the
/// read.
pub async fn for_each_parents_records<E: From<ConnectorError>>(
    client: &Client,
    stream: &Stream,
    parents: &[Value],
    mut each: impl FnMut(&Value, Vec<Value>) -> Result<(), E>,
) -> Result<(), E> {
    let reads = futures_util::stream::iter(parents.iter().map(|parent| async move {
        let children = read_stream(client, stream, Some(parent), None).await?;
        Ok::<_, ConnectorError>((parent, children.records))
    }))
    .buffered(client.connector().limits.concurrency);
    futures_util::pin_mut!(reads);
    while let Some(read) = reads.next().await {
        let (parent, records) = read?;
        each(parent, records)?;
    }
    Ok(())
}

/// Fetches the files a file stream points at, all of them in memory; see
/// [`for_each_file`] to handle them one at a time.
pub async fn fetch_files(client: &Client, stream: &Stream) -> Result<Vec<ConnectorFile>, ConnectorError> {
    let mut files = Vec::new();
    for_each_file(client, stream, |f| {
        files.push(f);
        Ok::<_, ConnectorError>(())
    })
    .await?;
    Ok(files)
}

/// Hands each file a file stream points at to `on_file`, in order: those
/// fetched, those that leave the mirror, and those that could not be
/// fetched (see [`ConnectorFile`]); only a failed listing is an error.
/// Parents are taken a few at a time (the connector's concurrency): their
/// listings are read at once, then their files downloaded up to the
/// concurrency at once, each handed on as soon as it and those before it
/// have arrived. Memory holds at most that many files and a few parents'
/// listings, never a folder's whole set or every supplier's listing, and
/// a download URL a listing gives is used soon after it was issued.
pub async fn for_each_file<E: From<ConnectorError>>(
    client: &Client,
    stream: &Stream,
    mut on_file: impl FnMut(ConnectorFile) -> Result<(), E>,
) -> Result<(), E> {
    let Some(spec) = &stream.file else {
        return Ok(());
    };
    let parents: Vec<Option<Value>> = match &stream.parent {
        None => vec![None],
        Some(parent_name) => {
            let parents = parent_records(client, stream, parent_name).await?;
            parents.into_iter().map(Some).collect()
        }
    };
    // A link an older iorready saved for the whole stream was taken for
    // its only parent's; with several parents now, whose it was is
    // unknown, so each lists its stream whole once.
    if parents.len() != 1 {
        client.drop_adopted_links(&stream.name);
    }
    let concurrency = client.connector().limits.concurrency.max(1);
    for group in parents.chunks(concurrency) {
        let listings = futures_util::stream::iter(group.iter().cloned().map(|parent| async move {
            let read = read_stream(client, stream, parent.as_ref(), None).await?;
            Ok::<_, ConnectorError>((parent, read))
        }))
        .buffered(concurrency);
        futures_util::pin_mut!(listings);
        // Each parent's records, in order: those its filter passed over
        // first (they leave the mirror), then those it lists.
        let mut work: Vec<(Option<Value>, Value, bool)> = Vec::new();
        while let Some(listing) = listings.next().await {
            let (parent, read) = listing?;
            work.extend(read.passed_over.into_iter().map(|r| (parent.clone(), r, true)));
            work.extend(read.records.into_iter().map(|r| (parent.clone(), r, false)));
        }
        let files = futures_util::stream::iter(work.into_iter().map(|(parent, record, passed_over)| async move {
            if passed_over {
                return Some(ConnectorFile::removal(file_name(spec, &record), parent, record));
            }
            to_file(client, stream, spec, parent, record).await
        }))
        .buffered(concurrency);
        futures_util::pin_mut!(files);
        while let Some(file) = files.next().await {
            if let Some(f) = file {
                on_file(f)?;
            }
        }
    }
    Ok(())
}

/// The file name a record gives, if any.
fn file_name(spec: &super::config::FileSpec, record: &Value) -> String {
    record
        .pointer(&spec.name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The file a record points at: downloaded or decoded, a removal (deleted,
/// or not a workbook: a folder, a PDF), or why it could not be fetched;
/// `None` for a file stream that says neither content nor download.
async fn to_file(
    client: &Client,
    stream: &Stream,
    spec: &super::config::FileSpec,
    parent: Option<Value>,
    record: Value,
) -> Option<ConnectorFile> {
    if spec
        .deleted
        .as_ref()
        .is_some_and(|p| record.pointer(p).is_some_and(|v| !v.is_null()))
    {
        return Some(ConnectorFile::removal(file_name(spec, &record), parent, record));
    }
    let name = record
        .pointer(&spec.name)
        .and_then(Value::as_str)
        .unwrap_or("attachment")
        .to_owned();
    // A file stream is for workbooks: folders, PDFs and the like in the
    // same listing are passed over, and a workbook renamed to something
    // else leaves the mirror.
    if !crate::sources::is_spreadsheet_name(std::path::Path::new(&name)) {
        tracing::debug!(connector = %client.connector().name, stream = %stream.name, %name, "not a spreadsheet; skipped");
        return Some(ConnectorFile::removal(name, parent, record));
    }
    let bytes = match file_bytes(client, stream, spec, &name, &record).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        Err((reason, status)) => {
            // One file that cannot be had must not keep the others from
            // being scored: it is reported, not raised.
            tracing::warn!(connector = %client.connector().name, stream = %stream.name, file = %name, "not fetched: {reason}");
            return Some(ConnectorFile {
                name,
                parent,
                record,
                bytes: Vec::new(),
                deleted: false,
                failed: Some(reason),
                failed_status: status,
            });
        }
    };
    Some(ConnectorFile {
        name,
        parent,
        record,
        bytes,
        deleted: false,
        failed: None,
        failed_status: None,
    })
}

/// The bytes of the workbook `name` that `record` points at: its base64
/// content, a download, or the base64 content of a downloaded JSON answer;
/// `None` when the spec says none of them; an error says why it cannot be
/// had, with the HTTP status of a refused download.
async fn file_bytes(
    client: &Client,
    stream: &Stream,
    spec: &super::config::FileSpec,
    name: &str,
    record: &Value,
) -> Result<Option<Vec<u8>>, (String, Option<u16>)> {
    let no_status = |reason: String| (reason, None);
    let Some(url) = download_url(client, spec, record).map_err(no_status)? else {
        return match &spec.content {
            Some(p) => decode_content(record, p, "").map(Some).map_err(no_status),
            None => Ok(None),
        };
    };
    tracing::debug!(connector = %client.connector().name, stream = %stream.name, file = %name, "downloading");
    let Some(p) = &spec.content else {
        return match client.get(&stream.name, url).await {
            Ok((_, bytes)) => Ok(Some(bytes)),
            Err(e) => Err(refused(e)),
        };
    };
    // One answer per file, so the body limit applies to each file on its
    // own, and no page of several files' base64 is ever read at once.
    match client.get_json(&stream.name, url).await {
        Ok(page) => decode_content(&page.body, p, " of the downloaded answer")
            .map(Some)
            .map_err(no_status),
        Err(e) => Err(refused(e)),
    }
}

/// Why a download failed, and the HTTP status it was refused with.
fn refused(e: ConnectorError) -> (String, Option<u16>) {
    let status = e.status();
    (e.message, status)
}

/// The URL a record's file is downloaded from, if the spec downloads it.
fn download_url(
    client: &Client,
    spec: &super::config::FileSpec,
    record: &Value,
) -> Result<Option<reqwest::Url>, String> {
    if let Some(p) = &spec.url {
        let link = record
            .pointer(p)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("no download URL at '{p}'"))?;
        return client
            .connector()
            .base_url
            .join(link)
            .map(Some)
            .map_err(|e| format!("the download URL is not a URL: {e}"));
    }
    let Some(template) = &spec.download_path else {
        return Ok(None);
    };
    let path = fill_record(template, record)?;
    let mut base = client.connector().base_url.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path.trim_start_matches('/'))
        .map(Some)
        .map_err(|e| format!("'{path}' does not make a URL: {e}"))
}

/// The bytes of the base64 text at pointer `p` of `value`; `within` says
/// where `value` came from in errors (nothing for the record itself).
fn decode_content(value: &Value, p: &str, within: &str) -> Result<Vec<u8>, String> {
    let text = value
        .pointer(p)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no base64 content at '{p}'{within}"))?;
    // Some APIs wrap base64 in lines.
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| format!("the content at '{p}'{within} is not base64: {e}"))
}
