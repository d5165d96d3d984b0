//! Templates filled from records: `{parent:/pointer}` and
//! `{record:/pointer}` placeholders in URL paths (each value one
//! percent-encoded segment), query values, filters and JSON bodies.

use serde_json::Value;

/// Where the values filled into a template go, which says how they are
/// written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// As they are: query values (which the URL's own encoder then
    /// writes) and filters.
    AsIs,
    /// In a JSON body: JSON-escaped, for a value inside the template's
    /// quotes stays one string whatever it holds (a supplier named
    /// `Acme", "status": "approved` adds no field). A number's or
    /// `true`'s text has nothing to escape, so `{parent:/id}` outside
    /// quotes still fills a number.
    Json,
    /// In a URL written by the template: percent-encoded as one path
    /// segment before the template's first `?`, as a query value after it,
    /// so an id such as `x/y #1?` stays one id.
    Url,
}

/// The bytes kept as they are in a URL component: RFC 3986's unreserved
/// characters. Everything else is percent-encoded, so a value never adds a
/// segment, a query or a fragment.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `value` percent-encoded as one URL path segment, or as a query value
/// when `in_query`. A path segment of `.` or `..` would be resolved away
/// (even encoded), so it is refused.
pub(crate) fn encode_in_url(value: &str, in_query: bool) -> Result<String, String> {
    if !in_query && matches!(value, "." | "..") {
        return Err(format!("'{value}' cannot be placed in a URL path"));
    }
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// Appends `value` to `out` escaped as the content of a JSON string
/// (RFC 8259: quotes, backslashes and control characters).
fn json_escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
}

/// The text a JSON value fills a template with: a string as it is, any
/// other value as JSON (`42`, `true`).
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Replaces each `{token}` of `template` that `lookup` knows (it answers
/// `None` for others, such as the braces of a JSON body, which stay as
/// they are) with its value, written as `placement` says. Values are not
/// searched again for tokens.
pub(crate) fn fill_template(
    template: &str,
    placement: Placement,
    lookup: &dyn Fn(&str) -> Option<Result<String, String>>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            if let Some(kind) = ["parent:", "record:", "found:"].iter().find(|k| after.starts_with(*k)) {
                return Err(format!("unclosed '{{{kind}' in '{template}'"));
            }
            out.push('{');
            rest = after;
            continue;
        };
        match lookup(&after[..close]) {
            Some(value) => {
                let value = value?;
                match placement {
                    Placement::AsIs => out.push_str(&value),
                    Placement::Json => json_escape_into(&mut out, &value),
                    Placement::Url => {
                        // Values are encoded, so a `?` in `out` is the
                        // template's own.
                        let in_query = out.contains('?');
                        out.push_str(&encode_in_url(&value, in_query)?);
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of a `{<prefix>/pointer}` token (`prefix` is `parent:`,
/// `record:` or `found:`) in `record`, when `token` is one; `whose` names
/// the record in the error when it has no such value.
pub(crate) fn pointer_token(
    token: &str,
    prefix: &str,
    record: Option<&Value>,
    whose: &str,
) -> Option<Result<String, String>> {
    let pointer = token.strip_prefix(prefix)?;
    Some(
        record
            .and_then(|r| r.pointer(pointer))
            .map(value_text)
            .ok_or_else(|| format!("{whose} has no '{pointer}'")),
    )
}

/// The value of a `{parent:/pointer}` token, when `token` is one.
fn parent_token(token: &str, parent: Option<&Value>) -> Option<Result<String, String>> {
    pointer_token(token, "parent:", parent, "the parent record")
}

/// Fills `{parent:/pointer}` from the parent record, as it is; a value
/// starting with `base64url:` is then encoded (URL-safe base64, as
/// Tryton's `d=` domain wants), its values JSON-escaped first. For query values and filters; see
/// [`fill_url`] for a URL path and `fill_json` for a JSON body.
pub fn fill(template: &str, parent: Option<&Value>) -> Result<String, String> {
    // What follows `base64url:` is JSON (a Tryton domain): values are
    // JSON-escaped in it, so a quote in a name cannot end its string.
    let placement = if template.starts_with("base64url:") {
        Placement::Json
    } else {
        Placement::AsIs
    };
    let out = fill_template(template, placement, &|t| parent_token(t, parent))?;
    Ok(match out.strip_prefix("base64url:") {
        Some(raw) => {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE.encode(raw.as_bytes())
        }
        None => out,
    })
}

/// Fills `{parent:/pointer}` in a JSON body template, each value
/// JSON-escaped (see [`Placement::Json`]).
pub(crate) fn fill_json(template: &str, parent: Option<&Value>) -> Result<String, String> {
    fill_template(template, Placement::Json, &|t| parent_token(t, parent))
}

/// Fills `{parent:/pointer}` in a URL path template, each value
/// percent-encoded as a path segment (as a query value after a `?` of the
/// template).
pub fn fill_url(template: &str, parent: Option<&Value>) -> Result<String, String> {
    fill_template(template, Placement::Url, &|t| parent_token(t, parent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_in_a_url_path_is_one_percent_encoded_segment() {
        let parent = json!({"id": "x/y #1?"});
        assert_eq!(
            fill_url("items/{parent:/id}/content", Some(&parent)).unwrap(),
            "items/x%2Fy%20%231%3F/content"
        );
    }

    #[test]
    fn a_value_after_the_templates_question_mark_is_encoded_as_a_query_value() {
        let parent = json!({"id": "V 1", "realm": "a&b=c+d"});
        assert_eq!(
            fill_url("vendors/{parent:/id}/q?realm={parent:/realm}", Some(&parent)).unwrap(),
            "vendors/V%201/q?realm=a%26b%3Dc%2Bd"
        );
    }

    #[test]
    fn a_dot_segment_cannot_be_placed_in_a_url_path() {
        for id in [".", ".."] {
            assert!(fill_url("items/{parent:/id}/content", Some(&json!({ "id": id }))).is_err());
        }
    }

    #[test]
    fn fill_places_values_as_they_are_for_query_values_and_filters() {
        let parent = json!({"id": "x/y #1?", "n": 7});
        assert_eq!(fill("{parent:/id} {parent:/n}", Some(&parent)).unwrap(), "x/y #1? 7");
    }

    #[test]
    fn a_json_body_escapes_string_values_and_keeps_numbers() {
        let parent = json!({"name": "A \"B\" \\ C\n", "n": 7});
        let text = fill_json(r#"{"a": "{parent:/name}", "n": {parent:/n}}"#, Some(&parent)).unwrap();
        assert_eq!(text, r#"{"a": "A \"B\" \\ C\n", "n": 7}"#);
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["a"], "A \"B\" \\ C\n");
    }

    #[test]
    fn a_value_is_not_searched_again_for_placeholders() {
        let parent = json!({"id": "{parent:/id}"});
        assert_eq!(fill("s/{parent:/id}", Some(&parent)).unwrap(), "s/{parent:/id}");
    }

    #[test]
    fn an_unclosed_placeholder_is_an_error() {
        assert!(fill("s/{parent:/id", Some(&json!({"id": 1}))).is_err());
    }
}
