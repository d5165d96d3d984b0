//! The shipped vendor connector definitions against local servers in their
//! vendors' shapes: Dataverse's OData paging with an Entra ID token,
//! Graph's drive listing with download URLs, Coupa's 50-record offset
//! pages with its rate limit, SAP Ariba's POST search paged by a header
//! token and its questionnaires paged by a token in the body.

#[path = "support/api.rs"]
mod api;
#[path = "support/ariba.rs"]
mod ariba;
mod common;
#[path = "support/coupa.rs"]
mod coupa;

fn iorready_with(env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("iorready").unwrap();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().unwrap()
}

fn graph_env(addr: std::net::SocketAddr) -> [(&'static str, String); 6] {
    [
        ("GRAPH_URL", format!("http://{addr}/v1.0/")),
        ("ENTRA_TOKEN_URL", format!("http://{addr}/tenant/oauth2/v2.0/token")),
        ("GRAPH_CLIENT_ID", "app-1".to_owned()),
        ("GRAPH_CLIENT_SECRET", "app-secret-1".to_owned()),
        ("GRAPH_DRIVE_ID", "D1".to_owned()),
        ("GRAPH_FOLDER", "IOR".to_owned()),
    ]
}

/// `iorready score --connector microsoft-graph --out OUT -q ARGS...`.
fn graph_score(env: &[(&str, String)], out: &std::path::Path, args: &[&str]) -> std::process::Output {
    let dir = connectors();
    let out = out.to_str().unwrap();
    let mut all = vec![
        "score",
        "--connector",
        "microsoft-graph",
        "--connectors-dir",
        &dir,
        "--out",
        out,
        "-q",
    ];
    all.extend_from_slice(args);
    iorready_with(env, &all)
}

fn connectors() -> String {
    common::root().join("connectors").display().to_string()
}

#[test]
fn dynamics365_reads_supplier_accounts_page_by_page_with_an_entra_token() {
    let (addr, state) = api::start();
    let env = api::d365_env(addr, "app-secret-1");
    let o = iorready_with(
        &env,
        &["connector", "--connectors", &connectors(), "read", "dynamics365"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 5, "every account over three pages: {lines:?}");
    assert!(lines[4].contains("Supplier 4"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cursor reached: 2026-11-05T08:00:00Z"), "{err}");
    assert_eq!(state.lock().unwrap().tokens_issued, 1);
}

#[test]
fn dynamics365_check_reports_a_wrong_secret_without_showing_it() {
    let (addr, _) = api::start();
    let env = api::d365_env(addr, "not-the-secret-42");
    let o = iorready_with(
        &env,
        &["connector", "--connectors", &connectors(), "check", "dynamics365"],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("[FAIL] token") && out.contains("AADSTS7000215"), "{out}");
    assert!(!out.contains("not-the-secret-42"), "{out}");
}

#[test]
fn microsoft_graph_workbooks_in_a_folder_are_downloaded_scored_and_uploaded_back() {
    let (addr, state) = api::start();
    let env = graph_env(addr);
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("r.json");
    let o = graph_score(
        &env,
        out.path(),
        &["--json", json.to_str().unwrap(), "--as-of", "2026-11-24"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let names: Vec<&str> = result["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Meridian Trade Compliance", "SwiftFreight Logistics"],
        "the folder and the PDF are passed over"
    );
    let st = state.lock().unwrap();
    let uploaded: Vec<&str> = st.uploads.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(
        uploaded,
        [
            "D1/root:/IOR/iorready/meridian-trade-compliance.annotated.xlsx:/content",
            "D1/root:/IOR/iorready/swiftfreight-logistics.annotated.xlsx:/content"
        ]
    );
    for (_, kind, bytes) in &st.uploads {
        assert_eq!(
            kind,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert!(bytes.starts_with(b"PK"), "the workbook's own bytes, not base64 or JSON");
    }
}

#[test]
fn microsoft_graph_dry_run_says_what_it_would_upload_and_uploads_nothing() {
    let (addr, state) = api::start();
    let out = tempfile::tempdir().unwrap();
    let o = graph_score(&graph_env(addr), out.path(), &["--dry-run"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("would upload annotated workbook 'meridian-trade-compliance.annotated.xlsx': PUT"),
        "{text}"
    );
    assert!(state.lock().unwrap().uploads.is_empty());
}

/// `iorready connector read coupa --stream STREAM ARGS...` with the right
/// secret and the definitions in `dir`; asserts that it succeeds and
/// returns stdout and stderr.
fn coupa_read(addr: std::net::SocketAddr, dir: &str, stream: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["connector", "--connectors", dir, "read", "coupa", "--stream", stream];
    all.extend_from_slice(args);
    let o = iorready_with(&coupa::env(addr, "coupa-secret-1"), &all);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    (String::from_utf8_lossy(&o.stdout).into_owned(), err)
}

#[test]
fn coupa_reads_every_active_supplier_fifty_a_page_through_a_rate_limit() {
    let (addr, state) = coupa::start();
    let (out, _) = coupa_read(addr, &connectors(), "suppliers", &[]);
    assert_eq!(out.lines().count(), coupa::SUPPLIERS, "every supplier over three pages");
    assert!(out.lines().last().unwrap().contains("Supplier 120 Ltd"), "{out}");
    let st = state.lock().unwrap();
    assert!(st.throttled, "the 429 was met");
    assert_eq!(
        (st.supplier_requests, st.tokens_issued),
        (4, 1),
        "3 pages + 1 retry, one token"
    );
}

#[test]
fn coupa_supplier_information_records_are_read() {
    let (addr, _) = coupa::start();
    let (out, _) = coupa_read(addr, &connectors(), "supplier_information", &[]);
    assert_eq!(out.lines().count(), 3);
}

#[test]
fn coupa_check_reports_a_wrong_secret_in_coupas_words_without_showing_it() {
    let (addr, _) = coupa::start();
    let o = iorready_with(
        &coupa::env(addr, "wrong-secret-77"),
        &["connector", "--connectors", &connectors(), "check", "coupa"],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("[FAIL] token") && out.contains("Client authentication failed"),
        "{out}"
    );
    assert!(!out.contains("wrong-secret-77"), "{out}");
}

#[test]
fn microsoft_graph_listing_that_fails_part_way_writes_nothing_back() {
    let (addr, state) = api::start();
    state.lock().unwrap().graph_page2_denied = true;
    let out = tempfile::tempdir().unwrap();
    let o = graph_score(&graph_env(addr), out.path(), &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Access denied") && err.contains("questionnaires"), "{err}");
    assert!(state.lock().unwrap().uploads.is_empty(), "no partial write-back");
}

#[test]
fn coupa_suppliers_answered_in_xml_are_read_as_records() {
    let (addr, _) = coupa::start();
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(common::root().join("connectors/coupa.toml")).unwrap();
    let xml = shipped
        .replace(r#""Accept" = "application/json""#, r#""Accept" = "application/xml""#)
        .replace(
            "path = \"suppliers\"\n",
            "path = \"suppliers\"\nrecords = \"/suppliers\"\n",
        );
    assert_ne!(xml, shipped);
    std::fs::write(dir.path().join("coupa.toml"), xml).unwrap();
    let (out, _) = coupa_read(addr, dir.path().to_str().unwrap(), "suppliers", &[]);
    assert_eq!(out.lines().count(), coupa::SUPPLIERS);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["display-name"], "Supplier 1 Ltd & Co");
    assert_eq!(first["tax-id"], serde_json::Value::Null);
}

#[test]
fn coupa_reads_only_suppliers_changed_since_the_cursor_less_the_look_back() {
    let (addr, _) = coupa::start();
    // Supplier 60 changed at 10:30; 10 minutes of look-back reach back to
    // supplier 50 (10:20).
    let since = coupa::updated_at(60);
    let (out, err) = coupa_read(addr, &connectors(), "suppliers", &["--since", &since]);
    assert_eq!(out.lines().count(), coupa::SUPPLIERS - 49);
    assert!(out.lines().next().unwrap().contains("\"Supplier 50\""), "{out}");
    assert!(
        err.contains(&format!("cursor reached: {}", coupa::updated_at(120))),
        "{err}"
    );
}

#[test]
fn a_read_cut_short_by_a_limit_does_not_move_the_cursor() {
    let (addr, _) = coupa::start();
    let (_, err) = coupa_read(addr, &connectors(), "suppliers", &["--limit", "5"]);
    assert!(err.contains("cursor unchanged"), "{err}");
}

#[test]
fn sap_ariba_reads_every_vendor_through_the_pagination_token_header() {
    let (addr, state) = ariba::start(1234);
    let env = ariba::env(addr, ariba::CLIENT_SECRET, ariba::REALM);
    let o = iorready_with(&env, &["connector", "--connectors", &connectors(), "read", "sap-ariba"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 1234, "three pages of at most 500");
    assert!(lines[1233].contains("S01234"), "{}", lines[1233]);
    let st = state.lock().unwrap();
    assert_eq!(st.tokens_issued, 1, "one token for the whole read");
    assert!(st.throttled, "the 429 was met and waited out");
    assert_eq!(st.searches.len(), 3);
    assert_eq!(st.searches[0]["withQuestionnaire"], true);
}

/// `connector read sap-ariba --stream STREAM ARGS...` against the local
/// Ariba in `env`.
fn ariba_read(env: &[(&str, String)], stream: &str, args: &[&str]) -> std::process::Output {
    let connectors = connectors();
    let mut all = vec![
        "connector",
        "--connectors",
        &connectors,
        "read",
        "sap-ariba",
        "--stream",
        stream,
    ];
    all.extend_from_slice(args);
    iorready_with(env, &all)
}

#[test]
fn reading_a_child_stream_stops_at_the_limit_across_parents() {
    let (addr, _) = ariba::start(2);
    let env = ariba::env(addr, ariba::CLIENT_SECRET, ariba::REALM);
    let o = ariba_read(&env, "questionnaires", &["--limit", "9"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.lines().count(),
        9,
        "the first vendor's seven, then two of the second's: {text}"
    );
}

#[test]
fn sap_ariba_reads_each_vendors_questionnaires_page_by_page() {
    let (addr, _) = ariba::start(2);
    let env = ariba::env(addr, ariba::CLIENT_SECRET, ariba::REALM);
    let o = ariba_read(&env, "questionnaires", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect();
    assert_eq!(
        lines.len(),
        14,
        "seven questionnaires, in pages of five, for each of two vendors"
    );
    let o = ariba_read(&env, "answers", &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(text.contains("Do you act as importer of record in Germany?"), "{text}");
}

#[test]
fn sap_ariba_answers_keep_each_questions_ids_beside_its_wording() {
    let (addr, _) = ariba::start(1);
    let env = ariba::env(addr, ariba::CLIENT_SECRET, ariba::REALM);
    let o = ariba_read(&env, "answers", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let qa = &first["questionAnswer"];
    assert_eq!(qa["externalSystemCorrelationId"], "KI_111098", "{first}");
    assert_eq!(qa["itemId"], "185511", "{first}");
    assert_eq!(qa["answerType"], "ShortText", "{first}");
}

#[test]
fn sap_ariba_without_the_right_realm_reports_the_apis_message_and_no_secret() {
    let (addr, _) = ariba::start(3);
    let env = ariba::env(addr, ariba::CLIENT_SECRET, "WRONG");
    let o = iorready_with(&env, &["connector", "--connectors", &connectors(), "read", "sap-ariba"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Invalid/Missing realm parameter"), "{err}");
    assert!(err.contains("connector 'sap-ariba', stream 'suppliers', POST"), "{err}");
    assert!(
        !err.contains(ariba::CLIENT_SECRET) && !err.contains(ariba::API_KEY),
        "{err}"
    );
}

#[test]
fn sap_ariba_with_a_wrong_client_secret_fails_at_the_token_without_leaking_it() {
    let (addr, _) = ariba::start(3);
    let env = ariba::env(addr, "not-the-secret", ariba::REALM);
    let o = iorready_with(
        &env,
        &["connector", "--connectors", &connectors(), "check", "sap-ariba"],
    );
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("[FAIL] token"), "{out}");
    assert!(out.contains("Bad client credentials"), "{out}");
    assert!(!out.contains("not-the-secret"), "{out}");
}

#[test]
fn microsoft_graph_score_names_a_workbook_it_cannot_fetch_and_scores_the_others() {
    let (addr, state) = api::start();
    state.lock().unwrap().graph_extra = vec![serde_json::json!(
        {"id": "6", "name": "withdrawn.xlsx", "file": {}, "parentReference": {"id": "F1"}}
    )];
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("r.json");
    let o = graph_score(
        &graph_env(addr),
        out.path(),
        &["--json", json.to_str().unwrap(), "--dry-run"],
    );
    // Partial, as `run` says it: exit 1, listed as not scored.
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("withdrawn.xlsx (connector 'microsoft-graph'): not fetched: HTTP 404"),
        "{err}"
    );
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(result["providers"].as_array().unwrap().len(), 2);
    assert!(
        result["errors"].to_string().contains("withdrawn.xlsx"),
        "{}",
        result["errors"]
    );
}
