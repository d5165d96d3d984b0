//! The records layout: JSON documents of API records (a supplier export, an
//! ERP's questionnaire answers). Each record is one provider with a list of
//! countries, or one provider and country; values are addressed by JSON
//! pointers, read through the same value rules as cells, and cited by
//! pointer (`/suppliers/3/countries/0/model`).

use std::sync::Arc;

use serde_json::Value;

use super::extract::{finalize, parse_cell, Extracted, Found, MappingError, Placement, Responses};
use super::provider::{read_provider, set_detail};
use super::spec::{Layout, Mapping};
use crate::model::{
    Answer, CountryAssessment, Field, Normalised, Parsed, Provider, ProviderResponse, RowIssue, SourceRef,
};
use crate::sources::{CellValue, JsonDocument};

/// A JSON value as a cell: text, number or true/false; a list of scalars
/// becomes text separated by `; `; null is blank.
fn as_cell(v: &Value) -> Option<CellValue> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(CellValue::Bool(*b)),
        Value::Number(n) => n.as_f64().map(CellValue::Number),
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(CellValue::Text(s.clone())),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(as_cell).map(|c| c.display()).collect();
            (!parts.is_empty()).then(|| CellValue::Text(parts.join("; ")))
        }
        Value::Object(map) => Some(encoded_date(map).unwrap_or_else(|| CellValue::Text(v.to_string()))),
    }
}

/// A date or date-time as Tryton's JSON encodes it:
/// `{"__class__": "date", "year": 2026, "month": 10, "day": 1}` (and
/// `"datetime"` with hour, minute, second).
fn encoded_date(map: &serde_json::Map<String, Value>) -> Option<CellValue> {
    let class = map.get("__class__")?.as_str()?;
    let n = |k: &str| map.get(k).and_then(Value::as_u64);
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(n("year")?).ok()?, n("month")? as u32, n("day")? as u32)?;
    let time = match class {
        "date" => chrono::NaiveTime::MIN,
        "datetime" => chrono::NaiveTime::from_hms_opt(
            n("hour").unwrap_or(0) as u32,
            n("minute").unwrap_or(0) as u32,
            n("second").unwrap_or(0) as u32,
        )?,
        _ => return None,
    };
    Some(CellValue::Date(date.and_time(time)))
}

/// The kind of a JSON value, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Reads the records of a JSON document.
pub fn extract_records(doc: &JsonDocument, mapping: &Mapping) -> Result<Extracted, MappingError> {
    let file: Arc<str> = doc.path.display().to_string().into();
    let Layout::Records { records, country_list } = &mapping.countries.layout else {
        return Err(MappingError::HeaderNotFound {
            file: file.to_string(),
            what: format!("mapping '{}' reads workbooks, not JSON records", mapping.name),
        });
    };
    let Some(Value::Array(items)) = doc.value.pointer(records) else {
        return Err(MappingError::HeaderNotFound {
            file: file.to_string(),
            what: format!("no array of records at '{records}' (mapping '{}')", mapping.name),
        });
    };
    let mut responses = Responses::default();
    let mut issues = Vec::new();
    for (i, record) in items.iter().enumerate() {
        let base = format!("{records}/{i}");
        if !record.is_object() {
            issues.push(RowIssue {
                cell: base.clone(),
                message: format!("record {i} is not an object ({}); skipped", kind(record)),
                unrecognised: None,
            });
            continue;
        }
        let named = mapping
            .provider
            .paths
            .iter()
            .any(|(f, _)| *f == crate::model::ProviderField::Name);
        let mut details = Provider::default();
        for (field, path) in &mapping.provider.paths {
            let source = SourceRef::json(file.clone(), &format!("{base}{path}"));
            set_detail(
                &mut details,
                *field,
                record.pointer(path).and_then(as_cell).as_ref(),
                Some(source),
                mapping,
            );
        }
        if named && details.name.get().is_none() {
            issues.push(RowIssue {
                cell: base.clone(),
                message: format!("record {i} has no provider name; skipped"),
                unrecognised: None,
            });
            continue;
        }
        let response = responses.for_provider(details);
        let countries: Vec<(String, &Value)> = match country_list {
            Some(list) => match record.pointer(list) {
                Some(Value::Array(cs)) => cs
                    .iter()
                    .enumerate()
                    .map(|(j, c)| (format!("{base}{list}/{j}"), c))
                    .collect(),
                _ => Vec::new(),
            },
            None => vec![(base.clone(), record)],
        };
        for (at, object) in countries {
            read_country(object, &at, &file, mapping, response);
        }
    }
    // A path counts as found when at least one record has it: a misspelt
    // path then shows as not found (and a field's default applies).
    let objects: Vec<&Value> = items
        .iter()
        .flat_map(|record| match country_list {
            Some(list) => record
                .pointer(list)
                .and_then(Value::as_array)
                .map(|a| a.iter().collect::<Vec<_>>())
                .unwrap_or_default(),
            None => vec![record],
        })
        .collect();
    let found = mapping
        .countries
        .fields
        .iter()
        .filter_map(|r| {
            let path = r.path.as_ref()?;
            objects
                .iter()
                .any(|o| o.pointer(path).is_some_and(|v| !v.is_null()))
                .then(|| Found {
                    field: r.field,
                    location: format!("path {path}"),
                })
        })
        .collect();
    if let Some(first) = responses.first_mut() {
        first.row_issues.append(&mut issues);
    }
    let extracted = Extracted {
        responses: responses.into_vec(),
        placement: Placement::Records,
        found,
    };
    let details = read_provider(None, mapping, &file);
    finalize(extracted, details, &doc.path, mapping, &file)
}

fn read_country(object: &Value, at: &str, file: &Arc<str>, mapping: &Mapping, out: &mut ProviderResponse) {
    let answer = |path: &str| -> (Option<CellValue>, SourceRef) {
        (
            object.pointer(path).and_then(as_cell),
            SourceRef::json(file.clone(), &format!("{at}{path}")),
        )
    };
    let Some(country_rule) = mapping.column(Field::Country) else {
        return;
    };
    let (cell, source) = answer(country_rule.path.as_deref().unwrap_or(""));
    let country = match parse_cell(country_rule, cell.as_ref(), mapping) {
        Normalised::Known(Parsed::Country(c)) => c,
        other => {
            let raw = cell.map(|c| c.display()).unwrap_or_default();
            let unrecognised = matches!(other, Normalised::Unrecognised);
            out.row_issues.push(RowIssue {
                cell: source.to_string(),
                message: if unrecognised {
                    format!("'{raw}' is not a country iorready recognises; record skipped")
                } else {
                    "a record without a country; skipped".to_owned()
                },
                unrecognised: unrecognised.then(|| (raw, source.clone())),
            });
            return;
        }
    };
    let mut a = CountryAssessment {
        country: Some(country),
        country_source: Some(source),
        ..CountryAssessment::default()
    };
    for rule in &mapping.countries.fields {
        let (Some(path), false) = (&rule.path, rule.field == Field::Country) else {
            continue;
        };
        let (cell, source) = answer(path);
        a.set(
            rule.field,
            Answer {
                value: parse_cell(rule, cell.as_ref(), mapping),
                raw: cell.map(|c| c.display()).unwrap_or_default(),
                source: Some(source),
            },
        );
    }
    match out.assessments.iter_mut().find(|x| x.country == Some(country)) {
        Some(first) => first.merge(&a),
        None => out.assessments.push(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tryton_encoded_date_is_a_date() {
        let v: Value = serde_json::json!({"__class__": "date", "year": 2026, "month": 10, "day": 1});
        let expected = chrono::NaiveDate::from_ymd_opt(2026, 10, 1)
            .unwrap()
            .and_time(chrono::NaiveTime::MIN);
        assert_eq!(as_cell(&v), Some(CellValue::Date(expected)));
    }

    #[test]
    fn another_object_stays_text() {
        let v: Value = serde_json::json!({"a": 1});
        assert_eq!(as_cell(&v), Some(CellValue::Text("{\"a\":1}".into())));
    }
}
