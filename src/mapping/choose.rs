//! Choosing the mapping for a workbook among several: each mapping says how
//! to recognise its layout (sheet names, header texts); the one that
//! recognises the most wins, and a tie or no match is an error naming the
//! candidates.

use std::path::Path;

use super::extract::{fold_label, label_matches};
use super::spec::{Layout, Mapping};
use crate::config::ConfigError;
use crate::sources::{JsonDocument, Workbook};

/// Rows searched for recognition headers.
const RECOGNITION_ROWS: u32 = 30;

/// The mappings a run can use.
#[derive(Debug, Clone)]
pub struct MappingSet {
    mappings: Vec<Mapping>,
    forced: bool,
}

impl MappingSet {
    /// Only this mapping, for every workbook (`--mapping FILE`).
    pub fn forced(mapping: Mapping) -> Self {
        Self {
            mappings: vec![mapping],
            forced: true,
        }
    }

    /// Every mapping file (`*.toml`) directly in `dir`, and the built-in
    /// questionnaire-v1 unless a file of the same name replaces it.
    pub fn load_dir(dir: &Path) -> Result<Self, ConfigError> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| ConfigError {
                file: dir.to_owned(),
                line: None,
                key: None,
                message: format!("cannot list the mappings folder: {e}"),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        // A draft still carrying REVIEW marks is a guess: used only when
        // named with --mapping, never picked over a reviewed mapping.
        let (drafts, files): (Vec<_>, Vec<_>) = files.into_iter().partition(|p| has_review_marks(p));
        for d in &drafts {
            tracing::warn!(file = %d.display(), "this mapping still has REVIEW marks: it is not chosen automatically (review it, or name it with --mapping to use it)");
        }
        let mut mappings = files.iter().map(|p| Mapping::load(p)).collect::<Result<Vec<_>, _>>()?;
        let builtin = Mapping::builtin()?;
        if !mappings.iter().any(|m| m.name == builtin.name) {
            mappings.push(builtin);
        }
        for (i, m) in mappings.iter().enumerate() {
            if let Some(other) = mappings[..i].iter().find(|o| o.name == m.name) {
                return Err(ConfigError {
                    file: m.file.clone().unwrap_or_default(),
                    line: None,
                    key: Some("mapping.name".into()),
                    message: format!("'{}' is also the name of {}", m.name, other.origin()),
                });
            }
        }
        Ok(Self {
            mappings,
            forced: false,
        })
    }

    /// One mapping, chosen by recognition (so that a check can say whether
    /// it recognises a workbook).
    pub fn from_one(mapping: Mapping) -> Self {
        Self {
            mappings: vec![mapping],
            forced: false,
        }
    }

    /// The built-in mapping only, chosen by recognition like any other.
    pub fn builtin() -> Result<Self, ConfigError> {
        Ok(Self {
            mappings: vec![Mapping::builtin()?],
            forced: false,
        })
    }

    /// The mappings, in the order they were loaded.
    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// The mapping for `wb`.
    pub fn choose(&self, wb: &Workbook) -> Result<&Mapping, String> {
        if self.forced {
            return self.mappings.first().ok_or_else(|| "no mapping".to_owned());
        }
        let texts = first_rows(wb);
        let scored = self
            .mappings
            .iter()
            .filter(|m| !matches!(m.countries.layout, Layout::Records { .. }))
            .map(|m| {
                (
                    m.recognise.sheets.len() + m.recognise.headers.len(),
                    m,
                    missing(m, wb, &texts),
                )
            })
            .collect();
        pick(scored, &wb.path.display().to_string(), "workbook")
    }

    /// The mapping for a JSON document of records.
    pub fn choose_json(&self, doc: &JsonDocument) -> Result<&Mapping, String> {
        if self.forced {
            return self.mappings.first().ok_or_else(|| "no mapping".to_owned());
        }
        let scored = self
            .mappings
            .iter()
            .filter_map(|m| match &m.countries.layout {
                Layout::Records { records, .. } => {
                    let mut missing: Vec<String> = m
                        .recognise
                        .paths
                        .iter()
                        .filter(|p| p.get(&doc.value).is_none())
                        .map(|p| format!("path '{p}'"))
                        .collect();
                    if !doc.value.pointer(records).is_some_and(serde_json::Value::is_array) {
                        missing.push(format!("an array of records at '{records}'"));
                    }
                    Some((m.recognise.paths.len() + 1, m, missing))
                }
                _ => None,
            })
            .collect();
        pick(scored, &doc.path.display().to_string(), "JSON document")
    }
}

/// The mark `mapping suggest` puts on each guess of a draft.
pub const REVIEW_MARK: &str = "REVIEW:";

/// True for a mapping file that still carries a [`REVIEW_MARK`].
pub fn has_review_marks(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.contains(REVIEW_MARK))
}

/// The mapping whose criteria all hold and are the most numerous; none, or
/// a tie, is an error naming the candidates.
fn pick<'m>(mut scored: Vec<(usize, &'m Mapping, Vec<String>)>, file: &str, what: &str) -> Result<&'m Mapping, String> {
    let best = scored
        .iter()
        .filter(|(n, _, miss)| *n > 0 && miss.is_empty())
        .map(|(n, _, _)| *n)
        .max();
    let top: Vec<&Mapping> = scored
        .iter()
        .filter(|(n, _, miss)| Some(*n) == best && miss.is_empty())
        .map(|(_, m, _)| *m)
        .collect();
    match top.as_slice() {
        [m] => Ok(m),
        [] => {
            scored.sort_by_key(|(_, _, miss)| miss.len());
            let why: Vec<String> = scored
                .iter()
                .map(|(n, m, miss)| {
                    if *n == 0 {
                        format!("{} (declares nothing to recognise it by)", m.origin())
                    } else {
                        format!("{} (missing {})", m.origin(), miss.join(", "))
                    }
                })
                .collect();
            let candidates = if why.is_empty() { "none".to_owned() } else { why.join("; ") };
            Err(format!(
                "{file}: no mapping recognises this {what}; candidates: {candidates}. Pass --mapping FILE, or write one (iorready mapping suggest)"
            ))
        }
        many => Err(format!(
            "{file}: several mappings recognise this {what} equally well: {}. Pass --mapping FILE, or make their [recognise] sections tell them apart",
            many.iter().map(|m| m.origin()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The folded texts of the first rows of every sheet.
fn first_rows(wb: &Workbook) -> Vec<String> {
    wb.sheets
        .iter()
        .flat_map(|s| {
            s.cells
                .range((0, 0)..(RECOGNITION_ROWS, 0))
                .map(|(_, v)| fold_label(&v.display()))
        })
        .collect()
}

/// What of a mapping's recognition criteria the workbook lacks.
fn missing(m: &Mapping, wb: &Workbook, texts: &[String]) -> Vec<String> {
    let sheets = m
        .recognise
        .sheets
        .iter()
        .filter(|s| wb.sheet(s).is_none())
        .map(|s| format!("sheet '{s}'"));
    let headers = m
        .recognise
        .headers
        .iter()
        .filter(|h| !texts.iter().any(|t| label_matches(t, h).is_some()))
        .map(|h| format!("header '{h}'"));
    sheets.chain(headers).collect()
}
