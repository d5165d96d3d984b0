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
            write!(f, "{}!{}", self.sheet, self.a1())
        } else {
            write!(f, "'{}'!{}", self.sheet.replace('\'', "''"), self.a1())
        }
    }
}

/// A zero-based (row, column) in A1 notation.
pub fn a1(row: u32, col: u32) -> String {
    format!("{}{}", column_letters(col), u64::from(row) + 1)
}

/// Zero-based column index to letters (0 -> A, 26 -> AA).
pub fn column_letters(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
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
    fn sheet_names_with_spaces_are_quoted() {
        let r = SourceRef::new("f.xlsx".into(), "My Sheet".into(), 6, 4);
        assert_eq!(r.to_string(), "'My Sheet'!E7");
        let r = SourceRef::new("f.xlsx".into(), "Countries".into(), 6, 4);
        assert_eq!(r.to_string(), "Countries!E7");
    }
}
