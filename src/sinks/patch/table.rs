//! An Excel table (ListObject) over the answer table is extended to the
//! verdict columns: an analyst who sorts or filters the table expects the
//! verdicts to move with their rows, which they would not beside it. The
//! new columns get table columns named as their header cells, as Excel
//! requires; a table whose names would clash, or that does not end where
//! the verdicts start, is left as it is and the verdicts stand beside it.

use std::fmt::Write;

use quick_xml::events::{BytesStart, Event};

use super::package::{attr, escape, retag, unescape};
use super::styles::write_raw;
use super::worksheet::{parse_area, widened};
use super::Refused;
use crate::sinks::annotation::{AddedColumns, VERDICT_HEADERS};

/// The table part extended over the added columns, or `None` when this
/// table is not the answer table or cannot take them.
pub fn extend_table(xml: &str, cols: AddedColumns) -> Result<Option<String>, Refused> {
    let bad = |e: &dyn std::fmt::Display| Refused::new(format!("a table part does not parse: {e}"));
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut names = Vec::new();
    let mut max_id = 0u32;
    let mut fits = false;
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "table" => {
                    let header = attr(&e, "headerRowCount").is_none_or(|v| v != "0");
                    fits = header && attr(&e, "ref").and_then(|r| widened(&r, cols)).is_some();
                }
                "tableColumn" => {
                    names.push(unescape(&attr(&e, "name").unwrap_or_default()).to_lowercase());
                    max_id = max_id.max(attr(&e, "id").and_then(|v| v.parse().ok()).unwrap_or(0));
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let clash = VERDICT_HEADERS.iter().any(|h| names.contains(&h.to_lowercase()));
    if !fits || clash {
        return Ok(None);
    }
    rewrite(xml, cols, names.len() + VERDICT_HEADERS.len(), max_id).map(Some)
}

fn rewrite(xml: &str, cols: AddedColumns, count: usize, max_id: u32) -> Result<String, Refused> {
    let bad = |e: &dyn std::fmt::Display| Refused::new(format!("a table part does not parse: {e}"));
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut w = quick_xml::Writer::new(Vec::with_capacity(xml.len() + 1024));
    let mut added = String::new();
    for (i, h) in VERDICT_HEADERS.iter().enumerate() {
        let _ = write!(
            added,
            "<tableColumn id=\"{}\" name=\"{}\"/>",
            max_id + 1 + i as u32,
            escape(h)
        );
    }
    loop {
        let event = reader.read_event().map_err(|e| bad(&e))?;
        let io = |e: std::io::Error| Refused::new(format!("cannot write a table: {e}"));
        let event = match event {
            Event::Start(e) if has_area(&e) => Event::Start(grown_tag(&e, cols)),
            Event::Empty(e) if has_area(&e) => Event::Empty(grown_tag(&e, cols)),
            Event::Start(e) if e.local_name().as_ref() == "tableColumns" => {
                Event::Start(retag(&e, &[("count", &count.to_string())]))
            }
            Event::End(e) if e.local_name().as_ref() == "tableColumns" => {
                write_raw(&mut w, &added).map_err(io)?;
                Event::End(e)
            }
            Event::Eof => break,
            other => other,
        };
        w.write_event(event).map_err(io)?;
    }
    String::from_utf8(w.into_inner()).map_err(|e| bad(&e))
}

/// A filter inside the table that covers its rows but not the header
/// (never the case in Excel's files): its area grows the same way.
fn grow_rows(r: &str, cols: AddedColumns) -> Option<String> {
    let ((r0, c0), (r1, c1)) = parse_area(r)?;
    (c1 == cols.table_last_col).then(|| {
        format!(
            "{}:{}",
            crate::model::source::a1(r0, c0),
            crate::model::source::a1(r1, cols.last)
        )
    })
}

fn has_area(e: &BytesStart<'_>) -> bool {
    matches!(e.local_name().as_ref(), "table" | "autoFilter")
}

/// The table's (or its filter's) area over the added columns too.
fn grown_tag(e: &BytesStart<'_>, cols: AddedColumns) -> BytesStart<'static> {
    match attr(e, "ref").and_then(|r| widened(&r, cols).or_else(|| grow_rows(&r, cols))) {
        Some(r) => retag(e, &[("ref", &r)]),
        None => e.clone().into_owned(),
    }
}
