//! JSON documents: API records exported from a vendor-management system or
//! ERP, read whole (within a size limit) and addressed by JSON pointers.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::workbook::ReadError;

/// The largest JSON document read, in bytes.
pub const MAX_JSON_BYTES: u64 = 256 * 1024 * 1024;

/// A parsed JSON document.
#[derive(Debug, Clone)]
pub struct JsonDocument {
    /// The file read.
    pub path: PathBuf,
    /// Its content.
    pub value: serde_json::Value,
}

/// True for a file name that looks like a JSON document.
pub fn is_json_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Reads and parses a JSON document.
pub fn read_json(path: &Path) -> Result<JsonDocument, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() > MAX_JSON_BYTES {
        return Err(ReadError::Corrupt {
            path: path.to_owned(),
            format: "json",
            detail: format!("larger than {} MiB", MAX_JSON_BYTES / (1024 * 1024)),
        });
    }
    let mut text = String::new();
    file.take(MAX_JSON_BYTES).read_to_string(&mut text).map_err(io)?;
    let value = serde_json::from_str(&text).map_err(|e| ReadError::Corrupt {
        path: path.to_owned(),
        format: "json",
        detail: format!("line {}, column {}: {e}", e.line(), e.column()),
    })?;
    Ok(JsonDocument {
        path: path.to_owned(),
        value,
    })
}
