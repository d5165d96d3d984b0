//! Mapping: from the cells of a workbook to the capability model, driven by
//! a declarative mapping file (`mappings/*.toml`, see `docs/mappings.md`).

mod check;
mod choose;
mod extract;
mod matrix;
pub mod path;
mod per_sheet;
mod provider;
mod records;
mod spec;
mod suggest;
mod table;
pub mod values;

pub use check::{check, check_records, CheckReport, FieldStats};
pub use choose::MappingSet;
pub use extract::{extract, Extracted, Found, MappingError, Placement};
pub use records::{extract_records, RecordsReader};
pub use spec::{
    builtin_aliases, CountrySpec, Derive, FieldRule, Layout, Mapping, ProviderSpec, Recognise, SheetChoice,
    QUESTIONNAIRE_V1,
};
pub use suggest::{suggest, SuggestError};
