//! Keeping a job's folders tidy: what a killed run left behind (temporary
//! files, spool and fetch folders), and annotated copies no input owns any
//! more (its workbook is gone, moved, or its copy's name went to another
//! workbook). The output folder then shows what the portfolio shows.
//!
//! Only iorready's own files are ever removed: names it gives its temporary
//! files, and `*.annotated.xlsx` in the job's own output folder (no two jobs
//! share one: the jobs file refuses it).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::pipeline::ANNOTATED_SUFFIX;

/// Removes what a killed run left in `dir`: entries whose name starts with
/// `prefix` (temporary files, spool and fetch folders).
pub fn sweep(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => tracing::info!(path = %path.display(), "removed what an interrupted run left"),
            Err(e) => tracing::warn!(path = %path.display(), "cannot remove what an interrupted run left: {e}"),
        }
    }
}

/// [`sweep`] in `dir` and every folder below it.
pub fn sweep_tree(dir: &Path, prefix: &str) {
    sweep(dir, prefix);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                sweep_tree(&entry.path(), prefix);
            }
        }
    }
}

/// Removes the annotated copies in the output folder `out` that none of
/// `owned` (the annotated copy of every current input, as this run names
/// them) is. Call it only once a run completed: a run stopped part-way has
/// not seen every input.
pub fn remove_unowned_copies(out: &Path, owned: &[PathBuf]) {
    // Names are compared without case: on a file system that ignores case,
    // `A.annotated.xlsx` on disk is the copy this run calls
    // `a.annotated.xlsx`, and removing it would remove that copy.
    let owned: HashSet<String> = owned
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_lowercase())
        .collect();
    let Ok(entries) = std::fs::read_dir(out) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_lowercase();
        // A folder of that name is not a copy iorready wrote.
        if !name.ends_with(ANNOTATED_SUFFIX) || owned.contains(&name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!(file = %path.display(), "removed an annotated copy no input owns any more"),
            Err(e) => tracing::warn!(file = %path.display(), "cannot remove an annotated copy no input owns: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn only_annotated_copies_no_input_owns_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "a.annotated.xlsx",
            "B.annotated.xlsx",
            "gone.annotated.xlsx",
            "portfolio.xlsx",
            "result.json",
            "notes.xlsx",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("folder.annotated.xlsx")).unwrap();
        let owned = [dir.path().join("a.annotated.xlsx"), dir.path().join("b.annotated.xlsx")];
        remove_unowned_copies(dir.path(), &owned);
        assert_eq!(
            names(dir.path()),
            [
                "B.annotated.xlsx",
                "a.annotated.xlsx",
                "folder.annotated.xlsx",
                "notes.xlsx",
                "portfolio.xlsx",
                "result.json"
            ]
        );
    }
}
