//! Sources: where provider answers come from. Today, spreadsheet files on
//! disk, found in folders and read into sparse grids of cells.

mod cell;
mod discover;
mod format;
mod workbook;

pub use cell::CellValue;
pub use discover::{discover_inputs, is_spreadsheet_name};
pub use format::{sniff, Format};
pub use workbook::{read_workbook, ReadError, Sheet, Workbook, MAX_CELLS};
