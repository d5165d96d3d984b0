//! The provider's package as the patcher sees it: its zip entries, its
//! parts read as text, relationships, and where each sheet lives. Part
//! names are matched without case, as the Open Packaging Conventions say,
//! and written back exactly as the provider's file spells them.

use std::collections::HashMap;
use std::io::{Read, Seek};

use quick_xml::events::{BytesStart, Event};

use super::Refused;

/// The most bytes of a part read whole (workbook, styles, relationships,
/// comments). Worksheets are streamed and have no such limit.
pub const MAX_PART: u64 = 64 << 20;

/// The spreadsheet namespace of transitional Open XML, which the patcher
/// writes; strict Open XML uses another and is left to the rebuilder.
pub const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
/// The relationships namespace of transitional Open XML.
pub const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
/// Relationship types, transitional.
pub const REL_WORKSHEET: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet";
/// Comments part relationship.
pub const REL_COMMENTS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments";
/// VML drawing relationship.
pub const REL_VML: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing";
/// Table part relationship.
pub const REL_TABLE: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table";

/// One relationship of a `.rels` part.
#[derive(Debug, Clone, PartialEq)]
pub struct Rel {
    /// `rId3`.
    pub id: String,
    /// The relationship type.
    pub kind: String,
    /// The target as written.
    pub target: String,
    /// True for `TargetMode="External"`.
    pub external: bool,
}

/// A worksheet of the workbook.
#[derive(Debug, Clone)]
pub struct SheetPart {
    /// Its name in the workbook.
    pub name: String,
    /// Its place among all the workbook's sheets (chart sheets included),
    /// which sheet-local defined names refer to.
    pub index: usize,
    /// Its part, as the zip spells it.
    pub part: String,
}

/// The provider's zip and what the patcher needs to know of it.
pub struct Package<R: Read + Seek> {
    /// The zip.
    pub zip: zip::ZipArchive<R>,
    /// Every entry name, lower-cased, to its spelling in the zip.
    names: HashMap<String, String>,
    /// The worksheets, in workbook order.
    pub sheets: Vec<SheetPart>,
    /// Every sheet's name (chart sheets too), in workbook order.
    pub sheet_names: Vec<String>,
    /// The workbook part's relationships.
    pub workbook_rels: Vec<Rel>,
    /// `xl/workbook.xml` and its relationships part as read, for the
    /// patch to edit without reading them again.
    pub workbook_xml: String,
    /// See `workbook_xml`.
    pub workbook_rels_xml: String,
}

impl<R: Read + Seek> Package<R> {
    /// Opens the package and finds its workbook and worksheets; refuses a
    /// package the patcher does not understand.
    pub fn open(reader: R) -> Result<Package<R>, Refused> {
        let zip = zip::ZipArchive::new(reader).map_err(|e| Refused::new(format!("not a readable zip package: {e}")))?;
        let names = zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| (n.to_lowercase(), n.into_owned())))
            .collect();
        let mut package = Package {
            zip,
            names,
            sheets: Vec::new(),
            sheet_names: Vec::new(),
            workbook_rels: Vec::new(),
            workbook_xml: String::new(),
            workbook_rels_xml: String::new(),
        };
        let root = parse_rels(&package.read("_rels/.rels")?)?;
        let main = root
            .iter()
            .find(|r| r.kind.ends_with("/officeDocument"))
            .map(|r| r.target.trim_start_matches('/').to_owned())
            .ok_or_else(|| Refused::new("the package names no workbook part"))?;
        if !main.eq_ignore_ascii_case("xl/workbook.xml") {
            return Err(Refused::new(format!(
                "the workbook part is '{main}', not xl/workbook.xml"
            )));
        }
        package.workbook_rels_xml = package.read("xl/_rels/workbook.xml.rels")?;
        package.workbook_rels = parse_rels(&package.workbook_rels_xml)?;
        package.workbook_xml = package.read("xl/workbook.xml")?;
        (package.sheets, package.sheet_names) =
            sheet_parts(&package.workbook_xml, &package.workbook_rels, &package.names)?;
        Ok(package)
    }

    /// The zip's spelling of `part`, if the package has it.
    pub fn entry_name(&self, part: &str) -> Option<&str> {
        self.names.get(&part.to_lowercase()).map(String::as_str)
    }

    /// Whether the package has `part`.
    pub fn has(&self, part: &str) -> bool {
        self.entry_name(part).is_some()
    }

    /// A part read whole as text, refused when missing, too large or not
    /// UTF-8.
    pub fn read(&mut self, part: &str) -> Result<String, Refused> {
        let name = self
            .entry_name(part)
            .ok_or_else(|| Refused::new(format!("the package has no part {part}")))?
            .to_owned();
        let entry = self
            .zip
            .by_name(&name)
            .map_err(|e| Refused::new(format!("cannot read {name}: {e}")))?;
        if entry.size() > MAX_PART {
            return Err(Refused::new(format!("{name} is larger than {} MiB", MAX_PART >> 20)));
        }
        let mut text = String::new();
        entry
            .take(MAX_PART)
            .read_to_string(&mut text)
            .map_err(|e| Refused::new(format!("cannot read {name}: {e}")))?;
        Ok(text)
    }

    /// The part a relationship of `source` points to.
    pub fn target_of(&self, source: &str, rel: &Rel) -> String {
        resolve(source, &rel.target)
    }

    /// The `.rels` part of `part` as read (`None` when it has none) and
    /// its relationships.
    pub fn rels_of(&mut self, part: &str) -> Result<(Option<String>, Vec<Rel>), Refused> {
        let path = rels_path(part);
        if !self.has(&path) {
            return Ok((None, Vec::new()));
        }
        let xml = self.read(&path)?;
        let rels = parse_rels(&xml)?;
        Ok((Some(xml), rels))
    }

    /// A part name not yet in the package: `stem{n}.ext` with the smallest
    /// free `n`, minding names already `taken` by this patch.
    pub fn free_name(&self, stem: &str, ext: &str, taken: &[String]) -> String {
        (1..)
            .map(|n| format!("{stem}{n}.{ext}"))
            .find(|name| !self.has(name) && !taken.iter().any(|t| t.eq_ignore_ascii_case(name)))
            .unwrap_or_else(|| format!("{stem}.{ext}"))
    }
}

/// The `.rels` part of `part`: `xl/worksheets/sheet1.xml` ->
/// `xl/worksheets/_rels/sheet1.xml.rels`.
pub fn rels_path(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

/// A relationship target resolved against its source part's folder.
pub fn resolve(source: &str, target: &str) -> String {
    if let Some(absolute) = target.strip_prefix('/') {
        return absolute.to_owned();
    }
    let mut parts: Vec<&str> = source
        .rsplit_once('/')
        .map(|(d, _)| d.split('/').collect())
        .unwrap_or_default();
    for piece in target.split('/') {
        match piece {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The target of `part` written relative to `source`'s folder.
pub fn relative(source: &str, part: &str) -> String {
    let from: Vec<&str> = source
        .rsplit_once('/')
        .map(|(d, _)| d.split('/').collect())
        .unwrap_or_default();
    let to: Vec<&str> = part.split('/').collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out: Vec<&str> = vec![".."; from.len() - common];
    out.extend(&to[common..]);
    out.join("/")
}

/// An attribute's raw (still escaped) value, by local name.
pub fn attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .map(|a| a.value.into_owned())
}

/// The start tag `e` with the attributes `set` given these raw (escaped)
/// values, the others kept as written.
pub fn retag(e: &BytesStart<'_>, set: &[(&str, &str)]) -> BytesStart<'static> {
    let name = e.name().as_ref().to_owned();
    let mut content = name.clone();
    for a in e.attributes().with_checks(false).flatten() {
        if set.iter().any(|(k, _)| *k == a.key.as_ref()) {
            continue;
        }
        content.push_str(&format!(" {}=\"{}\"", a.key.as_ref(), a.value.replace('"', "&quot;")));
    }
    for (k, v) in set {
        content.push_str(&format!(" {k}=\"{v}\""));
    }
    BytesStart::from_content(content, name.len())
}

/// Reads the relationships of a `.rels` part.
pub fn parse_rels(xml: &str) -> Result<Vec<Rel>, Refused> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut rels = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "Relationship" => {
                rels.push(Rel {
                    id: attr(&e, "Id").unwrap_or_default(),
                    kind: attr(&e, "Type").unwrap_or_default(),
                    target: unescape(&attr(&e, "Target").unwrap_or_default()),
                    external: attr(&e, "TargetMode").is_some_and(|m| m == "External"),
                });
            }
            Ok(Event::Eof) => return Ok(rels),
            Ok(_) => {}
            Err(e) => return Err(Refused::new(format!("a relationships part does not parse: {e}"))),
        }
    }
}

/// XML text unescaped, or as written when it cannot be.
pub fn unescape(raw: &str) -> String {
    quick_xml::escape::unescape(raw)
        .map(|s| s.into_owned())
        .unwrap_or_else(|_| raw.to_owned())
}

/// Text escaped for XML content or attributes, with the control characters
/// XML 1.0 cannot hold written as Excel's `_xHHHH_`.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if is_plain(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    push_escaped(&mut out, text);
    std::borrow::Cow::Owned(out)
}

/// True when `text` needs no escaping: most of what iorready writes.
fn is_plain(text: &str) -> bool {
    // 0xEF starts U+FFFE and U+FFFF (and other characters, which then take
    // the slow path harmlessly).
    let plain =
        |b: &u8| !matches!(b, b'&' | b'<' | b'>' | b'"' | b'\r' | 0xEF) && (*b >= 0x20 || *b == b'\t' || *b == b'\n');
    text.as_bytes().iter().all(plain)
}

/// Appends `text` escaped (see [`escape`]) to `out`.
pub fn push_escaped(out: &mut String, text: &str) {
    if is_plain(text) {
        out.push_str(text);
        return;
    }
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' => out.push(ch),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                use std::fmt::Write;
                let _ = write!(out, "_x{:04X}_", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// A workbook relationship id not used yet.
pub fn free_rel_id(rels: &[Rel], taken: &[String]) -> String {
    (1..)
        .map(|n| format!("rIdIor{n}"))
        .find(|id| !rels.iter().any(|r| &r.id == id) && !taken.contains(id))
        .unwrap_or_else(|| "rIdIor".to_owned())
}

/// The worksheets named in `workbook.xml`, with their parts; refuses strict
/// Open XML and sheets whose part is missing.
fn sheet_parts(
    workbook: &str,
    rels: &[Rel],
    names: &HashMap<String, String>,
) -> Result<(Vec<SheetPart>, Vec<String>), Refused> {
    let mut reader = quick_xml::Reader::from_str(workbook);
    let mut sheets = Vec::new();
    let mut all = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "workbook" => {
                let strict = e
                    .attributes()
                    .flatten()
                    .any(|a| a.value.contains("purl.oclc.org/ooxml"));
                if strict {
                    return Err(Refused::new("the workbook is saved as strict Open XML"));
                }
            }
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "sheet" => {
                let name = unescape(&attr(&e, "name").unwrap_or_default());
                let index = all.len();
                all.push(name.clone());
                let id = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == "id" && a.key.prefix().is_some())
                    .map(|a| a.value.into_owned())
                    .unwrap_or_default();
                let Some(rel) = rels.iter().find(|r| r.id == id) else {
                    return Err(Refused::new(format!("sheet '{name}' has no relationship {id}")));
                };
                if rel.kind != REL_WORKSHEET {
                    // Chart sheets and dialog sheets are copied as they are.
                    continue;
                }
                let part = resolve("xl/workbook.xml", &rel.target);
                let Some(spelled) = names.get(&part.to_lowercase()) else {
                    return Err(Refused::new(format!("sheet '{name}' has no part {part}")));
                };
                sheets.push(SheetPart {
                    name,
                    index,
                    part: spelled.clone(),
                });
            }
            Ok(Event::Eof) => return Ok((sheets, all)),
            Ok(_) => {}
            Err(e) => return Err(Refused::new(format!("xl/workbook.xml does not parse: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_against_their_source_folder() {
        assert_eq!(
            resolve("xl/workbook.xml", "worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            resolve("xl/worksheets/sheet1.xml", "../comments1.xml"),
            "xl/comments1.xml"
        );
        assert_eq!(
            resolve("xl/workbook.xml", "/xl/worksheets/s.xml"),
            "xl/worksheets/s.xml"
        );
    }

    #[test]
    fn targets_are_written_relative_to_their_source() {
        assert_eq!(
            relative("xl/worksheets/sheet1.xml", "xl/comments1.xml"),
            "../comments1.xml"
        );
        assert_eq!(
            relative("xl/workbook.xml", "xl/worksheets/sheet9.xml"),
            "worksheets/sheet9.xml"
        );
    }

    #[test]
    fn a_part_s_relationships_live_beside_it() {
        assert_eq!(
            rels_path("xl/worksheets/sheet1.xml"),
            "xl/worksheets/_rels/sheet1.xml.rels"
        );
    }

    #[test]
    fn control_characters_are_written_as_excel_escapes() {
        assert_eq!(escape("a<b & \u{1b}c"), "a&lt;b &amp; _x001B_c");
    }
}
