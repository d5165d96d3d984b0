//! JSON documents: API records exported from a vendor-management system or
//! ERP, read whole (within a size limit) and addressed by JSON pointers, or
//! their records read one at a time when the mapping is known.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::workbook::ReadError;

/// The largest JSON document read whole, in bytes (one read record by
/// record has no such limit: memory holds one record).
pub const MAX_JSON_BYTES: u64 = 256 * 1024 * 1024;

/// A parsed JSON document.
#[derive(Debug, Clone)]
pub struct JsonDocument {
    /// The file read.
    pub path: PathBuf,
    /// Its content.
    pub value: serde_json::Value,
}

/// The keys a JSON pointer walks (`/a~1b/c` walks `a/b`, then `c`).
pub fn pointer_keys(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer.split('/').skip(1).map(unescape_pointer_key)
}

/// Undoes a JSON pointer token's escapes (`~1` is `/`, `~0` is `~`).
pub fn unescape_pointer_key(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// True for a file name that looks like a JSON document.
pub fn is_json_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Reads and parses a JSON document, within the size limit.
pub fn read_json(path: &Path) -> Result<JsonDocument, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() > MAX_JSON_BYTES {
        return Err(ReadError::Corrupt {
            path: path.to_owned(),
            format: "json",
            detail: format!("larger than {} MiB", MAX_JSON_BYTES / (1024 * 1024)),
        });
    }
    let mut text = String::new();
    file.take(MAX_JSON_BYTES).read_to_string(&mut text).map_err(io)?;
    let value = serde_json::from_str(&text).map_err(|e| corrupt(path, &e))?;
    Ok(JsonDocument {
        path: path.to_owned(),
        value,
    })
}

/// Hands each item of the array at the JSON pointer `pointer` in the
/// document at `path` to `each`, in order, parsing one item at a time:
/// memory holds one record, not the document. Returns false when there is
/// no array at `pointer`. An object that repeats a key on the way is an
/// error (the records of the first may have been handed on already).
pub fn for_each_record(path: &Path, pointer: &str, each: impl FnMut(serde_json::Value)) -> Result<bool, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let keys: Vec<String> = pointer_keys(pointer).collect();
    let mut each = each;
    let mut found = false;
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let walked = serde::de::DeserializeSeed::deserialize(
        walk::Walk {
            keys: &keys,
            each: &mut each,
            found: &mut found,
        },
        &mut de,
    )
    .and_then(|()| de.end());
    match walked {
        Ok(()) => Ok(found),
        Err(e) if e.is_io() => Err(io(std::io::Error::from(e))),
        Err(e) => Err(corrupt(path, &e)),
    }
}

/// A document that does not parse, and where it stopped.
fn corrupt(path: &Path, e: &serde_json::Error) -> ReadError {
    ReadError::Corrupt {
        path: path.to_owned(),
        format: "json",
        detail: format!("line {}, column {}: {e}", e.line(), e.column()),
    }
}

/// Following a JSON pointer through a document as it is parsed.
mod walk {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    /// The part of the document at `keys`: an array there has its items
    /// handed to `each`; anything else is skipped.
    pub(super) struct Walk<'a, F> {
        pub keys: &'a [String],
        pub each: &'a mut F,
        pub found: &'a mut bool,
    }

    impl<'de, F: FnMut(Value)> DeserializeSeed<'de> for Walk<'_, F> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de, F: FnMut(Value)> Visitor<'de> for Walk<'_, F> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON document")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut followed = false;
            while let Some(key) = map.next_key::<String>()? {
                match self.keys.split_first() {
                    // A whole-document read would take the last of the two;
                    // records already handed on from the first cannot be
                    // taken back.
                    Some((first, _)) if followed && *first == key => {
                        return Err(serde::de::Error::custom(format!(
                            "the key '{key}' appears twice on the way to the records"
                        )));
                    }
                    Some((first, rest)) if *first == key => {
                        followed = true;
                        map.next_value_seed(Walk {
                            keys: rest,
                            each: &mut *self.each,
                            found: &mut *self.found,
                        })?;
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let Some((first, rest)) = self.keys.split_first() else {
                *self.found = true;
                while let Some(item) = seq.next_element::<Value>()? {
                    (self.each)(item);
                }
                return Ok(());
            };
            // An index as a JSON pointer writes it: digits, no sign, no
            // leading zero.
            let at = (!first.starts_with('+') && (first == "0" || !first.starts_with('0')))
                .then(|| first.parse::<usize>().ok())
                .flatten();
            let mut i = 0usize;
            loop {
                let more = if Some(i) == at {
                    seq.next_element_seed(Walk {
                        keys: rest,
                        each: &mut *self.each,
                        found: &mut *self.found,
                    })?
                    .is_some()
                } else {
                    seq.next_element::<IgnoredAny>()?.is_some()
                };
                if !more {
                    return Ok(());
                }
                i += 1;
            }
        }

        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(doc: &str, pointer: &str) -> (bool, Vec<serde_json::Value>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.json");
        std::fs::write(&path, doc).unwrap();
        let mut got = Vec::new();
        let found = for_each_record(&path, pointer, |v| got.push(v)).unwrap();
        (found, got)
    }

    #[test]
    fn records_are_read_one_at_a_time_from_the_array_at_the_pointer() {
        let doc = r#"{"meta": {"items": [9]}, "data": {"items": [{"id": 1}, {"id": 2}]}, "after": [3]}"#;
        let (found, got) = items(doc, "/data/items");
        assert!(found);
        assert_eq!(got, [serde_json::json!({"id": 1}), serde_json::json!({"id": 2})]);
    }

    #[test]
    fn a_pointer_through_an_array_index_and_the_root_array_are_followed() {
        assert_eq!(items(r#"[{"r": [1]}, {"r": [2, 3]}]"#, "/1/r").1, [2, 3]);
        assert_eq!(items("[1, 2]", "").1, [1, 2]);
    }

    #[test]
    fn a_key_repeated_on_the_way_is_an_error_and_indexes_are_written_plainly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.json");
        std::fs::write(&path, r#"{"data": [1], "data": [2]}"#).unwrap();
        let e = for_each_record(&path, "/data", |_| {}).unwrap_err().to_string();
        assert!(e.contains("the key 'data' appears twice"), "{e}");
        assert!(!items(r#"[[1], [2]]"#, "/01").0);
        assert!(!items(r#"[[1], [2]]"#, "/+1").0);
        assert_eq!(items(r#"[[1], [2]]"#, "/1").1, [2]);
    }

    #[test]
    fn no_array_at_the_pointer_is_not_found() {
        assert!(!items(r#"{"data": {"items": 3}}"#, "/data/items").0);
        assert!(!items(r#"{"data": {}}"#, "/data/items").0);
    }

    #[test]
    fn a_broken_document_is_an_error_with_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.json");
        std::fs::write(&path, "{\"data\": [1,\n 2,,]}").unwrap();
        let e = for_each_record(&path, "/data", |_| {}).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
