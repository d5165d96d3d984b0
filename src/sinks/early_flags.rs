//! The portfolio's Flags sheet, written while the inputs are still being
//! scored. Its rows are every input's flags in input order, known as soon as
//! the input is done; writing them at the end left one core idle for a
//! second in a 500-workbook run, so a thread of its own writes each input's
//! rows once the inputs before it are done.

use std::path::Path;
use std::sync::mpsc::Receiver;

use super::portfolio::Portfolio;
use super::spool::Spool;
use super::SinkError;

/// One input done, as the workers tell it.
#[derive(Debug, Clone, Copy)]
pub struct InputDone {
    /// Its place among the run's inputs.
    pub index: usize,
    /// Whether its pieces are in the spool (scored, or carried forward).
    pub spooled: bool,
    /// Whether it was scored this run rather than recalled unchanged.
    pub fresh: bool,
}

/// Hears inputs finish until every sender is gone, writing the Flags rows
/// of each spooled input, in input order, into a portfolio started on the
/// first input scored this run (at once when `eager`). Returns that
/// portfolio with every spooled input's rows written, or `None` when no
/// input was freshly scored: a run that changed nothing may not write a
/// portfolio at all, and should not pay for one.
pub fn write_flags_early(
    done: Receiver<InputDone>,
    spool: &Spool,
    out: &Path,
    total: usize,
    eager: bool,
) -> Result<Option<Portfolio>, SinkError> {
    // Per input: not done yet, or done and whether spooled.
    let mut finished: Vec<Option<bool>> = vec![None; total];
    let mut next = 0;
    let mut portfolio: Option<Portfolio> = None;
    for input in done {
        if let Some(slot) = finished.get_mut(input.index) {
            *slot = Some(input.spooled);
        }
        if portfolio.is_none() && (eager || input.fresh) {
            portfolio = Some(Portfolio::start(out)?);
        }
        let Some(p) = portfolio.as_mut() else { continue };
        while let Some(&Some(spooled)) = finished.get(next) {
            if spooled {
                let mut rows = spool.flag_rows(next).map_err(|source| SinkError::Io {
                    path: out.to_owned(),
                    source,
                })?;
                p.add_flags(&mut rows)?;
            }
            next += 1;
        }
    }
    Ok(portfolio)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::channel;

    use calamine::{open_workbook, Reader, Xlsx};

    use super::*;
    use crate::scoring::{Profile, Severity};
    use crate::sinks::{FlagRow, PortfolioEnd};

    /// A spool holding one flag row for each input named here.
    fn spool_with(dir: &Path, providers: &[&str]) -> Spool {
        let spool = Spool::new(dir).unwrap();
        for (index, provider) in providers.iter().enumerate() {
            let row = FlagRow {
                provider: (*provider).to_owned(),
                country: "DE".to_owned(),
                severity: Severity::Warning,
                code: "STALE_EXECUTION".to_owned(),
                message: "old".to_owned(),
                cells: "Countries!K2".to_owned(),
                file: format!("{provider}.xlsx"),
            };
            let mut line = serde_json::to_vec(&row).unwrap();
            line.push(b'\n');
            spool.put_raw(index, b"", &line).unwrap();
        }
        spool
    }

    fn done(index: usize, spooled: bool, fresh: bool) -> InputDone {
        InputDone { index, spooled, fresh }
    }

    /// The Provider column of the saved portfolio's Flags sheet.
    fn flag_providers(path: &Path) -> Vec<String> {
        let mut wb: Xlsx<_> = open_workbook(path).unwrap();
        let range = wb.worksheet_range("Flags").unwrap();
        range.rows().skip(1).map(|r| r[0].to_string()).collect()
    }

    fn finish(portfolio: Portfolio) {
        let profile = Profile::builtin().unwrap();
        portfolio
            .finish(&PortfolioEnd {
                summaries: &[],
                errors: &[],
                as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                profile: &profile,
                changes: None,
            })
            .unwrap();
    }

    #[test]
    fn flag_rows_follow_input_order_whatever_order_inputs_finish_in() {
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), &["A", "B", "C"]);
        let out = dir.path().join("portfolio.xlsx");
        let (tx, rx) = channel();
        for d in [done(2, true, true), done(0, true, true), done(1, true, true)] {
            tx.send(d).unwrap();
        }
        drop(tx);
        let portfolio = write_flags_early(rx, &spool, &out, 3, true).unwrap().unwrap();
        finish(portfolio);
        assert_eq!(flag_providers(&out), ["A", "B", "C"]);
    }

    #[test]
    fn an_input_with_nothing_spooled_adds_no_rows() {
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), &["A", "B"]);
        let out = dir.path().join("portfolio.xlsx");
        let (tx, rx) = channel();
        for d in [done(0, false, true), done(1, true, true)] {
            tx.send(d).unwrap();
        }
        drop(tx);
        finish(write_flags_early(rx, &spool, &out, 2, true).unwrap().unwrap());
        assert_eq!(flag_providers(&out), ["B"]);
    }

    #[test]
    fn a_run_that_scored_nothing_afresh_starts_no_portfolio() {
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), &["A", "B"]);
        let (tx, rx) = channel();
        for d in [done(0, true, false), done(1, true, false)] {
            tx.send(d).unwrap();
        }
        drop(tx);
        let out = dir.path().join("portfolio.xlsx");
        assert!(write_flags_early(rx, &spool, &out, 2, false).unwrap().is_none());
        assert!(!out.exists());
    }

    #[test]
    fn a_portfolio_started_late_still_holds_the_earlier_inputs_rows() {
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), &["A", "B", "C"]);
        let out = dir.path().join("portfolio.xlsx");
        let (tx, rx) = channel();
        for d in [done(0, true, false), done(1, true, false), done(2, true, true)] {
            tx.send(d).unwrap();
        }
        drop(tx);
        finish(write_flags_early(rx, &spool, &out, 3, false).unwrap().unwrap());
        assert_eq!(flag_providers(&out), ["A", "B", "C"]);
    }

    #[test]
    fn rows_wait_for_the_inputs_before_them() {
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), &["A", "B"]);
        let out = dir.path().join("portfolio.xlsx");
        let (tx, rx) = channel();
        // Input 0 never finishes (a stopped run): input 1's rows stay out.
        tx.send(done(1, true, true)).unwrap();
        drop(tx);
        finish(write_flags_early(rx, &spool, &out, 2, true).unwrap().unwrap());
        assert!(flag_providers(&out).is_empty());
    }
}
