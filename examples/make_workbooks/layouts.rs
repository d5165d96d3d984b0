//! The same answers in the other layouts that mapping files can read, worded
//! the way providers word them: an RFP matrix (questions down, countries
//! across), one sheet per country, and a sourcing tool's export holding
//! several providers with a two-row header. Each has its mapping in
//! `mappings/`; scoring them gives exactly the results of the reference
//! workbooks they were made from.

use std::path::Path;

use iorready::sources::CellValue;
use iorready::template::Questionnaire;
use rust_xlsxwriter::{Format, Workbook, Worksheet};

/// Another provider's words for the reference answers.
fn reword(answer: &str) -> String {
    let other = match answer {
        "Yes" => "Y",
        "No" => "N",
        "Own entity" => "Own local company",
        "Contracted partner" => "Exclusive partner under contract",
        "Partner sourced on demand" => "Partner found on demand",
        "Forwarding only" => "Freight forwarding only",
        "Not offered" => "No service",
        "Provider is IOR" => "We act as IOR",
        "Local partner is IOR" => "Partner acts as IOR",
        "Client is IOR" => "Customer acts as IOR",
        "Full" => "Unlimited",
        "Capped" => "Limited",
        "None" => "No liability",
        "Defined and repeatable" => "Established procedure",
        "Case by case" => "Assessed per shipment",
        "Undefined" => "Not yet defined",
        "Provider handles" => "We obtain certificates",
        "Client must hold" => "Customer provides certificates",
        "Not applicable" => "Not required",
        "Provider prefunds" => "We pre-finance",
        "Client prepays" => "Customer pays in advance",
        "Client recovers" => "Customer reclaims",
        "Rebilled by provider" => "Recharged at cost",
        "Not recoverable" => "Lost",
        "Verified" => "Audited by customer",
        "Documented" => "Docs on file",
        "Self-declared" => "Own statement",
        other => other,
    };
    other.to_owned()
}

/// A reference cell as the other layout writes it: words changed, whole
/// numbers as "12 shipments"-style text in the given unit, dates as
/// `dd.mm.yyyy` text.
fn as_text(cell: &Option<CellValue>, unit: &str) -> Option<String> {
    match cell {
        None => None,
        Some(CellValue::Text(s)) => Some(reword(s)),
        Some(CellValue::Number(n)) if unit.is_empty() => Some(format!("{n}")),
        Some(CellValue::Number(n)) => Some(format!("{n} {unit}")),
        Some(CellValue::Date(d)) => Some(d.format("%d.%m.%Y").to_string()),
        Some(other) => Some(other.display()),
    }
}

/// The unit the other layouts write after a whole number in column `col`.
fn unit(col: usize) -> &'static str {
    match col {
        9 => "shipments",
        15 => "days",
        _ => "",
    }
}

/// The questions as an RFP matrix words them, with ids.
const QUESTIONS: [(&str, &str); 19] = [
    ("Q0", "Country"),
    ("Q1", "Do you cover this country?"),
    ("Q2", "How do you operate in this country?"),
    ("Q3", "Who acts as importer of record?"),
    ("Q4", "Liability accepted as IOR"),
    ("Q5", "Name of local entity"),
    ("Q6", "Company registration number"),
    ("Q7", "Import licences held"),
    ("Q8", "Licence valid until"),
    ("Q9", "IOR imports performed in the last 24 months"),
    ("Q10", "Date of most recent IOR import"),
    ("Q11", "Customs / regulatory route"),
    ("Q12", "Who handles product certification?"),
    ("Q13", "Funding of duties and taxes"),
    ("Q14", "Import VAT treatment"),
    ("Q15", "Typical lead time"),
    ("Q16", "Evidence provided"),
    ("Q17", "Evidence reference"),
    ("Q18", "Remarks"),
];

/// Local names the matrix uses for some countries.
fn header_name(english: &str) -> String {
    match english {
        "Germany" => "Deutschland",
        "Spain" => "España",
        "Mexico" => "México",
        "Brazil" => "Brasil",
        "United Kingdom" => "UK",
        "United States" => "USA",
        "United Arab Emirates" => "UAE",
        other => other,
    }
    .to_owned()
}

fn text_of(cell: &Option<CellValue>) -> String {
    cell.as_ref().map(CellValue::display).unwrap_or_default()
}

fn cover(wb: &mut Workbook, q: &Questionnaire) -> anyhow::Result<()> {
    let ws = wb.add_worksheet();
    ws.set_name("Cover")?;
    ws.write_string_with_format(
        0,
        0,
        "Importer of record services: RFP response",
        &Format::new().set_bold(),
    )?;
    let labels = [
        "Company",
        "Registered as",
        "Contact",
        "E-mail",
        "Submitted on",
        "Countries served",
    ];
    for (i, (label, value)) in labels.iter().zip(&q.provider).enumerate() {
        let row = i as u32 + 2;
        ws.write_string(row, 1, *label)?;
        if let Some(v) = as_text(value, "") {
            ws.write_string(row, 2, v)?;
        }
    }
    Ok(())
}

/// An RFP matrix: questions down the rows (id in A, text in B), countries
/// across, provider details in fixed cells of a cover sheet.
pub fn matrix(q: &Questionnaire, path: &Path) -> anyhow::Result<()> {
    let mut wb = Workbook::new();
    cover(&mut wb, q)?;
    let ws = wb.add_worksheet();
    ws.set_name("RFP Response")?;
    let bold = Format::new().set_bold();
    ws.write_string_with_format(0, 0, "Section C: country capability", &bold)?;
    ws.write_string_with_format(2, 0, "ID", &bold)?;
    ws.write_string_with_format(2, 1, "Question", &bold)?;
    for (c, row) in q.rows.iter().enumerate() {
        let name = header_name(&text_of(&row[0]));
        ws.write_string_with_format(2, c as u16 + 2, name, &bold)?;
    }
    for (i, (id, question)) in QUESTIONS.iter().enumerate().skip(1) {
        let r = i as u32 + 2;
        ws.write_string(r, 0, *id)?;
        ws.write_string(r, 1, *question)?;
        for (c, row) in q.rows.iter().enumerate() {
            if let Some(v) = as_text(row.get(i).unwrap_or(&None), unit(i)) {
                ws.write_string(r, c as u16 + 2, v)?;
            }
        }
    }
    ws.set_column_width(1, 44)?;
    wb.save(path)?;
    Ok(())
}

/// One sheet per country, named "DE - Germany", questions by id in A and
/// text in B, answers in C; no provider details in the workbook.
pub fn country_sheets(q: &Questionnaire, path: &Path) -> anyhow::Result<()> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("About")?;
    ws.write_string(0, 0, "One sheet per country. Answers in column C.")?;
    for row in &q.rows {
        let name = text_of(&row[0]);
        let code = iorready::model::Country::lookup(&name)
            .map(|c| c.alpha2())
            .unwrap_or("??");
        let ws: &mut Worksheet = wb.add_worksheet();
        ws.set_name(format!("{code} - {}", name.chars().take(20).collect::<String>()))?;
        ws.write_string(0, 0, "ID")?;
        ws.write_string(0, 1, "Question")?;
        ws.write_string(0, 2, "Answer")?;
        for (i, (id, question)) in QUESTIONS.iter().enumerate().skip(1) {
            let r = i as u32;
            ws.write_string(r, 0, *id)?;
            ws.write_string(r, 1, *question)?;
            if let Some(v) = as_text(row.get(i).unwrap_or(&None), unit(i)) {
                ws.write_string(r, 2, v)?;
            }
        }
    }
    wb.save(path)?;
    Ok(())
}

/// Group headings over the export's columns (two-row header).
const GROUPS: [(&str, usize, usize); 4] = [
    ("Supplier", 0, 2),
    ("IOR capability", 3, 15),
    ("Compliance and costs", 16, 19),
    ("Evidence", 20, 21),
];

/// A sourcing tool's export: several providers, one row per provider and
/// country, a two-row header (group headings merged above), and the
/// evidence level left blank where a reference was given (the mapping
/// derives it).
pub fn sourcing_export(providers: &[&Questionnaire], path: &Path) -> anyhow::Result<()> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Export")?;
    let bold = Format::new().set_bold();
    for (title, first, last) in GROUPS {
        ws.merge_range(0, first as u16, 0, last as u16, title, &bold)?;
    }
    // Supplier, Submitted, Countries claimed, then the reference columns
    // with the export's own headers.
    let headers = [
        "Name",
        "Submitted",
        "Countries claimed",
        "Market",
        "Coverage",
        "Model",
        "IOR",
        "Liability",
        "Entity",
        "Registration",
        "Licences",
        "Licence expiry",
        "Operating model notes",
        "Shipments (24m)",
        "Last shipment",
        "Regulatory route",
        "Certification",
        "Duties",
        "VAT",
        "Lead time",
        "Level",
        "Reference",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *h, &bold)?;
    }
    // Reference column (0-18) for each export column from 3 on; the notes
    // column carries the comments.
    let columns: [usize; 19] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 18, 9, 10, 11, 12, 13, 14, 15, 16, 17];
    let mut r = 2u32;
    for q in providers {
        for row in &q.rows {
            ws.write_string(r, 0, text_of(&q.provider[0]))?;
            if let Some(CellValue::Date(d)) = &q.provider[4] {
                ws.write_string(r, 1, d.format("%d.%m.%Y").to_string())?;
            }
            if let Some(v) = as_text(&q.provider[5], "") {
                ws.write_string(r, 2, v)?;
            }
            for (k, reference) in columns.iter().enumerate() {
                let cell = row.get(*reference).unwrap_or(&None);
                let value = as_text(cell, unit(*reference));
                // Evidence left blank where a reference says it is documented.
                let derived = *reference == 16
                    && text_of(cell) == "Documented"
                    && !text_of(row.get(17).unwrap_or(&None)).is_empty();
                if let (Some(v), false) = (value, derived) {
                    ws.write_string(r, k as u16 + 3, v)?;
                }
            }
            r += 1;
        }
    }
    wb.save(path)?;
    Ok(())
}

/// A JSON value for a reference cell in an ERP export: words changed, numbers
/// as numbers, dates as ISO strings, yes/no as booleans, licence lists as
/// arrays; blank cells are left out.
fn json_value(cell: &Option<CellValue>, col: usize) -> Option<serde_json::Value> {
    use serde_json::Value;
    match cell {
        None => None,
        Some(CellValue::Text(s)) if col == 1 => Some(Value::Bool(s == "Yes")),
        Some(CellValue::Text(s)) if col == 7 => Some(Value::Array(
            s.split(';').map(|p| Value::String(p.trim().to_owned())).collect(),
        )),
        Some(CellValue::Text(s)) => Some(Value::String(reword(s))),
        Some(CellValue::Number(n)) => serde_json::Number::from_f64(*n).map(Value::Number),
        Some(CellValue::Date(d)) => Some(Value::String(d.format("%Y-%m-%d").to_string())),
        Some(other) => Some(Value::String(other.display())),
    }
}

/// The keys of a country object in the ERP export, per reference column.
const RECORD_KEYS: [&str; 19] = [
    "/country",
    "/covered",
    "/model",
    "/importerOfRecord",
    "/liability",
    "/entity/name",
    "/entity/registration",
    "/licences",
    "/licenceExpiry",
    "/shipments24m",
    "/lastShipment",
    "/route",
    "/certification",
    "/duties",
    "/vat",
    "/leadTimeDays",
    "/evidence/level",
    "/evidence/reference",
    "/notes",
];

/// Sets `value` at a JSON pointer of one or two levels, creating objects.
fn put_json(object: &mut serde_json::Value, pointer: &str, value: serde_json::Value) {
    let mut parts = pointer.trim_start_matches('/').split('/').peekable();
    let mut at = object;
    while let Some(key) = parts.next() {
        if parts.peek().is_none() {
            at[key] = value;
            return;
        }
        if at.get(key).is_none() {
            at[key] = serde_json::json!({});
        }
        at = &mut at[key];
    }
}

/// An ERP's supplier export: JSON records, one per supplier, each with its
/// questionnaire details and a list of country answers; countries as ISO
/// codes.
pub fn erp_records(providers: &[&Questionnaire], path: &Path) -> anyhow::Result<()> {
    use serde_json::{json, Value};
    let suppliers: Vec<Value> = providers
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let countries: Vec<Value> = q
                .rows
                .iter()
                .map(|row| {
                    let mut object = json!({});
                    for (col, key) in RECORD_KEYS.iter().enumerate() {
                        let cell = row.get(col).unwrap_or(&None);
                        let value = if col == 0 {
                            let name = text_of(cell);
                            iorready::model::Country::lookup(&name).map(|c| Value::String(c.alpha2().to_owned()))
                        } else {
                            json_value(cell, col)
                        };
                        if let Some(v) = value {
                            put_json(&mut object, key, v);
                        }
                    }
                    object
                })
                .collect();
            let date = match &q.provider[4] {
                Some(CellValue::Date(d)) => Value::String(d.format("%Y-%m-%d").to_string()),
                _ => Value::Null,
            };
            let claimed = match &q.provider[5] {
                Some(CellValue::Number(n)) => json!(*n as u64),
                _ => Value::Null,
            };
            json!({
                "id": format!("SUP-{:03}", i + 1),
                "supplier": {
                    "name": text_of(&q.provider[0]),
                    "legalName": text_of(&q.provider[1]),
                    "questionnaire": { "submittedOn": date, "countriesServed": claimed }
                },
                "iorCountries": countries,
            })
        })
        .collect();
    let doc = json!({ "exportedAt": "2026-10-05T10:00:00Z", "suppliers": suppliers });
    std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
    Ok(())
}
