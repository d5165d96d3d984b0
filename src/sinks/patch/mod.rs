//! The patched annotated copy: the provider's own xlsx or xlsm package with
//! iorready's additions. Every part the patch does not need to change is
//! copied as it is, still compressed (byte-identical, and the fast way);
//! the few it changes are rewritten keeping everything of the original:
//! the annotated worksheets are streamed (never held whole), styles, the
//! workbook, comments, tables and relationships are edited in place.
//!
//! A package the patcher does not understand is [`Refused`], with the
//! reason, and the caller rebuilds the copy instead: never a broken file.

mod new_sheet;
mod notes;
mod package;
mod plan;
mod styles;
mod table;
mod workbook;
mod worksheet;

use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;

use super::annotation::Annotation;
use super::{write_atomically, SinkError};
use package::Package;
use plan::{Plan, SheetPlan};
use worksheet::{rewrite_sheet, SheetPatch};

/// The largest VBA project a rebuilt xlsm copy carries over.
pub const MAX_VBA: u64 = 64 << 20;

/// Why a package cannot be patched; the copy is rebuilt instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(String);

impl Refused {
    /// A refusal with its reason.
    pub fn new(reason: impl Into<String>) -> Refused {
        Refused(reason.into())
    }
}

/// A patch that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The package is not one the patcher can edit safely.
    #[error("{0}")]
    Refused(#[from] Refused),
    /// The copy could not be written.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// Writes the provider's workbook at `source` with `annotation` added to
/// `out`, atomically.
pub fn write_patched(source: &Path, annotation: &Annotation, out: &Path) -> Result<(), PatchError> {
    let file = std::fs::File::open(source).map_err(|e| Refused::new(format!("cannot open the workbook: {e}")))?;
    let mut package = Package::open(BufReader::new(file))?;
    let plan = Plan::make(&mut package, annotation)?;
    let mut refused = None;
    write_atomically(out, |tmp| {
        let writer = BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        match write_package(&mut package, &plan, writer) {
            Ok(()) => Ok(()),
            Err(PatchError::Sink(e)) => Err(e),
            Err(PatchError::Refused(r)) => {
                let message = r.to_string();
                refused = Some(r);
                Err(SinkError::Io {
                    path: out.to_owned(),
                    source: std::io::Error::other(message),
                })
            }
        }
    })
    .map_err(|e| match refused.take() {
        Some(r) => PatchError::Refused(r),
        None => PatchError::Sink(e),
    })
}

/// How a part of `size` bytes is stored. Level 1: the copy is written on
/// every run. Parts of a few kilobytes are stored as they are: a deflate
/// stream costs a fresh quarter-megabyte of state, more than the bytes it
/// saves (a tenth of a run's time went to zeroing those pages).
fn options(size: usize) -> SimpleFileOptions {
    if size < SMALL_PART {
        return SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    }
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
}

/// Parts smaller than this are stored uncompressed.
const SMALL_PART: usize = 8 << 10;

fn zip_refused(e: zip::result::ZipError) -> Refused {
    Refused::new(format!("the package cannot be copied: {e}"))
}

/// The copy, entry by entry in the provider's order, then the new parts.
fn write_package<R: Read + Seek, W: Write + Seek>(
    package: &mut Package<R>,
    plan: &Plan,
    writer: W,
) -> Result<(), PatchError> {
    let mut zip = zip::ZipWriter::new(writer);
    for i in 0..package.zip.len() {
        let name = package
            .zip
            .name_for_index(i)
            .and_then(Result::ok)
            .map(|n| n.into_owned())
            .unwrap_or_default();
        if let Some(sheet) = plan.sheets.iter().find(|s| s.part == name) {
            zip.start_file(name.as_str(), options(usize::MAX))
                .map_err(zip_refused)?;
            stream_sheet(package, i, sheet, plan, &mut zip)?;
        } else if let Some((_, bytes)) = plan.changed.iter().find(|(part, _)| *part == name) {
            zip.start_file(name.as_str(), options(bytes.len()))
                .map_err(zip_refused)?;
            zip.write_all(bytes.as_bytes())
                .map_err(|e| Refused::new(format!("cannot write {name}: {e}")))?;
        } else {
            let entry = package.zip.by_index_raw(i).map_err(zip_refused)?;
            zip.raw_copy_file(entry).map_err(zip_refused)?;
        }
    }
    for (name, text) in &plan.added {
        zip.start_file(name.as_str(), options(text.len()))
            .map_err(zip_refused)?;
        zip.write_all(text.as_bytes())
            .map_err(|e| Refused::new(format!("cannot write {name}: {e}")))?;
    }
    let mut inner = zip.finish().map_err(zip_refused)?;
    inner
        .flush()
        .map_err(|e| Refused::new(format!("cannot write the copy: {e}")))?;
    Ok(())
}

fn stream_sheet<R: Read + Seek, W: Write + Seek>(
    package: &mut Package<R>,
    index: usize,
    sheet: &SheetPlan,
    plan: &Plan,
    zip: &mut zip::ZipWriter<W>,
) -> Result<(), PatchError> {
    let entry = package.zip.by_index(index).map_err(zip_refused)?;
    let patch = SheetPatch {
        rows: &sheet.additions.rows,
        columns: sheet.additions.columns,
        ids: &plan.ids,
        widths: &sheet.fitted.widths,
        heights: &sheet.fitted.heights,
        legacy_drawing: sheet.legacy_drawing.clone(),
        pages_wide: sheet.pages_wide,
    };
    rewrite_sheet(
        BufReader::with_capacity(1 << 16, entry),
        BufWriter::with_capacity(1 << 16, zip),
        &patch,
    )?;
    Ok(())
}
