//! The portfolio's Flags sheet, written while the inputs are still being
//! scored. Its rows are every input's flags in input order, known as soon as
//! the input is done; writing them at the end left one core idle for a
//! second in a 500-workbook run, so a thread of its own writes each input's
//! rows once the inputs before it are done.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};

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

/// Where the early Flags sheet goes and when it starts.
pub struct EarlyFlags<'a> {
    /// The spool the workers put each input's Flags rows in.
    pub spool: &'a Spool,
    /// The portfolio's final path.
    pub out: &'a Path,
    /// How many inputs the run has.
    pub total: usize,
    /// Start at once, rather than on the first input scored this run.
    pub eager: bool,
    /// The run's stop request: once set, the portfolio will not be kept.
    pub stop: Option<&'a AtomicBool>,
}

/// Runs `work`, which reports each input done through the function it is
/// given, while a thread of its own writes the Flags rows (see
/// [`write_flags_early`]). Returns what `work` returned and the portfolio
/// started, if any; an error there only means the Flags rows must be
/// written after all, from the spool, which still holds them.
pub fn with_flags_written_early<R>(
    early: EarlyFlags<'_>,
    work: impl FnOnce(&(dyn Fn(InputDone) + Sync)) -> R,
) -> (R, Result<Option<Portfolio>, SinkError>) {
    let out = early.out;
    let (tx, rx) = channel();
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("portfolio-flags".into())
            .spawn_scoped(scope, move || write_flags_early(rx, &early));
        let result = {
            // The sender lives only as long as `work`: once it returns, or
            // unwinds, the writer hears no more inputs and finishes.
            let report = move |done: InputDone| {
                // A writer that stopped on an error reports it when joined.
                let _ = tx.send(done);
            };
            work(&report)
        };
        let written = match writer {
            Ok(handle) => handle.join().unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(SinkError::Io {
                    path: out.to_owned(),
                    source: std::io::Error::other(format!("the Flags sheet's writer stopped: {why}")),
                })
            }),
            Err(source) => Err(SinkError::Io {
                path: out.to_owned(),
                source,
            }),
        };
        (result, written)
    })
}

/// Hears inputs finish until every sender is gone, writing the Flags rows
/// of each spooled input, in input order, into a portfolio started on the
/// first input scored this run (at once when `eager`). Returns that
/// portfolio with every spooled input's rows written, or `None` when no
/// input was freshly scored (a run that changed nothing may not write a
/// portfolio at all, and should not pay for one) or the run was stopped.
pub fn write_flags_early(done: Receiver<InputDone>, early: &EarlyFlags<'_>) -> Result<Option<Portfolio>, SinkError> {
    // Per input: not done yet, or done and whether spooled.
    let mut finished: Vec<Option<bool>> = vec![None; early.total];
    let mut next = 0;
    let mut portfolio: Option<Portfolio> = None;
    let stopped = || early.stop.is_some_and(|s| s.load(Ordering::SeqCst));
    for input in done {
        if stopped() {
            // A stopped run keeps the last complete run's portfolio.
            return Ok(None);
        }
        if let Some(slot) = finished.get_mut(input.index) {
            *slot = Some(input.spooled);
        }
        if portfolio.is_none() && (early.eager || input.fresh) {
            portfolio = Some(Portfolio::start(early.out)?);
        }
        let Some(p) = portfolio.as_mut() else { continue };
        while let Some(&Some(spooled)) = finished.get(next) {
            if spooled {
                p.add_spooled_flags(early.spool, next)?;
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

    fn early<'a>(spool: &'a Spool, out: &'a Path, total: usize, eager: bool) -> EarlyFlags<'a> {
        EarlyFlags {
            spool,
            out,
            total,
            eager,
            stop: None,
        }
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

    /// Reports `dones` to the writer, for inputs of these providers, and
    /// returns the Provider column of the Flags sheet it wrote (`None`
    /// when it started no portfolio).
    fn flags_for(providers: &[&str], dones: &[InputDone], eager: bool) -> Option<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), providers);
        let out = dir.path().join("portfolio.xlsx");
        let (tx, rx) = channel();
        for d in dones {
            tx.send(*d).unwrap();
        }
        drop(tx);
        let portfolio = write_flags_early(rx, &early(&spool, &out, providers.len(), eager)).unwrap();
        portfolio.map(|p| {
            finish(p);
            flag_providers(&out)
        })
    }

    #[test]
    fn flag_rows_follow_input_order_whatever_order_inputs_finish_in() {
        let dones = [done(2, true, true), done(0, true, true), done(1, true, true)];
        assert_eq!(flags_for(&["A", "B", "C"], &dones, true).unwrap(), ["A", "B", "C"]);
    }

    #[test]
    fn an_input_with_nothing_spooled_adds_no_rows() {
        let dones = [done(0, false, true), done(1, true, true)];
        assert_eq!(flags_for(&["A", "B"], &dones, true).unwrap(), ["B"]);
    }

    #[test]
    fn a_run_that_scored_nothing_afresh_starts_no_portfolio() {
        let dones = [done(0, true, false), done(1, true, false)];
        assert!(flags_for(&["A", "B"], &dones, false).is_none());
    }

    #[test]
    fn a_portfolio_started_late_still_holds_the_earlier_inputs_rows() {
        let dones = [done(0, true, false), done(1, true, false), done(2, true, true)];
        assert_eq!(flags_for(&["A", "B", "C"], &dones, false).unwrap(), ["A", "B", "C"]);
    }

    #[test]
    fn rows_wait_for_the_inputs_before_them() {
        // Input 0 is never reported (its worker failed): input 1's rows
        // stay out rather than go first.
        assert!(flags_for(&["A", "B"], &[done(1, true, true)], true).unwrap().is_empty());
    }

    #[test]
    fn a_stopped_run_keeps_no_portfolio() {
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), &["A"]);
        let out = dir.path().join("portfolio.xlsx");
        let stop = AtomicBool::new(true);
        let (tx, rx) = channel();
        tx.send(done(0, true, true)).unwrap();
        drop(tx);
        let early = EarlyFlags {
            stop: Some(&stop),
            ..early(&spool, &out, 1, true)
        };
        assert!(write_flags_early(rx, &early).unwrap().is_none());
    }

    #[test]
    fn work_reports_inputs_from_several_threads_and_the_rows_come_out_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spool = spool_with(dir.path(), &["A", "B", "C", "D"]);
        let out = dir.path().join("portfolio.xlsx");
        let (answer, portfolio) = with_flags_written_early(early(&spool, &out, 4, true), |report| {
            std::thread::scope(|s| {
                s.spawn(|| [3, 1].map(|i| report(done(i, true, true))));
                s.spawn(|| [2, 0].map(|i| report(done(i, true, true))));
            });
            42
        });
        assert_eq!(answer, 42);
        finish(portfolio.unwrap().unwrap());
        assert_eq!(flag_providers(&out), ["A", "B", "C", "D"]);
    }
}
