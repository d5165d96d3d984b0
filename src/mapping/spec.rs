//! The mapping file format (TOML) and its resolution into rules the reader
//! uses. Everything is checked here, once, with the file, line and key of
//! any mistake; nothing downstream re-validates. `docs/mappings.md` is the
//! reference for every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::format::StrftimeItems;
use regex::Regex;
use serde::Deserialize;
use strum::{IntoEnumIterator, VariantNames};

use super::path::RecordPath;
use super::values::{fold, ValueRules};
use crate::config::{ConfigError, Source};
use crate::model::source::column_index;
use crate::model::{Country, Field, FieldKind, Normalised, Parsed, ProviderField};
use crate::sources::CellValue;

/// The bundled mapping for the reference questionnaire.
pub const QUESTIONNAIRE_V1: &str = include_str!("../../mappings/questionnaire-v1.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    mapping: RawMeta,
    #[serde(default)]
    recognise: RawRecognise,
    #[serde(default)]
    answers: RawAnswers,
    #[serde(default)]
    country_aliases: BTreeMap<String, String>,
    #[serde(default)]
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
struct RawRecognise {
    #[serde(default)]
    sheets: Vec<String>,
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    sheet: Option<String>,
    label_column: Option<String>,
    value_column: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    cells: BTreeMap<String, String>,
    #[serde(default)]
    constants: BTreeMap<String, String>,
    #[serde(default)]
    columns: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    paths: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCountries {
    #[serde(default)]
    layout: RawLayout,
    sheet: Option<String>,
    sheet_pattern: Option<String>,
    #[serde(default = "default_header_search_rows")]
    header_search_rows: u32,
    #[serde(default = "one")]
    header_rows: u32,
    #[serde(default)]
    question_columns: Vec<String>,
    answer_column: Option<String>,
    country_cell: Option<String>,
    records: Option<String>,
    country_list: Option<String>,
    latest_by: Option<String>,
    #[serde(alias = "columns")]
    fields: BTreeMap<String, RawField>,
    #[serde(default)]
    derive: Vec<RawDerive>,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum RawLayout {
    #[default]
    Table,
    Matrix,
    SheetPerCountry,
    Records,
}

fn default_header_search_rows() -> u32 {
    30
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(default, alias = "labels")]
    headers: Vec<String>,
    path: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    values: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    patterns: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    keywords: BTreeMap<String, Vec<Vec<String>>>,
    unknown: Option<Vec<String>>,
    zero: Option<Vec<String>>,
    date_formats: Option<Vec<String>>,
    default: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDerive {
    field: String,
    value: String,
    when_answered: Vec<String>,
}

/// A resolved, valid mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Its name (`questionnaire-v1`).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The file it was read from (`None` for the built-in one).
    pub file: Option<PathBuf>,
    /// How to recognise the layout among others.
    pub recognise: Recognise,
    /// Where provider details are.
    pub provider: ProviderSpec,
    /// Where the countries' answers are.
    pub countries: CountrySpec,
    /// Country aliases, folded, with the country each means.
    pub country_aliases: Vec<(String, Country)>,
    /// Answers meaning 0 for provider-level numbers.
    pub zero: Vec<String>,
    /// Accepted date formats for provider-level dates written as text.
    pub date_formats: Vec<String>,
    /// Unknown tokens for provider details.
    pub unknown: ValueRules,
}

/// What identifies a layout: sheet names and header texts that must all be
/// present.
#[derive(Debug, Clone, Default)]
pub struct Recognise {
    /// Sheet names (compared without case).
    pub sheets: Vec<String>,
    /// Header texts (folded), found anywhere in the first rows of a sheet.
    pub headers: Vec<String>,
    /// Record paths that must lead to a value in a JSON document.
    pub paths: Vec<RecordPath>,
}

/// Where provider details come from; later sources fill what earlier ones
/// left blank: constants, fixed cells, labelled rows, table columns.
#[derive(Debug, Clone, Default)]
pub struct ProviderSpec {
    /// Question/answer rows: (sheet, question column, answer column).
    pub sheet: Option<(String, u32, u32)>,
    /// The questions (folded) that identify each field.
    pub labels: Vec<(ProviderField, Vec<String>)>,
    /// Fixed cells: (field, sheet or `None` for the provider sheet, row, col).
    pub cells: Vec<(ProviderField, Option<String>, u32, u32)>,
    /// Values written in the mapping.
    pub constants: Vec<(ProviderField, String)>,
    /// Columns of the country table holding provider details, by header
    /// (folded): a table with these holds many providers.
    pub columns: Vec<(ProviderField, Vec<String>)>,
    /// Record paths into each record, for the records layout.
    pub paths: Vec<(ProviderField, RecordPath)>,
}

/// How the countries' answers are laid out.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// One row per country (or per provider and country).
    Table {
        /// Rows a header spans (1 or 2).
        header_rows: u32,
    },
    /// Questions down the rows, one column per country.
    Matrix {
        /// Columns holding question texts or ids; empty: found by matching.
        question_columns: Vec<u32>,
    },
    /// One sheet per country, questions down the rows.
    SheetPerCountry {
        /// Columns holding question texts or ids.
        question_columns: Vec<u32>,
        /// The column holding the answers.
        answer_column: u32,
        /// Where the country is written; `None`: the sheet's name.
        country_cell: Option<(u32, u32)>,
    },
    /// JSON records (API exports): one record per provider, or per provider
    /// and country.
    Records {
        /// Pointer to the array of records in the document.
        records: String,
        /// Path, inside a record, to its array of countries; `None`: each
        /// record is one country.
        country_list: Option<RecordPath>,
        /// Path, inside a record, to the date-time (or number) that orders
        /// a provider's records: only its latest record is read (an API
        /// keeping every submission). `None`: every record is read.
        latest_by: Option<RecordPath>,
    },
}

/// How sheets are chosen.
#[derive(Debug, Clone)]
pub enum SheetChoice {
    /// By name (compared without case).
    Named(String),
    /// By a regular expression on the name; for sheet-per-country the first
    /// capture group, if any, names the country.
    Pattern(Regex),
    /// The sheet whose first rows hold the most of the mapping's headers.
    ByHeaders,
}

/// Where and how the countries' answers are read.
#[derive(Debug, Clone)]
pub struct CountrySpec {
    /// The layout.
    pub layout: Layout,
    /// Which sheet(s).
    pub sheet: SheetChoice,
    /// How many rows from the top to search for the header row.
    pub header_search_rows: u32,
    /// One rule per mapped field.
    pub fields: Vec<FieldRule>,
    /// Fields set from others.
    pub derive: Vec<Derive>,
}

/// How one model field is found and read.
#[derive(Debug, Clone)]
pub struct FieldRule {
    /// The model field.
    pub field: Field,
    /// Header texts, question texts or question ids (folded).
    pub headers: Vec<String>,
    /// The value rules.
    pub rules: ValueRules,
    /// Answers meaning 0, for whole-number fields.
    pub zero: Vec<String>,
    /// Date formats, for date fields.
    pub date_formats: Vec<String>,
    /// The answer to use when the column or question is absent.
    pub default: Option<String>,
    /// For the records layout: the record path to the answer.
    pub path: Option<RecordPath>,
}

/// A field set from others: `field` takes `value` when it is blank and
/// every field of `when_answered` is answered.
#[derive(Debug, Clone)]
pub struct Derive {
    /// The field set.
    pub field: Field,
    /// The answer given to it, read through its rules.
    pub value: String,
    /// The fields that must be answered.
    pub when_answered: Vec<Field>,
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

/// The mapping-wide answer tokens a field inherits unless it sets its own.
struct AnswerDefaults {
    unknown: Vec<String>,
    yes: Vec<String>,
    no: Vec<String>,
    zero: Vec<String>,
    date_formats: Vec<String>,
}

fn check_date_formats(src: &Source, at: &str, formats: &[String]) -> Result<(), ConfigError> {
    for (i, f) in formats.iter().enumerate() {
        if StrftimeItems::new(f).parse().is_err() {
            return Err(src.error(
                &format!("{at}[{i}]"),
                format!("'{f}' is not a valid date format (use chrono's %Y, %m, %d, %B, %b)"),
            ));
        }
    }
    Ok(())
}

fn column(src: &Source, key: &str, letters: &str) -> Result<u32, ConfigError> {
    column_index(letters.trim()).ok_or_else(|| {
        src.error(
            key,
            format!("'{letters}' is not a column; expected letters such as A or AB"),
        )
    })
}

/// `Sheet!B2` or `B2` into (sheet, row, column).
fn cell_ref(src: &Source, key: &str, text: &str) -> Result<(Option<String>, u32, u32), ConfigError> {
    let (sheet, a1) = match text.rsplit_once('!') {
        Some((s, c)) => (Some(s.trim_matches('\'').to_owned()), c),
        None => (None, text),
    };
    let letters: String = a1.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let digits = &a1[letters.len()..];
    match (column_index(&letters), digits.parse::<u32>()) {
        (Some(col), Ok(row)) if row >= 1 => Ok((sheet, row - 1, col)),
        _ => Err(src.error(key, format!("'{text}' is not a cell; expected B2 or Sheet!B2"))),
    }
}

/// The `[country_aliases]` of the bundled mapping, read once: folded
/// alias and country.
pub fn builtin_aliases() -> &'static [(String, Country)] {
    static ALIASES: std::sync::OnceLock<Vec<(String, Country)>> = std::sync::OnceLock::new();
    ALIASES.get_or_init(|| {
        // The bundled file is tested to load; a parse failure here would
        // only lose the fallback aliases.
        let table: toml::Table = toml::from_str(QUESTIONNAIRE_V1).unwrap_or_default();
        table
            .get("country_aliases")
            .and_then(toml::Value::as_table)
            .map(|t| {
                t.iter()
                    .filter_map(|(alias, code)| code.as_str().and_then(Country::from_alpha2).map(|c| (fold(alias), c)))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Refuses an answer written in the mapping (a default, a derived value)
/// that the field's own rules do not read as a value.
fn check_answer(
    src: &Source,
    key: &str,
    rule: &FieldRule,
    text: &str,
    aliases: &[(String, Country)],
) -> Result<(), ConfigError> {
    use super::values;
    let cell = CellValue::Text(text.to_owned());
    let r = &rule.rules;
    let parsed = match rule.field.kind() {
        FieldKind::Country => values::parse_country(Some(&cell), aliases, r),
        FieldKind::YesNo => values::parse_yes_no(Some(&cell), r),
        FieldKind::Enum(_) => values::parse_enum(Some(&cell), r),
        FieldKind::WholeNumber => values::parse_whole_number(Some(&cell), &rule.zero, r),
        FieldKind::Date => values::parse_date(Some(&cell), &rule.date_formats, r),
        FieldKind::Text | FieldKind::List => values::parse_text(Some(&cell), r),
    };
    match parsed {
        Normalised::Known(_) => Ok(()),
        _ => {
            let expected = match rule.field.kind() {
                FieldKind::Enum(ids) => format!("one of {} or one of its labels", ids.join(", ")),
                kind => format!("a {} answer", kind.name()),
            };
            Err(src.error(
                key,
                format!(
                    "'{text}' is not an answer `{}` reads; expected {expected}",
                    rule.field.id()
                ),
            ))
        }
    }
}

/// A record path (a JSON pointer that may pick list items by key), refused
/// with the file, line and key when malformed.
fn record_path(src: &Source, key: &str, text: &str) -> Result<RecordPath, ConfigError> {
    RecordPath::parse(text).map_err(|e| src.error(key, e.to_string()))
}

fn provider_field(src: &Source, key: &str, name: &str) -> Result<ProviderField, ConfigError> {
    name.parse().map_err(|_| {
        let all: Vec<String> = ProviderField::iter().map(|f| f.to_string()).collect();
        src.error(
            key,
            format!("'{name}' is not a provider field; expected one of: {}", all.join(", ")),
        )
    })
}

fn model_field(src: &Source, key: &str, name: &str) -> Result<Field, ConfigError> {
    name.parse().map_err(|_| {
        src.error(
            key,
            format!(
                "'{name}' is not a model field; expected one of: {}",
                Field::VARIANTS.join(", ")
            ),
        )
    })
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
        let mut m = Self::from_source(&Source::read(path)?)?;
        m.file = Some(path.to_owned());
        Ok(m)
    }

    /// Checks a parsed mapping file.
    pub fn from_source(src: &Source) -> Result<Mapping, ConfigError> {
        let raw: RawMapping = src.parse()?;
        if raw.mapping.name.trim().is_empty() {
            return Err(src.error("mapping.name", "must not be empty"));
        }
        let a = &raw.answers;
        let defaults = AnswerDefaults {
            unknown: a.unknown.clone().unwrap_or_else(|| strings(&DEFAULT_UNKNOWN)),
            yes: a.yes.clone().unwrap_or_else(|| strings(&DEFAULT_YES)),
            no: a.no.clone().unwrap_or_else(|| strings(&DEFAULT_NO)),
            zero: a.zero.clone().unwrap_or_else(|| strings(&DEFAULT_ZERO)),
            date_formats: a.date_formats.clone().unwrap_or_else(|| strings(&DEFAULT_DATE_FORMATS)),
        };
        check_date_formats(src, "answers.date_formats", &defaults.date_formats)?;

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

        // The bundled aliases (Deutschland, España...) serve every mapping;
        // a mapping's own come first.
        for (alias, c) in builtin_aliases() {
            if !country_aliases.iter().any(|(a, _)| a == alias) {
                country_aliases.push((alias.clone(), *c));
            }
        }
        let provider = resolve_provider(src, &raw.provider)?;
        let countries = resolve_countries(src, &raw.countries, &defaults)?;
        // Answers written in the mapping itself must be answers it reads.
        for rule in &countries.fields {
            if let Some(d) = &rule.default {
                check_answer(
                    src,
                    &format!("countries.fields.{}.default", rule.field.id()),
                    rule,
                    d,
                    &country_aliases,
                )?;
            }
        }
        for (i, d) in countries.derive.iter().enumerate() {
            let key = format!("countries.derive[{i}].value");
            let rule = countries.fields.iter().find(|r| r.field == d.field).ok_or_else(|| {
                src.error(
                    &format!("countries.derive[{i}].field"),
                    format!("`{}` has no [countries.fields] section", d.field.id()),
                )
            })?;
            check_answer(src, &key, rule, &d.value, &country_aliases)?;
        }
        let unknown = ValueRules::new([], &defaults.unknown);
        for (field, text) in &provider.constants {
            let cell = CellValue::Text(text.clone());
            let parsed = match field {
                ProviderField::ResponseDate => super::values::parse_date(Some(&cell), &defaults.date_formats, &unknown),
                ProviderField::CountriesClaimed => {
                    super::values::parse_whole_number(Some(&cell), &defaults.zero, &unknown)
                }
                _ => Normalised::Known(Parsed::Text(text.clone())),
            };
            if !matches!(parsed, Normalised::Known(_)) {
                return Err(src.error(
                    &format!("provider.constants.{field}"),
                    format!(
                        "'{text}' is not a {}",
                        if *field == ProviderField::ResponseDate {
                            "date in one of [answers] date_formats"
                        } else {
                            "whole number"
                        }
                    ),
                ));
            }
        }
        if !provider.columns.is_empty() && !matches!(countries.layout, Layout::Table { .. }) {
            return Err(src.error(
                "provider.columns",
                "provider columns need the table layout (one row per provider and country)",
            ));
        }
        let records = matches!(countries.layout, Layout::Records { .. });
        if !provider.paths.is_empty() && !records {
            return Err(src.error("provider.paths", "provider paths need the records layout"));
        }
        if records && !(raw.recognise.sheets.is_empty() && raw.recognise.headers.is_empty()) {
            return Err(src.error(
                "recognise",
                "a records mapping is recognised by `paths`, not sheets or headers",
            ));
        }
        if !records && !raw.recognise.paths.is_empty() {
            return Err(src.error(
                "recognise.paths",
                "`paths` recognise JSON records; a workbook mapping uses sheets and headers",
            ));
        }
        if records && (provider.sheet.is_some() || !provider.cells.is_empty() || !provider.columns.is_empty()) {
            return Err(src.error(
                "provider",
                "a records mapping reads provider details by `paths` (or constants)",
            ));
        }
        Ok(Mapping {
            name: raw.mapping.name,
            description: raw.mapping.description,
            file: None,
            recognise: Recognise {
                sheets: raw.recognise.sheets,
                headers: raw.recognise.headers.iter().map(|h| fold(h)).collect(),
                paths: raw
                    .recognise
                    .paths
                    .iter()
                    .enumerate()
                    .map(|(i, p)| record_path(src, &format!("recognise.paths[{i}]"), p))
                    .collect::<Result<_, _>>()?,
            },
            provider,
            countries,
            country_aliases,
            zero: defaults.zero,
            date_formats: defaults.date_formats,
            unknown: ValueRules::new([], &defaults.unknown),
        })
    }

    /// The rule for a field, if the mapping reads it.
    pub fn column(&self, field: Field) -> Option<&FieldRule> {
        self.countries.fields.iter().find(|c| c.field == field)
    }

    /// Where the mapping came from, for messages.
    pub fn origin(&self) -> String {
        match &self.file {
            Some(f) => format!("{} ({})", self.name, f.display()),
            None => format!("{} (built in)", self.name),
        }
    }
}

fn resolve_provider(src: &Source, raw: &RawProvider) -> Result<ProviderSpec, ConfigError> {
    let mut spec = ProviderSpec::default();
    if let Some(sheet) = &raw.sheet {
        let label_col = column(src, "provider.label_column", raw.label_column.as_deref().unwrap_or("A"))?;
        let value_col = column(src, "provider.value_column", raw.value_column.as_deref().unwrap_or("B"))?;
        spec.sheet = Some((sheet.clone(), label_col, value_col));
    } else if !raw.labels.is_empty() {
        return Err(src.error("provider.labels", "labelled rows need `provider.sheet`"));
    }
    for (key, texts) in &raw.labels {
        let at = format!("provider.labels.{key}");
        let field = provider_field(src, &at, key)?;
        if texts.iter().all(|t| fold(t).is_empty()) {
            return Err(src.error(&at, "give at least one question text"));
        }
        spec.labels.push((field, texts.iter().map(|t| fold(t)).collect()));
    }
    for (key, text) in &raw.cells {
        let at = format!("provider.cells.{key}");
        let field = provider_field(src, &at, key)?;
        let (sheet, row, col) = cell_ref(src, &at, text)?;
        if sheet.is_none() && spec.sheet.is_none() {
            return Err(src.error(&at, "name the sheet (Sheet!B2) or set `provider.sheet`"));
        }
        spec.cells.push((field, sheet, row, col));
    }
    for (key, value) in &raw.constants {
        spec.constants.push((
            provider_field(src, &format!("provider.constants.{key}"), key)?,
            value.clone(),
        ));
    }
    for (key, path) in &raw.paths {
        let at = format!("provider.paths.{key}");
        spec.paths
            .push((provider_field(src, &at, key)?, record_path(src, &at, path)?));
    }
    for (key, headers) in &raw.columns {
        let at = format!("provider.columns.{key}");
        let field = provider_field(src, &at, key)?;
        if headers.iter().all(|t| fold(t).is_empty()) {
            return Err(src.error(&at, "give at least one header text"));
        }
        spec.columns.push((field, headers.iter().map(|t| fold(t)).collect()));
    }
    Ok(spec)
}

fn resolve_countries(src: &Source, raw: &RawCountries, defaults: &AnswerDefaults) -> Result<CountrySpec, ConfigError> {
    let sheet = match (&raw.sheet, &raw.sheet_pattern) {
        (Some(_), Some(_)) => {
            return Err(src.error("countries.sheet_pattern", "give `sheet` or `sheet_pattern`, not both"))
        }
        (Some(name), None) => SheetChoice::Named(name.clone()),
        (None, Some(p)) => SheetChoice::Pattern(regex::RegexBuilder::new(p).case_insensitive(true).build().map_err(
            |e| {
                src.error(
                    "countries.sheet_pattern",
                    format!("not a valid regular expression: {e}"),
                )
            },
        )?),
        (None, None) => SheetChoice::ByHeaders,
    };
    let question_columns = raw
        .question_columns
        .iter()
        .enumerate()
        .map(|(i, c)| column(src, &format!("countries.question_columns[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    let layout = match raw.layout {
        RawLayout::Table => {
            if !(1..=2).contains(&raw.header_rows) {
                return Err(src.error("countries.header_rows", "a header spans 1 or 2 rows"));
            }
            Layout::Table {
                header_rows: raw.header_rows,
            }
        }
        RawLayout::Matrix => Layout::Matrix { question_columns },
        RawLayout::SheetPerCountry => {
            if question_columns.is_empty() {
                return Err(src.error(
                    "countries.question_columns",
                    "sheet_per_country needs the question column(s), e.g. [\"A\"]",
                ));
            }
            let answer = raw
                .answer_column
                .as_deref()
                .ok_or_else(|| src.error("countries.layout", "sheet_per_country needs `answer_column`"))?;
            let country_cell = match &raw.country_cell {
                Some(c) => {
                    let (sheet, row, col) = cell_ref(src, "countries.country_cell", c)?;
                    if sheet.is_some() {
                        return Err(src.error(
                            "countries.country_cell",
                            "give a cell without a sheet: it is read on every country's sheet",
                        ));
                    }
                    Some((row, col))
                }
                None => None,
            };
            if matches!(sheet, SheetChoice::Named(_)) {
                return Err(src.error(
                    "countries.sheet",
                    "sheet_per_country reads many sheets: give `sheet_pattern`",
                ));
            }
            Layout::SheetPerCountry {
                question_columns,
                answer_column: column(src, "countries.answer_column", answer)?,
                country_cell,
            }
        }
        RawLayout::Records => Layout::Records {
            records: src.json_pointer("countries.records", raw.records.as_deref().unwrap_or(""))?,
            country_list: raw
                .country_list
                .as_deref()
                .map(|p| record_path(src, "countries.country_list", p))
                .transpose()?,
            latest_by: raw
                .latest_by
                .as_deref()
                .map(|p| record_path(src, "countries.latest_by", p))
                .transpose()?,
        },
    };
    // Keys of another layout are refused rather than silently ignored.
    let misplaced: [(&str, bool, &[&str]); 9] = [
        ("records", raw.records.is_some(), &["records"]),
        ("country_list", raw.country_list.is_some(), &["records"]),
        ("latest_by", raw.latest_by.is_some(), &["records"]),
        ("header_rows", raw.header_rows != 1, &["table"]),
        (
            "question_columns",
            !raw.question_columns.is_empty(),
            &["matrix", "sheet_per_country"],
        ),
        ("answer_column", raw.answer_column.is_some(), &["sheet_per_country"]),
        ("country_cell", raw.country_cell.is_some(), &["sheet_per_country"]),
        ("sheet", raw.sheet.is_some(), &["table", "matrix", "sheet_per_country"]),
        (
            "sheet_pattern",
            raw.sheet_pattern.is_some(),
            &["table", "matrix", "sheet_per_country"],
        ),
    ];
    let here = match raw.layout {
        RawLayout::Table => "table",
        RawLayout::Matrix => "matrix",
        RawLayout::SheetPerCountry => "sheet_per_country",
        RawLayout::Records => "records",
    };
    for (key, present, belongs) in misplaced {
        if present && !belongs.contains(&here) {
            return Err(src.error(
                &format!("countries.{key}"),
                format!("`{key}` belongs to the {} layout, not {here}", belongs.join(" or ")),
            ));
        }
    }
    if raw.header_search_rows == 0 || raw.header_search_rows > 1000 {
        return Err(src.error("countries.header_search_rows", "must be between 1 and 1000"));
    }
    let mut fields = Vec::new();
    for (key, f) in &raw.fields {
        let at = format!("countries.fields.{key}");
        let field = model_field(src, &at, key)?;
        fields.push(resolve_field(src, &at, field, f, defaults)?);
    }
    let has_country = fields.iter().any(|c| c.field == Field::Country);
    let records = matches!(layout, Layout::Records { .. });
    for f in &fields {
        let at = format!("countries.fields.{}", f.field.id());
        match (&f.path, records) {
            (None, true) if f.default.is_none() => {
                return Err(src.error(&at, "the records layout reads each field by `path` (a JSON pointer)"))
            }
            (Some(_), false) => {
                return Err(src.error(
                    &format!("{at}.path"),
                    "`path` belongs to the records layout; use `headers`",
                ))
            }
            _ => {}
        }
    }
    match layout {
        Layout::Table { .. } | Layout::Records { .. } if !has_country => {
            return Err(src.error("countries.fields", "a `country` field is required in this layout"))
        }
        Layout::Matrix { .. } | Layout::SheetPerCountry { .. } if has_country => {
            return Err(src.error(
                "countries.fields.country",
                "in this layout the country comes from the column headers or the sheet, not a field",
            ))
        }
        _ => {}
    }
    let mut derive = Vec::new();
    for (i, d) in raw.derive.iter().enumerate() {
        let at = format!("countries.derive[{i}]");
        let field = model_field(src, &format!("{at}.field"), &d.field)?;
        let when_answered = d
            .when_answered
            .iter()
            .map(|w| model_field(src, &format!("{at}.when_answered"), w))
            .collect::<Result<Vec<_>, _>>()?;
        if when_answered.is_empty() {
            return Err(src.error(&format!("{at}.when_answered"), "name at least one field"));
        }
        derive.push(Derive {
            field,
            value: d.value.clone(),
            when_answered,
        });
    }
    Ok(CountrySpec {
        layout,
        sheet,
        header_search_rows: raw.header_search_rows,
        fields,
        derive,
    })
}

fn resolve_field(
    src: &Source,
    at: &str,
    field: Field,
    raw: &RawField,
    d: &AnswerDefaults,
) -> Result<FieldRule, ConfigError> {
    let kind = field.kind();
    if let Some(t) = &raw.kind {
        if t != kind.name() {
            return Err(src.error(
                &format!("{at}.type"),
                format!("field `{}` holds {} values, not '{t}'", field.id(), kind.name()),
            ));
        }
    }
    if raw.headers.iter().all(|h| fold(h).is_empty()) && raw.default.is_none() && raw.path.is_none() {
        return Err(src.error(
            &format!("{at}.headers"),
            "give at least one header text, question text or id (or a `default`)",
        ));
    }
    let allowed: &[&'static str] = match kind {
        FieldKind::Enum(ids) => ids,
        FieldKind::YesNo => &["yes", "no"],
        _ => &[],
    };
    let id_of = |key: &str, id: &str| -> Result<&'static str, ConfigError> {
        allowed.iter().find(|a| **a == id).copied().ok_or_else(|| {
            let expected = if allowed.is_empty() {
                format!("field `{}` takes no value rules", field.id())
            } else {
                format!("expected one of: {}", allowed.join(", "))
            };
            src.error(
                &format!("{at}.{key}.{id}"),
                format!("'{id}' is not a value of `{}`; {expected}", field.id()),
            )
        })
    };
    let mut labels: Vec<(String, &'static str)> = Vec::new();
    for (id, texts) in &raw.values {
        let id = id_of("values", id)?;
        labels.extend(texts.iter().map(|t| (t.clone(), id)));
    }
    if kind == FieldKind::YesNo {
        labels.extend(d.yes.iter().map(|t| (t.clone(), "yes")));
        labels.extend(d.no.iter().map(|t| (t.clone(), "no")));
    }
    if let FieldKind::Enum(ids) = kind {
        // The identifiers themselves are always accepted ("own_entity").
        labels.extend(ids.iter().map(|id| ((*id).to_owned(), *id)));
        labels.extend(ids.iter().map(|id| (id.replace('_', " "), *id)));
    }
    let unknown = raw.unknown.clone().unwrap_or_else(|| d.unknown.clone());
    let mut rules = ValueRules::new(labels, &unknown);
    for (id, list) in &raw.patterns {
        let value = id_of("patterns", id)?;
        for (i, p) in list.iter().enumerate() {
            let re = regex::RegexBuilder::new(p)
                .case_insensitive(true)
                .build()
                .map_err(|e| {
                    src.error(
                        &format!("{at}.patterns.{id}[{i}]"),
                        format!("not a valid regular expression: {e}"),
                    )
                })?;
            rules.patterns.push((re, value));
        }
    }
    for (id, groups) in &raw.keywords {
        let value = id_of("keywords", id)?;
        for (i, words) in groups.iter().enumerate() {
            let words: Vec<String> = words.iter().map(|w| fold(w)).filter(|w| !w.is_empty()).collect();
            if words.is_empty() {
                return Err(src.error(&format!("{at}.keywords.{id}[{i}]"), "give at least one word"));
            }
            rules.keywords.push((words, value));
        }
    }
    if raw.zero.is_some() && kind != FieldKind::WholeNumber {
        return Err(src.error(
            &format!("{at}.zero"),
            format!("field `{}` is not a whole number", field.id()),
        ));
    }
    if raw.date_formats.is_some() && kind != FieldKind::Date {
        return Err(src.error(
            &format!("{at}.date_formats"),
            format!("field `{}` is not a date", field.id()),
        ));
    }
    let date_formats = raw.date_formats.clone().unwrap_or_else(|| d.date_formats.clone());
    check_date_formats(src, &format!("{at}.date_formats"), &date_formats)?;
    Ok(FieldRule {
        field,
        headers: raw.headers.iter().map(|h| fold(h)).filter(|h| !h.is_empty()).collect(),
        rules,
        zero: raw.zero.clone().unwrap_or_else(|| d.zero.clone()),
        date_formats,
        default: raw.default.clone(),
        path: raw
            .path
            .as_deref()
            .map(|p| record_path(src, &format!("{at}.path"), p))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Normalised, Parsed};
    use crate::sources::CellValue;

    const HEAD: &str =
        "[mapping]\nname = \"t\"\n[countries]\nsheet = \"S\"\n[countries.fields.country]\nheaders = [\"Country\"]\n";

    fn mapping(extra: &str) -> Result<Mapping, ConfigError> {
        Mapping::from_source(&Source::new("t.toml", format!("{HEAD}{extra}")))
    }

    fn classify(m: &Mapping, field: Field, answer: &str) -> Normalised<&'static str> {
        m.column(field).unwrap().rules.classify(&fold(answer))
    }

    #[test]
    fn regular_expressions_map_answers_to_values() {
        let m = mapping("[countries.fields.operating_model]\nheaders = [\"Model\"]\npatterns.contracted_partner = [\"^exclusive\"]\n").unwrap();
        assert_eq!(
            classify(&m, Field::OperatingModel, "Exclusive agent (2y contract)"),
            Normalised::Known("contracted_partner")
        );
    }

    #[test]
    fn keyword_groups_need_every_word() {
        let m = mapping("[countries.fields.operating_model]\nheaders = [\"Model\"]\nkeywords.on_demand_partner = [[\"partner\", \"on demand\"]]\n").unwrap();
        assert_eq!(
            classify(&m, Field::OperatingModel, "We use a partner on demand"),
            Normalised::Known("on_demand_partner")
        );
        assert_eq!(
            classify(&m, Field::OperatingModel, "We use a partner"),
            Normalised::Unrecognised
        );
    }

    #[test]
    fn a_fields_own_unknown_tokens_replace_the_mappings() {
        let m = mapping(
            "[answers]\nunknown = [\"-\"]\n[countries.fields.liability]\nheaders = [\"L\"]\nunknown = [\"ask us\"]\n",
        )
        .unwrap();
        assert_eq!(classify(&m, Field::Liability, "Ask us"), Normalised::Unknown);
        assert_eq!(classify(&m, Field::Liability, "-"), Normalised::Unrecognised);
    }

    #[test]
    fn a_fields_own_date_formats_are_used() {
        let m =
            mapping("[countries.fields.licence_expiry]\nheaders = [\"E\"]\ndate_formats = [\"%m/%d/%Y\"]\n").unwrap();
        let rule = m.column(Field::LicenceExpiry).unwrap();
        let cell = CellValue::Text("03/14/2027".into());
        let got = super::super::values::parse_date(Some(&cell), &rule.date_formats, &rule.rules);
        assert_eq!(
            got,
            Normalised::Known(Parsed::Date(chrono::NaiveDate::from_ymd_opt(2027, 3, 14).unwrap()))
        );
    }

    #[test]
    fn a_bad_regular_expression_is_refused_with_its_key() {
        let err =
            mapping("[countries.fields.liability]\nheaders = [\"L\"]\npatterns.full = [\"(unclosed\"]\n").unwrap_err();
        assert_eq!(
            err.key.as_deref(),
            Some("countries.fields.liability.patterns.full[0]"),
            "{err}"
        );
        assert!(err.line.is_some());
    }

    #[test]
    fn value_rules_on_a_field_without_values_are_refused() {
        let err = mapping("[countries.fields.comments]\nheaders = [\"C\"]\nvalues.yes = [\"y\"]\n").unwrap_err();
        assert!(err.message.contains("takes no value rules"), "{err}");
    }

    #[test]
    fn derive_names_model_fields() {
        let err = mapping("[[countries.derive]]\nfield = \"evidence\"\nvalue = \"documented\"\nwhen_answered = [\"evidence_reference\"]\n").unwrap_err();
        assert!(err.message.contains("not a model field"), "{err}");
    }

    #[test]
    fn the_matrix_layout_takes_no_country_field() {
        let text = "[mapping]\nname = \"t\"\n[countries]\nlayout = \"matrix\"\n[countries.fields.country]\nheaders = [\"C\"]\n";
        let err = Mapping::from_source(&Source::new("t.toml", text)).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("countries.fields.country"), "{err}");
    }

    #[test]
    fn a_records_field_needs_a_json_pointer() {
        let text = "[mapping]\nname = \"t\"\n[countries]\nlayout = \"records\"\n[countries.fields.country]\npath = \"country\"\n";
        let err = Mapping::from_source(&Source::new("t.toml", text)).unwrap_err();
        assert!(err.message.contains("JSON pointer"), "{err}");
    }

    #[test]
    fn a_default_the_field_cannot_read_is_refused_with_its_key() {
        let err =
            mapping("[countries.fields.operating_model]\nheaders = [\"M\"]\ndefault = \"own_entityy\"\n").unwrap_err();
        assert_eq!(
            err.key.as_deref(),
            Some("countries.fields.operating_model.default"),
            "{err}"
        );
        assert!(err.line.is_some());
    }

    #[test]
    fn a_provider_constant_that_is_no_date_is_refused() {
        let err = mapping("[provider.constants]\nresponse_date = \"15/15/2026\"\n").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("provider.constants.response_date"), "{err}");
    }

    #[test]
    fn keys_of_another_layout_are_refused() {
        let text = "[mapping]\nname = \"t\"\n[countries]\nlayout = \"matrix\"\nheader_rows = 2\n[countries.fields.liability]\nheaders = [\"L\"]\n";
        let err = Mapping::from_source(&Source::new("t.toml", text)).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("countries.header_rows"), "{err}");
        assert_eq!(err.line, Some(5));
    }

    #[test]
    fn json_paths_do_not_recognise_a_workbook_mapping() {
        let err = mapping("[recognise]\npaths = [\"/data\"]\n").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("recognise.paths"), "{err}");
    }

    #[test]
    fn an_error_under_the_columns_alias_still_has_its_line() {
        let text = "[mapping]\nname = \"t\"\n[countries]\nsheet = \"S\"\n[countries.columns.country]\nheaders = [\"C\"]\n[countries.columns.liability]\nheaders = [\"L\"]\nvalues.caped = [\"x\"]\n";
        let err = Mapping::from_source(&Source::new("t.toml", text)).unwrap_err();
        assert_eq!(err.line, Some(9), "{err}");
    }

    #[test]
    fn a_malformed_key_segment_is_refused_with_its_file_line_and_key() {
        let text = "[mapping]\nname = \"t\"\n[countries]\nlayout = \"records\"\n[countries.fields.country]\npath = \"/answers/[field-name=country/answer\"\n";
        let err = Mapping::from_source(&Source::new("t.toml", text)).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("countries.fields.country.path"), "{err}");
        assert_eq!(err.line, Some(6), "{err}");
        assert!(err.to_string().contains("t.toml"), "{err}");
        assert!(err.message.contains("does not end with ]"), "{err}");
    }

    #[test]
    fn latest_by_belongs_to_the_records_layout() {
        let text = "[mapping]\nname = \"t\"\n[countries]\nlatest_by = \"/at\"\n[countries.fields.country]\nheaders = [\"C\"]\n";
        let err = Mapping::from_source(&Source::new("t.toml", text)).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("countries.latest_by"), "{err}");
    }

    #[test]
    fn provider_cells_need_a_sheet() {
        let err = mapping("[provider.cells]\nname = \"C3\"\n").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("provider.cells.name"), "{err}");
    }
}
