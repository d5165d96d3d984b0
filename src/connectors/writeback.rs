//! Write-back: after scoring, put the annotated workbook and the tier
//! summary back where people look (an attachment and a note on the supplier
//! in the ERP, a file in a shared folder). Each record write first looks for
//! what it wrote last time and updates it, and each upload names its file,
//! so re-runs never duplicate; `dry_run` only says what would be written.

use base64::Engine;
use reqwest::Method;
use serde_json::Value;

use super::client::{Client, ConnectorError};
use super::config::{Writeback, WritebackKind, WritebackMode};
use super::templates::{fill_template, pointer_token, Placement};

/// What one scored workbook writes back.
#[derive(Debug, Clone)]
pub struct WritebackItem {
    /// The supplier record the workbook came from.
    pub parent: Option<Value>,
    /// The annotated workbook's file name.
    pub file_name: String,
    /// Its bytes.
    pub content: Vec<u8>,
    /// The tier summary, one line.
    pub summary: String,
    /// Values for a fields write-back's template, by name (`ready`,
    /// `best_tier`, `as_of`, ...).
    pub fields: Vec<(String, String)>,
}

/// Where an expanded template goes, which says how values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A URL path (and query after a `?` of the template): every value
    /// percent-encoded, so a file name or id stays one path segment.
    Url,
    /// A query value sent through the URL's own encoder: as it is, with
    /// `base64url:` applied.
    Query,
    /// A JSON body: every value JSON-escaped (a number's text is
    /// unchanged, so `{parent:/id}` outside quotes still fills a number).
    Json,
}

/// Replaces `{name}` tokens, `{found:/pointer}` and `{parent:/pointer}`,
/// writing the values as `into` says.
fn expand(
    template: &str,
    vars: &[(&str, String)],
    found: Option<&Value>,
    parent: Option<&Value>,
    into: Target,
) -> Result<String, String> {
    let lookup = |token: &str| -> Option<Result<String, String>> {
        pointer_token(token, "found:", found, "the existing record")
            .or_else(|| pointer_token(token, "parent:", parent, "the parent record"))
            .or_else(|| {
                vars.iter()
                    .find(|(name, _)| *name == token)
                    .map(|(_, value)| Ok(value.clone()))
            })
    };
    // Vendor data (a supplier's name) goes into a JSON body escaped like
    // every other value: it must never add a field or break the body.
    // What follows `base64url:` is JSON (a Tryton domain): a file name
    // with a quote must not end its string.
    let placement = match into {
        Target::Url => Placement::Url,
        Target::Query if template.starts_with("base64url:") => Placement::Json,
        Target::Query => Placement::AsIs,
        Target::Json => Placement::Json,
    };
    let out = fill_template(template, placement, &lookup)?;
    Ok(match (into, out.strip_prefix("base64url:")) {
        (Target::Query, Some(raw)) => base64::engine::general_purpose::URL_SAFE.encode(raw.as_bytes()),
        _ => out,
    })
}

/// Writes every item with every enabled write-back of the connector.
/// Returns one line per write: what, where, created or updated.
pub async fn write_back(
    client: &Client,
    items: &[WritebackItem],
    dry_run: bool,
) -> Result<Vec<String>, ConnectorError> {
    let connector = client.connector();
    let mut report = Vec::new();
    for item in items {
        let content = base64::engine::general_purpose::STANDARD.encode(&item.content);
        let mut vars: Vec<(&str, String)> = vec![
            ("file_name", item.file_name.clone()),
            ("summary", item.summary.clone()),
            ("content_base64", content),
        ];
        vars.extend(item.fields.iter().map(|(k, v)| (k.as_str(), v.clone())));
        for w in connector.writeback.iter().filter(|w| w.enabled) {
            let line = write_one(client, w, item, &vars, dry_run).await?;
            report.push(line);
        }
    }
    Ok(report)
}

async fn write_one(
    client: &Client,
    w: &Writeback,
    item: &WritebackItem,
    vars: &[(&str, String)],
    dry_run: bool,
) -> Result<String, ConnectorError> {
    let connector = client.connector();
    let parent = item.parent.as_ref();
    let base = {
        let mut b = connector.base_url.clone();
        if !b.path().ends_with('/') {
            b.set_path(&format!("{}/", b.path()));
        }
        b
    };
    let fail = |message: String| ConnectorError {
        connector: connector.name.clone(),
        stream: format!("writeback {}", w.name),
        method: "-".into(),
        url: base.to_string(),
        message,
    };
    let url_of = |path: &str, query: &[(String, String)]| -> Result<reqwest::Url, ConnectorError> {
        let mut url = base
            .join(path.trim_start_matches('/'))
            .map_err(|e| fail(format!("'{path}': {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    };
    let path = expand(&w.path, vars, None, parent, Target::Url).map_err(fail)?;
    let stream = format!("writeback {}", w.name);
    let what = match w.what {
        WritebackKind::Annotated => format!("annotated workbook '{}'", item.file_name),
        WritebackKind::Summary => "tier summary".to_owned(),
        WritebackKind::Fields => "supplier fields".to_owned(),
    };
    let (find, create, update, update_path) = match &w.mode {
        WritebackMode::Upload { method } => {
            let url = url_of(&path, &[])?;
            if dry_run {
                return Ok(format!("would upload {what}: {method} {url}"));
            }
            client
                .send_bytes(
                    &stream,
                    method.clone(),
                    url.clone(),
                    &item.content,
                    content_type(&item.file_name),
                )
                .await?;
            return Ok(format!("uploaded {what}: {method} {url}"));
        }
        WritebackMode::Fields { method, update } => {
            let body_text = expand(update, vars, None, parent, Target::Json).map_err(fail)?;
            let body: Value = serde_json::from_str(&body_text)
                .map_err(|e| fail(format!("the update template does not make JSON: {e}")))?;
            let url = url_of(&path, &[])?;
            if dry_run {
                return Ok(format!("would update {what}: {method} {url}"));
            }
            client.send_json(&stream, method.clone(), url.clone(), &body).await?;
            return Ok(format!("updated {what}: {method} {url}"));
        }
        WritebackMode::Record {
            find,
            create,
            update,
            update_path,
        } => (find, create, update, update_path),
    };
    let find: Vec<(String, String)> = find
        .iter()
        .map(|(k, v)| expand(v, vars, None, parent, Target::Query).map(|v| (k.clone(), v)))
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    let found = if find.is_empty() {
        None
    } else {
        let page = client.get_json(&stream, url_of(&path, &find)?).await?;
        match page.body {
            Value::Array(mut records) if !records.is_empty() => Some(records.swap_remove(0)),
            _ => None,
        }
    };
    let (method, target, template) = match &found {
        Some(record) => (
            Method::PUT,
            expand(update_path, vars, Some(record), parent, Target::Url).map_err(fail)?,
            update,
        ),
        None => (Method::POST, path.clone(), create),
    };
    let body_text = expand(template, vars, found.as_ref(), parent, Target::Json).map_err(fail)?;
    let body: Value = serde_json::from_str(&body_text).map_err(|e| {
        fail(format!(
            "the {} template does not make JSON: {e}",
            if found.is_some() { "update" } else { "create" }
        ))
    })?;
    let url = url_of(&target, &[])?;
    let verb = if found.is_some() { "update" } else { "create" };
    if dry_run {
        return Ok(format!("would {verb} {what}: {method} {url}"));
    }
    client.send_json(&stream, method.clone(), url.clone(), &body).await?;
    Ok(format!("{verb}d {what}: {method} {url}"))
}

/// The media type of an uploaded workbook, from its extension.
fn content_type(file_name: &str) -> &'static str {
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("xlsm") => "application/vnd.ms-excel.sheet.macroEnabled.12",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_file_name_in_an_upload_path_is_one_percent_encoded_segment() {
        let vars = [("file_name", "Q #1/2?.annotated.xlsx".to_owned())];
        assert_eq!(
            expand(
                "root:/IOR/iorready/{file_name}:/content",
                &vars,
                None,
                None,
                Target::Url
            )
            .unwrap(),
            "root:/IOR/iorready/Q%20%231%2F2%3F.annotated.xlsx:/content"
        );
    }

    #[test]
    fn a_found_id_in_an_update_path_is_percent_encoded() {
        let found = json!({"id": "n 1/2"});
        assert_eq!(
            expand("notes/{found:/id}", &[], Some(&found), None, Target::Url).unwrap(),
            "notes/n%201%2F2"
        );
    }

    #[test]
    fn a_json_body_keeps_its_braces_and_escapes_the_values() {
        let vars = [("summary", "say \"ready\"".to_owned())];
        let parent = json!({"id": 7});
        assert_eq!(
            expand(
                r#"{"supplier": {parent:/id}, "message": "{summary}"}"#,
                &vars,
                None,
                Some(&parent),
                Target::Json
            )
            .unwrap(),
            r#"{"supplier": 7, "message": "say \"ready\""}"#
        );
    }

    #[test]
    fn a_value_in_a_base64url_domain_is_json_escaped_before_encoding() {
        let vars = [("file_name", "Acme \"IOR\".annotated.xlsx".to_owned())];
        let encoded = expand(
            r#"base64url:[["name", "=", "{file_name}"]]"#,
            &vars,
            None,
            None,
            Target::Query,
        )
        .unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE.decode(encoded).unwrap();
        let domain: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(domain[0][2], "Acme \"IOR\".annotated.xlsx");
    }

    #[test]
    fn a_query_value_is_placed_as_it_is_or_base64url_encoded() {
        let vars = [("file_name", "a b.xlsx".to_owned())];
        assert_eq!(
            expand("{file_name}", &vars, None, None, Target::Query).unwrap(),
            "a b.xlsx"
        );
        assert_eq!(
            expand("base64url:{file_name}", &vars, None, None, Target::Query).unwrap(),
            "YSBiLnhsc3g="
        );
    }
}
