//! Where a value came from: a file and a cell (`Countries!E7`), or a file
//! and a JSON pointer into an API record (`/suppliers/3/countries/0/model`).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The origin of one answer: the workbook and the cell (`Countries!E7`).
///
/// Row and column are kept zero-based so sinks can annotate the very cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    /// The input file, as the user named it.
    pub file: Arc<str>,
    /// The sheet name.
    pub sheet: Arc<str>,
    /// Zero-based row.
    pub row: u32,
    /// Zero-based column.
    pub col: u32,
    /// For a JSON record: the pointer to the value (then `sheet` is empty).
    pub pointer: Option<Arc<str>>,
}

impl SourceRef {
    /// A reference to `sheet!<row,col>` in `file`.
    pub fn new(file: Arc<str>, sheet: Arc<str>, row: u32, col: u32) -> Self {
        Self {
            file,
            sheet,
            row,
            col,
            pointer: None,
        }
    }

    /// A reference to the value at `pointer` in the JSON document `file`.
    pub fn json(file: Arc<str>, pointer: &str) -> Self {
        // One empty sheet name shared by every JSON reference: a mapped
        // record holds one reference per answer.
        static NO_SHEET: std::sync::LazyLock<Arc<str>> = std::sync::LazyLock::new(|| Arc::from(""));
        Self {
            file,
            sheet: NO_SHEET.clone(),
            row: 0,
            col: 0,
            pointer: Some(pointer.into()),
        }
    }

    /// The cell in A1 notation (`E7`).
    pub fn a1(&self) -> String {
        a1(self.row, self.col)
    }
}

impl fmt::Display for SourceRef {
    /// `Countries!E7`, quoting the sheet name when Excel would.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(pointer) = &self.pointer {
            return write!(f, "{pointer}");
        }
        let plain = self.sheet.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.');
        if plain {
            f.write_str(&self.sheet)?;
        } else {
            write!(f, "'{}'", self.sheet.replace('\'', "''"))?;
        }
        f.write_str("!")?;
        // Written in place: every flag row and JSON flag names its cells,
        // and building the A1 text as strings first cost more than the rest.
        write_a1(f, self.row, self.col)
    }
}

/// A zero-based (row, column) in A1 notation.
pub fn a1(row: u32, col: u32) -> String {
    let mut out = String::with_capacity(8);
    // Writing to a String cannot fail.
    let _ = write_a1(&mut out, row, col);
    out
}

/// Appends a zero-based (row, column) in A1 notation to `out`.
pub fn push_a1(out: &mut String, row: u32, col: u32) {
    // Writing to a String cannot fail.
    let _ = write_a1(out, row, col);
}

/// Writes a zero-based (row, column) in A1 notation.
fn write_a1(out: &mut impl fmt::Write, row: u32, col: u32) -> fmt::Result {
    write_column_letters(out, col)?;
    write!(out, "{}", u64::from(row) + 1)
}

/// Zero-based column index to letters (0 -> A, 26 -> AA).
pub fn column_letters(col: u32) -> String {
    let mut out = String::with_capacity(3);
    // Writing to a String cannot fail.
    let _ = write_column_letters(&mut out, col);
    out
}

fn write_column_letters(out: &mut impl fmt::Write, col: u32) -> fmt::Result {
    // 26^7 > u32::MAX + 1: seven letters hold any column.
    let mut letters = [0u8; 7];
    let mut start = letters.len();
    let mut n = u64::from(col) + 1;
    while n > 0 && start > 0 {
        start -= 1;
        letters[start] = b'A' + ((n - 1) % 26) as u8;
        n = (n - 1) / 26;
    }
    // Only ASCII capitals were written.
    out.write_str(std::str::from_utf8(&letters[start..]).unwrap_or_default())
}

/// An A1 reference (`E5`, `$E$5`) to a zero-based (row, column); `None`
/// when it is not one.
pub fn parse_a1(s: &str) -> Option<(u32, u32)> {
    let s = s.replace('$', "");
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let col = column_index(&s[..split])?;
    let row: u32 = s[split..].parse().ok()?;
    Some((row.checked_sub(1)?, col))
}

/// Letters to a zero-based column index (A -> 0); `None` if not letters.
pub fn column_index(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut n: u32 = 0;
    for c in letters.chars() {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        n = n * 26 + (c.to_ascii_uppercase() as u32 - 'A' as u32 + 1);
    }
    Some(n - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip_through_letters() {
        for (i, s) in [(0, "A"), (25, "Z"), (26, "AA"), (16383, "XFD")] {
            assert_eq!(column_letters(i), s);
            assert_eq!(column_index(s), Some(i));
        }
    }

    #[test]
    fn the_last_column_a_reference_can_hold_has_seven_letters() {
        assert_eq!(column_letters(u32::MAX), "MWLQKWV");
        assert_eq!(a1(u32::MAX, u32::MAX), "MWLQKWV4294967296");
    }

    #[test]
    fn sheet_names_with_spaces_are_quoted() {
        let r = SourceRef::new("f.xlsx".into(), "My Sheet".into(), 6, 4);
        assert_eq!(r.to_string(), "'My Sheet'!E7");
        let r = SourceRef::new("f.xlsx".into(), "Countries".into(), 6, 4);
        assert_eq!(r.to_string(), "Countries!E7");
    }
}
