//! `iorready connector check` and `iorready connector read`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use iorready::connectors::{read_stream, Auth, Client, Connector, Redactor};
use iorready::mapping::{extract_records, MappingSet};
use iorready::sources::JsonDocument;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn step(ok: bool, what: &str, detail: &str) {
    let mark = if ok { "ok  " } else { "FAIL" };
    println!(
        "[{mark}] {what}{}",
        if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        }
    );
}

/// Checks a connector step by step: definition, secrets, token, first page.
pub fn check(dir: &Path, name: &str) -> Result<ExitCode> {
    let connector = match Connector::find(dir, name) {
        Ok(c) => c,
        Err(e) => {
            step(false, "definition", &e.to_string());
            return Ok(ExitCode::from(1));
        }
    };
    step(true, "definition", &connector.file.display().to_string());
    let redactor = Redactor::default();
    let mut refs = connector.headers.iter().map(|(_, v)| v).collect::<Vec<_>>();
    match &connector.auth {
        Auth::None => {}
        Auth::Basic { username, password } => refs.extend([username, password]),
        Auth::Bearer { token } => refs.push(token),
        Auth::ApiKey { value, .. } => refs.push(value),
        Auth::ClientCredentials {
            client_id,
            client_secret,
            ..
        } => refs.extend([client_id, client_secret]),
    }
    for r in refs {
        if let Err(e) = r.resolve(&redactor) {
            step(false, "secrets", &e.0);
            return Ok(ExitCode::from(1));
        }
    }
    step(true, "secrets", "every reference resolves");
    let Some(stream) = connector.stream(None).cloned() else {
        step(false, "streams", "none defined");
        return Ok(ExitCode::from(1));
    };
    let oauth = matches!(connector.auth, Auth::ClientCredentials { .. });
    let client = Client::new(connector, redactor)?;
    let rt = runtime()?;
    match rt.block_on(read_stream(&client, &stream, Some(1))) {
        Ok(outcome) => {
            if oauth {
                step(true, "token", "obtained");
            }
            step(
                true,
                "first page",
                &format!("stream '{}': {} record(s) read", stream.name, outcome.records.len()),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let what = if e.stream == "auth" { "token" } else { "first page" };
            step(false, what, &e.to_string());
            Ok(ExitCode::from(1))
        }
    }
}

/// Reads a stream and prints its records (JSON lines), then what the
/// connector's mapping makes of them.
pub fn read(
    dir: &Path,
    name: &str,
    stream: Option<&str>,
    limit: Option<usize>,
    mappings: &MappingSet,
) -> Result<ExitCode> {
    let connector = Connector::find(dir, name)?;
    let stream = connector
        .stream(stream)
        .cloned()
        .with_context(|| format!("connector '{name}' has no stream {}", stream.unwrap_or("")))?;
    let mapping_name = connector.mapping.clone();
    let client = Client::new(connector, Redactor::default())?;
    let outcome = runtime()?.block_on(read_stream(&client, &stream, limit))?;
    for record in &outcome.records {
        println!("{record}");
    }
    eprintln!(
        "{} record(s) in {} page(s) from stream '{}'",
        outcome.records.len(),
        outcome.pages,
        stream.name
    );
    if let Some(mapping_name) = mapping_name {
        let mapping = mappings
            .mappings()
            .iter()
            .find(|m| m.name == mapping_name)
            .with_context(|| format!("the connector's mapping '{mapping_name}' is not among the mappings"))?;
        let doc = JsonDocument {
            path: format!("connector {name}, stream {}", stream.name).into(),
            value: serde_json::Value::Array(outcome.records),
        };
        let extracted = extract_records(&doc, mapping)?;
        for r in &extracted.responses {
            let countries: Vec<String> = r
                .assessments
                .iter()
                .filter_map(|a| a.country.map(|c| c.alpha2().to_owned()))
                .collect();
            eprintln!(
                "mapped with '{mapping_name}': {} ({} countries: {})",
                r.provider.name.get().cloned().unwrap_or_else(|| r.provider.id.clone()),
                countries.len(),
                countries.join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
