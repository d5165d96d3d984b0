//! The JSON result: a stable shape for automation. Field names and values
//! are the identifiers of capability-model.md.

use std::io::{BufRead, Write};
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use super::{write_atomically, SinkError, Spool};
use crate::scoring::{Flag, ProviderResult, Rollup};

/// The JSON result has this shape:
/// `{"schema_version", "as_of", "profile", "providers": [JsonProvider],
/// "errors": [JsonError]}`; it is written piece by piece (see
/// [`write_json`]) so that a run never holds all providers in memory.
pub const SCHEMA_VERSION: u32 = 1;

/// One provider.
#[derive(Debug, Serialize)]
pub struct JsonProvider {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Legal name, if given.
    pub legal_name: Option<String>,
    /// Response date, if given.
    pub response_date: Option<String>,
    /// The input path.
    pub source: String,
    /// The mapping used.
    pub mapping: String,
    /// The headline figure, or rows with coverage.
    pub countries_claimed: u32,
    /// Counts.
    pub rollup: Rollup,
    /// Provider-level flag codes.
    pub flags: Vec<String>,
    /// Provider-level flags in full.
    pub provider_flags: Vec<JsonFlag>,
    /// One per country.
    pub assessments: Vec<JsonAssessment>,
    /// Rows skipped while reading.
    pub warnings: Vec<JsonError>,
}

/// One country.
#[derive(Debug, Serialize)]
pub struct JsonAssessment {
    /// ISO alpha-2.
    pub country: String,
    /// English name.
    pub country_name: String,
    /// 0-100, 4 decimals.
    pub score: f64,
    /// Tier id.
    pub tier: String,
    /// Coverage class id.
    pub coverage_class: String,
    /// Confidence id.
    pub confidence: String,
    /// Evidence level after the staleness drop.
    pub evidence_level: String,
    /// Knockout reasons.
    pub knockouts: Vec<String>,
    /// The liability answer (`full`, `capped`, `none`), null when unknown:
    /// a rollout's liability minimum is checked against it.
    pub liability: Option<String>,
    /// The product compliance answer, null when unknown: a rollout that
    /// requires provider-handled compliance knocks out `not_supported`.
    pub product_compliance: Option<String>,
    /// Dimension values and points.
    pub dimensions: Vec<JsonDimension>,
    /// Flags.
    pub flags: Vec<JsonFlag>,
    /// Why the tier, in words.
    pub why: String,
    /// Where the country's row is.
    pub cell: Option<String>,
}

/// One dimension.
#[derive(Debug, Serialize)]
#[allow(missing_docs)]
pub struct JsonDimension {
    pub dimension: String,
    pub weight: f64,
    pub value: f64,
    pub points: f64,
}

/// One flag.
#[derive(Debug, Serialize)]
#[allow(missing_docs)]
pub struct JsonFlag {
    pub code: String,
    pub severity: String,
    pub message: String,
    pub cells: Vec<String>,
}

/// An input that failed, or a row that was skipped.
#[derive(Debug, Serialize)]
pub struct JsonError {
    /// The file (or cell, for warnings).
    pub file: String,
    /// What went wrong.
    pub message: String,
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn flag(f: &Flag) -> JsonFlag {
    JsonFlag {
        code: f.code.code().to_owned(),
        severity: f.severity.to_string(),
        message: f.message.clone(),
        cells: f.cells.iter().map(ToString::to_string).collect(),
    }
}

/// The JSON entry of one provider.
pub fn json_provider(r: &ProviderResult) -> JsonProvider {
    let p = &r.provider;
    JsonProvider {
        id: p.id.clone(),
        name: r.display_name(),
        legal_name: p.legal_name.get().cloned(),
        response_date: p.response_date.get().map(|d| d.format("%Y-%m-%d").to_string()),
        source: r.source.display().to_string(),
        mapping: r.mapping.clone(),
        countries_claimed: r.rollup.countries_claimed,
        rollup: Rollup {
            inflation_ratio: r.rollup.inflation_ratio.map(|x| round(x, 4)),
            ..r.rollup.clone()
        },
        flags: r.flags.iter().map(|f| f.code.code().to_owned()).collect(),
        provider_flags: r.flags.iter().map(flag).collect(),
        assessments: r
            .assessed
            .iter()
            .map(|a| JsonAssessment {
                country: a.assessment.country.map(|c| c.alpha2().to_owned()).unwrap_or_default(),
                country_name: a.assessment.country.map(|c| c.name().to_owned()).unwrap_or_default(),
                score: round(a.score, 4),
                tier: a.tier.id().to_owned(),
                coverage_class: a.coverage_class.id().to_owned(),
                confidence: a.confidence.id().to_owned(),
                evidence_level: a.evidence_level.id().to_owned(),
                knockouts: a.knockouts.clone(),
                liability: a.assessment.liability.get().map(|v| v.id().to_owned()),
                product_compliance: a.assessment.product_compliance.get().map(|v| v.id().to_owned()),
                dimensions: a
                    .dimensions
                    .iter()
                    .map(|d| JsonDimension {
                        dimension: d.dimension.to_string(),
                        weight: d.weight,
                        value: round(d.value, 6),
                        points: round(d.points, 4),
                    })
                    .collect(),
                flags: a.flags.iter().map(flag).collect(),
                why: a.reason.clone(),
                cell: a.assessment.country_source.as_ref().map(ToString::to_string),
            })
            .collect(),
        warnings: r
            .row_issues
            .iter()
            .map(|i| JsonError {
                file: format!("{} {}", r.source.display(), i.cell),
                message: i.message.clone(),
            })
            .collect(),
    }
}

/// Writes the JSON result atomically, from the run's parameters, the
/// provider entries in order (compact JSON, one per line, so that a large
/// result stays easy to stream, grep and diff), and the inputs that failed.
pub fn write_json(
    path: &Path,
    as_of: NaiveDate,
    profile: &str,
    spool: &Spool,
    indices: &[usize],
    errors: &[(String, String)],
    changes: Option<&[crate::history::Change]>,
) -> Result<(), SinkError> {
    let io = |source| SinkError::Io {
        path: path.to_owned(),
        source,
    };
    let enc = |source| SinkError::Json {
        path: path.to_owned(),
        source,
    };
    write_atomically(path, |tmp| {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        let head = format!(
            "{{\n  \"schema_version\": {SCHEMA_VERSION},\n  \"as_of\": {},\n  \"profile\": {},\n  \"providers\": [",
            serde_json::to_string(&as_of.format("%Y-%m-%d").to_string()).map_err(enc)?,
            serde_json::to_string(profile).map_err(enc)?,
        );
        w.write_all(head.as_bytes()).map_err(io)?;
        let mut first = true;
        // One buffer for every entry: reading each into a fresh allocation
        // fragments the heap until memory grows with the number of inputs.
        let mut line = Vec::new();
        for &index in indices {
            let mut entries = spool.json_entries(index).map_err(io)?;
            loop {
                line.clear();
                if entries.read_until(b'\n', &mut line).map_err(io)? == 0 {
                    break;
                }
                let entry = line.strip_suffix(b"\n").unwrap_or(&line);
                if entry.is_empty() {
                    continue;
                }
                w.write_all(if first { b"\n    " } else { b",\n    " }).map_err(io)?;
                w.write_all(entry).map_err(io)?;
                first = false;
            }
        }
        w.write_all(if first {
            b"],\n  \"errors\": "
        } else {
            b"\n  ],\n  \"errors\": "
        })
        .map_err(io)?;
        let errors: Vec<JsonError> = errors
            .iter()
            .map(|(file, message)| JsonError {
                file: file.clone(),
                message: message.clone(),
            })
            .collect();
        let errors = serde_json::to_vec(&errors).map_err(enc)?;
        w.write_all(&errors).map_err(io)?;
        // Only a run that remembers the previous one knows what changed.
        if let Some(changes) = changes {
            w.write_all(b",\n  \"changes\": ").map_err(io)?;
            serde_json::to_writer(&mut w, changes).map_err(enc)?;
        }
        w.write_all(b"\n}\n").and_then(|()| w.flush()).map_err(io)
    })
}
