//! Tryton end to end against a real Tryton 8: suppliers and their attached
//! questionnaires read, scored, and written back as an attachment and a
//! note on each supplier, once, however often the run is repeated; and
//! questionnaire answers kept on the party (a small module's
//! `iorready.answer` records) scored with their records mapping.

mod common;
#[path = "support/tryton.rs"]
mod tryton;

use std::path::Path;

use base64::Engine;
use serde_json::json;

fn attach(t: &tryton::Tryton, party: u64, name: &str, path: &std::path::Path) {
    attach_bytes(t, party, name, &std::fs::read(path).unwrap());
}

fn attach_bytes(t: &tryton::Tryton, party: u64, name: &str, bytes: &[u8]) {
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    t.create(
        "ir.attachment",
        json!({"name": name, "resource": format!("party.party,{party}"), "type": "data", "data": {"__class__": "bytes", "base64": data}}),
    );
}

/// `iorready score --connector tryton` with the definitions in
/// `connectors`, into `out`; it must exit with `code` and never show the
/// key. Returns what it printed on stdout and stderr.
fn score(t: &tryton::Tryton, connectors: &Path, out: &Path, extra: &[&str], code: i32) -> (String, String) {
    let mut args = vec![
        "score",
        "--connector",
        "tryton",
        "--connectors-dir",
        connectors.to_str().unwrap(),
    ];
    args.extend(["--out", out.to_str().unwrap(), "--as-of", "2026-11-24", "-q"]);
    args.extend(extra);
    let o = assert_cmd::Command::cargo_bin("iorready")
        .unwrap()
        .args(&args)
        .env("TRYTON_URL", &t.url)
        .env("TRYTON_API_KEY", &t.key)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "{stderr}");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        !stdout.contains(&t.key) && !stderr.contains(&t.key),
        "the key never shows"
    );
    (stdout, stderr)
}

/// The shipped Tryton definition alone in a folder, after `edit`.
fn definitions(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let shipped = std::fs::read_to_string(common::root().join("connectors/tryton.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tryton.toml"), edit(shipped)).unwrap();
    dir
}

#[test]
#[cfg_attr(
    no_tryton,
    ignore = "no Tryton here: set IORREADY_TRYTON_VENV and IORREADY_TRYTON_DB (see .ci/run)"
)]
fn suppliers_attachments_are_scored_and_written_back_once() {
    let Some((venv, db)) = tryton::available() else { return };
    let t = tryton::Tryton::start(&venv, &db);
    let meridian = t.create(
        "party.party",
        json!({"name": "Meridian Trade Compliance", "code": "SUP-1"}),
    );
    let swift = t.create(
        "party.party",
        json!({"name": "SwiftFreight Logistics", "code": "SUP-2"}),
    );
    attach(
        &t,
        meridian,
        "ior-questionnaire.xlsx",
        &common::examples().join("meridian-trade-compliance.xlsx"),
    );
    attach(
        &t,
        swift,
        "questionnaire 2026.xlsx",
        &common::examples().join("swiftfreight-logistics.xlsx"),
    );
    // Not a workbook: left alone.
    t.create("ir.attachment", json!({"name": "contract.pdf", "resource": format!("party.party,{swift}"), "type": "data", "data": {"__class__": "bytes", "base64": "JVBERi0="}}));

    let out = tempfile::tempdir().unwrap();
    let connectors = common::root().join("connectors");
    let run = |extra: &[&str]| score(&t, &connectors, out.path(), extra, 0).0;
    let dry = run(&["--dry-run"]);
    assert_eq!(dry.matches("would create").count(), 4, "{dry}");
    assert_eq!(t.list("ir.note", &["message"]).len(), 0, "a dry run writes nothing");

    let first = run(&[]);
    assert_eq!(first.matches("created").count(), 4, "{first}");
    let second = run(&[]);
    assert_eq!(second.matches("updated").count(), 4, "{second}");

    let attachments = t.list("ir.attachment", &["name", "resource"]);
    let annotated: Vec<_> = attachments
        .iter()
        .filter(|a| a["name"].as_str().unwrap().contains("annotated"))
        .collect();
    assert_eq!(
        annotated.len(),
        2,
        "one annotated workbook per supplier: {attachments:?}"
    );
    let notes = t.list("ir.note", &["message", "resource"]);
    assert_eq!(notes.len(), 2, "{notes:?}");
    let meridian_note = notes
        .iter()
        .find(|n| n["resource"] == format!("party.party,{meridian}"))
        .unwrap();
    assert!(
        meridian_note["message"]
            .as_str()
            .unwrap()
            .contains("6 ready, 6 conditional"),
        "{meridian_note}"
    );
    let swift_note = notes
        .iter()
        .find(|n| n["resource"] == format!("party.party,{swift}"))
        .unwrap();
    assert!(
        swift_note["message"].as_str().unwrap().contains("16 not capable"),
        "{swift_note}"
    );
}

#[test]
#[cfg_attr(
    no_tryton,
    ignore = "no Tryton here: set IORREADY_TRYTON_VENV and IORREADY_TRYTON_DB (see .ci/run)"
)]
fn an_attachment_over_the_body_limit_is_reported_not_fetched_and_the_partys_other_workbook_scored() {
    let Some((venv, db)) = tryton::available() else { return };
    let t = tryton::Tryton::start(&venv, &db);
    let meridian = t.create(
        "party.party",
        json!({"name": "Meridian Trade Compliance", "code": "SUP-1"}),
    );
    attach(
        &t,
        meridian,
        "ior-questionnaire.xlsx",
        &common::examples().join("meridian-trade-compliance.xlsx"),
    );
    // More than 1 MB once base64 in Tryton's answer.
    attach_bytes(&t, meridian, "questionnaire-scan.xlsx", &vec![0u8; 1024 * 1024]);
    let defs = definitions(|text| text.replace("[limits]\n", "[limits]\nmax_body_mb = 1\n"));
    let out = tempfile::tempdir().unwrap();

    // Partial: a file listed but not fetched is not scored, as `run` says.
    let (stdout, stderr) = score(&t, defs.path(), out.path(), &[], 1);

    assert!(
        stderr.contains("questionnaire-scan.xlsx (connector 'tryton'): not fetched: ")
            && stderr.contains("limits.max_body_mb"),
        "{stderr}"
    );
    assert_eq!(stdout.matches("created").count(), 2, "{stdout}");
    let attachments = t.list("ir.attachment", &["name", "resource"]);
    let annotated: Vec<_> = attachments
        .iter()
        .filter(|a| a["name"].as_str().unwrap().contains("annotated"))
        .collect();
    assert_eq!(annotated.len(), 1, "{attachments:?}");
    assert_eq!(annotated[0]["resource"], format!("party.party,{meridian}"));
    assert!(
        annotated[0]["name"].as_str().unwrap().contains("ior-questionnaire"),
        "{attachments:?}"
    );
    let notes = t.list("ir.note", &["message", "resource"]);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0]["message"].as_str().unwrap().contains("6 ready, 6 conditional"),
        "{notes:?}"
    );
}

fn answer(t: &tryton::Tryton, party: u64, country: &str, model: &str, shipments: u64) {
    t.create(
        "iorready.answer",
        json!({
            "party": party,
            "country": country,
            "covered": true,
            "operating_model": model,
            "ior_role": "provider_is_ior",
            "liability": "full",
            "entity_name": format!("Local entity {country}"),
            "shipments_24m": shipments,
            "last_shipment": {"__class__": "date", "year": 2026, "month": 10, "day": 1},
            "pathway": "defined_repeatable",
            "evidence": "verified"
        }),
    );
}

#[test]
#[cfg_attr(
    no_tryton,
    ignore = "no Tryton here: set IORREADY_TRYTON_VENV and IORREADY_TRYTON_DB (see .ci/run)"
)]
fn answers_kept_on_the_party_are_scored_with_their_mapping() {
    let Some((venv, db)) = tryton::available() else { return };
    let t = tryton::Tryton::start(&venv, &db);
    let atlas = t.create("party.party", json!({"name": "Atlas Import Services", "code": "SUP-3"}));
    let globe = t.create(
        "party.party",
        json!({"name": "GlobeReach IOR Network", "code": "SUP-4"}),
    );
    answer(&t, atlas, "DE", "own_entity", 14);
    answer(&t, atlas, "FR", "contracted_partner", 8);
    answer(&t, globe, "DE", "on_demand_partner", 0);
    let out = tempfile::tempdir().unwrap();
    let json_path = out.path().join("result.json");
    let o = assert_cmd::Command::cargo_bin("iorready")
        .unwrap()
        .args([
            "score",
            "--connector",
            "tryton-answers",
            "--as-of",
            "2026-11-24",
            "-q",
            "--connectors-dir",
        ])
        .arg(common::root().join("connectors"))
        .arg("--mappings")
        .arg(common::root().join("mappings"))
        .arg("--out")
        .arg(out.path())
        .arg("--json")
        .arg(&json_path)
        .env("TRYTON_URL", &t.url)
        .env("TRYTON_API_KEY", &t.key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let tiers = |name: &str| common::tiers(&result, name);
    assert_eq!(
        tiers("Atlas Import Services"),
        [
            ("DE".to_owned(), "ready".to_owned()),
            ("FR".to_owned(), "conditional".to_owned())
        ]
    );
    let globe_tiers = tiers("GlobeReach IOR Network");
    assert_eq!(globe_tiers.len(), 1);
    assert_ne!(globe_tiers[0].1, "ready", "on-demand partners are passive coverage");
}
