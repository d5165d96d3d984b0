//! The mapping file format (TOML) and its resolution into rules the reader
//! uses. Everything is checked here, once, with the file, line and key of
//! any mistake; nothing downstream re-validates.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::format::StrftimeItems;
use serde::Deserialize;
use strum::{IntoEnumIterator, VariantNames};

use super::values::{fold, ValueRules};
use crate::config::{ConfigError, Source};
use crate::model::source::column_index;
use crate::model::{Country, Field, FieldKind, ProviderField};

/// The bundled mapping for the reference questionnaire.
pub const QUESTIONNAIRE_V1: &str = include_str!("../../mappings/questionnaire-v1.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    mapping: RawMeta,
    #[serde(default)]
    answers: RawAnswers,
    #[serde(default)]
    country_aliases: BTreeMap<String, String>,
    provider: RawProvider,
    countries: RawCountries,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswers {
    unknown: Option<Vec<String>>,
    yes: Option<Vec<String>>,
    no: Option<Vec<String>>,
    zero: Option<Vec<String>>,
    date_formats: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    sheet: String,
    #[serde(default = "default_label_column")]
    label_column: String,
    #[serde(default = "default_value_column")]
    value_column: String,
    labels: BTreeMap<String, Vec<String>>,
}

fn default_label_column() -> String {
    "A".into()
}

fn default_value_column() -> String {
    "B".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCountries {
    sheet: String,
    #[serde(default = "default_header_search_rows")]
    header_search_rows: u32,
    columns: BTreeMap<String, RawColumn>,
}

fn default_header_search_rows() -> u32 {
    30
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    headers: Vec<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    values: BTreeMap<String, Vec<String>>,
    unknown: Option<Vec<String>>,
    zero: Option<Vec<String>>,
}

/// A resolved, valid mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Its name (`questionnaire-v1`).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Where provider details are.
    pub provider: ProviderSheet,
    /// Where the country table is.
    pub countries: CountryTable,
    /// Country aliases, folded, with the country each means.
    pub country_aliases: Vec<(String, Country)>,
    /// Answers meaning 0 in whole-number fields.
    pub zero: Vec<String>,
    /// Accepted date formats for dates written as text.
    pub date_formats: Vec<String>,
    /// Unknown tokens for provider details.
    pub unknown: ValueRules,
}

/// Provider details as question/answer rows.
#[derive(Debug, Clone)]
pub struct ProviderSheet {
    /// The sheet's name.
    pub sheet: String,
    /// Zero-based column holding the questions.
    pub label_col: u32,
    /// Zero-based column holding the answers.
    pub value_col: u32,
    /// The questions (folded) that identify each field.
    pub labels: Vec<(ProviderField, Vec<String>)>,
}

/// The row-per-country table.
#[derive(Debug, Clone)]
pub struct CountryTable {
    /// The sheet's name.
    pub sheet: String,
    /// How many rows from the top to search for the header row.
    pub header_search_rows: u32,
    /// One rule per mapped column.
    pub columns: Vec<ColumnRule>,
}

/// How one column of the table feeds one model field.
#[derive(Debug, Clone)]
pub struct ColumnRule {
    /// The model field.
    pub field: Field,
    /// Header texts (folded) that identify the column.
    pub headers: Vec<String>,
    /// The value rules (labels and unknown tokens).
    pub rules: ValueRules,
    /// Answers meaning 0, for whole-number fields.
    pub zero: Vec<String>,
}

/// The default tokens meaning "no answer".
const DEFAULT_UNKNOWN: [&str; 6] = ["-", "n/a", "na", "unknown", "tbc", "?"];
const DEFAULT_YES: [&str; 4] = ["yes", "y", "true", "x"];
const DEFAULT_NO: [&str; 3] = ["no", "n", "false"];
const DEFAULT_ZERO: [&str; 3] = ["none", "zero", "nil"];
const DEFAULT_DATE_FORMATS: [&str; 6] = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%B %d, %Y"];

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

impl Mapping {
    /// The bundled questionnaire-v1 mapping.
    pub fn builtin() -> Result<Mapping, ConfigError> {
        Self::from_source(&Source::new(
            "<built-in mappings/questionnaire-v1.toml>",
            QUESTIONNAIRE_V1,
        ))
    }

    /// Loads and checks a mapping file.
    pub fn load(path: &Path) -> Result<Mapping, ConfigError> {
        Self::from_source(&Source::read(path)?)
    }

    /// Checks a parsed mapping file.
    pub fn from_source(src: &Source) -> Result<Mapping, ConfigError> {
        let raw: RawMapping = src.parse()?;
        let unknown = raw.answers.unknown.clone().unwrap_or_else(|| strings(&DEFAULT_UNKNOWN));
        let yes = raw.answers.yes.clone().unwrap_or_else(|| strings(&DEFAULT_YES));
        let no = raw.answers.no.clone().unwrap_or_else(|| strings(&DEFAULT_NO));
        let zero: Vec<String> = raw.answers.zero.clone().unwrap_or_else(|| strings(&DEFAULT_ZERO));
        let date_formats = raw
            .answers
            .date_formats
            .clone()
            .unwrap_or_else(|| strings(&DEFAULT_DATE_FORMATS));
        for (i, f) in date_formats.iter().enumerate() {
            if StrftimeItems::new(f).parse().is_err() {
                return Err(src.error(
                    &format!("answers.date_formats[{i}]"),
                    format!("'{f}' is not a valid date format (use chrono's %Y, %m, %d, %B, %b)"),
                ));
            }
        }
        if raw.mapping.name.trim().is_empty() {
            return Err(src.error("mapping.name", "must not be empty"));
        }

        let mut country_aliases = Vec::new();
        for (alias, code) in &raw.country_aliases {
            let c = Country::from_alpha2(code.trim()).ok_or_else(|| {
                src.error(
                    &format!("country_aliases.{alias}"),
                    format!("'{code}' is not an ISO 3166-1 alpha-2 code"),
                )
            })?;
            country_aliases.push((fold(alias), c));
        }

        let provider = resolve_provider(src, &raw.provider)?;
        let mut columns = Vec::new();
        for (key, col) in &raw.countries.columns {
            let at = format!("countries.columns.{key}");
            let field: Field = key.parse().map_err(|_| {
                src.error(
                    &at,
                    format!(
                        "'{key}' is not a model field; expected one of: {}",
                        Field::VARIANTS.join(", ")
                    ),
                )
            })?;
            let defaults = AnswerDefaults {
                unknown: &unknown,
                yes: &yes,
                no: &no,
                zero: &zero,
            };
            columns.push(resolve_column(src, &at, field, col, &defaults)?);
        }
        if !columns.iter().any(|c| c.field == Field::Country) {
            return Err(src.error("countries.columns", "a `country` column is required"));
        }
        if raw.countries.header_search_rows == 0 || raw.countries.header_search_rows > 1000 {
            return Err(src.error("countries.header_search_rows", "must be between 1 and 1000"));
        }
        Ok(Mapping {
            name: raw.mapping.name,
            description: raw.mapping.description,
            provider,
            countries: CountryTable {
                sheet: raw.countries.sheet,
                header_search_rows: raw.countries.header_search_rows,
                columns,
            },
            country_aliases,
            zero,
            date_formats,
            unknown: ValueRules::new([], &unknown),
        })
    }

    /// The rule for a field, if the mapping has a column for it.
    pub fn column(&self, field: Field) -> Option<&ColumnRule> {
        self.countries.columns.iter().find(|c| c.field == field)
    }
}

fn resolve_provider(src: &Source, raw: &RawProvider) -> Result<ProviderSheet, ConfigError> {
    let label_col = column_index(raw.label_column.trim())
        .ok_or_else(|| src.error("provider.label_column", "expected a column letter such as A"))?;
    let value_col = column_index(raw.value_column.trim())
        .ok_or_else(|| src.error("provider.value_column", "expected a column letter such as B"))?;
    let mut labels = Vec::new();
    for (key, texts) in &raw.labels {
        let field: ProviderField = key.parse().map_err(|_| {
            let all: Vec<String> = ProviderField::iter().map(|f| f.to_string()).collect();
            src.error(
                &format!("provider.labels.{key}"),
                format!("'{key}' is not a provider field; expected one of: {}", all.join(", ")),
            )
        })?;
        if texts.iter().all(|t| fold(t).is_empty()) {
            return Err(src.error(&format!("provider.labels.{key}"), "give at least one question text"));
        }
        labels.push((field, texts.iter().map(|t| fold(t)).collect()));
    }
    Ok(ProviderSheet {
        sheet: raw.sheet.clone(),
        label_col,
        value_col,
        labels,
    })
}

/// The mapping-wide answer tokens a column inherits unless it sets its own.
struct AnswerDefaults<'a> {
    unknown: &'a [String],
    yes: &'a [String],
    no: &'a [String],
    zero: &'a [String],
}

fn resolve_column(
    src: &Source,
    at: &str,
    field: Field,
    raw: &RawColumn,
    defaults: &AnswerDefaults<'_>,
) -> Result<ColumnRule, ConfigError> {
    let AnswerDefaults { unknown, yes, no, zero } = *defaults;
    let kind = field.kind();
    if let Some(t) = &raw.kind {
        if t != kind.name() {
            return Err(src.error(
                &format!("{at}.type"),
                format!("field `{}` holds {} values, not '{t}'", field.id(), kind.name()),
            ));
        }
    }
    if raw.headers.iter().all(|h| fold(h).is_empty()) {
        return Err(src.error(&format!("{at}.headers"), "give at least one header text"));
    }
    let allowed: &[&'static str] = match kind {
        FieldKind::Enum(ids) => ids,
        FieldKind::YesNo => &["yes", "no"],
        _ => &[],
    };
    let mut labels: Vec<(String, &'static str)> = Vec::new();
    for (id, texts) in &raw.values {
        let Some(id) = allowed.iter().find(|a| **a == id.as_str()) else {
            let expected = if allowed.is_empty() {
                format!("field `{}` takes no value labels", field.id())
            } else {
                format!("expected one of: {}", allowed.join(", "))
            };
            return Err(src.error(
                &format!("{at}.values.{id}"),
                format!("'{id}' is not a value of `{}`; {expected}", field.id()),
            ));
        };
        labels.extend(texts.iter().map(|t| (t.clone(), *id)));
    }
    if kind == FieldKind::YesNo {
        labels.extend(yes.iter().map(|t| (t.clone(), "yes")));
        labels.extend(no.iter().map(|t| (t.clone(), "no")));
    }
    if let FieldKind::Enum(ids) = kind {
        // The identifiers themselves are always accepted ("own_entity").
        labels.extend(ids.iter().map(|id| ((*id).to_owned(), *id)));
        labels.extend(ids.iter().map(|id| (id.replace('_', " "), *id)));
    }
    let unknown = raw.unknown.clone().unwrap_or_else(|| unknown.to_vec());
    let rules = ValueRules::new(labels, &unknown);
    if raw.zero.is_some() && kind != FieldKind::WholeNumber {
        return Err(src.error(
            &format!("{at}.zero"),
            format!("field `{}` is not a whole number", field.id()),
        ));
    }
    Ok(ColumnRule {
        zero: raw.zero.clone().unwrap_or_else(|| zero.to_vec()),
        field,
        headers: raw.headers.iter().map(|h| fold(h)).filter(|h| !h.is_empty()).collect(),
        rules,
    })
}
