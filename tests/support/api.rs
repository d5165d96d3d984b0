//! A local HTTP API for connector tests: the paging shapes of the shipped
//! vendors (offset, page number, cursor, OData next link, Link header), an
//! OAuth2 token endpoint, a Dataverse custom table with choice columns and
//! their formatted values, and injected faults. Loopback only; it stops with
//! the test process.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{json, Value};

/// Counters and switches shared with the test.
#[derive(Default)]
pub struct ApiState {
    pub requests: u64,
    pub tokens_issued: u64,
    pub valid_token: Option<String>,
    /// Revoke the token after this many successful secure pages.
    pub revoke_after: Option<u64>,
    pub secure_pages: u64,
    pub flaky_calls: u64,
    /// Child requests being answered now, and the most at once.
    pub in_flight: u64,
    pub max_in_flight: u64,
    /// Graph refuses the folder listing's second page.
    pub graph_page2_denied: bool,
    /// What the Graph drive's delta answers after the first full listing
    /// (to the link `token=T1`): changed or deleted items.
    pub graph_changes: Vec<Value>,
    /// The delta links asked for (`token=` values), in order.
    pub graph_delta_tokens: Vec<String>,
    /// Files downloaded by item id.
    pub graph_downloads: Vec<String>,
    /// The paths of the download requests as sent (still percent-encoded).
    pub graph_download_paths: Vec<String>,
    /// Delta links (`token=` values) that have expired: answered 410 Gone
    /// with Graph's `resyncRequired`.
    pub graph_gone_tokens: Vec<String>,
    /// The token of the delta link a full listing ends with (`T1` unless
    /// set).
    pub graph_listing_token: Option<String>,
    /// Full listings started (first pages without a token).
    pub graph_full_listings: u64,
    /// The answer to `token=T1` starts with a page with no items and a
    /// next link (`token=T1b`), which answers the changes.
    pub graph_empty_delta_page: bool,
    /// Items added to the full listing's second page.
    pub graph_extra: Vec<Value>,
    /// Downloads by item id beyond the drive's own: which file answers
    /// (1 and 2: example workbooks, 3: a body of 2 MiB).
    pub graph_files: HashMap<String, usize>,
    /// Every download is refused (403).
    pub graph_refuse_downloads: bool,
    /// Files uploaded to the Graph drive: path, content type, bytes.
    pub uploads: Vec<(String, String, Vec<u8>)>,
    /// Attachments listed by `/attachments` beyond 1 and 2 (the example
    /// workbooks): 3 answers more than 2 MiB, 4 data that is not base64.
    pub attachments_extra: Vec<u64>,
    /// The attachment requests as sent: path and query.
    pub attachment_requests: Vec<String>,
}

pub type Shared = Arc<Mutex<ApiState>>;

const TOTAL: usize = 5;

fn supplier(i: usize) -> Value {
    json!({ "id": i, "name": format!("Supplier {i}") })
}

fn slice(from: usize, n: usize) -> Vec<Value> {
    (from..(from + n).min(TOTAL)).map(supplier).collect()
}

fn param(q: &HashMap<String, String>, k: &str) -> usize {
    q.get(k).and_then(|v| v.parse().ok()).unwrap_or(0)
}

async fn offset(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    s.lock().unwrap().requests += 1;
    Json(json!({ "data": { "items": slice(param(&q, "offset"), param(&q, "limit")) } }))
}

async fn page(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    s.lock().unwrap().requests += 1;
    let size = param(&q, "per_page");
    let p = param(&q, "page").max(1);
    Json(json!(slice((p - 1) * size, size)))
}

async fn cursor(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    s.lock().unwrap().requests += 1;
    let at = q
        .get("cursor")
        .and_then(|c| c.strip_prefix("c"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0usize);
    let next = if at + 2 < TOTAL {
        json!(format!("c{}", at + 2))
    } else {
        Value::Null
    };
    Json(json!({ "records": slice(at, 2), "next_cursor": next }))
}

async fn odata(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    s.lock().unwrap().requests += 1;
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let skip = param(&q, "$skiptoken");
    let mut body = json!({ "value": slice(skip, 2) });
    if skip + 2 < TOTAL {
        body["@odata.nextLink"] = json!(format!("http://{host}/odata/suppliers?$skiptoken={}", skip + 2));
    }
    Json(body)
}

async fn link(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    s.lock().unwrap().requests += 1;
    let p = param(&q, "page").max(1);
    let mut headers = HeaderMap::new();
    if p * 2 < TOTAL {
        let next = format!(
            "</link/suppliers?page={}>; rel=\"next\", </link/suppliers?page=1>; rel=\"first\"",
            p + 1
        );
        headers.insert("link", next.parse().unwrap());
    }
    (headers, Json(json!(slice((p - 1) * 2, 2)))).into_response()
}

async fn looping(State(s): State<Shared>) -> Json<Value> {
    s.lock().unwrap().requests += 1;
    Json(json!({ "records": slice(0, 2), "next_cursor": "same" }))
}

async fn flaky(State(s): State<Shared>) -> Response {
    let calls = {
        let mut st = s.lock().unwrap();
        st.requests += 1;
        st.flaky_calls += 1;
        st.flaky_calls
    };
    match calls {
        1 | 2 => (StatusCode::SERVICE_UNAVAILABLE, "upstream busy").into_response(),
        3 => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({"message": "slow down"})),
        )
            .into_response(),
        _ => Json(json!(slice(0, 2))).into_response(),
    }
}

async fn broken() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "message": "database unavailable" })),
    )
        .into_response()
}

async fn slow(State(s): State<Shared>) -> Response {
    s.lock().unwrap().requests += 1;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    Json(json!(slice(0, 2))).into_response()
}

/// A parent's children, answered slowly so that parallel requests overlap.
async fn slow_child(State(s): State<Shared>, axum::extract::Path(id): axum::extract::Path<u64>) -> Json<Value> {
    {
        let mut st = s.lock().unwrap();
        st.in_flight += 1;
        st.max_in_flight = st.max_in_flight.max(st.in_flight);
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    s.lock().unwrap().in_flight -= 1;
    Json(json!([{ "id": id * 10 }, { "id": id * 10 + 1 }]))
}

/// Two megabytes of records in one page.
async fn huge() -> Response {
    let filler = "x".repeat(1000);
    let records: Vec<Value> = (0..2048).map(|i| json!({"id": i, "note": filler})).collect();
    Json(json!(records)).into_response()
}

async fn invalid_json() -> Response {
    ([("content-type", "application/json")], "{\"records\": [1, 2,").into_response()
}

async fn keyed(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("api_key").map(String::as_str) == Some("key-123456") {
        Json(json!(slice(0, 1))).into_response()
    } else {
        (StatusCode::FORBIDDEN, Json(json!({"message": "bad key"}))).into_response()
    }
}

async fn token(State(s): State<Shared>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    let basic = headers.get("authorization").and_then(|h| h.to_str().ok()).unwrap_or("");
    // "client-1:secret-1" in Basic.
    let good = basic == "Basic Y2xpZW50LTE6c2VjcmV0LTE=";
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") || !good {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client", "error_description": "client authentication failed" })),
        )
            .into_response();
    }
    let mut st = s.lock().unwrap();
    st.tokens_issued += 1;
    let t = format!("tok-{}", st.tokens_issued);
    st.valid_token = Some(t.clone());
    Json(json!({ "access_token": t, "token_type": "bearer", "expires_in": 3600 })).into_response()
}

async fn secure(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let auth = headers.get("authorization").and_then(|h| h.to_str().ok()).unwrap_or("");
    guarded(&s, &q, |t| auth == format!("Bearer {t}"))
}

/// A login answering `{"session": {"token": ...}}` for user `ior` with
/// password `pw-1`, given as `login` and `secret`.
async fn session_login(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    if body["login"] != "ior" || body["secret"] != "pw-1" {
        return (StatusCode::FORBIDDEN, Json(json!({"message": "invalid credentials"}))).into_response();
    }
    let mut st = s.lock().unwrap();
    st.tokens_issued += 1;
    let t = format!("sess-{}", st.tokens_issued);
    st.valid_token = Some(t.clone());
    Json(json!({"session": {"token": t, "user": "ior"}})).into_response()
}

/// Suppliers behind the session token, sent bare in `X-Session`.
async fn session_suppliers(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let sent = headers.get("x-session").and_then(|h| h.to_str().ok()).unwrap_or("");
    guarded(&s, &q, |t| sent == t)
}

/// A page of suppliers if `valid` accepts the current token; counts pages
/// and revokes the token after `revoke_after` of them.
fn guarded(s: &Shared, q: &HashMap<String, String>, valid: impl Fn(&str) -> bool) -> Response {
    let mut st = s.lock().unwrap();
    st.requests += 1;
    let valid = st.valid_token.as_deref().is_some_and(valid);
    if !valid {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer error=\"invalid_token\"")],
            "",
        )
            .into_response();
    }
    st.secure_pages += 1;
    if st.revoke_after == Some(st.secure_pages) {
        st.valid_token = None;
    }
    Json(json!({ "data": { "items": slice(param(q, "offset"), param(q, "limit")) } })).into_response()
}

/// Entra ID's token endpoint: client id and secret in the form body, and a
/// `.default` scope.
async fn entra_token(State(s): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("client_id").map(String::as_str) == Some("app-1")
        && form.get("client_secret").map(String::as_str) == Some("app-secret-1")
        && form.get("scope").is_some_and(|sc| sc.ends_with("/.default"));
    if !ok {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}))).into_response();
    }
    let mut st = s.lock().unwrap();
    st.tokens_issued += 1;
    let t = format!("entra-{}", st.tokens_issued);
    st.valid_token = Some(t.clone());
    Json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": t})).into_response()
}

fn bearer_ok(s: &Shared, headers: &HeaderMap) -> bool {
    let auth = headers.get("authorization").and_then(|h| h.to_str().ok()).unwrap_or("");
    s.lock()
        .unwrap()
        .valid_token
        .as_ref()
        .is_some_and(|t| auth == format!("Bearer {t}"))
}

/// Dataverse `accounts`: pages sized by `Prefer: odata.maxpagesize`, next
/// page by `@odata.nextLink` with a `$skiptoken`.
async fn dataverse(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if !bearer_ok(&s, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": "0x80072243", "message": "invalid token"}})),
        )
            .into_response();
    }
    let size: usize = headers
        .get("prefer")
        .and_then(|h| h.to_str().ok())
        .and_then(|p| p.split("odata.maxpagesize=").nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000)
        .min(2);
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
    if let Some(f) = q.get("$filter") {
        let since = f
            .strip_prefix("(customertypecode eq 10 or customertypecode eq 11) and modifiedon ge ")
            .unwrap_or("");
        if chrono::DateTime::parse_from_rfc3339(since).is_err() {
            let message = format!("Syntax error in $filter '{f}'");
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"code": "0x80060888", "message": message}})),
            )
                .into_response();
        }
    }
    let skip = param(&q, "$skiptoken");
    let value: Vec<Value> = (skip..(skip + size).min(TOTAL))
        .map(|i| json!({"accountid": format!("00000000-0000-0000-0000-00000000000{i}"), "name": format!("Supplier {i}"), "modifiedon": format!("2026-11-0{}T08:00:00Z", i + 1)}))
        .collect();
    let mut body = json!({"@odata.context": format!("http://{host}/api/data/v9.2/$metadata#accounts"), "value": value});
    if skip + size < TOTAL {
        body["@odata.nextLink"] = json!(format!(
            "http://{host}/api/data/v9.2/accounts?$skiptoken={}",
            skip + size
        ));
    }
    Json(body).into_response()
}

/// Graph's answer to a missing or expired token.
fn graph_unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}})),
    )
        .into_response()
}

/// Graph's drive: the folder looked up by its path (`root:/IOR`), the
/// drive's `root/delta` (SharePoint and OneDrive for Business allow delta
/// on the root only, so it lists the whole drive, over two pages, then a
/// delta link; the link answers what changed since), and each item's
/// `content` by id (a 302 to a pre-authenticated download URL).
async fn graph_get(
    State(s): State<Shared>,
    axum::extract::Path((_drive, rest)): axum::extract::Path<(String, String)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !bearer_ok(&s, &headers) {
        return graph_unauthorized();
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let delta_link = |token: &str| format!("http://{host}/v1.0/drives/D1/root/delta?token={token}");
    let in_folder = |id: &str, name: &str, file: bool| {
        let mut item = json!({"id": id, "name": name, "parentReference": {"id": "F1", "driveId": "D1"}});
        item[if file { "file" } else { "folder" }] = json!({});
        item
    };
    if rest == "root:/IOR" {
        return Json(json!({"id": "F1", "name": "IOR", "folder": {"childCount": 4}})).into_response();
    }
    // Another folder of the drive, for a job pointed elsewhere.
    if rest == "root:/IOR 2" {
        return Json(json!({"id": "F2", "name": "IOR 2", "folder": {}})).into_response();
    }
    // The drive's top folders: one per supplier.
    if rest == "root/children" {
        return Json(json!({"value": [
            {"id": "F1", "name": "IOR", "folder": {}},
            {"id": "F2", "name": "IOR 2", "folder": {}}
        ]}))
        .into_response();
    }
    if let Some(id) = rest.strip_prefix("items/").and_then(|r| r.strip_suffix("/content")) {
        let mut st = s.lock().unwrap();
        st.graph_downloads.push(id.to_owned());
        st.graph_download_paths.push(uri.path().to_owned());
        if st.graph_refuse_downloads {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"error": {"code": "accessDenied", "message": "Access denied"}})),
            )
                .into_response();
        }
        let n = match id {
            "3" => 1,
            "4" => 2,
            "5" => 2,
            other if st.graph_files.contains_key(other) => st.graph_files[other],
            _ => {
                return (
                    StatusCode::NOT_FOUND,
                    Json(json!({"error": {"code": "itemNotFound", "message": "The resource could not be found."}})),
                )
                    .into_response()
            }
        };
        return (StatusCode::FOUND, [("location", format!("http://{host}/download/{n}"))]).into_response();
    }
    if rest != "root/delta" {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": "itemNotFound", "message": "The resource could not be found."}})),
        )
            .into_response();
    }
    if let Some(token) = q.get("token") {
        let mut st = s.lock().unwrap();
        st.graph_delta_tokens.push(token.clone());
        if st.graph_gone_tokens.contains(token) {
            return (
                StatusCode::GONE,
                Json(json!({"error": {"code": "resyncRequired", "message": "Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd."}})),
            )
                .into_response();
        }
        if token == "T1" && st.graph_empty_delta_page {
            let next = format!("http://{host}/v1.0/drives/D1/root/delta?token=T1b");
            return Json(json!({"value": [], "@odata.nextLink": next})).into_response();
        }
        let value = if token == "T1" || token == "T1b" {
            st.graph_changes.clone()
        } else {
            Vec::new()
        };
        return Json(json!({"value": value, "@odata.deltaLink": delta_link("T2")})).into_response();
    }
    if q.contains_key("$skiptoken") {
        if s.lock().unwrap().graph_page2_denied {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"error": {"code": "accessDenied", "message": "Access denied"}})),
            )
                .into_response();
        }
        let st = s.lock().unwrap();
        let mut value = vec![in_folder("4", "swiftfreight-logistics.xlsx", true)];
        value.extend(st.graph_extra.iter().cloned());
        let token = st.graph_listing_token.clone().unwrap_or_else(|| "T1".to_owned());
        return Json(json!({"value": value, "@odata.deltaLink": delta_link(&token)})).into_response();
    }
    s.lock().unwrap().graph_full_listings += 1;
    Json(json!({
        "value": [
            {"id": "ROOT", "name": "root", "root": {}, "folder": {}},
            {"id": "F1", "name": "IOR", "folder": {}, "parentReference": {"id": "ROOT"}},
            in_folder("1", "Archive", false),
            in_folder("2", "contract.pdf", true),
            in_folder("3", "meridian-trade-compliance.xlsx", true),
            {"id": "9", "name": "budget.xlsx", "file": {}, "parentReference": {"id": "OTHER"}}
        ],
        "@odata.nextLink": format!("http://{host}/v1.0/drives/D1/root/delta?$skiptoken=2")
    }))
    .into_response()
}

/// Graph's simple upload: `PUT .../root:/<path>:/content` with the bytes.
async fn graph_upload(
    State(s): State<Shared>,
    axum::extract::Path((drive, rest)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !bearer_ok(&s, &headers) {
        return graph_unauthorized();
    }
    let kind = headers
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut st = s.lock().unwrap();
    st.uploads.push((format!("{drive}/{rest}"), kind, body.to_vec()));
    (
        StatusCode::CREATED,
        Json(json!({"id": format!("up-{}", st.uploads.len()), "size": body.len()})),
    )
        .into_response()
}

/// A Tryton-like attachment listing: ids and names only, whatever fields
/// are asked for.
async fn attachments(State(s): State<Shared>, uri: axum::http::Uri) -> Response {
    let mut st = s.lock().unwrap();
    st.attachment_requests.push(uri.to_string());
    let mut ids = vec![1, 2];
    ids.extend(st.attachments_extra.iter().copied());
    let names = ["", "meridian.xlsx", "swiftfreight.xlsx", "huge.xlsx", "garbled.xlsx"];
    let listed: Vec<Value> = ids
        .iter()
        .map(|&id| json!({"id": id, "name": names.get(id as usize).copied().unwrap_or("other.xlsx")}))
        .collect();
    Json(json!(listed)).into_response()
}

/// One attachment with its data, as Tryton's REST API answers
/// `model/ir.attachment/{id}?f=data`.
async fn attachment(
    State(s): State<Shared>,
    axum::extract::Path(id): axum::extract::Path<u64>,
    uri: axum::http::Uri,
) -> Response {
    use base64::Engine;
    s.lock().unwrap().attachment_requests.push(uri.to_string());
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/workbooks");
    let bytes = match id {
        1 => std::fs::read(root.join("meridian-trade-compliance.xlsx")).unwrap(),
        2 => std::fs::read(root.join("swiftfreight-logistics.xlsx")).unwrap(),
        3 => vec![0u8; 2 * 1024 * 1024],
        4 => return Json(json!({"id": id, "data": {"__class__": "bytes", "base64": "not base64!"}})).into_response(),
        _ => return (StatusCode::NOT_FOUND, "").into_response(),
    };
    // Tryton ends its base64 with a line break.
    let data = format!("{}\n", base64::engine::general_purpose::STANDARD.encode(bytes));
    Json(json!({"id": id, "__name__": "ir.attachment", "data": {"__class__": "bytes", "base64": data}})).into_response()
}

async fn download(axum::extract::Path(n): axum::extract::Path<usize>) -> Response {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/workbooks");
    let file = match n {
        1 => root.join("meridian-trade-compliance.xlsx"),
        2 => root.join("swiftfreight-logistics.xlsx"),
        3 => return vec![0u8; 2 * 1024 * 1024 + 1].into_response(),
        _ => return (StatusCode::NOT_FOUND, "").into_response(),
    };
    std::fs::read(file).unwrap().into_response()
}

/// Starts the API on 127.0.0.1 with a free port, on its own thread.
pub fn start() -> (SocketAddr, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/offset/suppliers", get(offset))
        .route("/page/suppliers", get(page))
        .route("/cursor/suppliers", get(cursor))
        .route("/odata/suppliers", get(odata))
        .route("/link/suppliers", get(link))
        .route("/loop/suppliers", get(looping))
        .route("/flaky/suppliers", get(flaky))
        .route("/broken/suppliers", get(broken))
        .route("/invalid/suppliers", get(invalid_json))
        .route("/slow/suppliers", get(slow))
        .route("/slowchild/{id}", get(slow_child))
        .route("/huge/suppliers", get(huge))
        .route("/keyed/suppliers", get(keyed))
        .route("/oauth/token", post(token))
        .route("/secure/suppliers", get(secure))
        .route("/session/login", post(session_login))
        .route("/session/suppliers", get(session_suppliers))
        .route("/tenant/oauth2/v2.0/token", post(entra_token))
        .route("/api/data/v9.2/accounts", get(dataverse))
        .route("/api/data/v9.2/ior_countrycapabilities", get(dataverse_ior))
        .route("/v1.0/drives/{drive}/{*rest}", get(graph_get).put(graph_upload))
        .route("/download/{n}", get(download))
        .route("/attachments", get(attachments))
        .route("/attachments/{id}", get(attachment))
        .with_state(state.clone());
    (serve(app), state)
}

/// Serves `app` on 127.0.0.1 with a free port, on its own thread.
pub fn serve(app: Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A row of the Dataverse custom table `ior_countrycapability`: a lookup to
/// the account, choice columns as numbers with their labels as formatted
/// values (only when the request asks for the annotations, as Dataverse
/// does), and `statecode` 1 for an inactive row.
fn capability_row(
    i: usize,
    account: (&str, &str),
    country: &str,
    model: (u32, &str),
    shipments: u32,
    active: bool,
    labels: bool,
) -> Value {
    const F: &str = "@OData.Community.Display.V1.FormattedValue";
    let mut row = json!({
        "@odata.etag": format!("W/\"{}\"", 7000 + i),
        "ior_countrycapabilityid": format!("10000000-0000-0000-0000-00000000000{i}"),
        "_ior_account_value": format!("20000000-0000-0000-0000-0000000000{}", account.0),
        "ior_country": country,
        "ior_covered": true,
        "ior_operatingmodel": model.0,
        "ior_iorrole": 100000000,
        "ior_liability": 100000000,
        "ior_localentityname": format!("Local entity {country}"),
        "ior_localentityid": null,
        "ior_shipments24m": shipments,
        "ior_lastshipment": "2026-10-01",
        "ior_regulatorypathway": 100000000,
        "ior_evidence": 100000002,
        "ior_evidencereference": null,
        "ior_comments": null,
        "statecode": if active { 0 } else { 1 },
        "modifiedon": format!("2026-11-0{}T08:00:00Z", i + 1),
    });
    if labels {
        for (column, label) in [
            ("_ior_account_value", account.1),
            ("ior_covered", "Yes"),
            ("ior_operatingmodel", model.1),
            ("ior_iorrole", "Provider is IOR"),
            ("ior_liability", "Full"),
            ("ior_regulatorypathway", "Defined and repeatable"),
            ("ior_evidence", "Verified"),
            ("statecode", if active { "Active" } else { "Inactive" }),
        ] {
            row[format!("{column}{F}")] = json!(label);
        }
        row[format!("ior_shipments24m{F}")] = json!(shipments.to_string());
    }
    row
}

/// Dataverse `ior_countrycapabilities`: two rows a page by `@odata.nextLink`,
/// `$filter` on `statecode` and `modifiedon` honoured, formatted values when
/// `Prefer` asks for them.
async fn dataverse_ior(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !bearer_ok(&s, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": "0x80072243", "message": "invalid token"}})),
        )
            .into_response();
    }
    let prefer = headers.get("prefer").and_then(|h| h.to_str().ok()).unwrap_or("");
    let labels = prefer.contains("odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\"")
        || prefer.contains("odata.include-annotations=\"*\"");
    let atlas = ("01", "Atlas Import Services");
    let globe = ("02", "GlobeReach IOR Network");
    let rows = vec![
        capability_row(0, atlas, "DE", (100000000, "Own entity"), 14, true, labels),
        capability_row(
            1,
            globe,
            "DE",
            (100000002, "Partner sourced on demand"),
            0,
            true,
            labels,
        ),
        capability_row(2, atlas, "IT", (100000004, "Not offered"), 0, false, labels),
        capability_row(3, atlas, "FR", (100000001, "Contracted partner"), 8, true, labels),
    ];
    let since = q
        .get("$filter")
        .and_then(|f| f.strip_prefix("statecode eq 0 and modifiedon ge "))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let Some(since) = since else {
        let message = format!(
            "Syntax error in $filter '{}'",
            q.get("$filter").cloned().unwrap_or_default()
        );
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"code": "0x80060888", "message": message}})),
        )
            .into_response();
    };
    let matching: Vec<Value> = rows
        .into_iter()
        .filter(|r| r["statecode"] == 0)
        .filter(|r| {
            chrono::DateTime::parse_from_rfc3339(r["modifiedon"].as_str().unwrap_or("")).is_ok_and(|m| m >= since)
        })
        .collect();
    let skip = param(&q, "$skiptoken");
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
    let value: Vec<Value> = matching.iter().skip(skip).take(2).cloned().collect();
    let mut body = json!({"@odata.context": format!("http://{host}/api/data/v9.2/$metadata#ior_countrycapabilities"), "value": value});
    if skip + 2 < matching.len() {
        // Dataverse's next link repeats the query, with a skip token.
        let mut params: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| *k != "$skiptoken")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.push(("$skiptoken".into(), (skip + 2).to_string()));
        let next =
            reqwest::Url::parse_with_params(&format!("http://{host}/api/data/v9.2/ior_countrycapabilities"), &params)
                .unwrap();
        body["@odata.nextLink"] = json!(next.to_string());
    }
    Json(body).into_response()
}

/// The environment the shipped Dataverse definitions read, pointed at the
/// local API at `addr` with the client secret `secret`.
pub fn d365_env(addr: SocketAddr, secret: &str) -> [(&'static str, String); 5] {
    [
        ("D365_URL", format!("http://{addr}/api/data/v9.2/")),
        ("ENTRA_TOKEN_URL", format!("http://{addr}/tenant/oauth2/v2.0/token")),
        ("D365_CLIENT_ID", "app-1".to_owned()),
        ("D365_CLIENT_SECRET", secret.to_owned()),
        ("D365_SCOPE", format!("http://{addr}/.default")),
    ]
}
