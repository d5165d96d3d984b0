//! The matrix layout: questions down the rows, one column per country, as
//! in an RFP response matrix. The country header row is the row with the
//! most countries; the question column is given or found by its labels.

use std::sync::Arc;

use super::extract::{
    answer_at, choose_sheets, country_of, field_for_label, fold_label, Extracted, Found, MappingError, Placement,
};
use super::spec::Mapping;
use crate::model::source::a1;
use crate::model::{Country, CountryAssessment, Field, Normalised, Parsed, ProviderResponse, RowIssue, SourceRef};
use crate::sources::{Sheet, Workbook};

/// Columns searched for question labels when the mapping does not say.
const QUESTION_COLUMN_SEARCH: u32 = 6;

/// The column holding the most question labels among the first columns.
fn question_columns(sheet: &Sheet, mapping: &Mapping, given: &[u32]) -> Vec<u32> {
    if !given.is_empty() {
        return given.to_vec();
    }
    (0..QUESTION_COLUMN_SEARCH)
        .map(|col| {
            let hits = sheet
                .cells
                .iter()
                .filter(|((_, c), v)| *c == col && field_for_label(mapping, &fold_label(&v.display())).is_some())
                .count();
            (hits, col)
        })
        .filter(|(hits, _)| *hits > 0)
        .max_by_key(|(hits, col)| (*hits, std::cmp::Reverse(*col)))
        .map(|(_, col)| vec![col])
        .unwrap_or_default()
}

/// The row, among the first ones, with the most country names right of the
/// question columns, and its countries by column.
fn country_header(sheet: &Sheet, mapping: &Mapping, after_col: u32) -> Option<(u32, Vec<(u32, Country)>)> {
    (0..mapping.countries.header_search_rows)
        .map(|row| {
            let countries: Vec<(u32, Country)> = sheet
                .row(row)
                .filter(|(c, _)| *c > after_col)
                .filter_map(|(c, v)| match country_of(v, mapping) {
                    Normalised::Known(Parsed::Country(k)) => Some((c, k)),
                    _ => None,
                })
                .collect();
            (row, countries)
        })
        .filter(|(_, c)| !c.is_empty())
        .max_by_key(|(row, c)| (c.len(), std::cmp::Reverse(*row)))
}

/// Reads a matrix.
pub(super) fn read(
    wb: &Workbook,
    mapping: &Mapping,
    file: &Arc<str>,
    given: &[u32],
) -> Result<Extracted, MappingError> {
    let sheets = choose_sheets(wb, mapping, file, |s| {
        let q = question_columns(s, mapping, given);
        let after = q.iter().max().copied().unwrap_or(0);
        if q.is_empty() {
            return 0;
        }
        country_header(s, mapping, after).map_or(0, |(_, c)| c.len())
    })?;
    let sheet = sheets[0];
    let questions = question_columns(sheet, mapping, given);
    let no_header = |what: String| MappingError::HeaderNotFound {
        file: file.to_string(),
        what: format!("sheet '{}': {what}", sheet.name),
    };
    let Some(&last_question_col) = questions.iter().max() else {
        return Err(no_header("no column holds the mapping's question labels".into()));
    };
    let (header_row, countries) = country_header(sheet, mapping, last_question_col).ok_or_else(|| {
        no_header(format!(
            "no row of country names right of the question column in the first {} rows",
            mapping.countries.header_search_rows
        ))
    })?;
    let sheet_name: Arc<str> = sheet.name.as_str().into();
    let mut response = ProviderResponse::default();
    // Header cells that hold text but no country.
    for (c, v) in sheet.row(header_row).filter(|(c, _)| *c > last_question_col) {
        if countries.iter().any(|(k, _)| *k == c) || v.is_blank() {
            continue;
        }
        let at = SourceRef::new(file.clone(), sheet_name.clone(), header_row, c);
        response.row_issues.push(RowIssue {
            cell: at.to_string(),
            message: format!("'{}' is not a country iorready recognises; column skipped", v.display()),
            unrecognised: Some((v.display(), at)),
        });
    }
    // Question rows: the first row whose label names a field wins.
    let mut rows: Vec<(Field, u32, String)> = Vec::new();
    let mut labelled: Vec<(u32, u32, String)> = sheet
        .cells
        .iter()
        .filter(|((r, c), _)| *r > header_row && questions.contains(c))
        .map(|((r, c), v)| (*r, *c, fold_label(&v.display())))
        .collect();
    labelled.sort();
    for (row, col, text) in labelled {
        if let Some(rule) = field_for_label(mapping, &text) {
            if !rows.iter().any(|(f, _, _)| *f == rule.field) {
                rows.push((rule.field, row, format!("{}!{} '{}'", sheet.name, a1(row, col), text)));
            }
        }
    }
    for (col, country) in &countries {
        let mut a = CountryAssessment {
            country: Some(*country),
            country_source: Some(SourceRef::new(file.clone(), sheet_name.clone(), header_row, *col)),
            ..CountryAssessment::default()
        };
        for (field, row, _) in &rows {
            if let Some(rule) = mapping.column(*field) {
                a.set(*field, answer_at(rule, sheet, *row, *col, file, mapping));
            }
        }
        match response.assessments.iter_mut().find(|x| x.country == Some(*country)) {
            Some(first) => first.merge(&a),
            None => response.assessments.push(a),
        }
    }
    Ok(Extracted {
        responses: vec![response],
        placement: Placement::Rows {
            sheet: sheet.name.clone(),
            label_col: last_question_col,
        },
        found: rows
            .into_iter()
            .map(|(field, _, location)| Found { field, location })
            .collect(),
    })
}
