//! The annotated copy of a provider workbook: the provider's own xlsx or
//! xlsm patched with iorready's additions when the patcher can, otherwise
//! a rebuilt workbook holding the answers and the same additions, with the
//! reason on its Readiness sheet and in the run's summary.

use std::path::Path;

use super::annotation::{AnnotateInput, Annotation};
use super::patch::{write_patched, PatchError};
use super::rebuild::write_rebuilt;
use super::SinkError;
use crate::sources::Format;

/// What the Readiness sheet says of a patched copy.
const PATCHED: &str =
    "The provider's own file, with iorready's columns, notes and sheets added; nothing of it changed.";

/// How the annotated copy was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyKind {
    /// The provider's package, patched.
    Patched,
    /// A new workbook, for this reason.
    Rebuilt(String),
}

/// Writes the annotated copy of `input` to `out`: patched when the input
/// is an xlsx or xlsm the patcher understands, rebuilt otherwise.
pub fn write_annotated(input: &AnnotateInput<'_>, out: &Path) -> Result<CopyKind, SinkError> {
    let mut annotation = Annotation::decide(input, PATCHED);
    let reason = match input.workbook.format {
        Format::Xlsx => match write_patched(&input.workbook.path, &annotation, out) {
            Ok(()) => return Ok(CopyKind::Patched),
            Err(PatchError::Sink(e)) => return Err(e),
            Err(PatchError::Refused(r)) => format!("the file could not be patched: {r}"),
        },
        Format::Xls => "xls workbooks cannot be patched".to_owned(),
        Format::Xlsb => "xlsb workbooks cannot be patched".to_owned(),
        Format::Ods => "ods workbooks cannot be patched".to_owned(),
    };
    tracing::info!(file = %input.workbook.path.display(), reason = %reason, "annotated copy rebuilt");
    annotation.set_copy(&format!(
        "Rebuilt from the answers: the provider's formatting is not kept ({reason})."
    ));
    write_rebuilt(input.workbook, &annotation, out)?;
    Ok(CopyKind::Rebuilt(reason))
}
