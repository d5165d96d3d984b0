//! Column widths and row heights for added cells: every column wide enough
//! for its header and its longest value, wrapped text given the rows it
//! needs, except on rows whose height the provider set, where the column
//! grows instead.

use std::collections::BTreeMap;

use super::{Rows, Value};

/// The height of one line of 11-point text, in points (Excel's default row).
pub const LINE_HEIGHT: f64 = 15.0;
/// The widest a wrapped column grows to fit its text without a cap of its
/// own, in characters.
const WRAP_WIDTH: f64 = 60.0;
/// Characters of ordinary text per unit of column width: a width unit is
/// one '0' of the default font, and text averages a little narrower.
const TEXT_PER_WIDTH: f64 = 1.08;
/// Excel's widest column and tallest row.
const MAX_WIDTH: f64 = 255.0;
const MAX_HEIGHT: f64 = 409.0;

/// Widths (in characters) of the columns and heights (in points) of the
/// rows that need them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fitted {
    /// By zero-based column.
    pub widths: BTreeMap<u32, f64>,
    /// By zero-based row; rows with one line of text are left alone.
    pub heights: BTreeMap<u32, f64>,
}

/// Fits the columns and rows of `rows`. `caps` bounds a wrapped column's
/// width (default 60 characters); `fixed` gives the height the provider set
/// on a row, which is kept.
pub fn fit(rows: &Rows, caps: &BTreeMap<u32, f64>, fixed: &dyn Fn(u32) -> Option<f64>) -> Fitted {
    let mut widths: BTreeMap<u32, f64> = BTreeMap::new();
    for (col, cell) in rows.values().flatten() {
        let Value::Text(text) = &cell.value else {
            // A score shows as "100.00"; other numbers are counts.
            let w = widths.entry(*col).or_insert(0.0);
            *w = w.max(8.0);
            continue;
        };
        let longest_line = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
        let natural = if cell.wraps() {
            let longest_word = text.split_whitespace().map(|w| w.chars().count()).max().unwrap_or(0) as f64;
            longest_line
                .min(caps.get(col).copied().unwrap_or(WRAP_WIDTH))
                .max(longest_word)
        } else {
            longest_line
        };
        let w = widths.entry(*col).or_insert(0.0);
        *w = w.max((natural + 2.0).clamp(6.0, MAX_WIDTH));
    }
    let mut heights = BTreeMap::new();
    for (row, cells) in rows {
        let wrapped = cells.iter().filter(|(_, c)| c.wraps());
        match fixed(*row) {
            Some(height) => {
                let lines = ((height / LINE_HEIGHT).floor() as usize).max(1);
                for (col, cell) in wrapped {
                    let text = cell.shown();
                    let w = widths.entry(*col).or_insert(8.0);
                    while wrapped_lines(&text, *w) > lines && *w < MAX_WIDTH {
                        *w = (*w + 4.0).min(MAX_WIDTH);
                    }
                }
            }
            None => {
                let lines = wrapped
                    .map(|(col, cell)| wrapped_lines(&cell.shown(), widths.get(col).copied().unwrap_or(8.0)))
                    .max()
                    .unwrap_or(1);
                if lines > 1 {
                    heights.insert(*row, (lines as f64 * LINE_HEIGHT + 3.0).min(MAX_HEIGHT));
                }
            }
        }
    }
    Fitted { widths, heights }
}

/// The heights rows need when the columns keep the given widths (the
/// provider's columns, which iorready does not resize); rows with a height
/// of the provider's own keep it.
pub fn fit_in(rows: &Rows, widths: &dyn Fn(u32) -> f64, fixed: &dyn Fn(u32) -> Option<f64>) -> Fitted {
    let mut heights = BTreeMap::new();
    for (row, cells) in rows.iter().filter(|(r, _)| fixed(**r).is_none()) {
        let lines = cells
            .iter()
            .filter(|(_, c)| c.wraps())
            .map(|(col, cell)| wrapped_lines(&cell.shown(), widths(*col)))
            .max()
            .unwrap_or(1);
        if lines > 1 {
            heights.insert(*row, (lines as f64 * LINE_HEIGHT + 3.0).min(MAX_HEIGHT));
        }
    }
    Fitted {
        widths: BTreeMap::new(),
        heights,
    }
}

/// The lines `text` takes in a column `width` characters wide, wrapped at
/// spaces as Excel and LibreOffice wrap it: a character of cell padding
/// less than the width, times what ordinary text fits in a width unit.
pub fn wrapped_lines(text: &str, width: f64) -> usize {
    let per_line = ((width - 1.0) * TEXT_PER_WIDTH).floor().max(1.0) as usize;
    text.split('\n')
        .map(|paragraph| {
            let mut lines = 1;
            let mut used = 0;
            for word in paragraph.split(' ') {
                let len = word.chars().count();
                let needed = if used == 0 { len } else { used + 1 + len };
                if needed <= per_line {
                    used = needed;
                } else {
                    // A new line, or several for a word longer than one.
                    let len = len.max(1);
                    lines += usize::from(used > 0) + (len - 1) / per_line;
                    used = (len - 1) % per_line + 1;
                }
            }
            lines
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::super::{Cell, Look};
    use super::*;

    #[test]
    fn a_short_text_takes_one_line() {
        assert_eq!(wrapped_lines("Ready", 10.0), 1);
    }

    #[test]
    fn words_wrap_at_spaces() {
        // 9 characters a line: "aaaa bbbb" then "cccc".
        assert_eq!(wrapped_lines("aaaa bbbb cccc", 10.0), 2);
    }

    #[test]
    fn each_paragraph_starts_a_line() {
        assert_eq!(wrapped_lines("a\nb\nc", 40.0), 3);
    }

    #[test]
    fn a_word_longer_than_the_column_takes_several_lines() {
        assert_eq!(wrapped_lines(&"x".repeat(25), 11.0), 3);
    }

    fn one_row(row: u32, cells: Vec<(u32, Cell)>) -> Rows {
        [(row, cells)].into_iter().collect()
    }

    #[test]
    fn a_column_is_as_wide_as_its_longest_value() {
        let rows = one_row(0, vec![(3, Cell::text("Coverage only", Look::Plain))]);
        let f = fit(&rows, &BTreeMap::new(), &|_| None);
        assert_eq!(f.widths[&3], 15.0);
        assert!(f.heights.is_empty());
    }

    #[test]
    fn wrapped_text_gets_the_rows_it_needs() {
        let rows = one_row(4, vec![(0, Cell::text("word ".repeat(30), Look::Wrap))]);
        let f = fit(&rows, &BTreeMap::new(), &|_| None);
        assert_eq!(f.widths[&0], 62.0);
        assert_eq!(f.heights[&4], 3.0 * LINE_HEIGHT + 3.0);
    }

    #[test]
    fn a_row_the_provider_sized_keeps_its_height_and_the_column_grows() {
        let rows = one_row(4, vec![(0, Cell::text("word ".repeat(30), Look::Wrap))]);
        let f = fit(&rows, &BTreeMap::new(), &|r| (r == 4).then_some(LINE_HEIGHT));
        assert!(f.heights.is_empty());
        assert_eq!(wrapped_lines(&"word ".repeat(30), f.widths[&0]), 1);
    }
}
