//! Reads a rollout from the workbook analysts keep (sheets `Rollout` and
//! `Options`, as `iorready template --rollout` writes them) or from TOML.
//! Every refusal names the file, sheet and cell (or line and key).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::rollout::{
    parse_country, parse_liability, parse_tier, parse_yes_no, split_names, Options, Rollout, RolloutError, Target,
};
use crate::config::Source;
use crate::model::source::a1;
use crate::sources::{read_workbook, CellValue, Sheet};

/// Reads `path`: TOML when it ends in `.toml`, else a workbook.
pub fn read_rollout(path: &Path) -> Result<Rollout, RolloutError> {
    let toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let rollout = if toml { read_toml(path)? } else { read_xlsx(path)? };
    rollout.check()?;
    Ok(rollout)
}

/// The columns of the Rollout sheet, by the words of their headers.
#[derive(Default)]
struct Columns {
    country: u32,
    minimum_tier: Option<u32>,
    fallback: Option<u32>,
    liability: Option<u32>,
    compliance: Option<u32>,
    notes: Option<u32>,
}

fn read_xlsx(path: &Path) -> Result<Rollout, RolloutError> {
    let file = path.display().to_string();
    let wb = read_workbook(path).map_err(|e| RolloutError {
        place: file.clone(),
        message: e.to_string(),
    })?;
    let Some(sheet) = wb.sheet("Rollout") else {
        let names: Vec<&str> = wb.sheets.iter().map(|s| s.name.as_str()).collect();
        return Err(RolloutError {
            place: file,
            message: format!(
                "no sheet named Rollout (the workbook has: {}); `iorready template --rollout` writes one",
                names.join(", ")
            ),
        });
    };
    let (header, cols) = header_of(sheet, &file)?;
    let last = sheet.last_row().unwrap_or(header);
    let mut targets = Vec::new();
    for row in header + 1..=last {
        if let Some(t) = target_of(sheet, row, &cols, &file)? {
            targets.push(t);
        }
    }
    let options = match wb.sheet("Options") {
        Some(s) => options_of(s, &file)?,
        None => Options::default(),
    };
    Ok(Rollout {
        file: path.to_owned(),
        targets,
        options,
    })
}

fn place(file: &str, sheet: &Sheet, row: u32, col: u32) -> String {
    format!("{file}, sheet {}, cell {}", sheet.name, a1(row, col))
}

fn text(sheet: &Sheet, row: u32, col: Option<u32>) -> String {
    col.and_then(|c| sheet.get(row, c))
        .map(|v| match v {
            CellValue::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
            other => other.display(),
        })
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The header row: the first of the first 20 rows with a `Country` cell.
fn header_of(sheet: &Sheet, file: &str) -> Result<(u32, Columns), RolloutError> {
    for row in 0..20 {
        let heads: BTreeMap<u32, String> = sheet
            .row(row)
            .map(|(c, v)| (c, v.display().trim().to_lowercase()))
            .collect();
        let Some(country) = heads.iter().find(|(_, h)| h.as_str() == "country").map(|(c, _)| *c) else {
            continue;
        };
        let find = |word: &str| heads.iter().find(|(_, h)| h.contains(word)).map(|(c, _)| *c);
        return Ok((
            row,
            Columns {
                country,
                minimum_tier: find("tier"),
                fallback: find("fallback"),
                liability: find("liability"),
                compliance: find("compliance"),
                notes: find("note"),
            },
        ));
    }
    Err(RolloutError {
        place: format!("{file}, sheet {}", sheet.name),
        message: "no header row with a Country column in the first 20 rows".into(),
    })
}

/// One row, or `None` for a blank one.
fn target_of(sheet: &Sheet, row: u32, cols: &Columns, file: &str) -> Result<Option<Target>, RolloutError> {
    let country_text = text(sheet, row, Some(cols.country));
    let others = [cols.minimum_tier, cols.fallback, cols.liability, cols.compliance];
    if country_text.is_empty() {
        if let Some(col) = others
            .iter()
            .flatten()
            .find(|c| !text(sheet, row, Some(**c)).is_empty())
        {
            return Err(RolloutError {
                place: place(file, sheet, row, cols.country),
                message: format!("the row has a value in {} but no country", a1(row, *col)),
            });
        }
        return Ok(None);
    }
    let err = |col: u32| {
        move |message| RolloutError {
            place: place(file, sheet, row, col),
            message,
        }
    };
    let country = parse_country(&country_text).map_err(err(cols.country))?;
    let mut target = Target {
        notes: text(sheet, row, cols.notes),
        place: format!("{file}, sheet {}, row {}", sheet.name, row + 1),
        ..Target::new(country)
    };
    // A blank cell keeps the default; anything else must parse.
    let given = |col: Option<u32>| {
        col.map(|c| (c, text(sheet, row, Some(c))))
            .filter(|(_, t)| !t.is_empty())
    };
    if let Some((c, t)) = given(cols.minimum_tier) {
        target.minimum_tier = parse_tier(&t, false).map_err(err(c))?;
    }
    if let Some((c, t)) = given(cols.fallback) {
        target.fallback_needed = parse_yes_no(&t).map_err(err(c))?;
    }
    if let Some((c, t)) = given(cols.liability) {
        target.liability = parse_liability(&t).map_err(err(c))?;
    }
    if let Some((c, t)) = given(cols.compliance) {
        target.provider_compliance = parse_yes_no(&t).map_err(err(c))?;
    }
    Ok(Some(target))
}

/// The Options sheet: a label in the first column, its value in the
/// second (the third explains it). Rows with other labels (headers, notes)
/// are left alone.
fn options_of(sheet: &Sheet, file: &str) -> Result<Options, RolloutError> {
    let mut options = Options::default();
    let last = sheet.last_row().unwrap_or(0);
    for row in 0..=last.min(200) {
        let label = text(sheet, row, Some(0)).to_lowercase();
        let value = text(sheet, row, Some(1));
        let at = || place(file, sheet, row, 1);
        let err = |message: String| RolloutError { place: at(), message };
        if label.starts_with("maximum providers") {
            options.max_providers = parse_maximum(&value).map_err(err)?;
        } else if label.starts_with("fallback minimum tier") && !value.is_empty() {
            options.fallback_tier = parse_tier(&value, true).map_err(err)?;
        } else if label.starts_with("exclude") || label.starts_with("prefer") {
            let names = split_names(&value);
            if label.starts_with("exclude") {
                options.exclude.extend(names);
            } else {
                options.prefer.extend(names);
            }
        }
    }
    Ok(options)
}

fn parse_maximum(value: &str) -> Result<Option<usize>, String> {
    let v = value.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("no limit") {
        return Ok(None);
    }
    match v.parse::<f64>() {
        Ok(n) if n >= 1.0 && n.fract() == 0.0 && n <= 100_000.0 => Ok(Some(n as usize)),
        _ => Err(format!(
            "'{value}' is not a number of providers; expected a whole number from 1, or blank for no limit"
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRollout {
    #[serde(default)]
    options: RawOptions,
    #[serde(default)]
    countries: Vec<RawTarget>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    maximum_providers: Option<usize>,
    fallback_minimum_tier: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    prefer: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    country: String,
    minimum_tier: Option<String>,
    fallback_needed: Option<bool>,
    liability: Option<String>,
    provider_handled_compliance: Option<bool>,
    #[serde(default)]
    notes: String,
}

fn read_toml(path: &Path) -> Result<Rollout, RolloutError> {
    let refused = |e: crate::config::ConfigError| RolloutError {
        place: match e.line {
            Some(line) => format!("{}:{line}", e.file.display()),
            None => e.file.display().to_string(),
        },
        message: match e.key {
            Some(k) => format!("key `{k}`: {}", e.message),
            None => e.message,
        },
    };
    let src = Source::read(path).map_err(refused)?;
    let raw: RawRollout = src.parse().map_err(refused)?;
    let key_err = |key: &str, message: String| refused(src.error(key, message));
    let mut options = Options {
        max_providers: raw.options.maximum_providers,
        exclude: raw.options.exclude,
        prefer: raw.options.prefer,
        ..Options::default()
    };
    if options.max_providers == Some(0) {
        return Err(key_err(
            "options.maximum_providers",
            "must be at least 1 (leave it out for no limit)".into(),
        ));
    }
    if let Some(t) = &raw.options.fallback_minimum_tier {
        options.fallback_tier = parse_tier(t, true).map_err(|m| key_err("options.fallback_minimum_tier", m))?;
    }
    let mut targets = Vec::new();
    for (i, r) in raw.countries.into_iter().enumerate() {
        let key = |k: &str| format!("countries[{}].{k}", i + 1);
        let country = parse_country(&r.country).map_err(|m| key_err(&key("country"), m))?;
        let mut target = Target {
            fallback_needed: r.fallback_needed.unwrap_or(true),
            provider_compliance: r.provider_handled_compliance.unwrap_or(false),
            notes: r.notes,
            place: format!("{}, {}", path.display(), key("country").trim_end_matches(".country")),
            ..Target::new(country)
        };
        if let Some(t) = &r.minimum_tier {
            target.minimum_tier = parse_tier(t, false).map_err(|m| key_err(&key("minimum_tier"), m))?;
        }
        if let Some(t) = &r.liability {
            target.liability = parse_liability(t).map_err(|m| key_err(&key("liability"), m))?;
        }
        targets.push(target);
    }
    Ok(Rollout {
        file: path.to_owned(),
        targets,
        options,
    })
}
