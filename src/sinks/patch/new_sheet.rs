//! iorready's own sheets (Readiness, Legend) written as worksheet parts of
//! the provider's package, styled with the formats appended to its styles.

use std::fmt::Write;

use super::styles::StyleIds;
use super::worksheet::push_cell;
use crate::model::source::a1;
use crate::sinks::annotation::{fit, NewSheet};
use crate::sinks::style::pages_wide;

/// The worksheet part of `sheet`.
pub fn sheet_xml(sheet: &NewSheet, ids: &StyleIds) -> String {
    let fitted = fit(&sheet.rows, &sheet.wrap_widths, &|_| None);
    let last_row = sheet.rows.keys().next_back().copied().unwrap_or(0);
    let last_col = sheet.rows.values().flatten().map(|(c, _)| *c).max().unwrap_or(0);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheetPr><pageSetUpPr fitToPage=\"1\"/></sheetPr>",
    );
    let _ = write!(xml, "<dimension ref=\"A1:{}\"/>", a1(last_row, last_col));
    xml.push_str(&views(sheet.freeze));
    xml.push_str("<sheetFormatPr defaultRowHeight=\"15\"/>");
    if !fitted.widths.is_empty() {
        xml.push_str("<cols>");
        for (c, w) in &fitted.widths {
            let _ = write!(
                xml,
                "<col min=\"{0}\" max=\"{0}\" width=\"{w:.2}\" customWidth=\"1\"/>",
                c + 1
            );
        }
        xml.push_str("</cols>");
    }
    xml.push_str("<sheetData>");
    for (r, cells) in &sheet.rows {
        let height = fitted
            .heights
            .get(r)
            .map(|h| format!(" ht=\"{h:.2}\" customHeight=\"1\""))
            .unwrap_or_default();
        let _ = write!(xml, "<row r=\"{}\"{height}>", r + 1);
        for (c, cell) in cells {
            push_cell(&mut xml, "", (*r, *c), cell, (ids, true));
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData>");
    if let Some((r0, c0, r1, c1)) = sheet.filter {
        let _ = write!(xml, "<autoFilter ref=\"{}:{}\"/>", a1(r0, c0), a1(r1.max(r0), c1));
    }
    let pages = pages_wide(fitted.widths.values().sum());
    let _ = write!(
        xml,
        "<pageMargins left=\"0.5\" right=\"0.5\" top=\"0.75\" bottom=\"0.75\" header=\"0.3\" footer=\"0.3\"/><pageSetup orientation=\"landscape\" fitToWidth=\"{pages}\" fitToHeight=\"0\"/></worksheet>"
    );
    xml
}

fn views(freeze: Option<(u32, u32)>) -> String {
    let pane = match freeze {
        Some((rows, cols)) if rows > 0 || cols > 0 => {
            let active = match (rows > 0, cols > 0) {
                (true, true) => "bottomRight",
                (true, false) => "bottomLeft",
                _ => "topRight",
            };
            let x = if cols > 0 {
                format!(" xSplit=\"{cols}\"")
            } else {
                String::new()
            };
            let y = if rows > 0 {
                format!(" ySplit=\"{rows}\"")
            } else {
                String::new()
            };
            format!(
                "<pane{x}{y} topLeftCell=\"{}\" activePane=\"{active}\" state=\"frozen\"/><selection pane=\"{active}\"/>",
                a1(rows, cols)
            )
        }
        _ => String::new(),
    };
    format!("<sheetViews><sheetView workbookViewId=\"0\">{pane}</sheetView></sheetViews>")
}
