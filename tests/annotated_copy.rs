//! The annotated copy of an xlsx or xlsm is the provider's own file with
//! iorready's additions: every part it does not change byte-identical,
//! every original cell, style, note, name and sheet kept; other formats
//! and packages the patcher refuses get a rebuilt copy saying why.
//!
//! The deep checks (resolved styles, validations, element order, Excel's
//! rules for tables and notes, LibreOffice opening the file) are made by
//! `tests/tools/check_annotated.py`, which needs Python with openpyxl and
//! LibreOffice: CI installs them and fails without them; elsewhere the
//! tests that need them say they were skipped.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{examples, iorready, notes, root};

fn formatted(name: &str) -> PathBuf {
    root().join("tests/fixtures/formatted").join(name)
}

/// Scores one workbook into a fresh folder; returns the folder and the copy.
fn annotate(input: &Path) -> (tempfile::TempDir, PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let o = iorready(&[
        "score",
        input.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--as-of",
        "2026-11-24",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stem = input.file_stem().unwrap().to_str().unwrap();
    let ext = if input.extension().is_some_and(|e| e == "xlsm") {
        "xlsm"
    } else {
        "xlsx"
    };
    let copy = out.path().join(format!("{stem}.annotated.{ext}"));
    assert!(copy.exists(), "no copy at {}", copy.display());
    (out, copy)
}

/// Every entry of a zip, decompressed.
fn entries(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().unwrap().into_owned(), bytes)
        })
        .collect()
}

/// Whether the Python checker can run here; under CI its absence fails.
fn checker_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import openpyxl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with openpyxl is needed for the package checks (.ci/run installs it)"
        );
        eprintln!("skipped: python3 with openpyxl is not installed (pip install openpyxl)");
    }
    ok
}

fn check(original: &Path, copy: &Path) {
    if !checker_ready() {
        return;
    }
    let o = Command::new("python3")
        .arg(root().join("tests/tools/check_annotated.py"))
        .args([original, copy])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}\n{}", String::from_utf8_lossy(&o.stderr));
    if text.contains("skipped: soffice") {
        assert!(
            std::env::var_os("CI").is_none(),
            "LibreOffice is needed under CI: {text}"
        );
        eprintln!("skipped: the LibreOffice conversion (soffice not installed)");
    }
}

#[test]
fn a_formatted_xlsx_keeps_every_part_cell_style_and_name() {
    let input = formatted("formatted-questionnaire.xlsx");
    let (_out, copy) = annotate(&input);
    check(&input, &copy);
}

#[test]
fn an_answer_table_that_is_an_excel_table_is_extended_over_the_verdicts() {
    let input = formatted("table-questionnaire.xlsx");
    let (_out, copy) = annotate(&input);
    let parts = entries(&copy);
    let table = String::from_utf8_lossy(&parts["xl/tables/table1.xml"]).into_owned();
    assert!(table.contains(r#"ref="A1:Y13""#), "{table}");
    assert!(table.contains(r#"name="Why this tier""#), "{table}");
    check(&input, &copy);
}

#[test]
fn an_xlsm_stays_an_xlsm_with_its_macros_untouched() {
    let input = formatted("macro-questionnaire.xlsm");
    let (_out, copy) = annotate(&input);
    assert_eq!(
        entries(&input)["xl/vbaProject.bin"],
        entries(&copy)["xl/vbaProject.bin"]
    );
    let types = String::from_utf8_lossy(&entries(&copy)["[Content_Types].xml"]).into_owned();
    assert!(
        types.contains("application/vnd.ms-excel.sheet.macroEnabled.main+xml"),
        "{types}"
    );
    check(&input, &copy);
}

#[test]
fn the_demo_workbooks_are_patched_as_they_are() {
    for name in ["meridian-trade-compliance", "atlas-import-services"] {
        let input = examples().join(format!("{name}.xlsx"));
        let (_out, copy) = annotate(&input);
        check(&input, &copy);
    }
}

#[test]
fn parts_the_patch_does_not_need_are_copied_byte_for_byte() {
    let input = formatted("formatted-questionnaire.xlsx");
    let (_out, copy) = annotate(&input);
    let (before, after) = (entries(&input), entries(&copy));
    let may_change = |name: &str| {
        name == "[Content_Types].xml"
            || name == "docProps/app.xml"
            || name.starts_with("xl/workbook.xml")
            || name.starts_with("xl/_rels/workbook.xml")
            || name == "xl/styles.xml"
            || name.starts_with("xl/comments")
            || name.starts_with("xl/drawings/vmlDrawing")
            || name.starts_with("xl/tables/")
            || name.starts_with("xl/worksheets/")
    };
    for (name, bytes) in &before {
        assert!(after.contains_key(name), "{name} is gone");
        if !may_change(name) {
            assert_eq!(&after[name], bytes, "{name} changed");
        }
    }
    let sheets_changed: Vec<&String> = before
        .keys()
        .filter(|n| n.starts_with("xl/worksheets/sheet") && after[*n] != before[*n])
        .collect();
    assert_eq!(
        sheets_changed.len(),
        1,
        "only the Countries sheet changes: {sheets_changed:?}"
    );
}

#[test]
fn a_provider_note_on_a_flagged_cell_keeps_its_text_and_iorready_s_follows() {
    let input = formatted("formatted-questionnaire.xlsx");
    let (_out, copy) = annotate(&input);
    let original = notes(&input)[&("Countries".to_owned(), "E6".to_owned())].clone();
    let note = &notes(&copy)[&("Countries".to_owned(), "E6".to_owned())];
    assert!(note.starts_with(&original), "{note}");
    assert!(note.contains("Liability capped (LIABILITY_CAPPED)"), "{note}");
}

#[test]
fn the_verdict_columns_are_at_least_as_wide_as_their_headers() {
    let input = examples().join("meridian-trade-compliance.xlsx");
    let (_out, copy) = annotate(&input);
    let sheet = String::from_utf8_lossy(&entries(&copy)["xl/worksheets/sheet2.xml"]).into_owned();
    let cols = regex::Regex::new(r#"<col min="(\d+)" max="\d+" width="([\d.]+)" customWidth="1"/>"#).unwrap();
    let widths: BTreeMap<u32, f64> = cols
        .captures_iter(&sheet)
        .map(|c| (c[1].parse().unwrap(), c[2].parse().unwrap()))
        .collect();
    // Columns T to Y (20 to 25) hold Score ... Why this tier.
    for (col, header) in (20..).zip([
        "Score",
        "Tier",
        "Coverage class",
        "Confidence",
        "Flags",
        "Why this tier",
    ]) {
        assert!(widths[&col] >= header.len() as f64, "{header}: {:?}", widths.get(&col));
    }
}

#[test]
fn an_xls_input_gets_a_rebuilt_copy_that_says_why() {
    let input = common::fixture("meridian-trade-compliance.xls");
    let (_out, copy) = annotate(&input);
    let readiness = common::sheet(&copy, "Readiness");
    let said: Vec<String> = readiness
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|"))
        .collect();
    assert!(
        said.iter()
            .any(|r| r.starts_with("Annotated copy|Rebuilt") && r.contains("xls workbooks cannot be patched")),
        "{said:?}"
    );
}

/// `src` rewritten as `name` in `dir` without its styles relationship: the
/// patcher cannot append styles, so it refuses rather than write a broken
/// file.
fn without_styles(src: &Path, dir: &Path, name: &str) -> PathBuf {
    let input = dir.join(name);
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&input).unwrap());
    let re = regex::Regex::new(r#"<Relationship [^>]*styles"[^>]*/>"#).unwrap();
    for (name, bytes) in entries(src) {
        let bytes = if name == "xl/_rels/workbook.xml.rels" {
            let text = String::from_utf8(bytes).unwrap();
            re.replace(&text, "").into_owned().into_bytes()
        } else {
            bytes
        };
        writer
            .start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut writer, &bytes).unwrap();
    }
    writer.finish().unwrap();
    input
}

#[test]
fn a_package_the_patcher_does_not_understand_gets_a_rebuilt_copy_that_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let input = without_styles(
        &examples().join("meridian-trade-compliance.xlsx"),
        dir.path(),
        "odd.xlsx",
    );
    let (_out, copy) = annotate(&input);
    let readiness = common::sheet(&copy, "Readiness");
    let said: Vec<String> = readiness
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|"))
        .collect();
    assert!(
        said.iter()
            .any(|r| r.contains("could not be patched: the workbook has no styles part")),
        "{said:?}"
    );
}

#[test]
fn a_rebuilt_xlsm_copy_keeps_its_macros() {
    let dir = tempfile::tempdir().unwrap();
    let input = without_styles(&formatted("macro-questionnaire.xlsm"), dir.path(), "odd.xlsm");
    let (_out, copy) = annotate(&input);
    assert_eq!(
        entries(&input)["xl/vbaProject.bin"],
        entries(&copy)["xl/vbaProject.bin"]
    );
    let types = String::from_utf8_lossy(&entries(&copy)["[Content_Types].xml"]).into_owned();
    assert!(types.contains("macroEnabled"), "{types}");
}

/// Additions of the patched copy's kind for any workbook: a header and a
/// wrapped cell right of the first worksheet's cells, a note on A1 and on
/// A2, and iorready's two sheets.
fn additions_for(input: &Path) -> Option<iorready::sinks::Annotation> {
    use iorready::sinks::{Annotation, Cell, Look, NewSheet, SheetAdditions};
    let wb = iorready::sources::read_workbook(input).ok()?;
    let sheet = wb.sheets.first()?;
    let last_col = sheet.cells.keys().map(|(_, c)| *c).max().unwrap_or(0);
    let mut added = SheetAdditions::default();
    added
        .rows
        .insert(0, vec![(last_col + 1, Cell::text("Tier", Look::AddedHeader))]);
    added.rows.insert(
        1,
        vec![(last_col + 1, Cell::text("Ready; a wrapped why ".repeat(6), Look::Wrap))],
    );
    added.notes.insert((0, 0), "Liability capped (LIABILITY_CAPPED)".into());
    added.notes.insert((1, 0), "A second note".into());
    let mut readiness = NewSheet {
        name: "Readiness",
        ..NewSheet::default()
    };
    readiness.rows.insert(
        0,
        vec![
            (0, Cell::text("Readiness", Look::Header)),
            (1, Cell::number(74.16, Look::Score)),
        ],
    );
    let mut annotation = Annotation {
        readiness,
        legend: NewSheet {
            name: "Legend",
            ..NewSheet::default()
        },
        ..Annotation::default()
    };
    annotation.legend.rows.insert(
        0,
        vec![(0, Cell::text("Tier", Look::Tier(iorready::scoring::Tier::Ready)))],
    );
    annotation.sheets.insert(sheet.name.clone(), added);
    Some(annotation)
}

#[test]
fn workbooks_made_by_other_tools_are_patched_whole_or_refused_with_a_reason() {
    if !checker_ready() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (mut patched, mut refused, mut broken) = (Vec::new(), Vec::new(), Vec::new());
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xlsx" || e == "xlsm"))
        .collect();
    files.sort();
    for input in &files {
        let Some(annotation) = additions_for(input) else {
            continue;
        };
        let copy = out.path().join(input.file_name().unwrap());
        match iorready::sinks::write_patched(input, &annotation, &copy) {
            Ok(()) => {
                let o = Command::new("python3")
                    .arg(root().join("tests/tools/check_annotated.py"))
                    .args([input.as_os_str(), copy.as_os_str(), "--no-libreoffice".as_ref()])
                    .output()
                    .unwrap();
                if !o.status.success() {
                    let text = String::from_utf8_lossy(&o.stdout).into_owned();
                    let problems: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
                    broken.push(format!("{}: {problems:#?}", input.display()));
                }
                patched.push(input.file_name().unwrap().to_string_lossy().into_owned());
            }
            Err(iorready::sinks::PatchError::Refused(reason)) => {
                assert!(!copy.exists(), "{}: a refused patch left a file", input.display());
                refused.push(format!("{}: {reason}", input.display()));
            }
            Err(e) => panic!("{}: {e}", input.display()),
        }
    }
    eprintln!("patched {}, refused {}: {refused:#?}", patched.len(), refused.len());
    assert!(
        broken.is_empty(),
        "{} copies fail the checks: {broken:#?}",
        broken.len()
    );
    assert!(patched.len() >= 40, "only {} patched: {refused:#?}", patched.len());
}
