//! The blank reference questionnaire (questionnaire-v1.md), with dropdown
//! lists on every enumerated column and date and whole-number validation,
//! ready to send to providers.

use std::path::Path;

use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, DataValidationRule, ExcelDateTime, Format, Workbook, Worksheet,
    XlsxError,
};

use crate::model::Country;
use crate::sinks::{write_xlsx_atomically, SinkError};
use crate::sources::CellValue;

/// The questions of the Provider sheet, in order (rows 2 to 7).
pub const PROVIDER_QUESTIONS: [&str; 6] = [
    "Provider name",
    "Legal name",
    "Respondent",
    "Email",
    "Response date",
    "Countries claimed",
];

/// A column of the Countries sheet: header and dropdown answers (empty for
/// free text).
pub struct TemplateColumn {
    /// The header text.
    pub header: &'static str,
    /// The answers offered.
    pub answers: &'static [&'static str],
    /// What kind of validation applies.
    pub input: Input,
    /// Column width.
    pub width: f64,
}

/// Validation kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Free text.
    Text,
    /// A dropdown list.
    List,
    /// A date.
    Date,
    /// A whole number >= 0.
    WholeNumber,
}

/// The Countries sheet, columns A to S, as questionnaire-v1.md lays it out.
pub const COUNTRY_COLUMNS: [TemplateColumn; 19] = [
    TemplateColumn {
        header: "Country",
        answers: &[],
        input: Input::Text,
        width: 18.0,
    },
    TemplateColumn {
        header: "Coverage claimed",
        answers: &["Yes", "No"],
        input: Input::List,
        width: 11.0,
    },
    TemplateColumn {
        header: "Operating model",
        answers: &[
            "Own entity",
            "Contracted partner",
            "Partner sourced on demand",
            "Forwarding only",
            "Not offered",
        ],
        input: Input::List,
        width: 24.0,
    },
    TemplateColumn {
        header: "Importer of record role",
        answers: &[
            "Provider is IOR",
            "Local partner is IOR",
            "Client is IOR",
            "Forwarding only",
        ],
        input: Input::List,
        width: 20.0,
    },
    TemplateColumn {
        header: "Legal liability",
        answers: &["Full", "Capped", "None"],
        input: Input::List,
        width: 12.0,
    },
    TemplateColumn {
        header: "Local entity name",
        answers: &[],
        input: Input::Text,
        width: 24.0,
    },
    TemplateColumn {
        header: "Local entity registration ID",
        answers: &[],
        input: Input::Text,
        width: 18.0,
    },
    TemplateColumn {
        header: "Import licence IDs",
        answers: &[],
        input: Input::Text,
        width: 18.0,
    },
    TemplateColumn {
        header: "Licence expiry",
        answers: &[],
        input: Input::Date,
        width: 12.0,
    },
    TemplateColumn {
        header: "IOR shipments, last 24 months",
        answers: &[],
        input: Input::WholeNumber,
        width: 14.0,
    },
    TemplateColumn {
        header: "Last IOR shipment",
        answers: &[],
        input: Input::Date,
        width: 12.0,
    },
    TemplateColumn {
        header: "Regulatory pathway",
        answers: &["Defined and repeatable", "Case by case", "Undefined", "Not permitted"],
        input: Input::List,
        width: 20.0,
    },
    TemplateColumn {
        header: "Product certification",
        answers: &[
            "Provider handles",
            "Client must hold",
            "Not supported",
            "Not applicable",
        ],
        input: Input::List,
        width: 18.0,
    },
    TemplateColumn {
        header: "Duties and taxes funding",
        answers: &["Provider prefunds", "Client prepays"],
        input: Input::List,
        width: 18.0,
    },
    TemplateColumn {
        header: "Import VAT recovery",
        answers: &["Client recovers", "Rebilled by provider", "Not recoverable"],
        input: Input::List,
        width: 18.0,
    },
    TemplateColumn {
        header: "Lead time (days)",
        answers: &[],
        input: Input::WholeNumber,
        width: 10.0,
    },
    TemplateColumn {
        header: "Evidence",
        answers: &["Self-declared", "Documented", "Verified"],
        input: Input::List,
        width: 14.0,
    },
    TemplateColumn {
        header: "Evidence reference",
        answers: &[],
        input: Input::Text,
        width: 22.0,
    },
    TemplateColumn {
        header: "Comments",
        answers: &[],
        input: Input::Text,
        width: 40.0,
    },
];

/// Rows below the header that carry validation, beyond the listed countries.
const SPARE_ROWS: u32 = 300;

const INSTRUCTIONS: &[&str] = &[
    "IOR provider questionnaire, v1: how to fill it in",
    "",
    "Provider sheet: answer each question in column B. Response date is the date you complete this questionnaire.",
    "Countries claimed is your headline coverage figure (the number of countries you say you cover).",
    "",
    "Countries sheet: one row per country. Use the dropdowns; add free text after the answer if needed, e.g. 'Capped - USD 1M per shipment'.",
    "Coverage claimed: Yes if you list the country as covered.",
    "Operating model: Own entity (your registered company there), Contracted partner (a standing contract), Partner sourced on demand (found when a project comes up), Forwarding only, Not offered.",
    "Importer of record role: who is the legal importer on the customs declaration.",
    "Legal liability: the liability you take as importer: Full, Capped (say the cap), None.",
    "Local entity registration ID: the company registration number of the local entity or partner.",
    "Import licence IDs: separate several with ';'. Licence expiry: the earliest expiry date.",
    "IOR shipments, last 24 months: imports you executed as IOR in this country in the last 24 months (a whole number).",
    "Last IOR shipment: the date of the most recent one.",
    "Regulatory pathway: Defined and repeatable (a known route you have used), Case by case, Undefined, Not permitted.",
    "Product certification: who obtains the certifications the products need (Not applicable if none).",
    "Lead time (days): working days from booking to customs clearance.",
    "",
    "Evidence: Self-declared (your statement), Documented (you attach or reference documents: say which in Evidence reference), Verified (checked by the buyer).",
    "Answers without evidence are scored lower. Blank answers score zero; please answer every question.",
];

fn xlsx(path: &Path) -> impl Fn(XlsxError) -> SinkError + '_ {
    move |source| SinkError::Xlsx {
        path: path.to_owned(),
        source,
    }
}

/// A questionnaire in the v1 layout, blank or filled in: what the template
/// command sends out, and what the examples, tests and benchmark fill in.
#[derive(Debug, Clone, Default)]
pub struct Questionnaire {
    /// Answers to the six provider questions, in order.
    pub provider: [Option<CellValue>; 6],
    /// Title rows above the Countries header (0: the header is row 1).
    pub title_rows: Vec<String>,
    /// One row per country: up to 19 answers, columns A to S.
    pub rows: Vec<Vec<Option<CellValue>>>,
    /// Anything else on the Countries sheet: (zero-based row, column, value).
    pub extra_cells: Vec<(u32, u16, CellValue)>,
}

impl Questionnaire {
    /// A blank questionnaire listing `countries`.
    pub fn blank(countries: &[Country]) -> Self {
        Self {
            rows: countries
                .iter()
                .map(|c| vec![Some(CellValue::Text(c.name().to_owned()))])
                .collect(),
            ..Self::default()
        }
    }
}

/// Writes the blank questionnaire to `out`, with one row per country given.
pub fn write_template(out: &Path, countries: &[Country]) -> Result<(), SinkError> {
    write_questionnaire(out, &Questionnaire::blank(countries))
}

/// Writes a questionnaire in the v1 layout to `out`.
pub fn write_questionnaire(out: &Path, q: &Questionnaire) -> Result<(), SinkError> {
    let e = xlsx(out);
    let mut wb = Workbook::new();
    provider_sheet(wb.add_worksheet(), q).map_err(&e)?;
    countries_sheet(wb.add_worksheet(), q).map_err(&e)?;
    instructions_sheet(wb.add_worksheet()).map_err(&e)?;
    write_xlsx_atomically(out, &mut wb)
}

fn put(ws: &mut Worksheet, row: u32, col: u16, v: &CellValue) -> Result<(), XlsxError> {
    let date = Format::new().set_num_format("yyyy-mm-dd");
    match v {
        CellValue::Text(s) => ws.write_string(row, col, s)?,
        CellValue::Number(n) => ws.write_number(row, col, *n)?,
        CellValue::Bool(b) => ws.write_boolean(row, col, *b)?,
        CellValue::Date(d) => ws.write_datetime_with_format(row, col, d, &date)?,
        CellValue::Error(s) => ws.write_string(row, col, s)?,
    };
    Ok(())
}

fn header() -> Format {
    Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color(Color::RGB(0x1F4E78))
        .set_font_color(Color::White)
}

fn provider_sheet(ws: &mut Worksheet, q: &Questionnaire) -> Result<(), XlsxError> {
    ws.set_name("Provider")?;
    ws.write_string_with_format(
        0,
        0,
        "IOR provider questionnaire v1: provider details",
        &Format::new().set_bold().set_font_size(14),
    )?;
    let bold = Format::new().set_bold();
    for (i, q) in PROVIDER_QUESTIONS.iter().enumerate() {
        ws.write_string_with_format(i as u32 + 1, 0, *q, &bold)?;
    }
    ws.set_column_width(0, 22)?;
    ws.set_column_width(1, 40)?;
    let date = Format::new().set_num_format("yyyy-mm-dd");
    ws.write_blank(5, 1, &date)?;
    ws.add_data_validation(5, 1, 5, 1, &date_validation()?)?;
    ws.add_data_validation(6, 1, 6, 1, &whole_number_validation())?;
    for (i, v) in q.provider.iter().enumerate() {
        if let Some(v) = v {
            put(ws, i as u32 + 1, 1, v)?;
        }
    }
    Ok(())
}

fn date_validation() -> Result<DataValidation, XlsxError> {
    let from = ExcelDateTime::from_ymd(1990, 1, 1)?;
    let to = ExcelDateTime::from_ymd(2100, 12, 31)?;
    DataValidation::new()
        .allow_date(DataValidationRule::Between(from, to))
        .set_error_title("Date expected")?
        .set_error_message("Enter a date, for example 2026-03-14.")
}

fn whole_number_validation() -> DataValidation {
    DataValidation::new()
        .allow_whole_number(DataValidationRule::GreaterThanOrEqualTo(0))
        .set_error_style(DataValidationErrorStyle::Warning)
}

fn countries_sheet(ws: &mut Worksheet, q: &Questionnaire) -> Result<(), XlsxError> {
    ws.set_name("Countries")?;
    let head = header();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let title = Format::new().set_bold().set_font_size(13);
    for (i, t) in q.title_rows.iter().enumerate() {
        ws.write_string_with_format(i as u32, 0, t, &title)?;
    }
    let top = q.title_rows.len() as u32;
    let first = top + 1;
    let last = top + q.rows.len() as u32 + SPARE_ROWS;
    for (i, col) in COUNTRY_COLUMNS.iter().enumerate() {
        let c = i as u16;
        ws.write_string_with_format(top, c, col.header, &head)?;
        ws.set_column_width(c, col.width)?;
        match col.input {
            Input::Text => {}
            Input::List => {
                // Warning style: a provider may add free text after the answer.
                let v = DataValidation::new()
                    .allow_list_strings(col.answers)?
                    .set_error_style(DataValidationErrorStyle::Warning)
                    .set_error_title("Pick an answer")?
                    .set_error_message(
                        "Choose from the list; free text after the answer is allowed, e.g. 'Capped - USD 1M'.",
                    )?;
                ws.add_data_validation(first, c, last, c, &v)?;
            }
            Input::Date => {
                ws.add_data_validation(first, c, last, c, &date_validation()?)?;
                ws.set_column_format(c, &date)?;
            }
            Input::WholeNumber => {
                ws.add_data_validation(first, c, last, c, &whole_number_validation())?;
            }
        }
    }
    for (i, row) in q.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate().take(COUNTRY_COLUMNS.len()) {
            if let Some(v) = v {
                put(ws, first + i as u32, c as u16, v)?;
            }
        }
    }
    for (r, c, v) in &q.extra_cells {
        put(ws, *r, *c, v)?;
    }
    ws.set_row_height(top, 45)?;
    ws.set_freeze_panes(first, 1)?;
    ws.autofilter(top, 0, last, (COUNTRY_COLUMNS.len() - 1) as u16)?;
    Ok(())
}

fn instructions_sheet(ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.set_name("Instructions")?;
    let title = Format::new().set_bold().set_font_size(14);
    for (i, line) in INSTRUCTIONS.iter().enumerate() {
        if i == 0 {
            ws.write_string_with_format(0, 0, *line, &title)?;
        } else {
            ws.write_string(i as u32, 0, *line)?;
        }
    }
    ws.set_column_width(0, 140)?;
    Ok(())
}
