//! Reading a stream page after page: offset/limit, page numbers, cursors
//! from the body or a header, next links (`@odata.nextLink`, RFC 8288
//! `Link`). A stream stops on an empty or short page or a missing next
//! cursor; a page that repeats is an error, not an endless read.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use reqwest::header::LINK;
use reqwest::Url;
use serde_json::Value;

use super::client::{Client, ConnectorError, Page};
use super::config::{Pagination, Stream};

/// What a read produced.
#[derive(Debug, Clone, Default)]
pub struct ReadOutcome {
    /// The records, in order.
    pub records: Vec<Value>,
    /// Pages fetched.
    pub pages: u32,
}

/// The records of a page: the array at the stream's pointer, or the one
/// object there (a single item, such as a folder looked up by its path).
fn records_of(page: &Page, stream: &Stream) -> Option<Vec<Value>> {
    match page.body.pointer(&stream.records)? {
        Value::Array(items) => Some(items.clone()),
        one @ Value::Object(_) => Some(vec![one.clone()]),
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

fn fingerprint(page: &Page) -> u64 {
    let mut h = DefaultHasher::new();
    page.body.to_string().hash(&mut h);
    h.finish()
}

/// Fills `{parent:/pointer}` from the parent record; a value starting with
/// `base64url:` is then encoded (URL-safe base64, as Tryton's `d=` domain
/// wants).
pub fn fill(template: &str, parent: Option<&Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{parent:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{parent:".len()..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed '{{parent:' in '{template}'"))?;
        let pointer = &after[..end];
        let value = parent
            .and_then(|p| p.pointer(pointer))
            .ok_or_else(|| format!("the parent record has no '{pointer}'"))?;
        match value {
            Value::String(s) => out.push_str(s),
            Value::Number(n) => out.push_str(&n.to_string()),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(match out.strip_prefix("base64url:") {
        Some(raw) => {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE.encode(raw.as_bytes())
        }
        None => out,
    })
}

/// Reads `stream` until its last page, or until `limit` records; `parent`
/// fills the `{parent:/pointer}` placeholders of a child stream.
pub async fn read_stream(
    client: &Client,
    stream: &Stream,
    parent: Option<&Value>,
    limit: Option<usize>,
) -> Result<ReadOutcome, ConnectorError> {
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
    let path = fill(&stream.path, parent).map_err(template_error)?;
    let filter: Vec<(String, String)> = stream
        .filter
        .iter()
        .map(|(k, v)| fill(v, parent).map(|v| (k.clone(), v)))
        .collect::<Result<_, _>>()
        .map_err(template_error)?;
    let body: Option<Value> = match &stream.body {
        Some(template) => {
            let text = fill(template, parent).map_err(template_error)?;
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
    let mut out = ReadOutcome::default();
    let mut seen = HashSet::new();
    let mut offset: u64 = 0;
    let mut page_no: u64 = match &stream.pagination {
        Pagination::Page { first_page, .. } => u64::from(*first_page),
        _ => 0,
    };
    let mut cursor: Option<String> = None;
    // A delta listing resumes at the link its last complete read ended with.
    let mut next_url: Option<Url> = match client.saved_link(&stream.name) {
        Some(link) => {
            Some(Url::parse(&link).map_err(|e| template_error(format!("saved delta link is not a URL: {e}")))?)
        }
        None => None,
    };
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
        let page = client
            .read_json(&stream.name, stream.method.clone(), url.clone(), body.as_ref())
            .await?;
        out.pages += 1;
        let error = |message: String| ConnectorError {
            connector: connector.name.clone(),
            stream: stream.name.clone(),
            method: stream.method.to_string(),
            url: client.redactor().scrub(url.as_str()),
            message,
        };
        if !seen.insert(fingerprint(&page)) {
            return Err(error(format!(
                "page {} repeats an earlier page: the API's paging loops; stopped instead of reading forever",
                out.pages
            )));
        }
        if out.pages > connector.limits.max_pages {
            return Err(error(format!(
                "more than {} pages (limits.max_pages)",
                connector.limits.max_pages
            )));
        }
        let records = records_of(&page, stream)
            .ok_or_else(|| error(format!("no array of records at '{}' in the response", stream.records)))?;
        let n = records.len();
        out.records.extend(records.into_iter().filter(|r| kept(r, &filter)));
        if limit.is_some_and(|l| out.records.len() >= l) {
            if let Some(l) = limit {
                out.records.truncate(l);
            }
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
                n > 0 && next_url.is_some()
            }
        };
        if !more {
            // Only a read to the end moves the cursor: one cut short by
            // `limit` may have left older changes unread.
            if let Some(inc) = &stream.incremental {
                if let Some(at) = inc.reached(&out.records).map_err(error)? {
                    client.note_cursor(&stream.name, at);
                }
            }
            if let Pagination::NextLink {
                delta_path: Some(p), ..
            } = &stream.pagination
            {
                if let Some(link) = page.body.pointer(p).and_then(Value::as_str) {
                    let absolute = url
                        .join(link)
                        .map_err(|e| error(format!("delta link '{link}' is not a URL: {e}")))?;
                    client.note_link(&stream.name, absolute.to_string());
                }
            }
            return Ok(out);
        }
    }
}
