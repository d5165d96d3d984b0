//! Writing a file so that it appears whole or not at all.

use std::io::Write;
use std::path::Path;

use super::SinkError;

/// Writes through `fill` into a temporary file beside `path`, flushes it to
/// disk and renames it over `path`. On any error the temporary file is
/// removed and `path` is untouched.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut tempfile::NamedTempFile) -> Result<(), SinkError>,
) -> Result<(), SinkError> {
    let mut file = AtomicFile::create(path)?;
    fill(&mut file.tmp)?;
    file.commit()
}

/// A file being written beside its final place, for a writer that cannot
/// hand its whole content to [`write_atomically`] at once (records that
/// arrive page by page). Dropped without [`AtomicFile::commit`], it leaves
/// nothing behind and the final place untouched.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl AtomicFile {
    /// Starts writing what will become `path`.
    pub fn create(path: &Path) -> Result<Self, SinkError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".iorready-").suffix(".tmp");
        // Temporary files are private (0600); results are for the team to read.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let tmp = builder.tempfile_in(dir).map_err(|source| SinkError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            tmp,
            path: path.to_owned(),
        })
    }

    /// Flushes the content to disk and renames it into place.
    pub fn commit(mut self) -> Result<(), SinkError> {
        let path = self.path;
        let io = |source| SinkError::Io {
            path: path.clone(),
            source,
        };
        self.tmp.flush().map_err(io)?;
        self.tmp.as_file().sync_all().map_err(io)?;
        self.tmp.persist(&path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

/// Writes go to the temporary file, so a buffered writer can own it.
impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

/// Saves a workbook atomically.
pub fn write_xlsx_atomically(path: &Path, wb: &mut rust_xlsxwriter::Workbook) -> Result<(), SinkError> {
    write_atomically(path, |tmp| {
        // The zip writer issues many small writes: a buffer turns a
        // workbook's hundreds of system calls into a few.
        let mut w = std::io::BufWriter::with_capacity(1 << 18, tmp.as_file_mut());
        wb.save_to_writer(&mut w).map_err(|source| SinkError::Xlsx {
            path: path.to_owned(),
            source,
        })?;
        w.flush().map_err(|source| SinkError::Io {
            path: path.to_owned(),
            source,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_previous_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        let r = write_atomically(&path, |tmp| {
            tmp.write_all(b"half").unwrap();
            Err(SinkError::Io {
                path: path.clone(),
                source: std::io::Error::other("disk full"),
            })
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary file removed");
    }

    #[test]
    fn a_successful_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomically(&path, |tmp| {
            tmp.write_all(b"new").unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
