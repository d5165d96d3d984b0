//! iorready's cell styles appended to the provider's `xl/styles.xml`:
//! every existing font, fill, border and cell format keeps its place and
//! index (cells point at them by index), iorready's follow, and each
//! list's count is updated.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};

use super::package::{attr, retag};
use super::Refused;
use crate::scoring::Tier;
use crate::sinks::annotation::Look;
use crate::sinks::style::{severity_tier, tier_colors};

/// The cell format index of each look, in the patched styles: bottom
/// aligned like the provider's cells beside them, or top aligned on
/// iorready's own sheets, whose rows are tall with wrapped text.
#[derive(Debug, Clone, Default)]
pub struct StyleIds(HashMap<(Look, bool), u32>);

impl StyleIds {
    /// The `s` attribute of a cell with this look, top aligned or not.
    pub fn of(&self, look: Look, top: bool) -> u32 {
        let look = match look {
            Look::Severity(s) => Look::Tier(severity_tier(s)),
            other => other,
        };
        self.0.get(&(look, top)).copied().unwrap_or(0)
    }
}

/// The font, fill and border of a look, as indexes into the lists
/// iorready appends (`None`: the provider's default, index 0).
struct Spec {
    look: Look,
    font: Option<usize>,
    fill: Option<usize>,
    border: bool,
    wrap: bool,
    score: bool,
}

/// Fonts appended: bold, white bold, then one per tier colour.
fn fonts(name: &str, size: &str) -> Vec<String> {
    let font = |extra: &str| format!("<font>{extra}<sz val=\"{size}\"/><name val=\"{name}\"/></font>");
    let mut v = vec![font("<b/>"), font("<b/><color rgb=\"FFFFFFFF\"/>")];
    v.extend(
        Tier::ALL
            .iter()
            .map(|t| font(&format!("<color rgb=\"FF{:06X}\"/>", tier_colors(*t).1))),
    );
    v
}

/// Fills appended: the two header colours, then one per tier.
fn fills() -> Vec<String> {
    let fill = |rgb: u32| {
        format!("<fill><patternFill patternType=\"solid\"><fgColor rgb=\"FF{rgb:06X}\"/><bgColor indexed=\"64\"/></patternFill></fill>")
    };
    let mut v = vec![fill(0x1F4E78), fill(0x7030A0)];
    v.extend(Tier::ALL.iter().map(|t| fill(tier_colors(*t).0)));
    v
}

const BORDER: &str = "<border><left style=\"thin\"><color rgb=\"FFBFBFBF\"/></left><right style=\"thin\"><color rgb=\"FFBFBFBF\"/></right><top style=\"thin\"><color rgb=\"FFBFBFBF\"/></top><bottom style=\"thin\"><color rgb=\"FFBFBFBF\"/></bottom><diagonal/></border>";

fn specs() -> Vec<Spec> {
    let spec = |look, font, fill, border, wrap| Spec {
        look,
        font,
        fill,
        border,
        wrap,
        score: look == Look::Score,
    };
    let mut v = vec![
        spec(Look::Plain, None, None, false, false),
        spec(Look::Header, Some(1), Some(0), true, true),
        spec(Look::AddedHeader, Some(1), Some(1), true, true),
        spec(Look::Bold, Some(0), None, false, false),
        spec(Look::Score, None, None, false, false),
        spec(Look::Wrap, None, None, false, true),
    ];
    for (i, t) in Tier::ALL.iter().enumerate() {
        v.push(spec(Look::Tier(*t), Some(2 + i), Some(2 + i), true, false));
    }
    v
}

fn xf(spec: &Spec, base: Counts, top: bool) -> String {
    let font = spec.font.map_or(0, |f| base.fonts + f);
    let fill = spec.fill.map_or(0, |f| base.fills + f);
    let border = if spec.border { base.borders } else { 0 };
    let num = if spec.score { 2 } else { 0 };
    let alignment = match (spec.wrap, top) {
        (true, true) => "<alignment vertical=\"top\" wrapText=\"1\"/>",
        (true, false) => "<alignment wrapText=\"1\"/>",
        (false, true) => "<alignment vertical=\"top\"/>",
        (false, false) => "",
    };
    format!(
        "<xf numFmtId=\"{num}\" fontId=\"{font}\" fillId=\"{fill}\" borderId=\"{border}\" xfId=\"0\" applyNumberFormat=\"1\" applyFont=\"1\" applyFill=\"1\" applyBorder=\"1\" applyAlignment=\"1\">{alignment}</xf>"
    )
}

/// How many entries each list of the provider's styles holds.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    fonts: usize,
    fills: usize,
    borders: usize,
    xfs: usize,
}

/// What the first pass learns: the lists' sizes and the default font.
struct Seen {
    counts: Counts,
    font_name: String,
    font_size: String,
}

fn survey(xml: &str) -> Result<Seen, Refused> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut seen = Seen {
        counts: Counts::default(),
        font_name: "Calibri".into(),
        font_size: "11".into(),
    };
    let mut lists = [false; 4];
    loop {
        let event = reader
            .read_event()
            .map_err(|e| Refused::new(format!("xl/styles.xml does not parse: {e}")))?;
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(_) => {
                path.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let Some(e) = start else { continue };
        let local = e.local_name().as_ref().to_owned();
        let parent = path.last().map(String::as_str).unwrap_or("");
        count(&mut seen, &mut lists, parent, &local, e, path.len());
        if !empty {
            path.push(local);
        }
    }
    if lists.contains(&false) {
        return Err(Refused::new("xl/styles.xml lacks fonts, fills, borders or cellXfs"));
    }
    Ok(seen)
}

fn count(seen: &mut Seen, lists: &mut [bool; 4], parent: &str, local: &str, e: &BytesStart<'_>, depth: usize) {
    let c = &mut seen.counts;
    match (parent, local) {
        ("styleSheet", "fonts") => lists[0] = true,
        ("styleSheet", "fills") => lists[1] = true,
        ("styleSheet", "borders") => lists[2] = true,
        ("styleSheet", "cellXfs") => lists[3] = true,
        ("fonts", "font") if depth == 2 => c.fonts += 1,
        ("fills", "fill") if depth == 2 => c.fills += 1,
        ("borders", "border") if depth == 2 => c.borders += 1,
        ("cellXfs", "xf") if depth == 2 => c.xfs += 1,
        ("font", "name") if c.fonts == 1 && depth == 3 => seen.font_name = attr(e, "val").unwrap_or_default(),
        ("font", "sz") if c.fonts == 1 && depth == 3 => seen.font_size = attr(e, "val").unwrap_or_default(),
        _ => {}
    }
}

/// The provider's styles with iorready's appended, and the format index
/// of each look.
pub fn patch_styles(xml: &str) -> Result<(String, StyleIds), Refused> {
    let seen = survey(xml)?;
    let base = seen.counts;
    let fonts = fonts(&seen.font_name, &seen.font_size);
    let fills = fills();
    let specs = specs();
    let added: [(&str, Vec<String>); 4] = [
        ("fonts", fonts),
        ("fills", fills),
        ("borders", vec![BORDER.to_owned()]),
        (
            "cellXfs",
            [false, true]
                .iter()
                .flat_map(|top| specs.iter().map(move |s| xf(s, base, *top)))
                .collect(),
        ),
    ];
    let totals = [
        base.fonts + added[0].1.len(),
        base.fills + added[1].1.len(),
        base.borders + 1,
        base.xfs + 2 * specs.len(),
    ];
    let out = rewrite(xml, &added, &totals)?;
    let ids = [false, true]
        .iter()
        .flat_map(|top| specs.iter().map(move |s| (s.look, *top)))
        .enumerate()
        .map(|(i, key)| (key, (base.xfs + i) as u32))
        .collect();
    Ok((out, StyleIds(ids)))
}

/// Second pass: each list's start tag gets its new count, and iorready's
/// entries go before its end tag.
fn rewrite(xml: &str, added: &[(&str, Vec<String>); 4], totals: &[usize; 4]) -> Result<String, Refused> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len() + 8192));
    let mut depth = 0usize;
    let which = |local: &str| added.iter().position(|(name, _)| *name == local);
    loop {
        let event = reader
            .read_event()
            .map_err(|e| Refused::new(format!("xl/styles.xml does not parse: {e}")))?;
        let io = |e: std::io::Error| Refused::new(format!("cannot write styles: {e}"));
        match event {
            Event::Start(e) if depth == 1 && which(e.local_name().as_ref()).is_some() => {
                let i = which(e.local_name().as_ref()).unwrap_or(0);
                writer
                    .write_event(Event::Start(with_count(&e, totals[i])))
                    .map_err(io)?;
                depth += 1;
            }
            Event::Empty(e) if depth == 1 && which(e.local_name().as_ref()).is_some() => {
                let i = which(e.local_name().as_ref()).unwrap_or(0);
                writer
                    .write_event(Event::Start(with_count(&e, totals[i])))
                    .map_err(io)?;
                write_raw(&mut writer, &added[i].1.concat()).map_err(io)?;
                writer.write_event(Event::End(e.to_end())).map_err(io)?;
            }
            Event::End(e) if depth == 2 && which(e.local_name().as_ref()).is_some() => {
                let i = which(e.local_name().as_ref()).unwrap_or(0);
                write_raw(&mut writer, &added[i].1.concat()).map_err(io)?;
                writer.write_event(Event::End(e)).map_err(io)?;
                depth -= 1;
            }
            Event::Start(e) => {
                writer.write_event(Event::Start(e)).map_err(io)?;
                depth += 1;
            }
            Event::End(e) => {
                writer.write_event(Event::End(e)).map_err(io)?;
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            other => writer.write_event(other).map_err(io)?,
        }
    }
    String::from_utf8(writer.into_inner()).map_err(|e| Refused::new(format!("styles: {e}")))
}

fn with_count(e: &BytesStart<'_>, n: usize) -> BytesStart<'static> {
    retag(e, &[("count", &n.to_string())])
}

/// Writes markup iorready made itself, already escaped.
pub fn write_raw<W: std::io::Write>(writer: &mut quick_xml::Writer<W>, xml: &str) -> std::io::Result<()> {
    writer.get_mut().write_all(xml.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::Severity;

    const STYLES: &str = r#"<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><sz val="10"/><name val="Arial"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border/></borders><cellXfs count="2"><xf fontId="0"/><xf fontId="0" numFmtId="14"/></cellXfs></styleSheet>"#;

    #[test]
    fn existing_styles_keep_their_places_and_iorready_s_follow() {
        let (xml, ids) = patch_styles(STYLES).unwrap();
        assert!(xml.contains(r#"<cellXfs count="24"><xf fontId="0"/><xf fontId="0" numFmtId="14"/><xf "#));
        assert_eq!(ids.of(Look::Plain, false), 2);
        assert_eq!(ids.of(Look::Tier(Tier::NotOffered), false), 12);
        assert_eq!(ids.of(Look::Severity(Severity::Info), false), 12);
        assert_eq!(ids.of(Look::Plain, true), 13);
        assert!(xml.contains(r#"<fonts count="8"><font><sz val="10"/><name val="Arial"/></font><font><b/><sz val="10"/><name val="Arial"/></font>"#));
    }

    #[test]
    fn styles_without_a_cell_format_list_are_refused() {
        let broken = STYLES.replace("cellXfs", "cellStyleXfs");
        assert!(patch_styles(&broken).is_err());
    }
}
