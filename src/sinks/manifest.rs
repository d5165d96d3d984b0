//! What the last `score` run wrote into an output folder, kept beside its
//! outputs (`.iorready.outputs`), so that the next run into that folder
//! removes what it does not write again: the outputs of one run are never
//! left beside another's (a `result.json` that no longer matches the
//! portfolio, annotated copies of workbooks no longer given).
//!
//! Only files the record names, inside the folder, are ever removed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{write_atomically, SinkError};

/// The record's file name: hidden, and not one of the `.iorready-`
/// temporary names a sweep removes.
pub const OUTPUTS_RECORD: &str = ".iorready.outputs";

/// Removes the files the previous run's record names in `out_dir` that are
/// not among `written`, then records `written` as this run's outputs.
/// Returns the files removed.
pub fn replace_previous_outputs(out_dir: &Path, written: &[PathBuf]) -> Result<Vec<PathBuf>, SinkError> {
    let record = out_dir.join(OUTPUTS_RECORD);
    let folder = out_dir.canonicalize().unwrap_or_else(|_| out_dir.to_owned());
    let now: HashSet<PathBuf> = written.iter().map(|p| absolute(p)).collect();
    let mut removed = Vec::new();
    for earlier in previous(&record) {
        let inside = earlier.parent() == Some(folder.as_path());
        if !inside || now.contains(&earlier) || !earlier.is_file() {
            continue;
        }
        match std::fs::remove_file(&earlier) {
            Ok(()) => removed.push(earlier),
            Err(e) => tracing::warn!(file = %earlier.display(), "cannot remove an earlier run's output: {e}"),
        }
    }
    let names: Vec<String> = now.iter().map(|p| p.display().to_string()).collect();
    let text = serde_json::to_vec_pretty(&names).map_err(|e| SinkError::Io {
        path: record.clone(),
        source: std::io::Error::other(e),
    })?;
    write_atomically(&record, |tmp| {
        std::io::Write::write_all(tmp, &text).map_err(|source| SinkError::Io {
            path: record.clone(),
            source,
        })
    })?;
    removed.sort();
    Ok(removed)
}

/// The outputs the record names; none when there is no record or it
/// cannot be read (then nothing is removed).
fn previous(record: &Path) -> Vec<PathBuf> {
    let Ok(bytes) = std::fs::read(record) else {
        return Vec::new();
    };
    serde_json::from_slice::<Vec<String>>(&bytes)
        .map(|v| v.into_iter().map(PathBuf::from).collect())
        .unwrap_or_default()
}

/// `path` canonical when it exists, else as given made absolute.
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_the_next_run_does_not_write_is_removed_and_others_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, mine) = (
            dir.path().join("a.xlsx"),
            dir.path().join("b.json"),
            dir.path().join("notes.txt"),
        );
        for p in [&a, &b, &mine] {
            std::fs::write(p, b"x").unwrap();
        }
        let b_key = b.canonicalize().unwrap();
        replace_previous_outputs(dir.path(), &[a.clone(), b.clone()]).unwrap();
        let removed = replace_previous_outputs(dir.path(), std::slice::from_ref(&a)).unwrap();
        assert_eq!(removed, [b_key]);
        assert!(a.is_file() && mine.is_file() && !b.exists());
    }

    #[test]
    fn an_unreadable_record_removes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.xlsx");
        std::fs::write(&a, b"x").unwrap();
        std::fs::write(dir.path().join(OUTPUTS_RECORD), b"{not json").unwrap();
        assert!(replace_previous_outputs(dir.path(), &[]).unwrap().is_empty());
        assert!(a.is_file());
    }
}
