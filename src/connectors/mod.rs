//! Connectors: records pulled from vendor-management systems and ERPs over
//! their HTTP APIs, configured declaratively in `connectors/*.toml` (see
//! `docs/connectors.md`), and mapped into the model by records mappings.

mod client;
mod config;
mod paging;
mod secret;

pub use client::{Client, ConnectorError, Page};
pub use config::{Auth, Connector, Limits, Pagination, Stream};
pub use paging::{read_stream, ReadOutcome};
pub use secret::{Redactor, Secret, SecretError, SecretRef};
