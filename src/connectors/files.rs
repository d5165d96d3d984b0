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
    /// Its bytes (none for a deletion).
    pub bytes: Vec<u8>,
    /// The record says the file was deleted (a delta listing): it has no
    /// bytes, and leaves whatever mirror holds it.
    pub deleted: bool,
}

/// Replaces each `{record:/pointer}` in `template` with that value of
/// `record`.
fn fill_record(template: &str, record: &Value) -> Result<String, String> {
    let mut out = template.to_owned();
    while let Some(start) = out.find("{record:") {
        let end = out[start..]
            .find('}')
            .map(|e| start + e)
            .ok_or_else(|| format!("unclosed '{{record:' in '{template}'"))?;
        let pointer = &out[start + "{record:".len()..end];
        let value = record
            .pointer(pointer)
            .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
            .ok_or_else(|| format!("the record has no '{pointer}'"))?;
        out.replace_range(start..=end, &value);
    }
    Ok(out)
}

/// The records a child `stream` is read for: every record of its parent
/// stream `parent_name`, itself read as a tree.
async fn parent_records(client: &Client, stream: &Stream, parent_name: &str) -> Result<Vec<Value>, ConnectorError> {
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
    let tree = Box::pin(read_tree(client, &parent_stream, None)).await?;
    Ok(tree.into_iter().map(|(_, parent)| parent).collect())
}

/// Every record of `stream`, with the parent record it was read for (a
/// child stream is read once per record of its parent).
pub async fn read_tree(
    client: &Client,
    stream: &Stream,
    limit: Option<usize>,
) -> Result<Vec<(Option<Value>, Value)>, ConnectorError> {
    let Some(parent_name) = &stream.parent else {
        let out = read_stream(client, stream, None, limit).await?;
        return Ok(out.records.into_iter().map(|r| (None, r)).collect());
    };
    let parents = parent_records(client, stream, parent_name).await?;
    let mut out = Vec::new();
    if limit.is_some() || client.connector().limits.concurrency == 1 {
        // One parent after another, stopping as soon as `limit` is met.
        for parent in parents {
            let left = limit.map(|l| l.saturating_sub(out.len()));
            if left == Some(0) {
                break;
            }
            let children = read_stream(client, stream, Some(&parent), left).await?;
            out.extend(children.records.into_iter().map(|r| (Some(parent.clone()), r)));
        }
        return Ok(out);
    }
    // Several parents' children at once, up to the connector's concurrency,
    // kept in the parents' order; the first failure ends the read.
    let reads = futures_util::stream::iter(parents.into_iter().map(|parent| async move {
        let children = read_stream(client, stream, Some(&parent), None).await?;
        Ok::<_, ConnectorError>((parent, children.records))
    }))
    .buffered(client.connector().limits.concurrency);
    futures_util::pin_mut!(reads);
    while let Some(read) = reads.next().await {
        let (parent, records) = read?;
        out.extend(records.into_iter().map(|r| (Some(parent.clone()), r)));
    }
    Ok(out)
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

/// Hands each file a file stream points at to `on_file`, in order. A child
/// stream is read parent by parent (up to the connector's concurrency at
/// once), so memory holds a few parents' files, never the whole listing's.
pub async fn for_each_file<E: From<ConnectorError>>(
    client: &Client,
    stream: &Stream,
    mut on_file: impl FnMut(ConnectorFile) -> Result<(), E>,
) -> Result<(), E> {
    let Some(spec) = &stream.file else {
        return Ok(());
    };
    let Some(parent_name) = &stream.parent else {
        for record in read_stream(client, stream, None, None).await?.records {
            if let Some(f) = to_file(client, stream, spec, None, record).await? {
                on_file(f)?;
            }
        }
        return Ok(());
    };
    let parents = parent_records(client, stream, parent_name).await?;
    let reads = futures_util::stream::iter(parents.into_iter().map(|parent| async move {
        let children = read_stream(client, stream, Some(&parent), None).await?;
        let mut files = Vec::new();
        for record in children.records {
            if let Some(f) = to_file(client, stream, spec, Some(parent.clone()), record).await? {
                files.push(f);
            }
        }
        Ok::<_, ConnectorError>(files)
    }))
    .buffered(client.connector().limits.concurrency);
    futures_util::pin_mut!(reads);
    while let Some(files) = reads.next().await {
        for f in files? {
            on_file(f)?;
        }
    }
    Ok(())
}

/// The file a record points at: downloaded or decoded, or a deletion;
/// `None` for a record that is not a workbook (a folder, a PDF).
async fn to_file(
    client: &Client,
    stream: &Stream,
    spec: &super::config::FileSpec,
    parent: Option<Value>,
    record: Value,
) -> Result<Option<ConnectorFile>, ConnectorError> {
    let error = |message: String| ConnectorError {
        connector: client.connector().name.clone(),
        stream: stream.name.clone(),
        method: "GET".into(),
        url: "-".into(),
        message,
    };
    if spec
        .deleted
        .as_ref()
        .is_some_and(|p| record.pointer(p).is_some_and(|v| !v.is_null()))
    {
        return Ok(Some(ConnectorFile {
            name: record
                .pointer(&spec.name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            parent,
            record,
            bytes: Vec::new(),
            deleted: true,
        }));
    }
    let name = record
        .pointer(&spec.name)
        .and_then(Value::as_str)
        .unwrap_or("attachment")
        .to_owned();
    // A file stream is for workbooks: folders, PDFs and the like in the
    // same listing are passed over.
    if !crate::sources::is_spreadsheet_name(std::path::Path::new(&name)) {
        tracing::debug!(connector = %client.connector().name, stream = %stream.name, %name, "not a spreadsheet; skipped");
        return Ok(None);
    }
    let bytes = if let Some(p) = &spec.content {
        let text = record
            .pointer(p)
            .and_then(Value::as_str)
            .ok_or_else(|| error(format!("record '{name}' has no base64 content at '{p}'")))?;
        // Some APIs wrap base64 in lines.
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| error(format!("record '{name}': content at '{p}' is not base64: {e}")))?
    } else if let Some(p) = &spec.url {
        let link = record
            .pointer(p)
            .and_then(Value::as_str)
            .ok_or_else(|| error(format!("record '{name}' has no download URL at '{p}'")))?;
        let url = client
            .connector()
            .base_url
            .join(link)
            .map_err(|e| error(format!("'{link}' is not a URL: {e}")))?;
        client.get(&stream.name, url).await?.1
    } else if let Some(template) = &spec.download_path {
        let path = fill_record(template, &record).map_err(|e| error(format!("record '{name}': {e}")))?;
        let mut base = client.connector().base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let url = base
            .join(path.trim_start_matches('/'))
            .map_err(|e| error(format!("'{path}' does not make a URL: {e}")))?;
        client.get(&stream.name, url).await?.1
    } else {
        return Ok(None);
    };
    Ok(Some(ConnectorFile {
        name,
        parent,
        record,
        bytes,
        deleted: false,
    }))
}
