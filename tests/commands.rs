//! The other commands and the exit statuses: `profile`, `template`, usage and
//! configuration errors.

mod common;

use common::*;

#[test]
fn profile_prints_the_default_profile() {
    let o = iorready(&["profile"]);
    assert!(o.status.success());
    let shipped = std::fs::read_to_string(root().join("mappings/profiles/default.toml")).unwrap();
    assert_eq!(String::from_utf8(o.stdout).unwrap(), shipped);
}

#[test]
fn an_edited_profile_changes_the_scores() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("strict.toml");
    let text = std::fs::read_to_string(root().join("mappings/profiles/default.toml"))
        .unwrap()
        .replace("ready_min_score = 75.0", "ready_min_score = 95.0");
    std::fs::write(&profile, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let input = examples().join("meridian-trade-compliance.xlsx");
    let (_, default) = score(&[&input], out.path(), &[]);
    let (o, strict) = score(&[&input], out.path(), &["--profile", profile.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(provider(&default, "Meridian Trade Compliance")["rollup"]["ready"], 6);
    assert_eq!(
        provider(&strict, "Meridian Trade Compliance")["rollup"]["ready"],
        3,
        "only the 100-point countries"
    );
}

#[test]
fn an_invalid_profile_is_refused_with_the_key_and_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(root().join("mappings/profiles/default.toml"))
        .unwrap()
        .replace("capped = 0.6", "capped = 1.6");
    std::fs::write(&profile, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (o, _) = score(&[&examples()], out.path(), &["--profile", profile.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml:") && err.contains("values.liability.capped"),
        "{err}"
    );
}

#[test]
fn a_mapping_with_a_typo_is_refused_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mine.toml");
    let text = std::fs::read_to_string(root().join("mappings/questionnaire-v1.toml"))
        .unwrap()
        .replace("values.capped = [", "values.caped = [");
    std::fs::write(&mapping, &text).unwrap();
    let line = text.lines().position(|l| l.starts_with("values.caped")).unwrap() + 1;
    let out = tempfile::tempdir().unwrap();
    let (o, _) = score(&[&examples()], out.path(), &["--mapping", mapping.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("mine.toml:{line}")), "{err}");
    assert!(err.contains("countries.fields.liability.values.caped"), "{err}");
    assert!(err.contains("full, capped, none"), "says what was expected: {err}");
}

#[test]
fn a_mapping_with_an_unknown_key_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mine.toml");
    let text = std::fs::read_to_string(root().join("mappings/questionnaire-v1.toml"))
        .unwrap()
        .replace("header_search_rows = 30", "header_serch_rows = 30");
    std::fs::write(&mapping, &text).unwrap();
    let line = text.lines().position(|l| l.starts_with("header_serch_rows")).unwrap() + 1;
    let out = tempfile::tempdir().unwrap();
    let (o, _) = score(&[&examples()], out.path(), &["--mapping", mapping.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("mine.toml:{line}")) && err.contains("header_serch_rows"),
        "{err}"
    );
}

#[test]
fn a_missing_input_is_a_usage_error() {
    let out = tempfile::tempdir().unwrap();
    let o = iorready(&["score", "no/such/folder", "--out", out.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/folder"));
}

#[test]
fn a_bad_as_of_date_is_a_usage_error() {
    let o = iorready(&["score", "examples", "--out", "x", "--as-of", "24/11/2026"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("YYYY-MM-DD"));
}

#[test]
fn the_template_lists_the_countries_with_dropdowns_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.xlsx");
    let o = iorready(&[
        "template",
        "--countries",
        "DE,fr,Österreich",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    use calamine::Reader;
    let wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    assert_eq!(wb.sheet_names(), vec!["Provider", "Countries", "Instructions"]);
    let countries = sheet(&path, "Countries");
    assert_eq!(cell_text(&countries, "A1"), "Country");
    assert_eq!(cell_text(&countries, "S1"), "Comments");
    assert_eq!(cell_text(&countries, "A2"), "Germany");
    assert_eq!(cell_text(&countries, "A3"), "France");
    assert_eq!(cell_text(&countries, "A4"), "Austria");
    let provider = sheet(&path, "Provider");
    assert_eq!(cell_text(&provider, "A6"), "Response date");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet2.xml").unwrap(), &mut xml).unwrap();
    assert_eq!(xml.matches("type=\"list\"").count(), 9, "B, C, D, E, L, M, N, O, Q");
    assert_eq!(xml.matches("type=\"date\"").count(), 2, "I and K");
    assert_eq!(xml.matches("type=\"whole\"").count(), 2, "J and P");
}

#[test]
fn a_blank_template_scores_as_not_offered_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blank.xlsx");
    iorready(&["template", "--countries", "DE,FR", "--out", path.to_str().unwrap()]);
    let out = tempfile::tempdir().unwrap();
    let (o, json) = score(&[&path], out.path(), &[]);
    assert!(o.status.success());
    let p = &json["providers"][0];
    assert_eq!(p["rollup"]["not_offered"], 2);
}

#[test]
fn an_unknown_country_for_the_template_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = iorready(&[
        "template",
        "--countries",
        "DE,Atlantis",
        "--out",
        dir.path().join("q.xlsx").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Atlantis"));
}
