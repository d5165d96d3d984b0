//! Sinks: where results go. Annotated copies of the provider workbooks, the
//! portfolio workbook and the JSON result, each written to a temporary file
//! and renamed into place so a reader never sees half a file.

mod annotated;
mod annotation;
mod atomic;
mod early_flags;
mod json;
mod manifest;
mod patch;
mod plan_workbook;
mod portfolio;
mod rebuild;
mod rollout_template;
mod spool;
mod style;
mod table_sheet;

pub use annotated::{write_annotated, CopyKind};
pub use annotation::{AddedColumns, AnnotateInput, Annotation, Cell, Look, NewSheet, Rows, SheetAdditions, Value};
pub use atomic::{write_atomically, write_xlsx_atomically, AtomicFile};
pub use early_flags::{with_flags_written_early, write_flags_early, EarlyFlags, InputDone};
pub use json::{json_provider, write_json, JsonProvider, SCHEMA_VERSION};
pub use manifest::{replace_previous_outputs, OUTPUTS_RECORD};
pub use patch::{write_patched, PatchError, Refused};
pub use plan_workbook::{write_plan_json, write_plan_workbook};
pub use portfolio::{Portfolio, PortfolioEnd};
pub use rollout_template::write_rollout_template;
pub use spool::{FlagRow, Spool};

/// An output that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// File system trouble.
    #[error("{path}: cannot write: {source}")]
    Io {
        /// The output.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The workbook writer refused something.
    #[error("{path}: cannot write the workbook: {source}")]
    Xlsx {
        /// The output.
        path: std::path::PathBuf,
        /// The cause.
        source: rust_xlsxwriter::XlsxError,
    },
    /// JSON encoding failed.
    #[error("{path}: cannot write JSON: {source}")]
    Json {
        /// The output.
        path: std::path::PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}
