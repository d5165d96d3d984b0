//! The spool: per-workbook pieces of the run-wide outputs (its JSON entry,
//! its rows of the portfolio's Flags sheet), written to disk by the worker
//! that scored the workbook and read back in input order at the end. This is
//! what keeps a run's memory independent of the number of workbooks.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

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

/// A folder of per-workbook pieces, removed when dropped.
pub struct Spool {
    dir: tempfile::TempDir,
}

impl Spool {
    /// A hidden spool folder inside `out_dir` (same file system as the
    /// outputs, so no surprise from a small /tmp).
    pub fn new(out_dir: &Path) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(".iorready-spool-")
            .tempdir_in(out_dir)?;
        Ok(Self { dir })
    }

    fn path(&self, index: usize, ext: &str) -> PathBuf {
        self.dir.path().join(format!("{index:08}.{ext}"))
    }

    /// Stores the pieces of workbook number `index`: its providers' JSON
    /// entries, one per line, and their Flags rows.
    pub fn put(&self, index: usize, results: &[ProviderResult], json: bool) -> std::io::Result<()> {
        if json {
            let mut w = BufWriter::new(File::create(self.path(index, "json"))?);
            for result in results {
                serde_json::to_writer(&mut w, &json_provider(result)).map_err(std::io::Error::other)?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
        }
        let mut w = BufWriter::new(File::create(self.path(index, "flags"))?);
        for result in results {
            write_flag_rows(&mut w, result)?;
        }
        w.flush()
    }

    /// The stored pieces of input `index` as bytes (JSON entries, Flags
    /// rows), for a caller that keeps them between runs.
    pub fn raw(&self, index: usize) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
        let json = match std::fs::read(self.path(index, "json")) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok((json, std::fs::read(self.path(index, "flags"))?))
    }

    /// Stores pieces kept from an earlier run for input `index`, as
    /// [`Spool::raw`] gave them.
    pub fn put_raw(&self, index: usize, json: &[u8], flags: &[u8]) -> std::io::Result<()> {
        std::fs::write(self.path(index, "json"), json)?;
        std::fs::write(self.path(index, "flags"), flags)
    }

    /// The JSON entries of input `index`, one per line (one per provider).
    pub fn json_entries(&self, index: usize) -> std::io::Result<impl BufRead> {
        Ok(BufReader::new(File::open(self.path(index, "json"))?))
    }

    /// The Flags rows of workbook `index`, streamed.
    pub fn flag_rows(&self, index: usize) -> std::io::Result<impl Iterator<Item = std::io::Result<FlagRow>>> {
        let reader = BufReader::new(File::open(self.path(index, "flags"))?);
        Ok(reader
            .lines()
            .map(|line| line.and_then(|l| serde_json::from_str(&l).map_err(std::io::Error::other))))
    }
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
