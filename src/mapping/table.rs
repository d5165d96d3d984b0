//! The table layout: a header row (or two) and one row per country; with
//! provider columns, one row per provider and country (a consolidated
//! export holding many providers).

use std::sync::Arc;

use super::extract::{
    answer_at, choose_sheets, fold_label, label_matches, Extracted, Found, MappingError, Placement, Responses,
};
use super::provider::set_detail;
use super::spec::Mapping;
use crate::model::source::a1;
use crate::model::{
    CountryAssessment, Field, Normalised, Parsed, Provider, ProviderField, ProviderResponse, RowIssue, SourceRef,
};
use crate::sources::{Sheet, Workbook};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Column {
    Field(Field),
    Provider(ProviderField),
}

/// The header row and the column of each field found in it.
#[derive(Debug, Clone, PartialEq)]
struct Header {
    row: u32,
    columns: Vec<(Column, u32, String)>,
}

/// A header cell's text: with a two-row header, the upper row's text (from
/// a merged group heading too) joined to the lower one's.
fn header_texts(sheet: &Sheet, row: u32, header_rows: u32) -> Vec<(u32, Vec<String>)> {
    if header_rows < 2 || row == 0 {
        return sheet
            .row(row)
            .map(|(c, v)| (c, vec![fold_label(&v.display())]))
            .collect();
    }
    // Every column with a heading in either row, or under a merged one: a
    // heading may sit in the upper row only, or be merged down over both.
    let mut cols: Vec<u32> = sheet.row(row - 1).chain(sheet.row(row)).map(|(c, _)| c).collect();
    for &(r0, c0, r1, c1) in &sheet.merges {
        if r0 <= row && r1 >= row - 1 && c1 - c0 < 1000 {
            cols.extend(c0..=c1);
        }
    }
    cols.sort_unstable();
    cols.dedup();
    cols.into_iter()
        .filter_map(|c| {
            let text = |r: u32| {
                sheet
                    .get_merged(r, c)
                    .map(|(v, at)| (fold_label(&v.display()), at))
                    .filter(|(t, _)| !t.is_empty())
            };
            let (upper, lower) = (text(row - 1), text(row));
            let texts = match (upper, lower) {
                // One cell merged over both rows.
                (Some((u, a)), Some((_, b))) if a == b => vec![u],
                (Some((u, _)), Some((l, _))) => vec![format!("{u} {l}"), l, u],
                (Some((u, _)), None) => vec![u],
                (None, Some((l, _))) => vec![l],
                (None, None) => return None,
            };
            Some((c, texts))
        })
        .collect()
}

/// Finds the header row: among the first rows, the one where the most of
/// the mapping's headers appear and the country header is one of them.
fn find_header(sheet: &Sheet, mapping: &Mapping, header_rows: u32) -> Option<Header> {
    let mut wanted: Vec<(Column, &Vec<String>)> = mapping
        .countries
        .fields
        .iter()
        .map(|r| (Column::Field(r.field), &r.headers))
        .collect();
    wanted.extend(mapping.provider.columns.iter().map(|(f, h)| (Column::Provider(*f), h)));
    let first = if header_rows > 1 { 1 } else { 0 };
    let mut best: Option<Header> = None;
    for row in first..mapping.countries.header_search_rows {
        let cells = header_texts(sheet, row, header_rows);
        if cells.is_empty() {
            continue;
        }
        let mut found: Vec<(Column, u32, String)> = Vec::new();
        for exact in [true, false] {
            for (column, headers) in &wanted {
                if found.iter().any(|(c, _, _)| c == column) {
                    continue;
                }
                let hit = cells.iter().find(|(c, texts)| {
                    !found.iter().any(|(_, taken, _)| taken == c)
                        && texts
                            .iter()
                            .any(|t| headers.iter().any(|h| label_matches(t, h) == Some(exact)))
                });
                if let Some((c, texts)) = hit {
                    found.push((*column, *c, texts.first().cloned().unwrap_or_default()));
                }
            }
        }
        if !found.iter().any(|(c, _, _)| *c == Column::Field(Field::Country)) {
            continue;
        }
        let complete = found.len() == wanted.len();
        if best.as_ref().is_none_or(|b| found.len() > b.columns.len()) {
            best = Some(Header { row, columns: found });
        }
        // No later row can beat a row holding every header: the first such
        // row is the one kept anyway, so the search may stop there.
        if complete {
            break;
        }
    }
    best
}

/// Reads a table.
pub(super) fn read(
    wb: &Workbook,
    mapping: &Mapping,
    file: &Arc<str>,
    header_rows: u32,
) -> Result<Extracted, MappingError> {
    let sheets = choose_sheets(wb, mapping, file, |s| {
        find_header(s, mapping, header_rows).map_or(0, |h| h.columns.len())
    })?;
    let sheet = sheets[0];
    let header = find_header(sheet, mapping, header_rows).ok_or_else(|| {
        let tried = mapping
            .column(Field::Country)
            .map(|c| c.headers.join("', '"))
            .unwrap_or_default();
        MappingError::HeaderNotFound {
            file: file.to_string(),
            what: format!(
                "sheet '{}': no header row with a country column in the first {} rows (looked for: '{tried}')",
                sheet.name, mapping.countries.header_search_rows
            ),
        }
    })?;
    let found = header
        .columns
        .iter()
        .filter_map(|(c, col, text)| match c {
            Column::Field(f) => Some(Found {
                field: *f,
                location: format!("{}!{} '{}'", sheet.name, a1(header.row, *col), text),
            }),
            Column::Provider(_) => None,
        })
        .collect();
    let responses = read_rows(sheet, mapping, &header, file);
    Ok(Extracted {
        responses,
        placement: Placement::Columns {
            sheet: sheet.name.clone(),
            header_row: header.row,
        },
        found,
    })
}

fn read_rows(sheet: &Sheet, mapping: &Mapping, header: &Header, file: &Arc<str>) -> Vec<ProviderResponse> {
    let sheet_name: Arc<str> = sheet.name.as_str().into();
    let col_of = |c: Column| header.columns.iter().find(|(k, _, _)| *k == c).map(|(_, col, _)| *col);
    let Some(country_col) = col_of(Column::Field(Field::Country)) else {
        return Vec::new();
    };
    let provider_cols: Vec<(ProviderField, u32)> = header
        .columns
        .iter()
        .filter_map(|(k, col, _)| match k {
            Column::Provider(f) => Some((*f, *col)),
            Column::Field(_) => None,
        })
        .collect();
    let consolidated = !mapping.provider.columns.is_empty();
    // Only rows that hold something: a stray cell a million rows down costs
    // one row, not a million.
    let mut rows: Vec<u32> = sheet
        .cells
        .keys()
        .map(|(r, _)| *r)
        .filter(|r| *r > header.row)
        .collect();
    // Merged areas extend answers to rows that hold no cell of their own.
    for &(r0, _, r1, _) in &sheet.merges {
        if r1 > header.row && r1 - r0 < 10_000 {
            rows.extend((r0.max(header.row + 1))..=r1);
        }
    }
    rows.sort_unstable();
    rows.dedup();
    let mut responses = Responses::default();
    let mut single = ProviderResponse::default();
    for row in rows {
        let any_answer = header
            .columns
            .iter()
            .any(|(_, c, _)| sheet.get_merged(row, *c).is_some_and(|(v, _)| !v.is_blank()));
        if !any_answer {
            continue;
        }
        let out: &mut ProviderResponse = if consolidated {
            let mut details = Provider::default();
            for (field, col) in &provider_cols {
                let source = Some(SourceRef::new(file.clone(), sheet_name.clone(), row, *col));
                set_detail(
                    &mut details,
                    *field,
                    sheet.get_merged(row, *col).map(|(v, _)| v),
                    source,
                    mapping,
                );
            }
            if details.name.get().is_none() {
                single.row_issues.push(RowIssue {
                    cell: format!("{}!{}", sheet.name, a1(row, country_col)),
                    message: format!("row {} has answers but no provider name; skipped", row + 1),
                    unrecognised: None,
                });
                continue;
            }
            responses.for_provider(details)
        } else {
            &mut single
        };
        let at = SourceRef::new(file.clone(), sheet_name.clone(), row, country_col);
        let country = match mapping.column(Field::Country) {
            Some(rule) => answer_at(rule, sheet, row, country_col, file, mapping).value,
            None => Normalised::Unknown,
        };
        let country = match country {
            Normalised::Known(Parsed::Country(c)) => c,
            Normalised::Unrecognised => {
                let raw = sheet
                    .get_merged(row, country_col)
                    .map(|(v, _)| v.display())
                    .unwrap_or_default();
                out.row_issues.push(RowIssue {
                    cell: at.to_string(),
                    message: format!(
                        "'{raw}' is not a country iorready recognises; row {} skipped (add it under [country_aliases] in the mapping)",
                        row + 1
                    ),
                    unrecognised: Some((raw, at.clone())),
                });
                continue;
            }
            _ => {
                out.row_issues.push(RowIssue {
                    cell: at.to_string(),
                    message: format!("row {} has answers but no country; skipped", row + 1),
                    unrecognised: None,
                });
                continue;
            }
        };
        let mut assessment = CountryAssessment {
            country: Some(country),
            country_source: Some(at),
            ..CountryAssessment::default()
        };
        for rule in &mapping.countries.fields {
            if rule.field == Field::Country {
                continue;
            }
            if let Some(col) = col_of(Column::Field(rule.field)) {
                assessment.set(rule.field, answer_at(rule, sheet, row, col, file, mapping));
            }
        }
        match out.assessments.iter_mut().find(|a| a.country == Some(country)) {
            Some(first) => first.merge(&assessment),
            None => out.assessments.push(assessment),
        }
    }
    if consolidated {
        // Rows without a provider are reported on the first provider.
        if let Some(first) = responses.first_mut() {
            first.row_issues.append(&mut single.row_issues);
        }
        responses.into_vec()
    } else {
        vec![single]
    }
}
