//! Helpers for the integration tests: run the real binary, read outputs
//! back with independent readers (calamine for cells, the zip for notes).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled example workbooks.
pub fn examples() -> PathBuf {
    root().join("examples/workbooks")
}

/// A fixture file.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// The corpus of odd spreadsheets: the shared one beside the repository
/// when it is there (it may have grown), else the copy in `tests/corpus`,
/// so that a clone anywhere runs every test.
pub fn corpus() -> PathBuf {
    let shared = root().join("../shared/corpus/calamine-tests");
    if shared.is_dir() {
        shared
    } else {
        root().join("tests/corpus/calamine-tests")
    }
}

/// `iorready` with arguments, run to completion.
pub fn iorready(args: &[&str]) -> Output {
    Command::cargo_bin("iorready").unwrap().args(args).output().unwrap()
}

/// Scores `inputs` into `out` as of 2026-11-24 with a JSON result; returns
/// the process output and the parsed JSON.
pub fn score(inputs: &[&Path], out: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let json = out.join("result.json");
    let mut args: Vec<String> = vec!["score".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend([
        "--out".into(),
        out.display().to_string(),
        "--json".into(),
        json.display().to_string(),
    ]);
    args.extend(["--as-of".into(), "2026-11-24".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = iorready(&refs);
    let value = std::fs::read_to_string(&json)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(serde_json::Value::Null);
    (output, value)
}

/// The names of the providers in a JSON result, in its order.
pub fn provider_names(json: &serde_json::Value) -> Vec<String> {
    json["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The provider named `name` in a JSON result.
pub fn provider<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no provider {name}"))
}

/// Each country of provider `name` in a JSON result with its tier, in order.
pub fn tiers(json: &serde_json::Value, name: &str) -> Vec<(String, String)> {
    provider(json, name)["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["country"].as_str().unwrap().to_owned(),
                a["tier"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The assessment of `country` (alpha-2) of a JSON provider.
pub fn assessment<'a>(provider: &'a serde_json::Value, country: &str) -> &'a serde_json::Value {
    provider["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["country"] == country)
        .unwrap_or_else(|| panic!("no assessment for {country}"))
}

/// Flag codes of a JSON assessment.
pub fn flag_codes(a: &serde_json::Value) -> Vec<String> {
    a["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

fn zip_text(zip: &mut zip::ZipArchive<std::fs::File>, name: &str) -> Option<String> {
    let mut f = zip.by_name(name).ok()?;
    let mut s = String::new();
    f.read_to_string(&mut s).ok()?;
    Some(s)
}

/// Every note of an xlsx, by (sheet name, cell), read from the package
/// itself: workbook -> sheet -> its comments part.
pub fn notes(path: &Path) -> BTreeMap<(String, String), String> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let workbook = zip_text(&mut zip, "xl/workbook.xml").unwrap();
    let rels = zip_text(&mut zip, "xl/_rels/workbook.xml.rels").unwrap();
    let sheet_re = regex::Regex::new(r#"<sheet name="([^"]*)" sheetId="\d+" r:id="(rId\w+)""#).unwrap();
    let rel_re = regex::Regex::new(r#"<Relationship Id="(rId\w+)" Type="[^"]*" Target="([^"]*)""#).unwrap();
    let comment_re = regex::Regex::new(r#"(?s)<comment ref="([A-Z]+\d+)"[^>]*>(.*?)</comment>"#).unwrap();
    let text_re = regex::Regex::new(r"(?s)<t[^>]*>(.*?)</t>").unwrap();
    let targets: BTreeMap<String, String> = rel_re
        .captures_iter(&rels)
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect();
    let mut out = BTreeMap::new();
    for c in sheet_re.captures_iter(&workbook) {
        let name = unescape(&c[1]);
        let Some(target) = targets.get(&c[2]) else { continue };
        let file = target.rsplit('/').next().unwrap();
        let Some(sheet_rels) = zip_text(&mut zip, &format!("xl/worksheets/_rels/{file}.rels")) else {
            continue;
        };
        for r in rel_re.captures_iter(&sheet_rels) {
            if !r[2].contains("comments") {
                continue;
            }
            let part = format!("xl/{}", r[2].trim_start_matches("../"));
            let xml = zip_text(&mut zip, &part).unwrap();
            for cm in comment_re.captures_iter(&xml) {
                let text: String = text_re.captures_iter(&cm[2]).map(|t| unescape(&t[1])).collect();
                out.insert((name.clone(), cm[1].to_owned()), text);
            }
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A sheet of an xlsx read with calamine.
pub fn sheet(path: &Path, name: &str) -> calamine::Range<calamine::Data> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
    wb.worksheet_range(name).unwrap()
}

/// The text of a cell in A1 notation, as calamine reads it.
pub fn cell_text(range: &calamine::Range<calamine::Data>, a1: &str) -> String {
    let letters: String = a1.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let row: u32 = a1[letters.len()..].parse::<u32>().unwrap() - 1;
    let col = letters.bytes().fold(0u32, |n, b| n * 26 + u32::from(b - b'A' + 1)) - 1;
    range.get_value((row, col)).map(|v| v.to_string()).unwrap_or_default()
}

/// A SHA-like fingerprint of a file's bytes, to prove it was not modified.
pub fn fingerprint(path: &Path) -> (u64, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    (bytes.len() as u64, bytes)
}

/// A fresh client for a connector, its first stream, and a runtime to
/// read it on.
pub fn first_stream(
    c: iorready::connectors::Connector,
) -> (
    iorready::connectors::Client,
    iorready::connectors::Stream,
    tokio::runtime::Runtime,
) {
    let client = iorready::connectors::Client::new(c, iorready::connectors::Redactor::default()).unwrap();
    let stream = client.connector().streams[0].clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (client, stream, rt)
}

/// Reads a connector's first stream to its end on a fresh client; returns
/// the outcome, the requests sent and the tokens obtained.
pub fn read_connector(
    c: iorready::connectors::Connector,
) -> Result<(iorready::connectors::ReadOutcome, u64, u64), iorready::connectors::ConnectorError> {
    let (client, stream, rt) = first_stream(c);
    let out = rt.block_on(iorready::connectors::read_stream(&client, &stream, None, None))?;
    let ordering = std::sync::atomic::Ordering::Relaxed;
    Ok((out, client.requests.load(ordering), client.tokens.load(ordering)))
}

/// The first provider's assessments in a result JSON: country, score, tier
/// and flag codes of each.
pub fn assessments_of(json: &serde_json::Value) -> Vec<(String, String, String, Vec<String>)> {
    json["providers"][0]["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["country"].to_string(),
                a["score"].to_string(),
                a["tier"].to_string(),
                flag_codes(a),
            )
        })
        .collect()
}

/// Writes a reference-layout provider workbook answering for `countries`
/// (alpha-2), each with `model` as its operating model and otherwise the
/// answers of an established provider (ready unless `model` says
/// otherwise).
pub fn provider_workbook(path: &Path, name: &str, countries: &[&str], model: &str) {
    use iorready::sources::CellValue;
    let text = |s: &str| Some(CellValue::Text(s.to_owned()));
    let date =
        |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).map(|d| CellValue::Date(d.and_time(chrono::NaiveTime::MIN)));
    let rows = countries
        .iter()
        .map(|c| {
            let country = iorready::model::Country::from_alpha2(c).unwrap();
            vec![
                text(country.name()),
                text("Yes"),
                text(model),
                text("Provider is IOR"),
                text("Full"),
                text("Local Entity Ltd"),
                text("REG-1"),
                text("LIC-1"),
                date(2027, 6, 15),
                Some(CellValue::Number(14.0)),
                date(2026, 10, 1),
                text("Defined and repeatable"),
                text("Provider handles"),
                text("Provider prefunds"),
                text("Client recovers"),
                Some(CellValue::Number(5.0)),
                text("Verified"),
                text("Ref"),
                None,
            ]
        })
        .collect();
    let q = iorready::template::Questionnaire {
        provider: [
            text(name),
            text(&format!("{name} Ltd")),
            text("Test"),
            text("test@example.com"),
            date(2026, 6, 1),
            Some(CellValue::Number(countries.len() as f64)),
        ],
        rows,
        ..Default::default()
    };
    iorready::template::write_questionnaire(path, &q).unwrap();
}
