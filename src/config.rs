//! Errors in configuration files (mappings, scoring profiles), always with
//! the file, the line and the dotted key, so an admin can go straight there.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml_edit::{ImDocument, Item, Table};

/// A configuration file that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file (or `<built-in ...>` for embedded defaults).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The dotted key (`countries.columns.liability.values`), when known.
    pub key: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A parsed configuration file, kept with its text so that later checks can
/// point at the line of any key.
pub struct Source {
    file: PathBuf,
    text: String,
    keys: Vec<(String, Range<usize>)>,
}

impl Source {
    /// Wraps the text of `file`; call [`Source::parse`] next.
    pub fn new(file: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let keys = ImDocument::parse(text.as_str())
            .map(|doc| {
                let mut keys = Vec::new();
                collect(doc.as_table(), "", &mut keys);
                keys
            })
            .unwrap_or_default();
        Self {
            file: file.into(),
            text,
            keys,
        }
    }

    /// Reads `path` from disk.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: None,
            key: None,
            message: format!("cannot read: {e}"),
        })?;
        Ok(Self::new(path, text))
    }

    /// The file name.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Deserialises the whole file, turning serde's complaints (unknown key,
    /// wrong type, missing key) into a [`ConfigError`] with line and key.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(&self.text).map_err(|e| {
            let (line, key) = match e.span() {
                Some(span) => (Some(self.line_of(span.start)), self.key_at(span.start)),
                None => (None, None),
            };
            ConfigError {
                file: self.file.clone(),
                line,
                key,
                message: e.message().trim().to_owned(),
            }
        })
    }

    /// Like [`Source::parse`], but every error of the file is found, not
    /// just the first, so a user fixes them all in one go: each key in
    /// error is set aside and the file parsed again. The errors come with
    /// the lines and keys of the file as written. A key that is required
    /// and was set aside for a wrong value is not reported again as
    /// missing.
    pub fn parse_all<T: DeserializeOwned>(&self) -> Result<T, Vec<ConfigError>> {
        let first = match self.parse() {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Ok(mut doc) = self.text.parse::<toml_edit::DocumentMut>() else {
            return Err(vec![first]);
        };
        let mut errors = vec![first];
        let mut set_aside: Vec<String> = Vec::new();
        // A file with more errors than this has a bigger problem.
        for _ in 0..50 {
            let Some(key) = errors.last().and_then(|e| e.key.clone()) else {
                break;
            };
            if !remove_key(&mut doc, &key) {
                break;
            }
            set_aside.push(key.rsplit('.').next().unwrap_or_default().to_owned());
            let retry = Source::new(self.file.clone(), doc.to_string());
            let Err(e) = retry.parse::<T>() else { break };
            let echo = set_aside.iter().any(|k| e.message == format!("missing field `{k}`"));
            if echo {
                break;
            }
            // Said where it is in the file as written.
            errors.push(match &e.key {
                Some(k) => self.error(k, e.message),
                None => e,
            });
        }
        Err(errors)
    }

    /// `text` if it is a JSON pointer (empty for the whole document, or
    /// starting with `/`), else an error about `key`.
    pub fn json_pointer(&self, key: &str, text: &str) -> Result<String, ConfigError> {
        if text.is_empty() || text.starts_with('/') {
            Ok(text.to_owned())
        } else {
            Err(self.error(
                key,
                format!("'{text}' is not a JSON pointer; expected one starting with /, such as /data/items"),
            ))
        }
    }

    /// An error about `key` (dotted path), with its line when the key is
    /// written in the file.
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        // A key may be written under an accepted alias (`countries.columns`
        // for `countries.fields`): look for that spelling too.
        let alias = key.replacen("countries.fields", "countries.columns", 1);
        let line = [key, alias.as_str()].iter().find_map(|k| {
            self.keys
                .iter()
                .find(|(written, _)| written == k)
                .map(|(_, span)| self.line_of(span.start))
        });
        ConfigError {
            file: self.file.clone(),
            line,
            key: Some(key.to_owned()),
            message: message.into(),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// The longest key whose text contains `offset`.
    fn key_at(&self, offset: usize) -> Option<String> {
        self.keys
            .iter()
            .filter(|(_, span)| span.start <= offset && offset <= span.end)
            .max_by_key(|(k, _)| k.len())
            .map(|(k, _)| k.clone())
    }
}

/// Removes the key at the dotted `path` from `doc`; false when there is
/// none.
fn remove_key(doc: &mut toml_edit::DocumentMut, path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return false };
    let mut item = doc.as_item_mut();
    for part in parts {
        match item.get_mut(part) {
            Some(next) => item = next,
            None => return false,
        }
    }
    match item {
        toml_edit::Item::Table(t) => t.remove(last).is_some(),
        toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => t.remove(last).is_some(),
        _ => false,
    }
}

/// Walks the document, recording each key's dotted path and the span from
/// the key to the end of its value.
fn collect(table: &Table, prefix: &str, out: &mut Vec<(String, Range<usize>)>) {
    for (name, item) in table.iter() {
        let path = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        };
        let key_span = table.get_key_value(name).and_then(|(k, _)| k.span());
        let span = match (key_span, item.span()) {
            (Some(k), Some(v)) => Some(k.start..v.end.max(k.end)),
            (Some(k), None) => Some(k),
            (None, v) => v,
        };
        if let Some(span) = span {
            out.push((path.clone(), span));
        }
        collect_item(item, &path, out);
    }
}

fn collect_item(item: &Item, path: &str, out: &mut Vec<(String, Range<usize>)>) {
    match item {
        Item::Table(t) => collect(t, path, out),
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if let Some(span) = t.span() {
                    out.push((p.clone(), span));
                }
                collect(t, &p, out);
            }
        }
        Item::Value(toml_edit::Value::InlineTable(t)) => {
            for (name, v) in t.iter() {
                let p = format!("{path}.{name}");
                if let Some(span) = v.span() {
                    out.push((p, span));
                }
            }
        }
        Item::Value(toml_edit::Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                if let Some(span) = v.span() {
                    out.push((format!("{path}[{i}]"), span));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Demo {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        weight: f64,
    }

    #[test]
    fn unknown_keys_are_reported_with_line_and_key() {
        let src = Source::new("demo.toml", "name = \"x\"\n\n[inner]\nweight = 1.0\nwieght = 2.0\n");
        let err = src.parse::<Demo>().unwrap_err();
        assert_eq!(err.line, Some(5), "{err}");
        assert!(err.message.contains("wieght"), "{err}");
        assert!(err.to_string().starts_with("demo.toml:5"), "{err}");
    }

    #[test]
    fn array_elements_have_their_own_line() {
        let src = Source::new("demo.toml", "formats = [\n  \"%Y\",\n  \"%Q\",\n]\n");
        assert_eq!(src.error("formats[1]", "bad").line, Some(3));
    }

    #[test]
    fn later_checks_point_at_the_key_line() {
        let src = Source::new("demo.toml", "name = \"x\"\n\n[inner]\nweight = 1.5\n");
        let err = src.error("inner.weight", "must be at most 1");
        assert_eq!(err.to_string(), "demo.toml:4: key `inner.weight`: must be at most 1");
    }
}
