//! The rebuilt annotated copy: a new workbook holding the provider's cells
//! (values and merges, not their formatting) and the [`Annotation`]. Used
//! for xls, xlsb and ods, which iorready cannot patch, and for any xlsx the
//! patcher refuses.
//!
//! Sheets are written row by row in constant-memory mode (inline strings,
//! rows flushed as they go), which is why the added cells are merged into
//! the provider's rows rather than written afterwards. A sheet with merged
//! cells is written in the ordinary mode, which can merge.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Note, Workbook, Worksheet, XlsxError};

use super::annotation::{
    fit, unique_sheet_name, Annotation, Cell, Fitted, Look, NewSheet, SheetAdditions, Value, MAX_COL, MAX_ROW,
};
use super::style::{self, cell_text};
use super::{write_xlsx_atomically, SinkError};
use crate::sources::{CellValue, Sheet, Workbook as InputWorkbook};

fn xlsx(path: &Path) -> impl Fn(XlsxError) -> SinkError + '_ {
    move |source| SinkError::Xlsx {
        path: path.to_owned(),
        source,
    }
}

/// Formats made once per workbook: building a `Format` per cell costs more
/// than writing the cell.
struct Looks {
    date: Format,
    by_look: HashMap<(Look, bool), Format>,
}

impl Looks {
    fn new() -> Self {
        Self {
            date: style::date(),
            by_look: HashMap::new(),
        }
    }

    /// The format of a look, top aligned on iorready's own sheets.
    fn get(&mut self, look: Look, top: bool) -> &Format {
        self.by_look.entry((look, top)).or_insert_with(|| {
            let format = style::look(look);
            if top {
                format.set_align(rust_xlsxwriter::FormatAlign::Top)
            } else {
                format
            }
        })
    }
}

/// Writes the rebuilt copy of `workbook` with `annotation` to `out`.
pub fn write_rebuilt(workbook: &InputWorkbook, annotation: &Annotation, out: &Path) -> Result<(), SinkError> {
    let e = xlsx(out);
    let mut wb = Workbook::new();
    // Level 1: a third faster to save than level 3 for a slightly larger file.
    wb.set_zip_compression_level(1);
    // An xlsm's copy stays an xlsm: its macros (never run) go into the
    // rebuilt workbook, which Excel would otherwise refuse under that name.
    let _vba = keep_macros(&mut wb, &workbook.path, out);
    let mut looks = Looks::new();
    let none = SheetAdditions::default();
    let mut names = HashSet::new();
    for sheet in &workbook.sheets {
        let ws = if sheet.merges.is_empty() {
            wb.add_worksheet_with_constant_memory().map_err(&e)?
        } else {
            wb.add_worksheet()
        };
        ws.set_name(unique_sheet_name(&sheet.name, &mut names)).map_err(&e)?;
        if sheet.hidden {
            ws.set_hidden(true);
        }
        let added = annotation.sheets.get(&sheet.name).unwrap_or(&none);
        // Notes first: they are kept apart from the rows, which constant
        // memory flushes as they are written.
        add_notes(ws, added).map_err(&e)?;
        let fitted = fit(&added.rows, &BTreeMap::new(), &|_| None);
        let widths = fit_columns(ws, sheet, &fitted).map_err(&e)?;
        if let Some(cols) = added.columns {
            table_setup(ws, added, cols.header_row, &widths).map_err(&e)?;
        }
        copy_cells(ws, sheet, added, &mut looks).map_err(&e)?;
    }
    for new in [&annotation.readiness, &annotation.legend] {
        let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
        ws.set_name(unique_sheet_name(new.name, &mut names)).map_err(&e)?;
        write_new_sheet(ws, new, &mut looks).map_err(&e)?;
    }
    write_xlsx_atomically(out, &mut wb)
}

/// Adds the VBA project of the xlsm at `source` to `wb` when the copy is
/// an xlsm. The project is handed over as a file, kept until the workbook
/// is saved (the returned guard).
fn keep_macros(wb: &mut Workbook, source: &Path, out: &Path) -> Option<tempfile::NamedTempFile> {
    if !out.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsm")) {
        return None;
    }
    let mut zip = zip::ZipArchive::new(std::fs::File::open(source).ok()?).ok()?;
    let mut entry = zip.by_name("xl/vbaProject.bin").ok()?;
    let mut tmp = tempfile::NamedTempFile::new().ok()?;
    std::io::copy(&mut (&mut entry).take(super::patch::MAX_VBA), &mut tmp).ok()?;
    match wb.add_vba_project(tmp.path()) {
        Ok(_) => Some(tmp),
        Err(e) => {
            tracing::warn!(file = %source.display(), "the macros could not be kept in the rebuilt copy: {e}");
            None
        }
    }
}

fn add_notes(ws: &mut Worksheet, added: &SheetAdditions) -> Result<(), XlsxError> {
    for (&(r, c), text) in &added.notes {
        // The author stays on the note but not as a bold first line: each
        // text starts with its flag, and that second run of text cost a
        // twentieth of the copy.
        let note = Note::new(cell_text(text))
            .set_author("iorready")
            .add_author_prefix(false)
            .set_width(420)
            .set_height(150);
        ws.insert_note(r, c as u16, &note)?;
    }
    Ok(())
}

/// Column widths from the longest text in each column (calamine does not
/// give the provider's own widths, and Excel's default hides most answers),
/// and the added columns' fitted widths. Returns every width set.
fn fit_columns(ws: &mut Worksheet, sheet: &Sheet, fitted: &Fitted) -> Result<BTreeMap<u32, f64>, XlsxError> {
    let mut widths: BTreeMap<u32, f64> = BTreeMap::new();
    for (&(_, c), v) in &sheet.cells {
        if c > MAX_COL {
            continue;
        }
        let len = match v {
            CellValue::Text(s) => s.lines().map(|l| l.chars().count()).max().unwrap_or(0),
            CellValue::Date(_) => 10,
            other => other.display().chars().count(),
        };
        let w = widths.entry(c).or_default();
        *w = w.max((len.clamp(6, 50) as f64) * 1.1 + 1.0);
    }
    widths.extend(fitted.widths.iter().map(|(c, w)| (*c, *w)));
    for (c, w) in &widths {
        ws.set_column_width(*c as u16, *w)?;
    }
    for (r, h) in &fitted.heights {
        ws.set_row_height(*r, *h)?;
    }
    Ok(widths)
}

/// The table's frozen header, filter and print set-up, set before its rows
/// are written.
fn table_setup(
    ws: &mut Worksheet,
    added: &SheetAdditions,
    header_row: u32,
    widths: &BTreeMap<u32, f64>,
) -> Result<(), XlsxError> {
    let Some(cols) = added.columns else { return Ok(()) };
    let last_row = added.rows.keys().max().copied().unwrap_or(header_row);
    ws.set_freeze_panes(header_row + 1, 1)?;
    ws.autofilter(header_row, 0, last_row, cols.last as u16)?;
    let total: f64 = (0..=cols.last).map(|c| widths.get(&c).copied().unwrap_or(8.43)).sum();
    style::print_pages_wide(ws, total);
    ws.set_repeat_rows(0, header_row)?;
    Ok(())
}

fn write_value(ws: &mut Worksheet, r: u32, c: u16, v: &CellValue, looks: &Looks) -> Result<(), XlsxError> {
    match v {
        CellValue::Text(s) => ws.write_string(r, c, cell_text(s)).map(|_| ()),
        CellValue::Number(n) if n.is_finite() => ws.write_number(r, c, *n).map(|_| ()),
        CellValue::Number(n) => ws.write_string(r, c, n.to_string()).map(|_| ()),
        CellValue::Bool(b) => ws.write_boolean(r, c, *b).map(|_| ()),
        CellValue::Date(d) if d.date() >= excel_epoch() => {
            ws.write_datetime_with_format(r, c, d, &looks.date).map(|_| ())
        }
        CellValue::Date(_) | CellValue::Error(_) => ws.write_string(r, c, v.display()).map(|_| ()),
    }
}

fn write_added(
    ws: &mut Worksheet,
    (r, c): (u32, u32),
    cell: &Cell,
    (looks, top): (&mut Looks, bool),
) -> Result<(), XlsxError> {
    let format = looks.get(cell.look, top);
    match &cell.value {
        Value::Number(n) => ws.write_number_with_format(r, c as u16, *n, format).map(|_| ()),
        Value::Text(s) => ws
            .write_string_with_format(r, c as u16, cell_text(s), format)
            .map(|_| ()),
    }
}

/// Writes the sheet's cells, and the added cells of each row after them,
/// in row order.
fn copy_cells(ws: &mut Worksheet, sheet: &Sheet, added: &SheetAdditions, looks: &mut Looks) -> Result<(), XlsxError> {
    for &(r0, c0, r1, c1) in &sheet.merges {
        if (r0, c0) != (r1, c1) && r1 <= MAX_ROW && c1 <= MAX_COL {
            // Overlapping or odd merges are dropped; the values stay.
            let _ = ws.merge_range(r0, c0 as u16, r1, c1 as u16, "", &Format::new());
        }
    }
    // Every row that holds something, in order; a row's added cells sit to
    // the right of its own, so each row is written left to right.
    let mut rows: Vec<u32> = sheet.cells.keys().map(|(r, _)| *r).collect();
    rows.extend(added.rows.keys());
    rows.sort_unstable();
    rows.dedup();
    for r in rows.into_iter().take_while(|r| *r <= MAX_ROW) {
        let extra = added.rows.get(&r).map(Vec::as_slice).unwrap_or_default();
        for (c, v) in sheet.row(r).take_while(|(c, _)| *c <= MAX_COL) {
            if !extra.iter().any(|(x, _)| *x == c) {
                write_value(ws, r, c as u16, v, looks)?;
            }
        }
        for (c, cell) in extra {
            write_added(ws, (r, *c), cell, (looks, false))?;
        }
    }
    Ok(())
}

fn excel_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// One of iorready's own sheets: layout first (constant memory), then rows.
fn write_new_sheet(ws: &mut Worksheet, sheet: &NewSheet, looks: &mut Looks) -> Result<(), XlsxError> {
    let fitted = fit(&sheet.rows, &sheet.wrap_widths, &|_| None);
    for (c, w) in &fitted.widths {
        ws.set_column_width(*c as u16, *w)?;
    }
    for (r, h) in &fitted.heights {
        ws.set_row_height(*r, *h)?;
    }
    if let Some((r, c)) = sheet.freeze {
        ws.set_freeze_panes(r, c as u16)?;
    }
    if let Some((r0, c0, r1, c1)) = sheet.filter {
        ws.autofilter(r0, c0 as u16, r1, c1 as u16)?;
    }
    if let Some((first, last)) = sheet.print_rows {
        ws.set_repeat_rows(first, last)?;
    }
    style::print_pages_wide(ws, fitted.widths.values().sum());
    for (r, cells) in &sheet.rows {
        for (c, cell) in cells {
            write_added(ws, (*r, *c), cell, (looks, true))?;
        }
    }
    Ok(())
}
