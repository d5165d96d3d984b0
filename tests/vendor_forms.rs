//! Questionnaire answers kept in vendor systems, read by the shipped
//! connectors and scored with their shipped mappings country by country:
//! a Coupa supplier information form (its country table's rows) and a
//! Dataverse custom table (one row per supplier and country), each against
//! a local server in its vendor's shapes.

#[path = "support/api.rs"]
mod api;
mod common;
#[path = "support/coupa.rs"]
mod coupa;

use std::path::Path;

/// `iorready score --connector NAME` with the shipped connectors and
/// mappings, as of 2026-11-24; asserts success and returns the JSON result.
fn score_connector(name: &str, env: &[(&str, String)], out: &Path) -> serde_json::Value {
    let json = out.join("result.json");
    let mut cmd = assert_cmd::Command::cargo_bin("iorready").unwrap();
    cmd.args([
        "score",
        "--connector",
        name,
        "--as-of",
        "2026-11-24",
        "-q",
        "--connectors-dir",
    ])
    .arg(common::root().join("connectors"))
    .arg("--mappings")
    .arg(common::root().join("mappings"))
    .arg("--out")
    .arg(out)
    .arg("--json")
    .arg(&json);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

/// The Coupa environment with the IOR form's id.
fn coupa_env(addr: std::net::SocketAddr) -> Vec<(&'static str, String)> {
    let mut env = coupa::env(addr, "coupa-secret-1");
    env.push(("COUPA_IOR_FORM_ID", coupa::IOR_FORM_ID.to_string()));
    env
}

#[test]
fn coupa_ior_form_rows_are_scored_country_by_country_from_each_suppliers_latest_approved_response() {
    let (addr, state) = coupa::start();
    let out = tempfile::tempdir().unwrap();
    let result = score_connector("coupa-ior-form", &coupa_env(addr), out.path());
    // The older approved response (Spain; Germany not offered), the W-9 and
    // the pending resubmission (Germany not offered) are not read.
    assert_eq!(
        common::tiers(&result, "Atlas Import Services"),
        pairs(&[("DE", "ready"), ("FR", "conditional")])
    );
    let globe = common::tiers(&result, "GlobeReach IOR Network");
    assert_eq!(globe.len(), 1);
    assert_ne!(globe[0].1, "ready", "on-demand partners are passive coverage");
    let st = state.lock().unwrap();
    let q = &st.form_queries[0];
    assert_eq!(q.get("easy_form_id").map(String::as_str), Some("31"));
    assert_eq!(q.get("status").map(String::as_str), Some("approved"));
    assert_eq!(q.get("limit").map(String::as_str), Some("50"));
}

#[test]
fn coupa_ior_form_answers_are_cited_where_the_form_holds_them() {
    let (addr, _) = coupa::start();
    let out = tempfile::tempdir().unwrap();
    let result = score_connector("coupa-ior-form", &coupa_env(addr), out.path());
    let text = result.to_string();
    // Response 503 is the second record read (after the W-9 and the pending
    // one are filtered out by Coupa, before them the older 501); France is
    // its table's second row and the operating model that row's first widget.
    assert!(
        text.contains("/easy_form_responses/1/easy-form-widget-responses/1/answer/child-easy-form-responses/1/easy-form-widget-responses/0/answer"),
        "{text}"
    );
}

#[test]
fn dynamics365_custom_table_rows_are_scored_by_their_choice_labels() {
    let (addr, _) = api::start();
    let out = tempfile::tempdir().unwrap();
    let result = score_connector("dynamics365-ior", &api::d365_env(addr, "app-secret-1"), out.path());
    // Italy's row is inactive and not read.
    assert_eq!(
        common::tiers(&result, "Atlas Import Services"),
        pairs(&[("DE", "ready"), ("FR", "conditional")])
    );
    let globe = common::tiers(&result, "GlobeReach IOR Network");
    assert_eq!(globe.len(), 1);
    assert_ne!(globe[0].1, "ready", "on-demand partners are passive coverage");
}

#[test]
fn dynamics365_reads_supplier_and_vendor_accounts_with_the_parenthesised_filter() {
    let (addr, _) = api::start();
    let o = assert_cmd::Command::cargo_bin("iorready")
        .unwrap()
        .args(["connector", "--connectors"])
        .arg(common::root().join("connectors"))
        .args(["read", "dynamics365"])
        .envs(api::d365_env(addr, "app-secret-1"))
        .output()
        .unwrap();
    // The local Dataverse refuses any other $filter with a syntax error.
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
