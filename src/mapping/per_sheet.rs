//! The sheet-per-country layout: one sheet per country, the country taken
//! from the sheet's name (or a capture group of the sheet pattern) or from
//! a cell, and question/answer rows found by question text or id.

use std::sync::Arc;

use super::extract::{
    answer_at, choose_sheets, country_of, field_for_label, fold_label, Extracted, Found, MappingError, Placement,
};
use super::spec::{Mapping, SheetChoice};
use crate::model::source::a1;
use crate::model::{CountryAssessment, Normalised, Parsed, ProviderResponse, RowIssue, SourceRef};
use crate::sources::{CellValue, Workbook};

/// Reads one sheet per country.
pub(super) fn read(
    wb: &Workbook,
    mapping: &Mapping,
    file: &Arc<str>,
    question_columns: &[u32],
    answer_column: u32,
    country_cell: Option<(u32, u32)>,
) -> Result<Extracted, MappingError> {
    let sheets = choose_sheets(wb, mapping, file, |_| 0)?;
    let mut response = ProviderResponse::default();
    let mut found: Vec<Found> = Vec::new();
    for sheet in sheets {
        let sheet_name: Arc<str> = sheet.name.as_str().into();
        // The country: a cell, else the pattern's first group, else the name.
        let (text, at) = match country_cell {
            Some((r, c)) => (
                sheet.get_merged(r, c).map(|(v, _)| v.display()).unwrap_or_default(),
                SourceRef::new(file.clone(), sheet_name.clone(), r, c),
            ),
            None => {
                let name = match &mapping.countries.sheet {
                    SheetChoice::Pattern(re) => re
                        .captures(&sheet.name)
                        .and_then(|c| c.get(1))
                        .map_or(sheet.name.as_str(), |m| m.as_str()),
                    _ => sheet.name.as_str(),
                };
                (
                    name.trim().to_owned(),
                    SourceRef::new(file.clone(), sheet_name.clone(), 0, 0),
                )
            }
        };
        let country = match country_of(&CellValue::Text(text.clone()), mapping) {
            Normalised::Known(Parsed::Country(c)) => c,
            _ => {
                response.row_issues.push(RowIssue {
                    cell: at.to_string(),
                    message: format!(
                        "sheet '{}': '{text}' is not a country iorready recognises; sheet skipped",
                        sheet.name
                    ),
                    unrecognised: Some((text, at)),
                });
                continue;
            }
        };
        let mut a = CountryAssessment {
            country: Some(country),
            country_source: Some(at),
            ..CountryAssessment::default()
        };
        let mut labelled: Vec<(u32, u32, String)> = sheet
            .cells
            .iter()
            .filter(|((_, c), _)| question_columns.contains(c))
            .map(|((r, c), v)| (*r, *c, fold_label(&v.display())))
            .collect();
        labelled.sort();
        let mut seen = Vec::new();
        for (row, col, text) in labelled {
            let Some(rule) = field_for_label(mapping, &text) else {
                continue;
            };
            if seen.contains(&rule.field) {
                continue;
            }
            seen.push(rule.field);
            a.set(rule.field, answer_at(rule, sheet, row, answer_column, file, mapping));
            if !found.iter().any(|f| f.field == rule.field) {
                found.push(Found {
                    field: rule.field,
                    location: format!(
                        "{}!{} '{}' (and the other country sheets)",
                        sheet.name,
                        a1(row, col),
                        text
                    ),
                });
            }
        }
        if seen.is_empty() {
            // A sheet named like a country ("ID - Instructions") but holding
            // none of the questions is not a country's answers.
            response.row_issues.push(RowIssue {
                cell: format!("'{}'", sheet.name),
                message: format!("sheet '{}' holds none of the mapping's questions; skipped", sheet.name),
                unrecognised: None,
            });
            continue;
        }
        match response.assessments.iter_mut().find(|x| x.country == Some(country)) {
            Some(first) => first.merge(&a),
            None => response.assessments.push(a),
        }
    }
    Ok(Extracted {
        responses: vec![response],
        placement: Placement::Sheets {
            label_col: question_columns.iter().max().copied().unwrap_or(0),
            value_col: answer_column,
        },
        found,
    })
}
