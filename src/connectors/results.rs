//! One mirrored workbook's results written back through its connector:
//! the annotated workbook, a tier summary and the supplier fields, made
//! from the run's summary.

use std::collections::HashMap;
use std::path::Path;

use super::exchange::{io, ExchangeError};
use super::mirror::Fetched;
use super::{write_back, Client, Connector, Redactor, WritebackItem};
use crate::pipeline::RunSummary;
use crate::scoring::ProviderSummary;

/// The tier summary written back beside an annotated workbook.
fn summary_text(providers: &[&ProviderSummary], as_of: chrono::NaiveDate, file_name: &str) -> String {
    let text = providers
        .iter()
        .map(|p| {
            let r = &p.rollup;
            format!(
                "{}: {} ready, {} conditional, {} coverage only, {} not capable, {} not offered; {} countries claimed",
                p.name, r.ready, r.conditional, r.coverage_only, r.not_capable, r.not_offered, r.countries_claimed
            )
        })
        .collect::<Vec<_>>()
        .join(" | ");
    format!("iorready: readiness as of {as_of}. {text} (annotated workbook: {file_name})")
}

/// The values a fields write-back may place in the supplier record: counts
/// per tier and coverage class, the countries ready, the best tier, the
/// share of claimed countries that are capable, and the as-of date. A
/// workbook holding several providers adds their counts up.
fn field_values(providers: &[&ProviderSummary], as_of: chrono::NaiveDate) -> Vec<(String, String)> {
    let sum = |f: &dyn Fn(&crate::scoring::Rollup) -> usize| providers.iter().map(|p| f(&p.rollup)).sum::<usize>();
    let ready = sum(&|r| r.ready);
    let conditional = sum(&|r| r.conditional);
    let claimed: u64 = providers.iter().map(|p| u64::from(p.rollup.countries_claimed)).sum();
    let mut ready_countries: Vec<&str> = providers
        .iter()
        .flat_map(|p| p.tiers.iter())
        .filter(|(_, t)| *t == crate::scoring::Tier::Ready)
        .map(|(c, _)| c.alpha2())
        .collect();
    ready_countries.sort_unstable();
    ready_countries.dedup();
    let best = providers
        .iter()
        .flat_map(|p| p.tiers.iter().map(|(_, t)| *t))
        .min()
        .map(|t| t.id())
        .unwrap_or("not_offered");
    let capable_share = if claimed == 0 {
        0.0
    } else {
        (ready + conditional) as f64 * 100.0 / claimed as f64
    };
    vec![
        ("as_of".into(), as_of.to_string()),
        ("ready".into(), ready.to_string()),
        ("conditional".into(), conditional.to_string()),
        ("coverage_only".into(), sum(&|r| r.coverage_only).to_string()),
        ("not_capable".into(), sum(&|r| r.not_capable).to_string()),
        ("not_offered".into(), sum(&|r| r.not_offered).to_string()),
        ("active".into(), sum(&|r| r.active).to_string()),
        ("passive".into(), sum(&|r| r.passive).to_string()),
        ("countries_claimed".into(), claimed.to_string()),
        ("ready_countries".into(), ready_countries.join(", ")),
        ("best_tier".into(), best.to_owned()),
        ("capable_share".into(), format!("{capable_share:.2}")),
    ]
}

/// Writes one fetched workbook's results back through its connector (or says
/// what it would write): one line per write. Nothing is written for a
/// workbook that was not scored, or a connector with write-back off.
pub async fn write_back_one(
    connectors: &Path,
    fetched: &Fetched,
    summary: &RunSummary,
    as_of: chrono::NaiveDate,
    dry_run: bool,
) -> Result<Vec<String>, ExchangeError> {
    let connector = Connector::find(connectors, &fetched.connector)?;
    if connector.writeback.iter().all(|w| !w.enabled) {
        return Ok(Vec::new());
    }
    let Some((_, annotated)) = summary.annotated_for.iter().find(|(input, _)| *input == fetched.path) else {
        return Ok(Vec::new());
    };
    let providers: Vec<&ProviderSummary> = summary.results.iter().filter(|r| r.source == fetched.path).collect();
    let file_name = annotated
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let item = WritebackItem {
        parent: fetched.parent.clone(),
        file_name: file_name.clone(),
        content: std::fs::read(annotated).map_err(io(annotated))?,
        summary: summary_text(&providers, as_of, &file_name),
        fields: field_values(&providers, as_of),
    };
    let client = Client::new(connector, Redactor::default())?;
    Ok(write_back(&client, std::slice::from_ref(&item), dry_run).await?)
}

/// Write-backs to a connector whose API could not be reached this many
/// times in a row are not tried again in the run.
pub const UNREACHABLE_IN_A_ROW: u32 = 3;

/// The write-backs of one run, connector by connector: after
/// [`UNREACHABLE_IN_A_ROW`] write-backs in a row that could not reach a
/// connector's API (it died mid-run), the rest of that connector's are not
/// tried, each spared its retries, and stay pending for the next run.
#[derive(Debug, Default)]
pub struct WriteBackRun {
    in_a_row: HashMap<String, u32>,
    skipped: HashMap<String, usize>,
}

impl WriteBackRun {
    /// True when write-backs through `connector` are no longer tried in
    /// this run; counts the write-back as skipped.
    pub fn skip(&mut self, connector: &str) -> bool {
        let given_up = self.in_a_row.get(connector).is_some_and(|n| *n >= UNREACHABLE_IN_A_ROW);
        if given_up {
            *self.skipped.entry(connector.to_owned()).or_default() += 1;
        }
        given_up
    }

    /// Notes how a write-back through `connector` went; true when this one
    /// made the run give up on the connector.
    pub fn record<T>(&mut self, connector: &str, outcome: &Result<T, ExchangeError>) -> bool {
        let unreachable = matches!(outcome, Err(ExchangeError::Connector(e)) if e.unreachable());
        let n = self.in_a_row.entry(connector.to_owned()).or_default();
        *n = if unreachable { *n + 1 } else { 0 };
        unreachable && *n == UNREACHABLE_IN_A_ROW
    }

    /// One line per connector given up on: what was left for the next run.
    pub fn given_up(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .skipped
            .iter()
            .map(|(connector, n)| {
                format!(
                    "connector '{connector}': its API could not be reached {UNREACHABLE_IN_A_ROW} times in a row; {n} more write-back(s) not tried, pending for the next run"
                )
            })
            .collect();
        lines.sort();
        lines
    }
}
