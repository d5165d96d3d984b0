//! Value rules: how one answer, as the provider wrote it, becomes a model
//! value, stays unknown, or is kept verbatim as unrecognised.
//!
//! Order matters and is the same for every field: an exact label, then an
//! exact "unknown" token, then a label followed by free text, then an
//! unknown token followed by free text. That is why `N/A` is a value in
//! Product certification (it is one of its labels) and unknown elsewhere.

use chrono::{Datelike, NaiveDate};

use crate::model::{Country, Normalised, Parsed};
use crate::sources::CellValue;

/// Where free text may start after a recognised label: "Capped - USD 1M".
/// Only these: "No answer given" or "Yes / No" must not read as an answer.
/// The en and em dashes are the hyphen as word processors retype it.
const SEPARATORS: [&str; 7] = [" - ", " – ", " — ", " (", ",", ";", ":"];

/// Lower-case, trimmed, inner white space folded to single spaces, and
/// trailing full stops dropped: the form in which answers and labels are
/// compared.
///
/// ```
/// assert_eq!(iorready::mapping::values::fold("  Capped -  USD 1M. "), "capped - usd 1m");
/// ```
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        if word.is_ascii() {
            // Most answers are plain ASCII: lower-cased in place, without
            // the per-character Unicode case tables.
            let start = out.len();
            out.push_str(word);
            out[start..].make_ascii_lowercase();
        } else {
            out.extend(word.chars().flat_map(char::to_lowercase));
        }
    }
    while out.ends_with('.') || out.ends_with('!') {
        out.pop();
    }
    out
}

/// How the answers of one field are read: labels per value, regular
/// expressions, keyword groups and the field's unknown tokens. Labels and
/// tokens are stored folded.
#[derive(Debug, Clone, Default)]
pub struct ValueRules {
    /// (folded label, value identifier), longest label first.
    pub labels: Vec<(String, &'static str)>,
    /// Folded tokens meaning "no answer".
    pub unknown: Vec<String>,
    /// Regular expressions, matched on the folded answer (lower case).
    pub patterns: Vec<(regex::Regex, &'static str)>,
    /// Keyword groups: every word of a group must appear in the answer.
    pub keywords: Vec<(Vec<String>, &'static str)>,
}

/// How a label matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Match {
    Exact,
    Prefix,
}

impl ValueRules {
    /// Builds rules from (label, id) pairs and unknown tokens.
    pub fn new(labels: impl IntoIterator<Item = (String, &'static str)>, unknown: &[String]) -> Self {
        let mut labels: Vec<(String, &'static str)> = labels
            .into_iter()
            .map(|(l, id)| (fold(&l), id))
            .filter(|(l, _)| !l.is_empty())
            .collect();
        labels.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.0.cmp(&b.0)));
        labels.dedup();
        Self {
            labels,
            unknown: unknown.iter().map(|t| fold(t)).collect(),
            patterns: Vec::new(),
            keywords: Vec::new(),
        }
    }

    fn matches(&self, answer: &str, label: &str) -> Option<Match> {
        if answer == label {
            return Some(Match::Exact);
        }
        let rest = answer.strip_prefix(label)?;
        if SEPARATORS.iter().any(|s| rest.starts_with(s)) {
            Some(Match::Prefix)
        } else {
            None
        }
    }

    /// The value identifier for a folded answer, or whether it is unknown.
    /// In order: an exact label, an exact unknown token, a label followed by
    /// free text (longest label first), a regular expression, a keyword
    /// group, an unknown token followed by free text.
    pub fn classify(&self, folded: &str) -> Normalised<&'static str> {
        if folded.is_empty() {
            return Normalised::Unknown;
        }
        let label = |wanted: Match| {
            self.labels
                .iter()
                .find(|(l, _)| self.matches(folded, l) == Some(wanted))
                .map(|(_, id)| *id)
        };
        let unknown = |wanted: Match| self.unknown.iter().any(|t| self.matches(folded, t) == Some(wanted));
        if let Some(id) = label(Match::Exact) {
            return Normalised::Known(id);
        }
        if unknown(Match::Exact) {
            return Normalised::Unknown;
        }
        if let Some(id) = label(Match::Prefix) {
            return Normalised::Known(id);
        }
        if let Some((_, id)) = self.patterns.iter().find(|(re, _)| re.is_match(folded)) {
            return Normalised::Known(id);
        }
        if let Some((_, id)) = self
            .keywords
            .iter()
            .find(|(words, _)| words.iter().all(|w| folded.contains(w.as_str())))
        {
            return Normalised::Known(id);
        }
        if unknown(Match::Prefix) {
            return Normalised::Unknown;
        }
        Normalised::Unrecognised
    }

    /// True when the folded text is blank or an unknown token.
    pub fn is_unknown(&self, folded: &str) -> bool {
        folded.is_empty() || self.unknown.iter().any(|t| self.matches(folded, t).is_some())
    }
}

/// Reads an enumerated answer.
pub fn parse_enum(cell: Option<&CellValue>, rules: &ValueRules) -> Normalised<Parsed> {
    let Some(cell) = cell else {
        return Normalised::Unknown;
    };
    match rules.classify(&fold(&cell.display())) {
        Normalised::Known(id) => Normalised::Known(Parsed::Enum(id)),
        Normalised::Unknown => Normalised::Unknown,
        Normalised::Unrecognised => Normalised::Unrecognised,
    }
}

/// Reads a yes/no answer; TRUE/FALSE cells count too. `rules` holds the
/// labels `yes` and `no`.
pub fn parse_yes_no(cell: Option<&CellValue>, rules: &ValueRules) -> Normalised<Parsed> {
    match cell {
        None => Normalised::Unknown,
        Some(CellValue::Bool(b)) => Normalised::Known(Parsed::Bool(*b)),
        Some(c) => match rules.classify(&fold(&c.display())) {
            Normalised::Known(id) => Normalised::Known(Parsed::Bool(id == "yes")),
            Normalised::Unknown => Normalised::Unknown,
            Normalised::Unrecognised => Normalised::Unrecognised,
        },
    }
}

/// Words that may stand before a number ("approx. 12").
const NUMBER_PREFIXES: [&str; 14] = [
    "approximately",
    "approx.",
    "approx",
    "about",
    "around",
    "circa",
    "ca.",
    "c.",
    "~",
    ">=",
    ">",
    "at least",
    "more than",
    "over",
];

/// Units that may follow a number ("12 shipments", "5 days").
const NUMBER_UNITS: [&str; 15] = [
    "business days",
    "working days",
    "calendar days",
    "days",
    "day",
    "shipments",
    "shipment",
    "imports",
    "import",
    "countries",
    "country",
    "markets",
    "entries",
    "times",
    "x",
];

/// Reads a whole number >= 0: number cells, or text such as `12`,
/// `approx. 12`, `about 12`, `~12`, `12+`, `1,200`; the `zero` tokens
/// (`none`) mean 0. Ranges and fractions are not guessed.
pub fn parse_whole_number(cell: Option<&CellValue>, zero: &[String], unknown: &ValueRules) -> Normalised<Parsed> {
    let Some(cell) = cell else {
        return Normalised::Unknown;
    };
    if let CellValue::Number(n) = cell {
        return whole(*n).map_or(Normalised::Unrecognised, |n| Normalised::Known(Parsed::Number(n)));
    }
    let folded = fold(&cell.display());
    if zero.iter().any(|z| fold(z) == folded) {
        return Normalised::Known(Parsed::Number(0));
    }
    if unknown.is_unknown(&folded) {
        return Normalised::Unknown;
    }
    let mut rest = folded.as_str();
    for p in NUMBER_PREFIXES {
        if let Some(r) = rest.strip_prefix(p) {
            rest = r.trim_start();
            break;
        }
    }
    let digits_end = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == ','))
        .map_or(rest.len(), |(i, _)| i);
    let (digits, mut tail) = rest.split_at(digits_end);
    // "42.0" and "42.00" are whole numbers written by a spreadsheet.
    if let Some(zeros) = tail.strip_prefix('.') {
        let n = zeros.chars().take_while(|c| *c == '0').count();
        if n > 0 && !zeros[n..].starts_with(|c: char| c.is_ascii_digit()) {
            tail = &zeros[n..];
        }
    }
    if digits.is_empty() || digits.starts_with(',') || digits.ends_with(',') {
        return Normalised::Unrecognised;
    }
    tail = tail.trim_start();
    tail = tail.strip_prefix('+').unwrap_or(tail).trim();
    if !(tail.is_empty() || NUMBER_UNITS.contains(&tail)) {
        return Normalised::Unrecognised;
    }
    // Thousands separators must group by three ("1,200"), else "1,2" could
    // be a decimal comma.
    let groups: Vec<&str> = digits.split(',').collect();
    if groups.len() > 1 && groups[1..].iter().any(|g| g.len() != 3) {
        return Normalised::Unrecognised;
    }
    match digits.replace(',', "").parse::<u32>() {
        Ok(n) => Normalised::Known(Parsed::Number(n)),
        Err(_) => Normalised::Unrecognised,
    }
}

fn whole(n: f64) -> Option<u32> {
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX)).then_some(n as u32)
}

/// Reads a date: date cells, or text in one of `formats` (chrono syntax,
/// tried in order, so day-first formats come first where that is the
/// convention).
pub fn parse_date(cell: Option<&CellValue>, formats: &[String], unknown: &ValueRules) -> Normalised<Parsed> {
    let Some(cell) = cell else {
        return Normalised::Unknown;
    };
    if let Some(d) = cell.as_date() {
        return Normalised::Known(Parsed::Date(d));
    }
    let text = cell.display();
    let trimmed = text.trim();
    if unknown.is_unknown(&fold(trimmed)) {
        return Normalised::Unknown;
    }
    for f in formats {
        if let Ok(d) = NaiveDate::parse_from_str(trimmed, f) {
            // chrono's %Y takes "25" as the year 25: a two-digit year is not
            // guessed.
            if !(1900..2200).contains(&d.year()) {
                return Normalised::Unrecognised;
            }
            return Normalised::Known(Parsed::Date(d));
        }
    }
    // "2025-03-14 00:00:00" and "2025-03-14T00:00:00" from exports.
    if let Some(head) = trimmed.get(..10) {
        let tail = &trimmed[10..];
        if (tail.starts_with(' ') || tail.starts_with('T')) && tail[1..].contains(':') {
            if let Ok(d) = NaiveDate::parse_from_str(head, "%Y-%m-%d") {
                return Normalised::Known(Parsed::Date(d));
            }
        }
    }
    Normalised::Unrecognised
}

/// Reads a country from its name, code, or one of the mapping's aliases
/// (folded, so `ÖSTERREICH` matches `Österreich`).
pub fn parse_country(
    cell: Option<&CellValue>,
    aliases: &[(String, Country)],
    unknown: &ValueRules,
) -> Normalised<Parsed> {
    let Some(cell) = cell else {
        return Normalised::Unknown;
    };
    let text = cell.display();
    // An ISO code first: "NA" is Namibia here, not "no answer".
    if let Some(c) = Country::from_code(text.trim()) {
        return Normalised::Known(Parsed::Country(c));
    }
    let folded = fold(&text);
    if unknown.is_unknown(&folded) {
        return Normalised::Unknown;
    }
    if let Some((_, c)) = aliases.iter().find(|(a, _)| *a == folded) {
        return Normalised::Known(Parsed::Country(*c));
    }
    match Country::lookup(&folded) {
        Some(c) => Normalised::Known(Parsed::Country(c)),
        None => Normalised::Unrecognised,
    }
}

/// Reads free text; unknown tokens (`N/A`) mean no answer.
pub fn parse_text(cell: Option<&CellValue>, unknown: &ValueRules) -> Normalised<Parsed> {
    let Some(cell) = cell else {
        return Normalised::Unknown;
    };
    let text = cell.display();
    if unknown.is_unknown(&fold(&text)) {
        return Normalised::Unknown;
    }
    Normalised::Known(Parsed::Text(text.trim().to_owned()))
}

/// Reads a list separated by `;` or line breaks.
pub fn parse_list(cell: Option<&CellValue>, unknown: &ValueRules) -> Normalised<Parsed> {
    let Some(cell) = cell else {
        return Normalised::Unknown;
    };
    let text = cell.display();
    let items: Vec<String> = text
        .split([';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty() && !unknown.is_unknown(&fold(s)))
        .map(str::to_owned)
        .collect();
    if items.is_empty() {
        Normalised::Unknown
    } else {
        Normalised::Known(Parsed::List(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_lowers_every_letter_and_collapses_spaces_ascii_or_not() {
        assert_eq!(fold("  Capped -\tUSD 1M!. "), "capped - usd 1m");
        assert_eq!(fold("ÖSTERREICH  Česko SCHWEIZ"), "österreich česko schweiz");
        assert_eq!(fold(" . "), "");
    }

    fn text(s: &str) -> Option<&'static CellValue> {
        Some(Box::leak(Box::new(CellValue::Text(s.to_owned()))))
    }

    fn unknown() -> ValueRules {
        ValueRules::new([], &["-".into(), "n/a".into(), "unknown".into()])
    }

    fn liability() -> ValueRules {
        ValueRules::new(
            [
                ("Full".into(), "full"),
                ("Capped".into(), "capped"),
                ("None".into(), "none"),
            ],
            &["-".into(), "n/a".into(), "unknown".into()],
        )
    }

    #[test]
    fn enum_answers_ignore_case_and_surrounding_spaces() {
        assert_eq!(
            parse_enum(text("  cAPPED "), &liability()),
            Normalised::Known(Parsed::Enum("capped"))
        );
    }

    #[test]
    fn enum_answers_may_carry_free_text_after_a_separator() {
        for s in [
            "Capped - USD 1M per shipment",
            "Capped (USD 1M)",
            "Capped, USD 1M",
            "Capped; 1M",
            "Capped: 1M",
        ] {
            assert_eq!(
                parse_enum(text(s), &liability()),
                Normalised::Known(Parsed::Enum("capped")),
                "{s}"
            );
        }
    }

    #[test]
    fn the_longest_matching_label_wins() {
        let r = ValueRules::new(
            [
                ("Partner".into(), "contracted_partner"),
                ("Partner sourced on demand".into(), "on_demand_partner"),
            ],
            &[],
        );
        assert_eq!(
            parse_enum(text("Partner sourced on demand - Asia"), &r),
            Normalised::Known(Parsed::Enum("on_demand_partner"))
        );
    }

    #[test]
    fn unknown_tokens_and_blanks_are_unknown() {
        for s in ["", "  ", "-", "N/A", "n/a", "UNKNOWN", "Unknown - ask"] {
            assert_eq!(parse_enum(text(s), &liability()), Normalised::Unknown, "{s:?}");
        }
        assert_eq!(parse_enum(None, &liability()), Normalised::Unknown);
    }

    #[test]
    fn a_label_that_is_also_an_unknown_token_wins_as_a_label() {
        let r = ValueRules::new([("N/A".into(), "not_applicable")], &["n/a".into()]);
        assert_eq!(
            parse_enum(text("N/A"), &r),
            Normalised::Known(Parsed::Enum("not_applicable"))
        );
    }

    #[test]
    fn other_answers_are_unrecognised() {
        assert_eq!(parse_enum(text("Fullish"), &liability()), Normalised::Unrecognised);
        assert_eq!(parse_enum(text("Depends"), &liability()), Normalised::Unrecognised);
    }

    #[test]
    fn yes_no_accepts_letters_words_and_trailing_text() {
        let r = ValueRules::new(
            [
                ("yes".into(), "yes"),
                ("y".into(), "yes"),
                ("no".into(), "no"),
                ("n".into(), "no"),
            ],
            &["n/a".into(), "-".into()],
        );
        for (s, want) in [
            ("Yes", true),
            ("y", true),
            ("N", false),
            ("NO", false),
            ("Yes - via partners", true),
            ("Yes, via partners", true),
        ] {
            assert_eq!(parse_yes_no(text(s), &r), Normalised::Known(Parsed::Bool(want)), "{s}");
        }
        assert_eq!(parse_yes_no(text("N/A"), &r), Normalised::Unknown);
        assert_eq!(parse_yes_no(text("Nope"), &r), Normalised::Unrecognised);
        assert_eq!(
            parse_yes_no(Some(&CellValue::Bool(true)), &r),
            Normalised::Known(Parsed::Bool(true))
        );
    }

    #[test]
    fn free_text_needs_one_of_the_listed_separators() {
        let r = ValueRules::new(
            [("yes".into(), "yes"), ("no".into(), "no"), ("n".into(), "no")],
            &["n/a".into()],
        );
        for s in ["No answer given", "Yes / No", "N / A", "Yes via partners"] {
            assert_eq!(parse_yes_no(text(s), &r), Normalised::Unrecognised, "{s}");
        }
        assert_eq!(
            parse_enum(text("Full / Capped"), &liability()),
            Normalised::Unrecognised
        );
    }

    #[test]
    fn whole_numbers_accept_hedged_text() {
        let zero = vec!["none".to_owned()];
        for (s, n) in [
            ("42.0", 42),
            ("12", 12),
            ("approx. 12", 12),
            ("about 12", 12),
            ("~12", 12),
            ("12+", 12),
            ("None", 0),
            ("1,200", 1200),
            ("5 days", 5),
        ] {
            assert_eq!(
                parse_whole_number(text(s), &zero, &unknown()),
                Normalised::Known(Parsed::Number(n)),
                "{s}"
            );
        }
        assert_eq!(
            parse_whole_number(Some(&CellValue::Number(7.0)), &zero, &unknown()),
            Normalised::Known(Parsed::Number(7))
        );
    }

    #[test]
    fn whole_numbers_do_not_guess_ranges_fractions_or_negatives() {
        let zero = vec!["none".to_owned()];
        for s in ["10-15", "1,5", "lots", "12 or so"] {
            assert_eq!(
                parse_whole_number(text(s), &zero, &unknown()),
                Normalised::Unrecognised,
                "{s}"
            );
        }
        assert_eq!(
            parse_whole_number(Some(&CellValue::Number(2.5)), &zero, &unknown()),
            Normalised::Unrecognised
        );
        assert_eq!(
            parse_whole_number(Some(&CellValue::Number(-1.0)), &zero, &unknown()),
            Normalised::Unrecognised
        );
        assert_eq!(parse_whole_number(text("-"), &zero, &unknown()), Normalised::Unknown);
    }

    #[test]
    fn dates_accept_date_cells_and_three_text_forms() {
        let formats: Vec<String> = ["%Y-%m-%d", "%d/%m/%Y", "%d %B %Y"].map(String::from).to_vec();
        let want = Normalised::Known(Parsed::Date(NaiveDate::from_ymd_opt(2025, 3, 14).unwrap()));
        for s in [
            "2025-03-14",
            "14/03/2025",
            "14 March 2025",
            "14 march 2025",
            "2025-03-14 00:00:00",
        ] {
            assert_eq!(parse_date(text(s), &formats, &unknown()), want, "{s}");
        }
        let cell = CellValue::Date(
            NaiveDate::from_ymd_opt(2025, 3, 14)
                .unwrap()
                .and_time(chrono::NaiveTime::MIN),
        );
        assert_eq!(parse_date(Some(&cell), &formats, &unknown()), want);
        assert_eq!(
            parse_date(text("03/14/2025"), &formats, &unknown()),
            Normalised::Unrecognised
        );
        assert_eq!(parse_date(text("soon"), &formats, &unknown()), Normalised::Unrecognised);
        for s in ["14/03/25", "25-03-14"] {
            assert_eq!(
                parse_date(text(s), &formats, &unknown()),
                Normalised::Unrecognised,
                "{s}: two-digit year"
            );
        }
    }

    #[test]
    fn countries_accept_names_codes_and_aliases() {
        let aliases = vec![(fold("Österreich"), Country::from_alpha2("AT").unwrap())];
        let at = Normalised::Known(Parsed::Country(Country::from_alpha2("AT").unwrap()));
        for s in ["Austria", "AT", "aut", "ÖSTERREICH", " österreich "] {
            assert_eq!(parse_country(text(s), &aliases, &unknown()), at, "{s}");
        }
        assert_eq!(
            parse_country(text("Narnia"), &aliases, &unknown()),
            Normalised::Unrecognised
        );
    }

    #[test]
    fn an_iso_code_wins_over_an_unknown_token_and_punctuation_is_not_a_code() {
        let unknown = ValueRules::new([], &["na".into(), "n/a".into()]);
        let na = Normalised::Known(Parsed::Country(Country::from_alpha2("NA").unwrap()));
        assert_eq!(parse_country(text("NA"), &[], &unknown), na);
        assert_eq!(parse_country(text("N/A"), &[], &unknown), Normalised::Unknown);
        assert_eq!(parse_country(text("N.A."), &[], &unknown), Normalised::Unrecognised);
    }

    #[test]
    fn english_names_with_accents_or_curly_apostrophes_are_countries() {
        for (s, code) in [("Curaçao", "CW"), ("Réunion", "RE"), ("Côte d’Ivoire", "CI")] {
            match parse_country(text(s), &[], &unknown()) {
                Normalised::Known(Parsed::Country(c)) => assert_eq!(c.alpha2(), code, "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
    }

    #[test]
    fn lists_split_on_semicolons_and_line_breaks() {
        assert_eq!(
            parse_list(text("LIC-1; LIC-2\nLIC-3;"), &unknown()),
            Normalised::Known(Parsed::List(vec!["LIC-1".into(), "LIC-2".into(), "LIC-3".into()]))
        );
        assert_eq!(parse_list(text("N/A"), &unknown()), Normalised::Unknown);
    }
}
