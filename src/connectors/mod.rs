//! Connectors: records pulled from vendor-management systems and ERPs over
//! their HTTP APIs, configured declaratively in `connectors/*.toml` (see
//! `docs/connectors.md`), and mapped into the model by records mappings.

mod client;
mod config;
mod exchange;
mod files;
mod incremental;
mod paging;
mod secret;
mod writeback;
mod xml;

pub use client::{Client, ConnectorError, Page};
pub use config::{Auth, Connector, FileSpec, Limits, Pagination, Stream, Writeback, WritebackKind, WritebackMode};
pub use exchange::{
    fetch_records, fetch_workbooks, mirrored, prune_mirror, write_back_one, ExchangeError, FetchOutcome, Fetched,
    FetchedRecords, NotFetched,
};
pub use files::{fetch_files, for_each_file, read_tree, ConnectorFile};
pub use incremental::Incremental;
pub use paging::{delta_key, fill, fill_url, read_stream, ReadOutcome};
pub use secret::{Redactor, Secret, SecretError, SecretRef};
pub use writeback::{write_back, WritebackItem};
