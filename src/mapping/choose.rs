//! Choosing the mapping for a workbook among several: each mapping says how
//! to recognise its layout (sheet names, header texts); the one that
//! recognises the most wins, and a tie or no match is an error naming the
//! candidates.

use std::path::Path;

use super::extract::{fold_label, label_matches};
use super::spec::Mapping;
use crate::config::ConfigError;
use crate::sources::Workbook;

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
        let mut scored: Vec<(usize, &Mapping, Vec<String>)> = self
            .mappings
            .iter()
            .map(|m| {
                let missing = missing(m, wb, &texts);
                let criteria = m.recognise.sheets.len() + m.recognise.headers.len();
                (criteria, m, missing)
            })
            .collect();
        let matching: Vec<&(usize, &Mapping, Vec<String>)> = scored
            .iter()
            .filter(|(n, _, missing)| *n > 0 && missing.is_empty())
            .collect();
        let best = matching.iter().map(|(n, _, _)| *n).max();
        let top: Vec<&&(usize, &Mapping, Vec<String>)> = matching.iter().filter(|(n, _, _)| Some(*n) == best).collect();
        match top.as_slice() {
            [(_, m, _)] => Ok(m),
            [] => {
                scored.sort_by_key(|(_, _, missing)| missing.len());
                let why: Vec<String> = scored
                    .iter()
                    .map(|(n, m, missing)| {
                        if *n == 0 {
                            format!("{} (declares nothing to recognise it by)", m.origin())
                        } else {
                            format!("{} (missing {})", m.origin(), missing.join(", "))
                        }
                    })
                    .collect();
                Err(format!(
                    "{}: no mapping recognises this workbook; candidates: {}. Pass --mapping FILE, or write one (iorready mapping suggest)",
                    wb.path.display(),
                    why.join("; ")
                ))
            }
            many => Err(format!(
                "{}: several mappings recognise this workbook equally well: {}. Pass --mapping FILE, or make their [recognise] sections tell them apart",
                wb.path.display(),
                many.iter().map(|(_, m, _)| m.origin()).collect::<Vec<_>>().join(", ")
            )),
        }
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
