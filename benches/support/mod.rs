//! What the benchmarks share: sizes from the environment, the process's
//! peak memory, and reference-layout provider workbooks with varied answers.
#![allow(dead_code)] // each benchmark uses its own part

use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use iorready::model::Country;
use iorready::sources::CellValue;
use iorready::template::{write_questionnaire, Questionnaire};
use rayon::prelude::*;

/// `name` from the environment as a number, else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// This process's peak resident memory (VmHWM), in KiB; 0 where
/// `/proc` does not tell.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A small deterministic generator, so every run scores the same answers.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn text(s: &str) -> Option<CellValue> {
    (!s.is_empty()).then(|| CellValue::Text(s.to_owned()))
}

fn date(y: i32, m: u32, d: u32) -> Option<CellValue> {
    NaiveDate::from_ymd_opt(y, m, d).map(|d| CellValue::Date(d.and_time(chrono::NaiveTime::MIN)))
}

pub fn questionnaire(i: usize, countries: &[Country]) -> Questionnaire {
    let mut rng = Lcg(i as u64 + 1);
    let rows = countries
        .iter()
        .map(|c| {
            vec![
                text(c.name()),
                text(rng.pick(&["Yes", "Yes", "Yes - via partners", "No"])),
                text(rng.pick(&[
                    "Own entity",
                    "Contracted partner",
                    "Partner sourced on demand",
                    "Forwarding only",
                ])),
                text(rng.pick(&["Provider is IOR", "Local partner is IOR", "Client is IOR"])),
                text(rng.pick(&["Full", "Capped - USD 1M", "None", ""])),
                text("Local Entity Ltd"),
                text(rng.pick(&["REG-123", ""])),
                text("LIC-1; LIC-2"),
                date(2026 + (rng.next() % 3) as i32, 1 + (rng.next() % 12) as u32, 15),
                Some(CellValue::Number((rng.next() % 15) as f64)),
                date(2023 + (rng.next() % 4) as i32, 1 + (rng.next() % 12) as u32, 1),
                text(rng.pick(&["Defined and repeatable", "Case by case", "Undefined"])),
                text(rng.pick(&["Provider handles", "Client must hold", "N/A"])),
                text(rng.pick(&["Provider prefunds", "Client prepays"])),
                text(rng.pick(&["Client recovers", "Rebilled by provider", "Not recoverable"])),
                Some(CellValue::Number((1 + rng.next() % 30) as f64)),
                text(rng.pick(&["Self-declared", "Documented", "Verified"])),
                text("Ref"),
                text(rng.pick(&["", "Comment"])),
            ]
        })
        .collect();
    Questionnaire {
        provider: [
            text(&format!("Provider {i:04}")),
            text(&format!("Provider {i:04} Ltd")),
            text("Bench"),
            text("bench@example.com"),
            date(2026, 6, 1),
            Some(CellValue::Number(150.0)),
        ],
        rows,
        ..Questionnaire::default()
    }
}

/// Writes `providers` workbooks of the reference layout into `dir`, in
/// parallel, and says how long it took.
pub fn generate(dir: &Path, providers: usize, countries: &[Country]) {
    let t = Instant::now();
    (0..providers).into_par_iter().for_each(|i| {
        write_questionnaire(&dir.join(format!("provider-{i:04}.xlsx")), &questionnaire(i, countries)).unwrap();
    });
    println!(
        "generated {providers} workbooks x {} countries in {:.1}s on {} threads",
        countries.len(),
        t.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
}
