//! A provider and everything one response of it says.

use chrono::NaiveDate;
use strum::{Display, EnumIter, EnumString, IntoStaticStr};

use super::{Answer, CountryAssessment, Normalised, SourceRef};

/// Facts about a provider, from the Provider sheet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provider {
    /// Stable id: the slug of the name unless a source gives one.
    pub id: String,
    /// Trading name.
    pub name: Answer<String>,
    /// Legal name.
    pub legal_name: Answer<String>,
    /// Who filled in the questionnaire.
    pub respondent: Answer<String>,
    /// Contact email.
    pub email: Answer<String>,
    /// When the questionnaire was answered.
    pub response_date: Answer<NaiveDate>,
    /// The headline "150+ countries" figure.
    pub countries_claimed: Answer<u32>,
}

impl Provider {
    /// Takes from `other` every detail this provider has no answer for
    /// (blank), keeping what it has; used to layer sources of details.
    pub fn fill_from(&mut self, other: Provider) {
        fn fill<T>(into: &mut Answer<T>, from: Answer<T>) {
            if matches!(into.value, Normalised::Unknown) && !matches!(from.value, Normalised::Unknown) {
                *into = from;
            }
        }
        if self.id.is_empty() {
            self.id = other.id;
        }
        fill(&mut self.name, other.name);
        fill(&mut self.legal_name, other.legal_name);
        fill(&mut self.respondent, other.respondent);
        fill(&mut self.email, other.email);
        fill(&mut self.response_date, other.response_date);
        fill(&mut self.countries_claimed, other.countries_claimed);
    }
}

/// A provider-level field, by its identifier in mapping files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Display, EnumString, IntoStaticStr, EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum ProviderField {
    /// Provider name.
    Name,
    /// Legal name.
    LegalName,
    /// Respondent.
    Respondent,
    /// Email.
    Email,
    /// Response date.
    ResponseDate,
    /// Countries claimed.
    CountriesClaimed,
}

/// Something wrong with one row that did not stop the workbook: a row with
/// answers but no country, a country nobody knows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RowIssue {
    /// Where (`Countries!A57`).
    pub cell: String,
    /// What, in plain words.
    pub message: String,
    /// For a country nobody recognises: the answer and its cell, flagged
    /// `ANSWER_UNRECOGNISED` at provider level.
    pub unrecognised: Option<(String, SourceRef)>,
}

/// Everything one source (one workbook) says about one provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderResponse {
    /// The provider.
    pub provider: Provider,
    /// One assessment per country, in the order first seen.
    pub assessments: Vec<CountryAssessment>,
    /// Rows that were skipped, and why.
    pub row_issues: Vec<RowIssue>,
}

/// A stable id from a name: lower-case ASCII letters and digits joined by `-`.
///
/// ```
/// assert_eq!(iorready::model::slug("Atlas Import Services Ltd."), "atlas-import-services-ltd");
/// ```
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in deunicode::deunicode(name).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_lowercase_ascii_joined_by_dashes() {
        assert_eq!(slug("Acme Global IOR, Ltd."), "acme-global-ior-ltd");
        assert_eq!(slug("Überseehandel GmbH"), "uberseehandel-gmbh");
        assert_eq!(slug("  "), "");
    }
}
