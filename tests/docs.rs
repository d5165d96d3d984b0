//! The examples in `docs/mappings.md` are real: every ```toml block loads as
//! a mapping, and a block that names an example workbook reads it fully.
//! `docs/scoring.md` and `docs/questionnaire.md` say what the code does: their
//! tables are read here and checked against the scoring code, the default
//! profile and the template, so that they cannot drift apart.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use common::*;
use iorready::config::Source;
use iorready::mapping::Mapping;
use iorready::model::{
    value_words, Answer, Country, CountryAssessment, Field, FieldKind, Parsed, Provider, ProviderResponse, SourceRef,
};
use iorready::scoring::{
    assess_response, more_than_months_before, within_days_after, Assessed, Confidence, CoverageClass, FlagCode,
    Profile, Tier, DEFAULT_PROFILE,
};
use iorready::template::{Input, COUNTRY_COLUMNS, PROVIDER_QUESTIONS};
use strum::IntoEnumIterator;

/// The ```toml blocks of the document, with the line each starts on.
fn toml_blocks(doc: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match current.take() {
            None if line.trim_start() == "```toml" => current = Some((i + 2, String::new())),
            None => {}
            Some(block) if fence => blocks.push(block),
            Some((start, mut text)) => {
                text.push_str(line);
                text.push('\n');
                current = Some((start, text));
            }
        }
    }
    blocks
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/mappings.md")).unwrap()
}

#[test]
fn the_reference_has_examples() {
    let blocks = toml_blocks(&doc());
    assert!(blocks.len() >= 5, "{} toml blocks", blocks.len());
}

#[test]
fn every_mapping_in_the_reference_loads() {
    for (line, text) in toml_blocks(&doc()) {
        let src = Source::new(format!("docs/mappings.md (block at line {line})"), text.as_str());
        if let Err(e) = Mapping::from_source(&src) {
            panic!("{e}");
        }
    }
}

#[test]
fn every_worked_example_reads_its_workbook() {
    let mut examples = 0;
    for (line, text) in toml_blocks(&doc()) {
        let Some(path) = text.lines().next().and_then(|l| l.strip_prefix("# example:")) else {
            continue;
        };
        examples += 1;
        let dir = tempfile::tempdir().unwrap();
        let mapping = dir.path().join("example.toml");
        std::fs::write(&mapping, &text).unwrap();
        let input = root().join(path.trim());
        let o = iorready(&["mapping", "check", mapping.to_str().unwrap(), input.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "docs/mappings.md block at line {line} on {}:\n{}{}",
            path.trim(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(examples >= 4, "a worked example per layout, found {examples}");
}

// --- docs/scoring.md and docs/questionnaire.md ---

/// A markdown table: its header (lower case) and its rows, every cell
/// trimmed and without backticks.
struct Table {
    /// The line of its header.
    line: usize,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// The cell of `row` in the column named `column`.
    fn cell<'a>(&self, row: &'a [String], column: &str) -> &'a str {
        let i = self
            .header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("the table at line {} has no column '{column}'", self.line));
        &row[i]
    }
}

/// The cells of a table line: `| a | `b` |` -> `a`, `b`.
fn cells(line: &str) -> Vec<String> {
    line[1..line.len() - 1]
        .split('|')
        .map(|c| c.trim().replace('`', ""))
        .collect()
}

/// Every table of a markdown document, outside code blocks.
fn tables(doc: &str) -> Vec<Table> {
    let mut out = Vec::new();
    let mut current: Option<Table> = None;
    let mut code = false;
    for (i, line) in doc.lines().enumerate() {
        let t = line.trim();
        if t.starts_with("```") {
            code = !code;
        }
        if code || t.len() < 2 || !t.starts_with('|') || !t.ends_with('|') {
            out.extend(current.take());
            continue;
        }
        let row = cells(t);
        let rule = row
            .iter()
            .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'));
        match current.as_mut() {
            None => {
                current = Some(Table {
                    line: i + 1,
                    header: row.iter().map(|c| c.to_lowercase()).collect(),
                    rows: Vec::new(),
                })
            }
            Some(table) if rule && table.rows.is_empty() => {}
            Some(table) => {
                assert_eq!(
                    row.len(),
                    table.header.len(),
                    "line {}: {} cells in a table of {} columns",
                    i + 1,
                    row.len(),
                    table.header.len()
                );
                table.rows.push(row);
            }
        }
    }
    out.extend(current);
    out
}

/// The tables whose columns are `header`, in order.
fn with_header<'a>(tables: &'a [Table], header: &[&str]) -> Vec<&'a Table> {
    let found: Vec<&Table> = tables.iter().filter(|t| t.header == header).collect();
    assert!(!found.is_empty(), "no table with the columns {header:?}");
    found
}

/// The one table whose columns are `header`.
fn the_table<'a>(tables: &'a [Table], header: &[&str]) -> &'a Table {
    let found = with_header(tables, header);
    assert_eq!(found.len(), 1, "tables with the columns {header:?}");
    found[0]
}

/// The row of `t` whose `column` reads `value`.
fn row_of<'a>(t: &'a Table, column: &str, value: &str) -> &'a [String] {
    t.rows
        .iter()
        .find(|r| t.cell(r, column) == value)
        .unwrap_or_else(|| panic!("the table at line {} has no row '{value}'", t.line))
}

fn scoring_doc() -> String {
    std::fs::read_to_string(root().join("docs/scoring.md")).unwrap()
}

fn number(text: &str) -> f64 {
    text.parse().unwrap_or_else(|_| panic!("'{text}' is not a number"))
}

/// The first whole number in a text: "3 to 9" -> 3.
fn first_number(text: &str) -> u32 {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no number in '{text}'"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("'{text}': {e}"))
}

fn yes(text: &str) -> bool {
    match text {
        "yes" => true,
        "no" => false,
        other => panic!("'{other}' is neither yes nor no"),
    }
}

/// One country of one provider, scored with the default profile.
fn assessed(provider: Provider, row: CountryAssessment, as_of: NaiveDate) -> Assessed {
    let response = ProviderResponse {
        provider,
        assessments: vec![row],
        row_issues: Vec::new(),
    };
    let profile = Profile::builtin().unwrap();
    assess_response(response, "example.xlsx".into(), "questionnaire-v1", &profile, as_of)
        .assessed
        .remove(0)
}

#[test]
fn the_scoring_reference_lists_every_field_with_its_type_values_and_whether_it_is_mandatory() {
    let tables = tables(&scoring_doc());
    let t = the_table(
        &tables,
        &["field", "questionnaire column", "type", "values", "mandatory"],
    );
    let documented: Vec<&str> = t.rows.iter().map(|r| t.cell(r, "field")).collect();
    let fields: Vec<&str> = Field::iter().map(Field::id).collect();
    assert_eq!(documented, fields);
    for (row, field) in t.rows.iter().zip(Field::iter()) {
        assert_eq!(t.cell(row, "questionnaire column"), field.label(), "{field}");
        assert_eq!(t.cell(row, "type"), field.kind().name(), "{field}");
        let values = match field.kind() {
            FieldKind::Enum(ids) => ids.join(", "),
            _ => String::new(),
        };
        assert_eq!(t.cell(row, "values"), values, "{field}");
        assert_eq!(t.cell(row, "mandatory") == "yes", field.is_mandatory(), "{field}");
    }
}

#[test]
fn every_answer_value_in_the_scoring_reference_is_that_of_the_default_profile() {
    let profile = Profile::builtin().unwrap();
    let v = &profile.values;
    let tables = tables(&scoring_doc());
    let mut documented = BTreeMap::new();
    for t in with_header(&tables, &["field", "answer", "shown as", "value"]) {
        for row in &t.rows {
            let key = (t.cell(row, "field").to_owned(), t.cell(row, "answer").to_owned());
            let shown_and_value = (t.cell(row, "shown as").to_owned(), number(t.cell(row, "value")));
            assert!(
                documented.insert(key.clone(), shown_and_value).is_none(),
                "{key:?} twice"
            );
        }
    }
    let valued = [
        ("ior_role", &v.ior_role),
        ("liability", &v.liability),
        ("operating_model", &v.operating_model),
        ("regulatory_pathway", &v.regulatory_pathway),
        ("product_compliance", &v.product_compliance),
        ("duties_funding", &v.duties_funding),
        ("vat_recovery", &v.vat_recovery),
        ("evidence", &v.evidence),
    ];
    let mut answers = 0;
    for (field, values) in valued {
        for (id, value) in values {
            answers += 1;
            let (shown, documented_value) = documented
                .get(&(field.to_owned(), id.clone()))
                .unwrap_or_else(|| panic!("docs/scoring.md does not value {field} {id}"));
            assert!(
                close(*documented_value, *value),
                "docs/scoring.md values {field} {id} at {documented_value}, the default profile at {value}"
            );
            assert_eq!(shown, value_words(id), "{field} {id}");
        }
    }
    assert_eq!(
        documented.len(),
        answers,
        "docs/scoring.md values answers the profile does not"
    );
}

#[test]
fn the_dimension_weights_in_the_scoring_reference_are_those_of_the_default_profile() {
    let profile = Profile::builtin().unwrap();
    let w = &profile.weights;
    let dimensions = assessed(Provider::default(), CountryAssessment::default(), date("2026-11-24")).dimensions;
    let tables = tables(&scoring_doc());
    let t = the_table(&tables, &["dimension", "profile key", "weight", "how it is valued"]);
    assert_eq!(t.rows.len(), dimensions.len(), "one row per dimension");
    let mut sum = 0.0;
    for (row, d) in t.rows.iter().zip(&dimensions) {
        let key = t.cell(row, "profile key");
        let weight = number(t.cell(row, "weight"));
        assert_eq!(t.cell(row, "dimension"), d.dimension.label());
        assert_eq!(key, format!("weights.{}", d.dimension));
        let in_profile = match key {
            "weights.legal_standing" => w.legal_standing,
            "weights.in_country_operation" => w.in_country_operation,
            "weights.execution_history" => w.execution_history,
            "weights.regulatory_pathway" => w.regulatory_pathway,
            "weights.product_compliance" => w.product_compliance,
            "weights.duties_and_vat" => w.duties_and_vat,
            "weights.lead_time" => w.lead_time,
            other => panic!("{other} is not a weight of the profile"),
        };
        assert!(
            close(weight, in_profile),
            "docs/scoring.md: {key} = {weight}, the profile: {in_profile}"
        );
        assert!(close(weight, d.weight), "{key}: {weight}, scored with {}", d.weight);
        sum += weight;
    }
    assert!(close(sum, 1.0), "the weights in docs/scoring.md sum to {sum}");
}

#[test]
fn the_execution_history_bands_in_the_scoring_reference_are_those_of_the_default_profile() {
    let profile = Profile::builtin().unwrap();
    let tables = tables(&scoring_doc());
    let t = the_table(&tables, &["ior shipments in the last 24 months", "value"]);
    let documented: Vec<(u32, f64)> = t
        .rows
        .iter()
        .map(|r| {
            let shipments = first_number(t.cell(r, "ior shipments in the last 24 months"));
            (shipments, number(t.cell(r, "value")))
        })
        .collect();
    let bands: Vec<(u32, f64)> = profile
        .execution_history
        .bands
        .iter()
        .map(|b| (b.min_executions, b.value))
        .collect();
    assert_eq!(documented, bands);
}

#[test]
fn the_lead_time_bands_in_the_scoring_reference_are_those_of_the_default_profile() {
    let profile = Profile::builtin().unwrap();
    let tables = tables(&scoring_doc());
    let t = the_table(&tables, &["lead time", "value"]);
    let mut bands = Vec::new();
    let mut longer = None;
    for row in &t.rows {
        let (text, value) = (t.cell(row, "lead time"), number(t.cell(row, "value")));
        if text.starts_with("up to") {
            bands.push((first_number(text), value));
        } else if text.starts_with("more than") {
            longer = Some((first_number(text), value));
        } else {
            panic!("docs/scoring.md: '{text}': write 'up to N days' or 'more than N days'");
        }
    }
    let expected: Vec<(u32, f64)> = profile.lead_time.bands.iter().map(|b| (b.max_days, b.value)).collect();
    assert_eq!(bands, expected);
    let last = expected.last().map_or(0, |b| b.0);
    assert_eq!(longer, Some((last, profile.lead_time.longer)));
}

/// A setting of the profile, by the dotted key the scoring reference gives.
fn setting(p: &Profile, key: &str) -> Option<String> {
    Some(match key {
        "name" => p.name.clone(),
        "execution_history.stale_after_months" => p.execution_history.stale_after_months.to_string(),
        "execution_history.stale_cap" => p.execution_history.stale_cap.to_string(),
        "lead_time.longer" => p.lead_time.longer.to_string(),
        "modifiers.expired_licence_factor" => p.modifiers.expired_licence_factor.to_string(),
        "modifiers.stale_response_months" => p.modifiers.stale_response_months.to_string(),
        "tiers.ready_min_score" => p.tiers.ready_min_score.to_string(),
        "tiers.conditional_min_score" => p.tiers.conditional_min_score.to_string(),
        "tiers.active_min_executions" => p.tiers.active_min_executions.to_string(),
        "flags.licence_expiring_days" => p.flags.licence_expiring_days.to_string(),
        "flags.coverage_inflation_ratio" => p.flags.coverage_inflation_ratio.to_string(),
        "deployment.require_provider_compliance" => p.deployment.require_provider_compliance.to_string(),
        _ => return None,
    })
}

#[test]
fn every_setting_in_the_scoring_reference_is_that_of_the_default_profile() {
    let profile = Profile::builtin().unwrap();
    let tables = tables(&scoring_doc());
    let t = the_table(&tables, &["setting", "default", "what it does"]);
    for row in &t.rows {
        let (key, documented) = (t.cell(row, "setting"), t.cell(row, "default"));
        let actual = setting(&profile, key)
            .unwrap_or_else(|| panic!("docs/scoring.md: '{key}' is not a setting of the profile"));
        let same = match (documented.parse::<f64>(), actual.parse::<f64>()) {
            (Ok(a), Ok(b)) => close(a, b),
            _ => documented == actual,
        };
        assert!(
            same,
            "docs/scoring.md: {key} = {documented}, the default profile: {actual}"
        );
    }
}

/// The keys of a TOML table that hold values, as dotted paths.
fn value_keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => value_keys(inner, &path, out),
            _ => out.push(path),
        }
    }
}

#[test]
fn every_key_of_the_default_profile_is_in_the_scoring_reference() {
    let doc = scoring_doc();
    let profile: toml::Table = toml::from_str(DEFAULT_PROFILE).unwrap();
    let mut keys = Vec::new();
    value_keys(&profile, "", &mut keys);
    let mut missing = BTreeSet::new();
    for key in keys {
        if let Some((section, _)) = key.rsplit_once('.') {
            let section = format!("`[{section}]`");
            if !doc.contains(&section) {
                missing.insert(section);
            }
        }
        // Answer values and severities have tables of their own, checked above.
        if key.starts_with("values.") || key.starts_with("flags.severity.") {
            continue;
        }
        let key = format!("`{key}`");
        if !doc.contains(&key) {
            missing.insert(key);
        }
    }
    assert!(missing.is_empty(), "docs/scoring.md does not mention {missing:?}");
}

#[test]
fn every_flag_code_is_in_the_scoring_reference_with_its_words_and_default_severity() {
    let p = Profile::builtin().unwrap();
    let tables = tables(&scoring_doc());
    let t = the_table(&tables, &["code", "in words", "severity", "scope", "raised when"]);
    let mut documented = BTreeMap::new();
    for row in &t.rows {
        let text = t.cell(row, "code");
        let code: FlagCode = text
            .parse()
            .unwrap_or_else(|_| panic!("docs/scoring.md: {text} is not a flag code"));
        assert!(documented.insert(code, row).is_none(), "{code} twice");
    }
    for code in FlagCode::iter() {
        let row = documented
            .get(&code)
            .unwrap_or_else(|| panic!("{code} is missing from the flag table of docs/scoring.md"));
        assert_eq!(t.cell(row, "in words"), code.words(), "{code}");
        assert_eq!(t.cell(row, "severity"), p.severity(code).to_string(), "{code}");
        assert!(!t.cell(row, "raised when").is_empty(), "{code}");
    }
    let figures = [
        (
            FlagCode::StaleExecution,
            format!("more than {} months", p.execution_history.stale_after_months),
        ),
        (
            FlagCode::StaleResponse,
            format!("more than {} months", p.modifiers.stale_response_months),
        ),
        (
            FlagCode::LicenceExpiring,
            format!("{} days", p.flags.licence_expiring_days),
        ),
        (
            FlagCode::CoverageInflation,
            format!("more than {} times", p.flags.coverage_inflation_ratio),
        ),
    ];
    for (code, figure) in figures {
        let when = t.cell(row_of(t, "code", code.code()), "raised when");
        assert!(when.contains(&figure), "{code}: '{when}' should say '{figure}'");
    }
}

#[test]
fn every_tier_coverage_class_and_confidence_level_is_in_the_scoring_reference() {
    let tables = tables(&scoring_doc());
    let t = the_table(&tables, &["tier", "shown as", "when"]);
    let documented: Vec<(&str, &str)> = t
        .rows
        .iter()
        .map(|r| (t.cell(r, "tier"), t.cell(r, "shown as")))
        .collect();
    let tiers: Vec<(&str, &str)> = Tier::ALL.iter().map(|x| (x.id(), x.label())).collect();
    assert_eq!(documented, tiers, "the tiers, best first");

    let t = the_table(&tables, &["class", "shown as", "when"]);
    let documented: BTreeSet<(&str, &str)> = t
        .rows
        .iter()
        .map(|r| (t.cell(r, "class"), t.cell(r, "shown as")))
        .collect();
    let classes: BTreeSet<(&str, &str)> = CoverageClass::ALL.iter().map(|x| (x.id(), x.label())).collect();
    assert_eq!(documented, classes);
    assert_eq!(t.rows.len(), classes.len());

    let t = the_table(&tables, &["confidence", "shown as", "when"]);
    let documented: Vec<(&str, &str)> = t
        .rows
        .iter()
        .map(|r| (t.cell(r, "confidence"), t.cell(r, "shown as")))
        .collect();
    let levels: Vec<(&str, &str)> = Confidence::ALL.iter().map(|x| (x.id(), x.label())).collect();
    assert_eq!(documented, levels, "the confidence levels, highest first");
}

#[test]
fn the_tier_thresholds_in_the_scoring_reference_are_those_of_the_default_profile() {
    let p = Profile::builtin().unwrap();
    let tables = tables(&scoring_doc());
    let t = the_table(&tables, &["tier", "shown as", "when"]);
    let when = |tier: Tier| t.cell(row_of(t, "tier", tier.id()), "when").to_owned();
    let expected = [
        (Tier::Ready, format!("score of {} or more", p.tiers.ready_min_score)),
        (
            Tier::Conditional,
            format!("score of {} or more", p.tiers.conditional_min_score),
        ),
        (
            Tier::CoverageOnly,
            format!("score below {}", p.tiers.conditional_min_score),
        ),
    ];
    for (tier, figure) in expected {
        assert!(
            when(tier).contains(&figure),
            "{tier}: '{}' should say '{figure}'",
            when(tier)
        );
    }
    let classes = the_table(&tables, &["class", "shown as", "when"]);
    let active = classes.cell(row_of(classes, "class", "active"), "when");
    let figure = format!("at least {} IOR shipments", p.tiers.active_min_executions);
    assert!(active.contains(&figure), "active: '{active}' should say '{figure}'");
}

#[test]
fn the_date_examples_in_the_scoring_reference_follow_the_date_rules() {
    let tables = tables(&scoring_doc());
    let column = "more than that many months before";
    let t = the_table(&tables, &["date", "as-of date", "months", column]);
    assert!(t.rows.len() >= 4);
    for row in &t.rows {
        let (d, as_of) = (date(t.cell(row, "date")), date(t.cell(row, "as-of date")));
        let months = first_number(t.cell(row, "months"));
        assert_eq!(
            more_than_months_before(d, as_of, months),
            yes(t.cell(row, column)),
            "docs/scoring.md: {d}, as of {as_of}, {months} months"
        );
    }
    let column = "within that many days after";
    let t = the_table(&tables, &["date", "as-of date", "days", column]);
    assert!(t.rows.len() >= 4);
    for row in &t.rows {
        let (d, as_of) = (date(t.cell(row, "date")), date(t.cell(row, "as-of date")));
        let days = first_number(t.cell(row, "days"));
        assert_eq!(
            within_days_after(d, as_of, days),
            yes(t.cell(row, column)),
            "docs/scoring.md: {d}, as of {as_of}, {days} days"
        );
    }
}

#[test]
fn the_worked_example_in_the_scoring_reference_scores_as_it_says() {
    let tables = tables(&scoring_doc());
    let answers = the_table(&tables, &["question", "field", "value read"]);
    let mut as_of = None;
    let mut provider = Provider {
        name: Answer::known("Example".to_owned(), "Example", None),
        ..Provider::default()
    };
    let mut row = CountryAssessment::default();
    for (i, r) in answers.rows.iter().enumerate() {
        let text = answers.cell(r, "value read");
        let source = Some(SourceRef::new("example.xlsx".into(), "Countries".into(), 1, i as u32));
        match answers.cell(r, "field") {
            "as_of" => as_of = Some(date(text)),
            "response_date" => provider.response_date = Answer::known(date(text), text, source),
            id => {
                let field: Field = id
                    .parse()
                    .unwrap_or_else(|_| panic!("docs/scoring.md: '{id}' is not a field"));
                let parsed = match field.kind() {
                    FieldKind::Country => Parsed::Country(Country::lookup(text).expect(text)),
                    FieldKind::YesNo => Parsed::Bool(yes(text)),
                    FieldKind::Enum(ids) => Parsed::Enum(
                        ids.iter()
                            .copied()
                            .find(|x| *x == text)
                            .unwrap_or_else(|| panic!("'{text}' is not a value of {field}")),
                    ),
                    FieldKind::WholeNumber => Parsed::Number(text.parse().expect(text)),
                    FieldKind::Date => Parsed::Date(date(text)),
                    FieldKind::Text => Parsed::Text(text.to_owned()),
                    FieldKind::List => Parsed::List(text.split(';').map(|s| s.trim().to_owned()).collect()),
                };
                row.set(field, Answer::known(parsed, text, source));
            }
        }
    }
    let a = assessed(provider, row, as_of.expect("the example gives its as-of date"));

    let dimensions = the_table(&tables, &["dimension", "how it is valued", "value", "points"]);
    assert_eq!(dimensions.rows.len(), a.dimensions.len(), "one row per dimension");
    for d in &a.dimensions {
        let row = row_of(dimensions, "dimension", d.dimension.label());
        let (value, points) = (
            number(dimensions.cell(row, "value")),
            number(dimensions.cell(row, "points")),
        );
        assert!(
            close(value, d.value),
            "{}: the example says {value}, scored {}",
            d.dimension,
            d.value
        );
        assert!(
            close(points, d.points),
            "{}: the example says {points}, scored {}",
            d.dimension,
            d.points
        );
    }

    let results = the_table(&tables, &["result", "value"]);
    let result = |name: &str| results.cell(row_of(results, "result", name), "value").to_owned();
    assert!(close(number(&result("score")), a.score), "scored {}", a.score);
    assert_eq!(result("tier"), a.tier.id());
    assert_eq!(result("coverage class"), a.coverage_class.id());
    assert_eq!(result("confidence"), a.confidence.id());
    let documented = result("flags");
    let mut documented: Vec<&str> = documented.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let mut raised: Vec<&str> = a.flags.iter().map(|f| f.code.code()).collect();
    documented.sort_unstable();
    raised.sort_unstable();
    assert_eq!(documented, raised);
    assert_eq!(result("why this tier"), a.reason);
}

#[test]
fn the_questionnaire_reference_lists_the_template_questions_and_columns_in_order() {
    let doc = std::fs::read_to_string(root().join("docs/questionnaire.md")).unwrap();
    let tables = tables(&doc);
    let t = the_table(&tables, &["row", "question", "answer"]);
    let documented: Vec<(u32, &str)> = t
        .rows
        .iter()
        .map(|r| (first_number(t.cell(r, "row")), t.cell(r, "question")))
        .collect();
    let questions: Vec<(u32, &str)> = PROVIDER_QUESTIONS
        .iter()
        .enumerate()
        .map(|(i, q)| (i as u32 + 2, *q))
        .collect();
    assert_eq!(documented, questions);

    let t = the_table(&tables, &["column", "header", "answers offered", "field"]);
    assert_eq!(t.rows.len(), COUNTRY_COLUMNS.len(), "one row per column");
    let mut mandatory = Vec::new();
    for (i, (row, column)) in t.rows.iter().zip(&COUNTRY_COLUMNS).enumerate() {
        let letter = char::from(b'A' + i as u8).to_string();
        let header = column.header;
        assert_eq!(t.cell(row, "column"), letter, "{header}");
        assert_eq!(t.cell(row, "header"), header);
        let answers = t.cell(row, "answers offered");
        match column.input {
            Input::List => assert_eq!(answers, column.answers.join(", "), "{header}"),
            Input::Text => assert!(answers.starts_with("text"), "{header}: {answers}"),
            Input::Date => assert!(answers.starts_with("date"), "{header}: {answers}"),
            Input::WholeNumber => assert!(answers.starts_with("whole number"), "{header}: {answers}"),
        }
        let field = Field::iter()
            .find(|f| f.label() == header)
            .unwrap_or_else(|| panic!("no field is asked as '{header}'"));
        assert_eq!(t.cell(row, "field"), field.id(), "{header}");
        if field.is_mandatory() {
            mandatory.push(letter);
        }
    }
    let (last, others) = mandatory.split_last().unwrap();
    let sentence = format!("The mandatory questions are {} and {last}", others.join(", "));
    assert!(doc.contains(&sentence), "docs/questionnaire.md should say '{sentence}'");
}

#[test]
fn every_link_in_the_readme_and_the_docs_leads_to_a_file_of_the_repository() {
    let mut documents = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            documents.push(path);
        }
    }
    for document in documents {
        let text = std::fs::read_to_string(&document).unwrap();
        assert!(
            !text.contains("shared/spec"),
            "{} points at ../shared/spec, which a clone of the repository does not have",
            document.display()
        );
        let folder = document.parent().unwrap();
        for piece in text.split("](").skip(1) {
            let target = piece.split(')').next().unwrap_or_default();
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            assert!(
                folder.join(target).exists(),
                "{}: the link to {target} leads nowhere",
                document.display()
            );
        }
    }
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

#[test]
fn the_readme_says_how_to_install_iorready_and_what_the_first_build_costs() {
    let text = readme();
    for needed in ["cargo install --path .", "./target/release/iorready", "minutes", "GB"] {
        assert!(text.contains(needed), "README.md does not say {needed:?}");
    }
}

#[test]
fn every_score_command_in_the_readme_writes_into_a_folder_of_its_own() {
    let text = readme();
    let mut folders: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" score ") && l.contains("--out "))
        .filter_map(|l| l.split("--out ").nth(1)?.split_whitespace().next())
        // The synopsis names no folder.
        .filter(|f| *f != "DIR")
        .collect();
    assert!(folders.len() >= 2, "{folders:?}");
    let all = folders.len();
    folders.sort();
    folders.dedup();
    assert_eq!(folders.len(), all, "two commands share an output folder: {folders:?}");
}
