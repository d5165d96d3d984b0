//! A connector whose records are scored as they are (a records mapping,
//! no workbooks): its records, with those of its child streams nested in
//! each, saved as one JSON document.

use std::path::{Path, PathBuf};

use super::exchange::{io, ExchangeError};
use super::mirror::save;
use super::{read_tree, Client, Connector, Redactor};

/// Records of a connector that names a records `mapping`, saved as one
/// JSON document to score.
#[derive(Debug, Clone)]
pub struct FetchedRecords {
    /// The JSON document.
    pub path: PathBuf,
    /// The mapping to read it with.
    pub mapping: String,
    /// How many records.
    pub count: usize,
}

/// When the connector `name` names a records `mapping`: reads its first
/// top-level stream without files in full, nests the records of its child
/// streams (without files) in each record under the child's name, and
/// saves the records at the mapping's records pointer in
/// `dir/<name>/records.json`. A full read
/// each time: the document must hold every supplier, and an unchanged one
/// is then recognised by its content.
pub async fn fetch_records(
    connectors: &Path,
    name: &str,
    dir: &Path,
    mappings: &crate::mapping::MappingSet,
) -> Result<Option<FetchedRecords>, ExchangeError> {
    let connector = Connector::find(connectors, name)?;
    let Some(mapping_name) = connector.mapping.clone() else {
        return Ok(None);
    };
    let mapping = mappings.mappings().iter().find(|m| m.name == mapping_name).ok_or_else(|| {
        ExchangeError::Mapping(format!(
            "connector '{name}' names mapping '{mapping_name}', which is not among the mappings (add its file to the mappings folder)"
        ))
    })?;
    let crate::mapping::Layout::Records { records: pointer, .. } = &mapping.countries.layout else {
        return Err(ExchangeError::Mapping(format!(
            "connector '{name}': mapping '{mapping_name}' reads workbooks, not records"
        )));
    };
    let Some(stream) = connector
        .streams
        .iter()
        .find(|s| s.file.is_none() && s.parent.is_none())
        .cloned()
    else {
        return Err(ExchangeError::Mapping(format!(
            "connector '{name}' has a mapping but no top-level stream of records"
        )));
    };
    let children: Vec<_> = connector
        .streams
        .iter()
        .filter(|s| s.file.is_none() && s.parent.as_deref() == Some(stream.name.as_str()))
        .cloned()
        .collect();
    let client = Client::new(connector, Redactor::default())?;
    let mut records: Vec<serde_json::Value> = read_tree(&client, &stream, None)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    // Child streams (a supplier's answers) are nested in each record under
    // the child stream's name, so a mapping reads them as the record's own.
    for child in &children {
        let mut by_parent: std::collections::HashMap<String, Vec<serde_json::Value>> = Default::default();
        for (parent, record) in read_tree(&client, child, None).await? {
            let key = parent.as_ref().map(record_key).unwrap_or_default();
            by_parent.entry(key).or_default().push(record);
        }
        for record in &mut records {
            let nested = by_parent.remove(&record_key(record)).unwrap_or_default();
            if let serde_json::Value::Object(map) = record {
                map.insert(child.name.clone(), serde_json::Value::Array(nested));
            }
        }
    }
    let count = records.len();
    let mut doc = serde_json::Value::Null;
    place(&mut doc, pointer, serde_json::Value::Array(records));
    let folder = dir.join(crate::model::slug(name));
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let path = folder.join("records.json");
    let bytes = serde_json::to_vec(&doc).map_err(|e| ExchangeError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    save(&path, &bytes)?;
    tracing::info!(connector = %name, stream = %stream.name, records = count, "records fetched");
    Ok(Some(FetchedRecords {
        path,
        mapping: mapping_name,
        count,
    }))
}

/// What identifies a parent record: its `id` when it has one (the record
/// may have changed between the parent's two reads), else all of it.
fn record_key(record: &serde_json::Value) -> String {
    match record.get("id") {
        Some(id) => format!("id:{id}"),
        None => record.to_string(),
    }
}

/// Puts `value` at the JSON pointer `pointer` in `doc`, creating objects
/// on the way (`/suppliers` makes `{"suppliers": value}`).
fn place(doc: &mut serde_json::Value, pointer: &str, value: serde_json::Value) {
    let mut at = doc;
    for token in pointer.split('/').skip(1) {
        let key = token.replace("~1", "/").replace("~0", "~");
        if !at.is_object() {
            *at = serde_json::Value::Object(Default::default());
        }
        let serde_json::Value::Object(map) = at else { return };
        at = map.entry(key).or_insert(serde_json::Value::Null);
    }
    *at = value;
}
