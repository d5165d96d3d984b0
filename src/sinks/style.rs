//! Shared formats, so that a tier looks the same in every workbook.

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder};

use super::annotation::Look;

use crate::scoring::{Severity, Tier};

/// Cell text can hold at most this many characters in Excel.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Cuts text to what a cell can hold.
pub fn cell_text(s: &str) -> &str {
    if s.len() <= MAX_CELL_CHARS {
        return s;
    }
    let mut end = MAX_CELL_CHARS;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Background and font colours of a tier: green to grey.
pub fn tier_colors(t: Tier) -> (u32, u32) {
    match t {
        Tier::Ready => (0xC6EFCE, 0x006100),
        Tier::Conditional => (0xFFEB9C, 0x9C5700),
        Tier::CoverageOnly => (0xFCE4D6, 0x833C0B),
        Tier::NotCapable => (0xFFC7CE, 0x9C0006),
        Tier::NotOffered => (0xEDEDED, 0x595959),
    }
}

/// The format of a cell showing a tier.
pub fn tier_format(t: Tier) -> Format {
    let (bg, fg) = tier_colors(t);
    Format::new()
        .set_background_color(Color::RGB(bg))
        .set_font_color(Color::RGB(fg))
        .set_border(FormatBorder::Thin)
        .set_border_color(Color::RGB(0xBFBFBF))
}

/// The format of a cell showing a severity.
pub fn severity_format(s: Severity) -> Format {
    tier_format(severity_tier(s))
}

/// Severities borrow the tier colours: critical red, warning amber, info grey.
pub fn severity_tier(s: Severity) -> Tier {
    match s {
        Severity::Critical => Tier::NotCapable,
        Severity::Warning => Tier::Conditional,
        Severity::Info => Tier::NotOffered,
    }
}

/// Tier formats made once per workbook: building a `Format` per cell costs
/// more than writing the cell.
pub struct TierFormats(Vec<(Tier, Format)>);

impl TierFormats {
    /// One format per tier.
    pub fn new() -> Self {
        Self(Tier::ALL.iter().map(|t| (*t, tier_format(*t))).collect())
    }

    /// The format of a tier.
    pub fn tier(&self, t: Tier) -> &Format {
        // Every tier is in the list.
        &self.0.iter().find(|(k, _)| *k == t).unwrap_or(&self.0[0]).1
    }

    /// The format of a severity.
    pub fn severity(&self, s: Severity) -> &Format {
        self.tier(severity_tier(s))
    }
}

/// Header cells.
pub fn header() -> Format {
    Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x1F4E78))
        .set_font_color(Color::White)
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
}

/// Headers of the columns iorready adds to a provider's sheet.
pub fn added_header() -> Format {
    Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x7030A0))
        .set_font_color(Color::White)
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
}

/// Dates.
pub fn date() -> Format {
    Format::new().set_num_format("yyyy-mm-dd")
}

/// Scores.
pub fn score() -> Format {
    Format::new().set_num_format("0.00")
}

/// Bold labels.
pub fn bold() -> Format {
    Format::new().set_bold()
}

/// Wrapped text.
pub fn wrap() -> Format {
    Format::new().set_text_wrap().set_align(FormatAlign::Top)
}

/// Characters of column width that fit across a landscape A4 page printed
/// at about 75%: smaller than that is hard to read.
const CHARS_PER_PAGE: f64 = 170.0;

/// How many landscape pages a sheet `total_width` characters wide is
/// printed across, so that it is shrunk to fit but stays readable.
pub fn pages_wide(total_width: f64) -> u16 {
    (total_width / CHARS_PER_PAGE).ceil().clamp(1.0, 20.0) as u16
}

/// Landscape, fitted to width over as many pages as keep the text
/// readable (see [`pages_wide`]).
pub fn print_pages_wide(ws: &mut rust_xlsxwriter::Worksheet, total_width: f64) {
    ws.set_landscape();
    ws.set_print_fit_to_pages(pages_wide(total_width), 0);
}

/// A table sheet's frame: column widths, landscape across readable pages,
/// the header row and first column repeated on every printed page and
/// frozen on screen.
pub fn table_frame(ws: &mut rust_xlsxwriter::Worksheet, widths: &[f64]) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    print_pages_wide(ws, widths.iter().sum());
    ws.set_repeat_rows(0, 0)?;
    ws.set_repeat_columns(0, 0)?;
    ws.set_freeze_panes(1, 1)?;
    Ok(())
}

/// The format of an annotated copy's [`Look`].
pub fn look(look: Look) -> Format {
    match look {
        Look::Plain => Format::new(),
        Look::AddedHeader => added_header(),
        Look::Header => header(),
        Look::Bold => bold(),
        Look::Score => score(),
        Look::Wrap => Format::new().set_text_wrap(),
        Look::Tier(t) => tier_format(t),
        Look::Severity(s) => severity_format(s),
    }
}
