//! The plan as analysts read it: `plan.xlsx` with the sheets Plan (per
//! country), Contracts (per provider), Gaps (what is missing and what to do
//! about it) and Options (what was asked and how sure the plan is), and the
//! plan as JSON for automation.

use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::Workbook;
use serde::Serialize;

use super::table_sheet::{write_table, Cell, Column};
use super::{write_atomically, write_xlsx_atomically, SinkError};
use crate::model::Country;
use crate::planning::changes::PlanChange;
use crate::planning::plan::{Pick, Plan, Planned};
use crate::planning::Rollout;

/// Writes `plan.xlsx` atomically.
pub fn write_plan_workbook(
    path: &Path,
    plan: &Plan,
    rollout: &Rollout,
    changes: Option<&[PlanChange]>,
) -> Result<(), SinkError> {
    let e = |source| SinkError::Xlsx {
        path: path.to_owned(),
        source,
    };
    let mut wb = Workbook::new();
    write_table(wb.add_worksheet(), "Plan", PLAN_COLUMNS, &plan_rows(plan)).map_err(e)?;
    write_table(wb.add_worksheet(), "Contracts", CONTRACT_COLUMNS, &contract_rows(plan)).map_err(e)?;
    write_table(wb.add_worksheet(), "Gaps", GAP_COLUMNS, &gap_rows(plan)).map_err(e)?;
    write_table(
        wb.add_worksheet(),
        "Options",
        OPTION_COLUMNS,
        &option_rows(plan, rollout),
    )
    .map_err(e)?;
    if let Some(changes) = changes.filter(|c| !c.is_empty()) {
        let rows: Vec<Vec<Cell>> = changes
            .iter()
            .map(|c| {
                vec![
                    Cell::Text(c.country.clone()),
                    Cell::Text(c.role.clone()),
                    Cell::Wrapped(c.from.clone()),
                    Cell::Wrapped(c.to.clone()),
                    Cell::Wrapped(c.detail.clone()),
                ]
            })
            .collect();
        write_table(wb.add_worksheet(), "Changes", CHANGE_COLUMNS, &rows).map_err(e)?;
    }
    write_xlsx_atomically(path, &mut wb)
}

const fn col(header: &'static str, cap: f64) -> Column {
    Column { header, cap }
}

const PLAN_COLUMNS: &[Column] = &[
    col("Country", 20.0),
    col("Requirement (the least accepted)", 26.0),
    col("Primary", 30.0),
    col("Tier", 14.0),
    col("Score", 8.0),
    col("Coverage class", 12.0),
    col("Confidence", 10.0),
    col("Fallback", 30.0),
    col("Fallback tier", 14.0),
    col("Fallback score", 8.0),
    col("Fallback coverage class", 12.0),
    col("Fallback confidence", 10.0),
    col("Gap (see the Gaps sheet)", 45.0),
    col("Notes", 30.0),
];

fn pick_cells(p: &Option<Pick>) -> Vec<Cell> {
    match p {
        Some(p) => vec![
            Cell::Wrapped(p.provider.clone()),
            Cell::Tier(p.tier),
            Cell::Score(p.score),
            Cell::Text(words(&p.coverage_class)),
            Cell::Text(words(&p.confidence)),
        ],
        None => vec![
            Cell::Text("none".into()),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ],
    }
}

/// `coverage_only` -> "Coverage only".
fn words(id: &str) -> String {
    let t = id.replace('_', " ");
    let mut c = t.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn country_label(p: &Planned) -> String {
    format!("{} ({})", p.country_name, p.country)
}

fn plan_rows(plan: &Plan) -> Vec<Vec<Cell>> {
    plan.assignments
        .iter()
        .map(|a| {
            let mut row = vec![Cell::Wrapped(country_label(a)), Cell::Wrapped(a.requirement.clone())];
            row.extend(pick_cells(&a.primary));
            if a.target.fallback_needed {
                row.extend(pick_cells(&a.fallback));
            } else {
                row.extend([
                    Cell::Text("not needed".into()),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                ]);
            }
            row.push(a.reason.clone().map(Cell::Wrapped).unwrap_or(Cell::Empty));
            row.push(Cell::Wrapped(a.notes.clone()));
            row
        })
        .collect()
}

const CONTRACT_COLUMNS: &[Column] = &[
    col("Provider", 30.0),
    col("Preferred", 10.0),
    col("Countries", 10.0),
    col("Primary for", 60.0),
    col("Fallback for", 60.0),
];

fn names(codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| match Country::from_alpha2(c) {
            Some(k) => format!("{} ({c})", k.name()),
            None => c.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn contract_rows(plan: &Plan) -> Vec<Vec<Cell>> {
    plan.contracts
        .iter()
        .map(|c| {
            let mut all = c.primary.clone();
            all.extend(c.fallback.iter().filter(|f| !c.primary.contains(f)).cloned());
            vec![
                Cell::Wrapped(c.provider.clone()),
                Cell::Text(if c.preferred { "yes" } else { "no" }.into()),
                Cell::Count(all.len()),
                Cell::Wrapped(names(&c.primary)),
                Cell::Wrapped(names(&c.fallback)),
            ]
        })
        .collect()
}

const GAP_COLUMNS: &[Column] = &[
    col("Country", 20.0),
    col("Missing", 10.0),
    col("Best available", 22.0),
    col("What keeps it from the requirement", 58.0),
    col("What to do", 42.0),
];

fn gap_rows(plan: &Plan) -> Vec<Vec<Cell>> {
    if plan.gaps.is_empty() {
        return vec![vec![
            Cell::Text("none".into()),
            Cell::Empty,
            Cell::Empty,
            Cell::Wrapped("Every country has the primary and fallback it asked for.".into()),
            Cell::Empty,
        ]];
    }
    plan.gaps
        .iter()
        .map(|g| {
            let label = plan
                .assignments
                .iter()
                .find(|a| a.country == g.country)
                .map(country_label)
                .unwrap_or_else(|| g.country.clone());
            vec![
                Cell::Wrapped(label),
                Cell::Text(g.missing.into()),
                Cell::Wrapped(g.best.clone().unwrap_or_else(|| "nobody".into())),
                Cell::Wrapped(g.why.clone()),
                Cell::Wrapped(g.action.clone()),
            ]
        })
        .collect()
}

const OPTION_COLUMNS: &[Column] = &[col("Option", 30.0), col("Value", 80.0)];

fn option_rows(plan: &Plan, rollout: &Rollout) -> Vec<Vec<Cell>> {
    let o = &rollout.options;
    let f = &plan.objective;
    let list = |v: &[String]| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
    let proven = if plan.optimal {
        "yes: no plan does better on the objectives, in their order".to_owned()
    } else {
        match plan.bound {
            Some(b) => format!(
                "no: the time limit stopped the search; the best plan found is shown, and no plan does better than {} on {}",
                b.value,
                b.objective.replace('_', " ")
            ),
            None => "no".to_owned(),
        }
    };
    let mut rows = vec![
        ("Rollout", rollout.file.display().to_string()),
        ("Countries", plan.countries_wanted.to_string()),
        (
            "Maximum providers",
            o.max_providers.map_or("no limit".into(), |m| m.to_string()),
        ),
        ("Fallback minimum tier", o.fallback_tier.label().to_owned()),
        ("Exclude", list(&o.exclude)),
        ("Prefer", list(&o.prefer)),
        ("Proven optimal", proven),
        (
            "Countries with a primary",
            format!("{} of {}", f.countries_covered, plan.countries_wanted),
        ),
        (
            "Fallbacks",
            format!("{} of {} asked", f.fallbacks_covered, plan.fallbacks_wanted),
        ),
        ("Providers to contract", f.providers.to_string()),
        ("Preferred among them", f.preferred.to_string()),
        ("Sum of primary scores", format!("{:.2}", f.primary_score_sum)),
        ("Sum of fallback scores", format!("{:.2}", f.fallback_score_sum)),
        ("Search time", format!("{:.2} s", plan.elapsed.as_secs_f64())),
    ];
    if !plan.unknown_names.is_empty() {
        rows.push((
            "Names not found",
            format!("no scored provider is called {}", plan.unknown_names.join(", ")),
        ));
    }
    rows.into_iter()
        .map(|(k, v)| vec![Cell::Text(k.into()), Cell::Wrapped(v)])
        .collect()
}

const CHANGE_COLUMNS: &[Column] = &[
    col("Country", 10.0),
    col("Role", 10.0),
    col("Was", 30.0),
    col("Now", 30.0),
    col("Why", 80.0),
];

/// The JSON of a plan: `{"plan": {...}, "changes": [...]}`.
#[derive(Serialize)]
struct PlanJson<'a> {
    rollout: String,
    /// A digest of the rollout and result the plan was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    made_from: Option<&'a str>,
    plan: &'a Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<&'a [PlanChange]>,
}

/// Writes the plan's JSON atomically.
pub fn write_plan_json(
    path: &Path,
    plan: &Plan,
    rollout: &Rollout,
    changes: Option<&[PlanChange]>,
    made_from: Option<&str>,
) -> Result<(), SinkError> {
    let doc = PlanJson {
        rollout: rollout.file.display().to_string(),
        made_from,
        plan,
        changes,
    };
    let bytes = serde_json::to_vec_pretty(&doc).map_err(|source| SinkError::Json {
        path: path.to_owned(),
        source,
    })?;
    write_atomically(path, |tmp| {
        tmp.as_file_mut()
            .write_all(&bytes)
            .and_then(|()| tmp.as_file_mut().write_all(b"\n"))
            .map_err(|source| SinkError::Io {
                path: path.to_owned(),
                source,
            })
    })
}
