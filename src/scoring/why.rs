//! Why an assessment has its tier, in the analyst's words: what cost the
//! points, largest first, with the figures, and what keeps the country
//! from the next tier. The points named add up to what the score lacks of
//! 100, so an analyst can check them against the Readiness sheet.

use chrono::NaiveDate;

use super::assess::{execution_stale, licence_expired, missing_mandatory, Assessed, CoverageClass, Dimension, Tier};
use super::profile::Profile;
use crate::model::{value_words, Answer, CountryAssessment, OperatingModel, RegulatoryPathway, MANDATORY_FIELDS};

/// Points a score lost to one answer (or to the evidence multiplier).
struct Cost {
    words: String,
    points: f64,
}

/// The sentence shown as "Why this tier".
pub(super) fn tier_reason(a: &Assessed, profile: &Profile, as_of: NaiveDate) -> String {
    let t = &profile.tiers;
    let costs = || list(&costs(a, profile, as_of));
    match a.tier {
        Tier::NotOffered => not_offered(&a.assessment),
        Tier::NotCapable => format!(
            "Knocked out: {}. Nothing else counts until that changes (it would otherwise score {:.2}).",
            a.knockouts.join("; "),
            a.score
        ),
        Tier::Ready => match costs() {
            c if c.is_empty() => format!("{:.2}, active coverage, nothing lost.", a.score),
            c => format!("{:.2}, active coverage; points lost: {c}.", a.score),
        },
        Tier::Conditional if a.coverage_class == CoverageClass::Active => format!(
            "{:.2}, {:.2} short of Ready: {}.",
            a.score,
            t.ready_min_score - a.score,
            costs()
        ),
        Tier::Conditional => {
            let short = if a.score < t.ready_min_score {
                format!(", and {:.2} points short", t.ready_min_score - a.score)
            } else {
                String::new()
            };
            format!(
                "{:.2}, not Ready as coverage is passive ({}){short}; points lost: {}.",
                a.score,
                passive_reasons(&a.assessment, profile).join(", "),
                costs()
            )
        }
        Tier::CoverageOnly => format!(
            "{:.2}, {:.2} short of Conditional: {}.",
            a.score,
            t.conditional_min_score - a.score,
            costs()
        ),
    }
}

fn not_offered(a: &CountryAssessment) -> String {
    if a.coverage_claimed.is(&false) {
        "Not offered: the provider does not claim coverage here.".to_owned()
    } else if a.operating_model.is(&OperatingModel::NotOffered) {
        "Not offered: the operating model is answered 'Not offered'.".to_owned()
    } else if missing_mandatory(a) == MANDATORY_FIELDS.len() {
        "Claimed, not answered: no mandatory answer given.".to_owned()
    } else {
        "Not offered.".to_owned()
    }
}

/// The costs, largest first: "liability Capped (-5.00), ...".
fn list(costs: &[Cost]) -> String {
    let mut sorted: Vec<&Cost> = costs.iter().filter(|c| c.points >= 0.005).collect();
    sorted.sort_by(|a, b| b.points.total_cmp(&a.points).then(a.words.cmp(&b.words)));
    sorted
        .iter()
        .map(|c| format!("{} (-{:.2})", c.words, c.points))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Words for the middle of a sentence: "Local partner is IOR" -> "local
/// partner is IOR".
fn lower_first(words: &str) -> String {
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// An answer in words, or that it is missing.
fn answer<T: Copy>(label: &str, a: &Answer<T>, id: impl Fn(T) -> &'static str) -> String {
    match a.get() {
        Some(v) => format!("{label} {}", lower_first(value_words(id(*v)))),
        None if a.is_unrecognised() => format!("{label} '{}' not recognised", a.raw.trim()),
        None => format!("{label} not answered"),
    }
}

/// What each answer cost (weight x what its value lacks of 1), and what
/// the evidence multiplier cost of the rest: together, 100 less the score.
fn costs(a: &Assessed, profile: &Profile, as_of: NaiveDate) -> Vec<Cost> {
    let m = a.evidence_multiplier;
    let v = &profile.values;
    let x = &a.assessment;
    let value = |table, id: Option<&'static str>| id.map_or(0.0, |id| Profile::value(table, id));
    let mut out = Vec::new();
    let mut push = |words: String, weight: f64, value: f64| {
        out.push(Cost {
            words,
            points: 100.0 * weight * (1.0 - value),
        });
    };
    for d in &a.dimensions {
        let w = d.weight;
        match d.dimension {
            Dimension::LegalStanding => {
                push(
                    answer("importer of record", &x.ior_role, |r| r.id()),
                    w / 2.0,
                    value(&v.ior_role, x.ior_role.get().map(|r| r.id())),
                );
                push(
                    answer("liability", &x.liability, |l| l.id()),
                    w / 2.0,
                    value(&v.liability, x.liability.get().map(|l| l.id())),
                );
            }
            Dimension::InCountryOperation => {
                push(answer("operating model", &x.operating_model, |o| o.id()), w, d.value)
            }
            Dimension::ExecutionHistory => push(history_words(x, profile, as_of), w, d.value),
            Dimension::RegulatoryPathway => push(pathway_words(x, as_of), w, d.value),
            Dimension::ProductCompliance => push(
                answer("product certification", &x.product_compliance, |p| p.id()),
                w,
                d.value,
            ),
            Dimension::DutiesAndVat => {
                push(
                    answer("duties", &x.duties_funding, |p| p.id()),
                    w / 2.0,
                    value(&v.duties_funding, x.duties_funding.get().map(|p| p.id())),
                );
                push(
                    answer("import VAT", &x.vat_recovery, |p| p.id()),
                    w / 2.0,
                    value(&v.vat_recovery, x.vat_recovery.get().map(|p| p.id())),
                );
            }
            Dimension::LeadTime => push(
                x.lead_time_days.get().map_or_else(
                    || "lead time not answered".to_owned(),
                    |d| format!("lead time {d} days"),
                ),
                w,
                d.value,
            ),
        }
    }
    if m < 1.0 && m > 0.0 {
        out.push(Cost {
            words: format!("evidence {} x{m}", value_words(a.evidence_level.id()).to_lowercase()),
            points: a.score / m * (1.0 - m),
        });
    }
    out
}

fn history_words(x: &CountryAssessment, profile: &Profile, as_of: NaiveDate) -> String {
    match (x.executions_24m.get(), x.last_execution.get()) {
        (Some(_), Some(last)) if execution_stale(x, profile, as_of) => format!(
            "last IOR shipment {last}, over {} months ago",
            profile.execution_history.stale_after_months
        ),
        (Some(1), _) => "1 IOR shipment in 24 months".to_owned(),
        (Some(n), _) => format!("{n} IOR shipments in 24 months"),
        (None, _) => "IOR shipments in 24 months not answered".to_owned(),
    }
}

fn pathway_words(x: &CountryAssessment, as_of: NaiveDate) -> String {
    let pathway = answer("regulatory pathway", &x.regulatory_pathway, |p| p.id());
    match x.licence_expiry.get() {
        Some(d) if licence_expired(x, as_of) => format!("{pathway}, licence expired {d}"),
        _ => pathway,
    }
}

/// What keeps the coverage from being active.
fn passive_reasons(a: &CountryAssessment, profile: &Profile) -> Vec<String> {
    let mut r = Vec::new();
    match a.operating_model.get() {
        Some(OperatingModel::OwnEntity | OperatingModel::ContractedPartner) => {}
        Some(other) => r.push(format!("operating model {}", lower_first(value_words(other.id())))),
        None => r.push("operating model not answered".to_owned()),
    }
    let needed = profile.tiers.active_min_executions;
    match a.executions_24m.get() {
        Some(n) if *n >= needed => {}
        Some(n) => r.push(format!("{n} IOR shipments in 24 months, {needed} needed")),
        None => r.push("IOR shipments not answered".to_owned()),
    }
    if !a.regulatory_pathway.is(&RegulatoryPathway::DefinedRepeatable) {
        r.push("regulatory pathway not defined and repeatable".to_owned());
    }
    if r.is_empty() {
        r.push("capability not established".to_owned());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_listed_largest_first_with_their_points() {
        let costs = [
            Cost {
                words: "liability capped".into(),
                points: 5.0,
            },
            Cost {
                words: "2 IOR shipments in 24 months".into(),
                points: 10.0,
            },
            Cost {
                words: "lead time 4 days".into(),
                points: 0.0,
            },
        ];
        assert_eq!(
            list(&costs),
            "2 IOR shipments in 24 months (-10.00), liability capped (-5.00)"
        );
    }

    #[test]
    fn answer_words_read_in_the_middle_of_a_sentence() {
        assert_eq!(lower_first("Local partner is IOR"), "local partner is IOR");
    }
}
