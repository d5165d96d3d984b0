//! The portfolio workbook: declared coverage against real capability across
//! all providers. A provider x country matrix of tiers, the roll-up with a
//! chart of countries claimed against countries ready, every flag, and what
//! could not be read. The Flags sheet can be filled while inputs are still
//! being scored (see `early_flags`); the rest waits for every summary.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use rust_xlsxwriter::{Chart, ChartType, Color, Workbook, Worksheet, XlsxError};
use strum::IntoEnumIterator;

use super::spool::{FlagRow, Spool};
use super::style::{self, cell_text};
use super::{write_xlsx_atomically, SinkError};
use crate::history::Change;
use crate::model::Country;
use crate::scoring::{FlagCode, Profile, ProviderSummary, Tier};

/// Excel's last row (zero-based); rows past it are summarised instead.
const MAX_ROW: u32 = 1_048_575;

/// What the portfolio's last sheets are made from, known once every input
/// is done.
pub struct PortfolioEnd<'a> {
    /// The providers' summaries, in input order.
    pub summaries: &'a [ProviderSummary],
    /// The inputs that failed: (file, message).
    pub errors: &'a [(String, String)],
    /// The as-of date of the run.
    pub as_of: NaiveDate,
    /// The profile used.
    pub profile: &'a Profile,
    /// What moved since the previous run, when the run remembers.
    pub changes: Option<&'a [Change]>,
}

/// The Matrix sheet's place in the workbook.
const MATRIX: usize = 0;
/// The Providers sheet's place.
const PROVIDERS: usize = 1;
/// The Flags sheet's place.
const FLAGS: usize = 2;

/// A portfolio workbook being written. Its Flags sheet can be filled while
/// inputs are still being scored (every flag row is known as soon as its
/// input is done); the other sheets need every input's summary, so they are
/// written by [`Portfolio::finish`]. The big sheets are in constant-memory
/// mode: their rows go to temporary files as they are written.
pub struct Portfolio {
    out: std::path::PathBuf,
    wb: Workbook,
    /// The Flags sheet's last row written.
    flags_row: u32,
    formats: style::TierFormats,
}

impl Portfolio {
    /// Starts the workbook that will be saved as `out`: its sheets in their
    /// order, and the Flags sheet's header.
    pub fn start(out: &Path) -> Result<Self, SinkError> {
        let e = |source| SinkError::Xlsx {
            path: out.to_owned(),
            source,
        };
        let mut wb = Workbook::new();
        wb.set_zip_compression_level(1);
        wb.add_worksheet_with_constant_memory().map_err(e)?;
        wb.add_worksheet();
        flags_header(wb.add_worksheet_with_constant_memory().map_err(e)?).map_err(e)?;
        Ok(Self {
            out: out.to_owned(),
            wb,
            flags_row: 0,
            formats: style::TierFormats::new(),
        })
    }

    /// Appends the Flags rows the spool holds for input `index`, after
    /// those already there.
    pub fn add_spooled_flags(&mut self, spool: &Spool, index: usize) -> Result<(), SinkError> {
        let io = |source| SinkError::Io {
            path: self.out.clone(),
            source,
        };
        let xlsx = |source| SinkError::Xlsx {
            path: self.out.clone(),
            source,
        };
        let rows = spool.flag_rows(index).map_err(io)?;
        let ws = self.wb.worksheet_from_index(FLAGS).map_err(xlsx)?;
        for f in rows {
            let f = f.map_err(io)?;
            if self.flags_row >= MAX_ROW - 1 {
                break;
            }
            self.flags_row += 1;
            flag_row(ws, self.flags_row, &f, &self.formats).map_err(xlsx)?;
        }
        Ok(())
    }

    /// Writes the other sheets and saves the workbook atomically.
    pub fn finish(mut self, end: &PortfolioEnd<'_>) -> Result<(), SinkError> {
        let flags_row = self.flags_row;
        let out = self.out.clone();
        let e = |source| SinkError::Xlsx {
            path: out.clone(),
            source,
        };
        let wb = &mut self.wb;
        flags_footer(wb.worksheet_from_index(FLAGS).map_err(e)?, flags_row).map_err(e)?;
        matrix(wb.worksheet_from_index(MATRIX).map_err(e)?, end.summaries, end.as_of).map_err(e)?;
        rollup(wb.worksheet_from_index(PROVIDERS).map_err(e)?, end.summaries).map_err(e)?;
        if let Some(changes) = end.changes {
            changes_sheet(wb.add_worksheet(), changes).map_err(e)?;
        }
        problems(wb.add_worksheet(), end.summaries, end.errors).map_err(e)?;
        legend(wb.add_worksheet(), end.profile).map_err(e)?;
        write_xlsx_atomically(&out, &mut self.wb)
    }
}

/// Each summary's row label: its name, and its source file when the same
/// name comes from several sources, so that rows can be told apart.
fn row_labels(summaries: &[ProviderSummary]) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for s in summaries {
        *count.entry(s.name.as_str()).or_default() += 1;
    }
    summaries
        .iter()
        .map(|s| match count[s.name.as_str()] {
            1 => s.name.clone(),
            _ => format!(
                "{} ({})",
                s.name,
                s.source.file_name().map(|f| f.to_string_lossy()).unwrap_or_default()
            ),
        })
        .collect()
}

/// A column as wide as its longest text, within bounds.
fn width_of<'a>(texts: impl Iterator<Item = &'a str>, min: f64, max: f64) -> f64 {
    let longest = texts
        .map(|t| t.lines().map(|l| l.chars().count()).max().unwrap_or(0))
        .max()
        .unwrap_or(0);
    (longest as f64 + 2.0).clamp(min, max)
}

fn matrix(ws: &mut Worksheet, summaries: &[ProviderSummary], as_of: NaiveDate) -> Result<(), XlsxError> {
    ws.set_name("Matrix")?;
    let mut countries: BTreeMap<&str, Country> = BTreeMap::new();
    for s in summaries {
        for (c, _) in &s.tiers {
            countries.insert(c.name(), *c);
        }
    }
    let labels = row_labels(summaries);
    let ready_head = format!("Ready / claimed (as of {as_of})");
    // Constant-memory rows are flushed as they are written: size them first.
    let name_width = width_of(labels.iter().map(String::as_str).chain(["Provider"]), 20.0, 70.0);
    ws.set_column_width(0, name_width)?;
    ws.set_column_width(1, 16)?;
    ws.set_row_height(0, 45)?;
    // One column per country; beyond Excel's column limit the rest are left
    // to the Flags sheet and JSON.
    let cols: Vec<(u16, Country)> = countries
        .values()
        .take(16_000)
        .enumerate()
        .map(|(i, c)| (i as u16 + 2, *c))
        .collect();
    for (col, _) in &cols {
        ws.set_column_width(*col, 14)?;
    }
    style::print_pages_wide(ws, name_width + 16.0 + 14.0 * cols.len() as f64);
    ws.set_repeat_rows(0, 0)?;
    ws.set_repeat_columns(0, 1)?;
    let head = style::header();
    ws.write_string_with_format(0, 0, "Provider", &head)?;
    ws.write_string_with_format(0, 1, ready_head, &head)?;
    for (col, c) in &cols {
        ws.write_string_with_format(0, *col, format!("{} ({})", c.name(), c.alpha2()), &head)?;
    }
    let formats = style::TierFormats::new();
    let column: BTreeMap<Country, u16> = cols.iter().map(|(col, c)| (*c, *col)).collect();
    for (i, (s, label)) in summaries.iter().zip(&labels).enumerate().take(MAX_ROW as usize) {
        let row = i as u32 + 1;
        ws.write_string(row, 0, cell_text(label))?;
        ws.write_string(row, 1, format!("{} / {}", s.rollup.ready, s.rollup.countries_claimed))?;
        // Constant-memory rows are written left to right.
        let mut cells: Vec<(u16, Tier)> = s
            .tiers
            .iter()
            .filter_map(|(c, t)| column.get(c).map(|col| (*col, *t)))
            .collect();
        cells.sort_by_key(|(col, _)| *col);
        cells.dedup_by_key(|(col, _)| *col);
        for (col, tier) in cells {
            ws.write_string_with_format(row, col, tier.label(), formats.tier(tier))?;
        }
    }
    ws.set_freeze_panes(1, 2)?;
    Ok(())
}

fn rollup(ws: &mut Worksheet, results: &[ProviderSummary]) -> Result<(), XlsxError> {
    ws.set_name("Providers")?;
    let labels = row_labels(results);
    let sources: Vec<String> = results.iter().map(|r| r.source.display().to_string()).collect();
    let flag_words: Vec<String> = results
        .iter()
        .map(|r| {
            let mut codes: Vec<FlagCode> = r.flags.iter().map(|f| f.code).collect();
            codes.dedup();
            codes.iter().map(|c| c.words_and_code()).collect::<Vec<_>>().join("\n")
        })
        .collect();
    let headers = [
        "Provider",
        "Source",
        "Countries claimed",
        "Assessed",
        "Ready",
        "Conditional",
        "Coverage only",
        "Not capable",
        "Not offered",
        "Active",
        "Passive",
        "Inflation ratio",
        "Provider flags",
    ];
    let head = style::header();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
    }
    let ratio_fmt = rust_xlsxwriter::Format::new().set_num_format("0.00");
    let wrap = style::wrap();
    for (i, r) in results.iter().enumerate().take(MAX_ROW as usize - 1) {
        let row = i as u32 + 1;
        let x = &r.rollup;
        ws.write_string(row, 0, cell_text(&labels[i]))?;
        ws.write_string(row, 1, cell_text(&sources[i]))?;
        let counts = [
            f64::from(x.countries_claimed),
            x.countries_assessed as f64,
            x.ready as f64,
            x.conditional as f64,
            x.coverage_only as f64,
            x.not_capable as f64,
            x.not_offered as f64,
            x.active as f64,
            x.passive as f64,
        ];
        for (j, n) in counts.iter().enumerate() {
            ws.write_number(row, j as u16 + 2, *n)?;
        }
        match x.inflation_ratio {
            Some(v) => ws.write_number_with_format(row, 11, v, &ratio_fmt)?,
            None => ws.write_string(row, 11, "n/a")?,
        };
        ws.write_string_with_format(row, 12, cell_text(&flag_words[i]), &wrap)?;
        let lines = flag_words[i].lines().count();
        if lines > 1 {
            ws.set_row_height(row, 15.0 * lines as f64 + 3.0)?;
        }
    }
    let mut widths: Vec<f64> = headers.iter().map(|h| h.chars().count() as f64 + 3.0).collect();
    widths[0] = width_of(labels.iter().map(String::as_str).chain(["Provider"]), 20.0, 70.0);
    widths[1] = width_of(sources.iter().map(String::as_str).chain(["Source"]), 10.0, 80.0);
    widths[12] = width_of(
        flag_words.iter().map(String::as_str).chain(["Provider flags"]),
        16.0,
        60.0,
    );
    style::table_frame(ws, &widths)?;
    let n = results.len().min(MAX_ROW as usize - 1) as u32;
    if n > 0 {
        ws.autofilter(0, 0, n, 12)?;
        let mut chart = Chart::new(ChartType::Column);
        chart.title().set_name("Countries claimed vs countries ready");
        for (name, col, color) in [
            ("Countries claimed", 2, 0xA6A6A6),
            ("Ready", 4, 0x00B050),
            ("Conditional", 5, 0xFFC000),
        ] {
            chart
                .add_series()
                .set_name(name)
                .set_categories(("Providers", 1, 0, n, 0))
                .set_values(("Providers", 1, col, n, col))
                .set_format(
                    rust_xlsxwriter::ChartFormat::new()
                        .set_solid_fill(rust_xlsxwriter::ChartSolidFill::new().set_color(Color::RGB(color))),
                );
        }
        chart.x_axis().set_name("Provider");
        chart.y_axis().set_name("Countries");
        chart.set_width(760).set_height(380);
        ws.insert_chart(n + 3, 0, &chart)?;
    }
    Ok(())
}

fn flags_header(ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.set_name("Flags")?;
    style::print_pages_wide(ws, 28.0 + 8.43 + 8.43 + 24.0 + 90.0 + 22.0 + 40.0);
    ws.set_repeat_rows(0, 0)?;
    let headers = [
        "Provider",
        "Country",
        "Severity",
        "Code",
        "Message",
        "Source cell",
        "File",
    ];
    for (c, w) in [(0, 28.0), (3, 24.0), (4, 90.0), (5, 22.0), (6, 40.0)] {
        ws.set_column_width(c, w)?;
    }
    let head = style::header();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
    }
    Ok(())
}

fn flag_row(ws: &mut Worksheet, row: u32, f: &FlagRow, formats: &style::TierFormats) -> Result<(), XlsxError> {
    let country = if f.country.is_empty() {
        "(provider)"
    } else {
        f.country.as_str()
    };
    ws.write_string(row, 0, cell_text(&f.provider))?;
    ws.write_string(row, 1, country)?;
    ws.write_string_with_format(row, 2, f.severity.to_string(), formats.severity(f.severity))?;
    ws.write_string(row, 3, &f.code)?;
    ws.write_string(row, 4, cell_text(&f.message))?;
    ws.write_string(row, 5, &f.cells)?;
    ws.write_string(row, 6, cell_text(&f.file))?;
    Ok(())
}

fn flags_footer(ws: &mut Worksheet, last_row: u32) -> Result<(), XlsxError> {
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, last_row.max(1), 6)?;
    Ok(())
}

/// What moved since the previous run, downgrades first, so the morning's
/// reading starts with what needs attention.
fn changes_sheet(ws: &mut Worksheet, changes: &[Change]) -> Result<(), XlsxError> {
    ws.set_name("Changes")?;
    style::print_pages_wide(ws, 32.0 + 8.43 + 18.0 + 22.0 + 22.0 + 80.0);
    ws.set_repeat_rows(0, 0)?;
    let head = style::header();
    let headers = ["Provider", "Country", "Change", "From", "To", "In words"];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
    }
    if changes.is_empty() {
        ws.write_string(1, 0, "Nothing moved since the previous run.")?;
    }
    let down = rust_xlsxwriter::Format::new().set_font_color(Color::RGB(0x9C0006));
    let mut ordered: Vec<&Change> = changes.iter().collect();
    ordered.sort_by_key(|c| !c.kind.is_downgrade());
    for (i, c) in ordered.into_iter().take(MAX_ROW as usize - 1).enumerate() {
        let row = i as u32 + 1;
        let kind = c.kind.id().replace('_', " ");
        ws.write_string(row, 0, cell_text(&c.provider))?;
        ws.write_string(row, 1, &c.country)?;
        if c.kind.is_downgrade() {
            ws.write_string_with_format(row, 2, kind, &down)?;
        } else {
            ws.write_string(row, 2, kind)?;
        }
        ws.write_string(row, 3, cell_text(&c.from))?;
        ws.write_string(row, 4, cell_text(&c.to))?;
        ws.write_string(row, 5, cell_text(&c.detail))?;
    }
    ws.set_column_width(0, 32)?;
    ws.set_column_width(2, 18)?;
    ws.set_column_width(3, 22)?;
    ws.set_column_width(4, 22)?;
    ws.set_column_width(5, 80)?;
    ws.autofilter(0, 0, changes.len().max(1) as u32, 5)?;
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn problems(ws: &mut Worksheet, results: &[ProviderSummary], errors: &[(String, String)]) -> Result<(), XlsxError> {
    ws.set_name("Not scored")?;
    style::print_pages_wide(ws, 160.0);
    ws.set_repeat_rows(0, 0)?;
    let head = style::header();
    for (c, h) in ["File or cell", "Problem"].iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
    }
    let issues = errors
        .iter()
        .map(|(f, m)| (f.clone(), m.clone()))
        .chain(results.iter().flat_map(|r| {
            r.row_issues
                .iter()
                .map(move |i| (format!("{} {}", r.source.display(), i.cell), i.message.clone()))
        }));
    for (i, (file, message)) in issues.take(MAX_ROW as usize - 1).enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, cell_text(&file))?;
        ws.write_string(row, 1, cell_text(&message))?;
    }
    ws.set_column_width(0, 60)?;
    ws.set_column_width(1, 100)?;
    Ok(())
}

fn legend(ws: &mut Worksheet, profile: &Profile) -> Result<(), XlsxError> {
    ws.set_name("Legend")?;
    style::print_pages_wide(ws, 26.0 + 110.0 + 90.0);
    let head = style::header();
    ws.write_string_with_format(0, 0, "Tier", &head)?;
    ws.write_string_with_format(0, 1, "Meaning", &head)?;
    let t = &profile.tiers;
    let meanings = [
        (Tier::Ready, format!("Active coverage (own entity or contracted partner, {} or more IOR shipments in 24 months, defined and repeatable pathway) and a score of at least {}.", t.active_min_executions, t.ready_min_score)),
        (Tier::Conditional, format!("Score of at least {}, but not ready: check the flags before relying on it.", t.conditional_min_score)),
        (Tier::CoverageOnly, format!("Coverage is claimed but the score is below {}: capability is not established.", t.conditional_min_score)),
        (Tier::NotCapable, "Knocked out: forwarding only, no liability, IOR not permitted, or not offered.".to_owned()),
        (Tier::NotOffered, "The provider does not claim the country, or answered nothing mandatory.".to_owned()),
    ];
    for (i, (tier, text)) in meanings.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string_with_format(row, 0, tier.label(), &style::tier_format(*tier))?;
        ws.write_string(row, 1, text)?;
    }
    let top = meanings.len() as u32 + 3;
    for (c, h) in ["Flag", "Severity", "Meaning"].iter().enumerate() {
        ws.write_string_with_format(top, c as u16, *h, &head)?;
    }
    for (i, code) in FlagCode::iter().enumerate() {
        let row = top + 1 + i as u32;
        let sev = profile.severity(code);
        ws.write_string(row, 0, code.code())?;
        ws.write_string_with_format(row, 1, sev.to_string(), &style::severity_format(sev))?;
        ws.write_string(row, 2, code.meaning())?;
    }
    ws.set_column_width(0, 26)?;
    ws.set_column_width(1, 110)?;
    ws.set_column_width(2, 90)?;
    Ok(())
}
