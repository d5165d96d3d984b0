//! One provider x one country: the fields of capability-model.md.

use chrono::NaiveDate;
use serde::Serialize;
use strum::{Display, EnumIter, EnumString, IntoStaticStr, VariantNames};

use super::{
    Answer, Country, DutiesFunding, Evidence, IorRole, Liability, Normalised, OperatingModel, ProductCompliance,
    RegulatoryPathway, SourceRef, VatRecovery,
};

/// A field of a country assessment, by its identifier in mapping files.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Display,
    EnumString,
    IntoStaticStr,
    EnumIter,
    VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Field {
    /// The country (ISO 3166-1 alpha-2 once normalised).
    Country,
    /// Whether the provider lists the country as covered.
    CoverageClaimed,
    /// How the provider operates there.
    OperatingModel,
    /// Who is importer of record.
    IorRole,
    /// The liability taken.
    Liability,
    /// Name of the local entity.
    LocalEntityName,
    /// Registration id of the local entity.
    LocalEntityId,
    /// Import licence ids.
    LicenceIds,
    /// When the licence expires.
    LicenceExpiry,
    /// IOR imports executed in the last 24 months.
    #[strum(serialize = "executions_24m")]
    #[serde(rename = "executions_24m")]
    Executions24m,
    /// Date of the last IOR import.
    LastExecution,
    /// The regulatory pathway.
    RegulatoryPathway,
    /// Who holds product certifications.
    ProductCompliance,
    /// Who funds duties.
    DutiesFunding,
    /// What happens to import VAT.
    VatRecovery,
    /// Lead time in days.
    LeadTimeDays,
    /// How the answers are backed.
    Evidence,
    /// Reference to the evidence.
    EvidenceRef,
    /// Free comments.
    Comments,
}

/// The mandatory fields: their absence is flagged and lowers confidence.
pub const MANDATORY_FIELDS: [Field; 5] = [
    Field::OperatingModel,
    Field::IorRole,
    Field::Liability,
    Field::Executions24m,
    Field::RegulatoryPathway,
];

/// The type of a field's values, which decides how answers are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A country name or code.
    Country,
    /// Yes or no.
    YesNo,
    /// One of a fixed set of identifiers.
    Enum(&'static [&'static str]),
    /// A whole number >= 0.
    WholeNumber,
    /// A calendar date.
    Date,
    /// Free text.
    Text,
    /// Several texts separated by `;`.
    List,
}

impl FieldKind {
    /// The name of the kind in mapping files.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Country => "country",
            FieldKind::YesNo => "yes_no",
            FieldKind::Enum(_) => "enum",
            FieldKind::WholeNumber => "whole_number",
            FieldKind::Date => "date",
            FieldKind::Text => "text",
            FieldKind::List => "list",
        }
    }
}

impl Field {
    /// The identifier (`operating_model`).
    pub fn id(self) -> &'static str {
        self.into()
    }

    /// The kind of values this field takes.
    pub fn kind(self) -> FieldKind {
        match self {
            Field::Country => FieldKind::Country,
            Field::CoverageClaimed => FieldKind::YesNo,
            Field::OperatingModel => FieldKind::Enum(OperatingModel::VARIANTS),
            Field::IorRole => FieldKind::Enum(IorRole::VARIANTS),
            Field::Liability => FieldKind::Enum(Liability::VARIANTS),
            Field::RegulatoryPathway => FieldKind::Enum(RegulatoryPathway::VARIANTS),
            Field::ProductCompliance => FieldKind::Enum(ProductCompliance::VARIANTS),
            Field::DutiesFunding => FieldKind::Enum(DutiesFunding::VARIANTS),
            Field::VatRecovery => FieldKind::Enum(VatRecovery::VARIANTS),
            Field::Evidence => FieldKind::Enum(Evidence::VARIANTS),
            Field::LocalEntityName | Field::LocalEntityId | Field::EvidenceRef => FieldKind::Text,
            Field::Comments => FieldKind::Text,
            Field::LicenceIds => FieldKind::List,
            Field::LicenceExpiry | Field::LastExecution => FieldKind::Date,
            Field::Executions24m | Field::LeadTimeDays => FieldKind::WholeNumber,
        }
    }

    /// The question as a procurement analyst knows it.
    pub fn label(self) -> &'static str {
        match self {
            Field::Country => "Country",
            Field::CoverageClaimed => "Coverage claimed",
            Field::OperatingModel => "Operating model",
            Field::IorRole => "Importer of record role",
            Field::Liability => "Legal liability",
            Field::LocalEntityName => "Local entity name",
            Field::LocalEntityId => "Local entity registration ID",
            Field::LicenceIds => "Import licence IDs",
            Field::LicenceExpiry => "Licence expiry",
            Field::Executions24m => "IOR shipments, last 24 months",
            Field::LastExecution => "Last IOR shipment",
            Field::RegulatoryPathway => "Regulatory pathway",
            Field::ProductCompliance => "Product certification",
            Field::DutiesFunding => "Duties and taxes funding",
            Field::VatRecovery => "Import VAT recovery",
            Field::LeadTimeDays => "Lead time (days)",
            Field::Evidence => "Evidence",
            Field::EvidenceRef => "Evidence reference",
            Field::Comments => "Comments",
        }
    }

    /// True for the five mandatory fields.
    pub fn is_mandatory(self) -> bool {
        MANDATORY_FIELDS.contains(&self)
    }
}

/// A normalised value of any field, as the mapping produces it.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A country.
    Country(Country),
    /// Yes (true) or no.
    Bool(bool),
    /// An enum identifier, validated against the field's kind.
    Enum(&'static str),
    /// A whole number.
    Number(u32),
    /// A date.
    Date(NaiveDate),
    /// Text.
    Text(String),
    /// A list of texts.
    List(Vec<String>),
}

/// Two sources that disagree on one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The field.
    pub field: Field,
    /// The answer used.
    pub kept: (String, Option<SourceRef>),
    /// The answer set aside.
    pub other: (String, Option<SourceRef>),
}

/// What one provider says about one country.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)] // the fields are documented on `Field`
pub struct CountryAssessment {
    pub country: Option<Country>,
    pub country_source: Option<SourceRef>,
    pub coverage_claimed: Answer<bool>,
    pub operating_model: Answer<OperatingModel>,
    pub ior_role: Answer<IorRole>,
    pub liability: Answer<Liability>,
    pub local_entity_name: Answer<String>,
    pub local_entity_id: Answer<String>,
    pub licence_ids: Answer<Vec<String>>,
    pub licence_expiry: Answer<NaiveDate>,
    pub executions_24m: Answer<u32>,
    pub last_execution: Answer<NaiveDate>,
    pub regulatory_pathway: Answer<RegulatoryPathway>,
    pub product_compliance: Answer<ProductCompliance>,
    pub duties_funding: Answer<DutiesFunding>,
    pub vat_recovery: Answer<VatRecovery>,
    pub lead_time_days: Answer<u32>,
    pub evidence: Answer<Evidence>,
    pub evidence_ref: Answer<String>,
    pub comments: Answer<String>,
    /// Fields where two rows or sources disagreed.
    pub conflicts: Vec<Conflict>,
}

/// Converts a parsed answer into a typed one; a value of the wrong type
/// (which a validated mapping never produces) is kept as unrecognised.
fn typed<T>(a: Answer<Parsed>, f: impl FnOnce(Parsed) -> Option<T>) -> Answer<T> {
    let value = match a.value {
        Normalised::Known(p) => match f(p) {
            Some(v) => Normalised::Known(v),
            None => Normalised::Unrecognised,
        },
        Normalised::Unknown => Normalised::Unknown,
        Normalised::Unrecognised => Normalised::Unrecognised,
    };
    Answer {
        value,
        raw: a.raw,
        source: a.source,
    }
}

fn as_enum<T: std::str::FromStr>(p: Parsed) -> Option<T> {
    match p {
        Parsed::Enum(id) => id.parse().ok(),
        _ => None,
    }
}

fn as_text(p: Parsed) -> Option<String> {
    match p {
        Parsed::Text(t) => Some(t),
        _ => None,
    }
}

fn as_date(p: Parsed) -> Option<NaiveDate> {
    match p {
        Parsed::Date(d) => Some(d),
        _ => None,
    }
}

fn as_number(p: Parsed) -> Option<u32> {
    match p {
        Parsed::Number(n) => Some(n),
        _ => None,
    }
}

/// Keeps `into` unless it is unanswered and `from` is answered; records a
/// conflict when both are answered and differ.
fn merge_answer<T: PartialEq + Clone>(
    field: Field,
    into: &mut Answer<T>,
    from: &Answer<T>,
    conflicts: &mut Vec<Conflict>,
) {
    let conflict = |conflicts: &mut Vec<Conflict>| {
        conflicts.push(Conflict {
            field,
            kept: (into.raw.clone(), into.source.clone()),
            other: (from.raw.clone(), from.source.clone()),
        })
    };
    match (into.get(), from.get()) {
        (Some(a), Some(b)) if a != b => conflict(conflicts),
        // The first answer could not be read: it stays (and is flagged), and
        // the readable one is reported beside it rather than swapped in.
        (None, Some(_)) if into.is_unrecognised() => conflict(conflicts),
        (None, Some(_)) => *into = from.clone(),
        (None, None) if !into.is_unrecognised() && from.is_unrecognised() => *into = from.clone(),
        _ => {}
    }
}

impl CountryAssessment {
    /// Stores an answer for `field`. Setting the country through here keeps
    /// its source cell; an unrecognised country leaves `country` empty.
    pub fn set(&mut self, field: Field, a: Answer<Parsed>) {
        match field {
            Field::Country => {
                self.country_source = a.source.clone();
                if let Normalised::Known(Parsed::Country(c)) = a.value {
                    self.country = Some(c);
                }
            }
            Field::CoverageClaimed => {
                self.coverage_claimed = typed(a, |p| match p {
                    Parsed::Bool(b) => Some(b),
                    _ => None,
                })
            }
            Field::OperatingModel => self.operating_model = typed(a, as_enum),
            Field::IorRole => self.ior_role = typed(a, as_enum),
            Field::Liability => self.liability = typed(a, as_enum),
            Field::LocalEntityName => self.local_entity_name = typed(a, as_text),
            Field::LocalEntityId => self.local_entity_id = typed(a, as_text),
            Field::LicenceIds => {
                self.licence_ids = typed(a, |p| match p {
                    Parsed::List(l) => Some(l),
                    _ => None,
                })
            }
            Field::LicenceExpiry => self.licence_expiry = typed(a, as_date),
            Field::Executions24m => self.executions_24m = typed(a, as_number),
            Field::LastExecution => self.last_execution = typed(a, as_date),
            Field::RegulatoryPathway => self.regulatory_pathway = typed(a, as_enum),
            Field::ProductCompliance => self.product_compliance = typed(a, as_enum),
            Field::DutiesFunding => self.duties_funding = typed(a, as_enum),
            Field::VatRecovery => self.vat_recovery = typed(a, as_enum),
            Field::LeadTimeDays => self.lead_time_days = typed(a, as_number),
            Field::Evidence => self.evidence = typed(a, as_enum),
            Field::EvidenceRef => self.evidence_ref = typed(a, as_text),
            Field::Comments => self.comments = typed(a, as_text),
        }
    }

    /// The raw text, source and status of one field, whatever its type.
    pub fn answer_of(&self, field: Field) -> (&str, Option<&SourceRef>, AnswerState) {
        fn view<T>(a: &Answer<T>) -> (&str, Option<&SourceRef>, AnswerState) {
            let state = match a.value {
                Normalised::Known(_) => AnswerState::Answered,
                Normalised::Unknown => AnswerState::Unknown,
                Normalised::Unrecognised => AnswerState::Unrecognised,
            };
            (a.raw.as_str(), a.source.as_ref(), state)
        }
        match field {
            Field::Country => (
                "",
                self.country_source.as_ref(),
                if self.country.is_some() {
                    AnswerState::Answered
                } else {
                    AnswerState::Unknown
                },
            ),
            Field::CoverageClaimed => view(&self.coverage_claimed),
            Field::OperatingModel => view(&self.operating_model),
            Field::IorRole => view(&self.ior_role),
            Field::Liability => view(&self.liability),
            Field::LocalEntityName => view(&self.local_entity_name),
            Field::LocalEntityId => view(&self.local_entity_id),
            Field::LicenceIds => view(&self.licence_ids),
            Field::LicenceExpiry => view(&self.licence_expiry),
            Field::Executions24m => view(&self.executions_24m),
            Field::LastExecution => view(&self.last_execution),
            Field::RegulatoryPathway => view(&self.regulatory_pathway),
            Field::ProductCompliance => view(&self.product_compliance),
            Field::DutiesFunding => view(&self.duties_funding),
            Field::VatRecovery => view(&self.vat_recovery),
            Field::LeadTimeDays => view(&self.lead_time_days),
            Field::Evidence => view(&self.evidence),
            Field::EvidenceRef => view(&self.evidence_ref),
            Field::Comments => view(&self.comments),
        }
    }

    /// Folds a second answer set for the same country (a duplicate row) into
    /// this one: blanks are filled, disagreements recorded as conflicts, and
    /// the first answer is kept.
    pub fn merge(&mut self, other: &CountryAssessment) {
        let c = &mut self.conflicts;
        merge_answer(
            Field::CoverageClaimed,
            &mut self.coverage_claimed,
            &other.coverage_claimed,
            c,
        );
        merge_answer(
            Field::OperatingModel,
            &mut self.operating_model,
            &other.operating_model,
            c,
        );
        merge_answer(Field::IorRole, &mut self.ior_role, &other.ior_role, c);
        merge_answer(Field::Liability, &mut self.liability, &other.liability, c);
        merge_answer(
            Field::LocalEntityName,
            &mut self.local_entity_name,
            &other.local_entity_name,
            c,
        );
        merge_answer(
            Field::LocalEntityId,
            &mut self.local_entity_id,
            &other.local_entity_id,
            c,
        );
        merge_answer(Field::LicenceIds, &mut self.licence_ids, &other.licence_ids, c);
        merge_answer(Field::LicenceExpiry, &mut self.licence_expiry, &other.licence_expiry, c);
        merge_answer(Field::Executions24m, &mut self.executions_24m, &other.executions_24m, c);
        merge_answer(Field::LastExecution, &mut self.last_execution, &other.last_execution, c);
        merge_answer(
            Field::RegulatoryPathway,
            &mut self.regulatory_pathway,
            &other.regulatory_pathway,
            c,
        );
        merge_answer(
            Field::ProductCompliance,
            &mut self.product_compliance,
            &other.product_compliance,
            c,
        );
        merge_answer(Field::DutiesFunding, &mut self.duties_funding, &other.duties_funding, c);
        merge_answer(Field::VatRecovery, &mut self.vat_recovery, &other.vat_recovery, c);
        merge_answer(Field::LeadTimeDays, &mut self.lead_time_days, &other.lead_time_days, c);
        merge_answer(Field::Evidence, &mut self.evidence, &other.evidence, c);
        merge_answer(Field::EvidenceRef, &mut self.evidence_ref, &other.evidence_ref, c);
        merge_answer(Field::Comments, &mut self.comments, &other.comments, c);
        self.conflicts.extend(other.conflicts.iter().cloned());
    }
}

/// Whether a field holds a usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerState {
    /// Recognised.
    Answered,
    /// Blank or an unknown token.
    Unknown,
    /// Written but not understood.
    Unrecognised,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(row: u32) -> Option<SourceRef> {
        Some(SourceRef::new("f".into(), "Countries".into(), row, 4))
    }

    #[test]
    fn executions_field_keeps_its_spec_identifier() {
        assert_eq!(Field::Executions24m.id(), "executions_24m");
        assert_eq!("executions_24m".parse::<Field>().ok(), Some(Field::Executions24m));
    }

    #[test]
    fn duplicate_rows_fill_blanks_and_record_disagreements() {
        let mut a = CountryAssessment {
            liability: Answer::known(Liability::Full, "Full", src(1)),
            ..CountryAssessment::default()
        };
        let b = CountryAssessment {
            liability: Answer::known(Liability::Capped, "Capped", src(5)),
            lead_time_days: Answer::known(7, "7", src(5)),
            ..CountryAssessment::default()
        };
        a.merge(&b);
        assert!(a.liability.is(&Liability::Full));
        assert_eq!(a.lead_time_days.get(), Some(&7));
        assert_eq!(a.conflicts.len(), 1);
        assert_eq!(a.conflicts[0].field, Field::Liability);
    }

    #[test]
    fn an_unreadable_first_answer_is_kept_and_the_readable_one_reported_beside_it() {
        let mut a = CountryAssessment {
            liability: Answer {
                value: Normalised::Unrecognised,
                raw: "Fullish".into(),
                source: src(1),
            },
            ..CountryAssessment::default()
        };
        let b = CountryAssessment {
            liability: Answer::known(Liability::Full, "Full", src(5)),
            ..CountryAssessment::default()
        };
        a.merge(&b);
        assert!(a.liability.is_unrecognised());
        assert_eq!(a.conflicts.len(), 1);
    }
}
