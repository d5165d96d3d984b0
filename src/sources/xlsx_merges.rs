//! The merged areas of an xlsx workbook's sheets, found by scanning each
//! sheet's XML for its `<mergeCells>` part instead of parsing the whole
//! sheet a second time, as calamine's merge lookup does (that second parse
//! cost as much as reading the cells). The XML is still inflated, but only
//! searched for bytes until the merged areas, which follow the cells.
//!
//! Best effort: a sheet this module cannot place (a workbook part where
//! calamine would look elsewhere, a relationship it cannot follow) is left
//! out of the answer, and the caller asks calamine for that sheet instead.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use quick_xml::events::Event;

/// A merged area: first row, first column, last row, last column (0-based).
pub type Area = (u32, u32, u32, u32);

/// The most bytes of one sheet's XML searched: past this, the sheet is left
/// to calamine (whose own cell limit has already bounded it).
const MAX_SCAN: u64 = 1 << 30;
/// The most bytes of a `<mergeCells>` part or of the workbook's own parts.
const MAX_PART: u64 = 32 << 20;

/// The merged areas of each worksheet of the xlsx at `path` that could be
/// placed, by sheet name; `None` when the workbook's parts cannot be read.
pub fn merged_areas(path: &Path) -> Option<HashMap<String, Vec<Area>>> {
    let mut zip = zip::ZipArchive::new(BufReader::new(File::open(path).ok()?)).ok()?;
    let workbook = read_part(&mut zip, "xl/workbook.xml")?;
    let rels = read_part(&mut zip, "xl/_rels/workbook.xml.rels")?;
    let targets = relationships(&rels);
    let mut out = HashMap::new();
    for (name, id) in sheets(&workbook) {
        let Some(target) = targets.get(&id) else { continue };
        let part = match target.strip_prefix('/') {
            Some(absolute) => absolute.to_owned(),
            None => format!("xl/{target}"),
        };
        if let Some(areas) = scan_sheet(&mut zip, &part) {
            out.insert(name, areas);
        }
    }
    Some(out)
}

fn read_part(zip: &mut zip::ZipArchive<BufReader<File>>, name: &str) -> Option<String> {
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

/// The elements named `local` in `xml`, as their attributes.
fn elements(xml: &str, local: &str) -> Vec<Vec<(String, String)>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    // A `<mergeCells>` part is read from its start to the sheet's end: the
    // closing tags of what came before it are not there to match.
    reader.config_mut().check_end_names = false;
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == local => out.push(attributes(&e)),
            Ok(Event::Eof) | Err(_) => return out,
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
        .iter()
        .filter_map(|a| Some((get(a, "name")?.to_owned(), get(a, "id")?.to_owned())))
        .collect()
}

/// Relationship id to target.
fn relationships(rels: &str) -> HashMap<String, String> {
    elements(rels, "Relationship")
        .iter()
        .filter_map(|a| Some((get(a, "Id")?.to_owned(), get(a, "Target")?.to_owned())))
        .collect()
}

/// The merged areas of one sheet part, or `None` when it cannot be read to
/// its end within [`MAX_SCAN`].
fn scan_sheet(zip: &mut zip::ZipArchive<BufReader<File>>, part: &str) -> Option<Vec<Area>> {
    let mut entry = zip.by_name(part).ok()?.take(MAX_SCAN);
    let finder = memchr::memmem::Finder::new(b"mergeCells");
    let mut buf = vec![0u8; 1 << 16];
    // The last bytes of the previous chunk, so a name cut by a chunk's end
    // is still found.
    let mut window: Vec<u8> = Vec::with_capacity((1 << 16) + 16);
    let mut scanned: u64 = 0;
    loop {
        let n = entry.read(&mut buf).ok()?;
        if n == 0 {
            // The whole part without merged areas (or cut at MAX_SCAN).
            return (scanned < MAX_SCAN).then(Vec::new);
        }
        scanned += n as u64;
        let keep = window.len().min(16);
        window.drain(..window.len() - keep);
        window.extend_from_slice(&buf[..n]);
        if let Some(at) = finder.find(&window) {
            let start = window[..at].iter().rposition(|&b| b == b'<')?;
            let mut tail = window[start..].to_vec();
            entry.take(MAX_PART).read_to_end(&mut tail).ok()?;
            return Some(merge_refs(&tail));
        }
    }
}

/// The areas of the `<mergeCell ref="..">` elements in `xml`.
fn merge_refs(xml: &[u8]) -> Vec<Area> {
    let text = String::from_utf8_lossy(xml);
    elements(&text, "mergeCell")
        .iter()
        .filter_map(|a| area(get(a, "ref")?))
        .collect()
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
        assert_eq!(merge_refs(xml), [(0, 0, 0, 1), (1, 2, 4, 2)]);
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
        let got = merged_areas(&path).unwrap();
        assert_eq!(got["Plain"], []);
        let mut merged = got["Merged"].clone();
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
            let Some(scanned) = merged_areas(&path) else { continue };
            for name in wb.sheet_names() {
                let Some(got) = scanned.get(&name) else { continue };
                let Ok(theirs) = wb.merge_cells_by_sheet_name(&name) else {
                    continue;
                };
                let mut want: Vec<Area> = theirs
                    .iter()
                    .map(|d| (d.start.0, d.start.1, d.end.0, d.end.1))
                    .collect();
                let mut got = got.clone();
                want.sort();
                got.sort();
                assert_eq!(got, want, "{} sheet '{name}'", path.display());
                compared += 1;
            }
        }
        assert!(compared > 50, "only {compared} sheets compared");
    }
}
