//! `iorready connector check` and `iorready connector read`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use std::io::Write;

use iorready::connectors::{
    for_each_parents_records, parent_records, read_stream, read_stream_pages, write_back_one, Client, Connector,
    Fetched, FetchedRecords, Redactor,
};
use iorready::mapping::{MappingSet, RecordsReader};
use iorready::pipeline::RunSummary;

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
    let refs = connector.secret_refs();
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
    let oauth = connector.auth.obtains_token();
    let client = Client::new(connector, redactor)?;
    let rt = runtime()?;
    match rt.block_on(read_stream(&client, &stream, None, Some(1))) {
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

/// What `connector read` reads.
pub struct ReadOptions<'a> {
    /// The stream; default the first.
    pub stream: Option<&'a str>,
    /// Stop after this many records.
    pub limit: Option<usize>,
    /// For an incremental stream, the cursor to read from.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads a stream and prints its records (JSON lines), then what the
/// connector's mapping makes of them. Records are printed and mapped page
/// by page as they arrive (a child stream's once its parents are listed),
/// so a long stream needs no more memory than a page and the mapped
/// records.
pub fn read(dir: &Path, name: &str, options: ReadOptions<'_>, mappings: &MappingSet) -> Result<ExitCode> {
    let connector = Connector::find(dir, name)?;
    let stream = connector
        .stream(options.stream)
        .cloned()
        .with_context(|| format!("connector '{name}' has no stream {}", options.stream.unwrap_or("")))?;
    let mapping_name = connector.mapping.clone();
    let mapping = match &mapping_name {
        Some(m) => Some(
            mappings
                .mappings()
                .iter()
                .find(|x| &x.name == m)
                .with_context(|| format!("the connector's mapping '{m}' is not among the mappings"))?,
        ),
        None => None,
    };
    let client = Client::new(connector, Redactor::default())?;
    if let Some(since) = options.since {
        anyhow::ensure!(
            stream.incremental.is_some(),
            "stream '{}' of connector '{name}' is not incremental: --since does not apply",
            stream.name
        );
        client.resume_from(&stream.name, since);
    }
    let source: std::path::PathBuf = format!("connector {name}, stream {}", stream.name).into();
    let mut reader = mapping.map(|m| RecordsReader::new(m, &source)).transpose()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut count = 0usize;
    let mut closed = false;
    let mut take = |records: Vec<serde_json::Value>| -> Result<()> {
        for record in &records {
            if let Err(e) = writeln!(out, "{record}") {
                // Standard output closed (`| head`): stop reading, quietly.
                // Any other failure (a full disk) is an error.
                closed = e.kind() == std::io::ErrorKind::BrokenPipe;
                return Err(anyhow::Error::new(e).context("writing the records"));
            }
            if let Some(r) = reader.as_mut() {
                r.push(record);
            }
        }
        count += records.len();
        Ok(())
    };
    let rt = runtime()?;
    let read = rt.block_on(async {
        let Some(parent_name) = &stream.parent else {
            return read_stream_pages(&client, &stream, None, options.limit, &mut take)
                .await
                .map(|_| ());
        };
        // A child stream: its parents first, then their records.
        let parents = parent_records(&client, &stream, parent_name).await?;
        if options.limit.is_none() {
            // Several parents read at once, each printed once it and those
            // before it are in.
            return for_each_parents_records(&client, &stream, &parents, |_, records| take(records)).await;
        }
        // Under a limit, one parent after another, each printed as its
        // pages arrive, until the limit is met.
        let mut got = 0usize;
        for parent in &parents {
            let left = options.limit.map(|l| l.saturating_sub(got));
            if left == Some(0) {
                break;
            }
            got += read_stream_pages(&client, &stream, Some(parent), left, &mut take)
                .await?
                .records;
        }
        Ok(())
    });
    if closed {
        return Ok(ExitCode::SUCCESS);
    }
    read?;
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("writing the records")?,
    }
    drop(out);
    eprintln!("{count} record(s) from stream '{}'", stream.name);
    if let Some(inc) = &stream.incremental {
        match client.cursor_reached(&stream.name) {
            Some(at) => eprintln!(
                "cursor reached: {} (changes after it are for the next read)",
                inc.format(at)
            ),
            None => eprintln!("cursor unchanged (no records, or the read was cut short by --limit)"),
        }
    }
    if let (Some(reader), Some(mapping_name)) = (reader, mapping_name) {
        let extracted = reader.finish()?;
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

/// Fetches the workbooks of every file stream of the named connectors into
/// `dir`, one sub-folder per connector.
/// The workbooks fetched, and those listed but not fetched (file,
/// message), which the run reports among its inputs not scored.
pub type FetchedWorkbooks = (Vec<Fetched>, Vec<(String, String)>);

pub fn fetch_workbooks(connectors: &Path, names: &[String], dir: &Path) -> Result<FetchedWorkbooks> {
    let rt = runtime()?;
    let mut fetched = Vec::new();
    let mut not_fetched = Vec::new();
    for name in names {
        let outcome = rt.block_on(iorready::connectors::fetch_workbooks(connectors, name, dir, &[], false))?;
        for n in &outcome.not_fetched {
            let (file, message) = n.as_run_error();
            tracing::warn!("{file}: {message}");
            not_fetched.push((file, message));
        }
        fetched.extend(outcome.files);
    }
    Ok((fetched, not_fetched))
}

/// Fetches the records of the named connectors that name a records
/// mapping, one JSON document each, into `dir`.
pub fn fetch_records(
    connectors: &Path,
    names: &[String],
    dir: &Path,
    mappings: &MappingSet,
) -> Result<Vec<FetchedRecords>> {
    let rt = runtime()?;
    let mut out = Vec::new();
    for name in names {
        out.extend(rt.block_on(iorready::connectors::fetch_records(
            connectors, name, dir, mappings, false,
        ))?);
    }
    Ok(out)
}

/// Writes each fetched workbook's results back through its connector (or
/// says what it would write). Returns one line per write.
pub fn write_back_results(
    connectors: &Path,
    fetched: &[Fetched],
    summary: &RunSummary,
    as_of: chrono::NaiveDate,
    dry_run: bool,
) -> Result<Vec<String>> {
    let rt = runtime()?;
    let mut lines = Vec::new();
    for f in fetched {
        lines.extend(rt.block_on(write_back_one(connectors, f, summary, as_of, dry_run))?);
    }
    Ok(lines)
}
