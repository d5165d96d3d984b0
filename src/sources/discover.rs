//! Finding the spreadsheets to score among the paths a user gave.

use std::path::{Path, PathBuf};

/// File name endings read as spreadsheets.
const EXTENSIONS: [&str; 6] = ["xlsx", "xlsm", "xlsb", "xls", "ods", "xltx"];

/// True for a name that looks like a spreadsheet and is not an Office lock
/// file (`~$book.xlsx`) or a hidden file.
pub fn is_spreadsheet_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with("~$") || name.starts_with('.') {
        return false;
    }
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        .unwrap_or(false)
}

/// Expands the inputs: a file is taken as given, a folder is searched
/// recursively for spreadsheets, leaving out files for which `skip` is true
/// (iorready's own outputs). The result is sorted and has no duplicates, so
/// runs are reproducible.
pub fn discover_inputs(inputs: &[PathBuf], skip: &dyn Fn(&Path) -> bool) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for input in inputs {
        let meta =
            std::fs::metadata(input).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", input.display())))?;
        if meta.is_dir() {
            walk(input, skip, &mut found, 0)?;
        } else if is_lock_file(input) {
            // Office writes it while the workbook is open; it holds no answers.
            tracing::warn!(file = %input.display(), "skipped: an Office lock file (~$...), not a workbook; name the workbook itself");
        } else {
            found.push(input.clone());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Depth guard against pathological trees.
const MAX_DEPTH: usize = 32;

fn walk(dir: &Path, skip: &dyn Fn(&Path) -> bool, found: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    warn_of_open_workbooks(&entries);
    for entry in entries {
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&path, skip, found, depth + 1)?;
        } else if (ft.is_file() || ft.is_symlink()) && is_spreadsheet_name(&path) && !skip(&path) {
            // A symlink to a folder is not followed; one that dangles (its
            // target moved, a share dropped) is kept, so that reading it
            // fails and says so, instead of its workbook looking removed.
            if !(ft.is_symlink() && path.is_dir()) {
                found.push(path);
            }
        }
    }
    Ok(())
}

/// True for an Office lock file (`~$Acme.xlsx`).
fn is_lock_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("~$"))
}

/// Says which workbooks of a folder have an Office lock file beside them:
/// open in Excel, perhaps with changes not yet saved, so the version on disk
/// is the one scored. Excel names the lock `~$` and the workbook's name,
/// its first two characters dropped when the name is long.
fn warn_of_open_workbooks(entries: &[std::fs::DirEntry]) {
    let names: Vec<String> = entries
        .iter()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for lock in names.iter().filter_map(|n| n.strip_prefix("~$")) {
        let open = names.iter().find(|n| {
            !n.starts_with("~$")
                && is_spreadsheet_name(Path::new(n))
                && (*n == lock || (n.len() == lock.len() + 2 && n.ends_with(lock)))
        });
        if let Some(book) = open {
            tracing::warn!(file = %book, "may be open in Excel with unsaved changes (a lock file ~${lock} is beside it): its last saved version is scored");
        }
    }
}

/// What the inputs hold when no spreadsheet is among them, in words: the
/// kinds of file found ("3 .csv, 1 .pdf"), or that there is nothing.
pub fn what_else_is_there(inputs: &[PathBuf]) -> String {
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    let mut stack: Vec<(PathBuf, usize)> = inputs.iter().map(|p| (p.clone(), 0)).collect();
    while let Some((path, depth)) = stack.pop() {
        if path.is_dir() && depth <= MAX_DEPTH {
            let Ok(entries) = std::fs::read_dir(&path) else {
                continue;
            };
            stack.extend(entries.flatten().map(|e| (e.path(), depth + 1)));
        } else if path.is_file() {
            let kind = if is_lock_file(&path) {
                "Office lock file (~$...)".to_owned()
            } else {
                path.extension()
                    .map(|e| format!(".{}", e.to_string_lossy().to_lowercase()))
                    .unwrap_or_else(|| "without an extension".to_owned())
            };
            *kinds.entry(kind).or_default() += 1;
        }
    }
    if kinds.is_empty() {
        return "the inputs hold no files at all".to_owned();
    }
    let mut counted: Vec<(String, usize)> = kinds.into_iter().collect();
    counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let list: Vec<String> = counted.iter().take(6).map(|(k, n)| format!("{n} {k}")).collect();
    let csv = if counted.iter().any(|(k, _)| k == ".csv") {
        " (a CSV file: open it in Excel and save it as .xlsx)"
    } else {
        ""
    };
    format!("found {}{csv}", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_and_other_files_are_not_spreadsheets() {
        assert!(is_spreadsheet_name(Path::new("a/Acme.XLSX")));
        assert!(is_spreadsheet_name(Path::new("b.ods")));
        assert!(!is_spreadsheet_name(Path::new("~$Acme.xlsx")));
        assert!(!is_spreadsheet_name(Path::new("notes.txt")));
    }
}
