//! Sources: where provider answers come from: spreadsheet files on disk,
//! found in folders and read into sparse grids of cells, and JSON documents
//! of API records.

mod cell;
mod discover;
mod format;
mod input;
mod json;
mod workbook;
mod xls_bounds;
mod xlsx_merges;

pub use cell::CellValue;
pub use discover::{discover_inputs, is_spreadsheet_name, what_else_is_there};
pub use format::{sniff, Format};
pub use input::{Input, InputReader, Shared, IN_MEMORY_MAX};
pub use json::{
    for_each_record, is_json_name, pointer_keys, read_json, unescape_pointer_key, JsonDocument, MAX_JSON_BYTES,
};
pub use workbook::{read_workbook, ReadError, Sheet, Workbook, MAX_CELLS};
