//! Record paths: where the records layout finds a value inside a JSON
//! record. A record path is a JSON pointer (RFC 6901, `/entity/name`) in
//! which a segment may also be `[key=value]`: it picks, from a list of
//! objects, the first whose `key` holds `value`. APIs keep questionnaire
//! answers as such lists (`[{"field-name": "ior_role", "answer": "..."}]`),
//! and the position of an answer in them is not stable, so a plain index
//! would read the wrong question when the form changes.
//!
//! A path is parsed once, when the mapping is loaded; resolving it gives
//! the value and the concrete pointer it was found at
//! (`/answers/3/value`), which is what notes and flags cite.

use std::fmt;

use serde_json::Value;

use crate::sources::unescape_pointer_key;

/// A path that does not parse, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{path}' is not a record path: {reason}")]
pub struct PathError {
    /// The path as written.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// An object key or an array index, as in a JSON pointer.
    Key(String),
    /// The first object of a list whose `key` holds `value`.
    Pick { key: String, value: String },
}

/// A parsed record path; the default is `""`, the record itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordPath {
    text: String,
    segments: Vec<Segment>,
}

/// Escapes a key for a JSON pointer.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl RecordPath {
    /// Parses a path: `""` (the record itself), or segments each starting
    /// with `/`.
    pub fn parse(text: &str) -> Result<RecordPath, PathError> {
        let fail = |reason: String| PathError {
            path: text.to_owned(),
            reason,
        };
        if !(text.is_empty() || text.starts_with('/')) {
            return Err(fail(
                "expected a JSON pointer starting with /, such as /data/items".into(),
            ));
        }
        let mut segments = Vec::new();
        for raw in text.split('/').skip(1) {
            if !raw.starts_with('[') {
                if raw.ends_with(']') && raw.contains('[') {
                    // `items[0]`: JSONPath's habit, not a pointer.
                    return Err(fail(format!(
                        "segment '{raw}': write an index as its own segment (/items/0) or pick by key with /items/[key=value]"
                    )));
                }
                segments.push(Segment::Key(unescape_pointer_key(raw)));
                continue;
            }
            let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
                return Err(fail(format!("segment '{raw}' opens with [ but does not end with ]")));
            };
            let Some((key, value)) = inner.split_once('=') else {
                return Err(fail(format!("segment '{raw}': expected [key=value]")));
            };
            if key.trim().is_empty() {
                return Err(fail(format!("segment '{raw}': the key before = is empty")));
            }
            segments.push(Segment::Pick {
                key: unescape_pointer_key(key),
                value: unescape_pointer_key(value),
            });
        }
        Ok(RecordPath {
            text: text.to_owned(),
            segments,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path inside `value`, with the concrete JSON pointer
    /// it was found at (a pick replaced by the index it matched).
    pub fn resolve<'a>(&self, value: &'a Value) -> Option<(&'a Value, String)> {
        let mut at = value;
        let mut pointer = String::new();
        for segment in &self.segments {
            let (next, token) = match (segment, at) {
                (Segment::Key(key), Value::Object(map)) => (map.get(key)?, escape(key)),
                (Segment::Key(key), Value::Array(items)) => {
                    // As in RFC 6901: digits without a leading zero.
                    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) {
                        return None;
                    }
                    let i: usize = key.parse().ok()?;
                    (items.get(i)?, key.clone())
                }
                (Segment::Pick { key, value }, Value::Array(items)) => {
                    let (i, item) = items
                        .iter()
                        .enumerate()
                        .find(|(_, item)| item.get(key).is_some_and(|v| holds(v, value)))?;
                    (item, i.to_string())
                }
                _ => return None,
            };
            pointer.push('/');
            pointer.push_str(&token);
            at = next;
        }
        Some((at, pointer))
    }

    /// The value at this path, without where it was found.
    pub fn get<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.resolve(value).map(|(v, _)| v)
    }
}

/// Whether a JSON value holds `text`: a string equal to it, or a number or
/// true/false written so (`[id=3]` picks `{"id": 3}`).
fn holds(v: &Value, text: &str) -> bool {
    match v {
        Value::String(s) => s == text,
        Value::Number(n) => text.parse::<serde_json::Number>().is_ok_and(|t| t == *n),
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        _ => false,
    }
}

impl fmt::Display for RecordPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form() -> Value {
        json!({"responses": [{"answers": [
            {"field-name": "country", "value": "DE"},
            {"field-name": "ior_role", "value": "We are IOR"},
            {"field-name": "a/b", "value": "slash"},
            {"id": 7, "value": "seven"},
            {"required": true, "value": "yes"}
        ]}]})
    }

    fn resolve(path: &str) -> Option<(Value, String)> {
        RecordPath::parse(path)
            .unwrap()
            .resolve(&form())
            .map(|(v, at)| (v.clone(), at))
    }

    #[test]
    fn a_plain_pointer_reads_as_json_pointers_do() {
        assert_eq!(
            resolve("/responses/0/answers/1/value"),
            Some((json!("We are IOR"), "/responses/0/answers/1/value".into()))
        );
    }

    #[test]
    fn a_key_segment_picks_the_item_and_is_cited_by_its_index() {
        assert_eq!(
            resolve("/responses/0/answers/[field-name=ior_role]/value"),
            Some((json!("We are IOR"), "/responses/0/answers/1/value".into()))
        );
    }

    #[test]
    fn a_key_segment_matches_numbers_and_true_false_by_their_text() {
        assert_eq!(resolve("/responses/0/answers/[id=7]/value").unwrap().0, json!("seven"));
        assert_eq!(
            resolve("/responses/0/answers/[required=true]/value").unwrap().0,
            json!("yes")
        );
    }

    #[test]
    fn a_key_segment_takes_pointer_escapes_and_cites_them_escaped() {
        assert_eq!(
            resolve("/responses/0/answers/[field-name=a~1b]"),
            Some((
                json!({"field-name": "a/b", "value": "slash"}),
                "/responses/0/answers/2".into()
            ))
        );
    }

    #[test]
    fn no_matching_item_is_no_value() {
        assert_eq!(resolve("/responses/0/answers/[field-name=liability]/value"), None);
        assert_eq!(
            resolve("/responses/[field-name=country]"),
            None,
            "items without the key"
        );
        assert_eq!(resolve("/responses/0/[field-name=country]"), None, "not a list");
    }

    #[test]
    fn the_empty_path_is_the_record_itself() {
        assert_eq!(resolve(""), Some((form(), String::new())));
    }

    #[test]
    fn an_index_with_a_leading_zero_is_not_an_index() {
        assert_eq!(resolve("/responses/00/answers"), None);
    }

    #[test]
    fn malformed_key_segments_are_refused_with_the_reason() {
        for (path, reason) in [
            ("/answers/[field-name=x", "does not end with ]"),
            ("/answers/[field-name]", "expected [key=value]"),
            ("/answers/[=x]", "key before = is empty"),
            ("/answers[0]", "own segment"),
            ("answers", "starting with /"),
        ] {
            let err = RecordPath::parse(path).unwrap_err();
            assert!(err.reason.contains(reason), "{path}: {err}");
        }
    }

    #[test]
    fn a_value_may_hold_an_equals_sign() {
        let doc = json!([{"q": "a=b", "v": 1}]);
        let p = RecordPath::parse("/[q=a=b]/v").unwrap();
        assert_eq!(p.resolve(&doc), Some((&json!(1), "/0/v".to_owned())));
    }
}
