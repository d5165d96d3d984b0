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
