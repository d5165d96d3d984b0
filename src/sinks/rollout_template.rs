//! The rollout workbook analysts fill in: sheet Rollout (one row per target
//! country, dropdowns for every choice) and sheet Options, with a line of
//! explanation beside each option.

use std::path::Path;

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DataValidationRule, Format, Workbook, Worksheet, XlsxError,
};

use super::style;
use super::{write_xlsx_atomically, SinkError};
use crate::planning::rollout::{Options, Target};

/// Rows given dropdowns below the header, beyond the countries written.
const SPARE_ROWS: u32 = 200;

/// Writes a rollout workbook with `targets` filled in (none for a blank
/// one) and `options`.
pub fn write_rollout_template(out: &Path, targets: &[Target], options: &Options) -> Result<(), SinkError> {
    let e = |source| SinkError::Xlsx {
        path: out.to_owned(),
        source,
    };
    let mut wb = Workbook::new();
    rollout_sheet(wb.add_worksheet(), targets).map_err(e)?;
    options_sheet(wb.add_worksheet(), options).map_err(e)?;
    write_xlsx_atomically(out, &mut wb)
}

fn list(values: &[&str]) -> Result<DataValidation, XlsxError> {
    DataValidation::new()
        .allow_list_strings(values)?
        .set_error_title("Choose from the list")?
        .set_error_message(format!("Expected one of: {}.", values.join(", ")))
}

const HEADERS: [(&str, f64); 6] = [
    ("Country", 24.0),
    ("Minimum tier", 14.0),
    ("Fallback needed", 12.0),
    ("Liability", 11.0),
    ("Provider-handled compliance", 14.0),
    ("Notes", 50.0),
];

fn rollout_sheet(ws: &mut Worksheet, targets: &[Target]) -> Result<(), XlsxError> {
    ws.set_name("Rollout")?;
    let head = style::header();
    for (c, (h, w)) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_row_height(0, 33)?;
    ws.set_freeze_panes(1, 1)?;
    ws.set_repeat_rows(0, 0)?;
    style::print_pages_wide(ws, HEADERS.iter().map(|h| h.1).sum());
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let wrap = style::wrap();
    for (i, t) in targets.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, t.country.name())?;
        ws.write_string(r, 1, t.minimum_tier.id())?;
        ws.write_string(r, 2, yes_no(t.fallback_needed))?;
        ws.write_string(r, 3, t.liability.id())?;
        ws.write_string(r, 4, yes_no(t.provider_compliance))?;
        if !t.notes.is_empty() {
            ws.write_string_with_format(r, 5, &t.notes, &wrap)?;
        }
    }
    let last = targets.len() as u32 + SPARE_ROWS;
    ws.add_data_validation(1, 1, last, 1, &list(&["ready", "conditional"])?)?;
    ws.add_data_validation(1, 2, last, 2, &list(&["yes", "no"])?)?;
    ws.add_data_validation(1, 3, last, 3, &list(&["any", "capped", "full"])?)?;
    ws.add_data_validation(1, 4, last, 4, &list(&["yes", "no"])?)?;
    Ok(())
}

fn options_sheet(ws: &mut Worksheet, o: &Options) -> Result<(), XlsxError> {
    ws.set_name("Options")?;
    let head = style::header();
    for (c, (h, w)) in [("Option", 24.0), ("Value", 36.0), ("What it does", 70.0)]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(0, c as u16, *h, &head)?;
        ws.set_column_width(c as u16, *w)?;
    }
    style::print_pages_wide(ws, 130.0);
    let wrap = style::wrap();
    let rows = [
        (
            "Maximum providers",
            o.max_providers.map(|m| m.to_string()).unwrap_or_default(),
            "At most this many providers in the plan; blank for no limit.",
        ),
        (
            "Fallback minimum tier",
            o.fallback_tier.id().to_owned(),
            "The least tier a fallback provider must have (ready, conditional or coverage_only).",
        ),
        (
            "Exclude",
            o.exclude.join(", "),
            "Providers never chosen, by name, separated by commas.",
        ),
        (
            "Prefer",
            o.prefer.join(", "),
            "Providers chosen over others when the plan is otherwise as good (as many countries, as few providers).",
        ),
    ];
    for (i, (label, value, what)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string_with_format(r, 0, *label, &Format::new().set_bold())?;
        if !value.is_empty() {
            ws.write_string(r, 1, value)?;
        }
        ws.write_string_with_format(r, 2, *what, &wrap)?;
        ws.set_row_height(r, 30)?;
    }
    ws.add_data_validation(
        1,
        1,
        1,
        1,
        &DataValidation::new()
            .allow_whole_number(DataValidationRule::GreaterThanOrEqualTo(1))
            .set_error_style(DataValidationErrorStyle::Stop),
    )?;
    ws.add_data_validation(2, 1, 2, 1, &list(&["ready", "conditional", "coverage_only"])?)?;
    Ok(())
}
