//! Applying a mapping to a workbook: find the provider details and the
//! country table, read every answer with its cell.

use std::sync::Arc;

use super::spec::{ColumnRule, Mapping};
use super::values::{self, fold, ValueRules};
use crate::model::{
    slug, Answer, CountryAssessment, Field, FieldKind, Normalised, Parsed, Provider, ProviderField, ProviderResponse,
    RowIssue, SourceRef,
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
    /// The header row of the country table was not found.
    #[error(
        "{file}: sheet '{sheet}': no header row with a country column in the first {rows} rows (looked for: {headers})"
    )]
    HeaderNotFound {
        /// The workbook.
        file: String,
        /// The sheet.
        sheet: String,
        /// Rows searched.
        rows: u32,
        /// Country header texts tried.
        headers: String,
    },
    /// The table has a header but no country row.
    #[error("{file}: sheet '{sheet}': the table under the header in row {header_row} has no country rows")]
    NoRows {
        /// The workbook.
        file: String,
        /// The sheet.
        sheet: String,
        /// 1-based header row.
        header_row: u32,
    },
}

/// Where the header row and each field's column were found.
#[derive(Debug, Clone, PartialEq)]
pub struct TableLayout {
    /// Zero-based header row.
    pub header_row: u32,
    /// Zero-based column per mapped field that was found.
    pub columns: Vec<(Field, u32)>,
}

/// Reads one provider response from `wb` according to `mapping`.
pub fn extract(wb: &Workbook, mapping: &Mapping) -> Result<(ProviderResponse, TableLayout), MappingError> {
    let file: Arc<str> = wb.path.display().to_string().into();
    let sheet_missing = |name: &str| MappingError::SheetMissing {
        file: file.to_string(),
        sheet: name.to_owned(),
        found: wb
            .sheets
            .iter()
            .map(|s| format!("'{}'", s.name))
            .collect::<Vec<_>>()
            .join(", "),
        mapping: mapping.name.clone(),
    };
    let table = wb
        .sheet(&mapping.countries.sheet)
        .ok_or_else(|| sheet_missing(&mapping.countries.sheet))?;
    // A workbook without a Provider sheet is still scorable: the provider is
    // then named after the file.
    let provider = match wb.sheet(&mapping.provider.sheet) {
        Some(sheet) => read_provider(sheet, mapping, &file),
        None => Provider::default(),
    };
    let layout =
        find_header(table, &mapping.countries.columns, mapping.countries.header_search_rows).ok_or_else(|| {
            MappingError::HeaderNotFound {
                file: file.to_string(),
                sheet: table.name.clone(),
                rows: mapping.countries.header_search_rows,
                headers: mapping
                    .column(Field::Country)
                    .map(|c| c.headers.join("', '"))
                    .map(|h| format!("'{h}'"))
                    .unwrap_or_default(),
            }
        })?;
    let mut response = ProviderResponse {
        provider,
        ..ProviderResponse::default()
    };
    read_rows(table, mapping, &layout, &file, &mut response);
    if response.assessments.is_empty() {
        return Err(MappingError::NoRows {
            file: file.to_string(),
            sheet: table.name.clone(),
            header_row: layout.header_row + 1,
        });
    }
    if response.provider.id.is_empty() {
        let stem = wb
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = response.provider.name.get().cloned().unwrap_or(stem);
        response.provider.id = slug(&name);
        if response.provider.id.is_empty() {
            response.provider.id = "provider".into();
        }
    }
    Ok((response, layout))
}

/// Folds a header or question cell: also drops a trailing `:` or `*`.
fn fold_label(text: &str) -> String {
    let mut f = fold(text);
    while f.ends_with(':') || f.ends_with('*') {
        f.pop();
        f = f.trim_end().to_owned();
    }
    f
}

/// Exact match, or the label followed by a bracket or separator
/// ("Lead time (days, working)").
fn label_matches(cell: &str, label: &str) -> Option<bool> {
    if cell == label {
        return Some(true);
    }
    let rest = cell.strip_prefix(label)?;
    [" (", "(", " -", ":", ",", " /", " ["]
        .iter()
        .any(|s| rest.starts_with(s))
        .then_some(false)
}

fn read_provider(sheet: &Sheet, mapping: &Mapping, file: &Arc<str>) -> Provider {
    let spec = &mapping.provider;
    let sheet_name: Arc<str> = sheet.name.as_str().into();
    let mut provider = Provider::default();
    let mut rows: Vec<(u32, String)> = sheet
        .cells
        .iter()
        .filter(|((_, c), _)| *c == spec.label_col)
        .map(|((r, _), v)| (*r, fold_label(&v.display())))
        .collect();
    rows.sort_by_key(|(r, _)| *r);
    for (field, labels) in &spec.labels {
        // Exact question first, then a question with a qualifier after it.
        let found = [true, false].iter().find_map(|exact| {
            rows.iter()
                .find(|(_, text)| labels.iter().any(|l| label_matches(text, l) == Some(*exact)))
                .map(|(r, _)| *r)
        });
        let Some(row) = found else { continue };
        let source = Some(SourceRef::new(file.clone(), sheet_name.clone(), row, spec.value_col));
        let cell = sheet.get_merged(row, spec.value_col).map(|(v, _)| v);
        let raw = cell.map(CellValue::display).unwrap_or_default();
        let unknown = &mapping.unknown;
        match field {
            ProviderField::ResponseDate => {
                provider.response_date = typed(
                    values::parse_date(cell, &mapping.date_formats, unknown),
                    raw,
                    source,
                    |p| match p {
                        Parsed::Date(d) => Some(d),
                        _ => None,
                    },
                )
            }
            ProviderField::CountriesClaimed => {
                provider.countries_claimed = typed(
                    values::parse_whole_number(cell, &mapping.zero, unknown),
                    raw,
                    source,
                    |p| match p {
                        Parsed::Number(n) => Some(n),
                        _ => None,
                    },
                )
            }
            _ => {
                let a = typed(values::parse_text(cell, unknown), raw, source, |p| match p {
                    Parsed::Text(t) => Some(t),
                    _ => None,
                });
                match field {
                    ProviderField::Name => provider.name = a,
                    ProviderField::LegalName => provider.legal_name = a,
                    ProviderField::Respondent => provider.respondent = a,
                    ProviderField::Email => provider.email = a,
                    _ => {}
                }
            }
        }
    }
    if let Some(name) = provider.name.get() {
        provider.id = slug(name);
    }
    provider
}

fn typed<T>(
    v: Normalised<Parsed>,
    raw: String,
    source: Option<SourceRef>,
    f: impl FnOnce(Parsed) -> Option<T>,
) -> Answer<T> {
    let value = match v {
        Normalised::Known(p) => f(p).map_or(Normalised::Unrecognised, Normalised::Known),
        Normalised::Unknown => Normalised::Unknown,
        Normalised::Unrecognised => Normalised::Unrecognised,
    };
    Answer { value, raw, source }
}

/// Finds the header row: the row, among the first `search_rows`, where the
/// most mapped headers appear and the country header is one of them.
pub fn find_header(sheet: &Sheet, columns: &[ColumnRule], search_rows: u32) -> Option<TableLayout> {
    let mut best: Option<TableLayout> = None;
    for row in 0..search_rows {
        let cells: Vec<(u32, String)> = sheet.row(row).map(|(c, v)| (c, fold_label(&v.display()))).collect();
        if cells.is_empty() {
            continue;
        }
        let mut taken: Vec<u32> = Vec::new();
        let mut found: Vec<(Field, u32)> = Vec::new();
        for exact in [true, false] {
            for rule in columns {
                if found.iter().any(|(f, _)| *f == rule.field) {
                    continue;
                }
                let hit = cells.iter().find(|(c, text)| {
                    !taken.contains(c) && rule.headers.iter().any(|h| label_matches(text, h) == Some(exact))
                });
                if let Some((c, _)) = hit {
                    taken.push(*c);
                    found.push((rule.field, *c));
                }
            }
        }
        if !found.iter().any(|(f, _)| *f == Field::Country) {
            continue;
        }
        if best.as_ref().is_none_or(|b| found.len() > b.columns.len()) {
            best = Some(TableLayout {
                header_row: row,
                columns: found,
            });
        }
    }
    best
}

fn parse_cell(rule: &ColumnRule, cell: Option<&CellValue>, mapping: &Mapping) -> Normalised<Parsed> {
    let r: &ValueRules = &rule.rules;
    match rule.field.kind() {
        FieldKind::Country => values::parse_country(cell, &mapping.country_aliases, r),
        FieldKind::YesNo => values::parse_yes_no(cell, r),
        FieldKind::Enum(_) => values::parse_enum(cell, r),
        FieldKind::WholeNumber => values::parse_whole_number(cell, &rule.zero, r),
        FieldKind::Date => values::parse_date(cell, &mapping.date_formats, r),
        FieldKind::Text => values::parse_text(cell, r),
        FieldKind::List => values::parse_list(cell, r),
    }
}

fn read_rows(sheet: &Sheet, mapping: &Mapping, layout: &TableLayout, file: &Arc<str>, out: &mut ProviderResponse) {
    let sheet_name: Arc<str> = sheet.name.as_str().into();
    let country_col = layout
        .columns
        .iter()
        .find(|(f, _)| *f == Field::Country)
        .map(|(_, c)| *c);
    let Some(country_col) = country_col else { return };
    // Only rows that hold something: a stray cell a million rows down costs
    // one row, not a million.
    let mut rows: Vec<u32> = sheet
        .cells
        .keys()
        .map(|(r, _)| *r)
        .filter(|r| *r > layout.header_row)
        .collect();
    // Merged areas extend answers to rows that hold no cell of their own.
    for &(r0, _, r1, _) in &sheet.merges {
        if r1 > layout.header_row && r1 - r0 < 10_000 {
            rows.extend((r0.max(layout.header_row + 1))..=r1);
        }
    }
    rows.sort_unstable();
    rows.dedup();
    for row in rows {
        let cell_of = |col: u32| sheet.get_merged(row, col);
        let any_answer = layout
            .columns
            .iter()
            .any(|(_, c)| cell_of(*c).is_some_and(|(v, _)| !v.is_blank()));
        if !any_answer {
            continue;
        }
        let country_rule = mapping.column(Field::Country);
        let country_cell = cell_of(country_col);
        let country = country_rule
            .map(|r| parse_cell(r, country_cell.map(|(v, _)| v), mapping))
            .unwrap_or(Normalised::Unknown);
        let at = SourceRef::new(file.clone(), sheet_name.clone(), row, country_col);
        let country = match country {
            Normalised::Known(Parsed::Country(c)) => c,
            Normalised::Unrecognised => {
                let raw = country_cell.map(|(v, _)| v.display()).unwrap_or_default();
                out.row_issues.push(RowIssue {
                    cell: at.to_string(),
                    unrecognised: Some((raw, at.clone())),
                    message: format!(
                        "'{}' is not a country iorready recognises; row {} skipped (add it under [country_aliases] in the mapping)",
                        country_cell.map(|(v, _)| v.display()).unwrap_or_default(),
                        row + 1
                    ),
                });
                continue;
            }
            _ => {
                out.row_issues.push(RowIssue {
                    cell: at.to_string(),
                    unrecognised: None,
                    message: format!("row {} has answers but no country; skipped", row + 1),
                });
                continue;
            }
        };
        let mut assessment = CountryAssessment {
            country: Some(country),
            country_source: Some(at),
            ..CountryAssessment::default()
        };
        for rule in &mapping.countries.columns {
            if rule.field == Field::Country {
                continue;
            }
            let Some(col) = layout.columns.iter().find(|(f, _)| *f == rule.field).map(|(_, c)| *c) else {
                continue;
            };
            let cell = cell_of(col);
            let (r, c) = cell.map(|(_, pos)| pos).unwrap_or((row, col));
            let value = parse_cell(rule, cell.map(|(v, _)| v), mapping);
            assessment.set(
                rule.field,
                Answer {
                    value,
                    raw: cell.map(|(v, _)| v.display()).unwrap_or_default(),
                    source: Some(SourceRef::new(file.clone(), sheet_name.clone(), r, c)),
                },
            );
        }
        match out.assessments.iter_mut().find(|a| a.country == Some(country)) {
            Some(first) => first.merge(&assessment),
            None => out.assessments.push(assessment),
        }
    }
}
