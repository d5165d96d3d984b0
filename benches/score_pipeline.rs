//! Benchmark of the whole `score` pipeline against its floor.
//!
//! Generates N provider workbooks of the reference layout (default 500
//! providers x 80 countries), then times, each in a fresh child process:
//! - `baseline`: plainly reading every input with calamine and writing the
//!   same cells with rust_xlsxwriter, in parallel over the same cores;
//! - `pipeline`: `iorready::pipeline::run_score` (read, map, score, annotate,
//!   portfolio, JSON);
//! - `outputs`: the baseline's own yardstick applied to the pipeline's
//!   outputs (annotated copies and portfolio, without their notes): what
//!   merely copying the cells the pipeline must write costs.
//!
//! and reports wall time, cells per second and each child's peak RSS. The
//! two copying phases also report the time their threads spent reading and
//! writing, so the cost of writing the outputs' cells can be set against
//! the baseline's.
//!
//! Run: `cargo bench --bench score_pipeline`
//! Sizes: `IORREADY_BENCH_PROVIDERS=500 IORREADY_BENCH_COUNTRIES=80`;
//! `IORREADY_BENCH_DIR=path` keeps the generated workbooks there.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use calamine::{open_workbook_auto, Data, Reader};
use chrono::NaiveDate;
use iorready::mapping::MappingSet;
use iorready::model::Country;
use iorready::pipeline::{run_score, ScoreRequest};
use iorready::scoring::Profile;
use rayon::prelude::*;
use support::{env_usize, generate, peak_rss_kib};

/// The allocator the `iorready` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .collect();
    v.sort();
    v
}

/// What copying one workbook took: cells, seconds reading, seconds writing.
type Copied = (usize, f64, f64);

/// Read every sheet with calamine, write the same cells with
/// rust_xlsxwriter: the floor any scoring pipeline stands on.
fn baseline(input: &Path, out: &Path) -> Copied {
    let started = Instant::now();
    let mut wb = open_workbook_auto(input).unwrap();
    let sheets: Vec<(String, calamine::Range<Data>)> = wb
        .sheet_names()
        .into_iter()
        .map(|name| {
            let range = wb.worksheet_range(&name).unwrap();
            (name, range)
        })
        .collect();
    let read = started.elapsed().as_secs_f64();
    let started = Instant::now();
    // Default settings: the plain way to write a workbook.
    let mut book = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let mut cells = 0;
    for (name, range) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(&name).unwrap();
        let (r0, c0) = range.start().unwrap_or((0, 0));
        for (r, c, v) in range.used_cells() {
            let (r, c) = (r0 + r as u32, (c0 + c as u32) as u16);
            cells += 1;
            match v {
                Data::String(s) => ws.write_string(r, c, s).map(|_| ()),
                Data::Float(f) => ws.write_number(r, c, *f).map(|_| ()),
                Data::Int(i) => ws.write_number(r, c, *i as f64).map(|_| ()),
                Data::Bool(b) => ws.write_boolean(r, c, *b).map(|_| ()),
                Data::DateTime(d) => ws.write_number_with_format(r, c, d.as_f64(), &date).map(|_| ()),
                other => ws.write_string(r, c, other.to_string()).map(|_| ()),
            }
            .unwrap();
        }
    }
    book.save(out).unwrap();
    (cells, read, started.elapsed().as_secs_f64())
}

fn child(phase: &str, dir: &Path, out: &Path) {
    let files = inputs(dir);
    std::fs::create_dir_all(out).unwrap();
    let start = Instant::now();
    let (cells, read, write) = match phase {
        "baseline" => files
            .par_iter()
            .map(|f| baseline(f, &out.join(f.file_name().unwrap())))
            .reduce(|| (0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2)),
        _ => {
            let mut req = ScoreRequest::new(
                vec![dir.to_owned()],
                out.to_owned(),
                NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                Profile::builtin().unwrap(),
                MappingSet::builtin().unwrap(),
            );
            req.json = Some(out.join("result.json"));
            let s = run_score(&req, &()).unwrap();
            assert!(s.errors.is_empty(), "{:?}", s.errors.first());
            let cells = s.results.iter().map(|r| r.rollup.countries_assessed * 19).sum();
            (cells, 0.0, 0.0)
        }
    };
    let secs = start.elapsed().as_secs_f64();
    println!("{phase} {secs:.3} {cells} {} {read:.3} {write:.3}", peak_rss_kib());
}

/// One child's figures: wall seconds, cells, peak KiB, thread-seconds
/// reading and writing (copying phases only).
struct Figures {
    secs: f64,
    cells: usize,
    peak_kib: u64,
    read: f64,
    write: f64,
}

fn run_child(phase: &str, dir: &Path, out: &Path) -> Figures {
    let exe = std::env::current_exe().unwrap();
    let o = Command::new(exe)
        .args(["--phase", phase, dir.to_str().unwrap(), out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = String::from_utf8_lossy(&o.stdout).lines().last().unwrap().to_owned();
    let f: Vec<&str> = line.split_whitespace().collect();
    Figures {
        secs: f[1].parse().unwrap(),
        cells: f[2].parse().unwrap(),
        peak_kib: f[3].parse().unwrap(),
        read: f[4].parse().unwrap(),
        write: f[5].parse().unwrap(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--phase") {
        child(&args[i + 1], Path::new(&args[i + 2]), Path::new(&args[i + 3]));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let providers = env_usize("IORREADY_BENCH_PROVIDERS", 500);
    let countries_n = env_usize("IORREADY_BENCH_COUNTRIES", 80);
    let countries: Vec<Country> = Country::all().take(countries_n).collect();
    // IORREADY_BENCH_DIR keeps the generated workbooks (for profiling).
    let work = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("IORREADY_BENCH_DIR") {
        Some(d) => PathBuf::from(d),
        None => work.path().join("in"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    generate(&dir, providers, &countries);
    let b = run_child("baseline", &dir, &work.path().join("baseline"));
    let pipeline_out = work.path().join("pipeline");
    let p = run_child("pipeline", &dir, &pipeline_out);
    // The outputs' own copy runs over the pipeline's output folder; its
    // copies go elsewhere so they are not read back.
    let o = run_child("baseline", &pipeline_out, &work.path().join("outputs"));
    println!(
        "baseline (calamine read + rust_xlsxwriter write): {:.2}s, {} cells, {:.0} cells/s, peak RSS {} MiB",
        b.secs,
        b.cells,
        b.cells as f64 / b.secs,
        b.peak_kib / 1024
    );
    println!(
        "pipeline (iorready score, all outputs):           {:.2}s, {} answer cells, {:.0} workbooks/s, peak RSS {} MiB",
        p.secs,
        p.cells,
        providers as f64 / p.secs,
        p.peak_kib / 1024
    );
    println!("pipeline / baseline: {:.2}x (target <= 2x)", p.secs / b.secs);
    println!(
        "outputs copied the baseline's way (no notes):     {:.2}s, {} cells ({:.1}x the inputs' cells), {:.2}x the baseline",
        o.secs,
        o.cells,
        o.cells as f64 / b.cells as f64,
        o.secs / b.secs
    );
    println!(
        "thread-seconds: baseline read {:.2} + write {:.2}; writing the outputs' cells alone {:.2}, \
         so reading the inputs and writing the outputs plainly is {:.2}x the baseline",
        b.read,
        b.write,
        o.write,
        (b.read + o.write) / (b.read + b.write)
    );
}
