//! Reading workbooks: dates in both epochs, merged cells, hidden sheets.

mod common;

use chrono::NaiveDate;
use common::*;
use iorready::sources::{read_workbook, CellValue};

fn dates(path: &std::path::Path) -> Vec<NaiveDate> {
    let wb = read_workbook(path).unwrap();
    wb.sheets[0].cells.values().filter_map(CellValue::as_date).collect()
}

#[test]
fn dates_of_a_1904_workbook_match_the_same_dates_in_a_1900_workbook() {
    let d1900 = dates(&corpus().join("date.xlsx"));
    let d1904 = dates(&corpus().join("date_1904.xlsx"));
    assert!(!d1900.is_empty());
    assert_eq!(d1900, d1904);
    assert_eq!(dates(&corpus().join("date_1904.xls")), d1900);
}

#[test]
fn a_merged_area_gives_its_value_to_every_cell_it_covers() {
    let wb = read_workbook(&corpus().join("merged_range.xlsx")).unwrap();
    let sheet = wb
        .sheets
        .iter()
        .find(|s| !s.merges.is_empty())
        .expect("a sheet with merges");
    let &(r0, c0, r1, c1) = &sheet.merges[0];
    let top_left = sheet.get(r0, c0).cloned();
    if top_left.is_some() {
        let (v, at) = sheet.get_merged(r1, c1).unwrap();
        assert_eq!(Some(v.clone()), top_left);
        assert_eq!(at, (r0, c0));
    }
}

#[test]
fn a_spreadsheet_named_with_the_wrong_extension_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("really-an-xlsx.xls");
    std::fs::copy(examples().join("meridian-trade-compliance.xlsx"), &renamed).unwrap();
    let wb = read_workbook(&renamed).unwrap();
    assert!(wb.sheet("Countries").is_some());
}

#[test]
fn hidden_sheets_are_read_and_marked() {
    let wb = read_workbook(&corpus().join("any_sheets.xlsx")).unwrap();
    assert!(wb.sheets.iter().any(|s| s.hidden));
    assert!(wb.sheets.iter().any(|s| !s.hidden));
}

#[test]
fn a_crafted_out_of_memory_file_ends_in_a_result_or_a_clear_error() {
    for name in ["OOM_alloc.xls", "OOM_alloc2.xls", "OOM_alloc3.xls", "issue_594_dos.ods"] {
        let path = corpus().join(name);
        match read_workbook(&path) {
            Ok(wb) => assert!(wb.sheets.iter().map(|s| s.cells.len()).sum::<usize>() <= iorready::sources::MAX_CELLS),
            Err(e) => assert!(e.to_string().contains(name), "{e}"),
        }
    }
}
