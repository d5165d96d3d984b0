//! One cell's value, independent of the file format it came from.

use chrono::{NaiveDate, NaiveDateTime};

/// A non-empty cell value.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    /// Text.
    Text(String),
    /// A number (integers included).
    Number(f64),
    /// TRUE or FALSE.
    Bool(bool),
    /// A date or date-time, already converted from the workbook's epoch.
    Date(NaiveDateTime),
    /// An error value such as `#N/A` or `#REF!`.
    Error(String),
}

impl CellValue {
    /// The value as a person reads it in the cell.
    pub fn display(&self) -> String {
        match self {
            CellValue::Text(s) => s.clone(),
            CellValue::Number(n) => format_number(*n),
            CellValue::Bool(true) => "TRUE".into(),
            CellValue::Bool(false) => "FALSE".into(),
            CellValue::Date(d) => {
                if d.time() == chrono::NaiveTime::MIN {
                    d.date().format("%Y-%m-%d").to_string()
                } else {
                    d.format("%Y-%m-%d %H:%M").to_string()
                }
            }
            CellValue::Error(e) => e.clone(),
        }
    }

    /// The date of a date cell.
    pub fn as_date(&self) -> Option<NaiveDate> {
        match self {
            CellValue::Date(d) => Some(d.date()),
            _ => None,
        }
    }

    /// True when the cell holds only white space.
    pub fn is_blank(&self) -> bool {
        matches!(self, CellValue::Text(s) if s.trim().is_empty())
    }
}

/// Whole numbers without a decimal point, others as Rust prints them.
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_display_without_decimals() {
        assert_eq!(CellValue::Number(12.0).display(), "12");
        assert_eq!(CellValue::Number(2.5).display(), "2.5");
    }
}
