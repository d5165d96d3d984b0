//! What the annotated copy adds to a provider's workbook, decided once and
//! rendered by either the patcher (the provider's own xlsx or xlsm, with
//! iorready's additions) or the rebuilder (a new workbook, for xls, xlsb, ods
//! and any package the patcher refuses), so the two copies cannot drift.
//!
//! The additions are: verdict cells beside (or under) the answers, a note
//! on every cell that raised a flag, and two sheets of iorready's own,
//! Readiness and Legend. Cells carry a [`Look`] rather than a format, as
//! each renderer has its own way of styling them.

mod layout;
mod sheets;

use std::collections::BTreeMap;

use chrono::NaiveDate;

pub use layout::{fit, fit_in, wrapped_lines, Fitted, LINE_HEIGHT};

use crate::mapping::Placement;
use crate::scoring::{Assessed, Profile, ProviderResult, Severity, Tier};
use crate::sources::Workbook as InputWorkbook;

/// Excel's last row and column (zero-based).
pub const MAX_ROW: u32 = 1_048_575;
/// Excel's last column (zero-based).
pub const MAX_COL: u32 = 16_383;

/// How an added cell looks; each renderer maps it to a style of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Look {
    /// Plain text or number.
    Plain,
    /// A header of a column iorready adds to a provider's sheet.
    AddedHeader,
    /// A header on iorready's own sheets.
    Header,
    /// A bold label.
    Bold,
    /// A score, two decimals.
    Score,
    /// Wrapped text, top aligned.
    Wrap,
    /// A tier, in its colours.
    Tier(Tier),
    /// A severity, in the colours of the tier it borrows.
    Severity(Severity),
}

/// An added cell's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text (cut to what a cell holds by the renderer).
    Text(String),
    /// A number.
    Number(f64),
}

/// One added cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// What it shows.
    pub value: Value,
    /// How it looks.
    pub look: Look,
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>, look: Look) -> Cell {
        Cell {
            value: Value::Text(s.into()),
            look,
        }
    }

    /// A number cell.
    pub fn number(n: f64, look: Look) -> Cell {
        Cell {
            value: Value::Number(n),
            look,
        }
    }

    /// The text the cell shows, for sizing its column.
    pub fn shown(&self) -> std::borrow::Cow<'_, str> {
        match &self.value {
            Value::Text(s) => std::borrow::Cow::Borrowed(s),
            Value::Number(n) if self.look == Look::Score => format!("{n:.2}").into(),
            Value::Number(n) => n.to_string().into(),
        }
    }

    /// Whether the cell's text wraps inside its column: wrapped text, and
    /// the headers of iorready's own sheets (a long header over a column of
    /// figures takes more lines, not more width).
    pub fn wraps(&self) -> bool {
        matches!(self.look, Look::Wrap | Look::Header)
    }
}

/// Cells by zero-based row, each row's cells left to right by column.
pub type Rows = BTreeMap<u32, Vec<(u32, Cell)>>;

/// The provider's answer table when iorready adds columns to its right:
/// where filters and an Excel table over it are extended to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedColumns {
    /// The table's header row.
    pub header_row: u32,
    /// The last column of the provider's table.
    pub table_last_col: u32,
    /// The first and last added column.
    pub first: u32,
    /// The last added column.
    pub last: u32,
}

/// What iorready adds to one of the provider's sheets.
#[derive(Debug, Clone, Default)]
pub struct SheetAdditions {
    /// Added cells.
    pub rows: Rows,
    /// Notes by zero-based (row, column), one text each.
    pub notes: BTreeMap<(u32, u32), String>,
    /// Set when the additions are columns right of a table.
    pub columns: Option<AddedColumns>,
}

/// A sheet of iorready's own (Readiness, Legend).
#[derive(Debug, Clone, Default)]
pub struct NewSheet {
    /// The name wanted; renamed when the provider has a sheet of that name.
    pub name: &'static str,
    /// Its cells.
    pub rows: Rows,
    /// Rows frozen at the top and columns at the left.
    pub freeze: Option<(u32, u32)>,
    /// The filter's area: first row, first column, last row, last column.
    pub filter: Option<(u32, u32, u32, u32)>,
    /// Rows repeated at the top of each printed page (first, last).
    pub print_rows: Option<(u32, u32)>,
    /// The widest a wrapped column may grow, by column.
    pub wrap_widths: BTreeMap<u32, f64>,
}

/// Everything the annotated copy adds.
#[derive(Debug, Clone, Default)]
pub struct Annotation {
    /// By the provider's sheet name.
    pub sheets: BTreeMap<String, SheetAdditions>,
    /// The roll-up and per-country breakdown.
    pub readiness: NewSheet,
    /// What tiers, classes, confidence levels and flags mean.
    pub legend: NewSheet,
}

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

/// Headers of the verdict columns, in order.
pub const VERDICT_HEADERS: [&str; 6] = [
    "Score",
    "Tier",
    "Coverage class",
    "Confidence",
    "Flags",
    "Why this tier",
];

impl Annotation {
    /// Decides every addition. `copy` says how the copy is made, for the
    /// Readiness sheet ("the provider's file, patched" or why it was
    /// rebuilt).
    pub fn decide(input: &AnnotateInput<'_>, copy: &str) -> Annotation {
        let mut sheets = place_verdicts(input);
        for (sheet, notes) in notes_by_cell(input.results) {
            sheets.entry(sheet.to_owned()).or_default().notes = notes;
        }
        Annotation {
            sheets,
            readiness: sheets::readiness(input, copy),
            legend: sheets::legend(input.profile),
        }
    }

    /// Says on the Readiness sheet how the copy was made, replacing what
    /// [`Annotation::decide`] was told.
    pub fn set_copy(&mut self, copy: &str) {
        sheets::set_copy(&mut self.readiness, copy);
    }
}

/// The verdict cells of an assessment, in the order of [`VERDICT_HEADERS`].
fn verdicts(a: &Assessed) -> [Cell; 6] {
    [
        Cell::number(a.score, Look::Score),
        Cell::text(a.tier.label(), Look::Tier(a.tier)),
        Cell::text(a.coverage_class.label(), Look::Plain),
        Cell::text(a.confidence.label(), Look::Plain),
        Cell::text(flag_words(a), Look::Wrap),
        Cell::text(a.reason.clone(), Look::Wrap),
    ]
}

/// One line per flag, in words with the code beside them.
fn flag_words(a: &Assessed) -> String {
    let mut codes: Vec<_> = a.flags.iter().map(|f| f.code).collect();
    codes.dedup();
    codes.iter().map(|c| c.words_and_code()).collect::<Vec<_>>().join("\n")
}

fn headers(look: Look) -> impl Iterator<Item = Cell> {
    VERDICT_HEADERS.iter().map(move |h| Cell::text(*h, look))
}

/// The verdict cells by sheet: columns right of a table, rows under a
/// matrix, or a block at the foot of each country's sheet.
fn place_verdicts(input: &AnnotateInput<'_>) -> BTreeMap<String, SheetAdditions> {
    let mut out: BTreeMap<String, SheetAdditions> = BTreeMap::new();
    let sheet_of = |name: &str| input.workbook.sheets.iter().find(|s| s.name == name);
    let assessed = input.results.iter().flat_map(|r| r.assessed.iter());
    match input.placement {
        Placement::Columns { sheet, header_row } => {
            if let Some(table) = sheet_of(sheet) {
                let additions = out.entry(sheet.clone()).or_default();
                beside_table(input, table, *header_row, additions);
            }
        }
        Placement::Rows { sheet, label_col } => {
            let Some(matrix) = sheet_of(sheet) else { return out };
            let first = matrix.last_row().unwrap_or(0) + 2;
            let rows = &mut out.entry(sheet.clone()).or_default().rows;
            for (i, h) in headers(Look::AddedHeader).enumerate() {
                rows.entry(first + i as u32).or_default().push((*label_col, h));
            }
            for a in assessed {
                let Some(src) = &a.assessment.country_source else {
                    continue;
                };
                for (i, v) in verdicts(a).into_iter().enumerate() {
                    rows.entry(first + i as u32).or_default().push((src.col, v));
                }
            }
            for cells in rows.values_mut() {
                cells.sort_by_key(|(c, _)| *c);
                cells.dedup_by_key(|(c, _)| *c);
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
                let rows = &mut out.entry(sheet.name.clone()).or_default().rows;
                for (i, (h, v)) in headers(Look::AddedHeader).zip(verdicts(a)).enumerate() {
                    let mut cells = vec![(*label_col, h), (*value_col, v)];
                    cells.sort_by_key(|(c, _)| *c);
                    cells.dedup_by_key(|(c, _)| *c);
                    rows.insert(first + i as u32, cells);
                }
            }
        }
    }
    out.retain(|_, s| s.rows.keys().all(|r| *r <= MAX_ROW));
    out
}

/// The verdict columns right of the answer table, and the words of each
/// skipped row.
fn beside_table(input: &AnnotateInput<'_>, table: &crate::sources::Sheet, header_row: u32, out: &mut SheetAdditions) {
    let Some(table_last_col) = table
        .cells
        .keys()
        .filter(|(r, _)| *r >= header_row)
        .map(|(_, c)| *c)
        .max()
    else {
        return;
    };
    let first = table_last_col + 1;
    let last = first + VERDICT_HEADERS.len() as u32 - 1;
    if last > MAX_COL {
        return;
    }
    let col = |i: usize| first + i as u32;
    let rows = &mut out.rows;
    rows.insert(
        header_row,
        headers(Look::AddedHeader)
            .enumerate()
            .map(|(i, h)| (col(i), h))
            .collect(),
    );
    for a in input.results.iter().flat_map(|r| r.assessed.iter()) {
        let Some(src) = &a.assessment.country_source else {
            continue;
        };
        rows.insert(
            src.row,
            verdicts(a).into_iter().enumerate().map(|(i, v)| (col(i), v)).collect(),
        );
    }
    for issue in input.results.iter().flat_map(|r| r.row_issues.iter()) {
        if let Some(r) = issue
            .cell
            .split('!')
            .next_back()
            .and_then(crate::model::source::parse_a1)
            .map(|(r, _)| r)
        {
            rows.insert(
                r,
                vec![
                    (col(4), Cell::text("Row skipped", Look::Wrap)),
                    (col(5), Cell::text(issue.message.clone(), Look::Wrap)),
                ],
            );
        }
    }
    rows.retain(|r, _| *r <= MAX_ROW);
    out.columns = Some(AddedColumns {
        header_row,
        table_last_col,
        first,
        last,
    });
}

/// Notes by sheet, then cell: every flag's message on every cell it cites,
/// so the analyst reads the reason where the answer is.
fn notes_by_cell(results: &[ProviderResult]) -> BTreeMap<&str, BTreeMap<(u32, u32), String>> {
    let mut lists: BTreeMap<&str, BTreeMap<(u32, u32), Vec<String>>> = BTreeMap::new();
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
            if cell.row > MAX_ROW || cell.col > MAX_COL {
                continue;
            }
            let text = format!(
                "{} [{}]{country}: {}",
                flag.code.words_and_code(),
                flag.severity,
                flag.message
            );
            let list = lists
                .entry(&cell.sheet)
                .or_default()
                .entry((cell.row, cell.col))
                .or_default();
            if !list.contains(&text) {
                list.push(text);
            }
        }
    }
    lists
        .into_iter()
        .map(|(sheet, cells)| (sheet, cells.into_iter().map(|(k, v)| (k, v.join("\n\n"))).collect()))
        .collect()
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`, unique
/// without case.
pub fn unique_sheet_name(name: &str, taken: &mut std::collections::HashSet<String>) -> String {
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
