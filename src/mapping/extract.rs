//! Applying a mapping to a workbook: choose the sheets, find the provider
//! details and each country's answers, read every answer with its cell, and
//! say where the results belong in the annotated copy.

use std::sync::Arc;

use super::provider::read_provider;
use super::spec::{Derive, FieldRule, Layout, Mapping, SheetChoice};
use super::values::{self, fold};
use super::{matrix, per_sheet, table};
use crate::model::{
    slug, Answer, AnswerState, CountryAssessment, Field, FieldKind, Normalised, Parsed, ProviderResponse, SourceRef,
};
use crate::sources::{CellValue, Sheet, Workbook};

/// A workbook that does not fit the mapping.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// A sheet the mapping needs is missing.
    #[error("{file}: no sheet named '{sheet}' (sheets: {found}); mapping '{mapping}'")]
    SheetMissing {
        /// The workbook.
        file: String,
        /// The sheet expected.
        sheet: String,
        /// The sheets present.
        found: String,
        /// The mapping used.
        mapping: String,
    },
    /// The header row was not found.
    #[error("{file}: {what}")]
    HeaderNotFound {
        /// The workbook.
        file: String,
        /// What was looked for, and where.
        what: String,
    },
    /// Nothing to score.
    #[error("{file}: {what}")]
    NoRows {
        /// The workbook.
        file: String,
        /// Where nothing was found.
        what: String,
    },
}

/// Where the results of a workbook go in its annotated copy.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Result columns to the right of a table, on each assessment's row.
    Columns {
        /// The table's sheet.
        sheet: String,
        /// Zero-based header row (the lower one of a two-row header).
        header_row: u32,
    },
    /// Result rows below a matrix, under each country's column.
    Rows {
        /// The matrix's sheet.
        sheet: String,
        /// Zero-based column of the question texts.
        label_col: u32,
    },
    /// No annotated copy: the answers came from JSON records.
    Records,
    /// A result block at the foot of each country's sheet.
    Sheets {
        /// Zero-based column of the question texts.
        label_col: u32,
        /// Zero-based column of the answers.
        value_col: u32,
    },
}

/// Where one field was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The field.
    pub field: Field,
    /// Where, in words: "Countries!C3 'Operating model'".
    pub location: String,
}

/// What a mapping read from a workbook.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// One response per provider (several for a consolidated table).
    pub responses: Vec<ProviderResponse>,
    /// Where the results go.
    pub placement: Placement,
    /// Where each field was found; fields not listed were not found.
    pub found: Vec<Found>,
}

/// Reads the provider responses in `wb` according to `mapping`.
pub fn extract(wb: &Workbook, mapping: &Mapping) -> Result<Extracted, MappingError> {
    let file: Arc<str> = wb.path.display().to_string().into();
    let extracted = match &mapping.countries.layout {
        Layout::Table { header_rows } => table::read(wb, mapping, &file, *header_rows)?,
        Layout::Matrix { question_columns } => matrix::read(wb, mapping, &file, question_columns)?,
        Layout::SheetPerCountry {
            question_columns,
            answer_column,
            country_cell,
        } => per_sheet::read(wb, mapping, &file, question_columns, *answer_column, *country_cell)?,
        Layout::Records { .. } => {
            return Err(MappingError::HeaderNotFound {
                file: file.to_string(),
                what: format!("mapping '{}' reads JSON records, not workbooks", mapping.name),
            })
        }
    };
    let details = read_provider(Some(wb), mapping, &file);
    finalize(extracted, details, &wb.path, mapping, &file)
}

/// Completes what a layout read: provider details from the mapping's other
/// sources, provider ids, defaults and derived fields; refuses a source that
/// gave no country at all.
pub(super) fn finalize(
    mut extracted: Extracted,
    details: crate::model::Provider,
    path: &std::path::Path,
    mapping: &Mapping,
    file: &Arc<str>,
) -> Result<Extracted, MappingError> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    for response in &mut extracted.responses {
        response.provider.fill_from(details.clone());
        if response.provider.id.is_empty() {
            let name = response.provider.name.get().cloned().unwrap_or_else(|| stem.clone());
            response.provider.id = slug(&name);
            if response.provider.id.is_empty() {
                response.provider.id = "provider".into();
            }
        }
        for a in &mut response.assessments {
            finish(a, mapping, &extracted.found);
        }
    }
    if extracted.responses.iter().all(|r| r.assessments.is_empty()) {
        let skipped: Vec<String> = extracted
            .responses
            .iter()
            .flat_map(|r| r.row_issues.iter())
            .take(3)
            .map(|i| format!("{}: {}", i.cell, i.message))
            .collect();
        let why = if skipped.is_empty() {
            String::new()
        } else {
            format!("; {}", skipped.join("; "))
        };
        return Err(MappingError::NoRows {
            file: file.to_string(),
            what: format!("no country answers found (mapping '{}'){why}", mapping.name),
        });
    }
    Ok(extracted)
}

/// Defaults for fields that were not found, then derived fields.
fn finish(a: &mut CountryAssessment, mapping: &Mapping, found: &[Found]) {
    for rule in &mapping.countries.fields {
        let Some(default) = &rule.default else { continue };
        if found.iter().any(|f| f.field == rule.field) {
            continue;
        }
        let cell = CellValue::Text(default.clone());
        let value = parse_cell(rule, Some(&cell), mapping);
        a.set(
            rule.field,
            Answer {
                value,
                raw: default.clone(),
                source: None,
            },
        );
    }
    for Derive {
        field,
        value,
        when_answered,
    } in &mapping.countries.derive
    {
        let (_, source, state) = a.answer_of(*field);
        if state != AnswerState::Unknown || when_answered.iter().any(|f| a.answer_of(*f).2 != AnswerState::Answered) {
            continue;
        }
        let Some(rule) = mapping.column(*field) else { continue };
        let source = source.cloned();
        let cell = CellValue::Text(value.clone());
        let parsed = parse_cell(rule, Some(&cell), mapping);
        a.set(
            *field,
            Answer {
                value: parsed,
                raw: value.clone(),
                source,
            },
        );
    }
}

/// The providers of a source holding many (consolidated tables, JSON
/// records), each found by the slug of its name in constant time.
#[derive(Default)]
pub(super) struct Responses {
    list: Vec<ProviderResponse>,
    index: std::collections::HashMap<String, usize>,
}

impl Responses {
    /// The response of the provider `details` names, added if new; the
    /// details fill what it does not know yet.
    pub(super) fn for_provider(&mut self, details: crate::model::Provider) -> &mut ProviderResponse {
        let key = details.name.get().map(|n| slug(n)).unwrap_or_default();
        let list = &mut self.list;
        let i = *self.index.entry(key.clone()).or_insert_with(|| {
            let mut provider = details.clone();
            provider.id = key;
            list.push(ProviderResponse {
                provider,
                ..ProviderResponse::default()
            });
            list.len() - 1
        });
        self.list[i].provider.fill_from(details);
        &mut self.list[i]
    }

    /// The first provider, if any.
    pub(super) fn first_mut(&mut self) -> Option<&mut ProviderResponse> {
        self.list.first_mut()
    }

    /// The providers, in the order first seen.
    pub(super) fn into_vec(self) -> Vec<ProviderResponse> {
        self.list
    }
}

/// Folds a header or question cell: also drops a trailing `:` or `*`.
pub(super) fn fold_label(text: &str) -> String {
    let mut f = fold(text);
    while f.ends_with(':') || f.ends_with('*') {
        f.pop();
        f = f.trim_end().to_owned();
    }
    f
}

/// Exact match (`Some(true)`), or the label followed by a bracket or
/// separator (`Some(false)`: "Lead time (days, working)").
pub(super) fn label_matches(cell: &str, label: &str) -> Option<bool> {
    if cell == label {
        return Some(true);
    }
    let rest = cell.strip_prefix(label)?;
    [" (", "(", " -", ":", ",", " /", " ["]
        .iter()
        .any(|s| rest.starts_with(s))
        .then_some(false)
}

/// The field whose labels match a question text, exact matches first.
pub(super) fn field_for_label<'m>(mapping: &'m Mapping, text: &str) -> Option<&'m FieldRule> {
    [true, false].iter().find_map(|exact| {
        mapping
            .countries
            .fields
            .iter()
            .find(|r| r.headers.iter().any(|h| label_matches(text, h) == Some(*exact)))
    })
}

/// Reads one answer through a field's rules.
pub(super) fn parse_cell(rule: &FieldRule, cell: Option<&CellValue>, mapping: &Mapping) -> Normalised<Parsed> {
    let r = &rule.rules;
    match rule.field.kind() {
        FieldKind::Country => values::parse_country(cell, &mapping.country_aliases, r),
        FieldKind::YesNo => values::parse_yes_no(cell, r),
        FieldKind::Enum(_) => values::parse_enum(cell, r),
        FieldKind::WholeNumber => values::parse_whole_number(cell, &rule.zero, r),
        FieldKind::Date => values::parse_date(cell, &rule.date_formats, r),
        FieldKind::Text => values::parse_text(cell, r),
        FieldKind::List => values::parse_list(cell, r),
    }
}

/// Reads the answer at (row, col) of `sheet`, or of the merged area over
/// it, with the cell it sits in.
pub(super) fn answer_at(
    rule: &FieldRule,
    sheet: &Sheet,
    row: u32,
    col: u32,
    file: &Arc<str>,
    mapping: &Mapping,
) -> Answer<Parsed> {
    let cell = sheet.get_merged(row, col);
    let (r, c) = cell.map(|(_, pos)| pos).unwrap_or((row, col));
    Answer {
        value: parse_cell(rule, cell.map(|(v, _)| v), mapping),
        raw: cell.map(|(v, _)| v.display()).unwrap_or_default(),
        source: Some(SourceRef::new(file.clone(), sheet.name.as_str().into(), r, c)),
    }
}

/// Reads a country from a cell or a name with the mapping's country rules
/// (its aliases and unknown tokens).
pub(crate) fn country_of(text: &CellValue, mapping: &Mapping) -> Normalised<Parsed> {
    let unknown = mapping
        .column(Field::Country)
        .map(|r| &r.rules)
        .unwrap_or(&mapping.unknown);
    values::parse_country(Some(text), &mapping.country_aliases, unknown)
}

/// The sheets the mapping reads, by name, pattern or headers. `score`
/// ranks sheets for [`SheetChoice::ByHeaders`]; the best one with a score
/// above 0 is taken.
pub(super) fn choose_sheets<'w>(
    wb: &'w Workbook,
    mapping: &Mapping,
    file: &Arc<str>,
    score: impl Fn(&Sheet) -> usize,
) -> Result<Vec<&'w Sheet>, MappingError> {
    let names = || {
        wb.sheets
            .iter()
            .map(|s| format!("'{}'", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &mapping.countries.sheet {
        SheetChoice::Named(name) => wb
            .sheet(name)
            .map(|s| vec![s])
            .ok_or_else(|| MappingError::SheetMissing {
                file: file.to_string(),
                sheet: name.clone(),
                found: names(),
                mapping: mapping.name.clone(),
            }),
        SheetChoice::Pattern(re) => {
            let found: Vec<&Sheet> = wb.sheets.iter().filter(|s| re.is_match(&s.name)).collect();
            if found.is_empty() {
                return Err(MappingError::SheetMissing {
                    file: file.to_string(),
                    sheet: format!("matching /{}/", re.as_str()),
                    found: names(),
                    mapping: mapping.name.clone(),
                });
            }
            Ok(found)
        }
        SheetChoice::ByHeaders => wb
            .sheets
            .iter()
            .map(|s| (score(s), s))
            .filter(|(n, _)| *n > 0)
            .max_by_key(|(n, _)| *n)
            .map(|(_, s)| vec![s])
            .ok_or_else(|| MappingError::HeaderNotFound {
                file: file.to_string(),
                what: format!(
                    "no sheet holds the headers of mapping '{}' (sheets: {})",
                    mapping.name,
                    names()
                ),
            }),
    }
}
