//! Scheduled jobs with a connector, against a local vendor API: workbooks
//! mirrored in the state, read incrementally from the saved cursor, written
//! back once per change, and the cursor kept when the write-back fails.

#[path = "support/api.rs"]
mod api;
mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

/// One supplier: its workbook and when it last changed.
struct Supplier {
    id: u32,
    updated_at: String,
    workbook: Vec<u8>,
}

#[derive(Default)]
struct Vendor {
    suppliers: Vec<Supplier>,
    /// The `since` of every supplier listing.
    listings: Vec<Option<String>>,
    /// Notes by supplier: (id, message).
    notes: Vec<(u32, String)>,
    note_posts: usize,
    note_puts: usize,
    /// Refuse note writes (a write-back that fails).
    refuse_notes: bool,
    /// The fields iorready set on each supplier record.
    fields: HashMap<u32, Value>,
    /// An ERP's supplier records with their questionnaire answers.
    erp: Vec<Value>,
    /// Suppliers whose file's content is not base64.
    bad_content: Vec<u32>,
    /// Called on each supplier listing, while the run that asked waits.
    on_listing: Option<Box<dyn FnMut() + Send>>,
    /// Called on each search for a supplier's note (a write-back's start).
    on_find_note: Option<Box<dyn FnMut() + Send>>,
}

type Shared = Arc<Mutex<Vendor>>;

async fn suppliers(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let mut v = s.lock().unwrap();
    let since = q.get("since").cloned();
    v.listings.push(since.clone());
    if let Some(hook) = v.on_listing.as_mut() {
        hook();
    }
    let items: Vec<Value> = v
        .suppliers
        .iter()
        .filter(|x| since.as_ref().is_none_or(|s| x.updated_at.as_str() >= s.as_str()))
        .map(|x| json!({"id": x.id, "updated_at": x.updated_at}))
        .collect();
    Json(json!({ "items": items }))
}

async fn files(State(s): State<Shared>, UrlPath(id): UrlPath<u32>) -> Json<Value> {
    let v = s.lock().unwrap();
    let files: Vec<Value> = v
        .suppliers
        .iter()
        .filter(|x| x.id == id)
        .map(|x| {
            let content = if v.bad_content.contains(&id) {
                "not base64 at all!".to_owned()
            } else {
                base64::engine::general_purpose::STANDARD.encode(&x.workbook)
            };
            json!({ "name": format!("supplier-{id}.xlsx"), "content": content })
        })
        .collect();
    Json(json!(files))
}

async fn find_notes(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let mut v = s.lock().unwrap();
    if let Some(hook) = v.on_find_note.as_mut() {
        hook();
    }
    let id: u32 = q.get("supplier").and_then(|x| x.parse().ok()).unwrap_or(0);
    let found: Vec<Value> = v
        .notes
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| *s == id)
        .map(|(i, (_, m))| json!({"id": i, "message": m}))
        .collect();
    Json(json!(found))
}

async fn post_note(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    let mut v = s.lock().unwrap();
    if v.refuse_notes {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "notes are read-only today"})),
        )
            .into_response();
    }
    v.note_posts += 1;
    let id = body["supplier"].as_u64().unwrap_or(0) as u32;
    let message = body["message"].as_str().unwrap_or_default().to_owned();
    v.notes.push((id, message));
    let n = v.notes.len() - 1;
    Json(json!({"id": n})).into_response()
}

async fn put_note(State(s): State<Shared>, UrlPath(n): UrlPath<usize>, Json(body): Json<Value>) -> Response {
    let mut v = s.lock().unwrap();
    if v.refuse_notes {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "notes are read-only today"})),
        )
            .into_response();
    }
    v.note_puts += 1;
    if let Some(note) = v.notes.get_mut(n) {
        note.1 = body["message"].as_str().unwrap_or_default().to_owned();
    }
    Json(json!({"id": n})).into_response()
}

async fn patch_supplier(State(s): State<Shared>, UrlPath(id): UrlPath<u32>, Json(body): Json<Value>) -> Json<Value> {
    s.lock().unwrap().fields.insert(id, body);
    Json(json!({"id": id}))
}

async fn erp_suppliers(State(s): State<Shared>) -> Json<Value> {
    Json(json!({ "value": s.lock().unwrap().erp }))
}

fn serve(state: Shared) -> std::net::SocketAddr {
    let app = Router::new()
        .route("/erp/suppliers", get(erp_suppliers))
        .route("/suppliers", get(suppliers))
        .route("/suppliers/{id}", axum::routing::patch(patch_supplier))
        .route("/suppliers/{id}/files", get(files))
        .route("/notes", get(find_notes).post(post_note))
        .route("/notes/{n}", axum::routing::put(put_note))
        .with_state(state);
    api::serve(app)
}

fn workbook(name: &str, model: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.xlsx");
    common::provider_workbook(&path, name, &["DE", "FR"], model);
    std::fs::read(&path).unwrap()
}

const CONNECTOR: &str = r#"
[connector]
name = "vendor"
base_url = "${env:VENDOR_URL}"

[[streams]]
name = "suppliers"
path = "suppliers"
records = "/items"
incremental = { cursor_field = "/updated_at", format = "%Y-%m-%dT%H:%M:%SZ", param = "since", start = "2000-01-01T00:00:00Z" }

[[streams]]
name = "files"
parent = "suppliers"
path = "suppliers/{parent:/id}/files"
file = { name = "/name", content = "/content" }

[[writeback]]
name = "tier note"
what = "summary"
path = "notes"
find = { supplier = "{parent:/id}" }
create = '{"supplier": {parent:/id}, "message": "{summary}"}'
update = '{"message": "{summary}"}'
update_path = "notes/{found:/id}"

[[writeback]]
name = "supplier fields"
what = "fields"
path = "suppliers/{parent:/id}"
method = "PATCH"
update = '{"iorready_ready": {ready}, "iorready_ready_countries": "{ready_countries}", "iorready_best_tier": "{best_tier}", "iorready_capable_share": {capable_share}, "iorready_as_of": "{as_of}"}'
"#;

/// An ERP whose supplier records carry the questionnaire answers, read with
/// the bundled `erp-supplier-records` mapping.
const ERP: &str = r#"
[connector]
name = "erp"
base_url = "${env:VENDOR_URL}"
mapping = "erp-supplier-records"

[[streams]]
name = "suppliers"
path = "erp/suppliers"
records = "/value"
"#;

struct Setup {
    dir: tempfile::TempDir,
    vendor: Shared,
    url: String,
}

impl Setup {
    fn new() -> Setup {
        Self::with_schedule("@hourly", 3)
    }

    fn with_schedule(schedule: &str, suppliers: u32) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("connectors")).unwrap();
        std::fs::write(dir.path().join("connectors/vendor.toml"), CONNECTOR).unwrap();
        std::fs::write(dir.path().join("connectors/erp.toml"), ERP).unwrap();
        std::fs::write(
            dir.path().join("iorready.toml"),
            format!("[state]\ndir = \"state\"\n[jobs.vendor]\nschedule = \"{schedule}\"\nconnectors = [\"vendor\"]\nout = \"out\"\njson = \"out/result.json\"\n"),
        )
        .unwrap();
        let vendor: Shared = Arc::default();
        {
            let mut v = vendor.lock().unwrap();
            let export: Value = serde_json::from_str(
                &std::fs::read_to_string(
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/layouts/erp-supplier-export.json"),
                )
                .unwrap(),
            )
            .unwrap();
            v.erp = export["suppliers"].as_array().unwrap().clone();
            for id in 1..=suppliers {
                v.suppliers.push(Supplier {
                    id,
                    updated_at: format!("2026-11-{id:02}T10:00:00Z"),
                    workbook: workbook(&format!("Supplier {id}"), "Own entity"),
                });
            }
        }
        let url = format!("http://{}/", serve(vendor.clone()));
        Setup { dir, vendor, url }
    }

    /// The job reads the ERP's supplier records with the bundled mappings.
    fn use_erp_job(&self) {
        let mappings = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
        std::fs::write(
            self.dir.path().join("iorready.toml"),
            format!(
                "[state]\ndir = \"state\"\n[jobs.erp]\nschedule = \"@hourly\"\nconnectors = [\"erp\"]\nmappings = {:?}\nout = \"out\"\njson = \"out/result.json\"\n",
                mappings.display().to_string()
            ),
        )
        .unwrap();
    }

    fn run(&self) -> String {
        self.run_with(&[])
    }

    fn run_with(&self, extra: &[&str]) -> String {
        let out = assert_cmd::Command::cargo_bin("iorready")
            .unwrap()
            .env("VENDOR_URL", &self.url)
            .args(["run", "--as-of", "2026-11-24", "--config"])
            .arg(self.dir.path().join("iorready.toml"))
            .args(extra)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    fn providers(&self) -> Vec<String> {
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(self.dir.path().join("out/result.json")).unwrap()).unwrap();
        let mut names = common::provider_names(&json);
        names.sort();
        names
    }

    fn cursor(&self) -> Option<String> {
        let state = iorready::daemon::State::open(&self.dir.path().join("state")).unwrap();
        state.cursor("vendor/vendor", "suppliers").unwrap()
    }
}

fn path_exists(p: &Path) -> bool {
    p.is_file()
}

#[test]
fn a_job_reads_from_the_saved_cursor_and_keeps_the_unchanged_suppliers() {
    let setup = Setup::new();
    let first = setup.run();
    assert!(first.contains("3 scored"), "{first}");
    assert_eq!(setup.cursor().as_deref(), Some("2026-11-03T10:00:00+00:00"));
    let second = setup.run();
    assert!(second.contains("0 scored, 3 unchanged"), "{second}");
    // The first listing started at the stream's start, the second asked
    // only for changes since the cursor.
    assert_eq!(
        setup.vendor.lock().unwrap().listings,
        [
            Some("2000-01-01T00:00:00Z".to_owned()),
            Some("2026-11-03T10:00:00Z".to_owned())
        ]
    );
    assert_eq!(setup.providers(), ["Supplier 1", "Supplier 2", "Supplier 3"]);
    assert!(path_exists(&setup.dir.path().join("out/supplier-1.annotated.xlsx")));
}

#[test]
fn the_supplier_record_gets_its_readiness_fields() {
    let setup = Setup::new();
    setup.run();
    let v = setup.vendor.lock().unwrap();
    assert_eq!(
        v.fields[&2],
        json!({
            "iorready_ready": 2,
            "iorready_ready_countries": "DE, FR",
            "iorready_best_tier": "ready",
            "iorready_capable_share": 100.0,
            "iorready_as_of": "2026-11-24"
        })
    );
}

#[test]
fn a_changed_supplier_is_fetched_rescored_and_written_back_once() {
    let setup = Setup::new();
    setup.run();
    assert_eq!(setup.vendor.lock().unwrap().note_posts, 3);
    {
        let mut v = setup.vendor.lock().unwrap();
        v.suppliers[1].updated_at = "2026-11-20T09:00:00Z".into();
        v.suppliers[1].workbook = workbook("Supplier 2", "Partner sourced on demand");
    }
    let out = setup.run();
    assert!(out.contains("1 scored, 2 unchanged"), "{out}");
    let v = setup.vendor.lock().unwrap();
    assert_eq!((v.note_posts, v.note_puts), (3, 1), "one update, no new note");
    assert_eq!(v.notes.len(), 3);
    drop(v);
    assert_eq!(setup.cursor().as_deref(), Some("2026-11-20T09:00:00+00:00"));
    assert_eq!(setup.providers(), ["Supplier 1", "Supplier 2", "Supplier 3"]);
}

#[test]
fn a_failed_write_back_keeps_the_cursor_and_is_retried_next_run() {
    let setup = Setup::new();
    setup.vendor.lock().unwrap().refuse_notes = true;
    let first = setup.run();
    assert!(first.contains("partial"), "{first}");
    assert!(first.contains("notes are read-only today"), "{first}");
    assert_eq!(setup.cursor(), None, "the cursor must not pass unwritten results");
    setup.vendor.lock().unwrap().refuse_notes = false;
    let second = setup.run();
    assert!(second.contains(" ok"), "{second}");
    assert_eq!(setup.vendor.lock().unwrap().note_posts, 3);
    assert_eq!(setup.cursor().as_deref(), Some("2026-11-03T10:00:00+00:00"));
    // Nothing left pending: a third run writes nothing.
    setup.run();
    let v = setup.vendor.lock().unwrap();
    assert_eq!((v.note_posts, v.note_puts), (3, 0));
}

#[test]
fn a_supplier_gone_from_a_full_listing_leaves_the_mirror_and_the_portfolio() {
    let setup = Setup::new();
    setup.run();
    setup.vendor.lock().unwrap().suppliers.remove(2);
    // An incremental listing cannot tell a removal: the supplier stays.
    setup.run();
    assert_eq!(setup.providers(), ["Supplier 1", "Supplier 2", "Supplier 3"]);
    // A full one can.
    setup.run_with(&["--full-sync"]);
    assert_eq!(setup.providers(), ["Supplier 1", "Supplier 2"]);
}

#[cfg(unix)]
#[test]
fn killing_the_daemon_during_runs_never_duplicates_or_loses_a_write_back() {
    let suppliers = 6;
    let setup = Setup::with_schedule("* * * * * *", suppliers);
    let mut seed = 0x9E3779B97F4A7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..8u64 {
        // One supplier changes its answers each round.
        {
            let mut v = setup.vendor.lock().unwrap();
            let i = (next() % suppliers as u64) as usize;
            let model = if round % 2 == 0 {
                "Partner sourced on demand"
            } else {
                "Own entity"
            };
            v.suppliers[i].updated_at = format!("2026-11-2{round}T10:00:00Z");
            v.suppliers[i].workbook = workbook(&format!("Supplier {}", i + 1), model);
        }
        let mut daemon = std::process::Command::new(assert_cmd::cargo::cargo_bin("iorready"))
            .env("VENDOR_URL", &setup.url)
            .args(["daemon", "--config"])
            .arg(setup.dir.path().join("iorready.toml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200 + next() % 1300));
        daemon.kill().unwrap();
        daemon.wait().unwrap();
    }
    let last = setup.run();
    assert!(last.contains(" ok"), "{last}");
    let v = setup.vendor.lock().unwrap();
    // One note per supplier, however often runs were cut.
    let mut per_supplier: HashMap<u32, usize> = HashMap::new();
    for (id, _) in &v.notes {
        *per_supplier.entry(*id).or_default() += 1;
    }
    assert_eq!(per_supplier.len(), suppliers as usize, "{:?}", v.notes);
    assert!(per_supplier.values().all(|&n| n == 1), "{:?}", v.notes);
    // Each note tells the supplier's latest answers.
    for s in &v.suppliers {
        let note = &v.notes.iter().find(|(id, _)| *id == s.id).unwrap().1;
        let passive = s.updated_at.ends_with("T10:00:00Z") && {
            let round: u32 = s.updated_at[8..10].parse().unwrap_or(0);
            round >= 20 && (round - 20).is_multiple_of(2)
        };
        let ready = if passive { "0 ready" } else { "2 ready" };
        assert!(note.contains(ready), "supplier {}: {note}", s.id);
    }
    drop(v);
    let mut expected: Vec<String> = (1..=suppliers).map(|i| format!("Supplier {i}")).collect();
    expected.sort();
    assert_eq!(setup.providers(), expected);
}

#[test]
fn a_connector_with_a_records_mapping_has_its_suppliers_scored() {
    let setup = Setup::new();
    setup.use_erp_job();
    let first = setup.run();
    assert!(first.contains(" ok"), "{first}");
    let names = setup.providers();
    let expected: Vec<String> = {
        let v = setup.vendor.lock().unwrap();
        let mut n: Vec<String> = v
            .erp
            .iter()
            .map(|r| r["supplier"]["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names, expected);
    // Unchanged records are not scored again.
    let second = setup.run();
    assert!(second.contains("0 scored, 1 unchanged"), "{second}");
}

#[test]
fn a_records_mapping_missing_from_the_job_is_a_validation_error() {
    let setup = Setup::new();
    std::fs::write(
        setup.dir.path().join("iorready.toml"),
        "[state]\ndir = \"state\"\n[jobs.erp]\nschedule = \"@hourly\"\nconnectors = [\"erp\"]\nout = \"out\"\n",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("iorready")
        .unwrap()
        .env("VENDOR_URL", &setup.url)
        .args(["validate", "--config"])
        .arg(setup.dir.path().join("iorready.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("names mapping 'erp-supplier-records'"), "{text}");
}

#[test]
fn score_with_a_records_connector_scores_its_suppliers() {
    let setup = Setup::new();
    let out_dir = setup.dir.path().join("once");
    let json = out_dir.join("result.json");
    let out = assert_cmd::Command::cargo_bin("iorready")
        .unwrap()
        .env("VENDOR_URL", &setup.url)
        .args([
            "score",
            "--connector",
            "erp",
            "--as-of",
            "2026-11-24",
            "--quiet",
            "--connectors-dir",
        ])
        .arg(setup.dir.path().join("connectors"))
        .arg("--mappings")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings"))
        .arg("--out")
        .arg(&out_dir)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let erp = setup.vendor.lock().unwrap().erp.len();
    assert_eq!(result["providers"].as_array().unwrap().len(), erp);
    assert!(result["providers"][0]["assessments"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
}

/// A job on the shipped Microsoft Graph definition against the local drive.
struct GraphJob {
    dir: tempfile::TempDir,
    addr: std::net::SocketAddr,
    graph: api::Shared,
}

impl GraphJob {
    fn new() -> GraphJob {
        let (addr, graph) = api::start();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("iorready.toml"),
            format!(
                "[state]\ndir = \"state\"\n[jobs.drive]\nschedule = \"@hourly\"\nconnectors = [\"microsoft-graph\"]\nconnectors_dir = {:?}\nout = \"out\"\njson = \"out/result.json\"\n",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors").display().to_string()
            ),
        )
        .unwrap();
        GraphJob { dir, addr, graph }
    }

    /// `iorready run` once; its stdout and stderr.
    fn run(&self) -> String {
        let addr = self.addr;
        let out = assert_cmd::Command::cargo_bin("iorready")
            .unwrap()
            .envs([
                ("GRAPH_URL", format!("http://{addr}/v1.0/")),
                ("ENTRA_TOKEN_URL", format!("http://{addr}/tenant/oauth2/v2.0/token")),
                ("GRAPH_CLIENT_ID", "app-1".to_owned()),
                ("GRAPH_CLIENT_SECRET", "app-secret-1".to_owned()),
                ("GRAPH_DRIVE_ID", "D1".to_owned()),
                ("GRAPH_FOLDER", "IOR".to_owned()),
            ])
            .args(["run", "--as-of", "2026-11-24", "--config"])
            .arg(self.dir.path().join("iorready.toml"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    fn providers(&self) -> Vec<String> {
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(self.dir.path().join("out/result.json")).unwrap()).unwrap();
        common::provider_names(&json)
    }

    /// The job's saved cursors: delta key and link.
    fn cursors(&self) -> Vec<(String, String)> {
        let state = iorready::daemon::State::open(&self.dir.path().join("state")).unwrap();
        state.cursors("drive/microsoft-graph").unwrap()
    }
}

/// The first run lists the whole drive by delta, later runs only what
/// changed since the saved delta link, renames and deletions included.
#[test]
fn a_graph_job_follows_the_drives_delta_with_renames_and_deletions() {
    let job = GraphJob::new();
    let (dir, graph) = (job.dir.path(), &job.graph);
    let first = job.run();
    assert!(first.contains("2 scored"), "{first}");
    assert_eq!(job.providers(), ["Meridian Trade Compliance", "SwiftFreight Logistics"]);
    assert_eq!(
        graph.lock().unwrap().graph_downloads,
        ["3", "4"],
        "the other folder's budget.xlsx is not fetched"
    );
    // Meridian's workbook is renamed, SwiftFreight's deleted.
    graph.lock().unwrap().graph_changes = vec![
        json!({"id": "3", "name": "meridian-2027.xlsx", "file": {}, "parentReference": {"id": "F1"}}),
        json!({"id": "4", "deleted": {"state": "deleted"}, "parentReference": {"id": "F1"}}),
    ];
    let second = job.run();
    assert!(second.contains(" ok"), "{second}");
    assert_eq!(
        graph.lock().unwrap().graph_delta_tokens,
        ["T1"],
        "the second run asked only for changes"
    );
    assert_eq!(job.providers(), ["Meridian Trade Compliance"]);
    assert!(dir.join("out/meridian-2027.annotated.xlsx").is_file());
    assert!(!dir.join("out/meridian-trade-compliance.annotated.xlsx").exists());
    assert!(!dir.join("out/swiftfreight-logistics.annotated.xlsx").exists());
    let third = job.run();
    assert!(third.contains("0 scored, 1 unchanged"), "{third}");
    assert_eq!(graph.lock().unwrap().graph_delta_tokens, ["T1", "T2"]);
}

#[test]
fn a_graph_job_whose_delta_link_has_expired_lists_the_drive_whole_and_saves_the_new_link() {
    let job = GraphJob::new();
    job.run();
    let saved = job.cursors();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].0, "questionnaires@F1", "kept per folder");
    assert!(saved[0].1.ends_with("token=T1"), "{saved:?}");
    {
        let mut g = job.graph.lock().unwrap();
        g.graph_gone_tokens = vec!["T1".into()];
        g.graph_listing_token = Some("R1".into());
    }
    let second = job.run();
    assert!(second.contains(" ok"), "{second}");
    assert_eq!(job.graph.lock().unwrap().graph_full_listings, 2);
    assert_eq!(job.providers(), ["Meridian Trade Compliance", "SwiftFreight Logistics"]);
    let saved = job.cursors();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(
        saved[0].1.ends_with("token=R1"),
        "the expired link is replaced: {saved:?}"
    );
    job.run();
    assert_eq!(job.graph.lock().unwrap().graph_delta_tokens, ["T1", "R1"]);
}

#[test]
fn a_graph_job_reports_a_workbook_it_cannot_fetch_and_scores_its_earlier_copy() {
    let job = GraphJob::new();
    job.run();
    job.graph.lock().unwrap().graph_changes =
        vec![json!({"id": "4", "name": "swiftfreight-logistics.xlsx", "file": {}, "parentReference": {"id": "F1"}})];
    job.graph.lock().unwrap().graph_refuse_downloads = true;
    let second = job.run();
    assert!(
        second.contains("  swiftfreight-logistics.xlsx (connector 'microsoft-graph'): not fetched: HTTP 403"),
        "{second}"
    );
    assert!(second.contains("partial"), "{second}");
    assert!(
        second.contains("2 input(s), 0 scored, 2 unchanged, 0 not scored") && second.contains("1 file(s) not fetched"),
        "the earlier copy counts as scored, not as an error: {second}"
    );
    assert_eq!(job.providers(), ["Meridian Trade Compliance", "SwiftFreight Logistics"]);
    assert_eq!(
        json_errors(job.dir.path()),
        [(
            "swiftfreight-logistics.xlsx (connector 'microsoft-graph')".to_owned(),
            "not fetched: HTTP 403 Forbidden: Access denied".to_owned()
        )]
    );
    // The link stays where it was, so the next run tries the file again.
    assert!(job.cursors()[0].1.ends_with("token=T1"));
    job.graph.lock().unwrap().graph_refuse_downloads = false;
    let third = job.run();
    assert!(third.contains(" ok") && !third.contains("not scored:"), "{third}");
    assert_eq!(job.graph.lock().unwrap().graph_delta_tokens, ["T1", "T1"]);
    assert!(job.cursors()[0].1.ends_with("token=T2"));
    // The file came with the bytes of its earlier copy: the outputs are
    // written again all the same, without the error that cleared.
    assert!(json_errors(job.dir.path()).is_empty());
}

/// The JSON result's `errors[]` in `dir/out/result.json`: (file, message).
fn json_errors(dir: &Path) -> Vec<(String, String)> {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("out/result.json")).unwrap()).unwrap();
    json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_file_whose_content_is_not_base64_is_listed_as_not_scored_and_the_others_are_scored() {
    let setup = Setup::new();
    setup.vendor.lock().unwrap().bad_content = vec![2];
    let out = setup.run();
    assert!(out.contains("2 scored"), "{out}");
    assert!(
        out.contains("  supplier-2.xlsx (connector 'vendor'): not fetched: the content at '/content' is not base64"),
        "{out}"
    );
    assert_eq!(setup.providers(), ["Supplier 1", "Supplier 3"]);
    let errors = json_errors(setup.dir.path());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "supplier-2.xlsx (connector 'vendor')");
    assert!(
        errors[0]
            .1
            .starts_with("not fetched: the content at '/content' is not base64"),
        "{errors:?}"
    );
    let errors = common::sheet(&setup.dir.path().join("out/portfolio.xlsx"), "Not scored");
    assert!(
        errors
            .rows()
            .flatten()
            .any(|c| c.to_string().contains("supplier-2.xlsx")),
        "the portfolio does not list it"
    );
}

#[test]
fn a_state_error_part_way_through_a_run_records_the_run_as_failed() {
    let setup = Setup::new();
    // While the run fetches, the inputs' table goes from under it.
    let db = setup.dir.path().join("state").join(iorready::daemon::state::DB_NAME);
    setup.vendor.lock().unwrap().on_listing = Some(Box::new(move || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("DROP TABLE IF EXISTS inputs").unwrap();
    }));
    let out = setup.run();
    let state = iorready::daemon::State::open(&setup.dir.path().join("state")).unwrap();
    let runs = state.runs(Some("vendor"), 1).unwrap();
    assert_eq!(runs[0].outcome, iorready::daemon::Outcome::Failed, "{out}");
    assert!(
        runs[0].message.as_deref().unwrap_or_default().contains("inputs"),
        "{:?}",
        runs[0].message
    );
}

#[test]
fn a_run_with_nothing_changed_still_moves_the_cursor_on() {
    let setup = Setup::new();
    setup.run();
    // The vendor touches supplier 2's record; its workbook stays the same.
    setup.vendor.lock().unwrap().suppliers[1].updated_at = "2026-11-20T09:00:00Z".into();
    let second = setup.run();
    assert!(second.contains("nothing changed"), "{second}");
    assert_eq!(setup.cursor().as_deref(), Some("2026-11-20T09:00:00+00:00"));
    setup.run();
    let listings = setup.vendor.lock().unwrap().listings.clone();
    assert_eq!(
        listings.last(),
        Some(&Some("2026-11-20T09:00:00Z".to_owned())),
        "{listings:?}"
    );
}

#[test]
fn a_full_listing_that_comes_back_empty_fails_the_run_and_keeps_the_workbooks_until_a_full_sync() {
    let setup = Setup::new();
    // Listed whole every run (no incremental cursor).
    let whole = CONNECTOR.replace(
        "incremental = { cursor_field = \"/updated_at\", format = \"%Y-%m-%dT%H:%M:%SZ\", param = \"since\", start = \"2000-01-01T00:00:00Z\" }\n",
        "",
    );
    assert_ne!(whole, CONNECTOR);
    std::fs::write(setup.dir.path().join("connectors/vendor.toml"), whole).unwrap();
    setup.run();
    assert_eq!(setup.providers(), ["Supplier 1", "Supplier 2", "Supplier 3"]);
    setup.vendor.lock().unwrap().suppliers.clear();
    let refused = setup.run();
    assert!(
        refused.contains("connector 'vendor' listed no workbooks where 3 came from it before"),
        "{refused}"
    );
    assert_eq!(
        setup.providers(),
        ["Supplier 1", "Supplier 2", "Supplier 3"],
        "the outputs are kept"
    );
    setup.run_with(&["--full-sync"]);
    assert!(setup.providers().is_empty(), "a full sync accepts the empty listing");
}

#[test]
fn a_records_connector_that_lists_no_records_keeps_the_earlier_ones_until_a_full_sync() {
    let setup = Setup::new();
    setup.use_erp_job();
    setup.run();
    let before = setup.providers();
    assert!(!before.is_empty());
    setup.vendor.lock().unwrap().erp.clear();
    let refused = setup.run();
    assert!(refused.contains("connector 'erp' listed no records where"), "{refused}");
    assert_eq!(setup.providers(), before);
    setup.run_with(&["--full-sync"]);
    assert!(setup.providers().is_empty());
}

#[test]
fn an_incremental_read_that_brings_nothing_new_is_not_an_empty_listing() {
    let setup = Setup::new();
    setup.run();
    setup.vendor.lock().unwrap().suppliers.clear();
    // Read from the saved cursor: nothing changed is not nothing there.
    let second = setup.run();
    assert!(!second.contains("listed no"), "{second}");
    assert!(second.contains(" ok"), "{second}");
    assert_eq!(setup.providers(), ["Supplier 1", "Supplier 2", "Supplier 3"]);
}

/// A TCP proxy to `upstream` that, once `dead` is set, drops every new
/// connection at once (the API's host died); counts the dropped ones.
fn killable_proxy(
    upstream: std::net::SocketAddr,
) -> (
    std::net::SocketAddr,
    Arc<std::sync::atomic::AtomicBool>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let dead = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dropped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (d, n) = (dead.clone(), dropped.clone());
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            if d.load(Ordering::SeqCst) {
                n.fetch_add(1, Ordering::SeqCst);
                drop(client);
                continue;
            }
            let Ok(server) = std::net::TcpStream::connect(upstream) else {
                continue;
            };
            let (mut c1, mut s1) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut c2, mut s2) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c1, &mut s1);
                let _ = s1.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (addr, dead, dropped)
}

#[test]
fn write_backs_stop_for_the_run_once_the_apis_host_cannot_be_reached_and_the_rest_stay_pending() {
    use std::sync::atomic::Ordering;
    let mut setup = Setup::with_schedule("@hourly", 10);
    // Retries as by default (4), but quick.
    let connector = CONNECTOR.replacen("[[streams]]", "[limits]\nbackoff_base_ms = 20\n\n[[streams]]", 1);
    std::fs::write(setup.dir.path().join("connectors/vendor.toml"), connector).unwrap();
    let upstream: std::net::SocketAddr = setup
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let (proxy, dead, dropped) = killable_proxy(upstream);
    setup.url = format!("http://{proxy}/");
    // The host dies as the first write-back starts.
    let d = dead.clone();
    setup.vendor.lock().unwrap().on_find_note = Some(Box::new(move || d.store(true, Ordering::SeqCst)));
    let started = std::time::Instant::now();
    let first = setup.run();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "host died during write-back: run took {seconds:.2} s, {} connection(s) dropped",
        dropped.load(Ordering::SeqCst)
    );
    assert!(first.contains("partial"), "{first}");
    // The first write-back's connection was open before the host died.
    assert!(first.contains("2 write-back(s)"), "{first}");
    assert!(
        first.contains("6 more write-back(s) not tried, pending for the next run"),
        "{first}"
    );
    assert_eq!(
        first.matches("no more write-backs through it").count(),
        1,
        "said once: {first}"
    );
    // Three write-backs tried, each with its retries; none of the other 6.
    assert!(
        dropped.load(Ordering::SeqCst) <= 3 * 5,
        "{}",
        dropped.load(Ordering::SeqCst)
    );
    // The host is back: the next run writes every supplier's results.
    setup.vendor.lock().unwrap().on_find_note = None;
    dead.store(false, Ordering::SeqCst);
    let second = setup.run();
    assert!(second.contains(" ok"), "{second}");
    assert_eq!(setup.vendor.lock().unwrap().note_posts, 10);
}
