//! One worksheet of the provider's, rewritten as a stream (quick-xml reader
//! to writer, never held whole): every element passes through as it was,
//! iorready's cells join their rows, and what iorready must add or adjust
//! (column widths, print set-up, the note drawing) goes where ECMA-376's
//! CT_Worksheet sequence puts it, since Excel asks to repair a sheet whose
//! elements are out of order.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use quick_xml::events::{BytesStart, Event};

use super::package::{attr, push_escaped, retag, MAIN_NS, REL_NS};
use super::styles::{write_raw, StyleIds};
use super::Refused;
use crate::model::source::{a1, parse_a1};
use crate::sinks::annotation::{AddedColumns, Cell, Value};
use crate::sinks::style::MAX_CELL_CHARS;

/// The children of `<worksheet>`, in the order CT_Worksheet requires.
const ORDER: [&str; 38] = [
    "sheetPr",
    "dimension",
    "sheetViews",
    "sheetFormatPr",
    "cols",
    "sheetData",
    "sheetCalcPr",
    "sheetProtection",
    "protectedRanges",
    "scenarios",
    "autoFilter",
    "sortState",
    "dataConsolidate",
    "customSheetViews",
    "mergeCells",
    "phoneticPr",
    "conditionalFormatting",
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
];

/// A child's place in [`ORDER`]; `extLst` is last, and markup-compatibility
/// blocks hold OLE objects and controls.
fn order(local: &str) -> Option<usize> {
    match local {
        "extLst" => Some(ORDER.len()),
        "AlternateContent" => ORDER.iter().position(|n| *n == "oleObjects"),
        _ => ORDER.iter().position(|n| *n == local),
    }
}

/// What the sheet gets besides its cells.
pub struct SheetPatch<'a> {
    /// Added cells by zero-based row.
    pub rows: &'a BTreeMap<u32, Vec<(u32, Cell)>>,
    /// Set when the cells are columns right of a table.
    pub columns: Option<AddedColumns>,
    /// The style index of each look.
    pub ids: &'a StyleIds,
    /// Widths of the added columns, in characters.
    pub widths: &'a BTreeMap<u32, f64>,
    /// Heights of rows that need more than a line, in points.
    pub heights: &'a BTreeMap<u32, f64>,
    /// The relationship id of a new note drawing, when the sheet has none.
    pub legacy_drawing: Option<String>,
    /// Landscape, fitted to this many pages wide, header rows repeated.
    pub pages_wide: Option<u16>,
}

/// What a first look at the sheet tells: the heights the provider set and
/// the widths of its columns.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    /// Rows with a height of the provider's own (`customHeight`), in points.
    pub custom_heights: BTreeMap<u32, f64>,
    /// Column widths from `<cols>`, by zero-based column.
    pub widths: BTreeMap<u32, f64>,
    /// The sheet's default column width.
    pub default_width: f64,
    /// The relationship id of the sheet's note drawing, if it has one.
    pub legacy_drawing: Option<String>,
}

impl Survey {
    /// The width of a zero-based column.
    pub fn width(&self, col: u32) -> f64 {
        self.widths.get(&col).copied().unwrap_or(self.default_width)
    }
}

fn xml_error(e: impl std::fmt::Display) -> Refused {
    Refused::new(format!("the sheet does not parse: {e}"))
}

fn io_error(e: std::io::Error) -> Refused {
    Refused::new(format!("cannot write the sheet: {e}"))
}

/// The most bytes one tag may take before the survey gives up on a sheet.
const MAX_TAG: usize = 1 << 20;

/// Looks through the sheet for the custom row heights (of `rows` only), the
/// column widths and the note drawing. A lexical scan, not a parse: it
/// jumps from `<` to `<` and reads only the few tags it needs, as this pass
/// comes on top of the rewrite and must cost little.
pub fn survey(mut input: impl std::io::Read, rows: &BTreeMap<u32, Vec<(u32, Cell)>>) -> Result<Survey, Refused> {
    let mut out = Survey {
        default_width: 8.43,
        ..Survey::default()
    };
    let mut window: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut chunk = vec![0u8; 1 << 16];
    let mut last_row = 0u32;
    loop {
        let n = input
            .read(&mut chunk)
            .map_err(|e| Refused::new(format!("cannot read the sheet: {e}")))?;
        window.extend_from_slice(&chunk[..n]);
        let done = scan_tags(&window, &mut |tag| note_tag(tag, rows, &mut out, &mut last_row));
        window.drain(..done);
        if n == 0 {
            return Ok(out);
        }
        if window.len() > MAX_TAG {
            return Err(Refused::new("the sheet has a tag larger than 1 MiB"));
        }
    }
}

/// Calls `each` with every complete start tag in `bytes` (from `<` to
/// `>`); returns how many bytes were used up.
fn scan_tags(bytes: &[u8], each: &mut dyn FnMut(&[u8])) -> usize {
    let mut at = 0;
    while let Some(lt) = memchr::memchr(b'<', &bytes[at..]).map(|i| at + i) {
        let Some(gt) = memchr::memchr(b'>', &bytes[lt..]).map(|i| lt + i) else {
            return lt;
        };
        if !matches!(bytes.get(lt + 1), Some(b'/' | b'?' | b'!')) {
            each(&bytes[lt..=gt]);
        }
        at = gt + 1;
    }
    bytes.len()
}

/// Takes what the survey needs from one start tag.
fn note_tag(tag: &[u8], rows: &BTreeMap<u32, Vec<(u32, Cell)>>, out: &mut Survey, last_row: &mut u32) {
    let name_end = tag
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
        .unwrap_or(tag.len());
    let name = &tag[1..name_end];
    let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
    if !matches!(local, b"row" | b"col" | b"legacyDrawing" | b"sheetFormatPr") {
        return;
    }
    let Ok(text) = std::str::from_utf8(tag) else { return };
    let mut reader = quick_xml::Reader::from_str(text);
    let Ok(Event::Start(e) | Event::Empty(e)) = reader.read_event() else {
        return;
    };
    match local {
        b"row" => {
            *last_row = attr(&e, "r")
                .and_then(|r| r.parse::<u32>().ok())
                .unwrap_or(*last_row + 1);
            let custom = attr(&e, "customHeight").is_some_and(|v| v == "1" || v == "true");
            let ht = attr(&e, "ht").and_then(|h| h.parse::<f64>().ok());
            if let (true, Some(ht), Some(r0)) = (custom, ht, last_row.checked_sub(1)) {
                if rows.contains_key(&r0) {
                    out.custom_heights.insert(r0, ht);
                }
            }
        }
        b"col" => {
            let n = |k| attr(&e, k).and_then(|v| v.parse::<u32>().ok());
            let w = attr(&e, "width").and_then(|v| v.parse::<f64>().ok());
            if let (Some(min), Some(max), Some(w)) = (n("min"), n("max"), w) {
                for c in min.max(1)..=max.min(16_384).min(min.saturating_add(1024)) {
                    out.widths.insert(c - 1, w);
                }
            }
        }
        b"legacyDrawing" => {
            out.legacy_drawing = e
                .attributes()
                .flatten()
                .find(|a| a.key.local_name().as_ref() == "id")
                .map(|a| a.value.into_owned());
        }
        _ => {
            if let Some(w) = attr(&e, "defaultColWidth").and_then(|v| v.parse().ok()) {
                out.default_width = w;
            }
        }
    }
}

/// Where the rewrite is inside `<sheetData>`.
#[derive(Default)]
struct RowState {
    /// The last row number seen (one-based), for rows without `r`.
    last_row: u32,
    /// The row being written, when iorready adds cells to it.
    touched: Option<Touched>,
    /// Inside `<sheetData>`.
    in_data: bool,
    /// Depth at which a replaced cell ends; its events are dropped.
    skip_until: Option<usize>,
}

/// A row iorready adds cells to, as it is written.
#[derive(Clone, Copy)]
struct Touched {
    /// Zero-based.
    row: u32,
    /// The last of the provider's columns seen, for cells without `r`.
    last_col: Option<u32>,
    /// The next added cell to write.
    next: usize,
}

/// The rewrite of one sheet.
struct Rewrite<'a, W: Write> {
    w: quick_xml::Writer<W>,
    patch: &'a SheetPatch<'a>,
    /// The prefix of the spreadsheet namespace (`x:` or empty).
    p: String,
    /// Elements still to add, by their place in [`ORDER`].
    pending: Vec<(usize, String)>,
    /// Rows with added cells, not yet written.
    rows_left: std::collections::btree_map::Range<'a, u32, Vec<(u32, Cell)>>,
    next_row: Option<(&'a u32, &'a Vec<(u32, Cell)>)>,
    state: RowState,
    /// Children of an element being gathered (`cols`).
    gathering: Option<Vec<BytesStart<'static>>>,
    /// Inside `<sheetPr>`, and whether its `pageSetUpPr` was seen.
    sheet_pr: Option<bool>,
}

/// Rewrites the sheet from `input` to `output` with `patch`.
pub fn rewrite_sheet(input: impl BufRead, output: impl Write, patch: &SheetPatch<'_>) -> Result<(), Refused> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut rows_left = patch.rows.range(..);
    let next_row = rows_left.next();
    let mut rw = Rewrite {
        w: quick_xml::Writer::new(output),
        patch,
        p: String::new(),
        pending: Vec::new(),
        rows_left,
        next_row,
        state: RowState::default(),
        gathering: None,
        sheet_pr: None,
    };
    let mut buf = Vec::new();
    let mut depth = 0usize;
    loop {
        let event = reader.read_event_into(&mut buf).map_err(xml_error)?;
        match event {
            Event::Start(e) => {
                rw.start(e, depth, false)?;
                depth += 1;
            }
            Event::Empty(e) => rw.start(e, depth, true)?,
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                rw.end(e, depth)?;
            }
            Event::Eof => break,
            other => rw.pass(other, depth)?,
        }
        buf.clear();
    }
    rw.w.get_mut().flush().map_err(io_error)
}

impl<W: Write> Rewrite<'_, W> {
    fn raw(&mut self, xml: &str) -> Result<(), Refused> {
        write_raw(&mut self.w, xml).map_err(io_error)
    }

    fn write(&mut self, event: Event<'_>) -> Result<(), Refused> {
        self.w.write_event(event).map_err(io_error)
    }

    fn pass(&mut self, event: Event<'_>, depth: usize) -> Result<(), Refused> {
        if self.state.skip_until.is_some() || (self.gathering.is_some() && depth > 1) {
            return Ok(());
        }
        self.write(event)
    }

    /// A start or empty tag at `depth` (0 for the root).
    fn start(&mut self, e: BytesStart<'_>, depth: usize, empty: bool) -> Result<(), Refused> {
        if self.state.skip_until.is_some() {
            return Ok(());
        }
        let local = e.local_name().as_ref().to_owned();
        match depth {
            0 => self.root(e, empty),
            1 => self.child(e, &local, empty),
            _ if self.gathering.is_some() => {
                if depth == 2 && local == "col" {
                    if let Some(cols) = &mut self.gathering {
                        cols.push(e.into_owned());
                    }
                }
                Ok(())
            }
            2 if self.sheet_pr.is_some() && local == "pageSetUpPr" => {
                self.sheet_pr = Some(true);
                let tag = retag(&e, &[("fitToPage", "1")]);
                self.write(if empty { Event::Empty(tag) } else { Event::Start(tag) })
            }
            2 if local == "row" && self.state.in_data => self.row(e, empty),
            3 if local == "c" && self.state.touched.is_some() => self.cell(e, depth, empty),
            _ => self.write(if empty { Event::Empty(e) } else { Event::Start(e) }),
        }
    }

    fn end(&mut self, e: quick_xml::events::BytesEnd<'_>, depth: usize) -> Result<(), Refused> {
        if let Some(until) = self.state.skip_until {
            if depth == until {
                self.state.skip_until = None;
            }
            return Ok(());
        }
        let local = e.local_name().as_ref().to_owned();
        match (depth, local.as_str()) {
            (0, _) => {
                self.flush_pending(usize::MAX)?;
                self.write(Event::End(e))
            }
            (1, "cols") => {
                let cols = self.gathering.take().unwrap_or_default();
                self.write_cols(&cols)?;
                self.write(Event::End(e))
            }
            (1, "sheetData") => {
                self.state.in_data = false;
                self.rows_before(u32::MAX)?;
                self.write(Event::End(e))
            }
            (1, "sheetPr") => {
                if self.sheet_pr.take() == Some(false) {
                    let p = self.p.clone();
                    self.raw(&format!("<{p}pageSetUpPr fitToPage=\"1\"/>"))?;
                }
                self.write(Event::End(e))
            }
            (2, "row") if self.state.touched.is_some() => {
                self.cells_before(u32::MAX)?;
                self.state.touched = None;
                self.write(Event::End(e))
            }
            _ if self.gathering.is_some() && depth > 1 => Ok(()),
            _ => self.write(Event::End(e)),
        }
    }

    /// The root: its namespace prefixes, and what is to be added.
    fn root(&mut self, e: BytesStart<'_>, empty: bool) -> Result<(), Refused> {
        let name = e.name().as_ref().to_owned();
        self.p = name.rsplit_once(':').map(|(p, _)| format!("{p}:")).unwrap_or_default();
        let xmlns = if self.p.is_empty() {
            "xmlns".to_owned()
        } else {
            format!("xmlns:{}", self.p.trim_end_matches(':'))
        };
        let ns = e
            .attributes()
            .flatten()
            .find(|a| a.key.as_ref() == xmlns)
            .map(|a| a.value.into_owned());
        if ns.as_deref() != Some(MAIN_NS) {
            return Err(Refused::new(format!(
                "the sheet's namespace is {}, not transitional SpreadsheetML",
                ns.unwrap_or_default()
            )));
        }
        let r = e
            .attributes()
            .flatten()
            .find(|a| a.value == REL_NS)
            .and_then(|a| a.key.as_ref().strip_prefix("xmlns:").map(str::to_owned));
        let (tag, r) = match r {
            Some(r) => (e.into_owned(), r),
            None => (retag(&e, &[("xmlns:ior_r", REL_NS)]), "ior_r".to_owned()),
        };
        self.plan_pending(&r);
        if empty {
            self.write(Event::Start(tag.borrow()))?;
            self.flush_pending(usize::MAX)?;
            self.write(Event::End(tag.to_end()))
        } else {
            self.write(Event::Start(tag))
        }
    }

    fn plan_pending(&mut self, r: &str) {
        let p = self.p.clone();
        let at = |name: &str| order(name).unwrap_or(0);
        if let Some(pages) = self.patch.pages_wide {
            self.pending.push((
                at("sheetPr"),
                format!("<{p}sheetPr><{p}pageSetUpPr fitToPage=\"1\"/></{p}sheetPr>"),
            ));
            self.pending.push((
                at("pageSetup"),
                format!("<{p}pageSetup orientation=\"landscape\" fitToWidth=\"{pages}\" fitToHeight=\"0\"/>"),
            ));
        }
        if !self.patch.widths.is_empty() {
            self.pending.push((at("cols"), String::new()));
        }
        self.pending.push((at("sheetData"), String::new()));
        if let Some(id) = &self.patch.legacy_drawing {
            self.pending
                .push((at("legacyDrawing"), format!("<{p}legacyDrawing {r}:id=\"{id}\"/>")));
        }
    }

    /// Writes what is pending before a child at place `before`.
    fn flush_pending(&mut self, before: usize) -> Result<(), Refused> {
        while let Some(i) = self.pending.iter().position(|(at, _)| *at < before) {
            let (at, xml) = self.pending.remove(i);
            if at == order("cols").unwrap_or(0) {
                self.raw(&format!("<{}cols>", self.p))?;
                self.write_cols(&[])?;
                self.raw(&format!("</{}cols>", self.p))?;
            } else if at == order("sheetData").unwrap_or(0) {
                self.raw(&format!("<{}sheetData>", self.p))?;
                self.rows_before(u32::MAX)?;
                self.raw(&format!("</{}sheetData>", self.p))?;
            } else {
                self.raw(&xml)?;
            }
        }
        Ok(())
    }

    /// A child of the root.
    fn child(&mut self, e: BytesStart<'_>, local: &str, empty: bool) -> Result<(), Refused> {
        if let Some(at) = order(local) {
            self.flush_pending(at)?;
            if local != "AlternateContent" {
                self.pending.retain(|(p, _)| *p != at);
            }
        }
        let p = self.p.clone();
        let columns = self.patch.columns;
        let tag = match local {
            "sheetPr" if self.patch.pages_wide.is_some() => {
                if empty {
                    self.write(Event::Start(e.borrow()))?;
                    self.raw(&format!("<{p}pageSetUpPr fitToPage=\"1\"/>"))?;
                    return self.write(Event::End(e.to_end()));
                }
                self.sheet_pr = Some(false);
                e.into_owned()
            }
            "dimension" => match attr(&e, "ref").and_then(|r| grown(&r, self.patch.rows)) {
                Some(r) => retag(&e, &[("ref", &r)]),
                None => e.into_owned(),
            },
            "cols" => {
                if empty {
                    self.raw(&format!("<{p}cols>"))?;
                    self.write_cols(&[])?;
                    return self.raw(&format!("</{p}cols>"));
                }
                self.gathering = Some(Vec::new());
                e.into_owned()
            }
            "sheetData" if !empty => {
                self.state.in_data = true;
                e.into_owned()
            }
            "sheetData" => {
                self.raw(&format!("<{p}sheetData>"))?;
                self.rows_before(u32::MAX)?;
                return self.raw(&format!("</{p}sheetData>"));
            }
            "autoFilter" => match (attr(&e, "ref"), columns) {
                (Some(r), Some(cols)) => match widened(&r, cols) {
                    Some(r) => retag(&e, &[("ref", &r)]),
                    None => e.into_owned(),
                },
                _ => e.into_owned(),
            },
            "pageSetup" => match self.patch.pages_wide {
                Some(pages) => retag(
                    &e,
                    &[
                        ("orientation", "landscape"),
                        ("fitToWidth", &pages.to_string()),
                        ("fitToHeight", "0"),
                    ],
                ),
                None => e.into_owned(),
            },
            _ => e.into_owned(),
        };
        self.write(if empty { Event::Empty(tag) } else { Event::Start(tag) })
    }

    /// The provider's `<col>` ranges with the added columns cut out of
    /// them, and the added columns' widths, in column order.
    fn write_cols(&mut self, cols: &[BytesStart<'static>]) -> Result<(), Refused> {
        let mut out: Vec<(u32, String)> = Vec::new();
        let ours = self.patch.widths;
        let p = self.p.clone();
        for col in cols {
            let n = |k| attr(col, k).and_then(|v| v.parse::<u32>().ok());
            let (Some(min), Some(max)) = (n("min"), n("max")) else {
                out.push((0, tag_text(col)));
                continue;
            };
            let mut from = min;
            for c in ours.keys().map(|c| c + 1).filter(|c| (min..=max).contains(c)) {
                if from < c {
                    out.push((from, piece(col, from, c - 1)));
                }
                from = c + 1;
            }
            if from <= max {
                out.push((
                    from,
                    if from == min {
                        tag_text(col)
                    } else {
                        piece(col, from, max)
                    },
                ));
            }
        }
        for (c, w) in ours {
            let n = c + 1;
            out.push((
                n,
                format!("<{p}col min=\"{n}\" max=\"{n}\" width=\"{w:.2}\" customWidth=\"1\"/>"),
            ));
        }
        out.sort_by_key(|(min, _)| *min);
        let xml: String = out.into_iter().map(|(_, x)| x).collect();
        self.raw(&xml)
    }

    /// A row start: rows iorready adds before it go first.
    fn row(&mut self, e: BytesStart<'_>, empty: bool) -> Result<(), Refused> {
        let given = attr(&e, "r").and_then(|r| r.parse::<u32>().ok());
        let number = given.unwrap_or(self.state.last_row + 1);
        self.state.last_row = number;
        let zero = number.saturating_sub(1);
        self.rows_before(zero)?;
        let touched = self.next_row.is_some_and(|(r, _)| *r == zero);
        let mut set: Vec<(&str, String)> = Vec::new();
        if given.is_none() {
            set.push(("r", number.to_string()));
        }
        if touched {
            if let Some(h) = self.patch.heights.get(&zero) {
                set.push(("ht", format!("{h:.2}")));
                set.push(("customHeight", "1".into()));
            }
            set.push(("spans", format!("1:{}", self.last_added_col(zero) + 1)));
        }
        let tag = if set.is_empty() {
            e.into_owned()
        } else {
            let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (*k, v.as_str())).collect();
            retag(&e, &set)
        };
        if !touched {
            return self.write(if empty { Event::Empty(tag) } else { Event::Start(tag) });
        }
        self.next_row = self.rows_left.next();
        self.state.touched = Some(Touched {
            row: zero,
            last_col: None,
            next: 0,
        });
        self.write(Event::Start(tag.borrow()))?;
        if empty {
            self.cells_before(u32::MAX)?;
            self.state.touched = None;
            self.write(Event::End(tag.to_end()))?;
        }
        Ok(())
    }

    fn last_added_col(&self, row: u32) -> u32 {
        self.patch.rows.get(&row).and_then(|c| c.last()).map_or(0, |(c, _)| *c)
    }

    /// A cell of a row iorready adds to: added cells left of it go first,
    /// and one in the same column replaces it (an empty, styled cell, as
    /// added columns start right of every value).
    fn cell(&mut self, e: BytesStart<'_>, depth: usize, empty: bool) -> Result<(), Refused> {
        let Some(t) = self.state.touched else {
            return Ok(());
        };
        let given = attr(&e, "r").and_then(|r| parse_a1(&r)).map(|(_, c)| c);
        let col = given.unwrap_or(t.last_col.map_or(0, |c| c + 1));
        self.cells_before(col)?;
        if let Some(t) = &mut self.state.touched {
            t.last_col = Some(col);
            let replaced = self
                .patch
                .rows
                .get(&t.row)
                .and_then(|c| c.get(t.next))
                .is_some_and(|(c, _)| *c == col);
            if replaced {
                if !empty {
                    self.state.skip_until = Some(depth);
                }
                return self.cells_before(col + 1);
            }
        }
        let tag = match given {
            Some(_) => e.into_owned(),
            None => retag(&e, &[("r", &a1(t.row, col))]),
        };
        self.write(if empty { Event::Empty(tag) } else { Event::Start(tag) })
    }

    /// Writes the touched row's added cells left of column `before`.
    fn cells_before(&mut self, before: u32) -> Result<(), Refused> {
        let Some(t) = self.state.touched else {
            return Ok(());
        };
        let cells = self.patch.rows.get(&t.row).map(Vec::as_slice).unwrap_or_default();
        let mut next = t.next;
        let mut xml = String::new();
        while let Some((c, cell)) = cells.get(next).filter(|(c, _)| *c < before) {
            push_cell(&mut xml, &self.p, (t.row, *c), cell, (self.patch.ids, false));
            next += 1;
        }
        if let Some(t) = &mut self.state.touched {
            t.next = next;
        }
        self.raw(&xml)
    }

    /// Writes the added rows numbered below `before` (zero-based) that the
    /// sheet does not have; the row `before` itself is left to the caller.
    fn rows_before(&mut self, before: u32) -> Result<(), Refused> {
        let mut xml = String::new();
        while let Some((row, cells)) = self.next_row.filter(|(r, _)| **r < before) {
            let height = self
                .patch
                .heights
                .get(row)
                .map(|h| format!(" ht=\"{h:.2}\" customHeight=\"1\""))
                .unwrap_or_default();
            xml.push_str(&format!("<{}row r=\"{}\"{height}>", self.p, row + 1));
            for (c, cell) in cells {
                push_cell(&mut xml, &self.p, (*row, *c), cell, (self.patch.ids, false));
            }
            xml.push_str(&format!("</{}row>", self.p));
            self.next_row = self.rows_left.next();
        }
        self.raw(&xml)
    }
}

/// Appends one added cell's markup to `out`: a run's copies write tens of
/// thousands of cells, so nothing is built apart.
pub fn push_cell(out: &mut String, p: &str, (row, col): (u32, u32), cell: &Cell, (ids, top): (&StyleIds, bool)) {
    use std::fmt::Write;
    let s = ids.of(cell.look, top);
    let _ = write!(out, "<{p}c r=\"");
    crate::model::source::push_a1(out, row, col);
    match &cell.value {
        Value::Number(n) if n.is_finite() => {
            let _ = write!(out, "\" s=\"{s}\"><{p}v>{n}</{p}v></{p}c>");
        }
        Value::Number(n) => push_inline(out, p, s, &n.to_string()),
        Value::Text(t) => push_inline(out, p, s, t),
    }
}

fn push_inline(out: &mut String, p: &str, s: u32, text: &str) {
    use std::fmt::Write;
    let text = crate::sinks::style::cell_text(text);
    debug_assert!(text.len() <= MAX_CELL_CHARS);
    let _ = write!(out, "\" s=\"{s}\" t=\"inlineStr\"><{p}is><{p}t xml:space=\"preserve\">");
    push_escaped(out, text);
    let _ = write!(out, "</{p}t></{p}is></{p}c>");
}

/// A start tag as text, as written.
fn tag_text(e: &BytesStart<'_>) -> String {
    format!("<{}/>", &**e)
}

/// A piece of a `<col>` range: the same attributes over other columns.
fn piece(e: &BytesStart<'_>, min: u32, max: u32) -> String {
    tag_text(&retag(e, &[("min", &min.to_string()), ("max", &max.to_string())]))
}

/// An area `A1:S13` as zero-based corners.
pub fn parse_area(s: &str) -> Option<((u32, u32), (u32, u32))> {
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    Some((parse_a1(a)?, parse_a1(b)?))
}

fn area_text(a: (u32, u32), b: (u32, u32)) -> String {
    format!("{}:{}", a1(a.0, a.1), a1(b.0, b.1))
}

/// The used area grown to hold the added cells.
fn grown(current: &str, rows: &BTreeMap<u32, Vec<(u32, Cell)>>) -> Option<String> {
    let ((r0, c0), (r1, c1)) = parse_area(current).unwrap_or(((u32::MAX, u32::MAX), (0, 0)));
    let first_row = *rows.keys().next()?;
    let last_row = *rows.keys().next_back()?;
    let cols = rows.values().flatten().map(|(c, _)| *c);
    let (min_c, max_c) = cols.fold((u32::MAX, 0), |(lo, hi), c| (lo.min(c), hi.max(c)));
    Some(area_text(
        (r0.min(first_row), c0.min(min_c)),
        (r1.max(last_row), c1.max(max_c)),
    ))
}

/// A filter over the answer table, widened to the added columns.
pub fn widened(current: &str, cols: AddedColumns) -> Option<String> {
    let ((r0, c0), (r1, c1)) = parse_area(current)?;
    (r0 == cols.header_row && c1 == cols.table_last_col && c0 <= c1).then(|| area_text((r0, c0), (r1, cols.last)))
}

#[cfg(test)]
mod tests {
    use super::super::styles::StyleIds;
    use super::*;
    use crate::sinks::annotation::Look;

    fn patched(xml: &str, rows: &BTreeMap<u32, Vec<(u32, Cell)>>, widths: &BTreeMap<u32, f64>) -> String {
        let ids = StyleIds::default();
        let heights = BTreeMap::new();
        let patch = SheetPatch {
            rows,
            columns: None,
            ids: &ids,
            widths,
            heights: &heights,
            legacy_drawing: Some("rId9".into()),
            pages_wide: Some(2),
        };
        let mut out = Vec::new();
        rewrite_sheet(xml.as_bytes(), &mut out, &patch).unwrap();
        String::from_utf8(out).unwrap()
    }

    const NS: &str = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;

    fn one_cell(row: u32, col: u32) -> BTreeMap<u32, Vec<(u32, Cell)>> {
        [(row, vec![(col, Cell::text("Ready", Look::Plain))])]
            .into_iter()
            .collect()
    }

    #[test]
    fn added_cells_join_their_row_after_the_provider_s() {
        let xml =
            format!(r#"<worksheet {NS}><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>"#);
        let out = patched(&xml, &one_cell(0, 2), &BTreeMap::new());
        assert!(
            out.contains(r#"<c r="A1"><v>1</v></c><c r="C1" s="0" t="inlineStr">"#),
            "{out}"
        );
    }

    #[test]
    fn rows_the_sheet_lacks_are_added_in_order() {
        let xml = format!(r#"<worksheet {NS}><sheetData><row r="1"/><row r="5"/></sheetData></worksheet>"#);
        let out = patched(&xml, &one_cell(2, 0), &BTreeMap::new());
        let (a, b, c) = (
            out.find(r#"r="1""#).unwrap(),
            out.find(r#"r="3""#).unwrap(),
            out.find(r#"r="5""#).unwrap(),
        );
        assert!(a < b && b < c, "{out}");
    }

    #[test]
    fn missing_elements_are_inserted_in_schema_order() {
        let xml = format!(
            r#"<worksheet {NS}><dimension ref="A1"/><sheetData/><pageMargins left="1" right="1" top="1" bottom="1" header="0" footer="0"/><drawing r:id="rId1"/><tableParts count="0"/></worksheet>"#
        );
        let widths = [(2, 12.0)].into_iter().collect();
        let out = patched(&xml, &one_cell(0, 2), &widths);
        let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} missing in {out}"));
        assert!(at("<sheetPr>") < at("<dimension ref=\"A1:C1\""));
        assert!(at("<dimension") < at("<cols>") && at("<cols>") < at("<sheetData>"));
        assert!(at("<pageMargins") < at("<pageSetup") && at("<pageSetup") < at("<drawing"));
        assert!(at("<drawing") < at("<legacyDrawing") && at("<legacyDrawing") < at("<tableParts"));
    }

    #[test]
    fn a_provider_column_range_over_an_added_column_is_split_around_it() {
        let xml = format!(
            r#"<worksheet {NS}><cols><col min="1" max="5" width="9" style="3"/></cols><sheetData/></worksheet>"#
        );
        let widths = [(2, 12.0)].into_iter().collect();
        let out = patched(&xml, &one_cell(0, 2), &widths);
        assert!(out.contains(r#"<col width="9" style="3" min="1" max="2"/><col min="3" max="3" width="12.00" customWidth="1"/><col width="9" style="3" min="4" max="5"/>"#), "{out}");
    }

    #[test]
    fn an_empty_styled_cell_where_a_verdict_goes_is_replaced() {
        let xml = format!(
            r#"<worksheet {NS}><sheetData><row r="1"><c r="A1"><v>1</v></c><c r="B1" s="4"/><c r="C1" s="4"></c></row></sheetData></worksheet>"#
        );
        let out = patched(&xml, &one_cell(0, 1), &BTreeMap::new());
        assert!(
            out.contains(r#"<c r="B1" s="0" t="inlineStr">"#) && !out.contains(r#"<c r="B1" s="4"/>"#),
            "{out}"
        );
        assert!(out.contains(r#"<c r="C1" s="4"></c>"#), "{out}");
    }

    #[test]
    fn the_survey_finds_custom_heights_widths_and_the_note_drawing_across_reads() {
        let rows = one_cell(1, 3);
        let xml = format!(
            r#"<x:worksheet {NS}><x:cols><x:col min="1" max="2" width="30"/></x:cols><x:sheetData><x:row r="1"/><x:row r="2" ht="45" customHeight="1"><x:c r="A2"><x:v>1</x:v></x:c></x:row></x:sheetData><x:legacyDrawing r:id="rId7"/></x:worksheet>"#
        );
        // One byte a read: tags cut anywhere still count.
        struct Trickle<'a>(&'a [u8]);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = *first;
                self.0 = rest;
                Ok(1)
            }
        }
        let s = survey(Trickle(xml.as_bytes()), &rows).unwrap();
        assert_eq!(s.custom_heights, BTreeMap::from([(1, 45.0)]));
        assert_eq!(s.width(1), 30.0);
        assert_eq!(s.width(2), 8.43);
        assert_eq!(s.legacy_drawing.as_deref(), Some("rId7"));
    }

    #[test]
    fn strict_open_xml_is_refused() {
        let xml = r#"<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><sheetData/></worksheet>"#;
        let ids = StyleIds::default();
        let (rows, widths, heights) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let patch = SheetPatch {
            rows: &rows,
            columns: None,
            ids: &ids,
            widths: &widths,
            heights: &heights,
            legacy_drawing: None,
            pages_wide: None,
        };
        assert!(rewrite_sheet(xml.as_bytes(), Vec::new(), &patch).is_err());
    }
}
