//! `iorready mapping check`: what a mapping understood in a workbook, field
//! by field, for the person writing the mapping.

use std::collections::BTreeMap;
use std::fmt;

use super::choose::MappingSet;
use super::extract::{extract, Extracted, MappingError, Placement};
use super::records::extract_records;
use super::spec::Mapping;
use crate::model::{AnswerState, Field, MANDATORY_FIELDS};
use crate::sources::{JsonDocument, Workbook};

/// Counts and samples for one field.
#[derive(Debug, Clone, Default)]
pub struct FieldStats {
    /// Where it was found, or `None`.
    pub location: Option<String>,
    /// Answers read as values.
    pub recognised: usize,
    /// Blank or "unknown" answers.
    pub unknown: usize,
    /// Answers no rule matched.
    pub unrecognised: usize,
    /// Each distinct unrecognised answer with its cells.
    pub samples: BTreeMap<String, Vec<String>>,
    /// True when the field is filled from the mapping's `default`.
    pub defaulted: bool,
}

/// What a mapping made of a workbook.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The mapping, for the heading.
    pub mapping: String,
    /// The workbook.
    pub workbook: String,
    /// Whether the mapping's recognition criteria hold, with what misses.
    pub recognised: Result<(), String>,
    /// Where results would go.
    pub placement: Option<Placement>,
    /// Providers found, with their details as read.
    pub providers: Vec<String>,
    /// One line per field the mapping reads.
    pub fields: Vec<(Field, FieldStats)>,
    /// Skipped rows, columns or sheets.
    pub skipped: Vec<String>,
    /// Why nothing could be read, when that is the case.
    pub error: Option<String>,
}

impl CheckReport {
    /// Mandatory fields that were neither found nor defaulted.
    pub fn missing_mandatory(&self) -> Vec<Field> {
        MANDATORY_FIELDS
            .iter()
            .filter(|f| {
                !self
                    .fields
                    .iter()
                    .any(|(g, s)| g == *f && (s.location.is_some() || s.defaulted))
            })
            .copied()
            .collect()
    }

    /// True when the mapping is usable on this workbook: it read it, and
    /// found every mandatory field.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.missing_mandatory().is_empty()
    }
}

/// Applies `mapping` to `wb` and reports field by field.
pub fn check(mapping: &Mapping, wb: &Workbook) -> CheckReport {
    let recognised = MappingSet::from_one(mapping.clone()).choose(wb).map(|_| ());
    report(
        mapping,
        &wb.path.display().to_string(),
        recognised,
        extract(wb, mapping),
    )
}

/// Applies a records `mapping` to a JSON document and reports field by
/// field.
pub fn check_records(mapping: &Mapping, doc: &JsonDocument) -> CheckReport {
    let recognised = MappingSet::from_one(mapping.clone()).choose_json(doc).map(|_| ());
    report(
        mapping,
        &doc.path.display().to_string(),
        recognised,
        extract_records(doc, mapping),
    )
}

fn report(
    mapping: &Mapping,
    input: &str,
    recognised: Result<(), String>,
    extracted: Result<Extracted, MappingError>,
) -> CheckReport {
    let mut report = CheckReport {
        mapping: mapping.origin(),
        workbook: input.to_owned(),
        recognised,
        placement: None,
        providers: Vec::new(),
        fields: Vec::new(),
        skipped: Vec::new(),
        error: None,
    };
    let extracted: Extracted = match extracted {
        Ok(e) => e,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.placement = Some(extracted.placement.clone());
    for r in &extracted.responses {
        let p = &r.provider;
        let detail = |label: &str, raw: &str, src: Option<String>| {
            if raw.is_empty() {
                format!("{label}: -")
            } else {
                format!("{label}: '{raw}'{}", src.map(|s| format!(" ({s})")).unwrap_or_default())
            }
        };
        report.providers.push(
            [
                detail("name", &p.name.raw, p.name.source.as_ref().map(ToString::to_string)),
                detail(
                    "response date",
                    &p.response_date.raw,
                    p.response_date.source.as_ref().map(ToString::to_string),
                ),
                detail(
                    "countries claimed",
                    &p.countries_claimed.raw,
                    p.countries_claimed.source.as_ref().map(ToString::to_string),
                ),
            ]
            .join(", "),
        );
        report
            .skipped
            .extend(r.row_issues.iter().map(|i| format!("{}: {}", i.cell, i.message)));
    }
    for rule in &mapping.countries.fields {
        let mut stats = FieldStats {
            location: extracted
                .found
                .iter()
                .find(|f| f.field == rule.field)
                .map(|f| f.location.clone()),
            ..FieldStats::default()
        };
        stats.defaulted = stats.location.is_none() && rule.default.is_some();
        for a in extracted.responses.iter().flat_map(|r| r.assessments.iter()) {
            let (raw, source, state) = a.answer_of(rule.field);
            match state {
                AnswerState::Answered => stats.recognised += 1,
                AnswerState::Unknown => stats.unknown += 1,
                AnswerState::Unrecognised => {
                    stats.unrecognised += 1;
                    stats
                        .samples
                        .entry(raw.trim().to_owned())
                        .or_default()
                        .push(source.map(ToString::to_string).unwrap_or_default());
                }
            }
        }
        if rule.field == Field::Country {
            for issue in extracted.responses.iter().flat_map(|r| r.row_issues.iter()) {
                match &issue.unrecognised {
                    Some((raw, cell)) => {
                        stats.unrecognised += 1;
                        stats
                            .samples
                            .entry(raw.trim().to_owned())
                            .or_default()
                            .push(cell.to_string());
                    }
                    None => stats.unknown += 1,
                }
            }
        }
        report.fields.push((rule.field, stats));
    }
    report.fields.sort_by_key(|(f, _)| *f);
    report
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Mapping {} on {}", self.mapping, self.workbook)?;
        match &self.recognised {
            Ok(()) => writeln!(
                f,
                "Recognised: yes (`score` would choose this mapping among others that do not match)"
            )?,
            Err(why) => writeln!(f, "Recognised: no ({})", why.rsplit(": ").next().unwrap_or(why))?,
        }
        if let Some(error) = &self.error {
            writeln!(f, "\nCannot read the workbook with this mapping: {error}")?;
            return Ok(());
        }
        match &self.placement {
            Some(Placement::Columns { sheet, header_row }) => {
                writeln!(f, "Layout: table on sheet '{sheet}', header row {}", header_row + 1)?
            }
            Some(Placement::Rows { sheet, .. }) => {
                writeln!(f, "Layout: matrix on sheet '{sheet}', one column per country")?
            }
            Some(Placement::Sheets { .. }) => writeln!(f, "Layout: one sheet per country")?,
            Some(Placement::Records) => writeln!(f, "Layout: JSON records")?,
            None => {}
        }
        for p in &self.providers {
            writeln!(f, "Provider: {p}")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<20} {:>10} {:>8} {:>12}  found at",
            "field", "recognised", "unknown", "unrecognised"
        )?;
        for (field, s) in &self.fields {
            let at = match (&s.location, s.defaulted) {
                (Some(l), _) => l.clone(),
                (None, true) => "not found; the mapping's default is used".to_owned(),
                (None, false) if field.is_mandatory() => "NOT FOUND (mandatory)".to_owned(),
                (None, false) => "not found".to_owned(),
            };
            writeln!(
                f,
                "{:<20} {:>10} {:>8} {:>12}  {at}",
                field.id(),
                s.recognised,
                s.unknown,
                s.unrecognised
            )?;
            for (raw, cells) in &s.samples {
                writeln!(f, "    unrecognised: '{raw}' at {}", cells.join(", "))?;
            }
        }
        if !self.skipped.is_empty() {
            writeln!(f, "\nSkipped:")?;
            for s in &self.skipped {
                writeln!(f, "  {s}")?;
            }
        }
        let missing = self.missing_mandatory();
        if missing.is_empty() {
            writeln!(f, "\nEvery mandatory field was found.")?;
        } else {
            let names: Vec<&str> = missing.iter().map(|m| m.id()).collect();
            writeln!(f, "\nMandatory fields not found: {}", names.join(", "))?;
        }
        Ok(())
    }
}
