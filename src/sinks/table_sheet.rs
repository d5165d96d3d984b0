//! A sheet of iorready's own laid out as a table: a header row, columns as
//! wide as their text (wrapped columns up to a cap), rows as tall as their
//! wrapped text, printed landscape across readable pages with the header
//! repeated.

use rust_xlsxwriter::{Format, Worksheet, XlsxError};

use super::annotation::{wrapped_lines, LINE_HEIGHT};
use super::style::{self, cell_text};
use crate::scoring::Tier;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text on one line.
    Text(String),
    /// Text wrapped within its column.
    Wrapped(String),
    /// A score, two decimals.
    Score(f64),
    /// A whole number.
    Count(usize),
    /// A tier, in its colours.
    Tier(Tier),
    /// Nothing.
    Empty,
}

impl Cell {
    fn shown(&self) -> String {
        match self {
            Cell::Text(t) | Cell::Wrapped(t) => t.clone(),
            Cell::Score(s) => format!("{s:.2}"),
            Cell::Count(n) => n.to_string(),
            Cell::Tier(t) => t.label().to_owned(),
            Cell::Empty => String::new(),
        }
    }
}

/// A column: its header and the widest a wrapped cell makes it.
pub struct Column {
    /// The header.
    pub header: &'static str,
    /// Wrapped cells grow the column up to this many characters.
    pub cap: f64,
}

/// Writes `rows` under `columns` on `ws`, named `name`.
pub fn write_table(ws: &mut Worksheet, name: &str, columns: &[Column], rows: &[Vec<Cell>]) -> Result<(), XlsxError> {
    ws.set_name(name)?;
    let widths = widths_of(columns, rows);
    style::table_frame(ws, &widths)?;
    let head = style::header().set_align(rust_xlsxwriter::FormatAlign::Top);
    let header_lines = columns
        .iter()
        .zip(&widths)
        .map(|(c, w)| wrapped_lines(c.header, *w))
        .max()
        .unwrap_or(1);
    ws.set_row_height(0, header_lines as f64 * LINE_HEIGHT + 3.0)?;
    for (c, col) in columns.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, col.header, &head)?;
    }
    let formats = Formats::new();
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        let lines = row
            .iter()
            .zip(&widths)
            .filter(|(cell, _)| matches!(cell, Cell::Wrapped(_)))
            .map(|(cell, w)| wrapped_lines(&cell.shown(), *w))
            .max()
            .unwrap_or(1);
        if lines > 1 {
            ws.set_row_height(r, (lines as f64 * LINE_HEIGHT + 3.0).min(409.0))?;
        }
        for (c, cell) in row.iter().enumerate() {
            write_cell(ws, r, c as u16, cell, &formats)?;
        }
    }
    Ok(())
}

struct Formats {
    top: Format,
    wrap: Format,
    score: Format,
    tiers: Vec<(Tier, Format)>,
}

impl Formats {
    fn new() -> Self {
        let top = Format::new().set_align(rust_xlsxwriter::FormatAlign::Top);
        Formats {
            wrap: style::wrap(),
            score: style::score().set_align(rust_xlsxwriter::FormatAlign::Top),
            tiers: Tier::ALL
                .iter()
                .map(|t| (*t, style::tier_format(*t).set_align(rust_xlsxwriter::FormatAlign::Top)))
                .collect(),
            top,
        }
    }
}

fn write_cell(ws: &mut Worksheet, r: u32, c: u16, cell: &Cell, f: &Formats) -> Result<(), XlsxError> {
    match cell {
        Cell::Text(t) => ws.write_string_with_format(r, c, cell_text(t), &f.top).map(|_| ()),
        Cell::Wrapped(t) => ws.write_string_with_format(r, c, cell_text(t), &f.wrap).map(|_| ()),
        Cell::Score(s) => ws.write_number_with_format(r, c, *s, &f.score).map(|_| ()),
        Cell::Count(n) => ws.write_number_with_format(r, c, *n as f64, &f.top).map(|_| ()),
        Cell::Tier(t) => match f.tiers.iter().find(|(k, _)| k == t) {
            Some((_, format)) => ws.write_string_with_format(r, c, t.label(), format).map(|_| ()),
            None => ws.write_string(r, c, t.label()).map(|_| ()),
        },
        Cell::Empty => Ok(()),
    }
}

/// Each column as wide as its longest line (wrapped ones up to their cap,
/// and never narrower than their longest word) and its header's longest
/// word.
fn widths_of(columns: &[Column], rows: &[Vec<Cell>]) -> Vec<f64> {
    columns
        .iter()
        .enumerate()
        .map(|(c, col)| {
            let longest_word = |t: &str| t.split_whitespace().map(|w| w.chars().count()).max().unwrap_or(0) as f64;
            let mut w = longest_word(col.header).max(col.header.chars().count().min(14) as f64);
            for cell in rows.iter().filter_map(|r| r.get(c)) {
                let text = cell.shown();
                let line = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
                w = w.max(match cell {
                    Cell::Wrapped(_) => line.min(col.cap).max(longest_word(&text)),
                    _ => line,
                });
            }
            (w + 2.0).clamp(6.0, 255.0)
        })
        .collect()
}
