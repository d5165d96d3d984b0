//! A local API in SAP Ariba's shapes (Supplier Data API with Pagination v4):
//! an OAuth token endpoint taking the client as HTTP Basic
//! (`/v2/oauth/token`), every call needing the `apiKey` header and the
//! `realm` parameter, `vendorDataRequests` as a POST search answering a
//! JSON array with the next page's token in `X-Pagination-Token` (at most
//! 500 a page, `$top`/`$skip`), each vendor's questionnaires (5 a page) and
//! answers (100 a page) with a `pageToken` in the body, Ariba's error body
//! (`{"status", "message", "statusCode"}`, 423 for an invalid parameter),
//! and a 429 with `Retry-After` on the second page of vendors the first time.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "ariba-client";
pub const CLIENT_SECRET: &str = "ariba-secret-1";
pub const API_KEY: &str = "ariba-api-key-1";
pub const REALM: &str = "ACME-T";

/// What the test can look at afterwards.
#[derive(Default)]
pub struct AribaState {
    pub vendors: usize,
    pub tokens_issued: u64,
    pub valid_token: Option<String>,
    pub vendor_pages: u64,
    pub throttled: bool,
    /// The JSON bodies of the vendor data requests.
    pub searches: Vec<Value>,
}

pub type Shared = Arc<Mutex<AribaState>>;

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"status": status.canonical_reason().unwrap_or(""), "timestamp": 52672829, "message": message, "debugMessage": "", "statusCode": status.as_u16()})),
    )
        .into_response()
}

fn invalid_parameter(debug: &str) -> Response {
    (
        StatusCode::from_u16(423).unwrap(),
        Json(json!({"status": "Bad request", "timestamp": 52672829, "message": "Invalid Parameter", "debugMessage": debug, "statusCode": 423})),
    )
        .into_response()
}

async fn token(State(s): State<Shared>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") || auth != basic {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "error_description": "Bad client credentials"})),
        )
            .into_response();
    }
    let mut st = s.lock().unwrap();
    st.tokens_issued += 1;
    let t = format!("ariba-{}", st.tokens_issued);
    st.valid_token = Some(t.clone());
    Json(json!({"access_token": t, "refresh_token": "r-1", "token_type": "bearer", "scope": "", "expires_in": 1440}))
        .into_response()
}

/// Ariba's checks on every call: realm, API key, token.
fn refuse(s: &Shared, headers: &HeaderMap, q: &HashMap<String, String>) -> Option<Response> {
    if q.get("realm").map(String::as_str) != Some(REALM) {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized Request or Invalid/Missing realm parameter. Usage:?realm=",
        ));
    }
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    if h("apikey") != API_KEY {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "The API key passed in the request is not valid.",
        ));
    }
    let valid = s
        .lock()
        .unwrap()
        .valid_token
        .as_ref()
        .is_some_and(|t| h("authorization") == format!("Bearer {t}"));
    if !valid {
        return Some(error(StatusCode::UNAUTHORIZED, "Unauthorized Request"));
    }
    None
}

/// `$top` within `cap`, and where `$skip` starts.
fn window(q: &HashMap<String, String>, cap: usize) -> Result<(usize, usize), String> {
    let top: usize = q.get("$top").and_then(|v| v.parse().ok()).unwrap_or(cap);
    if top == 0 || top > cap {
        return Err(format!("$top must be between 1 and {cap}"));
    }
    let from = match q.get("$skip").map(String::as_str) {
        None | Some("") | Some("0") => 0,
        Some(token) => match token.strip_prefix("tok-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return Err("unknown $skip page token".to_owned()),
        },
    };
    Ok((top, from))
}

fn vendor(i: usize) -> Value {
    json!({
        "Supplier Name": format!("Supplier {i}"),
        "SM Vendor ID": format!("S{i:05}"),
        "ERP Vendor ID": format!("V{i:05}"),
        "Registration Status": "Registered",
        "Qualification Status": "Qualified",
        "Last Update Date": "2026-11-02T08:00:00Z",
        "questionnaires": [{"questionnaireId": format!("Doc{i}"), "questionnaireTitle": "IOR capability", "workspaceType": "Registration", "workspaceId": format!("WS{i}")}]
    })
}

async fn vendor_data(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Option<Json<Value>>,
) -> Response {
    if let Some(r) = refuse(&s, &headers, &q) {
        return r;
    }
    let Some(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, "a JSON body is required");
    };
    if body["outputFormat"] != "JSON" {
        return invalid_parameter("outputFormat must be JSON or CSV");
    }
    let (top, from) = match window(&q, 500) {
        Ok(w) => w,
        Err(debug) => return invalid_parameter(&debug),
    };
    let mut st = s.lock().unwrap();
    st.vendor_pages += 1;
    if from > 0 && !st.throttled {
        st.throttled = true;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({"status": "Too Many Requests", "message": "Rate limit error. Refer to the developer portal discovery page", "statusCode": 429})),
        )
            .into_response();
    }
    st.searches.push(body);
    let to = (from + top).min(st.vendors);
    let records: Vec<Value> = (from + 1..=to).map(vendor).collect();
    if to < st.vendors {
        (
            [("x-pagination-token", format!("tok-{to}"))],
            Json(Value::Array(records)),
        )
            .into_response()
    } else {
        Json(Value::Array(records)).into_response()
    }
}

async fn questionnaires(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(vendor_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse(&s, &headers, &q) {
        return r;
    }
    let (top, from) = match window(&q, 5) {
        Ok(w) => w,
        Err(debug) => return invalid_parameter(&debug),
    };
    let total = 7;
    let to = (from + top).min(total);
    let list: Vec<Value> = (from + 1..=to)
        .map(|n| json!({"questionnaire": {"questionnaireId": format!("Doc{n}"), "title": format!("Questionnaire {n}"), "status": "Approved", "smVendorId": vendor_id, "timeUpdated": "2026-10-01T00:00:00Z"}}))
        .collect();
    let mut info = json!({"smVendorId": vendor_id, "erpVendorId": null});
    if to < total {
        info["pageToken"] = json!(format!("tok-{to}"));
    }
    Json(json!({"_embedded": {"questionnaireList": list, "vendorInfo": info}, "count": total})).into_response()
}

/// One item of `questionAnswerList`. The wrapper object and the fields
/// `itemId`, `externalSystemCorrelationId`, `questionLabel`, `answer` and
/// `answerType` are what public clients of the v4 qna endpoint read (SAP's
/// page for the endpoint documents its URLs and paging, not the item); the
/// item id is a number in text and the correlation id, which answers are
/// posted back with, in the `KI_<number>` form those clients show.
/// `smVendorId`
/// and `questionnaireId` on the item are assumed, not seen in any source:
/// see docs/connectors.md#sap-ariba.
fn qna_item(vendor_id: &str, i: usize, label: &str, answer: &str) -> Value {
    json!({"questionAnswer": {
        "itemId": format!("{}", 185_511 + i),
        "externalSystemCorrelationId": format!("KI_{}", 111_098 + i),
        "questionLabel": label,
        "answerType": "ShortText",
        "answer": answer,
        "smVendorId": vendor_id,
        "questionnaireId": "Doc1"
    }})
}

async fn answers(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(vendor_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse(&s, &headers, &q) {
        return r;
    }
    if let Err(debug) = window(&q, 100) {
        return invalid_parameter(&debug);
    }
    // Each item as Ariba's clients read it (see `qna_item`); the questions
    // are free text, the one answer type the sources show.
    let qna = [
        ("Do you act as importer of record in Germany?", "Yes"),
        ("Legal entity in Germany", "Supplier GmbH"),
        ("IOR shipments to Germany in the last 24 months", "14"),
    ];
    let list: Vec<Value> = qna
        .iter()
        .enumerate()
        .map(|(i, (label, answer))| qna_item(&vendor_id, i, label, answer))
        .collect();
    Json(json!({"_embedded": {"questionAnswerList": list, "vendorInfo": {"smVendorId": vendor_id}}, "count": 3}))
        .into_response()
}

/// Starts the server with `vendors` suppliers.
pub fn start(vendors: usize) -> (SocketAddr, Shared) {
    let state: Shared = Arc::new(Mutex::new(AribaState {
        vendors,
        ..Default::default()
    }));
    let app = Router::new()
        .route("/v2/oauth/token", post(token))
        .route(
            "/api/supplierdatapagination/v4/prod/vendorDataRequests",
            post(vendor_data),
        )
        .route(
            "/api/supplierdatapagination/v4/prod/vendors/{id}/workspaces/questionnaires",
            get(questionnaires),
        )
        .route(
            "/api/supplierdatapagination/v4/prod/vendors/{id}/workspaces/questionnaires/qna",
            get(answers),
        )
        .with_state(state.clone());
    (super::api::serve(app), state)
}

/// The connector's environment for this server.
pub fn env(addr: SocketAddr, secret: &str, realm: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ARIBA_URL", format!("http://{addr}/api/")),
        ("ARIBA_TOKEN_URL", format!("http://{addr}/v2/oauth/token")),
        ("ARIBA_CLIENT_ID", CLIENT_ID.to_owned()),
        ("ARIBA_CLIENT_SECRET", secret.to_owned()),
        ("ARIBA_API_KEY", API_KEY.to_owned()),
        ("ARIBA_REALM", realm.to_owned()),
    ]
}
