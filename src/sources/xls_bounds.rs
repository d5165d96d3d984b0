//! A look at an xls file's cells before calamine reads it. calamine's xls
//! reader reads every sheet when the file is opened, into a dense grid
//! spanning the sheet's first to last cell: a few cells placed far apart
//! (a 41 KB file with a value at A1 and one at IV65536) cost a gigabyte.
//! Streaming the workbook's records once, holding only each sheet's
//! corners, tells that before any grid is made.

use std::io::{BufReader, Read, Seek};

use super::input::Input;

/// What a sheet's grid may hold: the cells any one sheet may have
/// ([`super::MAX_CELLS`]), so no xls costs more than a few hundred
/// megabytes however its cells are spread.
const MAX_GRID: u64 = super::workbook::MAX_CELLS as u64;

/// A sheet whose grid would be too large to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sprawl {
    /// The sheet's name, or its position when the file does not say.
    pub sheet: String,
    /// The area its cells span, in A1 form.
    pub area: String,
    /// How many cells that area holds.
    pub cells: u64,
}

/// The first sheet of the xls in `input` whose cells span more than
/// [`MAX_GRID`] cells, if any. A file this look cannot follow (not a
/// compound file, no workbook stream, a record cut short) is left to
/// calamine, which says what is wrong with it.
pub fn sprawling_sheet(input: &Input) -> Option<Sprawl> {
    let reader = input.reader().ok()?;
    let mut cfb = cfb::CompoundFile::open(reader).ok()?;
    let stream = ["/Workbook", "/Book", "/WORKBOOK", "/BOOK"]
        .into_iter()
        .find(|s| cfb.is_stream(s))?;
    let stream = cfb.open_stream(stream).ok()?;
    scan(BufReader::new(stream))
}

/// One sheet's corners so far.
#[derive(Default)]
struct Corners {
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
}

impl Corners {
    fn add(&mut self, row: u32, col: u32) {
        let widen = |range: &mut Option<(u32, u32)>, at: u32| {
            *range = Some(range.map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))));
        };
        widen(&mut self.rows, row);
        widen(&mut self.cols, col);
    }

    fn cells(&self) -> u64 {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1),
            _ => 0,
        }
    }

    fn area(&self) -> String {
        let (Some((r0, r1)), Some((c0, c1))) = (self.rows, self.cols) else {
            return String::new();
        };
        format!(
            "{}:{}",
            crate::model::source::a1(r0, c0),
            crate::model::source::a1(r1, c1)
        )
    }
}

/// Walks the BIFF records of a workbook stream.
fn scan<R: Read + Seek>(mut stream: R) -> Option<Sprawl> {
    let mut names: Vec<(u32, String)> = Vec::new();
    let mut offset: u64 = 0;
    let mut depth = 0usize;
    let mut sheets_seen = 0usize;
    let mut sheet: Option<(u64, Corners)> = None;
    let mut data = Vec::new();
    loop {
        let mut head = [0u8; 4];
        stream.read_exact(&mut head).ok()?;
        let typ = u16::from_le_bytes([head[0], head[1]]);
        let len = u16::from_le_bytes([head[2], head[3]]) as usize;
        data.resize(len, 0);
        stream.read_exact(&mut data).ok()?;
        let at = offset;
        offset += 4 + len as u64;
        match typ {
            // BOF: the globals, then each sheet; a chart inside a sheet
            // nests its own.
            0x0809 | 0x0409 | 0x0209 | 0x0009 => {
                depth += 1;
                if depth == 1 && sheets_seen > 0 {
                    sheet = Some((at, Corners::default()));
                }
                sheets_seen += 1;
            }
            // EOF
            0x000A => {
                if depth == 1 {
                    if let Some((start, corners)) = sheet.take() {
                        if corners.cells() > MAX_GRID {
                            return Some(Sprawl {
                                sheet: sheet_name(&names, start, sheets_seen),
                                area: corners.area(),
                                cells: corners.cells(),
                            });
                        }
                    }
                }
                depth = depth.saturating_sub(1);
            }
            // BOUNDSHEET: where a sheet starts, and its name.
            0x0085 if depth == 1 && sheet.is_none() => names.extend(bound_sheet(&data)),
            _ if depth == 1 => {
                if let Some((_, corners)) = sheet.as_mut() {
                    cell_positions(typ, &data, corners);
                }
            }
            _ => {}
        }
    }
}

/// The cells a record places, the records calamine keeps.
fn cell_positions(typ: u16, data: &[u8], corners: &mut Corners) {
    let u16_at = |i: usize| data.get(i..i + 2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])));
    match typ {
        // Number, Label, RString, BoolErr, Rk, LabelSst, Formula.
        0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
            if let (Some(row), Some(col)) = (u16_at(0), u16_at(2)) {
                corners.add(row, col);
            }
        }
        // MulRk: a row, its first column, ..., its last column.
        0x00BD if data.len() >= 6 => {
            if let (Some(row), Some(first), Some(last)) = (u16_at(0), u16_at(2), u16_at(data.len() - 2)) {
                corners.add(row, first);
                corners.add(row, last.max(first));
            }
        }
        _ => {}
    }
}

/// A BOUNDSHEET record's stream offset and sheet name (BIFF8 and BIFF5).
fn bound_sheet(data: &[u8]) -> Option<(u32, String)> {
    let pos = u32::from_le_bytes(data.get(0..4)?.try_into().ok()?);
    let cch = usize::from(*data.get(6)?);
    let rest = data.get(7..)?;
    let name = match rest.first() {
        // BIFF8: a flags byte, then one or two bytes a character.
        Some(0) => rest.get(1..1 + cch).map(|b| b.iter().map(|&c| char::from(c)).collect()),
        Some(1) => rest.get(1..1 + 2 * cch).map(|b| {
            let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }),
        // BIFF5: the bytes of the name.
        _ => rest.get(..cch).map(|b| b.iter().map(|&c| char::from(c)).collect()),
    }?;
    Some((pos, name))
}

fn sheet_name(names: &[(u32, String)], start: u64, seen: usize) -> String {
    names
        .iter()
        .find(|(pos, _)| u64::from(*pos) == start)
        .map(|(_, name)| name.clone())
        .unwrap_or_else(|| format!("number {}", seen.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    }

    fn number(row: u16, col: u16) -> Vec<u8> {
        let mut d = row.to_le_bytes().to_vec();
        d.extend(col.to_le_bytes());
        d.extend([0u8; 10]);
        record(0x0203, &d)
    }

    fn stream(cells: &[(u16, u16)]) -> std::io::Cursor<Vec<u8>> {
        let mut s = record(0x0809, &[0; 16]);
        let mut sheet = vec![0u8; 4];
        sheet.extend([0, 0, 6, 0]);
        sheet.extend(b"Answer");
        let globals_end = s.len() + 4 + sheet.len() + 4;
        sheet[0..4].copy_from_slice(&(globals_end as u32).to_le_bytes());
        s.extend(record(0x0085, &sheet));
        s.extend(record(0x000A, &[]));
        s.extend(record(0x0809, &[0; 16]));
        for (r, c) in cells {
            s.extend(number(*r, *c));
        }
        s.extend(record(0x000A, &[]));
        std::io::Cursor::new(s)
    }

    #[test]
    fn two_cells_at_opposite_corners_of_a_sheet_are_a_sprawl_named_after_the_sheet() {
        let found = scan(stream(&[(0, 0), (65535, 255)])).unwrap();
        assert_eq!(found.sheet, "Answer");
        assert_eq!(found.area, "A1:IV65536");
        assert_eq!(found.cells, 65536 * 256);
    }

    #[test]
    fn a_questionnaires_cells_are_not_a_sprawl() {
        assert_eq!(scan(stream(&[(0, 0), (200, 30)])), None);
    }
}
