//! `iorready mapping check` and `iorready mapping suggest`, on every example
//! workbook.

mod common;

use common::*;

const EXAMPLES: [(&str, &str); 5] = [
    (
        "examples/workbooks/meridian-trade-compliance.xlsx",
        "mappings/questionnaire-v1.toml",
    ),
    (
        "examples/workbooks/atlas-import-services.xlsx",
        "mappings/questionnaire-v1.toml",
    ),
    ("examples/layouts/meridian-rfp-matrix.xlsx", "mappings/rfp-matrix.toml"),
    (
        "examples/layouts/meridian-country-sheets.xlsx",
        "mappings/meridian-country-sheets.toml",
    ),
    (
        "examples/layouts/sourcing-tool-export.xlsx",
        "mappings/sourcing-tool-export.toml",
    ),
];

fn path(rel: &str) -> String {
    root().join(rel).display().to_string()
}

#[test]
fn check_reports_every_field_of_every_example_and_passes() {
    for (workbook, mapping) in EXAMPLES {
        let o = iorready(&["mapping", "check", &path(mapping), &path(workbook)]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{workbook}: {out}");
        assert!(out.contains("Recognised: yes"), "{workbook}: {out}");
        assert!(out.contains("Every mandatory field was found."), "{workbook}: {out}");
        assert!(out.contains("operating_model"), "{workbook}");
    }
}

#[test]
fn check_lists_the_distinct_unrecognised_answers_with_their_cells() {
    let o = iorready(&[
        "mapping",
        "check",
        &path("mappings/questionnaire-v1.toml"),
        &path("examples/workbooks/atlas-import-services.xlsx"),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("unrecognised: 'Depends on the product' at Countries!C6"),
        "{out}"
    );
    assert!(
        out.contains("Countries!C3 'operating model'"),
        "where the field was found: {out}"
    );
}

#[test]
fn check_fails_when_a_mandatory_field_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("m.toml");
    let text = std::fs::read_to_string(root().join("mappings/questionnaire-v1.toml"))
        .unwrap()
        .replace(
            "headers = [\"Legal liability\", \"Liability\"]",
            "headers = [\"Liability accepted\"]",
        );
    std::fs::write(&mapping, text).unwrap();
    let o = iorready(&[
        "mapping",
        "check",
        mapping.to_str().unwrap(),
        &path("examples/workbooks/meridian-trade-compliance.xlsx"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("NOT FOUND (mandatory)") && out.contains("Mandatory fields not found: liability"),
        "{out}"
    );
}

#[test]
fn check_says_when_the_mapping_does_not_recognise_the_workbook() {
    let o = iorready(&[
        "mapping",
        "check",
        &path("mappings/rfp-matrix.toml"),
        &path("examples/workbooks/meridian-trade-compliance.xlsx"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Recognised: no") && out.contains("sheet 'RFP Response'"),
        "{out}"
    );
}

#[test]
fn suggest_drafts_a_mapping_that_check_accepts_for_every_example() {
    for (workbook, _) in EXAMPLES {
        let dir = tempfile::tempdir().unwrap();
        let draft = dir.path().join("draft.toml");
        let o = iorready(&["mapping", "suggest", &path(workbook), "--out", draft.to_str().unwrap()]);
        assert!(o.status.success(), "{workbook}: {}", String::from_utf8_lossy(&o.stderr));
        let o = iorready(&["mapping", "check", draft.to_str().unwrap(), &path(workbook)]);
        assert!(o.status.success(), "{workbook}: {}", String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn suggest_marks_its_guesses_for_review() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("typos.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let headers = [
        "Country",
        "Operating modle",
        "Importer of record role",
        "Legal liabilty",
        "Regulatory pathway",
    ];
    let answers = [
        "Germany",
        "Own entity",
        "Provider is IOR",
        "Caped",
        "Defined and repeatable",
    ];
    for (c, (h, a)) in headers.iter().zip(answers).enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
        ws.write_string(1, c as u16, a).unwrap();
    }
    wb.save(&input).unwrap();
    let o = iorready(&["mapping", "suggest", input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let draft = String::from_utf8_lossy(&o.stdout);
    assert!(
        draft.contains("# REVIEW: header \"Operating modle\" taken for `operating_model`"),
        "{draft}"
    );
    assert!(
        draft.contains("# REVIEW: header \"Legal liabilty\" taken for `liability`"),
        "{draft}"
    );
    assert!(
        draft.contains("# \"Caped\",  REVIEW: guessed"),
        "commented until reviewed: {draft}"
    );
}

#[test]
fn suggest_reads_a_consolidated_export_with_a_two_row_header() {
    let o = iorready(&[
        "mapping",
        "suggest",
        &path("examples/layouts/sourcing-tool-export.xlsx"),
    ]);
    let draft = String::from_utf8_lossy(&o.stdout);
    assert!(draft.contains("[provider.columns]"), "{draft}");
    assert!(draft.contains("header_rows = 2"), "{draft}");
}

#[test]
fn a_suggested_mapping_scores_a_reference_workbook_like_the_bundled_one() {
    for name in ["meridian-trade-compliance", "atlas-import-services"] {
        let workbook = examples().join(format!("{name}.xlsx"));
        let dir = tempfile::tempdir().unwrap();
        let draft = dir.path().join("draft.toml");
        iorready(&[
            "mapping",
            "suggest",
            workbook.to_str().unwrap(),
            "--out",
            draft.to_str().unwrap(),
        ]);
        let out = tempfile::tempdir().unwrap();
        let (_, bundled) = score(
            &[&workbook],
            out.path(),
            &["--mapping", &path("mappings/questionnaire-v1.toml")],
        );
        let (o, drafted) = score(&[&workbook], out.path(), &["--mapping", draft.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(assessments_of(&drafted), assessments_of(&bundled), "{name}");
        assert_eq!(
            drafted["providers"][0]["countries_claimed"],
            bundled["providers"][0]["countries_claimed"]
        );
    }
}

#[test]
fn suggest_on_something_that_is_no_questionnaire_says_so() {
    let o = iorready(&["mapping", "suggest", &corpus().join("date.xlsx").display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("found no table with a country column"));
}

/// A copy of the shipped mappings with a `mapping suggest` draft for
/// Meridian's workbook beside them.
fn mappings_with_a_draft() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    for entry in std::fs::read_dir(root().join("mappings")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&p, mappings.join(p.file_name().unwrap())).unwrap();
        }
    }
    let draft = mappings.join("draft.toml");
    let o = iorready(&[
        "mapping",
        "suggest",
        &path("examples/workbooks/meridian-trade-compliance.xlsx"),
        "--out",
        draft.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir
}

#[test]
fn a_draft_with_review_marks_is_never_chosen_automatically_and_score_says_so() {
    let dir = mappings_with_a_draft();
    let out = dir.path().join("out");
    let mappings = dir.path().join("mappings");
    let (o, json) = score(
        &[&root().join("examples/workbooks/meridian-trade-compliance.xlsx")],
        &out,
        &["--mappings", mappings.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        provider(&json, "Meridian Trade Compliance")["mapping"],
        "questionnaire-v1"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("REVIEW marks"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_draft_with_review_marks_is_used_when_named_with_mapping() {
    let dir = mappings_with_a_draft();
    let out = dir.path().join("out");
    let draft = dir.path().join("mappings/draft.toml");
    let (o, json) = score(
        &[&root().join("examples/workbooks/meridian-trade-compliance.xlsx")],
        &out,
        &["--mapping", draft.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(
        provider(&json, "Meridian Trade Compliance")["mapping"],
        "questionnaire-v1"
    );
}
