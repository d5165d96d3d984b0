//! One answer to one question: its normalised value, its raw text, its cell.

use super::SourceRef;

/// What the mapping made of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalised<T> {
    /// Blank, or a token the mapping treats as "no answer" (`-`, `N/A`).
    Unknown,
    /// An answer the mapping could not normalise; kept verbatim in `raw`.
    Unrecognised,
    /// A recognised value.
    Known(T),
}

/// An answer with its provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    /// The normalised value.
    pub value: Normalised<T>,
    /// The answer as the provider wrote it (empty for a blank cell).
    pub raw: String,
    /// The cell it was read from; `None` when the question was not asked
    /// (no column for it in this layout).
    pub source: Option<SourceRef>,
}

impl<T> Default for Answer<T> {
    fn default() -> Self {
        Self {
            value: Normalised::Unknown,
            raw: String::new(),
            source: None,
        }
    }
}

impl<T> Answer<T> {
    /// A recognised value read from `source`.
    pub fn known(value: T, raw: impl Into<String>, source: Option<SourceRef>) -> Self {
        Self {
            value: Normalised::Known(value),
            raw: raw.into(),
            source,
        }
    }

    /// The value, when recognised.
    pub fn get(&self) -> Option<&T> {
        match &self.value {
            Normalised::Known(v) => Some(v),
            _ => None,
        }
    }

    /// True when the answer is usable (neither blank nor unrecognised).
    pub fn is_answered(&self) -> bool {
        matches!(self.value, Normalised::Known(_))
    }

    /// True when the provider wrote something the mapping did not understand.
    pub fn is_unrecognised(&self) -> bool {
        matches!(self.value, Normalised::Unrecognised)
    }
}

impl<T: PartialEq> Answer<T> {
    /// True when the value equals `v`.
    pub fn is(&self, v: &T) -> bool {
        self.get() == Some(v)
    }
}
