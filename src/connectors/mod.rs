//! Connectors: records pulled from vendor-management systems and ERPs over
//! their HTTP APIs, configured declaratively in `connectors/*.toml` (see
//! `docs/connectors.md`), and mapped into the model by records mappings.

mod client;
mod config;
mod exchange;
mod files;
mod incremental;
mod mirror;
mod paging;
mod records;
mod results;
mod secret;
mod templates;
mod writeback;
mod xml;

pub use client::{Client, ConnectorError, Page};
pub use config::{Auth, Connector, FileSpec, Limits, Pagination, Stream, Writeback, WritebackKind, WritebackMode};
pub use exchange::{fetch_workbooks, ExchangeError, FetchOutcome, NotFetched};
pub use files::{
    fetch_files, for_each_file, for_each_parents_records, parent_records, read_for_parents, read_tree, ConnectorFile,
};
pub use incremental::Incremental;
pub use mirror::{mirrored, prune_mirror, Fetched};
pub use paging::{delta_key, read_stream, read_stream_pages, PagedOutcome, ReadOutcome};
pub use records::{fetch_records, FetchedRecords};
pub use results::{write_back_one, WriteBackRun, UNREACHABLE_IN_A_ROW};
pub use secret::{Redactor, Secret, SecretError, SecretRef};
pub use templates::{fill, fill_url};
pub use writeback::{write_back, WritebackItem};
