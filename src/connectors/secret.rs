//! Secrets in connector definitions: written only as references
//! (`${env:NAME}`, `${file:PATH}`), resolved when a request needs them, and
//! kept out of every log line, error and debug output.

use std::fmt;
use std::sync::{Arc, Mutex};

/// A value from a connector file that may hold secret references.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRef(String);

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The reference itself is safe to show; its value never is.
        write!(f, "SecretRef({:?})", self.0)
    }
}

/// A resolved secret: its Debug and Display print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A reference that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecretError(pub String);

impl SecretRef {
    /// Wraps a value as written in the connector file.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// True when the value refers to a secret (rather than being a plain
    /// setting such as a user name).
    pub fn is_reference(&self) -> bool {
        self.0.contains("${")
    }

    /// Checks the syntax of every reference, without resolving it.
    pub fn check(&self) -> Result<(), SecretError> {
        let mut rest = self.0.as_str();
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| SecretError(format!("unclosed '${{' in '{}'", self.0)))?;
            let inner = &after[..end];
            if !(inner.starts_with("env:") || inner.starts_with("file:")) {
                return Err(SecretError(format!(
                    "'${{{inner}}}': use ${{env:NAME}} or ${{file:PATH}}"
                )));
            }
            rest = &after[end + 1..];
        }
        Ok(())
    }

    /// Resolves every `${env:NAME}` and `${file:PATH}` (the file's content,
    /// trailing line break removed), and registers the result for redaction.
    pub fn resolve(&self, redactor: &Redactor) -> Result<Secret, SecretError> {
        self.check()?;
        let mut out = String::new();
        let mut rest = self.0.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').unwrap_or(after.len());
            let inner = &after[..end];
            let value = if let Some(name) = inner.strip_prefix("env:") {
                std::env::var(name).map_err(|_| SecretError(format!("environment variable {name} is not set")))?
            } else if let Some(path) = inner.strip_prefix("file:") {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| SecretError(format!("cannot read secret file {path}: {e}")))?;
                text.trim_end_matches(['\n', '\r']).to_owned()
            } else {
                return Err(SecretError(format!(
                    "'${{{inner}}}': use ${{env:NAME}} or ${{file:PATH}}"
                )));
            };
            if self.is_reference() {
                redactor.add(&value);
            }
            out.push_str(&value);
            rest = after.get(end + 1..).unwrap_or("");
        }
        out.push_str(rest);
        Ok(Secret(out))
    }
}

/// Every secret value seen by a connector, scrubbed from text before it is
/// logged or returned in an error: in the form it was configured and in
/// every form a request may carry it (base64, as HTTP Basic sends it;
/// percent-encoded, as a query or form sends it), and cut short.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<Mutex<Vec<String>>>,
}

/// Secrets shorter than this are not scrubbed (they would blank common
/// words); connector files should not hold such secrets.
const MIN_REDACTED: usize = 4;

/// A piece of a secret this long or longer is scrubbed wherever it shows,
/// as a secret cut short (by an excerpt, a server's message) is still one.
const MIN_PIECE: usize = 8;

impl Redactor {
    /// Registers a value to scrub, with its encoded forms.
    pub fn add(&self, value: &str) {
        if value.len() < MIN_REDACTED {
            return;
        }
        let forms = encoded_forms(value);
        if let Ok(mut s) = self.secrets.lock() {
            for form in forms {
                if !s.contains(&form) {
                    s.push(form);
                }
            }
            // Longest first, so a secret containing another is scrubbed whole.
            s.sort_by_key(|x| std::cmp::Reverse(x.len()));
        }
    }

    /// Registers a user and password as HTTP Basic joins them
    /// (`user:password`, then base64), and as OAuth2 joins a client id and
    /// secret for Basic (each percent-encoded first, RFC 6749 2.3.1).
    pub fn add_credentials(&self, user: &str, password: &str) {
        self.add(password);
        self.add(&format!("{user}:{password}"));
        self.add(&format!("{}:{}", form_encode(user), form_encode(password)));
    }

    /// The text with every registered secret, and every piece of one at
    /// least [`MIN_PIECE`] characters long, replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let Ok(secrets) = self.secrets.lock() else {
            return text.to_owned();
        };
        let mut spans: Vec<(usize, usize)> = secrets.iter().flat_map(|x| spans_of(text, x)).collect();
        if spans.is_empty() {
            return text.to_owned();
        }
        // Overlapping matches of several forms are scrubbed as one.
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut done = 0;
        let mut i = 0;
        while i < spans.len() {
            let (start, mut end) = spans[i];
            while i + 1 < spans.len() && spans[i + 1].0 <= end {
                end = end.max(spans[i + 1].1);
                i += 1;
            }
            out.push_str(&text[done..start]);
            out.push_str("***");
            done = end;
            i += 1;
        }
        out.push_str(&text[done..]);
        out
    }
}

/// Where `secret`, or a run of at least [`MIN_PIECE`] of its leading
/// characters (the whole secret, when it is shorter), shows in `text`.
fn spans_of(text: &str, secret: &str) -> Vec<(usize, usize)> {
    let piece = secret
        .char_indices()
        .nth(MIN_PIECE)
        .map_or(secret, |(i, _)| &secret[..i]);
    text.match_indices(piece)
        .map(|(at, _)| (at, at + common_prefix(&text[at..], secret)))
        .collect()
}

/// The length in bytes of the longest common prefix of `a` and `b`, on a
/// character boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .take_while(|((_, x), y)| x == y)
        .last()
        .map_or(0, |((i, x), _)| i + x.len_utf8())
}

/// The value and the forms a request may carry it in.
fn encoded_forms(value: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    let mut forms = vec![value.to_owned()];
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        forms.push(engine.encode(value));
    }
    let encoded = form_encode(value);
    forms.push(encoded.to_ascii_lowercase_hex());
    forms.push(encoded.replace('+', "%20"));
    // RFC 3986 leaves `~` as it is; form encoding escapes it.
    forms.push(encoded.replace("%7E", "~"));
    forms.push(encoded);
    forms.sort();
    forms.dedup();
    forms
}

/// `application/x-www-form-urlencoded`: unreserved characters as they are,
/// a space as `+`, everything else `%XX`.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent escapes in lower-case hex, as some encoders write them.
trait LowerHex {
    fn to_ascii_lowercase_hex(&self) -> String;
}

impl LowerHex for String {
    fn to_ascii_lowercase_hex(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut chars = self.chars();
        while let Some(c) = chars.next() {
            out.push(c);
            if c == '%' {
                out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_references_resolve_and_are_scrubbed() {
        std::env::set_var("IORREADY_TEST_SECRET_A", "s3cr3t-value");
        let r = Redactor::default();
        let s = SecretRef::new("Bearer ${env:IORREADY_TEST_SECRET_A}")
            .resolve(&r)
            .unwrap();
        assert_eq!(s.expose(), "Bearer s3cr3t-value");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(r.scrub("401 for token s3cr3t-value"), "401 for token ***");
    }

    #[test]
    fn file_references_read_the_file_without_its_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "from-file\n").unwrap();
        let r = Redactor::default();
        let s = SecretRef::new(format!("${{file:{}}}", path.display()))
            .resolve(&r)
            .unwrap();
        assert_eq!(s.expose(), "from-file");
    }

    #[test]
    fn a_missing_variable_is_named_but_not_guessed() {
        let e = SecretRef::new("${env:IORREADY_NOT_SET_ANYWHERE}")
            .resolve(&Redactor::default())
            .unwrap_err();
        assert!(e.0.contains("IORREADY_NOT_SET_ANYWHERE"));
    }

    #[test]
    fn unknown_reference_kinds_are_refused() {
        assert!(SecretRef::new("${vault:x}").check().is_err());
        assert!(SecretRef::new("${env:X").check().is_err());
    }

    #[test]
    fn the_base64_of_basic_credentials_is_scrubbed() {
        let r = Redactor::default();
        r.add_credentials("ior-user", "pa ss/word+1");
        // base64("ior-user:pa ss/word+1")
        assert_eq!(r.scrub("echo: Basic aW9yLXVzZXI6cGEgc3Mvd29yZCsx"), "echo: Basic ***");
    }

    #[test]
    fn a_percent_encoded_secret_is_scrubbed() {
        let r = Redactor::default();
        r.add("key/with+special=chars");
        assert_eq!(
            r.scrub("GET /x?api_key=key%2Fwith%2Bspecial%3Dchars&a=1"),
            "GET /x?api_key=***&a=1"
        );
        assert_eq!(
            r.scrub("GET /x?api_key=key%2fwith%2bspecial%3dchars"),
            "GET /x?api_key=***"
        );
    }

    #[test]
    fn a_secret_cut_short_is_scrubbed_from_eight_characters_on() {
        let r = Redactor::default();
        r.add("tok-0123456789abcdefghijklmnopqrstuv");
        assert_eq!(
            r.scrub("Authorization: Bearer tok-0123456789ab…"),
            "Authorization: Bearer ***…"
        );
        assert_eq!(r.scrub("starts tok-012"), "starts tok-012");
    }
}
