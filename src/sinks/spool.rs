//! The spool: per-workbook pieces of the run-wide outputs (its JSON entry,
//! its rows of the portfolio's Flags sheet), written to disk by the worker
//! that scored the workbook and read back in input order at the end. This is
//! what keeps a run's memory independent of the number of workbooks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::json::json_provider;
use crate::scoring::{Flag, ProviderResult, Severity};

/// One row of the portfolio's Flags sheet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlagRow {
    /// Provider name.
    pub provider: String,
    /// Alpha-2, or empty for a provider-level flag.
    pub country: String,
    /// Severity.
    pub severity: Severity,
    /// Flag code.
    pub code: String,
    /// Message.
    pub message: String,
    /// Source cells, comma separated.
    pub cells: String,
    /// Input file.
    pub file: String,
}

impl FlagRow {
    fn new(provider: &str, country: &str, f: &Flag, file: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            country: country.to_owned(),
            severity: f.severity,
            code: f.code.code().to_owned(),
            message: f.message.clone(),
            cells: f.cells.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            file: file.to_owned(),
        }
    }
}

/// Where one input's piece lies: which segment, at what offset, how long.
#[derive(Debug, Clone, Copy)]
struct Extent {
    segment: usize,
    offset: u64,
    len: usize,
}

/// An input's two pieces.
#[derive(Debug, Clone, Copy)]
struct Pieces {
    json: Extent,
    flags: Extent,
}

/// A few append-only segment files in a hidden folder, removed when dropped.
/// Each worker appends to a segment nobody else is writing: creating two
/// files per workbook cost more than scoring it on some file systems.
pub struct Spool {
    dir: tempfile::TempDir,
    /// Segments not in use by a worker now.
    free: Mutex<Vec<(usize, File)>>,
    /// How many segments exist.
    segments: Mutex<usize>,
    /// Read handles, one per segment, opened on first read.
    readers: Mutex<HashMap<usize, Arc<File>>>,
    pieces: Mutex<HashMap<usize, Pieces>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain bookkeeping: a panic elsewhere leaves it consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Spool {
    /// A hidden spool folder inside `out_dir` (same file system as the
    /// outputs, so no surprise from a small /tmp).
    pub fn new(out_dir: &Path) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(".iorready-spool-")
            .tempdir_in(out_dir)?;
        Ok(Self {
            dir,
            free: Mutex::default(),
            segments: Mutex::new(0),
            readers: Mutex::default(),
            pieces: Mutex::default(),
        })
    }

    fn segment_path(&self, segment: usize) -> PathBuf {
        self.dir.path().join(format!("{segment:04}.seg"))
    }

    /// Appends both pieces of input `index` to a free segment.
    fn append(&self, index: usize, json: &[u8], flags: &[u8]) -> std::io::Result<()> {
        let taken = lock(&self.free).pop();
        let (segment, mut file) = match taken {
            Some(s) => s,
            None => {
                let segment = {
                    let mut n = lock(&self.segments);
                    *n += 1;
                    *n - 1
                };
                (
                    segment,
                    File::options()
                        .create_new(true)
                        .read(true)
                        .append(true)
                        .open(self.segment_path(segment))?,
                )
            }
        };
        let result = (|| -> std::io::Result<Pieces> {
            let offset = file.seek(SeekFrom::End(0))?;
            file.write_all(json)?;
            file.write_all(flags)?;
            Ok(Pieces {
                json: Extent {
                    segment,
                    offset,
                    len: json.len(),
                },
                flags: Extent {
                    segment,
                    offset: offset + json.len() as u64,
                    len: flags.len(),
                },
            })
        })();
        lock(&self.free).push((segment, file));
        lock(&self.pieces).insert(index, result?);
        Ok(())
    }

    fn read(&self, extent: Extent) -> std::io::Result<Vec<u8>> {
        let reader = {
            let mut readers = lock(&self.readers);
            match readers.get(&extent.segment) {
                Some(r) => r.clone(),
                None => {
                    let r = Arc::new(File::open(self.segment_path(extent.segment))?);
                    readers.insert(extent.segment, r.clone());
                    r
                }
            }
        };
        let mut buf = vec![0; extent.len];
        read_exact_at(&reader, &mut buf, extent.offset)?;
        Ok(buf)
    }

    fn pieces(&self, index: usize) -> std::io::Result<Pieces> {
        lock(&self.pieces).get(&index).copied().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no spooled result for input {index}"),
            )
        })
    }

    /// Stores the pieces of workbook number `index`: its providers' JSON
    /// entries, one per line (when `json`), and their Flags rows.
    pub fn put(&self, index: usize, results: &[ProviderResult], json: bool) -> std::io::Result<()> {
        let mut entries = Vec::new();
        if json {
            for result in results {
                serde_json::to_writer(&mut entries, &json_provider(result)).map_err(std::io::Error::other)?;
                entries.push(b'\n');
            }
        }
        let mut rows = Vec::new();
        for result in results {
            write_flag_rows(&mut rows, result)?;
        }
        self.append(index, &entries, &rows)
    }

    /// The stored pieces of input `index` as bytes (JSON entries, Flags
    /// rows), for a caller that keeps them between runs.
    pub fn raw(&self, index: usize) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
        let p = self.pieces(index)?;
        Ok((self.read(p.json)?, self.read(p.flags)?))
    }

    /// Stores pieces kept from an earlier run for input `index`, as
    /// [`Spool::raw`] gave them.
    pub fn put_raw(&self, index: usize, json: &[u8], flags: &[u8]) -> std::io::Result<()> {
        self.append(index, json, flags)
    }

    /// The JSON entries of input `index`, one per line (one per provider).
    pub fn json_entries(&self, index: usize) -> std::io::Result<impl BufRead> {
        Ok(std::io::Cursor::new(self.read(self.pieces(index)?.json)?))
    }

    /// The Flags rows of workbook `index`, streamed.
    pub fn flag_rows(&self, index: usize) -> std::io::Result<impl Iterator<Item = std::io::Result<FlagRow>>> {
        let reader = std::io::Cursor::new(self.read(self.pieces(index)?.flags)?);
        Ok(reader
            .lines()
            .map(|line| line.and_then(|l| serde_json::from_str(&l).map_err(std::io::Error::other))))
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}

fn write_flag_rows(w: &mut impl Write, result: &ProviderResult) -> std::io::Result<()> {
    let name = result.display_name();
    let file = result.source.display().to_string();
    let rows = result
        .flags
        .iter()
        .map(|f| FlagRow::new(&name, "", f, &file))
        .chain(result.assessed.iter().flat_map(|a| {
            let country = a.assessment.country.map(|c| c.alpha2()).unwrap_or_default();
            a.flags
                .iter()
                .map(|f| FlagRow::new(&name, country, f, &file))
                .collect::<Vec<_>>()
        }));
    for row in rows {
        serde_json::to_writer(&mut *w, &row).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}
