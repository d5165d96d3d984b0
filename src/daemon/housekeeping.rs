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

use crate::pipeline::is_annotated_name;

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
    // Names are compared exactly: on Linux, `Acme.annotated.xlsx` left by a
    // workbook renamed to `acme.xlsx` is an old copy. On a file system that
    // ignores case the two names are one file, which the same-file check
    // keeps.
    let names: HashSet<std::ffi::OsString> = owned
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_owned())
        .collect();
    let files: HashSet<FileId> = owned.iter().filter_map(|p| file_id(p)).collect();
    let Ok(entries) = std::fs::read_dir(out) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        // A folder of that name is not a copy iorready wrote.
        if !is_annotated_name(&name.to_string_lossy())
            || names.contains(&name)
            || !entry.file_type().is_ok_and(|t| t.is_file())
        {
            continue;
        }
        let path = entry.path();
        if file_id(&path).is_some_and(|id| files.contains(&id)) {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!(file = %path.display(), "removed an annotated copy no input owns any more"),
            Err(e) => tracing::warn!(file = %path.display(), "cannot remove an annotated copy no input owns: {e}"),
        }
    }
}

/// What tells one file from another whatever its name is spelt like: its
/// device and inode on unix; elsewhere nothing (names alone decide).
type FileId = (u64, u64);

#[cfg(unix)]
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<FileId> {
    None
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
                "a.annotated.xlsx",
                "folder.annotated.xlsx",
                "notes.xlsx",
                "portfolio.xlsx",
                "result.json"
            ]
        );
    }

    #[test]
    fn a_copy_whose_name_differs_only_in_case_is_another_copy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Acme.annotated.xlsx"), b"old").unwrap();
        std::fs::write(dir.path().join("acme.annotated.xlsx"), b"new").unwrap();
        remove_unowned_copies(dir.path(), &[dir.path().join("acme.annotated.xlsx")]);
        assert_eq!(names(dir.path()), ["acme.annotated.xlsx"]);
    }

    #[cfg(unix)]
    #[test]
    fn another_name_of_an_owned_copy_is_kept() {
        // As a file system that ignores case shows `A.annotated.xlsx` for
        // the copy this run calls `a.annotated.xlsx`: one file, two names.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.annotated.xlsx"), b"x").unwrap();
        std::fs::hard_link(dir.path().join("a.annotated.xlsx"), dir.path().join("A.annotated.xlsx")).unwrap();
        remove_unowned_copies(dir.path(), &[dir.path().join("a.annotated.xlsx")]);
        assert_eq!(names(dir.path()), ["A.annotated.xlsx", "a.annotated.xlsx"]);
    }
}
