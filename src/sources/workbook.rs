//! Reading a whole workbook, any format calamine knows, into sparse sheets.
//!
//! Sheets are kept sparse (only non-empty cells) because a single stray cell
//! at row 1,048,576 would make calamine's dense `Range` ask for hundreds of
//! gigabytes. xlsx and xlsb are streamed cell by cell; xls and ods can only be
//! read whole by calamine, whose own limits bound them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calamine::{Data, DataRef, Dimensions, Ods, Reader, SheetType, SheetVisible, Xls, Xlsb, Xlsx};
use chrono::{NaiveDate, NaiveDateTime};

use super::format::{sniff, Format, Sniffed};
use super::input::Input;
use super::CellValue;

/// The most non-empty cells read from one workbook. Questionnaires are a few
/// thousand cells; this bounds memory on hostile files.
pub const MAX_CELLS: usize = 2_000_000;

/// A workbook that could not be read, with the file and, where it applies,
/// the sheet.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened.
    #[error("{path}: cannot open: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file could not be read to its end: the disk, a network share or
    /// a permission failed part-way, not the file's content.
    #[error("{path}: cannot read: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Neither a zip nor an OLE file.
    #[error("{path}: not a spreadsheet (xlsx, xlsm, xlsb, xls or ods expected)")]
    NotSpreadsheet {
        /// The file.
        path: PathBuf,
    },
    /// Password protected.
    #[error("{path}: the workbook is password protected; save an unprotected copy")]
    Encrypted {
        /// The file.
        path: PathBuf,
    },
    /// The reader refused the file.
    #[error("{path}: cannot read the {format} workbook: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The format tried.
        format: &'static str,
        /// What the reader said.
        detail: String,
    },
    /// Too many cells.
    #[error("{path}: sheet '{sheet}' has more than {limit} non-empty cells; that is not a questionnaire")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The sheet.
        sheet: String,
        /// The limit.
        limit: usize,
    },
    /// Cells spread so far apart that reading them would take too much
    /// memory.
    #[error("{path}: sheet '{sheet}' spreads its cells over {area} ({cells} cells, more than {limit}); reading it would take too much memory, and that is not a questionnaire")]
    Sprawling {
        /// The file.
        path: PathBuf,
        /// The sheet.
        sheet: String,
        /// The area its cells span.
        area: String,
        /// How many cells that is.
        cells: u64,
        /// The limit.
        limit: usize,
    },
    /// A file of no bytes at all.
    #[error("{path}: empty file (0 bytes): the copy did not finish, or it was never saved; copy it again")]
    ZeroBytes {
        /// The file.
        path: PathBuf,
    },
    /// Comma- or tab-separated text, not a workbook.
    #[error("{path}: a CSV (text) file, not a workbook: open it in Excel and save it as .xlsx")]
    Csv {
        /// The file.
        path: PathBuf,
    },
    /// No worksheet with any content.
    #[error("{path}: the workbook has no worksheet with any content")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// One worksheet, sparse.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// The sheet's name.
    pub name: String,
    /// Non-empty cells by zero-based (row, column).
    pub cells: BTreeMap<(u32, u32), CellValue>,
    /// Merged areas as (first row, first column, last row, last column).
    pub merges: Vec<(u32, u32, u32, u32)>,
    /// Hidden or very hidden in the workbook.
    pub hidden: bool,
}

impl Sheet {
    /// The value at a zero-based (row, column), if not empty.
    pub fn get(&self, row: u32, col: u32) -> Option<&CellValue> {
        self.cells.get(&(row, col))
    }

    /// The value at (row, column), or the value of the merged area covering
    /// it, with the cell the value really sits in.
    pub fn get_merged(&self, row: u32, col: u32) -> Option<(&CellValue, (u32, u32))> {
        if let Some(v) = self.get(row, col) {
            return Some((v, (row, col)));
        }
        self.merges
            .iter()
            .find(|(r0, c0, r1, c1)| (*r0..=*r1).contains(&row) && (*c0..=*c1).contains(&col))
            .and_then(|&(r0, c0, _, _)| self.get(r0, c0).map(|v| (v, (r0, c0))))
    }

    /// The last row holding a value, if any.
    pub fn last_row(&self) -> Option<u32> {
        self.cells.keys().map(|(r, _)| *r).max()
    }

    /// The cells of one row, in column order.
    pub fn row(&self, row: u32) -> impl Iterator<Item = (u32, &CellValue)> {
        self.cells.range((row, 0)..=(row, u32::MAX)).map(|((_, c), v)| (*c, v))
    }
}

/// A workbook read into memory.
#[derive(Debug, Clone)]
pub struct Workbook {
    /// The file read.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Its worksheets, in workbook order (chart and macro sheets left out).
    pub sheets: Vec<Sheet>,
    /// Sheets that could not be read, with the reason; they are left out of
    /// `sheets`, and an error only if the mapping needs them.
    pub unreadable: Vec<(String, String)>,
}

impl Workbook {
    /// The sheet with this name, compared without case.
    pub fn sheet(&self, name: &str) -> Option<&Sheet> {
        self.sheets
            .iter()
            .find(|s| s.name == name)
            .or_else(|| self.sheets.iter().find(|s| s.name.eq_ignore_ascii_case(name.trim())))
    }
}

/// Why the reader failed on a sheet.
enum SheetFault {
    /// The sheet's content: it is left out, and fails the workbook only if
    /// the mapping needs it.
    Content(String),
    /// A passing I/O fault: the whole workbook fails, to be read again
    /// next run rather than scored without the sheet.
    Io(std::io::Error),
}

impl SheetFault {
    fn of<E: std::error::Error + 'static>(e: E) -> SheetFault {
        match crate::faults::passing_io(&e) {
            Some(io) => SheetFault::Io(std::io::Error::new(io.kind(), e.to_string())),
            None => SheetFault::Content(e.to_string()),
        }
    }

    /// The sheet's message, or the workbook's failure.
    fn into_sheet_error(self, path: &Path) -> Result<String, ReadError> {
        match self {
            SheetFault::Content(message) => Ok(message),
            SheetFault::Io(source) => Err(ReadError::Unreadable {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

/// The reader refused the file: damaged, password protected, or (through
/// its I/O error) the disk or share failed.
fn refused<E: std::error::Error + 'static>(path: &Path, format: &'static str, e: &E) -> ReadError {
    let detail = e.to_string();
    if let Some(io) = crate::faults::passing_io(e) {
        return ReadError::Unreadable {
            path: path.to_owned(),
            source: std::io::Error::new(io.kind(), detail),
        };
    }
    if detail.contains("password") {
        ReadError::Encrypted { path: path.to_owned() }
    } else {
        ReadError::Corrupt {
            path: path.to_owned(),
            format,
            detail,
        }
    }
}

/// Pulls every cell out of a calamine cell reader; the xlsx and xlsb readers
/// have the same methods but no common trait.
macro_rules! drain {
    ($reader:expr, $push:expr) => {{
        let mut reader = $reader.map_err(SheetFault::of)?;
        while let Some(cell) = reader.next_cell().map_err(SheetFault::of)? {
            let (r, c) = cell.get_position();
            if !$push(r, c, from_ref(cell.get_value())) {
                break;
            }
        }
        Ok(())
    }};
}

/// Reads every worksheet of the file at `path`.
pub fn read_workbook(path: &Path) -> Result<Workbook, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let input = Input::open(path).map_err(io)?;
    let format = match sniff(input.reader().map_err(io)?).map_err(io)? {
        Sniffed::Spreadsheet(f) => f,
        Sniffed::EncryptedOoxml => return Err(ReadError::Encrypted { path: path.to_owned() }),
        Sniffed::OtherZip => return Err(ReadError::NotSpreadsheet { path: path.to_owned() }),
        Sniffed::Unknown => return Err(unknown_content(&input, path)),
    };
    let file = || input.reader().map_err(io);
    let mut budget = MAX_CELLS;
    let mut sheets = Vec::new();
    let mut unreadable = Vec::new();
    // A sheet that reads becomes a Sheet; one that does not is listed, and
    // only fails the workbook if the mapping needs it.
    let mut keep =
        |read: Result<Sheet, String>, name: String, hidden: bool, merges: Vec<(u32, u32, u32, u32)>| match read {
            Ok(mut sheet) => {
                sheet.hidden = hidden;
                sheet.merges = merges;
                sheets.push(sheet);
            }
            Err(e) => unreadable.push((name, e)),
        };
    match format {
        Format::Xlsx => {
            let mut wb = Xlsx::new(file()?).map_err(|e| refused(path, "xlsx", &e))?;
            let mut scan = super::xlsx_merges::Merges::open(&input);
            for (name, hidden) in worksheets(wb.sheets_metadata()) {
                let read = read_streamed(&name, &mut budget, path, |push| {
                    drain!(wb.worksheet_cells_reader(&name), push)
                })?;
                // Only a sheet that was read has its merged areas looked up.
                // calamine answers for a sheet the scan cannot tell.
                let merges = if read.is_ok() {
                    scan.as_mut()
                        .and_then(|scan| scan.of(&name))
                        .unwrap_or_else(|| merges_of(wb.merge_cells_by_sheet_name(&name).unwrap_or_default()))
                } else {
                    Vec::new()
                };
                keep(read, name, hidden, merges);
            }
        }
        Format::Xlsb => {
            let mut wb = Xlsb::new(file()?).map_err(|e| refused(path, "xlsb", &e))?;
            for (name, hidden) in worksheets(wb.sheets_metadata()) {
                let read = read_streamed(&name, &mut budget, path, |push| {
                    drain!(wb.worksheet_cells_reader(&name), push)
                })?;
                keep(read, name, hidden, Vec::new());
            }
        }
        Format::Xls => {
            if let Some(s) = super::xls_bounds::sprawling_sheet(&input) {
                return Err(ReadError::Sprawling {
                    path: path.to_owned(),
                    sheet: s.sheet,
                    area: s.area,
                    cells: s.cells,
                    limit: MAX_CELLS,
                });
            }
            let mut wb = Xls::new(file()?).map_err(|e| refused(path, "xls", &e))?;
            for (name, hidden) in worksheets(wb.sheets_metadata()) {
                let merges = merges_of(wb.merge_cells_by_sheet_name(&name).unwrap_or_default());
                let read = match wb.worksheet_range(&name) {
                    Ok(range) => Ok(from_range(&name, &range, &mut budget, path)?),
                    Err(e) => Err(SheetFault::of(e).into_sheet_error(path)?),
                };
                keep(read, name, hidden, merges);
            }
        }
        Format::Ods => {
            let mut wb = Ods::new(file()?).map_err(|e| refused(path, "ods", &e))?;
            for (name, hidden) in worksheets(wb.sheets_metadata()) {
                let read = match wb.worksheet_range(&name) {
                    Ok(range) => Ok(from_range(&name, &range, &mut budget, path)?),
                    Err(e) => Err(SheetFault::of(e).into_sheet_error(path)?),
                };
                keep(read, name, hidden, Vec::new());
            }
        }
    }
    if sheets.iter().all(|s| s.cells.is_empty()) && unreadable.is_empty() {
        return Err(ReadError::Empty { path: path.to_owned() });
    }
    if sheets.is_empty() {
        let (sheet, detail) = unreadable.swap_remove(0);
        return Err(ReadError::Corrupt {
            path: path.to_owned(),
            format: format_name(format),
            detail: format!("sheet '{sheet}': {detail}"),
        });
    }
    Ok(Workbook {
        path: path.to_owned(),
        format,
        sheets,
        unreadable,
    })
}

/// What a file that is no known spreadsheet is, in the user's words.
fn unknown_content(input: &Input, path: &Path) -> ReadError {
    let mut head = Vec::new();
    if let Ok(reader) = input.reader() {
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(reader, 4096), &mut head);
    }
    if head.is_empty() {
        return ReadError::ZeroBytes { path: path.to_owned() };
    }
    if looks_like_csv(&head) {
        return ReadError::Csv { path: path.to_owned() };
    }
    ReadError::NotSpreadsheet { path: path.to_owned() }
}

/// Text (UTF-8 or UTF-16 with its mark, no NUL) whose first two lines hold
/// as many commas, semicolons or tabs.
fn looks_like_csv(head: &[u8]) -> bool {
    let text = if let Some(rest) = head.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        let bytes = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
        if bytes.contains(&0) {
            return false;
        }
        match std::str::from_utf8(bytes) {
            Ok(t) => t.to_owned(),
            // The cut at 4096 bytes fell inside a character.
            Err(e) if e.error_len().is_none() => String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned(),
            Err(_) => return false,
        }
    };
    // Two lines split alike: a table, not a sentence with a comma.
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let (Some(first), Some(second)) = (lines.next(), lines.next()) else {
        return false;
    };
    [',', ';', '\t']
        .into_iter()
        .any(|sep| first.matches(sep).count() > 0 && first.matches(sep).count() == second.matches(sep).count())
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Xlsx => "xlsx",
        Format::Xlsb => "xlsb",
        Format::Xls => "xls",
        Format::Ods => "ods",
    }
}

/// Worksheets (not chart, macro or dialog sheets) with their hidden state.
fn worksheets(meta: &[calamine::Sheet]) -> Vec<(String, bool)> {
    meta.iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| (s.name.clone(), s.visible != SheetVisible::Visible))
        .collect()
}

fn merges_of(areas: Vec<Dimensions>) -> Vec<(u32, u32, u32, u32)> {
    areas.iter().map(|d| (d.start.0, d.start.1, d.end.0, d.end.1)).collect()
}

/// Runs a streaming reader, collecting cells into a sheet within the budget.
/// The outer `Result` is fatal for the workbook (too large, or a passing
/// I/O fault); the inner one is a sheet the reader could not read.
fn read_streamed(
    name: &str,
    budget: &mut usize,
    path: &Path,
    run: impl FnOnce(&mut dyn FnMut(u32, u32, Option<CellValue>) -> bool) -> Result<(), SheetFault>,
) -> Result<Result<Sheet, String>, ReadError> {
    let mut sheet = Sheet {
        name: name.to_owned(),
        ..Sheet::default()
    };
    let mut over = false;
    let mut push = |r: u32, c: u32, v: Option<CellValue>| {
        let Some(v) = v else { return true };
        if *budget == 0 {
            over = true;
            return false;
        }
        *budget -= 1;
        sheet.cells.insert((r, c), v);
        true
    };
    let outcome = run(&mut push);
    if over {
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            sheet: name.to_owned(),
            limit: MAX_CELLS,
        });
    }
    match outcome {
        Ok(()) => Ok(Ok(sheet)),
        Err(fault) => Ok(Err(fault.into_sheet_error(path)?)),
    }
}

fn from_range(name: &str, range: &calamine::Range<Data>, budget: &mut usize, path: &Path) -> Result<Sheet, ReadError> {
    let mut sheet = Sheet {
        name: name.to_owned(),
        ..Sheet::default()
    };
    for (r, c, v) in range.used_cells() {
        let Some(value) = from_data(v) else { continue };
        if *budget == 0 {
            return Err(ReadError::TooLarge {
                path: path.to_owned(),
                sheet: name.to_owned(),
                limit: MAX_CELLS,
            });
        }
        *budget -= 1;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        // used_cells positions are relative to the range start.
        let (Ok(r), Ok(c)) = (u32::try_from(r), u32::try_from(c)) else {
            continue;
        };
        sheet.cells.insert((r0.saturating_add(r), c0.saturating_add(c)), value);
    }
    Ok(sheet)
}

/// Serial dates beyond this many days from the epoch are numbers, not dates
/// (and would overflow chrono's durations).
const MAX_SERIAL_DAYS: f64 = 2_958_465.0;

fn excel_date(dt: &calamine::ExcelDateTime) -> CellValue {
    let serial = dt.as_f64();
    if dt.is_duration() || !serial.is_finite() || !(0.0..=MAX_SERIAL_DAYS).contains(&serial) {
        return CellValue::Number(serial);
    }
    match dt.as_datetime() {
        Some(d) => CellValue::Date(d),
        None => CellValue::Number(serial),
    }
}

fn iso_date(s: &str) -> CellValue {
    if let Ok(d) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return CellValue::Date(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return CellValue::Date(d.and_time(chrono::NaiveTime::MIN));
    }
    CellValue::Text(s.to_owned())
}

fn from_ref(v: &DataRef<'_>) -> Option<CellValue> {
    Some(match v {
        DataRef::Int(i) => CellValue::Number(*i as f64),
        DataRef::Float(f) => CellValue::Number(*f),
        DataRef::String(s) => CellValue::Text(s.clone()),
        DataRef::SharedString(s) => CellValue::Text((*s).to_owned()),
        DataRef::Bool(b) => CellValue::Bool(*b),
        DataRef::DateTime(dt) => excel_date(dt),
        DataRef::DateTimeIso(s) => iso_date(s),
        DataRef::DurationIso(s) => CellValue::Text(s.clone()),
        DataRef::Error(e) => CellValue::Error(e.to_string()),
        DataRef::Empty => return None,
    })
    .filter(|v| !matches!(v, CellValue::Text(s) if s.is_empty()))
}

fn from_data(v: &Data) -> Option<CellValue> {
    Some(match v {
        Data::Int(i) => CellValue::Number(*i as f64),
        Data::Float(f) => CellValue::Number(*f),
        Data::String(s) => CellValue::Text(s.clone()),
        Data::Bool(b) => CellValue::Bool(*b),
        Data::DateTime(dt) => excel_date(dt),
        Data::DateTimeIso(s) => iso_date(s),
        Data::DurationIso(s) => CellValue::Text(s.clone()),
        Data::Error(e) => CellValue::Error(e.to_string()),
        Data::Empty => return None,
    })
    .filter(|v| !matches!(v, CellValue::Text(s) if s.is_empty()))
}
