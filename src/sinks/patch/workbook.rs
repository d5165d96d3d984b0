//! The package-level parts a patch touches: `xl/workbook.xml` (iorready's
//! sheets after the provider's, whose order, state and defined names stay;
//! print titles), `[Content_Types].xml` and relationship parts.

use std::fmt::Write;
use std::sync::LazyLock;

use quick_xml::events::{BytesStart, BytesText, Event};

use super::package::{attr, escape, retag, Rel, REL_NS};
use super::styles::write_raw;
use super::Refused;
use crate::sinks::annotation::AddedColumns;

/// The children of `<workbook>` in CT_Workbook order (up to where
/// defined names go and what may follow them).
const AFTER_NAMES: [&str; 11] = [
    "calcPr",
    "oleSize",
    "customWorkbookViews",
    "pivotCaches",
    "smartTagPr",
    "smartTagTypes",
    "webPublishing",
    "fileRecoveryPr",
    "webPublishObjects",
    "extLst",
    "fileVersion_never",
];

/// A defined name iorready adds (print titles, a filter's range).
#[derive(Debug, Clone)]
pub struct Name {
    /// `_xlnm.Print_Titles`.
    pub name: &'static str,
    /// The sheet's position in the workbook.
    pub sheet: usize,
    /// The formula, unescaped.
    pub value: String,
    /// Hidden from the name manager.
    pub hidden: bool,
}

/// A sheet reference in a formula: `'Sheet name'`.
pub fn quoted_sheet(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

/// `xl/workbook.xml` with `sheets` (name, relationship id) appended and
/// `names` added where the provider has none of that name for the sheet.
pub fn patch_workbook(
    xml: &str,
    sheets: &[(String, String)],
    names: &[Name],
    widen: Option<(usize, AddedColumns)>,
) -> Result<String, Refused> {
    let bad = |e: &dyn std::fmt::Display| Refused::new(format!("xl/workbook.xml does not parse: {e}"));
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut w = quick_xml::Writer::new(Vec::with_capacity(xml.len() + 2048));
    let (mut p, mut r) = (String::new(), String::from("r"));
    let mut depth = 0usize;
    let mut max_id = 0u32;
    let mut existing: Vec<(String, Option<usize>)> = Vec::new();
    let mut names_done = false;
    // Inside the print area or filter range of the sheet whose table gains
    // the verdict columns: its area is widened over them.
    let mut widening = false;
    loop {
        let event = reader.read_event().map_err(|e| bad(&e))?;
        let io = |e: std::io::Error| Refused::new(format!("cannot write the workbook: {e}"));
        match &event {
            Event::Start(e) | Event::Empty(e) if depth == 0 => {
                let (tag, prefix, rel) = root(e);
                (p, r) = (prefix, rel);
                w.write_event(if matches!(event, Event::Start(_)) {
                    Event::Start(tag)
                } else {
                    Event::Empty(tag)
                })
                .map_err(io)?;
                depth += usize::from(matches!(event, Event::Start(_)));
                continue;
            }
            Event::Start(e) | Event::Empty(e) => {
                let local = e.local_name().as_ref().to_owned();
                if depth == 1 && !names_done && AFTER_NAMES.contains(&local.as_str()) {
                    write_raw(
                        &mut w,
                        &format!("<{p}definedNames>{}</{p}definedNames>", names_xml(&p, names, &existing)),
                    )
                    .map_err(io)?;
                    names_done = true;
                }
                match local.as_str() {
                    "sheet" => max_id = max_id.max(attr(e, "sheetId").and_then(|v| v.parse().ok()).unwrap_or(0)),
                    "definedName" => {
                        let (name, sheet) = (
                            attr(e, "name").unwrap_or_default(),
                            attr(e, "localSheetId").and_then(|v| v.parse::<usize>().ok()),
                        );
                        widening = matches!(name.as_str(), "_xlnm.Print_Area" | "_xlnm._FilterDatabase")
                            && widen.is_some_and(|(i, _)| sheet == Some(i));
                        existing.push((name, sheet));
                    }
                    "definedNames" if matches!(event, Event::Empty(_)) => {
                        write_raw(
                            &mut w,
                            &format!("<{p}definedNames>{}</{p}definedNames>", names_xml(&p, names, &existing)),
                        )
                        .map_err(io)?;
                        names_done = true;
                        continue;
                    }
                    _ => {}
                }
            }
            Event::End(e) if depth == 2 => match e.local_name().as_ref() {
                "sheets" => write_raw(&mut w, &sheets_xml(&p, &r, sheets, max_id)).map_err(io)?,
                "definedNames" => {
                    write_raw(&mut w, &names_xml(&p, names, &existing)).map_err(io)?;
                    names_done = true;
                }
                _ => {}
            },
            Event::End(_) if depth == 1 && !names_done => {
                write_raw(
                    &mut w,
                    &format!("<{p}definedNames>{}</{p}definedNames>", names_xml(&p, names, &existing)),
                )
                .map_err(io)?;
            }
            Event::Text(t) if widening => {
                if let Some(area) = widen.and_then(|(_, cols)| widened_area(&t.clone().into_inner(), cols)) {
                    w.write_event(Event::Text(BytesText::from_escaped(area))).map_err(io)?;
                    widening = false;
                    continue;
                }
            }
            Event::End(_) => widening = false,
            Event::Eof => break,
            _ => {}
        }
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        w.write_event(event).map_err(io)?;
    }
    String::from_utf8(w.into_inner()).map_err(|e| bad(&e))
}

/// A sheet's single area (`'Countries'!$A$1:$S$13`) widened over the
/// verdict columns when it ends at the answer table's last column.
fn widened_area(value: &str, cols: AddedColumns) -> Option<String> {
    let (sheet, area) = value.rsplit_once('!')?;
    if area.contains(',') {
        return None;
    }
    let grown = super::worksheet::widened(area, cols)?;
    let (a, b) = grown.split_once(':')?;
    let absolute = |cell: &str| {
        let split = cell.find(|c: char| c.is_ascii_digit()).unwrap_or(cell.len());
        format!("${}${}", &cell[..split], &cell[split..])
    };
    Some(format!("{sheet}!{}:{}", absolute(a), absolute(b)))
}

/// The root tag, with the relationships namespace declared if it was not,
/// its element prefix and the relationships prefix.
fn root(e: &BytesStart<'_>) -> (BytesStart<'static>, String, String) {
    let p = e
        .name()
        .as_ref()
        .rsplit_once(':')
        .map(|(p, _)| format!("{p}:"))
        .unwrap_or_default();
    let rel = e
        .attributes()
        .flatten()
        .find(|a| a.value == REL_NS)
        .and_then(|a| a.key.as_ref().strip_prefix("xmlns:").map(str::to_owned));
    match rel {
        Some(r) => (e.clone().into_owned(), p, r),
        None => (retag(e, &[("xmlns:ior_r", REL_NS)]), p, "ior_r".to_owned()),
    }
}

fn sheets_xml(p: &str, r: &str, sheets: &[(String, String)], max_id: u32) -> String {
    let mut xml = String::new();
    for (i, (name, id)) in sheets.iter().enumerate() {
        let _ = write!(
            xml,
            "<{p}sheet name=\"{}\" sheetId=\"{}\" {r}:id=\"{id}\"/>",
            escape(name),
            max_id + 1 + i as u32
        );
    }
    xml
}

fn names_xml(p: &str, names: &[Name], existing: &[(String, Option<usize>)]) -> String {
    let mut xml = String::new();
    for n in names {
        if existing
            .iter()
            .any(|(name, sheet)| name == n.name && *sheet == Some(n.sheet))
        {
            continue;
        }
        let hidden = if n.hidden { " hidden=\"1\"" } else { "" };
        let _ = write!(
            xml,
            "<{p}definedName name=\"{}\" localSheetId=\"{}\"{hidden}>{}</{p}definedName>",
            n.name,
            n.sheet,
            escape(&n.value)
        );
    }
    xml
}

/// `[Content_Types].xml` with overrides for new parts and a default for
/// VML drawings when it has none.
pub fn patch_content_types(xml: &str, overrides: &[(String, &str)], needs_vml: bool) -> Result<String, Refused> {
    let end = xml
        .rfind("</Types>")
        .ok_or_else(|| Refused::new("[Content_Types].xml has no closing </Types>"))?;
    let mut add = String::new();
    let lower = xml.to_ascii_lowercase();
    if needs_vml && !lower.contains("extension=\"vml\"") {
        add.push_str(
            "<Default Extension=\"vml\" ContentType=\"application/vnd.openxmlformats-officedocument.vmlDrawing\"/>",
        );
    }
    for (part, kind) in overrides {
        let _ = write!(add, "<Override PartName=\"/{}\" ContentType=\"{kind}\"/>", escape(part));
    }
    Ok(format!("{}{add}{}", &xml[..end], &xml[end..]))
}

/// A relationships part with `rels` added (a new part when `xml` is
/// `None`).
pub fn patch_rels(xml: Option<&str>, rels: &[Rel]) -> Result<String, Refused> {
    let mut add = String::new();
    for rel in rels {
        let _ = write!(
            add,
            "<Relationship Id=\"{}\" Type=\"{}\" Target=\"{}\"/>",
            rel.id,
            rel.kind,
            escape(&rel.target)
        );
    }
    match xml {
        None => Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">{add}</Relationships>"
        )),
        Some(xml) => {
            let end = xml
                .rfind("</Relationships>")
                .ok_or_else(|| Refused::new("a relationships part has no closing </Relationships>"))?;
            Ok(format!("{}{add}{}", &xml[..end], &xml[end..]))
        }
    }
}

/// `docProps/app.xml` listing the new sheets after the provider's
/// worksheets (the count in HeadingPairs, the names in TitlesOfParts), or
/// `None` when it is not laid out as Excel writes it (it is only a summary:
/// it is then left as it was).
pub fn patch_app(xml: &str, sheets: &[String], worksheets: usize) -> Option<String> {
    static PAIRS: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
        regex::Regex::new(r"<vt:lpstr>([^<]*)</vt:lpstr>\s*</vt:variant>\s*<vt:variant>\s*<vt:i4>(\d+)</vt:i4>").ok()
    });
    static SIZE: LazyLock<Option<regex::Regex>> =
        LazyLock::new(|| regex::Regex::new(r#"<vt:vector size="(\d+)""#).ok());
    let (pairs, size) = (PAIRS.as_ref()?, SIZE.as_ref()?);
    let heading = xml.find("<HeadingPairs>")?..xml.find("</HeadingPairs>")?;
    let mut offset = 0usize;
    let mut found = None;
    // The worksheets' heading is "Worksheets" in English and translated
    // elsewhere ("Feuilles de calcul"): else it is the first heading that
    // counts as many parts as the workbook has worksheets, else the first
    // (Excel lists worksheets first; a very hidden sheet is not counted).
    let headings: Vec<(String, usize, std::ops::Range<usize>)> = pairs
        .captures_iter(&xml[heading.clone()])
        .filter_map(|c| {
            let count = c.get(2)?;
            let range = heading.start + count.start()..heading.start + count.end();
            Some((c[1].to_owned(), count.as_str().parse().ok()?, range))
        })
        .collect();
    let at = headings
        .iter()
        .position(|(name, _, _)| name == "Worksheets")
        .or_else(|| headings.iter().position(|(_, n, _)| *n == worksheets))
        .or_else(|| (!headings.is_empty()).then_some(0))?;
    for (i, (_, n, range)) in headings.iter().enumerate() {
        if i == at {
            found = Some((range.clone(), *n));
            break;
        }
        offset += n;
    }
    let (count_at, n) = found?;
    let titles = xml.find("<TitlesOfParts>")?;
    let size_cap = size.captures(&xml[titles..])?;
    let size_at = size_cap.get(1)?;
    let total: usize = size_at.as_str().parse().ok()?;
    let size_range = titles + size_at.start()..titles + size_at.end();
    let after = offset + n;
    let insert_at = if after == 0 {
        let vector = titles + size_cap.get(0)?.start();
        vector + xml[vector..].find('>')? + 1
    } else {
        let mut at = titles;
        for _ in 0..after {
            at += xml[at..].find("</vt:lpstr>")? + "</vt:lpstr>".len();
        }
        at
    };
    let names: String = sheets
        .iter()
        .map(|s| format!("<vt:lpstr>{}</vt:lpstr>", escape(s)))
        .collect();
    let mut out = String::with_capacity(xml.len() + names.len());
    out.push_str(&xml[..count_at.start]);
    out.push_str(&(n + sheets.len()).to_string());
    out.push_str(&xml[count_at.end..size_range.start]);
    out.push_str(&(total + sheets.len()).to_string());
    out.push_str(&xml[size_range.end..insert_at]);
    out.push_str(&names);
    out.push_str(&xml[insert_at..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WB: &str = r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><bookViews><workbookView/></bookViews><sheets><sheet name="Countries" sheetId="4" r:id="rId1" state="visible"/><sheet name="Lists" sheetId="2" r:id="rId2" state="hidden"/></sheets><calcPr calcId="1"/></workbook>"#;

    #[test]
    fn the_document_summary_lists_the_new_sheets_after_the_worksheets() {
        let app = r#"<Properties><HeadingPairs><vt:vector size="4" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>2</vt:i4></vt:variant><vt:variant><vt:lpstr>Named Ranges</vt:lpstr></vt:variant><vt:variant><vt:i4>1</vt:i4></vt:variant></vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="3" baseType="lpstr"><vt:lpstr>A</vt:lpstr><vt:lpstr>B</vt:lpstr><vt:lpstr>A!Print_Area</vt:lpstr></vt:vector></TitlesOfParts></Properties>"#;
        let out = patch_app(app, &["Readiness".into(), "Legend".into()], 2).unwrap();
        assert!(out.contains("<vt:i4>4</vt:i4>"), "{out}");
        assert!(out.contains(r#"<vt:vector size="5" baseType="lpstr"><vt:lpstr>A</vt:lpstr><vt:lpstr>B</vt:lpstr><vt:lpstr>Readiness</vt:lpstr><vt:lpstr>Legend</vt:lpstr><vt:lpstr>A!Print_Area"#), "{out}");
    }

    #[test]
    fn a_translated_worksheets_heading_is_found_by_its_count() {
        let app = r#"<Properties><HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Feuilles de calcul</vt:lpstr></vt:variant><vt:variant><vt:i4>1</vt:i4></vt:variant></vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="1" baseType="lpstr"><vt:lpstr>Feuil1</vt:lpstr></vt:vector></TitlesOfParts></Properties>"#;
        let out = patch_app(app, &["Readiness".into()], 1).unwrap();
        assert!(out.contains("<vt:i4>2</vt:i4>"), "{out}");
        assert!(
            out.contains("<vt:lpstr>Feuil1</vt:lpstr><vt:lpstr>Readiness</vt:lpstr>"),
            "{out}"
        );
    }

    #[test]
    fn the_answer_sheet_s_print_area_is_widened_over_the_verdicts() {
        let wb = WB.replace(
            "<calcPr",
            r#"<definedNames><definedName name="_xlnm.Print_Area" localSheetId="0">'Countries'!$A$1:$S$13</definedName></definedNames><calcPr"#,
        );
        let cols = AddedColumns {
            header_row: 0,
            table_last_col: 18,
            first: 19,
            last: 24,
        };
        let out = patch_workbook(&wb, &[], &[], Some((0, cols))).unwrap();
        assert!(
            out.contains(r#"localSheetId="0">'Countries'!$A$1:$Y$13</definedName>"#),
            "{out}"
        );
    }

    #[test]
    fn new_sheets_follow_the_provider_s_with_fresh_ids() {
        let out = patch_workbook(WB, &[("Readiness".into(), "rIdIor1".into())], &[], None).unwrap();
        assert!(
            out.contains(r#"state="hidden"/><sheet name="Readiness" sheetId="5" r:id="rIdIor1"/></sheets>"#),
            "{out}"
        );
    }

    #[test]
    fn defined_names_go_before_the_calculation_settings() {
        let name = Name {
            name: "_xlnm.Print_Titles",
            sheet: 0,
            value: "'Countries'!$1:$1".into(),
            hidden: false,
        };
        let out = patch_workbook(WB, &[], &[name], None).unwrap();
        assert!(out.contains(r#"</sheets><definedNames><definedName name="_xlnm.Print_Titles" localSheetId="0">'Countries'!$1:$1</definedName></definedNames><calcPr"#), "{out}");
    }
}
