//! A connector whose records are scored as they are (a records mapping,
//! no workbooks): its records, with those of its child streams nested in
//! each, saved as one JSON document.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::exchange::{io, ExchangeError};
use super::{read_for_parents, read_stream_pages, read_tree, Client, Connector, Redactor, Stream};

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
/// `dir/<name>/records.json` (written page by page as they arrive when
/// there are no child streams). A full read each time: the document must
/// hold every supplier, and an unchanged one is then recognised by its
/// content. With `keep_when_empty`, a read that brings no records leaves
/// an earlier document holding some as it is and is an error
/// ([`ExchangeError::EmptyListing`]).
pub async fn fetch_records(
    connectors: &Path,
    name: &str,
    dir: &Path,
    mappings: &crate::mapping::MappingSet,
    keep_when_empty: bool,
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
    let folder = dir.join(crate::model::slug(name));
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let path = folder.join("records.json");
    let earlier = |count: usize| -> Result<(), ExchangeError> {
        if count > 0 || !keep_when_empty || !path.exists() {
            return Ok(());
        }
        // An earlier document that cannot be read is kept too: it may hold
        // what an empty listing would replace.
        let mut earlier = 0usize;
        let found =
            crate::sources::for_each_record(&path, pointer, |_| earlier += 1).map_err(|e| ExchangeError::Io {
                path: path.clone(),
                source: std::io::Error::other(format!(
                    "the records read came to none, and the earlier records cannot be read to compare ({e}); kept"
                )),
            })?;
        if found && earlier > 0 {
            return Err(ExchangeError::EmptyListing {
                connector: name.to_owned(),
                what: "records",
                earlier,
            });
        }
        Ok(())
    };
    let count = if children.is_empty() {
        save_streamed(&client, &stream, pointer, &path, earlier).await?
    } else {
        let records = nest_children(&client, &stream, &children).await?;
        let mut doc = RecordsDocument::create(&path, pointer)?;
        for record in &records {
            doc.push(record)?;
        }
        doc.commit(earlier)?
    };
    tracing::info!(connector = %name, stream = %stream.name, records = count, "records fetched");
    Ok(Some(FetchedRecords {
        path,
        mapping: mapping_name,
        count,
    }))
}

/// The records of `stream`, each with the records of the child streams
/// (a supplier's answers) nested under the child stream's name, so a
/// mapping reads them as the record's own. Held in memory: a child's
/// records are matched to their parent after both were read.
async fn nest_children(
    client: &Client,
    stream: &Stream,
    children: &[Stream],
) -> Result<Vec<serde_json::Value>, ExchangeError> {
    let mut records: Vec<serde_json::Value> = read_tree(client, stream).await?.into_iter().map(|(_, r)| r).collect();
    // Each child is read for the parent records as the parent stream gave
    // them, keyed before anything is nested in them (a second child stream
    // then neither carries the first's records in every parent it clones,
    // nor sees a parent without an id under another key). A parent listed
    // twice (overlapping pages) is read for once, and both copies get its
    // records.
    let keys: Vec<String> = records.iter().map(record_key).collect();
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<serde_json::Value> = records
        .iter()
        .zip(&keys)
        .filter(|(_, key)| seen.insert(key.as_str()))
        .map(|(record, _)| record.clone())
        .collect();
    for child in children {
        let mut by_parent: std::collections::HashMap<String, Vec<serde_json::Value>> = Default::default();
        for (parent, record) in read_for_parents(client, child, &unique).await? {
            let key = parent.as_ref().map(record_key).unwrap_or_default();
            by_parent.entry(key).or_default().push(record);
        }
        for (record, key) in records.iter_mut().zip(&keys) {
            let nested = by_parent.get(key).cloned().unwrap_or_default();
            if let serde_json::Value::Object(map) = record {
                map.insert(child.name.clone(), serde_json::Value::Array(nested));
            }
        }
    }
    Ok(records)
}

/// Reads `stream` page by page into the JSON document at `path`, its
/// records at `pointer`, written as they arrive (memory holds one page)
/// and renamed into place once the read is complete and `before_commit`
/// agrees; a failed read leaves the earlier document. Returns how many
/// records.
async fn save_streamed(
    client: &Client,
    stream: &Stream,
    pointer: &str,
    path: &Path,
    before_commit: impl FnOnce(usize) -> Result<(), ExchangeError>,
) -> Result<usize, ExchangeError> {
    let mut doc = RecordsDocument::create(path, pointer)?;
    read_stream_pages(client, stream, None, None, |page| {
        page.iter().try_for_each(|record| doc.push(record))
    })
    .await?;
    doc.commit(before_commit)
}

/// The records document being written beside its final place: the records
/// one at a time in an array at the JSON pointer (`/suppliers` makes
/// `{"suppliers":[...]}`). Dropped without [`RecordsDocument::commit`], it
/// leaves the earlier document as it was.
struct RecordsDocument {
    out: std::io::BufWriter<crate::sinks::AtomicFile>,
    path: PathBuf,
    /// The objects opened on the way to the array.
    depth: usize,
    count: usize,
}

impl RecordsDocument {
    fn create(path: &Path, pointer: &str) -> Result<Self, ExchangeError> {
        let file = crate::sinks::AtomicFile::create(path).map_err(|e| failed(path, e))?;
        let mut doc = RecordsDocument {
            out: std::io::BufWriter::with_capacity(1 << 16, file),
            path: path.to_owned(),
            depth: 0,
            count: 0,
        };
        for key in crate::sources::pointer_keys(pointer) {
            write!(doc.out, "{{{}:", serde_json::Value::String(key)).map_err(io(path))?;
            doc.depth += 1;
        }
        doc.out.write_all(b"[").map_err(io(path))?;
        Ok(doc)
    }

    fn push(&mut self, record: &serde_json::Value) -> Result<(), ExchangeError> {
        if self.count > 0 {
            self.out.write_all(b",").map_err(io(&self.path))?;
        }
        serde_json::to_writer(&mut self.out, record).map_err(|e| ExchangeError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        self.count += 1;
        Ok(())
    }

    /// Closes the document and, once `before_commit` agrees, renames it
    /// into place. Returns how many records it holds.
    fn commit(
        mut self,
        before_commit: impl FnOnce(usize) -> Result<(), ExchangeError>,
    ) -> Result<usize, ExchangeError> {
        let path = self.path;
        self.out.write_all(b"]").map_err(io(&path))?;
        for _ in 0..self.depth {
            self.out.write_all(b"}").map_err(io(&path))?;
        }
        let file = self.out.into_inner().map_err(|e| io(&path)(e.into_error()))?;
        before_commit(self.count)?;
        file.commit().map_err(|e| failed(&path, e))?;
        Ok(self.count)
    }
}

fn failed(path: &Path, e: crate::sinks::SinkError) -> ExchangeError {
    ExchangeError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// What identifies a parent record: its `id` when it has one, else all of
/// it.
fn record_key(record: &serde_json::Value) -> String {
    match record.get("id") {
        Some(id) => format!("id:{id}"),
        None => record.to_string(),
    }
}
