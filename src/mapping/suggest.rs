//! `iorready mapping suggest`: a draft mapping for a workbook nobody has
//! mapped yet, made by matching its headers and answers to the fields and
//! values the known mappings already name. Every guess is marked `REVIEW`
//! in the draft, which is checked to load before it is returned.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::extract::{fold_label, label_matches};
use super::spec::Mapping;
use super::values::{fold, ValueRules};
use crate::config::Source;
use crate::model::source::{a1, column_letters};
use crate::model::{Country, Field, FieldKind, Normalised, Parsed, ProviderField};
use crate::sources::{CellValue, Sheet, Workbook};

/// How alike a header must be to a known one to be suggested.
const HEADER_MATCH: f64 = 0.88;
/// How alike an answer must be to a known label to be suggested.
const ANSWER_MATCH: f64 = 0.80;
/// Rows searched for headers.
const SEARCH_ROWS: u32 = 30;

/// A workbook no layout could be recognised in.
#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    /// Nothing looked like a table, a matrix or country sheets.
    #[error("{0}: found no table with a country column, no row of country names and no sheets named after countries; write the mapping by hand (docs/mappings.md)")]
    NoLayout(String),
    /// The draft did not load: a bug, reported rather than hidden.
    #[error("the draft mapping does not load ({0}); please report this")]
    Invalid(String),
}

/// What the known mappings name: header synonyms, value labels, provider
/// questions and country aliases.
struct Vocabulary<'m> {
    known: &'m [Mapping],
}

/// A similarity between 0 and 1 of two folded texts: 1 for equal, 0.95 for
/// a known label followed by free text, else Jaro-Winkler.
fn similarity(text: &str, known: &str) -> f64 {
    match label_matches(text, known) {
        Some(true) => 1.0,
        Some(false) => 0.95,
        None => strsim::jaro_winkler(text, known),
    }
}

/// A question id such as "Q3" or "3.1" says nothing about its field.
fn is_id(text: &str) -> bool {
    let t = text.trim_start_matches('q');
    !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.')
}

impl Vocabulary<'_> {
    /// The field a header most likely names, with the similarity.
    fn field_for(&self, text: &str) -> Option<(Field, f64, String)> {
        if text.is_empty() || is_id(text) {
            return None;
        }
        self.known
            .iter()
            .flat_map(|m| m.countries.fields.iter())
            .flat_map(|r| r.headers.iter().filter(|h| !is_id(h)).map(move |h| (r.field, h)))
            .map(|(f, h)| (f, similarity(text, h), h.clone()))
            .filter(|(_, s, _)| *s >= HEADER_MATCH)
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn provider_field_for(&self, text: &str) -> Option<(ProviderField, f64)> {
        self.known
            .iter()
            .flat_map(|m| m.provider.labels.iter())
            .flat_map(|(f, labels)| labels.iter().map(move |l| (*f, similarity(text, l))))
            .filter(|(_, s)| *s >= HEADER_MATCH)
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Every known mapping's value rules for `field`, merged.
    fn rules(&self, field: Field) -> Option<ValueRules> {
        let mut merged: Option<ValueRules> = None;
        for r in self.known.iter().filter_map(|m| m.column(field)).map(|r| &r.rules) {
            let m = merged.get_or_insert_with(|| ValueRules {
                unknown: r.unknown.clone(),
                ..ValueRules::default()
            });
            for l in &r.labels {
                if !m.labels.contains(l) {
                    m.labels.push(l.clone());
                }
            }
            for p in &r.patterns {
                if !m
                    .patterns
                    .iter()
                    .any(|(q, id)| q.as_str() == p.0.as_str() && *id == p.1)
                {
                    m.patterns.push(p.clone());
                }
            }
            for k in &r.keywords {
                if !m.keywords.contains(k) {
                    m.keywords.push(k.clone());
                }
            }
        }
        if let Some(m) = &mut merged {
            m.labels
                .sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.0.cmp(&b.0)));
        }
        merged
    }

    fn country(&self, cell: &CellValue) -> Option<Country> {
        self.known
            .iter()
            .find_map(|m| match super::extract::country_of(cell, m) {
                Normalised::Known(Parsed::Country(c)) => Some(c),
                _ => None,
            })
    }

    fn base(&self) -> Option<&Mapping> {
        self.known
            .iter()
            .find(|m| m.name == "questionnaire-v1")
            .or(self.known.first())
    }
}

/// A field found in the workbook: where, its header text, and how sure.
struct Guess {
    field: Field,
    col: u32,
    text: String,
    score: f64,
    known: String,
}

/// Matches each cell of a row to a field, best matches first, each field
/// and column once.
fn match_row(cells: &[(u32, String)], vocab: &Vocabulary<'_>) -> Vec<Guess> {
    let mut candidates: Vec<Guess> = cells
        .iter()
        .filter_map(|(col, text)| {
            vocab.field_for(&fold_label(text)).map(|(field, score, known)| Guess {
                field,
                col: *col,
                text: clean_label(text),
                score,
                known,
            })
        })
        .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out: Vec<Guess> = Vec::new();
    for g in candidates {
        if !out.iter().any(|o| o.field == g.field || o.col == g.col) {
            out.push(g);
        }
    }
    out.sort_by_key(|g| g.col);
    out
}

/// A header or question as the workbook writes it, without the trailing
/// `:` or `*` that matching ignores (and a draft must not require).
fn clean_label(text: &str) -> String {
    text.trim().trim_end_matches([':', '*', ' ']).to_owned()
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn toml_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| toml_str(s)).collect::<Vec<_>>().join(", "))
}

/// Writes a draft mapping for `wb`, learning from `known` mappings.
pub fn suggest(wb: &Workbook, known: &[Mapping]) -> Result<String, SuggestError> {
    let vocab = Vocabulary { known };
    let stem = wb
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "workbook".into());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Draft mapping suggested by `iorready mapping suggest` for {}.",
        wb.path.display()
    );
    let _ = writeln!(
        out,
        "# REVIEW: a draft, not chosen for any workbook until every REVIEW mark,\n# this one too, is gone (or it is named with --mapping). Lines marked\n# REVIEW are guesses. Check them, then try the mapping with"
    );
    let _ = writeln!(
        out,
        "# `iorready mapping check THIS_FILE {}`. Reference: docs/mappings.md\n",
        wb.path.display()
    );
    let _ = writeln!(
        out,
        "[mapping]\nname = {}\ndescription = {}\n",
        toml_str(&format!("{}-draft", crate::model::slug(&stem))),
        toml_str(&format!("Suggested from {}", stem))
    );

    // The layout: a table with a country column, else a matrix, else country sheets.
    // A table: each row read alone, and joined to the row above (a group
    // heading over a two-row header); the reading matching more wins.
    let table = wb
        .sheets
        .iter()
        .flat_map(|s| (0..SEARCH_ROWS).map(move |r| (s, r)))
        .flat_map(|(s, r)| {
            let one: Vec<(u32, String)> = s.row(r).map(|(c, v)| (c, v.display())).collect();
            // With a group heading above, each column is read joined to it
            // or alone, whichever names a field better.
            let two: Vec<(u32, String)> = one
                .iter()
                .map(|(c, t)| match r.checked_sub(1).and_then(|up| s.get_merged(up, *c)) {
                    Some((v, _)) => {
                        let joined = format!("{} {t}", v.display());
                        let score = |x: &str| vocab.field_for(&fold_label(x)).map_or(0.0, |(_, s, _)| s);
                        if score(&joined) > score(t) {
                            (*c, joined)
                        } else {
                            (*c, t.clone())
                        }
                    }
                    None => (*c, t.clone()),
                })
                .collect();
            let rows2 = if r > 0 && two != one {
                Some((s, r, 2, match_row(&two, &vocab)))
            } else {
                None
            };
            [Some((s, r, 1, match_row(&one, &vocab))), rows2].into_iter().flatten()
        })
        .filter(|(_, _, _, g)| g.len() >= 3 && g.iter().any(|x| x.field == Field::Country))
        .max_by(|a, b| {
            let score = |g: &[Guess]| g.iter().map(|x| x.score).sum::<f64>();
            score(&a.3).total_cmp(&score(&b.3)).then(b.1.cmp(&a.1))
        });
    let mut consolidated = false;
    let (body, recognise_sheets, recognise_headers, table_sheet) =
        if let Some((sheet, row, header_rows, guesses)) = table {
            let (provider_columns, columns) = provider_columns(sheet, row, header_rows, &vocab);
            consolidated = !columns.is_empty();
            let body = provider_columns + &table_body(sheet, row, header_rows, &guesses, &vocab);
            let headers: Vec<String> = guesses
                .iter()
                .filter(|g| g.score >= 1.0)
                .take(3)
                .map(|g| g.text.clone())
                .collect();
            (body, vec![sheet.name.clone()], headers, Some(sheet.name.clone()))
        } else if let Some((body, sheet, headers)) = matrix_body(wb, &vocab) {
            (body, vec![sheet.clone()], headers, Some(sheet))
        } else if let Some((body, headers)) = sheets_body(wb, &vocab) {
            (body, Vec::new(), headers, None)
        } else {
            return Err(SuggestError::NoLayout(wb.path.display().to_string()));
        };
    let _ = writeln!(
        out,
        "[recognise]\nsheets = {}\nheaders = {}\n",
        toml_list(&recognise_sheets),
        toml_list(&recognise_headers)
    );
    if let Some(base) = vocab.base() {
        let _ = writeln!(
            out,
            "[answers]\nunknown = {}\nzero = {}\ndate_formats = {}\n",
            toml_list(&base.unknown.unknown),
            toml_list(&base.zero),
            toml_list(&base.date_formats)
        );
    }
    if !consolidated {
        out.push_str(&provider_body(wb, table_sheet.as_deref(), &vocab));
    }
    out.push_str(&body);
    out.push_str(&aliases_body(&vocab));
    // Say so when a known mapping already reads this workbook fully.
    for m in known {
        let recognised = super::choose::MappingSet::from_one(m.clone()).choose(wb).is_ok();
        if recognised && super::check::check(m, wb).passed() {
            out.insert_str(
                0,
                &format!(
                    "# NOTE: the mapping '{}' already reads this workbook (iorready mapping check shows it);\n# a new mapping may not be needed. Kept beside it, this draft must be told apart in [recognise].\n",
                    m.name
                ),
            );
            break;
        }
    }
    let src = Source::new("<suggested mapping>", out.as_str());
    Mapping::from_source(&src).map_err(|e| SuggestError::Invalid(e.to_string()))?;
    Ok(out)
}

/// The answers found in a column (or row) of cells, distinct, in order.
fn distinct(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for v in values {
        let t = v.trim().to_owned();
        if !t.is_empty() && !seen.iter().any(|s| fold(s) == fold(&t)) {
            seen.push(t);
        }
    }
    seen
}

/// The `[countries.fields.X]` section of one field: its header, and for
/// enumerated fields the labels its answers need.
fn field_section(
    field: Field,
    header: &str,
    reviewed: Option<(f64, &str)>,
    answers: &[String],
    vocab: &Vocabulary<'_>,
) -> String {
    let mut s = format!("[countries.fields.{}]\n", field.id());
    if let Some((score, known)) = reviewed {
        let _ = writeln!(
            s,
            "# REVIEW: header {} taken for `{}` (like {}, similarity {score:.2})",
            toml_str(header),
            field.id(),
            toml_str(known)
        );
    }
    let _ = writeln!(s, "headers = [{}]", toml_str(header));
    // The base mapping's own tokens for this field, where it has them.
    if let Some((base, rule)) = vocab.base().and_then(|b| b.column(field).map(|r| (b, r))) {
        if rule.rules.unknown != base.unknown.unknown {
            let _ = writeln!(s, "unknown = {}", toml_list(&rule.rules.unknown));
        }
        if field.kind() == FieldKind::WholeNumber && rule.zero != base.zero {
            let _ = writeln!(s, "zero = {}", toml_list(&rule.zero));
        }
    }
    let enumerated = matches!(field.kind(), FieldKind::Enum(_) | FieldKind::YesNo);
    let Some(rules) = vocab.rules(field).filter(|_| enumerated) else {
        s.push('\n');
        return s;
    };
    let mut by_value: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut unmatched = Vec::new();
    for answer in answers {
        match rules.classify(&fold(answer)) {
            // Read by the known labels, patterns or keywords, copied below.
            Normalised::Known(_) | Normalised::Unknown => {}
            Normalised::Unrecognised => {
                let best = rules
                    .labels
                    .iter()
                    .map(|(label, id)| (strsim::jaro_winkler(&fold(answer), label), label, *id))
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                match best {
                    // Commented out: a guess must not change scores until
                    // someone has looked at it.
                    Some((score, label, id)) if score >= ANSWER_MATCH => by_value.entry(id).or_default().push(format!(
                        "# {},  REVIEW: guessed from its likeness to {} ({score:.2}); uncomment if it means `{id}`",
                        toml_str(answer),
                        toml_str(label)
                    )),
                    _ => unmatched.push(answer.clone()),
                }
            }
        }
    }
    // The known labels too, so the usual wordings keep working.
    for (label, id) in &rules.labels {
        let entry = by_value.entry(id).or_default();
        let quoted = toml_str(label);
        if !entry
            .iter()
            .any(|e| fold(e.split(',').next().unwrap_or("")) == fold(&quoted))
        {
            entry.push(quoted);
        }
    }
    let mut patterns: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for (re, id) in &rules.patterns {
        patterns.entry(id).or_default().push(re.as_str().to_owned());
    }
    let mut keywords: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for (words, id) in &rules.keywords {
        keywords.entry(id).or_default().push(toml_list(words));
    }
    for (id, labels) in by_value {
        let _ = writeln!(s, "values.{id} = [");
        for l in labels {
            if l.starts_with('#') {
                let _ = writeln!(s, "  {l}");
            } else {
                let _ = writeln!(s, "  {l},");
            }
        }
        s.push_str("]\n");
    }
    for (id, list) in patterns {
        let _ = writeln!(s, "patterns.{id} = {}", toml_list(&list));
    }
    for (id, groups) in keywords {
        let _ = writeln!(s, "keywords.{id} = [{}]", groups.join(", "));
    }
    for u in unmatched {
        let _ = writeln!(
            s,
            "# REVIEW: answer {} matched no value; add it to the right values.* list",
            toml_str(&u)
        );
    }
    s.push('\n');
    s
}

/// Columns of the table that name providers (a consolidated export), as a
/// `[provider.columns]` section, and the columns.
fn provider_columns(sheet: &Sheet, row: u32, header_rows: u32, vocab: &Vocabulary<'_>) -> (String, Vec<u32>) {
    let mut found: Vec<(ProviderField, u32, String, f64)> = Vec::new();
    for (col, v) in sheet.row(row) {
        let mut text = v.display();
        if header_rows == 2 {
            if let Some((up, _)) = row.checked_sub(1).and_then(|u| sheet.get_merged(u, col)) {
                text = format!("{} {text}", up.display());
            }
        }
        let folded = fold_label(&text);
        let best = vocab
            .known
            .iter()
            .flat_map(|m| m.provider.columns.iter())
            .flat_map(|(f, headers)| headers.iter().map(|h| (*f, similarity(&folded, h))))
            .filter(|(_, s)| *s >= HEADER_MATCH)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((f, score)) = best {
            if !found.iter().any(|(g, _, _, _)| *g == f) {
                found.push((f, col, text, score));
            }
        }
    }
    if !found.iter().any(|(f, _, _, _)| *f == ProviderField::Name) {
        return (String::new(), Vec::new());
    }
    let mut s = String::from(
        "# Provider details are columns of the table: one row per provider and country.\n[provider.columns]\n",
    );
    for (field, _, text, score) in &found {
        if *score < 1.0 {
            let _ = writeln!(s, "# REVIEW: column {} taken as the provider's {field}", toml_str(text));
        }
        let _ = writeln!(s, "{field} = [{}]", toml_str(text));
    }
    s.push('\n');
    (s, found.iter().map(|(_, c, _, _)| *c).collect())
}

fn table_body(sheet: &Sheet, row: u32, header_rows: u32, guesses: &[Guess], vocab: &Vocabulary<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "[countries]\nlayout = \"table\"\nsheet = {}\nheader_rows = {header_rows}\n# The header row found: row {}.\n",
        toml_str(&sheet.name),
        row + 1
    );
    push_field_sections(&mut s, guesses, vocab, |g| {
        distinct(
            sheet
                .cells
                .iter()
                .filter(|((r, c), _)| *r > row && *c == g.col)
                .map(|(_, v)| v.display()),
        )
    });
    s
}

/// One section per guessed field, each showing the distinct answers
/// `answers_of` finds for it (see `distinct`).
fn push_field_sections(
    s: &mut String,
    guesses: &[Guess],
    vocab: &Vocabulary<'_>,
    answers_of: impl Fn(&Guess) -> Vec<String>,
) {
    for g in guesses {
        let answers = answers_of(g);
        let reviewed = (g.score < 1.0).then_some((g.score, g.known.as_str()));
        s.push_str(&field_section(g.field, &g.text, reviewed, &answers, vocab));
    }
}

/// Up to two field labels matched exactly: what recognises the layout.
fn confident_headers(guesses: &[Guess]) -> Vec<String> {
    guesses
        .iter()
        .filter(|g| g.score >= 1.0)
        .take(2)
        .map(|g| g.text.clone())
        .collect()
}

fn matrix_body(wb: &Workbook, vocab: &Vocabulary<'_>) -> Option<(String, String, Vec<String>)> {
    let (sheet, header_row, countries) = wb
        .sheets
        .iter()
        .flat_map(|s| (0..SEARCH_ROWS).map(move |r| (s, r)))
        .map(|(s, r)| {
            let cols: Vec<u32> = s
                .row(r)
                .filter(|(_, v)| vocab.country(v).is_some())
                .map(|(c, _)| c)
                .collect();
            (s, r, cols)
        })
        .filter(|(_, _, c)| c.len() >= 3)
        .max_by_key(|(_, r, c)| (c.len(), std::cmp::Reverse(*r)))?;
    let last_country = *countries.iter().max()?;
    // The question column: left of the countries, not itself a country
    // column ("ID" is also Indonesia), with the most question matches.
    let (question_col, guesses) = (0..last_country)
        .filter(|c| !countries.contains(c))
        .map(|col| {
            let cells: Vec<(u32, String)> = sheet
                .cells
                .iter()
                .filter(|((r, c), _)| *r > header_row && *c == col)
                .map(|((r, _), v)| (*r, v.display()))
                .collect();
            (col, match_row(&cells, vocab))
        })
        .max_by_key(|(_, g)| g.len())?;
    if guesses.is_empty() {
        return None;
    }
    let countries: Vec<u32> = countries.into_iter().filter(|c| *c > question_col).collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "[countries]\nlayout = \"matrix\"\nsheet = {}\nquestion_columns = [{}]\n# Countries found in row {}.\n",
        toml_str(&sheet.name),
        toml_str(&column_letters(question_col)),
        header_row + 1
    );
    // In a matrix `match_row` saw rows, not columns: `col` holds the row.
    push_field_sections(&mut s, &guesses, vocab, |g| {
        distinct(
            countries
                .iter()
                .filter_map(|c| sheet.get(g.col, *c))
                .map(CellValue::display),
        )
    });
    Some((s, sheet.name.clone(), confident_headers(&guesses)))
}

fn sheets_body(wb: &Workbook, vocab: &Vocabulary<'_>) -> Option<(String, Vec<String>)> {
    // A sheet named after a country ("Germany"), or starting with one
    // ("DE - Germany"): the country part.
    let country_part = |name: &str| -> Option<String> {
        let first = name.split_once(" - ").map(|(a, _)| a.trim());
        [Some(name.trim()), first]
            .into_iter()
            .flatten()
            .find(|p| vocab.country(&CellValue::Text((*p).to_owned())).is_some())
            .map(str::to_owned)
    };
    let parts: Vec<(&Sheet, String)> = wb
        .sheets
        .iter()
        .filter_map(|s| country_part(&s.name).map(|p| (s, p)))
        .collect();
    let country_sheets: Vec<&Sheet> = parts.iter().map(|(s, _)| *s).collect();
    if country_sheets.len() < 2 {
        return None;
    }
    let first = country_sheets[0];
    let (question_col, guesses) = (0..6)
        .map(|col| {
            let cells: Vec<(u32, String)> = first
                .cells
                .iter()
                .filter(|((_, c), _)| *c == col)
                .map(|((r, _), v)| (*r, v.display()))
                .collect();
            (col, match_row(&cells, vocab))
        })
        .max_by_key(|(_, g)| g.len())?;
    if guesses.is_empty() {
        return None;
    }
    // The answer column: right of the questions, the one with most cells.
    let answer_col =
        (question_col + 1..question_col + 6).max_by_key(|c| first.cells.keys().filter(|(_, k)| k == c).count())?;
    let names: Vec<String> = parts.iter().map(|(_, p)| regex::escape(p)).collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "[countries]\nlayout = \"sheet_per_country\"\n# REVIEW: the sheets taken as countries.\nsheet_pattern = {}\nquestion_columns = [{}]\nanswer_column = {}\n",
        toml_str(&format!("^({})(?:$| - )", names.join("|"))),
        toml_str(&column_letters(question_col)),
        toml_str(&column_letters(answer_col))
    );
    push_field_sections(&mut s, &guesses, vocab, |g| {
        distinct(
            country_sheets
                .iter()
                .filter_map(|sh| sh.get(g.col, answer_col))
                .map(CellValue::display),
        )
    });
    Some((s, confident_headers(&guesses)))
}

/// Provider details from a question/answer sheet, if one is found.
fn provider_body(wb: &Workbook, table_sheet: Option<&str>, vocab: &Vocabulary<'_>) -> String {
    let best = wb
        .sheets
        .iter()
        .filter(|s| Some(s.name.as_str()) != table_sheet)
        .flat_map(|s| (0..4u32).map(move |c| (s, c)))
        .map(|(s, col)| {
            let mut found: Vec<(ProviderField, u32, String, f64)> = Vec::new();
            for ((r, _), v) in s.cells.iter().filter(|((_, c), _)| *c == col) {
                let text = v.display();
                if let Some((f, score)) = vocab.provider_field_for(&fold_label(&text)) {
                    if !found.iter().any(|(g, _, _, _)| *g == f) {
                        found.push((f, *r, text, score));
                    }
                }
            }
            (s, col, found)
        })
        .filter(|(_, _, f)| f.len() >= 2)
        .max_by_key(|(_, _, f)| f.len());
    let Some((sheet, col, found)) = best else {
        return "# No provider details found: add [provider.cells] or [provider.constants] (docs/mappings.md).\n\n"
            .into();
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "[provider]\nsheet = {}\nlabel_column = {}\nvalue_column = {}\n\n[provider.labels]",
        toml_str(&sheet.name),
        toml_str(&column_letters(col)),
        toml_str(&column_letters(col + 1))
    );
    for (field, row, text, score) in found {
        if score < 1.0 {
            let _ = writeln!(
                s,
                "# REVIEW: {} ({}) taken as the provider's {field}",
                toml_str(&text),
                a1(row, col)
            );
        }
        let _ = writeln!(s, "{field} = [{}]", toml_str(&clean_label(&text)));
    }
    s.push('\n');
    s
}

fn aliases_body(vocab: &Vocabulary<'_>) -> String {
    let mut s = String::from("# Country names in other languages and spellings.\n[country_aliases]\n");
    let mut seen: Vec<String> = Vec::new();
    for m in vocab.known {
        for (alias, country) in &m.country_aliases {
            if !seen.contains(alias) {
                seen.push(alias.clone());
                let _ = writeln!(s, "{} = {}", toml_str(alias), toml_str(country.alpha2()));
            }
        }
    }
    s
}
