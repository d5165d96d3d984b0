//! Benchmark of the whole `score` pipeline against its floor.
//!
//! Generates N provider workbooks of the reference layout (default 500
//! providers x 80 countries), then times, each in a fresh child process:
//! - `baseline`: plainly reading every input with calamine and writing the
//!   same cells with rust_xlsxwriter, in parallel over the same cores;
//! - `pipeline`: `iorready::pipeline::run_score` (read, map, score, annotate,
//!   portfolio, JSON).
//!
//! and reports wall time, cells per second and each child's peak RSS.
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

/// Read every sheet with calamine, write the same cells with
/// rust_xlsxwriter: the floor any scoring pipeline stands on.
fn baseline(input: &Path, out: &Path) -> usize {
    let mut wb = open_workbook_auto(input).unwrap();
    // Default settings: the plain way to write a workbook.
    let mut book = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let mut cells = 0;
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).unwrap();
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
    cells
}

fn child(phase: &str, dir: &Path, out: &Path) {
    let files = inputs(dir);
    std::fs::create_dir_all(out).unwrap();
    let start = Instant::now();
    let cells = match phase {
        "baseline" => files
            .par_iter()
            .map(|f| baseline(f, &out.join(f.file_name().unwrap())))
            .sum::<usize>(),
        _ => {
            let req = ScoreRequest {
                inputs: vec![dir.to_owned()],
                out_dir: out.to_owned(),
                json: Some(out.join("result.json")),
                as_of: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                profile: Profile::builtin().unwrap(),
                mappings: MappingSet::builtin().unwrap(),
                jobs: 0,
                memory: None,
                stop: None,
                input_mappings: Vec::new(),
                allow_empty: false,
                extra_errors: Vec::new(),
            };
            let s = run_score(&req, &()).unwrap();
            assert!(s.errors.is_empty(), "{:?}", s.errors.first());
            s.results.iter().map(|r| r.rollup.countries_assessed * 19).sum()
        }
    };
    let secs = start.elapsed().as_secs_f64();
    println!("{phase} {secs:.3} {cells} {}", peak_rss_kib());
}

fn run_child(phase: &str, dir: &Path, out: &Path) -> (f64, usize, u64) {
    let exe = std::env::current_exe().unwrap();
    let o = Command::new(exe)
        .args(["--phase", phase, dir.to_str().unwrap(), out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = String::from_utf8_lossy(&o.stdout).lines().last().unwrap().to_owned();
    let f: Vec<&str> = line.split_whitespace().collect();
    (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap())
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
    let (bt, bcells, bmem) = run_child("baseline", &dir, &work.path().join("baseline"));
    let (pt, pcells, pmem) = run_child("pipeline", &dir, &work.path().join("pipeline"));
    println!(
        "baseline (calamine read + rust_xlsxwriter write): {bt:.2}s, {bcells} cells, {:.0} cells/s, peak RSS {} MiB",
        bcells as f64 / bt,
        bmem / 1024
    );
    println!("pipeline (iorready score, all outputs):           {pt:.2}s, {pcells} answer cells, {:.0} workbooks/s, peak RSS {} MiB", providers as f64 / pt, pmem / 1024);
    println!("pipeline / baseline: {:.2}x (target <= 2x)", pt / bt);
}
