//! Notes on a patched sheet: the comments part (who wrote each note and its
//! text) and the VML drawing Excel shows them from. A sheet that has notes
//! already keeps every one: iorready's text follows the provider's on the
//! same cell, and new notes join the existing parts.

use std::collections::BTreeMap;

use quick_xml::events::Event;

use super::package::{attr, escape};
use super::styles::write_raw;
use super::Refused;
use crate::model::source::{a1, parse_a1};
use crate::sinks::style::cell_text;

/// The author iorready's notes carry.
const AUTHOR: &str = "iorready";

/// A new comments part holding `notes`.
pub fn new_comments(notes: &BTreeMap<(u32, u32), String>) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<comments xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><authors><author>iorready</author></authors><commentList>",
    );
    for ((r, c), text) in notes {
        xml.push_str(&comment("", *r, *c, 0, text));
    }
    xml.push_str("</commentList></comments>");
    xml
}

fn comment(p: &str, row: u32, col: u32, author: usize, text: &str) -> String {
    format!(
        "<{p}comment ref=\"{}\" authorId=\"{author}\"><{p}text>{}</{p}text></{p}comment>",
        a1(row, col),
        run(p, text)
    )
}

fn run(p: &str, text: &str) -> String {
    format!(
        "<{p}r><{p}t xml:space=\"preserve\">{}</{p}t></{p}r>",
        escape(cell_text(text))
    )
}

/// The provider's comments part with iorready's notes added: appended to
/// an existing note on the same cell, new ones after the others. Returns
/// the part and the cells that got a new note (they need a VML shape).
pub fn extend_comments(xml: &str, notes: &BTreeMap<(u32, u32), String>) -> Result<(String, Vec<(u32, u32)>), Refused> {
    let bad = |e: &dyn std::fmt::Display| Refused::new(format!("the comments part does not parse: {e}"));
    let mut authors = 0usize;
    let mut ours: Option<usize> = None;
    let mut existing = Vec::new();
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(e) if e.local_name().as_ref() == "author" => {
                let text = reader.read_text(e.name()).map_err(|e| bad(&e))?;
                if text.trim() == AUTHOR && ours.is_none() {
                    ours = Some(authors);
                }
                authors += 1;
            }
            Event::Empty(e) if e.local_name().as_ref() == "author" => authors += 1,
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "comment" => {
                if let Some(at) = attr(&e, "ref").and_then(|r| parse_a1(&r)) {
                    existing.push(at);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let author = ours.unwrap_or(authors);
    rewrite_comments(xml, notes, &existing, author, ours.is_none())
}

fn rewrite_comments(
    xml: &str,
    notes: &BTreeMap<(u32, u32), String>,
    existing: &[(u32, u32)],
    author: usize,
    add_author: bool,
) -> Result<(String, Vec<(u32, u32)>), Refused> {
    let bad = |e: &dyn std::fmt::Display| Refused::new(format!("the comments part does not parse: {e}"));
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut w = quick_xml::Writer::new(Vec::with_capacity(xml.len() + 4096));
    let mut current: Option<(u32, u32)> = None;
    let mut p = String::new();
    let fresh: Vec<(u32, u32)> = notes.keys().filter(|k| !existing.contains(k)).copied().collect();
    loop {
        let event = reader.read_event().map_err(|e| bad(&e))?;
        let io = |e: std::io::Error| Refused::new(format!("cannot write comments: {e}"));
        match &event {
            Event::Start(e) if e.local_name().as_ref() == "comments" => {
                p = e
                    .name()
                    .as_ref()
                    .rsplit_once(':')
                    .map(|(p, _)| format!("{p}:"))
                    .unwrap_or_default();
            }
            Event::Start(e) if e.local_name().as_ref() == "comment" => {
                current = attr(e, "ref").and_then(|r| parse_a1(&r));
            }
            Event::End(e) => {
                let extra = match e.local_name().as_ref() {
                    "authors" if add_author => format!("<{p}author>{AUTHOR}</{p}author>"),
                    "text" => current
                        .and_then(|at| notes.get(&at))
                        .map(|t| run(&p, &format!("\n\n{t}")))
                        .unwrap_or_default(),
                    "commentList" => fresh
                        .iter()
                        .map(|(r, c)| comment(&p, *r, *c, author, &notes[&(*r, *c)]))
                        .collect(),
                    _ => String::new(),
                };
                write_raw(&mut w, &extra).map_err(io)?;
            }
            Event::Eof => break,
            _ => {}
        }
        w.write_event(event).map_err(io)?;
    }
    let out = String::from_utf8(w.into_inner()).map_err(|e| bad(&e))?;
    Ok((out, fresh))
}

/// A new VML drawing with a note shape for each cell, its shape ids in the
/// blocks `first_block..` (1,024 ids a block, unique in the workbook).
pub fn new_vml(cells: &[(u32, u32)], first_block: u32) -> String {
    let blocks = (cells.len() as u32 / 1000) + 1;
    let data: Vec<String> = (first_block..first_block + blocks).map(|b| b.to_string()).collect();
    format!(
        "<xml xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns:o=\"urn:schemas-microsoft-com:office:office\" xmlns:x=\"urn:schemas-microsoft-com:office:excel\">\n<o:shapelayout v:ext=\"edit\"><o:idmap v:ext=\"edit\" data=\"{}\"/></o:shapelayout>{SHAPETYPE}{}</xml>",
        data.join(","),
        shapes(cells, first_block * 1024 + 1)
    )
}

const SHAPETYPE: &str = "<v:shapetype id=\"_x0000_t202\" coordsize=\"21600,21600\" o:spt=\"202\" path=\"m,l,21600r21600,l21600,xe\"><v:stroke joinstyle=\"miter\"/><v:path gradientshapeok=\"t\" o:connecttype=\"rect\"/></v:shapetype>";

fn shapes(cells: &[(u32, u32)], first_id: u32) -> String {
    cells
        .iter()
        .enumerate()
        .map(|(i, (r, c))| {
            format!(
                "<v:shape id=\"_x0000_s{}\" type=\"#_x0000_t202\" style=\"position:absolute;margin-left:80pt;margin-top:2pt;width:315pt;height:112pt;z-index:{};visibility:hidden\" fillcolor=\"#ffffe1\" o:insetmode=\"auto\"><v:fill color2=\"#ffffe1\"/><v:shadow on=\"t\" color=\"black\" obscured=\"t\"/><v:path o:connecttype=\"none\"/><v:textbox style=\"mso-direction-alt:auto\"><div style=\"text-align:left\"></div></v:textbox><x:ClientData ObjectType=\"Note\"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>{}, 15, {}, 2, {}, 15, {}, 16</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>{r}</x:Row><x:Column>{c}</x:Column></x:ClientData></v:shape>",
                first_id + i as u32,
                i + 1,
                c + 1,
                r,
                c + 6,
                r + 7
            )
        })
        .collect()
}

/// The provider's VML drawing with note shapes for `cells` added (VML is
/// often not well-formed XML, so it is edited as text): ids after the
/// highest one in the workbook's drawings.
pub fn extend_vml(vml: &str, cells: &[(u32, u32)], next_id: u32) -> Result<String, Refused> {
    let end = vml
        .rfind("</xml>")
        .ok_or_else(|| Refused::new("the note drawing has no closing </xml>"))?;
    let shapetype = if vml.contains("_x0000_t202") { "" } else { SHAPETYPE };
    Ok(format!(
        "{}{shapetype}{}{}",
        &vml[..end],
        shapes(cells, next_id),
        &vml[end..]
    ))
}

/// The shape-id blocks (`o:idmap data`) and the highest shape id in a VML
/// drawing.
pub fn vml_ids(vml: &str) -> (Vec<u32>, u32) {
    let mut blocks = Vec::new();
    if let Some(at) = vml.find("o:idmap") {
        let rest = &vml[at..];
        if let Some(d) = rest.find("data=\"") {
            let rest = &rest[d + 6..];
            let data = &rest[..rest.find('"').unwrap_or(0)];
            blocks.extend(data.split(',').filter_map(|b| b.trim().parse::<u32>().ok()));
        }
    }
    let mut max = 0;
    let mut rest = vml;
    while let Some(at) = rest.find("_x0000_s") {
        rest = &rest[at + 8..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        max = max.max(digits.parse().unwrap_or(0));
    }
    (blocks, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes(cells: &[((u32, u32), &str)]) -> BTreeMap<(u32, u32), String> {
        cells.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    const COMMENTS: &str = r#"<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><authors><author>Ann</author></authors><commentList><comment ref="E5" authorId="0"><text><r><t>Check cap</t></r></text></comment></commentList></comments>"#;

    #[test]
    fn iorready_s_text_follows_the_provider_s_note_on_the_same_cell() {
        let (xml, fresh) = extend_comments(COMMENTS, &notes(&[((4, 4), "Liability capped")])).unwrap();
        assert!(
            xml.contains("<t>Check cap</t></r><r><t xml:space=\"preserve\">\n\nLiability capped</t></r></text>"),
            "{xml}"
        );
        assert!(fresh.is_empty());
    }

    #[test]
    fn new_notes_join_the_list_under_iorready_s_name() {
        let (xml, fresh) = extend_comments(COMMENTS, &notes(&[((1, 0), "x")])).unwrap();
        assert!(xml.contains("<author>Ann</author><author>iorready</author>"), "{xml}");
        assert!(xml.contains(r#"<comment ref="A2" authorId="1">"#), "{xml}");
        assert_eq!(fresh, vec![(1, 0)]);
    }

    #[test]
    fn vml_shape_ids_and_blocks_are_found() {
        let vml = new_vml(&[(0, 0), (1, 1)], 3);
        assert_eq!(vml_ids(&vml), (vec![3], 3 * 1024 + 2));
    }
}
