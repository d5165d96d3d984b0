//! Benchmark of a scheduled run when nothing changed.
//!
//! Generates N provider workbooks of the reference layout (default 500 x 80
//! countries), runs the job once (everything scored), then again with
//! nothing changed, and reports both times and their ratio (target: the
//! second under 5% of the first). Then one workbook is changed and a third
//! run times the common case of a small change.
//!
//! Run: `cargo bench --bench no_change_run`
//! Sizes: `IORREADY_BENCH_PROVIDERS=500 IORREADY_BENCH_COUNTRIES=80`.

mod support;

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use iorready::daemon::{run_job, JobsConfig, Outcome, RunOptions, State};
use iorready::model::Country;
use support::{env_usize, generate, peak_rss_kib};

/// The allocator the `iorready` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let providers = env_usize("IORREADY_BENCH_PROVIDERS", 500);
    let countries_n = env_usize("IORREADY_BENCH_COUNTRIES", 80);
    let countries: Vec<Country> = Country::all().take(countries_n).collect();
    let work = tempfile::tempdir().unwrap();
    let inbox = work.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    generate(&inbox, providers, &countries);
    let config = work.path().join("iorready.toml");
    std::fs::write(
        &config,
        "[state]\ndir = \"state\"\n[jobs.bench]\nschedule = \"@hourly\"\ninputs = [\"inbox\"]\nout = \"out\"\njson = \"out/result.json\"\n",
    )
    .unwrap();
    let config = JobsConfig::load(&config).unwrap();
    let job = config.job("bench").unwrap();
    let state = Arc::new(State::open(&config.state_dir).unwrap());
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 24);
    let timed = |label: &str| {
        let t = Instant::now();
        let options = RunOptions {
            as_of,
            ..Default::default()
        };
        let report = run_job(job, &config.state_dir, &state, options).unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(report.outcome, Outcome::Ok, "{:?}", report.message);
        let run = &state.runs(Some("bench"), 1).unwrap()[0];
        println!(
            "{label}: {secs:.3}s ({} inputs: {} scored, {} unchanged; outputs {})",
            run.inputs,
            run.scored,
            run.unchanged,
            if report.summary.as_ref().is_some_and(|s| s.outputs_written) {
                "written"
            } else {
                "left as they were"
            }
        );
        secs
    };
    let first = timed("first run (everything scored)");
    let second = timed("no-change run");
    std::fs::copy(inbox.join("provider-0001.xlsx"), inbox.join("provider-0000.xlsx")).unwrap();
    let third = timed("one workbook changed");
    println!(
        "no-change run / first run: {:.2}% (target < 5%)",
        second / first * 100.0
    );
    println!("one-change run / first run: {:.2}%", third / first * 100.0);
    println!("peak RSS {} MiB", peak_rss_kib() / 1024);
}
