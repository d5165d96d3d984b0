//! iorready: scores importer-of-record providers country by country, from
//! their questionnaire answers, and explains every score on the cells that
//! caused it.
//!
//! The pipeline reads top-down: [`sources`] find and read workbooks,
//! [`mapping`] turns cells into the [`model`], [`scoring`] decides tiers,
//! coverage classes and flags, and [`sinks`] write annotated workbooks, the
//! portfolio and JSON. [`pipeline`] ties them together for one run;
//! [`daemon`] runs configured jobs on a schedule and remembers, in its
//! state, what each run did ([`history`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod connectors;
pub mod daemon;
pub mod faults;
pub mod history;
pub mod mapping;
pub mod model;
pub mod pipeline;
pub mod planning;
pub mod scoring;
pub mod sinks;
pub mod sources;
pub mod template;
pub mod terminal;
