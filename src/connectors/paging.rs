//! Reading a stream page after page: offset/limit, page numbers, cursors
//! from the body or a header, next links (`@odata.nextLink`, RFC 8288
//! `Link`). A stream stops on an empty or short page or a missing next
//! cursor; a page that repeats is an error, not an endless read.

use std::collections::HashSet;

use reqwest::header::LINK;
use reqwest::Url;
use serde_json::Value;

use super::client::{Client, ConnectorError, Page};
use super::config::{Pagination, Stream};
use super::templates::{fill, fill_json, fill_url, value_text};

/// What a read produced.
#[derive(Debug, Clone, Default)]
pub struct ReadOutcome {
    /// The records, in order.
    pub records: Vec<Value>,
    /// Pages fetched.
    pub pages: u32,
    /// True when the read started from a saved delta link that the API
    /// honoured: the records are only what changed since.
    pub resumed: bool,
    /// On a resumed delta read: the records the stream's filter passed
    /// over. They changed, and are no longer what the stream shows (an
    /// item moved out of the watched folder), so whatever was taken from
    /// them before must go.
    pub passed_over: Vec<Value>,
}

/// What a read page by page produced, its records aside (they went to
/// the read's `on_page`).
#[derive(Debug, Clone, Default)]
pub struct PagedOutcome {
    /// Records handed on.
    pub records: usize,
    /// Pages fetched.
    pub pages: u32,
    /// See [`ReadOutcome::resumed`].
    pub resumed: bool,
    /// See [`ReadOutcome::passed_over`].
    pub passed_over: Vec<Value>,
}

/// The records of a page, taken out of it: the array at the stream's
/// pointer, or the one object there (a single item, such as a folder
/// looked up by its path).
fn records_of(page: &mut Page, stream: &Stream) -> Option<Vec<Value>> {
    if stream.records.is_empty() {
        // The page itself is the records: copied, as its next cursor or
        // link is read from it afterwards.
        return match &page.body {
            Value::Array(items) => Some(items.clone()),
            one @ Value::Object(_) => Some(vec![one.clone()]),
            _ => None,
        };
    }
    match page.body.pointer_mut(&stream.records)? {
        Value::Array(items) => Some(std::mem::take(items)),
        one @ Value::Object(_) => Some(vec![one.take()]),
        _ => None,
    }
}

/// True when `record` passes the stream's filter: each pointer's value
/// equals the expected text (`*`: is there at all).
fn kept(record: &Value, filter: &[(String, String)]) -> bool {
    filter.iter().all(|(pointer, expected)| match record.pointer(pointer) {
        None | Some(Value::Null) => false,
        Some(_) if expected == "*" => true,
        Some(Value::String(s)) => s == expected,
        // A number or true/false compares as written (`42`, `true`).
        Some(other) => expected.parse::<Value>().is_ok_and(|e| e == *other),
    })
}

/// The `rel="next"` target of an RFC 8288 `Link` header.
fn link_next(page: &Page) -> Option<String> {
    let value = page.headers.get(LINK)?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim().replace(' ', "").as_str(), "rel=next" | "rel=\"next\""));
        is_next.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

/// The key a delta stream's links are saved under: the stream's name, or
/// for a child stream (read once per parent record, one drive or folder
/// per supplier) `name@<parent id>`, so each parent resumes from its own
/// link. A parent without an `id` is told by a digest of its record.
pub fn delta_key(stream: &Stream, parent: Option<&Value>) -> String {
    match parent {
        None => stream.name.clone(),
        Some(p) => {
            let id = match p.get("id") {
                Some(id) if !id.is_null() => value_text(id),
                _ => {
                    let digest = blake3::hash(p.to_string().as_bytes()).to_hex();
                    format!("#{}", &digest.as_str()[..16])
                }
            };
            format!("{}@{id}", stream.name)
        }
    }
}

/// True when `stream` is paged by next links and ends with a delta link.
pub(crate) fn is_delta(stream: &Stream) -> bool {
    matches!(
        stream.pagination,
        Pagination::NextLink {
            delta_path: Some(_),
            ..
        }
    )
}

/// Reads `stream` until its last page, or until `limit` records; `parent`
/// fills the `{parent:/pointer}` placeholders of a child stream.
pub async fn read_stream(
    client: &Client,
    stream: &Stream,
    parent: Option<&Value>,
    limit: Option<usize>,
) -> Result<ReadOutcome, ConnectorError> {
    let mut records = Vec::new();
    let paged = read_stream_pages(client, stream, parent, limit, |page| {
        records.extend(page);
        Ok::<_, ConnectorError>(())
    })
    .await?;
    Ok(ReadOutcome {
        records,
        pages: paged.pages,
        resumed: paged.resumed,
        passed_over: paged.passed_over,
    })
}

/// [`read_stream`], handing each page's records (those the stream's filter
/// keeps) to `on_page` as the page arrives instead of keeping them: memory
/// holds one page, whatever the stream's length (and, on a resumed delta
/// read, the records the filter passed over). An error from `on_page` ends
/// the read and is returned as it is. A read that fails (a later page, a
/// record without a readable cursor date) may already have handed earlier
/// pages on: a caller commits what it made of them only on `Ok`. The
/// cursor an incremental stream reached is noted only when the read got to
/// its last page, after every record went through `on_page`.
pub async fn read_stream_pages<E: From<ConnectorError>>(
    client: &Client,
    stream: &Stream,
    parent: Option<&Value>,
    limit: Option<usize>,
    mut on_page: impl FnMut(Vec<Value>) -> Result<(), E>,
) -> Result<PagedOutcome, E> {
    let connector = client.connector();
    let mut base = connector.base_url.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let template_error = |message: String| ConnectorError {
        connector: connector.name.clone(),
        stream: stream.name.clone(),
        method: stream.method.to_string(),
        url: base.to_string(),
        message,
    };
    let path = fill_url(&stream.path, parent).map_err(template_error)?;
    let filter: Vec<(String, String)> = stream
        .filter
        .iter()
        .map(|(k, v)| fill(v, parent).map(|v| (k.clone(), v)))
        .collect::<Result<_, _>>()
        .map_err(template_error)?;
    let body: Option<Value> = match &stream.body {
        Some(template) => {
            let text = fill_json(template, parent).map_err(template_error)?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|e| template_error(format!("the body template does not make JSON: {e}")))?,
            )
        }
        None => None,
    };
    let since = stream
        .incremental
        .as_ref()
        .map(|inc| inc.format(inc.since(client.saved_cursor(&stream.name))));
    let mut query: Vec<(String, String)> = stream
        .query
        .iter()
        .map(|(k, v)| {
            let v = match &since {
                Some(since) => v.replace("{since}", since),
                None => v.clone(),
            };
            fill(&v, parent).map(|v| (k.clone(), v))
        })
        .collect::<Result<_, _>>()
        .map_err(template_error)?;
    if let (Some(param), Some(since)) = (stream.incremental.as_ref().and_then(|i| i.param.as_ref()), &since) {
        query.push((param.clone(), since.clone()));
    }
    let first = base.join(path.trim_start_matches('/')).map_err(|e| ConnectorError {
        connector: connector.name.clone(),
        stream: stream.name.clone(),
        method: stream.method.to_string(),
        url: base.to_string(),
        message: format!("'{}' does not make a URL: {e}", stream.path),
    })?;
    let with_query = |mut url: Url, extra: &[(String, String)]| {
        if !(query.is_empty() && extra.is_empty()) {
            let mut q = url.query_pairs_mut();
            for (k, v) in query.iter().chain(extra) {
                q.append_pair(k, v);
            }
        }
        url
    };
    let mut out = PagedOutcome::default();
    let mut seen = HashSet::new();
    let mut seen_records = HashSet::new();
    let mut empty_in_a_row = 0u32;
    let mut cursor_reached = None;
    let mut cursor_error: Option<String> = None;
    let mut offset: u64 = 0;
    let mut page_no: u64 = match &stream.pagination {
        Pagination::Page { first_page, .. } => u64::from(*first_page),
        _ => 0,
    };
    let mut cursor: Option<String> = None;
    // A delta listing resumes at the link its last complete read ended
    // with, kept per parent record for a child stream.
    let key = delta_key(stream, parent);
    let mut next_url: Option<Url> = match client.saved_link(&key).filter(|_| is_delta(stream)) {
        Some(link) => {
            Some(Url::parse(&link).map_err(|e| template_error(format!("saved delta link is not a URL: {e}")))?)
        }
        None => None,
    };
    let mut resuming = next_url.is_some();
    loop {
        let url = match &stream.pagination {
            Pagination::None => with_query(first.clone(), &[]),
            Pagination::Offset {
                offset_param,
                limit_param,
                page_size,
            } => with_query(
                first.clone(),
                &[
                    (offset_param.clone(), offset.to_string()),
                    (limit_param.clone(), page_size.to_string()),
                ],
            ),
            Pagination::Page {
                page_param,
                size_param,
                page_size,
                ..
            } => {
                let mut extra = vec![(page_param.clone(), page_no.to_string())];
                if let Some(s) = size_param {
                    extra.push((s.clone(), page_size.to_string()));
                }
                with_query(first.clone(), &extra)
            }
            Pagination::Cursor { cursor_param, size, .. } => {
                let mut extra = Vec::new();
                if let Some((p, n)) = size {
                    extra.push((p.clone(), n.to_string()));
                }
                if let Some(c) = &cursor {
                    extra.push((cursor_param.clone(), c.clone()));
                }
                with_query(first.clone(), &extra)
            }
            Pagination::NextLink { .. } => next_url.clone().unwrap_or_else(|| with_query(first.clone(), &[])),
        };
        let mut page = if resuming && out.pages == 0 {
            let answer = client
                .read_json_unless_gone(&stream.name, stream.method.clone(), url.clone(), body.as_ref())
                .await?;
            let Some(page) = answer else {
                // The saved delta link expired (Graph's `resyncRequired`):
                // the changes since cannot be had, so the stream is listed
                // whole again, and that listing's link replaces the old one.
                tracing::info!(connector = %connector.name, stream = %key, "the saved delta link has expired (HTTP 410); listing the stream whole");
                client.forget_link(&key);
                resuming = false;
                next_url = None;
                continue;
            };
            page
        } else {
            client
                .read_json(&stream.name, stream.method.clone(), url.clone(), body.as_ref())
                .await?
        };
        if resuming && out.pages == 0 {
            out.resumed = true;
            client.note_resumed();
        }
        out.pages += 1;
        let error = |message: String| ConnectorError {
            connector: connector.name.clone(),
            stream: stream.name.clone(),
            method: stream.method.to_string(),
            url: client.redactor().scrub(url.as_str()),
            message,
        };
        if !seen.insert(page.digest) {
            return Err(E::from(error(format!(
                "page {} repeats an earlier page: the API's paging loops; stopped instead of reading forever",
                out.pages
            ))));
        }
        if out.pages > connector.limits.max_pages {
            return Err(E::from(error(format!(
                "more than {} pages (limits.max_pages)",
                connector.limits.max_pages
            ))));
        }
        let records = records_of(&mut page, stream)
            .ok_or_else(|| error(format!("no array of records at '{}' in the response", stream.records)))?;
        let n = records.len();
        // A next link that changes on every page (a nonce, a timestamp)
        // makes every page's bytes new: the records tell the loop.
        if n > 0 && !seen_records.insert(records_digest(&records)) {
            return Err(E::from(error(format!(
                "page {} repeats the records of an earlier page although its link changed: the API's paging loops; stopped instead of reading forever",
                out.pages
            ))));
        }
        empty_in_a_row = if n == 0 { empty_in_a_row + 1 } else { 0 };
        if empty_in_a_row > MAX_EMPTY_PAGES {
            return Err(E::from(error(format!(
                "{empty_in_a_row} empty pages in a row, each with a next link: the API's paging loops; stopped instead of reading forever"
            ))));
        }
        let mut keep = Vec::with_capacity(n);
        for record in records {
            if kept(&record, &filter) {
                keep.push(record);
            } else if out.resumed {
                out.passed_over.push(record);
            }
        }
        let cut = limit.is_some_and(|l| out.records + keep.len() >= l);
        if let Some(l) = limit {
            keep.truncate(l.saturating_sub(out.records));
        }
        // A record without a readable cursor fails the read only when the
        // read would move the cursor (it went to the end, not cut short).
        if let (Some(inc), None) = (&stream.incremental, &cursor_error) {
            match inc.reached(&keep, out.records) {
                Ok(latest) => cursor_reached = cursor_reached.max(latest),
                Err(e) => cursor_error = Some(e),
            }
        }
        out.records += keep.len();
        on_page(keep)?;
        if cut {
            return Ok(out);
        }
        let more = match &stream.pagination {
            Pagination::None => false,
            Pagination::Offset { page_size, .. } => {
                offset += n as u64;
                n > 0 && n as u64 >= u64::from(*page_size)
            }
            Pagination::Page { page_size, .. } => {
                page_no += 1;
                n > 0 && n as u64 >= u64::from(*page_size)
            }
            Pagination::Cursor {
                cursor_path,
                cursor_header,
                ..
            } => {
                let next = match (cursor_path, cursor_header) {
                    (Some(p), _) => page.body.pointer(p).and_then(|v| match v {
                        Value::String(s) if !s.is_empty() => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    }),
                    (None, Some(h)) => page
                        .headers
                        .get(h.as_str())
                        .and_then(|v| v.to_str().ok())
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    (None, None) => None,
                };
                cursor = next;
                n > 0 && cursor.is_some()
            }
            Pagination::NextLink {
                next_path, link_header, ..
            } => {
                let next = next_path
                    .as_ref()
                    .and_then(|p| page.body.pointer(p))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| link_header.then(|| link_next(&page)).flatten());
                next_url = match next {
                    Some(n) => Some(
                        url.join(&n)
                            .map_err(|e| error(format!("next link '{n}' is not a URL: {e}")))?,
                    ),
                    None => None,
                };
                // Graph may answer a delta page with no items and a next
                // link: a delta read goes on until a page has none. Any
                // other stream ends on an empty page, as the module says,
                // whatever link it names.
                next_url.is_some() && (n > 0 || is_delta(stream))
            }
        };
        if !more {
            // Only a read to the end moves the cursor: one cut short by
            // `limit` may have left older changes unread.
            if let Some(e) = cursor_error {
                return Err(E::from(error(e)));
            }
            if let Some(at) = cursor_reached {
                client.note_cursor(&stream.name, at);
            }
            if let Pagination::NextLink {
                delta_path: Some(p), ..
            } = &stream.pagination
            {
                if let Some(link) = page.body.pointer(p).and_then(Value::as_str) {
                    let absolute = url
                        .join(link)
                        .map_err(|e| error(format!("delta link '{link}' is not a URL: {e}")))?;
                    client.note_link(&key, absolute.to_string());
                }
            }
            return Ok(out);
        }
    }
}

/// Empty pages in a row that still name a next page, beyond which paging
/// is taken to loop (a delta listing may send a few while it catches up).
const MAX_EMPTY_PAGES: u32 = 50;

/// A digest of a page's records, whatever the bytes around them.
fn records_digest(records: &[serde_json::Value]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for r in records {
        // Writing into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut h, r);
        h.update(b"\n");
    }
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stream(parent: Option<&str>) -> Stream {
        let text = format!(
            "[connector]\nname = \"c\"\nbase_url = \"http://127.0.0.1\"\n[[streams]]\nname = \"p\"\npath = \"p\"\n[[streams]]\nname = \"s\"\npath = \"s\"\n{}",
            parent.map(|p| format!("parent = \"{p}\"\n")).unwrap_or_default()
        );
        let c = super::super::Connector::from_source(&crate::config::Source::new("c.toml", text)).unwrap();
        c.streams[1].clone()
    }

    #[test]
    fn the_delta_key_of_a_child_stream_names_its_parent() {
        assert_eq!(delta_key(&stream(None), None), "s");
        assert_eq!(delta_key(&stream(Some("p")), Some(&json!({"id": "F1"}))), "s@F1");
        assert_eq!(delta_key(&stream(Some("p")), Some(&json!({"id": 42}))), "s@42");
        let a = delta_key(&stream(Some("p")), Some(&json!({"name": "a"})));
        let b = delta_key(&stream(Some("p")), Some(&json!({"name": "b"})));
        assert!(a.starts_with("s@#") && a != b, "{a} {b}");
    }
}
