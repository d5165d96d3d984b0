//! Workbooks in other layouts, worded their own way, score exactly as the
//! same answers in the reference layout; a mixed folder gets the right
//! mapping per workbook.

mod common;

use std::collections::BTreeMap;

use common::*;

type Outcome = (
    u64,
    String,
    BTreeMap<String, (String, String, String, String, Vec<String>)>,
);

/// Per provider: countries claimed, response date, and per country the
/// score, tier, class, confidence and flag codes.
fn outcomes(json: &serde_json::Value) -> BTreeMap<String, Outcome> {
    json["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let countries = p["assessments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let mut codes = flag_codes(a);
                    codes.sort();
                    (
                        a["country"].as_str().unwrap().to_owned(),
                        (
                            a["score"].to_string(),
                            a["tier"].to_string(),
                            a["coverage_class"].to_string(),
                            a["confidence"].to_string(),
                            codes,
                        ),
                    )
                })
                .collect();
            let claimed = p["countries_claimed"].as_u64().unwrap();
            (
                p["name"].as_str().unwrap().to_owned(),
                (claimed, p["response_date"].to_string(), countries),
            )
        })
        .collect()
}

fn reference() -> BTreeMap<String, Outcome> {
    let out = tempfile::tempdir().unwrap();
    let (_, json) = score(&[&examples()], out.path(), &[]);
    outcomes(&json)
}

fn layout(name: &str) -> (std::process::Output, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let path = root().join("examples/layouts").join(name);
    score(&[&path], out.path(), &[])
}

fn same_as_reference(name: &str, providers: usize) {
    let (o, json) = layout(name);
    assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
    let got = outcomes(&json);
    assert_eq!(got.len(), providers, "{name}");
    let want = reference();
    for (provider, outcome) in got {
        assert_eq!(Some(&outcome), want.get(&provider), "{name}: {provider}");
    }
}

#[test]
fn an_rfp_matrix_scores_like_the_reference_workbook() {
    same_as_reference("meridian-rfp-matrix.xlsx", 1);
}

#[test]
fn one_sheet_per_country_scores_like_the_reference_workbook() {
    same_as_reference("meridian-country-sheets.xlsx", 1);
}

#[test]
fn a_consolidated_export_yields_each_provider_as_its_own_reference_workbook() {
    same_as_reference("sourcing-tool-export.xlsx", 3);
}

#[test]
fn a_mixed_folder_gets_the_right_mapping_per_workbook() {
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[&examples(), &root().join("examples/layouts")], out.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mapping_of = |source_end: &str| -> Vec<String> {
        json["providers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["source"].as_str().unwrap().ends_with(source_end))
            .map(|p| p["mapping"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(mapping_of("atlas-import-services.xlsx"), ["questionnaire-v1"]);
    assert_eq!(mapping_of("meridian-rfp-matrix.xlsx"), ["rfp-matrix"]);
    assert_eq!(mapping_of("meridian-country-sheets.xlsx"), ["meridian-country-sheets"]);
    assert_eq!(mapping_of("sourcing-tool-export.xlsx"), ["sourcing-tool-export"; 3]);
}

#[test]
fn the_matrix_copy_gets_result_rows_under_each_country() {
    let out = tempfile::tempdir().unwrap();
    let path = root().join("examples/layouts/meridian-rfp-matrix.xlsx");
    score(&[&path], out.path(), &[]);
    let annotated = out.path().join("meridian-rfp-matrix.annotated.xlsx");
    let sheet = sheet(&annotated, "RFP Response");
    // Questions end on row 21; results from row 23: labels in B, values
    // under each country (Germany in C).
    assert_eq!(cell_text(&sheet, "B24"), "Tier");
    assert_eq!(cell_text(&sheet, "C24"), "Ready");
    let notes = notes(&annotated);
    assert!(
        notes.keys().any(|(s, _)| s == "RFP Response"),
        "flags noted on the matrix cells"
    );
}

#[test]
fn two_mappings_that_recognise_a_workbook_equally_are_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = std::fs::read_to_string(root().join("mappings/questionnaire-v1.toml")).unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        v1.replace("name = \"questionnaire-v1\"", "name = \"copy-a\""),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        v1.replace("name = \"questionnaire-v1\"", "name = \"copy-b\""),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let input = examples().join("meridian-trade-compliance.xlsx");
    let (o, json) = score(&[&input], out.path(), &["--mappings", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let m = json["errors"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("several mappings") && m.contains("copy-a") && m.contains("copy-b"),
        "{m}"
    );
}

#[test]
fn a_mapping_folder_with_a_broken_file_is_refused_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "[mapping]\nname = \"broken\"\n\n[countries]\nlayout = \"pyramid\"\n[countries.fields.country]\nheaders = [\"Country\"]\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (o, _) = score(
        &[&examples()],
        out.path(),
        &["--mappings", dir.path().to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("broken.toml:5") && err.contains("pyramid"), "{err}");
}

#[test]
fn json_records_from_an_erp_export_score_like_the_reference_workbooks() {
    same_as_reference("erp-supplier-export.json", 3);
}

#[test]
fn flags_from_json_records_cite_the_json_pointer() {
    let (_, json) = layout("erp-supplier-export.json");
    let p = provider(&json, "Meridian Trade Compliance");
    let us = assessment(p, "US");
    let capped = us["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "LIABILITY_CAPPED")
        .unwrap();
    assert_eq!(capped["cells"][0], "/suppliers/0/iorCountries/4/liability");
    assert_eq!(us["cell"], "/suppliers/0/iorCountries/4/country");
}

#[test]
fn a_json_document_no_mapping_recognises_is_an_error_naming_the_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("other.json");
    std::fs::write(&input, r#"{"items": []}"#).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[&input], out.path(), &[]);
    assert_eq!(o.status.code(), Some(1));
    let m = json["errors"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("no mapping recognises this JSON document") && m.contains("erp-supplier-records"),
        "{m}"
    );
}

#[test]
fn invalid_json_is_an_error_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("broken.json");
    std::fs::write(&input, "{\n  \"suppliers\": [\n    {\"a\": 1,}\n  ]\n}\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[&input], out.path(), &[]);
    assert_eq!(o.status.code(), Some(1));
    let m = json["errors"][0]["message"].as_str().unwrap();
    assert!(m.contains("broken.json") && m.contains("line 3"), "{m}");
}

/// A workbook whose sheet is found by its headers, without an evidence
/// column, and without the provider's name.
fn unnamed_workbook(path: &std::path::Path) {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    wb.add_worksheet().set_name("Notes").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Sheet7").unwrap();
    let rows = [
        ["Land", "Model", "IOR", "Haftung", "Sendungen", "Weg"],
        [
            "Deutschland",
            "Own entity",
            "Provider is IOR",
            "Full",
            "12",
            "Defined and repeatable",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save(path).unwrap();
}

const UNNAMED_MAPPING: &str = r#"
[mapping]
name = "unnamed"

[provider.constants]
name = "Rheinland Zoll GmbH"
countries_claimed = "3"

[countries]
# No sheet named: the sheet whose first rows hold these headers.

[countries.fields.country]
headers = ["Land"]
[countries.fields.operating_model]
headers = ["Model"]
[countries.fields.ior_role]
headers = ["IOR"]
[countries.fields.liability]
headers = ["Haftung"]
[countries.fields.executions_24m]
headers = ["Sendungen"]
[countries.fields.regulatory_pathway]
headers = ["Weg"]
values.defined_repeatable = ["Defined and repeatable"]
[countries.fields.evidence]
headers = ["Nachweis"]
# The column is absent from this workbook: this answer is used.
default = "Documented"
"#;

#[test]
fn a_sheet_found_by_its_headers_a_default_for_an_absent_column_and_a_provider_named_by_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("unnamed.xlsx");
    unnamed_workbook(&input);
    let mapping = dir.path().join("unnamed.toml");
    std::fs::write(&mapping, UNNAMED_MAPPING).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[&input], out.path(), &["--mapping", mapping.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = provider(&json, "Rheinland Zoll GmbH");
    assert_eq!(p["countries_claimed"], 3);
    let de = assessment(p, "DE");
    assert_eq!(de["evidence_level"], "documented");
    assert_eq!(de["cell"], "Sheet7!A2");
    assert_eq!(de["score"], 68.0, "0.8 x 0.85 (documented, from the default)");
}

#[test]
fn sheet_per_country_can_take_the_country_from_a_cell() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tabs.xlsx");
    let mut wb = Workbook::new();
    for (i, country) in ["Polska", "Hrvatska"].iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(format!("Tab {}", i + 1)).unwrap();
        ws.write_string(0, 0, "Country:").unwrap();
        ws.write_string(0, 1, *country).unwrap();
        for (r, (q, a)) in [("Operating model", "Own entity"), ("Legal liability", "Full")]
            .iter()
            .enumerate()
        {
            ws.write_string(r as u32 + 2, 0, *q).unwrap();
            ws.write_string(r as u32 + 2, 1, *a).unwrap();
        }
    }
    wb.save(&input).unwrap();
    let mapping = dir.path().join("tabs.toml");
    std::fs::write(
        &mapping,
        "[mapping]\nname = \"tabs\"\n[provider.constants]\nname = \"Tabs Ltd\"\n[countries]\nlayout = \"sheet_per_country\"\nsheet_pattern = \"^Tab \\\\d+$\"\ncountry_cell = \"B1\"\nquestion_columns = [\"A\"]\nanswer_column = \"B\"\n[countries.fields.operating_model]\nheaders = [\"Operating model\"]\n[countries.fields.liability]\nheaders = [\"Legal liability\"]\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[&input], out.path(), &["--mapping", mapping.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = provider(&json, "Tabs Ltd");
    assert_eq!(assessment(p, "PL")["cell"], "'Tab 1'!B1");
    assert_eq!(assessment(p, "HR")["cell"], "'Tab 2'!B1");
    let notes = notes(&out.path().join("tabs.annotated.xlsx"));
    assert!(
        notes.keys().any(|(s, _)| s == "Tab 2"),
        "flags noted on the country's own sheet"
    );
}

#[test]
fn a_two_row_header_may_merge_a_heading_down_over_both_rows() {
    use rust_xlsxwriter::{Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("merged-head.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Data").unwrap();
    let f = Format::new();
    ws.merge_range(0, 0, 1, 0, "Country", &f).unwrap();
    ws.merge_range(0, 1, 0, 2, "IOR", &f).unwrap();
    ws.write_string(1, 1, "Model").unwrap();
    ws.write_string(1, 2, "Liability").unwrap();
    ws.write_string(2, 0, "France").unwrap();
    ws.write_string(2, 1, "own_entity").unwrap();
    ws.write_string(2, 2, "full").unwrap();
    wb.save(&input).unwrap();
    let mapping = dir.path().join("m.toml");
    std::fs::write(
        &mapping,
        "[mapping]\nname = \"m\"\n[countries]\nsheet = \"Data\"\nheader_rows = 2\n[countries.fields.country]\nheaders = [\"Country\"]\n[countries.fields.operating_model]\nheaders = [\"IOR Model\"]\n[countries.fields.liability]\nheaders = [\"IOR Liability\"]\n",
    )
    .unwrap();
    let o = iorready(&["mapping", "check", mapping.to_str().unwrap(), input.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("header row 2"), "{out}");
    assert!(
        out.contains("Data!A2 'country'") && out.contains("Data!C2 'ior liability'"),
        "{out}"
    );
}

#[test]
fn a_sheet_named_like_a_country_without_the_questions_is_skipped() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("sheets.xlsx");
    let src = root().join("examples/layouts/meridian-country-sheets.xlsx");
    let wb = iorready::sources::read_workbook(&src).unwrap();
    let mut out_wb = Workbook::new();
    for sheet in &wb.sheets {
        let ws = out_wb.add_worksheet();
        ws.set_name(&sheet.name).unwrap();
        for (&(r, c), v) in &sheet.cells {
            ws.write_string(r, c as u16, v.display()).unwrap();
        }
    }
    out_wb
        .add_worksheet()
        .set_name("ID - Instructions")
        .unwrap()
        .write_string(0, 0, "Read me")
        .unwrap();
    out_wb.save(&input).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[&input], out.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = provider(&json, "Meridian Trade Compliance");
    assert!(p["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["country"] != "ID"));
    assert!(p["warnings"].to_string().contains("ID - Instructions"));
}

#[test]
fn a_misspelt_json_path_shows_as_not_found_in_check() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("mappings/erp-supplier-records.toml"))
        .unwrap()
        .replace("path = \"/liability\"", "path = \"/liabilty\"");
    let mapping = dir.path().join("m.toml");
    std::fs::write(&mapping, text).unwrap();
    let input = root().join("examples/layouts/erp-supplier-export.json");
    let o = iorready(&["mapping", "check", mapping.to_str().unwrap(), input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Mandatory fields not found: liability"));
}
