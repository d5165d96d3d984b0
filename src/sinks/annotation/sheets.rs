//! The content of iorready's own sheets in the annotated copy: Readiness
//! (the roll-up and each country's dimension breakdown) and Legend (what
//! every column, tier, class, confidence level and flag means).

use std::collections::BTreeMap;

use strum::IntoEnumIterator;

use super::{AnnotateInput, Cell, Look, NewSheet, Rows, VERDICT_HEADERS};
use crate::scoring::{Confidence, CoverageClass, FlagCode, Profile, ProviderResult, Tier};

/// The label of the Readiness fact saying how the copy was made.
const COPY_LABEL: &str = "Annotated copy";

/// The roll-up of one provider as label/value pairs.
fn facts(res: &ProviderResult, input: &AnnotateInput<'_>, copy: &str) -> Vec<(&'static str, String)> {
    let p = &res.provider;
    let r = &res.rollup;
    let ratio = r
        .inflation_ratio
        .map(|x| format!("{x:.2}"))
        .unwrap_or_else(|| "n/a (nothing ready or conditional)".into());
    vec![
        ("Provider", res.display_name()),
        ("Legal name", p.legal_name.get().cloned().unwrap_or_default()),
        (
            "Response date",
            p.response_date.get().map(|d| d.to_string()).unwrap_or_default(),
        ),
        ("Source", res.source.display().to_string()),
        ("Mapping", res.mapping.clone()),
        ("Scoring profile", input.profile.name.clone()),
        ("As of", input.as_of.to_string()),
        (COPY_LABEL, copy.to_owned()),
        ("Countries claimed", r.countries_claimed.to_string()),
        ("Countries assessed", r.countries_assessed.to_string()),
        ("Ready", r.ready.to_string()),
        ("Conditional", r.conditional.to_string()),
        ("Coverage only", r.coverage_only.to_string()),
        ("Not capable", r.not_capable.to_string()),
        ("Not offered", r.not_offered.to_string()),
        ("Active coverage", r.active.to_string()),
        ("Passive coverage", r.passive.to_string()),
        ("Coverage inflation ratio", ratio),
        (
            "Provider flags",
            res.flags
                .iter()
                .map(|f| format!("{}: {}", f.code.words_and_code(), f.message))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ]
}

/// The Readiness sheet: the roll-up (label/value pairs for one provider, a
/// table for several), then every country's dimension breakdown.
pub(super) fn readiness(input: &AnnotateInput<'_>, copy: &str) -> NewSheet {
    let all: Vec<Vec<(&str, String)>> = input.results.iter().map(|r| facts(r, input, copy)).collect();
    let mut rows = Rows::new();
    if let [one] = all.as_slice() {
        rows.insert(
            0,
            vec![
                (0, Cell::text("Readiness", Look::Header)),
                (1, Cell::text("", Look::Header)),
            ],
        );
        for (i, (k, v)) in one.iter().enumerate() {
            rows.insert(
                i as u32 + 1,
                vec![(0, Cell::text(*k, Look::Bold)), (1, Cell::text(v.clone(), Look::Wrap))],
            );
        }
    } else {
        let header = all.first().into_iter().flatten().enumerate();
        rows.insert(
            0,
            header
                .map(|(c, (k, _))| (c as u32, Cell::text(*k, Look::Header)))
                .collect(),
        );
        for (i, one) in all.iter().enumerate() {
            let cells = one
                .iter()
                .enumerate()
                .map(|(c, (_, v))| (c as u32, Cell::text(v.clone(), Look::Plain)));
            rows.insert(i as u32 + 1, cells.collect());
        }
    }
    let top = rows.keys().max().copied().unwrap_or(0) + 2;
    let headers = breakdown_headers(input);
    let last_col = headers.len() as u32 - 1;
    rows.insert(
        top,
        headers
            .into_iter()
            .enumerate()
            .map(|(c, h)| (c as u32, Cell::text(h, Look::Header)))
            .collect(),
    );
    let mut row = top;
    for res in input.results {
        for a in &res.assessed {
            row += 1;
            rows.insert(row, breakdown_row(res, a));
        }
    }
    let wrap_widths = if all.len() == 1 {
        [(1, 70.0), (last_col - 1, 40.0), (last_col, 70.0)]
            .into_iter()
            .collect()
    } else {
        [(last_col - 1, 40.0), (last_col, 70.0)].into_iter().collect()
    };
    NewSheet {
        name: "Readiness",
        rows,
        freeze: Some((top + 1, 3)),
        filter: Some((top, 0, row, last_col)),
        print_rows: Some((top, top)),
        wrap_widths,
    }
}

fn breakdown_headers(input: &AnnotateInput<'_>) -> Vec<String> {
    let mut headers: Vec<String> = [
        "Provider",
        "Country",
        "Code",
        "Tier",
        "Score",
        "Coverage class",
        "Confidence",
        "Evidence level",
        "Evidence multiplier",
    ]
    .map(String::from)
    .to_vec();
    if let Some(a) = input.results.iter().flat_map(|r| r.assessed.first()).next() {
        for d in &a.dimensions {
            headers.push(format!("{} points ({:.0}%)", d.dimension.label(), d.weight * 100.0));
        }
    }
    headers.extend(["Knockouts", "How the dimensions were valued"].map(String::from));
    headers
}

fn breakdown_row(res: &ProviderResult, a: &crate::scoring::Assessed) -> Vec<(u32, Cell)> {
    let country = a.assessment.country;
    let mut cells = vec![
        Cell::text(res.display_name(), Look::Plain),
        Cell::text(country.map(|c| c.name()).unwrap_or(""), Look::Plain),
        Cell::text(country.map(|c| c.alpha2()).unwrap_or(""), Look::Plain),
        Cell::text(a.tier.label(), Look::Tier(a.tier)),
        Cell::number(a.score, Look::Score),
        Cell::text(a.coverage_class.label(), Look::Plain),
        Cell::text(a.confidence.label(), Look::Plain),
        Cell::text(crate::model::value_words(a.evidence_level.id()), Look::Plain),
        Cell::number(a.evidence_multiplier, Look::Score),
    ];
    cells.extend(a.dimensions.iter().map(|d| Cell::number(d.points, Look::Score)));
    cells.push(Cell::text(a.knockouts.join("; "), Look::Wrap));
    let basis: Vec<String> = a
        .dimensions
        .iter()
        .map(|d| format!("{}: {}", d.dimension.label(), d.basis))
        .collect();
    cells.push(Cell::text(basis.join("\n"), Look::Wrap));
    cells.into_iter().enumerate().map(|(c, v)| (c as u32, v)).collect()
}

/// Replaces the Readiness fact saying how the copy was made.
pub(super) fn set_copy(sheet: &mut NewSheet, copy: &str) {
    for cells in sheet.rows.values_mut() {
        let is_copy = cells
            .first()
            .is_some_and(|(_, c)| c.value == super::Value::Text(COPY_LABEL.to_owned()));
        if is_copy {
            if let Some((_, value)) = cells.get_mut(1) {
                *value = Cell::text(copy, Look::Wrap);
            }
        }
    }
}

/// The Legend sheet.
pub(super) fn legend(profile: &Profile) -> NewSheet {
    let mut rows = Rows::new();
    let mut row = 0u32;
    let mut section = |title: &str, lines: Vec<[Cell; 4]>, rows: &mut Rows| {
        let head = [title, "Code", "Severity", "What it means"];
        rows.insert(
            row,
            head.iter()
                .enumerate()
                .map(|(c, h)| (c as u32, Cell::text(*h, Look::Header)))
                .collect(),
        );
        row += 1;
        for line in lines {
            rows.insert(row, line.into_iter().enumerate().map(|(c, v)| (c as u32, v)).collect());
            row += 1;
        }
        row += 1;
    };
    section("Column", column_lines(), &mut rows);
    section("Tier", tier_lines(profile), &mut rows);
    let classes = CoverageClass::ALL
        .iter()
        .map(|c| term(c.label(), Look::Plain, c.id(), c.meaning()));
    section("Coverage class", classes.collect(), &mut rows);
    let levels = Confidence::ALL
        .iter()
        .map(|c| term(c.label(), Look::Plain, c.id(), c.meaning()));
    section("Confidence", levels.collect(), &mut rows);
    section("Flag", flag_lines(profile), &mut rows);
    NewSheet {
        name: "Legend",
        rows,
        freeze: None,
        filter: None,
        print_rows: None,
        wrap_widths: BTreeMap::from([(3, 90.0)]),
    }
}

fn term(label: &str, look: Look, code: &str, meaning: &str) -> [Cell; 4] {
    [
        Cell::text(label, look),
        Cell::text(code, Look::Plain),
        Cell::text("", Look::Plain),
        Cell::text(meaning, Look::Wrap),
    ]
}

fn column_lines() -> Vec<[Cell; 4]> {
    let meanings = [
        "0 to 100: each dimension's weight x its value, times the evidence multiplier. Unknown answers score 0.",
        "Ready, Conditional, Coverage only, Not capable or Not offered (see Tier below).",
        "Active or passive coverage, forwarding only, or none (see Coverage class below).",
        "How far the answers can be trusted (see Confidence below).",
        "Each flag raised for the country, in words with its code; the answer that raised it carries a note.",
        "Why the country has its tier, and what keeps it from the next one.",
    ];
    VERDICT_HEADERS
        .iter()
        .zip(meanings)
        .map(|(h, m)| term(h, Look::Bold, "", m))
        .collect()
}

fn tier_lines(profile: &Profile) -> Vec<[Cell; 4]> {
    let t = &profile.tiers;
    Tier::ALL
        .iter()
        .map(|tier| {
            let threshold = match tier {
                Tier::Ready => format!(" (score at least {})", t.ready_min_score),
                Tier::Conditional => format!(" (score at least {})", t.conditional_min_score),
                Tier::CoverageOnly => format!(" (score below {})", t.conditional_min_score),
                _ => String::new(),
            };
            term(
                tier.label(),
                Look::Tier(*tier),
                tier.id(),
                &format!("{}{threshold}", tier.meaning()),
            )
        })
        .collect()
}

fn flag_lines(profile: &Profile) -> Vec<[Cell; 4]> {
    FlagCode::iter()
        .map(|f| {
            let severity = profile.severity(f);
            [
                Cell::text(f.words(), Look::Plain),
                Cell::text(f.code(), Look::Plain),
                Cell::text(severity.to_string(), Look::Severity(severity)),
                Cell::text(f.meaning(), Look::Wrap),
            ]
        })
        .collect()
}
