//! Benchmark of the connector engine: 100,000 supplier records read from a
//! local API through the offset and the cursor paginators and mapped into
//! the model with a records mapping, page by page as they arrive; records
//! per second and the process's peak memory. Each scheme runs in its own
//! child process, after a child that fetches the same pages with plain
//! reqwest without parsing them (the server's own pace, the floor).
//! "read" is when the last page arrived, "read + mapped"
//! when the last record was mapped. A third child runs the whole
//! `score --connector` path over the same records (fetched into the
//! records document, read back, scored, portfolio and JSON written).
//!
//! Run: `cargo bench --bench connector_read`
//! Size: `IORREADY_BENCH_RECORDS=100000`, page size 500.

mod support;

use std::collections::HashMap;
use std::process::Command;
use std::time::Instant;

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use iorready::config::Source;
use iorready::connectors::{fetch_records, read_stream_pages, Client, Connector, Redactor};
use iorready::mapping::{Mapping, MappingSet, RecordsReader};
use iorready::pipeline::{run_score, ScoreRequest};
use iorready::scoring::Profile;
use serde_json::{json, Value};
use support::{env_usize, peak_rss_kib};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PAGE: usize = 500;

fn total() -> usize {
    env_usize("IORREADY_BENCH_RECORDS", 100_000)
}

/// One supplier-country record as an ERP export would hold it.
fn record(i: usize) -> Value {
    let countries = ["DE", "FR", "NL", "PL", "ES", "IT", "GB", "US"];
    json!({
        "supplier": { "name": format!("Supplier {}", i / 8) },
        "country": countries[i % 8],
        "model": if i.is_multiple_of(3) { "Own local company" } else { "Partner found on demand" },
        "importerOfRecord": "We act as IOR",
        "liability": if i.is_multiple_of(2) { "Unlimited" } else { "Limited" },
        "shipments24m": (i % 15) as u64,
        "route": "Established procedure",
        "evidence": { "level": "Docs on file" }
    })
}

fn page(from: usize, n: usize) -> Vec<Value> {
    (from..(from + n).min(total())).map(record).collect()
}

async fn offset(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let at = q.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    Json(json!({ "items": page(at, PAGE) }))
}

async fn cursor(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let at: usize = q.get("cursor").and_then(|v| v.parse().ok()).unwrap_or(0);
    let next = if at + PAGE < total() {
        json!((at + PAGE).to_string())
    } else {
        Value::Null
    };
    Json(json!({ "items": page(at, PAGE), "next": next }))
}

const MAPPING: &str = r#"
[mapping]
name = "bench-records"
[provider.paths]
name = "/supplier/name"
[countries]
layout = "records"
[countries.fields.country]
path = "/country"
[countries.fields.operating_model]
path = "/model"
values.own_entity = ["Own local company"]
keywords.on_demand_partner = [["partner", "demand"]]
[countries.fields.ior_role]
path = "/importerOfRecord"
values.provider_is_ior = ["We act as IOR"]
[countries.fields.liability]
path = "/liability"
values.full = ["Unlimited"]
values.capped = ["Limited"]
[countries.fields.executions_24m]
path = "/shipments24m"
[countries.fields.regulatory_pathway]
path = "/route"
values.defined_repeatable = ["Established procedure"]
[countries.fields.evidence]
path = "/evidence/level"
values.documented = ["Docs on file"]
"#;

fn child(scheme: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = rt.block_on(async {
        let app = Router::new()
            .route("/offset", get(offset))
            .route("/cursor", get(cursor));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    if scheme == "scored" {
        return scored(&rt, addr);
    }
    if scheme == "server" {
        return server_alone(&rt, addr);
    }
    let pagination = match scheme {
        "offset" => format!("{{ type = \"offset\", page_size = {PAGE} }}"),
        _ => "{ type = \"cursor\", cursor_path = \"/next\" }".to_owned(),
    };
    let text = format!(
        "[connector]\nname = \"bench\"\nbase_url = \"http://{addr}\"\n[[streams]]\nname = \"s\"\npath = \"/{scheme}\"\nrecords = \"/items\"\npagination = {pagination}\n"
    );
    let connector = Connector::from_source(&Source::new("bench.toml", text)).unwrap();
    let mapping = Mapping::from_source(&Source::new("bench-mapping.toml", MAPPING)).unwrap();
    let client = Client::new(connector, Redactor::default()).unwrap();
    let stream = client.connector().streams[0].clone();
    let started = Instant::now();
    // Pages are mapped on another thread as they arrive, as `connector
    // read` and a records connector's fetch do: memory holds a few pages
    // and what the mapping made of the records read.
    let (pages, arrived) = std::sync::mpsc::sync_channel::<Vec<Value>>(4);
    let mapper = std::thread::spawn(move || {
        let mut reader = RecordsReader::new(&mapping, std::path::Path::new("bench")).unwrap();
        for page in arrived {
            for record in &page {
                reader.push(record);
            }
        }
        reader.finish().unwrap()
    });
    let out = rt
        .block_on(read_stream_pages(&client, &stream, None, None, |page| {
            pages.send(page).expect("the mapping thread is alive");
            Ok::<_, iorready::connectors::ConnectorError>(())
        }))
        .unwrap();
    drop(pages);
    let read = started.elapsed().as_secs_f64();
    let extracted = mapper.join().unwrap();
    let total_s = started.elapsed().as_secs_f64();
    let assessments: usize = extracted.responses.iter().map(|r| r.assessments.len()).sum();
    println!(
        "{scheme} {read:.3} {total_s:.3} {assessments} {} {}",
        out.pages,
        peak_rss_kib()
    );
}

/// The floor: the same pages fetched with plain reqwest, one after
/// another, their bodies received but not parsed.
fn server_alone(rt: &tokio::runtime::Runtime, addr: std::net::SocketAddr) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let (pages, bytes) = rt.block_on(async {
        let (mut pages, mut bytes) = (0u32, 0usize);
        for offset in (0..total()).step_by(PAGE) {
            let body = http
                .get(format!("http://{addr}/offset?offset={offset}&limit={PAGE}"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            pages += 1;
            bytes += body.len();
        }
        (pages, bytes)
    });
    let secs = started.elapsed().as_secs_f64();
    println!("server {secs:.3} {secs:.3} {bytes} {pages} {}", peak_rss_kib());
}

/// The whole `score --connector` path: the records fetched page by page
/// into the connector's records document, then read from it one at a time,
/// mapped, scored, and the portfolio and JSON written.
fn scored(rt: &tokio::runtime::Runtime, addr: std::net::SocketAddr) {
    let work = tempfile::tempdir().unwrap();
    let connectors = work.path().join("connectors");
    std::fs::create_dir_all(&connectors).unwrap();
    std::fs::write(
        connectors.join("bench.toml"),
        format!("[connector]\nname = \"bench\"\nbase_url = \"http://{addr}\"\nmapping = \"bench-records\"\n[[streams]]\nname = \"s\"\npath = \"/cursor\"\nrecords = \"/items\"\npagination = {{ type = \"cursor\", cursor_path = \"/next\" }}\n"),
    )
    .unwrap();
    let mapping = Mapping::from_source(&Source::new("bench-mapping.toml", MAPPING)).unwrap();
    let mappings = MappingSet::from_one(mapping);
    let started = Instant::now();
    let fetched = rt
        .block_on(fetch_records(
            &connectors,
            "bench",
            &work.path().join("fetched"),
            &mappings,
            false,
        ))
        .unwrap()
        .unwrap();
    let fetch = started.elapsed().as_secs_f64();
    let mut req = ScoreRequest::new(
        vec![fetched.path.clone()],
        work.path().join("out"),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        Profile::builtin().unwrap(),
        mappings,
    );
    req.json = Some(work.path().join("out/result.json"));
    req.input_mappings = vec![(fetched.path.clone(), fetched.mapping.clone())];
    let summary = run_score(&req, &()).unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors.first());
    let total_s = started.elapsed().as_secs_f64();
    let assessments: usize = summary.results.iter().map(|r| r.rollup.countries_assessed).sum();
    println!(
        "scored {fetch:.3} {total_s:.3} {assessments} {} {}",
        summary.results.len(),
        peak_rss_kib()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--scheme") {
        child(&args[i + 1]);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let n = total();
    for scheme in ["server", "offset", "cursor", "scored"] {
        let o = Command::new(std::env::current_exe().unwrap())
            .args(["--scheme", scheme])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let line = String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned();
        let f: Vec<&str> = line.split_whitespace().collect();
        let (read, all): (f64, f64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        let mib = f[5].parse::<u64>().unwrap_or(0) / 1024;
        if scheme == "server" {
            println!(
                "server alone (the same pages by plain reqwest, not parsed): {n} records in {} pages, {} MiB, in {read:.2}s ({:.0} records/s)",
                f[4],
                f[3].parse::<u64>().unwrap_or(0) / (1024 * 1024),
                n as f64 / read,
            );
            continue;
        }
        if scheme == "scored" {
            println!(
                "scored (score --connector, cursor): {n} records fetched into the records document in {read:.2}s ({:.0} records/s), read back, mapped, scored and written in {all:.2}s in all ({:.0} records/s), {} assessments of {} providers, peak RSS {mib} MiB",
                n as f64 / read,
                n as f64 / all,
                f[3],
                f[4],
            );
            continue;
        }
        println!(
            "{scheme:>6}: {n} records in {} pages: read {read:.2}s ({:.0} records/s), read + mapped {all:.2}s ({:.0} records/s), {} assessments, peak RSS {mib} MiB",
            f[4],
            n as f64 / read,
            n as f64 / all,
            f[3],
        );
    }
}
