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
/// logged or returned in an error.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<Mutex<Vec<String>>>,
}

/// Secrets shorter than this are not scrubbed (they would blank common
/// words); connector files should not hold such secrets.
const MIN_REDACTED: usize = 4;

impl Redactor {
    /// Registers a value to scrub.
    pub fn add(&self, value: &str) {
        if value.len() < MIN_REDACTED {
            return;
        }
        if let Ok(mut s) = self.secrets.lock() {
            if !s.iter().any(|x| x == value) {
                s.push(value.to_owned());
                // Longest first, so a secret containing another is scrubbed whole.
                s.sort_by_key(|x| std::cmp::Reverse(x.len()));
            }
        }
    }

    /// The text with every registered secret replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        if let Ok(s) = self.secrets.lock() {
            for secret in s.iter() {
                out = out.replace(secret.as_str(), "***");
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
}
