//! A local API in Coupa's shape (Core API, JSON): an OAuth2 token endpoint
//! at `/oauth2/token` (client id and secret in the form, `core.*` scopes),
//! `/api/suppliers`, `/api/supplier_information` and
//! `/api/easy_form_responses` (supplier information form responses) as
//! root JSON arrays paged by `offset` with at most 50 records per page,
//! hyphenated keys,
//! XML unless `Accept: application/json`, errors as
//! `{"errors": {"error": [...]}}` (suppliers also in Coupa's XML when
//! JSON is not asked for), and a 429 with `Retry-After` on the
//! second page of suppliers the first time it is asked for.
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

/// What the test can look at afterwards.
#[derive(Default)]
pub struct CoupaState {
    pub tokens_issued: u64,
    pub valid_token: Option<String>,
    /// Supplier pages asked for, including the one answered 429.
    pub supplier_requests: u64,
    pub throttled: bool,
    /// The query of each form-responses page asked for.
    pub form_queries: Vec<HashMap<String, String>>,
}

pub type Shared = Arc<Mutex<CoupaState>>;

/// Active suppliers in the instance.
pub const SUPPLIERS: usize = 120;
const PAGE_CAP: usize = 50;

fn denied(message: &str) -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"errors": {"error": [message]}}))).into_response()
}

async fn token(State(s): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str);
    if field("grant_type") != Some("client_credentials")
        || field("client_id") != Some("coupa-client")
        || field("client_secret") != Some("coupa-secret-1")
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "error_description": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."})),
        )
            .into_response();
    }
    if !field("scope")
        .unwrap_or("")
        .split(' ')
        .any(|sc| sc == "core.supplier.read")
    {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_scope"}))).into_response();
    }
    let mut st = s.lock().unwrap();
    st.tokens_issued += 1;
    let t = format!("coupa-{}", st.tokens_issued);
    st.valid_token = Some(t.clone());
    Json(json!({"access_token": t, "token_type": "bearer", "expires_in": 86399})).into_response()
}

/// Checks the token and the Accept header; `None` when the request may go on.
fn refuse(s: &Shared, headers: &HeaderMap) -> Option<Response> {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let authorised = s
        .lock()
        .unwrap()
        .valid_token
        .as_ref()
        .is_some_and(|t| h("authorization") == format!("Bearer {t}"));
    if !authorised {
        return Some(denied("Unauthorized: invalid or expired access token"));
    }
    None
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// Coupa's XML for a page of suppliers (its default without
/// `Accept: application/json`).
fn suppliers_xml(from: usize, to: usize) -> Response {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<suppliers type=\"array\">\n");
    for i in from + 1..=to {
        xml.push_str(&format!(
            "  <supplier>\n    <id type=\"integer\">{i}</id>\n    <name>Supplier {i}</name>\n    <display-name>Supplier {i} Ltd &amp; Co</display-name>\n    <status>active</status>\n    <tax-id nil=\"true\"/>\n    <updated-at type=\"dateTime\">{}</updated-at>\n  </supplier>\n",
            updated_at(i)
        ));
    }
    xml.push_str("</suppliers>\n");
    ([("content-type", "application/xml")], xml).into_response()
}

fn page(q: &HashMap<String, String>, total: usize, record: impl Fn(usize) -> Value) -> Json<Value> {
    let n = |k: &str| q.get(k).and_then(|v| v.parse::<usize>().ok());
    let from = n("offset").unwrap_or(0);
    let limit = n("limit").unwrap_or(PAGE_CAP).min(PAGE_CAP);
    Json(Value::Array((from..(from + limit).min(total)).map(record).collect()))
}

async fn suppliers(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Some(r) = refuse(&s, &headers) {
        return r;
    }
    {
        let mut st = s.lock().unwrap();
        st.supplier_requests += 1;
        if q.get("offset").map(String::as_str) == Some("50") && !st.throttled {
            st.throttled = true;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                Json(json!({"errors": {"error": ["Rate limit exceeded"]}})),
            )
                .into_response();
        }
    }
    if q.get("status").map(String::as_str) != Some("active") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"error": ["expected status=active"]}})),
        )
            .into_response();
    }
    if !wants_json(&headers) {
        let n = |k: &str| q.get(k).and_then(|v| v.parse::<usize>().ok());
        let from = n("offset").unwrap_or(0);
        let to = (from + n("limit").unwrap_or(PAGE_CAP).min(PAGE_CAP)).min(SUPPLIERS);
        return suppliers_xml(from, to.max(from));
    }
    // Supplier n was last changed n minutes after 09:30 on 1 October 2026.
    let changed = |i: usize| updated_at(i + 1);
    let since = q.get("updated_at[gt_or_eq]").cloned();
    let matching: Vec<usize> = (0..SUPPLIERS)
        .filter(|&i| since.as_ref().is_none_or(|s| changed(i).as_str() >= s.as_str()))
        .collect();
    page(&q, matching.len(), |k| {
        let i = matching[k];
        json!({"id": i + 1, "name": format!("Supplier {}", i + 1), "display-name": format!("Supplier {} Ltd", i + 1),
               "status": "active", "number": format!("S-{:04}", i + 1), "updated-at": changed(i)})
    })
    .into_response()
}

/// Supplier `n`'s `updated-at`, in Coupa's format (all in UTC, so the
/// text compares like the time).
pub fn updated_at(n: usize) -> String {
    let minutes = 9 * 60 + 30 + n;
    format!(
        "2026-10-{:02}T{:02}:{:02}:00+00:00",
        1 + minutes / (24 * 60),
        (minutes / 60) % 24,
        minutes % 60
    )
}

async fn supplier_information(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse(&s, &headers) {
        return r;
    }
    page(&q, 3, |i| {
        json!({"id": 900 + i, "name": format!("Supplier {}", i + 1), "status": "approved",
               "supplier": {"id": i + 1}, "updated-at": "2026-10-02T12:00:00+00:00"})
    })
    .into_response()
}

/// Starts the Coupa-shaped API on loopback.
pub fn start() -> (SocketAddr, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/oauth2/token", post(token))
        .route("/api/suppliers", get(suppliers))
        .route("/api/supplier_information", get(supplier_information))
        .route("/api/easy_form_responses", get(easy_form_responses))
        .with_state(state.clone());
    (super::api::serve(app), state)
}

/// The importer-of-record form's id in the instance.
pub const IOR_FORM_ID: u64 = 31;
/// Another supplier information form (a W-9), answered by the same suppliers.
pub const W9_FORM_ID: u64 = 12;

/// A widget response: Coupa's `field-name` (the widget's Reporting Name),
/// label and answer.
fn widget(id: u64, field: &str, label: &str, answer: Value) -> Value {
    json!({"id": id, "field-name": field, "widget-label": label, "answer": answer})
}

/// One row of the form's country table: a child form response with its own
/// widget responses, in an order unlike the form's, as the table's widgets
/// are found by name.
fn country_row(id: u64, country: &str, model: &str, shipments: &str, pathway: &str) -> Value {
    json!({"id": id, "easy-form-id": 32, "easy-form-widget-responses": [
        widget(id * 10 + 1, "ior_operating_model", "Operating model", json!(model)),
        widget(id * 10 + 2, "ior_country", "Country", json!(country)),
        widget(id * 10 + 3, "ior_covered", "Coverage claimed", json!("Yes")),
        widget(id * 10 + 4, "ior_role", "Importer of record role", json!("Provider is IOR")),
        widget(id * 10 + 5, "ior_liability", "Legal liability", json!("Full")),
        widget(id * 10 + 6, "ior_local_entity", "Local entity name", json!(format!("Local entity {country}"))),
        widget(id * 10 + 7, "ior_shipments_24m", "IOR shipments, last 24 months", json!(shipments)),
        widget(id * 10 + 8, "ior_last_shipment", "Last IOR shipment", json!("2026-10-01")),
        widget(id * 10 + 9, "ior_pathway", "Regulatory pathway", json!(pathway)),
        widget(id * 10, "ior_evidence", "Evidence", json!("Verified")),
    ]})
}

/// A form response of supplier `supplier` (its Supplier Information as the
/// subject), with its widget responses.
fn form_response(
    id: u64,
    form: u64,
    status: &str,
    supplier: (u64, &str),
    submitted: &str,
    widgets: Vec<Value>,
) -> Value {
    json!({
        "id": id, "easy-form-id": form, "status": status, "name": format!("Response {id}"),
        "created-at": submitted, "submitted-at": submitted, "updated-at": submitted,
        "supplier-id": supplier.0,
        "subject": {"id": 900 + supplier.0, "name": supplier.1, "supplier-id": supplier.0},
        "easy-form-widget-responses": widgets,
    })
}

/// The country table widget holding `rows`.
fn country_table(id: u64, rows: Vec<Value>) -> Value {
    widget(
        id,
        "ior_countries",
        "Countries where you act as importer of record",
        json!({"child-easy-form-responses": rows}),
    )
}

/// Every form response in the instance: Atlas's W-9 (its newest response),
/// an older approved IOR response, the approved one that counts and a
/// pending resubmission; GlobeReach's approved IOR response.
fn all_form_responses() -> Vec<Value> {
    let atlas = (1, "Atlas Import Services");
    let globe = (2, "GlobeReach IOR Network");
    let intro = |id| widget(id, "ior_contact", "Contact for IOR questions", json!("ops@example.com"));
    vec![
        form_response(
            501,
            IOR_FORM_ID,
            "approved",
            atlas,
            "2026-06-01T10:00:00+00:00",
            vec![
                intro(5011),
                country_table(
                    5012,
                    vec![
                        country_row(601, "Germany", "Not offered", "0", "Undefined"),
                        country_row(602, "Spain", "Own entity", "30", "Defined and repeatable"),
                    ],
                ),
            ],
        ),
        form_response(
            502,
            W9_FORM_ID,
            "approved",
            atlas,
            "2026-10-20T10:00:00+00:00",
            vec![widget(
                5021,
                "tax_classification",
                "Federal tax classification",
                json!("C Corporation"),
            )],
        ),
        form_response(
            503,
            IOR_FORM_ID,
            "approved",
            atlas,
            "2026-09-15T10:00:00+02:00",
            vec![
                intro(5031),
                country_table(
                    5032,
                    vec![
                        country_row(603, "Germany", "Own entity", "14", "Defined and repeatable"),
                        country_row(604, "France", "Contracted partner", "8", "Defined and repeatable"),
                    ],
                ),
            ],
        ),
        form_response(
            504,
            IOR_FORM_ID,
            "pending_approval",
            atlas,
            "2026-11-01T10:00:00+00:00",
            vec![
                intro(5041),
                country_table(5042, vec![country_row(605, "Germany", "Not offered", "0", "Undefined")]),
            ],
        ),
        form_response(
            505,
            IOR_FORM_ID,
            "approved",
            globe,
            "2026-08-01T10:00:00+00:00",
            vec![country_table(
                5052,
                vec![country_row(
                    606,
                    "Germany",
                    "Partner sourced on demand",
                    "0",
                    "Case by case",
                )],
            )],
        ),
    ]
}

/// `/api/easy_form_responses`, filtered by the `easy_form_id` and `status`
/// arguments as Coupa filters by element.
async fn easy_form_responses(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse(&s, &headers) {
        return r;
    }
    s.lock().unwrap().form_queries.push(q.clone());
    let matching: Vec<Value> = all_form_responses()
        .into_iter()
        .filter(|r| {
            q.get("easy_form_id")
                .is_none_or(|f| f.parse::<u64>().ok() == r["easy-form-id"].as_u64())
        })
        .filter(|r| q.get("status").is_none_or(|st| r["status"] == st.as_str()))
        .collect();
    page(&q, matching.len(), |i| matching[i].clone()).into_response()
}

/// The environment the shipped Coupa definitions read, pointed at the local
/// Coupa at `addr` with the client secret `secret`.
pub fn env(addr: SocketAddr, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("COUPA_URL", format!("http://{addr}/api/")),
        ("COUPA_TOKEN_URL", format!("http://{addr}/oauth2/token")),
        ("COUPA_CLIENT_ID", "coupa-client".to_owned()),
        ("COUPA_CLIENT_SECRET", secret.to_owned()),
    ]
}
