//! The records layout: JSON documents of API records (a supplier export, an
//! ERP's questionnaire answers). Each record is one provider with a list of
//! countries, or one provider and country; values are addressed by record
//! paths (JSON pointers that may pick list items by key, see `path`), read
//! through the same value rules as cells, and cited by the concrete
//! pointer (`/suppliers/3/countries/0/model`).

use std::sync::Arc;

use serde_json::Value;

use super::extract::{finalize, parse_cell, Extracted, Found, MappingError, Placement, Responses};
use super::path::RecordPath;
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

/// The value at `path` in `value`, and where to cite it: the concrete
/// pointer when found, else the path as written (a missing answer is cited
/// where the mapping looked).
fn locate<'a>(value: &'a Value, path: &RecordPath) -> (Option<&'a Value>, String) {
    match path.resolve(value) {
        Some((v, at)) => (Some(v), at),
        None => (None, path.as_str().to_owned()),
    }
}

/// How records compare by `latest_by`: a date-time (RFC 3339, or a date)
/// by its instant, else a number, else text; a record without the value
/// is the oldest.
#[derive(Debug, PartialEq, PartialOrd)]
enum Recency {
    Missing,
    Text(String),
    Number(f64),
    Time(chrono::DateTime<chrono::FixedOffset>),
}

fn recency(v: Option<&Value>) -> Recency {
    match v {
        Some(Value::String(s)) => {
            let date = || {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc().fixed_offset())
            };
            match chrono::DateTime::parse_from_rfc3339(s).ok().or_else(date) {
                Some(t) => Recency::Time(t),
                None => Recency::Text(s.clone()),
            }
        }
        Some(Value::Number(n)) => n.as_f64().map_or(Recency::Missing, Recency::Number),
        _ => Recency::Missing,
    }
}

/// The name a record's provider goes by, as providers are told apart (for
/// `latest_by`); `None` without one.
fn provider_key(record: &Value, mapping: &Mapping) -> Option<String> {
    let (_, name_path) = mapping
        .provider
        .paths
        .iter()
        .find(|(f, _)| *f == crate::model::ProviderField::Name)?;
    name_path
        .get(record)
        .and_then(as_cell)
        .map(|c| crate::model::slug(&c.display()))
}

/// Reads a records mapping's records one at a time, as they arrive (a
/// page of an API read, an item of a document): memory holds what the
/// mapping made of them, not the records. Under `latest_by`, the latest
/// record of each provider so far is kept until [`RecordsReader::finish`].
pub struct RecordsReader<'m> {
    mapping: &'m Mapping,
    path: std::path::PathBuf,
    file: Arc<str>,
    /// The records pointer, to cite a record by (`/suppliers/3`).
    pointer: &'m str,
    country_list: Option<&'m RecordPath>,
    latest_by: Option<&'m RecordPath>,
    responses: Responses,
    issues: Vec<RowIssue>,
    /// Per country field rule: some record had a value at its path.
    found: Vec<bool>,
    /// Records pushed so far.
    count: usize,
    /// Under `latest_by`: per provider, the latest record so far, with its
    /// index (they are read in that order at the end) and recency.
    latest: std::collections::HashMap<String, (usize, Recency, Value)>,
}

impl<'m> RecordsReader<'m> {
    /// A reader for `mapping`, citing `path` as the records' source.
    pub fn new(mapping: &'m Mapping, path: &std::path::Path) -> Result<Self, MappingError> {
        let file: Arc<str> = path.display().to_string().into();
        let Layout::Records {
            records,
            country_list,
            latest_by,
        } = &mapping.countries.layout
        else {
            return Err(MappingError::HeaderNotFound {
                file: file.to_string(),
                what: format!("mapping '{}' reads workbooks, not JSON records", mapping.name),
            });
        };
        Ok(Self {
            mapping,
            path: path.to_owned(),
            file,
            pointer: records,
            country_list: country_list.as_ref(),
            latest_by: latest_by.as_ref(),
            responses: Responses::default(),
            issues: Vec::new(),
            found: vec![false; mapping.countries.fields.len()],
            count: 0,
            latest: Default::default(),
        })
    }

    /// The JSON pointer the mapping reads its records at.
    pub fn pointer(&self) -> &str {
        self.pointer
    }

    /// Reads the next record.
    pub fn push(&mut self, record: &Value) {
        let i = self.count;
        self.count += 1;
        self.note_found(record);
        let Some(by) = self.latest_by else {
            return self.read(i, record);
        };
        let Some(key) = provider_key(record, self.mapping) else {
            return self.read(i, record);
        };
        let r = recency(by.get(record));
        match self.latest.get_mut(&key) {
            Some(slot) if r > slot.1 => {
                tracing::debug!(record = %format!("{}/{}", self.pointer, slot.0), "a later record of the same provider is read instead");
                *slot = (i, r, record.clone());
            }
            // On a tie the first record stays.
            Some(_) => {
                tracing::debug!(record = %format!("{}/{i}", self.pointer), "a later record of the same provider is read instead");
            }
            None => {
                self.latest.insert(key, (i, r, record.clone()));
            }
        }
    }

    /// A path counts as found when at least one record (or country object
    /// in one) has it: a misspelt path then shows as not found, and the
    /// field's default applies.
    fn note_found(&mut self, record: &Value) {
        let mut mark = |object: &Value| {
            for (seen, rule) in self.found.iter_mut().zip(&self.mapping.countries.fields) {
                if !*seen {
                    *seen = rule
                        .path
                        .as_ref()
                        .is_some_and(|p| p.get(object).is_some_and(|v| !v.is_null()));
                }
            }
        };
        match self.country_list {
            Some(list) => {
                for object in list.get(record).and_then(Value::as_array).into_iter().flatten() {
                    mark(object);
                }
            }
            None => mark(record),
        }
    }

    fn read(&mut self, i: usize, record: &Value) {
        let mapping = self.mapping;
        let base = format!("{}/{i}", self.pointer);
        if !record.is_object() {
            self.issues.push(RowIssue {
                cell: base.clone(),
                message: format!("record {i} is not an object ({}); skipped", kind(record)),
                unrecognised: None,
            });
            return;
        }
        let named = mapping
            .provider
            .paths
            .iter()
            .any(|(f, _)| *f == crate::model::ProviderField::Name);
        let mut details = Provider::default();
        for (field, path) in &mapping.provider.paths {
            let (value, at) = locate(record, path);
            let source = SourceRef::json(self.file.clone(), &format!("{base}{at}"));
            set_detail(
                &mut details,
                *field,
                value.and_then(as_cell).as_ref(),
                Some(source),
                mapping,
            );
        }
        if named && details.name.get().is_none() {
            self.issues.push(RowIssue {
                cell: base.clone(),
                message: format!("record {i} has no provider name; skipped"),
                unrecognised: None,
            });
            return;
        }
        let response = self.responses.for_provider(details);
        let countries: Vec<(String, &Value)> = match self.country_list {
            Some(list) => match list.resolve(record) {
                Some((Value::Array(cs), at)) => cs
                    .iter()
                    .enumerate()
                    .map(|(j, c)| (format!("{base}{at}/{j}"), c))
                    .collect(),
                _ => Vec::new(),
            },
            None => vec![(base.clone(), record)],
        };
        for (at, object) in countries {
            read_country(object, &at, &self.file, mapping, response);
        }
    }

    /// What the mapping made of the records read.
    pub fn finish(mut self) -> Result<Extracted, MappingError> {
        let mut held: Vec<(usize, Value)> = std::mem::take(&mut self.latest)
            .into_values()
            .map(|(i, _, record)| (i, record))
            .collect();
        held.sort_by_key(|(i, _)| *i);
        for (i, record) in &held {
            self.read(*i, record);
        }
        let found = self
            .mapping
            .countries
            .fields
            .iter()
            .zip(&self.found)
            .filter_map(|(r, seen)| {
                let path = r.path.as_ref()?;
                seen.then(|| Found {
                    field: r.field,
                    location: format!("path {path}"),
                })
            })
            .collect();
        let mut responses = self.responses;
        if let Some(first) = responses.first_mut() {
            first.row_issues.append(&mut self.issues);
        }
        let extracted = Extracted {
            responses: responses.into_vec(),
            placement: Placement::Records,
            found,
        };
        let details = read_provider(None, self.mapping, &self.file);
        finalize(extracted, details, &self.path, self.mapping, &self.file)
    }
}

/// Reads the records of a JSON document.
pub fn extract_records(doc: &JsonDocument, mapping: &Mapping) -> Result<Extracted, MappingError> {
    let mut reader = RecordsReader::new(mapping, &doc.path)?;
    let Some(Value::Array(items)) = doc.value.pointer(reader.pointer) else {
        return Err(MappingError::HeaderNotFound {
            file: reader.file.to_string(),
            what: format!(
                "no array of records at '{}' (mapping '{}')",
                reader.pointer, mapping.name
            ),
        });
    };
    for record in items {
        reader.push(record);
    }
    reader.finish()
}

fn read_country(object: &Value, at: &str, file: &Arc<str>, mapping: &Mapping, out: &mut ProviderResponse) {
    let answer = |path: &RecordPath| -> (Option<CellValue>, SourceRef) {
        let (value, found_at) = locate(object, path);
        (
            value.and_then(as_cell),
            SourceRef::json(file.clone(), &format!("{at}{found_at}")),
        )
    };
    let Some(country_rule) = mapping.column(Field::Country) else {
        return;
    };
    let whole = RecordPath::default();
    let (cell, source) = answer(country_rule.path.as_ref().unwrap_or(&whole));
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
    use crate::config::Source;
    use serde_json::json;

    /// A form-shaped mapping: answers kept as `field-name`/`answer` pairs,
    /// one country per row of a child table.
    const FORM: &str = r#"
[mapping]
name = "form"
[provider.paths]
name = "/supplier/name"
[countries]
layout = "records"
records = "/responses"
country_list = "/answers/[field-name=countries]/rows"
latest_by = "/submitted-at"
[countries.fields.country]
path = "/answers/[field-name=country]/answer"
[countries.fields.ior_role]
path = "/answers/[field-name=ior_role]/answer"
values.provider_is_ior = ["We are IOR"]
"#;

    fn row(country: &str, role: &str) -> Value {
        json!({"answers": [
            {"field-name": "notes", "answer": ""},
            {"field-name": "ior_role", "answer": role},
            {"field-name": "country", "answer": country}
        ]})
    }

    fn response(name: &str, submitted: &str, rows: Vec<Value>) -> Value {
        json!({"supplier": {"name": name}, "submitted-at": submitted,
               "answers": [{"field-name": "intro", "answer": "x"}, {"field-name": "countries", "rows": rows}]})
    }

    fn read(responses: Vec<Value>) -> Vec<ProviderResponse> {
        let mapping = Mapping::from_source(&Source::new("form.toml", FORM)).unwrap();
        let doc = JsonDocument {
            path: "records.json".into(),
            value: json!({ "responses": responses }),
        };
        extract_records(&doc, &mapping).unwrap().responses
    }

    #[test]
    fn answers_are_picked_from_question_lists_by_key() {
        let got = read(vec![response(
            "Acme",
            "2026-10-01T09:00:00+00:00",
            vec![row("DE", "We are IOR")],
        )]);
        let a = &got[0].assessments[0];
        assert_eq!(a.country.map(|c| c.alpha2()), Some("DE"));
        assert_eq!(a.ior_role.get(), Some(&crate::model::IorRole::ProviderIsIor));
    }

    #[test]
    fn a_picked_answer_is_cited_by_the_index_it_matched() {
        let got = read(vec![response(
            "Acme",
            "2026-10-01T09:00:00+00:00",
            vec![row("DE", "x"), row("FR", "We are IOR")],
        )]);
        let fr = &got[0].assessments[1];
        assert_eq!(
            fr.ior_role.source.as_ref().map(ToString::to_string).as_deref(),
            Some("/responses/0/answers/1/rows/1/answers/1/answer")
        );
        assert_eq!(
            fr.country_source.as_ref().map(ToString::to_string).as_deref(),
            Some("/responses/0/answers/1/rows/1/answers/2/answer")
        );
    }

    #[test]
    fn only_the_latest_record_of_a_provider_is_read() {
        let got = read(vec![
            response(
                "Acme",
                "2026-10-01T09:00:00+00:00",
                vec![row("DE", "x"), row("FR", "x")],
            ),
            response("Acme", "2026-10-03T09:00:00+02:00", vec![row("IT", "We are IOR")]),
            response("Acme", "2026-09-01T09:00:00+00:00", vec![row("ES", "x")]),
        ]);
        assert_eq!(got.len(), 1);
        let countries: Vec<&str> = got[0]
            .assessments
            .iter()
            .filter_map(|a| a.country.map(|c| c.alpha2()))
            .collect();
        assert_eq!(countries, ["IT"], "the countries of the older responses are not read");
    }

    #[test]
    fn latest_by_keeps_one_record_per_provider_not_one_in_all() {
        let got = read(vec![
            response("Acme", "2026-10-01T09:00:00+00:00", vec![row("DE", "x")]),
            response("Borealis", "2026-09-01T09:00:00+00:00", vec![row("FR", "x")]),
        ]);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn records_read_one_at_a_time_map_as_the_whole_document_does() {
        let records = vec![
            response("Acme", "2026-10-01T09:00:00+00:00", vec![row("DE", "x")]),
            json!("not a record"),
            response("Borealis", "2026-09-01T09:00:00+00:00", vec![row("FR", "We are IOR")]),
            response("Acme", "2026-10-03T09:00:00+00:00", vec![row("IT", "We are IOR")]),
        ];
        let mapping = Mapping::from_source(&Source::new("form.toml", FORM)).unwrap();
        let mut reader = RecordsReader::new(&mapping, std::path::Path::new("records.json")).unwrap();
        for r in &records {
            reader.push(r);
        }
        let one_by_one = reader.finish().unwrap().responses;
        let summary = |rs: &[ProviderResponse]| -> Vec<(Option<String>, Vec<String>, Vec<String>)> {
            rs.iter()
                .map(|r| {
                    (
                        r.provider.name.get().cloned(),
                        r.assessments
                            .iter()
                            .filter_map(|a| a.ior_role.source.as_ref().map(ToString::to_string))
                            .collect(),
                        r.row_issues.iter().map(|i| i.cell.clone()).collect(),
                    )
                })
                .collect()
        };
        // Providers in the order of the records read for them; Acme's
        // latest (the fourth) is read, its first is not; the record that
        // is not an object is reported on the first provider.
        let expected = vec![
            (
                Some("Borealis".to_owned()),
                vec!["/responses/2/answers/1/rows/0/answers/1/answer".to_owned()],
                vec!["/responses/1".to_owned()],
            ),
            (
                Some("Acme".to_owned()),
                vec!["/responses/3/answers/1/rows/0/answers/1/answer".to_owned()],
                vec![],
            ),
        ];
        assert_eq!(summary(&one_by_one), expected);
        assert_eq!(summary(&read(records)), expected, "the whole document maps the same");
    }

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
