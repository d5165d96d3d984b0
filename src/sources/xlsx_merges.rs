//! The merged areas of an xlsx workbook's sheets, found by scanning each
//! sheet's XML for its `<mergeCells>` part instead of parsing the whole
//! sheet a second time, as calamine's merge lookup does (that second parse
//! cost as much as reading the cells). The XML is still inflated, but only
//! searched for bytes until the merged areas, which follow the cells.
//!
//! Best effort: a sheet this module cannot answer for (a workbook part
//! where calamine would look elsewhere, a relationship it cannot follow, a
//! part that is not UTF-8 or is cut short, the workbook's scan budget
//! spent) gets `None`, and the caller asks calamine for that sheet instead.

use std::collections::HashMap;
use std::io::Read;

use quick_xml::events::Event;

use super::input::{Input, InputReader};

/// A merged area: first row, first column, last row, last column (0-based).
pub type Area = (u32, u32, u32, u32);

/// The most bytes of sheet XML inflated for one workbook, all sheets
/// together: a workbook past it has its remaining sheets left to calamine.
const MAX_SCAN: u64 = 1 << 30;
/// The most bytes of a `<mergeCells>` part or of the workbook's own parts.
const MAX_PART: u64 = 32 << 20;

/// One xlsx workbook's sheet parts, scanned for merged areas on demand.
pub struct Merges {
    zip: zip::ZipArchive<InputReader>,
    /// Sheet name to its part in the zip.
    parts: HashMap<String, String>,
    /// Bytes of sheet XML still to be inflated.
    budget: u64,
}

impl Merges {
    /// The sheet parts of the xlsx `input`; `None` when the workbook's own
    /// parts cannot be read.
    pub fn open(input: &Input) -> Option<Merges> {
        let mut zip = zip::ZipArchive::new(input.reader().ok()?).ok()?;
        // The package's main part must be where this module looks for it;
        // a workbook kept elsewhere is left to calamine.
        let package = read_part(&mut zip, "_rels/.rels")?;
        let main = elements(&package, "Relationship")
            .0
            .iter()
            .find(|a| get(a, "Type").is_some_and(|t| t.ends_with("/officeDocument")))
            .and_then(|a| get(a, "Target"))
            .map(|t| t.trim_start_matches('/').to_owned())?;
        if main != "xl/workbook.xml" {
            return None;
        }
        let workbook = read_part(&mut zip, "xl/workbook.xml")?;
        let rels = read_part(&mut zip, "xl/_rels/workbook.xml.rels")?;
        let targets = relationships(&rels);
        let parts = sheets(&workbook)
            .into_iter()
            .filter_map(|(name, id)| {
                let target = targets.get(&id)?;
                let part = match target.strip_prefix('/') {
                    Some(absolute) => absolute.to_owned(),
                    None => format!("xl/{target}"),
                };
                Some((name, part))
            })
            .collect();
        Some(Merges {
            zip,
            parts,
            budget: MAX_SCAN,
        })
    }

    /// The merged areas of the sheet `name`, or `None` when this scan
    /// cannot tell them (see the module comment).
    pub fn of(&mut self, name: &str) -> Option<Vec<Area>> {
        let part = self.parts.get(name)?.clone();
        scan_sheet(&mut self.zip, &part, &mut self.budget)
    }
}

fn read_part(zip: &mut zip::ZipArchive<InputReader>, name: &str) -> Option<String> {
    let entry = zip.by_name(name).ok()?;
    let mut text = String::new();
    entry.take(MAX_PART).read_to_string(&mut text).ok()?;
    Some(text)
}

/// Each attribute of an element by local name (`r:id` is `id`).
fn attributes(e: &quick_xml::events::BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()?
                .into_owned();
            Some((a.key.local_name().as_ref().to_owned(), value))
        })
        .collect()
}

/// The elements named `local` in `xml`, as their attributes, and whether
/// the XML read to its end without an error.
fn elements(xml: &str, local: &str) -> (Vec<Vec<(String, String)>>, bool) {
    let mut reader = quick_xml::Reader::from_str(xml);
    // A `<mergeCells>` part is read from its start to the sheet's end: the
    // closing tags of what came before it are not there to match.
    reader.config_mut().check_end_names = false;
    reader.config_mut().allow_unmatched_ends = true;
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == local => out.push(attributes(&e)),
            Ok(Event::Eof) => return (out, true),
            Err(_) => return (out, false),
            _ => {}
        }
    }
}

fn get<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Sheet name and relationship id of each `<sheet>` of the workbook part.
fn sheets(workbook: &str) -> Vec<(String, String)> {
    elements(workbook, "sheet")
        .0
        .iter()
        .filter_map(|a| Some((get(a, "name")?.to_owned(), get(a, "id")?.to_owned())))
        .collect()
}

/// Relationship id to target.
fn relationships(rels: &str) -> HashMap<String, String> {
    elements(rels, "Relationship")
        .0
        .iter()
        .filter_map(|a| Some((get(a, "Id")?.to_owned(), get(a, "Target")?.to_owned())))
        .collect()
}

/// Where the `<mergeCells>` start tag (with any namespace prefix) begins in
/// `bytes`: the name preceded by `<` or by `<prefix:`, and followed by
/// white space, `>` or `/`. The same bytes in a cell's text or a formula
/// are not a tag (text cannot hold a raw `<`).
fn start_tag(bytes: &[u8], finder: &memchr::memmem::Finder<'_>) -> Option<usize> {
    let name = b"mergeCells".len();
    finder.find_iter(bytes).find_map(|at| {
        let after = *bytes.get(at + name)?;
        if !(after.is_ascii_whitespace() || after == b'>' || after == b'/') {
            return None;
        }
        let before = &bytes[..at];
        match before.last()? {
            b'<' => Some(at - 1),
            b':' => {
                let open = before.iter().rposition(|&b| b == b'<')?;
                let prefix = &before[open + 1..before.len() - 1];
                let is_name = !prefix.is_empty()
                    && prefix
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
                is_name.then_some(open)
            }
            _ => None,
        }
    })
}

/// The merged areas of one sheet part, or `None` when it cannot be told:
/// not read to its end within the budget, not UTF-8, or a `<mergeCells>`
/// part that does not parse to its end.
fn scan_sheet(zip: &mut zip::ZipArchive<InputReader>, part: &str, budget: &mut u64) -> Option<Vec<Area>> {
    let mut entry = zip.by_name(part).ok()?.take(*budget);
    let finder = memchr::memmem::Finder::new(b"mergeCells");
    let mut buf = vec![0u8; 1 << 16];
    // The last bytes of the previous chunk, so a tag cut by a chunk's end
    // is still found.
    const CARRY: usize = 64;
    let mut window: Vec<u8> = Vec::with_capacity((1 << 16) + CARRY);
    let mut first = true;
    loop {
        let n = entry.read(&mut buf).ok()?;
        *budget = budget.saturating_sub(n as u64);
        if n == 0 {
            // The whole part read without merged areas; a part cut at the
            // budget cannot be told.
            return (entry.limit() > 0).then(Vec::new);
        }
        if first {
            first = false;
            // UTF-16 (a byte-order mark, or a NUL in the first bytes): the
            // search below would never match.
            if buf[..n].starts_with(&[0xFF, 0xFE])
                || buf[..n].starts_with(&[0xFE, 0xFF])
                || buf[..n.min(64)].contains(&0)
            {
                return None;
            }
        }
        let keep = window.len().min(CARRY);
        window.drain(..window.len() - keep);
        window.extend_from_slice(&buf[..n]);
        if let Some(start) = start_tag(&window, &finder) {
            let mut tail = window[start..].to_vec();
            let mut rest = entry.take(MAX_PART);
            let read = rest.read_to_end(&mut tail).ok()?;
            *budget = budget.saturating_sub(read as u64);
            // Cut by the tail's limit or by the workbook's budget: the
            // merged areas read may not be all of them.
            if rest.limit() == 0 || rest.get_ref().limit() == 0 {
                return None;
            }
            return merge_refs(&tail);
        }
    }
}

/// The areas of the `<mergeCell ref="..">` elements in `xml`, which starts
/// at the `<mergeCells>` tag; `None` when it is not UTF-8 or does not parse
/// to its end.
fn merge_refs(xml: &[u8]) -> Option<Vec<Area>> {
    let text = std::str::from_utf8(xml).ok()?;
    let (found, whole) = elements(text, "mergeCell");
    whole.then(|| found.iter().filter_map(|a| area(get(a, "ref")?)).collect())
}

/// `B2:D4` (or a single `B2`) as an area.
fn area(reference: &str) -> Option<Area> {
    let (a, b) = reference.split_once(':').unwrap_or((reference, reference));
    let (r0, c0) = cell(a)?;
    let (r1, c1) = cell(b)?;
    Some((r0.min(r1), c0.min(c1), r0.max(r1), c0.max(c1)))
}

/// `B2` (or `$B$2`) as 0-based row and column.
fn cell(reference: &str) -> Option<(u32, u32)> {
    let s = reference.replace('$', "");
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = s.split_at(split);
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut col: u32 = 0;
    for ch in letters.chars() {
        let upper = ch.to_ascii_uppercase();
        if !upper.is_ascii_uppercase() {
            return None;
        }
        col = col * 26 + (upper as u32 - 'A' as u32 + 1);
    }
    let row: u32 = digits.parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_reference_is_an_area() {
        assert_eq!(area("B2:D4"), Some((1, 1, 3, 3)));
        assert_eq!(area("$A$1:$AA$10"), Some((0, 0, 9, 26)));
        assert_eq!(area("C3"), Some((2, 2, 2, 2)));
        assert_eq!(area("2:4"), None);
    }

    #[test]
    fn merge_cells_are_read_with_or_without_a_namespace_prefix() {
        let xml =
            br#"<mergeCells count="2"><mergeCell ref="A1:B1"/><x:mergeCell ref="C2:C5"/></mergeCells></worksheet>"#;
        assert_eq!(merge_refs(xml), Some(vec![(0, 0, 0, 1), (1, 2, 4, 2)]));
    }

    #[test]
    fn merge_cells_in_a_cells_text_is_not_the_tag() {
        let xml = br#"<sheetData><row><c t="inlineStr"><is><t>see mergeCells and &lt;mergeCells/&gt;</t></is></c></row></sheetData><mergeCells count="1"><mergeCell ref="B2:C3"/></mergeCells></worksheet>"#;
        let finder = memchr::memmem::Finder::new(b"mergeCells");
        let at = start_tag(xml, &finder).unwrap();
        assert!(xml[at..].starts_with(b"<mergeCells count"));
        assert_eq!(merge_refs(&xml[at..]), Some(vec![(1, 1, 2, 2)]));
        let prefixed =
            b"<x:c><x:v>1</x:v></x:c></x:sheetData><x:mergeCells><x:mergeCell ref=\"A1:A2\"/></x:mergeCells>";
        let at = start_tag(prefixed, &finder).unwrap();
        assert!(prefixed[at..].starts_with(b"<x:mergeCells>"));
    }

    #[test]
    fn a_merge_part_that_does_not_parse_to_its_end_is_not_told() {
        assert_eq!(
            merge_refs(br#"<mergeCells><mergeCell ref="A1:B1"/><mergeCell ref="#),
            None
        );
    }

    #[test]
    fn merged_areas_match_the_workbook_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let f = rust_xlsxwriter::Format::new();
        wb.add_worksheet().set_name("Plain").unwrap().write(0, 0, "x").unwrap();
        let ws = wb.add_worksheet().set_name("Merged").unwrap();
        for r in 0..5000 {
            ws.write(r + 2, 0, "filler text long enough to span several chunks")
                .unwrap();
        }
        ws.merge_range(0, 0, 1, 0, "Country", &f).unwrap();
        ws.merge_range(0, 1, 0, 3, "IOR", &f).unwrap();
        wb.save(&path).unwrap();
        let mut got = Merges::open(&Input::open(&path).unwrap()).unwrap();
        assert_eq!(got.of("Plain"), Some(vec![]));
        let mut merged = got.of("Merged").unwrap();
        merged.sort();
        assert_eq!(merged, [(0, 0, 1, 0), (0, 1, 0, 3)]);
    }

    #[test]
    fn the_scan_finds_what_calamine_finds_in_every_corpus_workbook() {
        use calamine::Reader;
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/calamine-tests");
        let mut compared = 0;
        for entry in std::fs::read_dir(&corpus).unwrap() {
            let path = entry.unwrap().path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "xlsx" | "xlsm") {
                continue;
            }
            let Ok(mut wb) = calamine::open_workbook::<calamine::Xlsx<_>, _>(&path) else {
                continue;
            };
            let Some(mut scanned) = Merges::open(&Input::open(&path).unwrap()) else {
                continue;
            };
            for name in wb.sheet_names() {
                let Some(got) = scanned.of(&name) else { continue };
                let Ok(theirs) = wb.merge_cells_by_sheet_name(&name) else {
                    continue;
                };
                let mut want: Vec<Area> = theirs
                    .iter()
                    .map(|d| (d.start.0, d.start.1, d.end.0, d.end.1))
                    .collect();
                let mut got = got;
                want.sort();
                got.sort();
                assert_eq!(got, want, "{} sheet '{name}'", path.display());
                compared += 1;
            }
        }
        assert!(compared > 50, "only {compared} sheets compared");
    }
}
