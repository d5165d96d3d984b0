//! The annotated copy of a provider workbook: the provider's sheets as they
//! were, the country table extended with the results, a note on every cell
//! that caused a flag, and a Readiness sheet with the roll-up and the
//! dimension breakdown.
//!
//! Sheets are written row by row in constant-memory mode (inline strings,
//! rows flushed as they go), which is why the result columns of the country
//! table are merged into its rows rather than written afterwards. A sheet
//! with merged cells is written in the ordinary mode, which can merge.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Note, Workbook, Worksheet, XlsxError};

use super::style::{self, cell_text, TierFormats};
use super::{write_xlsx_atomically, SinkError};
use crate::mapping::Placement;
use crate::scoring::{Assessed, Profile, ProviderResult};
use crate::sources::{CellValue, Sheet, Workbook as InputWorkbook};

/// Excel's last row and column (zero-based).
const MAX_ROW: u32 = 1_048_575;
const MAX_COL: u32 = 16_383;

/// What the annotated copy is made from.
pub struct AnnotateInput<'a> {
    /// The workbook as read.
    pub workbook: &'a InputWorkbook,
    /// Its scores: one per provider it holds (several for a consolidated
    /// table).
    pub results: &'a [ProviderResult],
    /// Where the results go.
    pub placement: &'a Placement,
    /// The as-of date of the run.
    pub as_of: NaiveDate,
    /// The profile used.
    pub profile: &'a Profile,
}

fn xlsx(path: &Path) -> impl Fn(XlsxError) -> SinkError + '_ {
    move |source| SinkError::Xlsx {
        path: path.to_owned(),
        source,
    }
}

/// Formats made once per workbook: building a `Format` per cell costs more
/// than writing the cell.
struct Formats {
    date: Format,
    score: Format,
    wrap: Format,
    added_header: Format,
    header: Format,
    bold: Format,
    tiers: TierFormats,
}

impl Formats {
    fn new() -> Self {
        Self {
            date: style::date(),
            score: style::score(),
            wrap: style::wrap(),
            added_header: style::added_header(),
            header: style::header(),
            bold: style::bold(),
            tiers: TierFormats::new(),
        }
    }
}

/// Writes the annotated copy to `out`.
pub fn write_annotated(input: &AnnotateInput<'_>, out: &Path) -> Result<(), SinkError> {
    let e = xlsx(out);
    let mut wb = Workbook::new();
    // Level 1: a third faster to save than level 3 for a slightly larger file.
    wb.set_zip_compression_level(1);
    let f = Formats::new();
    let notes = notes_by_cell(input.results);
    let mut placed = place_results(input, &f);
    let mut names = HashSet::new();
    for sheet in &input.workbook.sheets {
        let ws = if sheet.merges.is_empty() {
            wb.add_worksheet_with_constant_memory().map_err(&e)?
        } else {
            wb.add_worksheet()
        };
        ws.set_name(unique_sheet_name(&sheet.name, &mut names)).map_err(&e)?;
        if sheet.hidden {
            ws.set_hidden(true);
        }
        // Notes first: they are kept apart from the rows, which constant
        // memory flushes as they are written.
        if let Some(cell_notes) = notes.get(sheet.name.as_str()) {
            for (&(r, c), texts) in cell_notes {
                if r <= MAX_ROW && c <= MAX_COL {
                    // The author stays on the note but not as a bold first
                    // line: each text starts with its flag code, and that
                    // second run of text cost a twentieth of the copy.
                    let note = Note::new(cell_text(&texts.join("\n\n")))
                        .set_author("iorready")
                        .add_author_prefix(false)
                        .set_width(420)
                        .set_height(150);
                    ws.insert_note(r, c as u16, &note).map_err(&e)?;
                }
            }
        }
        fit_columns(ws, sheet).map_err(&e)?;
        let added = placed.remove(sheet.name.as_str()).unwrap_or_default();
        if let Placement::Columns {
            sheet: table,
            header_row,
        } = input.placement
        {
            if *table == sheet.name {
                table_setup(ws, &added, *header_row).map_err(&e)?;
            }
        }
        copy_cells(ws, sheet, &added, &f).map_err(&e)?;
    }
    let ws = wb.add_worksheet_with_constant_memory().map_err(&e)?;
    ws.set_name(unique_sheet_name("Readiness", &mut names)).map_err(&e)?;
    write_readiness(ws, input, &f).map_err(&e)?;
    write_xlsx_atomically(out, &mut wb)
}

/// Column widths from the longest text in each column: calamine does not
/// give the provider's own widths, and Excel's default hides most answers.
fn fit_columns(ws: &mut Worksheet, sheet: &Sheet) -> Result<(), XlsxError> {
    let mut widths: BTreeMap<u32, usize> = BTreeMap::new();
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
        *w = (*w).max(len);
    }
    for (c, len) in widths {
        ws.set_column_width(c as u16, (len.clamp(6, 50) as f64) * 1.1 + 1.0)?;
    }
    Ok(())
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`, unique
/// without case.
fn unique_sheet_name(name: &str, taken: &mut HashSet<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let clean = clean.trim_matches('\'');
    let base: String = if clean.trim().is_empty() {
        "Sheet".into()
    } else {
        clean.chars().take(31).collect()
    };
    let mut candidate = base.clone();
    let mut n = 2;
    while taken.contains(&candidate.to_lowercase()) {
        let suffix = format!(" ({n})");
        candidate = format!("{}{suffix}", base.chars().take(31 - suffix.len()).collect::<String>());
        n += 1;
    }
    taken.insert(candidate.to_lowercase());
    candidate
}

/// A cell iorready adds to the country table.
enum Added<'a> {
    Number(f64, &'a Format),
    Text(String, Option<&'a Format>),
}

fn write_value(ws: &mut Worksheet, r: u32, c: u16, v: &CellValue, f: &Formats) -> Result<(), XlsxError> {
    match v {
        CellValue::Text(s) => ws.write_string(r, c, cell_text(s)).map(|_| ()),
        CellValue::Number(n) if n.is_finite() => ws.write_number(r, c, *n).map(|_| ()),
        CellValue::Number(n) => ws.write_string(r, c, n.to_string()).map(|_| ()),
        CellValue::Bool(b) => ws.write_boolean(r, c, *b).map(|_| ()),
        CellValue::Date(d) if d.date() >= excel_epoch() => ws.write_datetime_with_format(r, c, d, &f.date).map(|_| ()),
        CellValue::Date(_) | CellValue::Error(_) => ws.write_string(r, c, v.display()).map(|_| ()),
    }
}

/// Writes the sheet's cells, and the added cells of each row after them,
/// in row order.
fn copy_cells(
    ws: &mut Worksheet,
    sheet: &Sheet,
    added: &BTreeMap<u32, Vec<(u16, Added<'_>)>>,
    f: &Formats,
) -> Result<(), XlsxError> {
    for &(r0, c0, r1, c1) in &sheet.merges {
        if (r0, c0) != (r1, c1) && r1 <= MAX_ROW && c1 <= MAX_COL {
            // Overlapping or odd merges are dropped; the values stay.
            let _ = ws.merge_range(r0, c0 as u16, r1, c1 as u16, "", &Format::new());
        }
    }
    // Every row that holds something, in order; a row's added cells sit to
    // the right of its own, so each row is written left to right.
    let mut rows: Vec<u32> = sheet.cells.keys().map(|(r, _)| *r).collect();
    rows.extend(added.keys());
    rows.sort_unstable();
    rows.dedup();
    for r in rows.into_iter().take_while(|r| *r <= MAX_ROW) {
        for (c, v) in sheet.row(r).take_while(|(c, _)| *c <= MAX_COL) {
            write_value(ws, r, c as u16, v, f)?;
        }
        for (c, v) in added.get(&r).into_iter().flatten() {
            match v {
                Added::Number(n, fmt) => ws.write_number_with_format(r, *c, *n, fmt).map(|_| ())?,
                Added::Text(s, Some(fmt)) => ws.write_string_with_format(r, *c, cell_text(s), fmt).map(|_| ())?,
                Added::Text(s, None) => ws.write_string(r, *c, cell_text(s)).map(|_| ())?,
            }
        }
    }
    Ok(())
}

fn excel_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Notes by sheet, then cell: every flag's message on every cell it cites,
/// so the analyst reads the reason where the answer is.
fn notes_by_cell(results: &[ProviderResult]) -> BTreeMap<&str, BTreeMap<(u32, u32), Vec<String>>> {
    let mut notes: BTreeMap<&str, BTreeMap<(u32, u32), Vec<String>>> = BTreeMap::new();
    let all = results.iter().flat_map(|result| {
        result
            .assessed
            .iter()
            .flat_map(|a| a.flags.iter().map(move |f| (Some(a), f)))
            .chain(result.flags.iter().map(|f| (None, f)))
    });
    for (assessed, flag) in all {
        let country = assessed
            .and_then(|a| a.assessment.country)
            .map(|c| format!(" ({})", c.name()))
            .unwrap_or_default();
        for cell in &flag.cells {
            let text = format!("{} [{}]{country}: {}", flag.code.code(), flag.severity, flag.message);
            let list = notes
                .entry(&cell.sheet)
                .or_default()
                .entry((cell.row, cell.col))
                .or_default();
            if !list.contains(&text) {
                list.push(text);
            }
        }
    }
    notes
}

/// Headers of the columns added to the country table.
const ADDED: [&str; 6] = [
    "Score",
    "Tier",
    "Coverage class",
    "Confidence",
    "Flags",
    "Why this tier",
];

/// Cells added to a sheet, by row, each row's cells left to right.
type AddedRows<'f> = BTreeMap<u32, Vec<(u16, Added<'f>)>>;

/// The six result values of an assessment, in the order of [`ADDED`].
fn result_values<'f>(a: &Assessed, f: &'f Formats) -> [Added<'f>; 6] {
    [
        Added::Number(a.score, &f.score),
        Added::Text(a.tier.label().to_owned(), Some(f.tiers.tier(a.tier))),
        Added::Text(a.coverage_class.id().to_owned(), None),
        Added::Text(a.confidence.id().to_owned(), None),
        Added::Text(flag_codes(a), None),
        Added::Text(a.reason.clone(), Some(&f.wrap)),
    ]
}

/// The result cells of every assessment, by sheet name, where the
/// placement says: columns right of a table, rows under a matrix, or a
/// block at the foot of each country's sheet.
fn place_results<'f>(input: &AnnotateInput<'_>, f: &'f Formats) -> BTreeMap<String, AddedRows<'f>> {
    let mut out: BTreeMap<String, AddedRows<'f>> = BTreeMap::new();
    let sheet_of = |name: &str| input.workbook.sheets.iter().find(|s| s.name == name);
    let assessed = input.results.iter().flat_map(|r| r.assessed.iter());
    match input.placement {
        Placement::Columns { sheet, header_row } => {
            let Some(table) = sheet_of(sheet) else { return out };
            let first = table
                .cells
                .keys()
                .filter(|(r, _)| *r >= *header_row)
                .map(|(_, c)| *c + 1)
                .max()
                .unwrap_or(0);
            if first + ADDED.len() as u32 > MAX_COL {
                return out;
            }
            let col = |i: usize| (first + i as u32) as u16;
            let rows = out.entry(sheet.clone()).or_default();
            rows.insert(
                *header_row,
                ADDED
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (col(i), Added::Text((*h).to_owned(), Some(&f.added_header))))
                    .collect(),
            );
            for a in assessed {
                let Some(src) = &a.assessment.country_source else {
                    continue;
                };
                rows.insert(
                    src.row,
                    result_values(a, f)
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (col(i), v))
                        .collect(),
                );
            }
            for issue in input.results.iter().flat_map(|r| r.row_issues.iter()) {
                if let Some(r) = issue.cell.split('!').next_back().and_then(row_of) {
                    rows.insert(
                        r,
                        vec![
                            (col(4), Added::Text("Skipped".to_owned(), None)),
                            (col(5), Added::Text(issue.message.clone(), Some(&f.wrap))),
                        ],
                    );
                }
            }
        }
        Placement::Rows { sheet, label_col } => {
            let Some(matrix) = sheet_of(sheet) else { return out };
            let first = matrix.last_row().unwrap_or(0) + 2;
            let rows = out.entry(sheet.clone()).or_default();
            for (i, h) in ADDED.iter().enumerate() {
                rows.entry(first + i as u32)
                    .or_default()
                    .push((*label_col as u16, Added::Text((*h).to_owned(), Some(&f.added_header))));
            }
            for a in assessed {
                let Some(src) = &a.assessment.country_source else {
                    continue;
                };
                for (i, v) in result_values(a, f).into_iter().enumerate() {
                    rows.entry(first + i as u32).or_default().push((src.col as u16, v));
                }
            }
            for cells in rows.values_mut() {
                cells.sort_by_key(|(c, _)| *c);
            }
        }
        Placement::Records => {}
        Placement::Sheets { label_col, value_col } => {
            for a in assessed {
                let Some(src) = &a.assessment.country_source else {
                    continue;
                };
                let Some(sheet) = sheet_of(&src.sheet) else { continue };
                let first = sheet.last_row().unwrap_or(0) + 2;
                let rows = out.entry(sheet.name.clone()).or_default();
                for (i, (h, v)) in ADDED.iter().zip(result_values(a, f)).enumerate() {
                    let mut cells = vec![
                        (*label_col as u16, Added::Text((*h).to_owned(), Some(&f.added_header))),
                        (*value_col as u16, v),
                    ];
                    cells.sort_by_key(|(c, _)| *c);
                    rows.insert(first + i as u32, cells);
                }
            }
        }
    }
    out
}

/// The table's frozen header, filter and column widths, set before its rows
/// are written.
fn table_setup(ws: &mut Worksheet, added: &AddedRows<'_>, header_row: u32) -> Result<(), XlsxError> {
    let Some((last, _)) = added.get(&header_row).and_then(|h| h.last()) else {
        return Ok(());
    };
    let last_row = added.keys().max().copied().unwrap_or(header_row);
    ws.set_column_width(*last - 1, 28)?;
    ws.set_column_width(*last, 60)?;
    ws.set_freeze_panes(header_row + 1, 1)?;
    ws.autofilter(header_row, 0, last_row, *last)?;
    style::print_wide(ws);
    Ok(())
}

/// The zero-based row of an A1 reference.
fn row_of(a1: &str) -> Option<u32> {
    let digits: String = a1.chars().skip_while(|c| c.is_ascii_alphabetic()).collect();
    digits.parse::<u32>().ok().and_then(|n| n.checked_sub(1))
}

fn flag_codes(a: &Assessed) -> String {
    let mut codes: Vec<&str> = a.flags.iter().map(|f| f.code.code()).collect();
    codes.dedup();
    codes.join("; ")
}

/// The roll-up of one provider as label/value pairs.
fn facts(res: &ProviderResult, input: &AnnotateInput<'_>) -> Vec<(&'static str, String)> {
    let p = &res.provider;
    let r = &res.rollup;
    let ratio = r
        .inflation_ratio
        .map(|x| format!("{x:.2}"))
        .unwrap_or_else(|| "n/a (nothing ready or conditional)".into());
    vec![
        ("Provider", res.display_name()),
        ("Legal name", p.legal_name.get().cloned().unwrap_or_default()),
        (
            "Response date",
            p.response_date.get().map(|d| d.to_string()).unwrap_or_default(),
        ),
        ("Source", res.source.display().to_string()),
        ("Mapping", res.mapping.clone()),
        ("Scoring profile", input.profile.name.clone()),
        ("As of", input.as_of.to_string()),
        ("Countries claimed", r.countries_claimed.to_string()),
        ("Countries assessed", r.countries_assessed.to_string()),
        ("Ready", r.ready.to_string()),
        ("Conditional", r.conditional.to_string()),
        ("Coverage only", r.coverage_only.to_string()),
        ("Not capable", r.not_capable.to_string()),
        ("Not offered", r.not_offered.to_string()),
        ("Active coverage", r.active.to_string()),
        ("Passive coverage", r.passive.to_string()),
        ("Coverage inflation ratio", ratio),
        (
            "Provider flags",
            res.flags
                .iter()
                .map(|f| format!("{}: {}", f.code.code(), f.message))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ]
}

/// The Readiness sheet: the roll-up (label/value pairs for one provider, a
/// table for several), then every country's dimension breakdown.
fn write_readiness(ws: &mut Worksheet, input: &AnnotateInput<'_>, f: &Formats) -> Result<(), XlsxError> {
    let all: Vec<Vec<(&str, String)>> = input.results.iter().map(|r| facts(r, input)).collect();
    let roll_up_rows = if all.len() == 1 {
        all[0].len() as u32
    } else {
        all.len() as u32 + 1
    };
    let top = roll_up_rows + 2;
    let mut headers: Vec<String> = [
        "Provider",
        "Country",
        "Name",
        "Tier",
        "Score",
        "Coverage class",
        "Confidence",
        "Evidence level",
        "Evidence multiplier",
    ]
    .map(String::from)
    .to_vec();
    if let Some(a) = input.results.iter().flat_map(|r| r.assessed.first()).next() {
        for d in &a.dimensions {
            headers.push(format!("{} points (weight {})", d.dimension.label(), d.weight));
        }
    }
    headers.extend(["Knockouts", "How the dimensions were valued"].map(String::from));
    let n = headers.len() as u16;
    let countries: u32 = input.results.iter().map(|r| r.assessed.len() as u32).sum();
    // Constant memory: layout before rows.
    ws.set_column_width(0, 26)?;
    ws.set_column_width(1, if all.len() == 1 { 40.0 } else { 12.0 })?;
    ws.set_column_width(2, 26)?;
    ws.set_column_width(n - 2, 40)?;
    ws.set_column_width(n - 1, 70)?;
    // Formats by column, not cell by cell: the writer looks a cell's
    // format up by hashing it, which cost more than writing the cell.
    ws.set_column_format(4, &f.score)?;
    for c in 9..n.saturating_sub(2) {
        ws.set_column_format(c, &f.score)?;
    }
    ws.set_column_format(n - 2, &f.wrap)?;
    ws.set_column_format(n - 1, &f.wrap)?;
    ws.set_freeze_panes(top + 1, 3)?;
    ws.autofilter(top, 0, top + countries, n - 1)?;
    style::print_wide(ws);

    if let [one] = all.as_slice() {
        ws.write_string_with_format(0, 0, "Readiness", &f.header)?;
        ws.write_string_with_format(0, 1, "", &f.header)?;
        for (i, (k, v)) in one.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string_with_format(row, 0, *k, &f.bold)?;
            ws.write_string(row, 1, cell_text(v))?;
        }
    } else {
        for (c, (k, _)) in all.first().into_iter().flatten().enumerate() {
            ws.write_string_with_format(0, c as u16, *k, &f.header)?;
        }
        for (i, one) in all.iter().enumerate() {
            for (c, (_, v)) in one.iter().enumerate() {
                ws.write_string(i as u32 + 1, c as u16, cell_text(v))?;
            }
        }
    }
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(top, c as u16, h, &f.header)?;
    }
    let mut row = top;
    for res in input.results {
        let name = res.display_name();
        for a in &res.assessed {
            row += 1;
            let country = a.assessment.country;
            ws.write_string(row, 0, cell_text(&name))?;
            ws.write_string(row, 1, country.map(|c| c.alpha2()).unwrap_or(""))?;
            ws.write_string(row, 2, country.map(|c| c.name()).unwrap_or(""))?;
            ws.write_string_with_format(row, 3, a.tier.label(), f.tiers.tier(a.tier))?;
            ws.write_number(row, 4, a.score)?;
            ws.write_string(row, 5, a.coverage_class.id())?;
            ws.write_string(row, 6, a.confidence.id())?;
            ws.write_string(row, 7, a.evidence_level.id())?;
            ws.write_number(row, 8, a.evidence_multiplier)?;
            let mut c = 9u16;
            for d in &a.dimensions {
                ws.write_number(row, c, d.points)?;
                c += 1;
            }
            ws.write_string(row, c, cell_text(&a.knockouts.join("; ")))?;
            let basis: Vec<String> = a
                .dimensions
                .iter()
                .map(|d| format!("{}: {}", d.dimension.label(), d.basis))
                .collect();
            ws.write_string(row, c + 1, cell_text(&basis.join("\n")))?;
        }
    }
    Ok(())
}
