//! `iorready score` end to end: the real binary on real workbooks, outputs
//! read back with independent readers.

mod common;

use std::path::Path;

use common::*;

#[test]
fn scoring_the_examples_succeeds_and_writes_every_output() {
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[&examples()], out.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in [
        "portfolio.xlsx",
        "meridian-trade-compliance.annotated.xlsx",
        "globereach-ior-network.annotated.xlsx",
        "swiftfreight-logistics.annotated.xlsx",
        "atlas-import-services.annotated.xlsx",
    ] {
        assert!(out.path().join(name).is_file(), "{name}");
    }
    assert_eq!(json["providers"].as_array().unwrap().len(), 4);
    assert!(String::from_utf8_lossy(&o.stdout).contains("Scored 4 of 4"));
}

#[test]
fn the_json_result_has_the_stable_keys() {
    let out = tempfile::tempdir().unwrap();
    let (_, json) = score(&[&examples()], out.path(), &[]);
    assert_eq!(json["as_of"], "2026-11-24");
    assert!(json["errors"].as_array().unwrap().is_empty());
    let p = provider(&json, "Meridian Trade Compliance");
    assert!(p["source"]
        .as_str()
        .unwrap()
        .ends_with("meridian-trade-compliance.xlsx"));
    assert_eq!(p["countries_claimed"], 24);
    for key in [
        "ready",
        "conditional",
        "coverage_only",
        "not_capable",
        "not_offered",
        "active",
        "passive",
    ] {
        assert!(p["rollup"][key].is_u64(), "rollup.{key}");
    }
    assert!(p["flags"].is_array());
    let a = assessment(p, "US");
    assert_eq!(a["score"], 92.0);
    assert_eq!(a["tier"], "ready");
    assert_eq!(a["coverage_class"], "active");
    assert_eq!(a["confidence"], "high");
    let f = &a["flags"][0];
    for key in ["code", "severity", "message", "cells"] {
        assert!(!f[key].is_null(), "flag.{key}");
    }
}

#[test]
fn the_seed_story_shows_in_the_roll_up() {
    let out = tempfile::tempdir().unwrap();
    let (_, json) = score(&[&examples()], out.path(), &[]);
    let m = provider(&json, "Meridian Trade Compliance");
    assert_eq!(
        (m["rollup"]["ready"].as_u64(), m["rollup"]["conditional"].as_u64()),
        (Some(6), Some(6))
    );
    let g = provider(&json, "GlobeReach IOR Network");
    assert_eq!(g["countries_claimed"], 150);
    assert_eq!(g["rollup"]["ready"], 0);
    assert_eq!(g["flags"][0], "COVERAGE_INFLATION");
    let s = provider(&json, "SwiftFreight Logistics");
    assert_eq!(s["rollup"]["not_capable"], 16);
    assert!(flag_codes(assessment(s, "DE")).contains(&"FORWARDING_ONLY".to_owned()));
}

#[test]
fn messy_answers_are_normalised_and_scored_exactly() {
    let out = tempfile::tempdir().unwrap();
    let (_, json) = score(&[&examples().join("atlas-import-services.xlsx")], out.path(), &[]);
    let p = provider(&json, "Atlas Import Services");
    // "approx. 60" is read as 60.
    assert_eq!(p["countries_claimed"], 60);
    let expect = [
        ("DE", 57.0, "conditional", "active", "low"),
        ("ES", 48.3, "coverage_only", "active", "low"),
        ("TR", 37.5, "coverage_only", "passive", "low"),
        ("PL", 17.55, "coverage_only", "passive", "low"),
        ("BR", 65.6625, "conditional", "active", "medium"),
        ("HU", 0.0, "not_offered", "none", "low"),
    ];
    for (cc, s, tier, class, confidence) in expect {
        let a = assessment(p, cc);
        assert!((a["score"].as_f64().unwrap() - s).abs() < 0.005, "{cc}: {}", a["score"]);
        assert_eq!(a["tier"], tier, "{cc}");
        assert_eq!(a["coverage_class"], class, "{cc}");
        assert_eq!(a["confidence"], confidence, "{cc}");
    }
    assert_eq!(
        p["assessments"].as_array().unwrap().len(),
        6,
        "blank row and junk far below are not countries"
    );
    let de = flag_codes(assessment(p, "DE"));
    for code in [
        "LIABILITY_CAPPED",
        "STALE_RESPONSE",
        "LICENCE_EXPIRING",
        "CONFLICTING_SOURCES",
    ] {
        assert!(de.contains(&code.to_owned()), "DE {code}: {de:?}");
    }
    let tr = flag_codes(assessment(p, "TR"));
    assert!(tr.contains(&"ANSWER_UNRECOGNISED".to_owned()));
    assert_eq!(p["warnings"].as_array().unwrap().len(), 1, "the stray note at row 2001");
}

#[test]
fn notes_sit_on_the_cells_that_caused_the_flags() {
    let out = tempfile::tempdir().unwrap();
    score(&[&examples().join("atlas-import-services.xlsx")], out.path(), &[]);
    let notes = notes(&out.path().join("atlas-import-services.annotated.xlsx"));
    let note = |sheet: &str, cell: &str| {
        notes
            .get(&(sheet.to_owned(), cell.to_owned()))
            .cloned()
            .unwrap_or_default()
    };
    assert!(note("Countries", "E4").contains("LIABILITY_CAPPED"), "{notes:?}");
    assert!(note("Countries", "E4").contains("Capped - USD 1M per shipment"));
    assert!(note("Countries", "C6").contains("ANSWER_UNRECOGNISED"));
    assert!(note("Countries", "C6").contains("Depends on the product"));
    assert!(note("Countries", "I4").contains("LICENCE_EXPIRING"));
    assert!(note("Provider", "B6").contains("STALE_RESPONSE"));
    assert!(note("Countries", "E11").contains("CONFLICTING_SOURCES"));
    assert!(
        !notes.contains_key(&("Countries".to_owned(), "A4".to_owned())),
        "no note where nothing is wrong"
    );
}

#[test]
fn the_annotated_copy_keeps_the_provider_sheets_and_adds_the_results() {
    let out = tempfile::tempdir().unwrap();
    score(&[&examples().join("atlas-import-services.xlsx")], out.path(), &[]);
    let path = out.path().join("atlas-import-services.annotated.xlsx");
    use calamine::Reader;
    let wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        vec!["Provider", "Countries", "Instructions", "Readiness", "Legend"]
    );
    let countries = sheet(&path, "Countries");
    // Header on row 3 (two title rows above), results after column S.
    let headers: Vec<String> = ["T3", "U3", "V3", "W3", "X3"]
        .iter()
        .map(|c| cell_text(&countries, c))
        .collect();
    assert_eq!(headers, ["Score", "Tier", "Coverage class", "Confidence", "Flags"]);
    assert_eq!(cell_text(&countries, "A4"), "Deutschland", "answers kept verbatim");
    assert_eq!(cell_text(&countries, "U4"), "Conditional");
    assert!(cell_text(&countries, "X6").contains("ANSWER_UNRECOGNISED"));
    let readiness = sheet(&path, "Readiness");
    assert_eq!(cell_text(&readiness, "A2"), "Provider");
    assert_eq!(cell_text(&readiness, "B2"), "Atlas Import Services");
}

#[test]
fn dates_stay_dates_in_the_annotated_copy() {
    let out = tempfile::tempdir().unwrap();
    score(&[&examples().join("meridian-trade-compliance.xlsx")], out.path(), &[]);
    let provider = sheet(&out.path().join("meridian-trade-compliance.annotated.xlsx"), "Provider");
    let v = provider.get_value((5, 1)).unwrap();
    assert!(matches!(v, calamine::Data::DateTime(_)), "{v:?}");
}

#[test]
fn the_portfolio_has_the_matrix_roll_up_flags_and_chart() {
    let out = tempfile::tempdir().unwrap();
    score(&[&examples()], out.path(), &[]);
    let path = out.path().join("portfolio.xlsx");
    use calamine::Reader;
    let wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        vec!["Matrix", "Providers", "Flags", "Not scored", "Legend"]
    );
    let matrix = sheet(&path, "Matrix");
    assert_eq!(cell_text(&matrix, "A1"), "Provider");
    let providers = sheet(&path, "Providers");
    let claimed_header = cell_text(&providers, "C1");
    assert_eq!(claimed_header, "Countries claimed");
    let flags = sheet(&path, "Flags");
    assert!(flags.height() > 100, "every flag listed: {}", flags.height());
    let zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    assert!(
        zip.file_names()
            .any(|n| n.is_ok_and(|n| n.starts_with("xl/charts/chart"))),
        "the claimed vs ready chart"
    );
}

/// The same answers saved as xls (BIFF8), ods and xlsb score exactly as the
/// xlsx does: text answers (Atlas) and date cells (Meridian).
#[test]
fn legacy_binary_and_opendocument_workbooks_score_like_the_xlsx() {
    for stem in ["atlas-import-services", "meridian-trade-compliance"] {
        let out = tempfile::tempdir().unwrap();
        let (_, base) = score(&[&examples().join(format!("{stem}.xlsx"))], out.path(), &[]);
        assert!(base["providers"][0]["response_date"].is_string());
        for ext in ["xls", "ods", "xlsb"] {
            let out = tempfile::tempdir().unwrap();
            let (o, json) = score(&[&fixture(&format!("{stem}.{ext}"))], out.path(), &[]);
            assert!(
                o.status.success(),
                "{stem}.{ext}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(assessments_of(&json), assessments_of(&base), "{stem}.{ext}");
            assert_eq!(
                json["providers"][0]["response_date"], base["providers"][0]["response_date"],
                "{stem}.{ext}"
            );
        }
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn one_bad_workbook_does_not_stop_the_others_and_each_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        examples().join("meridian-trade-compliance.xlsx"),
        dir.path().join("good.xlsx"),
    )
    .unwrap();
    write(&dir.path().join("notes.xlsx"), b"this is a text file, not a workbook");
    let mut zip_bytes = std::fs::read(examples().join("globereach-ior-network.xlsx")).unwrap();
    zip_bytes.truncate(zip_bytes.len() / 2);
    write(&dir.path().join("truncated.xlsx"), &zip_bytes);
    std::fs::copy(corpus().join("pass_protected.xlsx"), dir.path().join("protected.xlsx")).unwrap();
    std::fs::copy(corpus().join("date.xlsx"), dir.path().join("other-layout.xlsx")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[dir.path()], out.path(), &[]);
    assert_eq!(o.status.code(), Some(1), "some inputs failed");
    assert_eq!(json["providers"].as_array().unwrap().len(), 1);
    let errors = json["errors"].as_array().unwrap();
    let message = |file: &str| {
        errors
            .iter()
            .find(|e| e["file"].as_str().unwrap().ends_with(file))
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{file} not in errors: {errors:?}"))
    };
    assert!(message("notes.xlsx").contains("not a spreadsheet"));
    assert!(message("truncated.xlsx").contains("truncated.xlsx"));
    assert!(message("protected.xlsx").contains("password"));
    assert!(message("other-layout.xlsx").contains("no mapping recognises this workbook"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("Not scored:") && stdout.contains("protected.xlsx"),
        "{stdout}"
    );
}

#[test]
fn a_table_without_a_country_header_is_an_error_naming_the_sheet() {
    use iorready::sources::CellValue;
    use iorready::template::{write_questionnaire, Questionnaire};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-header.xlsx");
    let q = Questionnaire {
        title_rows: vec![String::new(); 40],
        rows: vec![vec![Some(CellValue::Text("Germany".into()))]],
        ..Questionnaire::default()
    };
    write_questionnaire(&path, &q).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mapping = root().join("mappings/questionnaire-v1.toml");
    let (o, json) = score(&[&path], out.path(), &["--mapping", mapping.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let m = json["errors"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("no-header.xlsx") && m.contains("sheet 'Countries'") && m.contains("header"),
        "{m}"
    );
}

#[test]
fn inputs_are_never_modified() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("atlas.xlsx");
    std::fs::copy(examples().join("atlas-import-services.xlsx"), &input).unwrap();
    let before = fingerprint(&input);
    let (o, _) = score(&[dir.path()], dir.path(), &[]);
    assert!(o.status.success());
    assert_eq!(fingerprint(&input), before);
    assert!(dir.path().join("atlas.annotated.xlsx").is_file());
}

#[test]
fn a_second_run_into_the_input_folder_does_not_score_its_own_outputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        examples().join("atlas-import-services.xlsx"),
        dir.path().join("atlas.xlsx"),
    )
    .unwrap();
    score(&[dir.path()], dir.path(), &[]);
    let (o, json) = score(&[dir.path()], dir.path(), &[]);
    assert!(o.status.success());
    assert_eq!(json["providers"].as_array().unwrap().len(), 1);
}

#[test]
fn no_temporary_files_are_left_in_the_output_folder() {
    let out = tempfile::tempdir().unwrap();
    score(&[&examples()], out.path(), &[]);
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn workbooks_with_the_same_name_in_different_folders_get_distinct_outputs() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    std::fs::copy(
        examples().join("atlas-import-services.xlsx"),
        a.path().join("answers.xlsx"),
    )
    .unwrap();
    std::fs::copy(
        examples().join("meridian-trade-compliance.xlsx"),
        b.path().join("answers.xlsx"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (o, _) = score(&[a.path(), b.path()], out.path(), &[]);
    assert!(o.status.success());
    assert!(out.path().join("answers.annotated.xlsx").is_file());
    assert!(out.path().join("answers-2.annotated.xlsx").is_file());
}

#[test]
fn reading_every_odd_spreadsheet_of_the_corpus_ends_in_a_result_or_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let corpus = corpus();
    assert!(
        corpus.is_dir(),
        "the shared corpus is expected beside the repository at {}",
        corpus.display()
    );
    let (o, json) = score(&[&corpus], out.path(), &["--quiet"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "none is a questionnaire: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let files = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| iorready::sources::is_spreadsheet_name(&e.path()))
        .count();
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len() + json["providers"].as_array().unwrap().len(), files);
    for e in errors {
        let file = e["file"].as_str().unwrap();
        let name = Path::new(file).file_name().unwrap().to_string_lossy().into_owned();
        assert!(e["message"].as_str().unwrap().contains(&name), "{e}");
    }
}

/// A provider that merged one answer over several countries.
fn merged_workbook(path: &Path) {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Provider").unwrap();
    ws.write_string(1, 0, "Provider name").unwrap();
    ws.write_string(1, 1, "Merged Cells Ltd").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Countries").unwrap();
    let headers = [
        "Country",
        "Coverage claimed",
        "Operating model",
        "Importer of record role",
        "Legal liability",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, country) in ["Germany", "France", "Netherlands"].iter().enumerate() {
        ws.write_string(r as u32 + 1, 0, *country).unwrap();
        ws.write_string(r as u32 + 1, 1, "Yes").unwrap();
        ws.write_string(r as u32 + 1, 2, "Own entity").unwrap();
    }
    ws.merge_range(1, 3, 3, 3, "Provider is IOR", &Format::new()).unwrap();
    ws.merge_range(1, 4, 3, 4, "Capped", &Format::new()).unwrap();
    wb.save(path).unwrap();
}

#[test]
fn a_merged_answer_applies_to_every_country_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("merged.xlsx");
    merged_workbook(&input);
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[&input], out.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = provider(&json, "Merged Cells Ltd");
    for cc in ["DE", "FR", "NL"] {
        let a = assessment(p, cc);
        assert!(flag_codes(a).contains(&"LIABILITY_CAPPED".to_owned()), "{cc}");
        let cells: Vec<&str> = a["flags"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "LIABILITY_CAPPED")
            .flat_map(|f| f["cells"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()))
            .collect();
        assert_eq!(cells, vec!["Countries!E2"], "the merged area's cell");
    }
    let countries = sheet(&out.path().join("merged.annotated.xlsx"), "Countries");
    assert_eq!(cell_text(&countries, "E2"), "Capped");
    assert_eq!(cell_text(&countries, "G1"), "Tier");
}
