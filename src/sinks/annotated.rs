//! The annotated copy of a provider workbook: the provider's sheets as they
//! were, the country table extended with the results, a note on every cell
//! that caused a flag, and a Readiness sheet with the roll-up and the
//! dimension breakdown.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::NaiveDate;
use rust_xlsxwriter::{Note, Workbook, Worksheet, XlsxError};

use super::style::{self, cell_text};
use super::{write_xlsx_atomically, SinkError};
use crate::mapping::TableLayout;
use crate::scoring::{Assessed, Profile, ProviderResult};
use crate::sources::{CellValue, Sheet, Workbook as InputWorkbook};

/// Excel's last row and column (zero-based).
const MAX_ROW: u32 = 1_048_575;
const MAX_COL: u32 = 16_383;

/// What the annotated copy is made from.
pub struct AnnotateInput<'a> {
    /// The workbook as read.
    pub workbook: &'a InputWorkbook,
    /// Its scores.
    pub result: &'a ProviderResult,
    /// Where the country table's header and columns are.
    pub layout: &'a TableLayout,
    /// The name of the country table's sheet.
    pub table_sheet: &'a str,
    /// The as-of date of the run.
    pub as_of: NaiveDate,
    /// The profile used.
    pub profile: &'a Profile,
}

fn xlsx(path: &Path) -> impl Fn(XlsxError) -> SinkError + '_ {
    move |source| SinkError::Xlsx {
        path: path.to_owned(),
        source,
    }
}

/// Writes the annotated copy to `out`.
pub fn write_annotated(input: &AnnotateInput<'_>, out: &Path) -> Result<(), SinkError> {
    let e = xlsx(out);
    let mut wb = Workbook::new();
    // Level 1: a third faster to save than level 3 for a slightly larger file.
    wb.set_zip_compression_level(1);
    let notes = notes_by_cell(input.result);
    let mut names = HashSet::new();
    for sheet in &input.workbook.sheets {
        let ws = wb.add_worksheet();
        let name = unique_sheet_name(&sheet.name, &mut names);
        ws.set_name(&name).map_err(&e)?;
        if sheet.hidden {
            ws.set_hidden(true);
        }
        copy_cells(ws, sheet).map_err(&e)?;
        if let Some(cell_notes) = notes.get(sheet.name.as_str()) {
            for (&(r, c), texts) in cell_notes {
                if r <= MAX_ROW && c <= MAX_COL {
                    let note = Note::new(cell_text(&texts.join("\n\n")))
                        .set_author("iorready")
                        .set_width(420)
                        .set_height(150);
                    ws.insert_note(r, c as u16, &note).map_err(&e)?;
                }
            }
        }
        if sheet.name == input.table_sheet {
            extend_table(ws, sheet, input).map_err(&e)?;
        }
    }
    let name = unique_sheet_name("Readiness", &mut names);
    let ws = wb.add_worksheet();
    ws.set_name(&name).map_err(&e)?;
    write_readiness(ws, input).map_err(&e)?;
    write_xlsx_atomically(out, &mut wb)
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`, unique
/// without case.
fn unique_sheet_name(name: &str, taken: &mut HashSet<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let clean = clean.trim_matches('\'');
    let base: String = if clean.trim().is_empty() {
        "Sheet".into()
    } else {
        clean.chars().take(31).collect()
    };
    let mut candidate = base.clone();
    let mut n = 2;
    while taken.contains(&candidate.to_lowercase()) {
        let suffix = format!(" ({n})");
        candidate = format!("{}{suffix}", base.chars().take(31 - suffix.len()).collect::<String>());
        n += 1;
    }
    taken.insert(candidate.to_lowercase());
    candidate
}

fn copy_cells(ws: &mut Worksheet, sheet: &Sheet) -> Result<(), XlsxError> {
    let date = style::date();
    for &(r0, c0, r1, c1) in &sheet.merges {
        if (r0, c0) != (r1, c1) && r1 <= MAX_ROW && c1 <= MAX_COL {
            // Overlapping or odd merges are dropped; the values stay.
            let _ = ws.merge_range(r0, c0 as u16, r1, c1 as u16, "", &rust_xlsxwriter::Format::new());
        }
    }
    for (&(r, c), v) in &sheet.cells {
        if r > MAX_ROW || c > MAX_COL {
            continue;
        }
        let c = c as u16;
        match v {
            CellValue::Text(s) => ws.write_string(r, c, cell_text(s)).map(|_| ())?,
            CellValue::Number(n) if n.is_finite() => ws.write_number(r, c, *n).map(|_| ())?,
            CellValue::Number(n) => ws.write_string(r, c, n.to_string()).map(|_| ())?,
            CellValue::Bool(b) => ws.write_boolean(r, c, *b).map(|_| ())?,
            CellValue::Date(d) if d.date() >= excel_epoch() => {
                ws.write_datetime_with_format(r, c, d, &date).map(|_| ())?
            }
            CellValue::Date(_) | CellValue::Error(_) => ws.write_string(r, c, v.display()).map(|_| ())?,
        }
    }
    Ok(())
}

fn excel_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Notes by sheet, then cell: every flag's message on every cell it cites,
/// so the analyst reads the reason where the answer is.
fn notes_by_cell(result: &ProviderResult) -> BTreeMap<&str, BTreeMap<(u32, u32), Vec<String>>> {
    let mut notes: BTreeMap<&str, BTreeMap<(u32, u32), Vec<String>>> = BTreeMap::new();
    let all = result
        .assessed
        .iter()
        .flat_map(|a| a.flags.iter().map(move |f| (Some(a), f)))
        .chain(result.flags.iter().map(|f| (None, f)));
    for (assessed, flag) in all {
        let country = assessed
            .and_then(|a| a.assessment.country)
            .map(|c| format!(" ({})", c.name()))
            .unwrap_or_default();
        for cell in &flag.cells {
            let text = format!("{} [{}]{country}: {}", flag.code.code(), flag.severity, flag.message);
            let list = notes
                .entry(&cell.sheet)
                .or_default()
                .entry((cell.row, cell.col))
                .or_default();
            if !list.contains(&text) {
                list.push(text);
            }
        }
    }
    notes
}

/// Headers of the columns added to the country table.
const ADDED: [&str; 6] = [
    "Score",
    "Tier",
    "Coverage class",
    "Confidence",
    "Flags",
    "Why this tier",
];

fn extend_table(ws: &mut Worksheet, sheet: &Sheet, input: &AnnotateInput<'_>) -> Result<(), XlsxError> {
    let header_row = input.layout.header_row;
    let first = sheet
        .cells
        .keys()
        .filter(|(r, _)| *r >= header_row)
        .map(|(_, c)| *c + 1)
        .max()
        .unwrap_or(0);
    if first + ADDED.len() as u32 > MAX_COL {
        return Ok(());
    }
    let col = |i: usize| (first + i as u32) as u16;
    let head = style::added_header();
    for (i, h) in ADDED.iter().enumerate() {
        ws.write_string_with_format(header_row, col(i), *h, &head)?;
    }
    let score = style::score();
    let wrap = style::wrap();
    let tiers = style::TierFormats::new();
    let mut last_row = header_row;
    for a in &input.result.assessed {
        let Some(src) = &a.assessment.country_source else {
            continue;
        };
        let r = src.row;
        last_row = last_row.max(r);
        ws.write_number_with_format(r, col(0), a.score, &score)?;
        ws.write_string_with_format(r, col(1), a.tier.label(), tiers.tier(a.tier))?;
        ws.write_string(r, col(2), a.coverage_class.id())?;
        ws.write_string(r, col(3), a.confidence.id())?;
        ws.write_string(r, col(4), flag_codes(a))?;
        ws.write_string_with_format(r, col(5), cell_text(&a.reason), &wrap)?;
    }
    for issue in &input.result.row_issues {
        if let Some(r) = issue.cell.split('!').next_back().and_then(row_of) {
            last_row = last_row.max(r);
            ws.write_string(r, col(4), "Skipped")?;
            ws.write_string_with_format(r, col(5), cell_text(&issue.message), &wrap)?;
        }
    }
    ws.set_column_width(col(4), 28)?;
    ws.set_column_width(col(5), 60)?;
    ws.set_freeze_panes(header_row + 1, 1)?;
    style::print_wide(ws);
    ws.autofilter(header_row, 0, last_row, col(ADDED.len() - 1))?;
    Ok(())
}

/// The zero-based row of an A1 reference.
fn row_of(a1: &str) -> Option<u32> {
    let digits: String = a1.chars().skip_while(|c| c.is_ascii_alphabetic()).collect();
    digits.parse::<u32>().ok().and_then(|n| n.checked_sub(1))
}

fn flag_codes(a: &Assessed) -> String {
    let mut codes: Vec<&str> = a.flags.iter().map(|f| f.code.code()).collect();
    codes.dedup();
    codes.join("; ")
}

fn write_readiness(ws: &mut Worksheet, input: &AnnotateInput<'_>) -> Result<(), XlsxError> {
    let res = input.result;
    let p = &res.provider;
    let bold = style::bold();
    let r = &res.rollup;
    let ratio = r
        .inflation_ratio
        .map(|x| format!("{x:.2}"))
        .unwrap_or_else(|| "n/a (nothing ready or conditional)".into());
    let facts: Vec<(&str, String)> = vec![
        ("Provider", p.name.get().cloned().unwrap_or_else(|| p.id.clone())),
        ("Legal name", p.legal_name.get().cloned().unwrap_or_default()),
        (
            "Response date",
            p.response_date.get().map(|d| d.to_string()).unwrap_or_default(),
        ),
        ("Source", res.source.display().to_string()),
        ("Mapping", res.mapping.clone()),
        ("Scoring profile", input.profile.name.clone()),
        ("As of", input.as_of.to_string()),
        ("Countries claimed", r.countries_claimed.to_string()),
        ("Countries assessed", r.countries_assessed.to_string()),
        ("Ready", r.ready.to_string()),
        ("Conditional", r.conditional.to_string()),
        ("Coverage only", r.coverage_only.to_string()),
        ("Not capable", r.not_capable.to_string()),
        ("Not offered", r.not_offered.to_string()),
        ("Active coverage", r.active.to_string()),
        ("Passive coverage", r.passive.to_string()),
        ("Coverage inflation ratio", ratio),
        (
            "Provider flags",
            res.flags
                .iter()
                .map(|f| format!("{}: {}", f.code.code(), f.message))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ];
    ws.write_string_with_format(0, 0, "Readiness", &style::header())?;
    ws.write_string_with_format(0, 1, "", &style::header())?;
    for (i, (k, v)) in facts.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string_with_format(row, 0, *k, &bold)?;
        ws.write_string(row, 1, cell_text(v))?;
    }
    let top = facts.len() as u32 + 2;
    let mut headers: Vec<String> = [
        "Country",
        "Name",
        "Tier",
        "Score",
        "Coverage class",
        "Confidence",
        "Evidence level",
        "Evidence multiplier",
    ]
    .map(String::from)
    .to_vec();
    if let Some(a) = res.assessed.first() {
        for d in &a.dimensions {
            headers.push(format!("{} points (weight {})", d.dimension.label(), d.weight));
        }
    }
    headers.extend(["Knockouts", "Flags", "Why this tier", "How the dimensions were valued"].map(String::from));
    let head = style::header();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(top, c as u16, h, &head)?;
    }
    let score = style::score();
    let wrap = style::wrap();
    let tiers = style::TierFormats::new();
    for (i, a) in res.assessed.iter().enumerate() {
        let row = top + 1 + i as u32;
        let country = a.assessment.country;
        ws.write_string(row, 0, country.map(|c| c.alpha2()).unwrap_or(""))?;
        ws.write_string(row, 1, country.map(|c| c.name()).unwrap_or(""))?;
        ws.write_string_with_format(row, 2, a.tier.label(), tiers.tier(a.tier))?;
        ws.write_number_with_format(row, 3, a.score, &score)?;
        ws.write_string(row, 4, a.coverage_class.id())?;
        ws.write_string(row, 5, a.confidence.id())?;
        ws.write_string(row, 6, a.evidence_level.id())?;
        ws.write_number(row, 7, a.evidence_multiplier)?;
        let mut c = 8u16;
        for d in &a.dimensions {
            ws.write_number_with_format(row, c, d.points, &score)?;
            c += 1;
        }
        ws.write_string_with_format(row, c, cell_text(&a.knockouts.join("; ")), &wrap)?;
        ws.write_string(row, c + 1, flag_codes(a))?;
        ws.write_string_with_format(row, c + 2, cell_text(&a.reason), &wrap)?;
        let basis: Vec<String> = a
            .dimensions
            .iter()
            .map(|d| format!("{}: {}", d.dimension.label(), d.basis))
            .collect();
        ws.write_string_with_format(row, c + 3, cell_text(&basis.join("\n")), &wrap)?;
    }
    let last = top + res.assessed.len() as u32;
    ws.set_column_width(0, 26)?;
    ws.set_column_width(1, 40)?;
    let n = headers.len() as u16;
    ws.set_column_width(n - 4, 40)?;
    ws.set_column_width(n - 2, 60)?;
    ws.set_column_width(n - 1, 60)?;
    ws.set_freeze_panes(top + 1, 2)?;
    style::print_wide(ws);
    ws.autofilter(top, 0, last, n - 1)?;
    Ok(())
}
