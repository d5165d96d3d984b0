//! Mapping: from the cells of a workbook to the capability model, driven by
//! a declarative mapping file (`mappings/*.toml`).

mod extract;
mod spec;
pub mod values;

pub use extract::{extract, find_header, MappingError, TableLayout};
pub use spec::{ColumnRule, CountryTable, Mapping, ProviderSheet, QUESTIONNAIRE_V1};
