//! The summary a user reads at the end of a run.

use std::io::Write;

use iorready::pipeline::{RunSummary, ScoreRequest};
use iorready::terminal::escape_controls;

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Prints the summary table to stdout.
pub fn print_summary(s: &RunSummary, req: &ScoreRequest) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let scored = s.scored_inputs;
    let total = scored + s.errors.len() + req.extra_errors.len();
    writeln!(
        out,
        "Scored {scored} of {total} input(s), {} provider(s), as of {} (profile {})",
        s.results.len(),
        req.as_of,
        req.profile.name,
    )?;
    if !s.results.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{:<32} {:>7} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6} {:>7} {:>5}  Mapping",
            "Provider", "Claimed", "Ready", "Cond", "CovOn", "NotCp", "NotOf", "Active", "Passive", "Flags"
        )?;
        for r in &s.results {
            let x = &r.rollup;
            let flags = r.flag_count;
            let name = &r.name;
            writeln!(
                out,
                "{:<32} {:>7} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6} {:>7} {:>5}  {}",
                cut(&escape_controls(name), 32),
                x.countries_claimed,
                x.ready,
                x.conditional,
                x.coverage_only,
                x.not_capable,
                x.not_offered,
                x.active,
                x.passive,
                flags,
                r.mapping
            )?;
        }
    }
    if !s.errors.is_empty() || !req.extra_errors.is_empty() {
        writeln!(out, "\nNot scored:")?;
        for (_, message) in &s.errors {
            writeln!(out, "  {}", escape_controls(message))?;
        }
        for (file, message) in &req.extra_errors {
            writeln!(out, "  {}: {}", escape_controls(file), escape_controls(message))?;
        }
    }
    if !s.rebuilt.is_empty() {
        writeln!(out, "\nAnnotated copies rebuilt, without the provider's formatting:")?;
        for (file, why) in &s.rebuilt {
            writeln!(out, "  {}: {}", escape_controls(file), escape_controls(why))?;
        }
    }
    let warnings: usize = s.results.iter().map(|r| r.row_issues.len()).sum();
    if warnings > 0 {
        writeln!(
            out,
            "\n{warnings} row(s) skipped; see the 'Not scored' sheet of the portfolio."
        )?;
    }
    writeln!(out, "\nPortfolio: {}", s.portfolio.display())?;
    writeln!(
        out,
        "Annotated workbooks: {} in {}",
        s.annotated.len(),
        req.out_dir.display()
    )?;
    if let Some(json) = &req.json {
        writeln!(out, "JSON: {}", json.display())?;
    }
    Ok(())
}
