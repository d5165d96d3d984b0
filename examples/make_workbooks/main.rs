//! Writes the demo provider workbooks in `examples/workbooks/`: four IOR
//! providers that tell the seed article's story across a 16-country rollout.
//!
//! It also writes, in `examples/layouts/`, the same answers in the other
//! layouts mapping files can read (see `layouts.rs`).
//!
//! Run: `cargo run --example make_workbooks` (then score them with the
//! README's first command). The output is deterministic.

mod layouts;

use std::path::Path;

use chrono::NaiveDate;
use iorready::sources::CellValue;
use iorready::template::{write_questionnaire, Questionnaire};

/// A cell from a short spec: "" blank, "#12" a number, "d:2025-03-14" a date
/// cell, anything else text.
fn cell(spec: &str) -> Option<CellValue> {
    if spec.is_empty() {
        return None;
    }
    if let Some(n) = spec.strip_prefix('#') {
        return n.parse().ok().map(CellValue::Number);
    }
    if let Some(d) = spec.strip_prefix("d:") {
        return NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .ok()
            .map(|d| CellValue::Date(d.and_time(chrono::NaiveTime::MIN)));
    }
    Some(CellValue::Text(spec.to_owned()))
}

fn rows(specs: &[[&str; 19]]) -> Vec<Vec<Option<CellValue>>> {
    specs.iter().map(|r| r.iter().map(|s| cell(s)).collect()).collect()
}

fn provider(name: &str, legal: &str, who: &str, email: &str, date: &str, claimed: &str) -> [Option<CellValue>; 6] {
    [
        cell(name),
        cell(legal),
        cell(who),
        cell(email),
        cell(date),
        cell(claimed),
    ]
}

/// An established provider: own entities and contracted partners, verified
/// or documented, with real shipment history.
fn meridian() -> Questionnaire {
    Questionnaire {
        provider: provider(
            "Meridian Trade Compliance",
            "Meridian Trade Compliance B.V.",
            "Anna de Vries, Head of IOR",
            "ior@meridian.example",
            "d:2026-09-15",
            "#24",
        ),
        rows: rows(&[
            [
                "Germany",
                "Yes",
                "Own entity",
                "Provider is IOR",
                "Full",
                "Meridian TC GmbH",
                "HRB 201455",
                "DE-EORI-7781",
                "d:2028-06-30",
                "#42",
                "d:2026-10-02",
                "Defined and repeatable",
                "Provider handles",
                "Provider prefunds",
                "Client recovers",
                "#3",
                "Verified",
                "Audit 2026-07",
                "",
            ],
            [
                "France",
                "Yes",
                "Own entity",
                "Provider is IOR",
                "Full",
                "Meridian TC SAS",
                "RCS 881 204 117",
                "FR-EORI-1120",
                "d:2028-01-31",
                "#18",
                "d:2026-09-20",
                "Defined and repeatable",
                "Provider handles",
                "Provider prefunds",
                "Client recovers",
                "#4",
                "Verified",
                "Audit 2026-07",
                "",
            ],
            [
                "Netherlands",
                "Yes",
                "Own entity",
                "Provider is IOR",
                "Full",
                "Meridian Trade Compliance B.V.",
                "KvK 70112233",
                "NL-AEO-0091",
                "d:2029-03-31",
                "#55",
                "d:2026-11-01",
                "Defined and repeatable",
                "Provider handles",
                "Provider prefunds",
                "Client recovers",
                "#2",
                "Verified",
                "Audit 2026-07",
                "Head office",
            ],
            [
                "United Kingdom",
                "Yes",
                "Own entity",
                "Provider is IOR",
                "Full",
                "Meridian TC Ltd",
                "CRN 11223344",
                "GB-EORI-5521",
                "d:2027-12-31",
                "#23",
                "d:2026-08-14",
                "Defined and repeatable",
                "Provider handles",
                "Provider prefunds",
                "Client recovers",
                "#5",
                "Documented",
                "Companies House extract",
                "",
            ],
            [
                "United States",
                "Yes",
                "Own entity",
                "Provider is IOR",
                "Capped",
                "Meridian TC Inc.",
                "EIN 84-1234567",
                "CBP bond 99-1",
                "d:2027-09-30",
                "#31",
                "d:2026-10-20",
                "Defined and repeatable",
                "Provider handles",
                "Client prepays",
                "Not recoverable",
                "#5",
                "Verified",
                "Audit 2026-07",
                "Liability capped at USD 5M",
            ],
            [
                "Singapore",
                "Yes",
                "Own entity",
                "Provider is IOR",
                "Full",
                "Meridian TC Pte Ltd",
                "UEN 201912345K",
                "SG-IMP-3",
                "d:2028-02-28",
                "#12",
                "d:2026-07-30",
                "Defined and repeatable",
                "Provider handles",
                "Provider prefunds",
                "Client recovers",
                "#4",
                "Documented",
                "ACRA profile",
                "",
            ],
            [
                "Poland",
                "Yes",
                "Contracted partner",
                "Local partner is IOR",
                "Full",
                "Celnik Partner Sp. z o.o.",
                "KRS 0000123456",
                "",
                "",
                "#6",
                "d:2026-06-11",
                "Defined and repeatable",
                "Provider handles",
                "Provider prefunds",
                "Client recovers",
                "#6",
                "Documented",
                "Partner contract 2025",
                "",
            ],
            [
                "Spain",
                "Yes",
                "Contracted partner",
                "Local partner is IOR",
                "Capped",
                "Aduanas Iberia SL",
                "CIF B12345678",
                "",
                "",
                "#4",
                "d:2026-05-02",
                "Defined and repeatable",
                "Provider handles",
                "Provider prefunds",
                "Rebilled by provider",
                "#7",
                "Documented",
                "Partner contract 2024",
                "",
            ],
            [
                "Italy",
                "Yes",
                "Contracted partner",
                "Local partner is IOR",
                "Capped",
                "Dogana Servizi Srl",
                "",
                "",
                "",
                "#3",
                "d:2026-02-19",
                "Defined and repeatable",
                "Client must hold",
                "Provider prefunds",
                "Rebilled by provider",
                "#8",
                "Documented",
                "Partner contract 2024",
                "Entity registration to follow",
            ],
            [
                "Mexico",
                "Yes",
                "Contracted partner",
                "Local partner is IOR",
                "Capped",
                "Comercio Exterior MX SA",
                "RFC CEM010101AB1",
                "Padrón de Importadores",
                "d:2026-12-31",
                "#5",
                "d:2026-04-08",
                "Defined and repeatable",
                "Provider handles",
                "Client prepays",
                "Rebilled by provider",
                "#12",
                "Documented",
                "Partner contract 2025",
                "Importer registry renewal pending",
            ],
            [
                "United Arab Emirates",
                "Yes",
                "Contracted partner",
                "Local partner is IOR",
                "Full",
                "Gulf IOR FZE",
                "License 12345",
                "DXB-IMP-77",
                "d:2027-05-31",
                "#9",
                "d:2026-09-01",
                "Defined and repeatable",
                "Provider handles",
                "Provider prefunds",
                "Client recovers",
                "#6",
                "Documented",
                "Partner contract 2025",
                "",
            ],
            [
                "Japan",
                "Yes",
                "Contracted partner",
                "Local partner is IOR",
                "Full",
                "Nihon Trade KK",
                "Corp No 1234567890123",
                "JP-IMP-5",
                "d:2026-08-31",
                "#4",
                "d:2026-03-15",
                "Defined and repeatable",
                "Provider handles",
                "Provider prefunds",
                "Client recovers",
                "#10",
                "Documented",
                "Partner contract 2023",
                "Licence renewal filed",
            ],
            [
                "Brazil",
                "Yes",
                "Partner sourced on demand",
                "Local partner is IOR",
                "Capped",
                "",
                "",
                "",
                "",
                "#1",
                "d:2025-11-30",
                "Case by case",
                "Client must hold",
                "Client prepays",
                "Not recoverable",
                "#25",
                "Self-declared",
                "",
                "RADAR licence via partner",
            ],
            [
                "India",
                "Yes",
                "Partner sourced on demand",
                "Local partner is IOR",
                "Capped",
                "",
                "",
                "",
                "",
                "#2",
                "d:2026-01-20",
                "Case by case",
                "Client must hold",
                "Client prepays",
                "Rebilled by provider",
                "#21",
                "Self-declared",
                "",
                "",
            ],
            [
                "China",
                "No",
                "Not offered",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "Not served",
            ],
            [
                "South Africa",
                "No",
                "Not offered",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
        ]),
        ..Questionnaire::default()
    }
}

/// A network that sources partners on demand and claims 150 countries.
fn globereach() -> Questionnaire {
    let on_demand = |country: &'static str, shipments: &'static str, lead: &'static str| -> [&'static str; 19] {
        [
            country,
            "Yes",
            "Partner sourced on demand",
            "Local partner is IOR",
            "Capped",
            "",
            "",
            "",
            "",
            shipments,
            "",
            "Case by case",
            "Client must hold",
            "Client prepays",
            "Rebilled by provider",
            lead,
            "Self-declared",
            "",
            "Partner from our global network",
        ]
    };
    let mut specs = vec![
        [
            "Germany",
            "Yes",
            "Contracted partner",
            "Local partner is IOR",
            "Capped",
            "NetLog Partner GmbH",
            "HRB 99812",
            "",
            "",
            "#3",
            "d:2026-06-30",
            "Defined and repeatable",
            "Provider handles",
            "Client prepays",
            "Client recovers",
            "#7",
            "Documented",
            "Network membership certificate",
            "",
        ],
        [
            "Netherlands",
            "Yes",
            "Contracted partner",
            "Local partner is IOR",
            "Capped",
            "Dutch Gateway BV",
            "KvK 55667788",
            "",
            "",
            "#2",
            "d:2026-04-30",
            "Defined and repeatable",
            "Provider handles",
            "Client prepays",
            "Client recovers",
            "#7",
            "Documented",
            "Network membership certificate",
            "",
        ],
    ];
    for (c, s, l) in [
        ("France", "#1", "#14"),
        ("Poland", "#0", "#20"),
        ("Spain", "#1", "#15"),
        ("Italy", "#0", "#18"),
        ("United Kingdom", "#2", "#10"),
        ("United States", "#1", "#12"),
        ("Mexico", "#0", "#30"),
        ("Brazil", "#0", "#35"),
        ("India", "#0", "#30"),
        ("China", "#0", "#28"),
        ("Japan", "#0", "#21"),
        ("Singapore", "#1", "#10"),
        ("United Arab Emirates", "#0", "#14"),
        ("South Africa", "#0", "#25"),
    ] {
        specs.push(on_demand(c, s, l));
    }
    Questionnaire {
        provider: provider(
            "GlobeReach IOR Network",
            "GlobeReach Logistics Alliance Ltd",
            "Sales desk",
            "sales@globereach.example",
            "d:2026-10-01",
            "#150",
        ),
        rows: rows(&specs),
        ..Questionnaire::default()
    }
}

/// A forwarder that lists many countries but takes no IOR liability.
fn swiftfreight() -> Questionnaire {
    let countries = [
        "Germany",
        "France",
        "Netherlands",
        "Poland",
        "Spain",
        "Italy",
        "United Kingdom",
        "United States",
        "Mexico",
        "Brazil",
        "India",
        "China",
        "Japan",
        "Singapore",
        "United Arab Emirates",
        "South Africa",
    ];
    let specs: Vec<[&str; 19]> = countries
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let role = if i % 3 == 0 { "Client is IOR" } else { "Forwarding only" };
            [
                *c,
                "Yes",
                "Forwarding only",
                role,
                "None",
                "",
                "",
                "",
                "",
                "#0",
                "",
                "Undefined",
                "Client must hold",
                "Client prepays",
                "Client recovers",
                "#5",
                "Self-declared",
                "",
                "We arrange freight and customs brokerage; the consignee imports",
            ]
        })
        .collect();
    Questionnaire {
        provider: provider(
            "SwiftFreight Logistics",
            "SwiftFreight Logistics GmbH",
            "Key account team",
            "kam@swiftfreight.example",
            "d:2026-08-20",
            "#120",
        ),
        rows: rows(&specs),
        ..Questionnaire::default()
    }
}

/// A provider that overwrote the dropdowns with its own words: local country
/// names, hedged numbers, dates as text, free text after answers, a
/// duplicated country, an answer nobody can read, title rows above the
/// table, a blank row inside it and a stray note far below.
fn atlas() -> Questionnaire {
    let specs = [
        [
            "Deutschland",
            "Yes - own office in Hamburg",
            "Own entity",
            "Provider is IOR",
            "Capped - USD 1M per shipment",
            "Atlas Import GmbH",
            "HRB 145993",
            "DE-LIC-2231; DE-AEO-11",
            "05/01/2027",
            "approx. 12",
            "14 March 2025",
            "Defined and repeatable",
            "N/A",
            "Provider prefunds",
            "Client recovers",
            "5 days",
            "Documented",
            "Registry extract on file",
            "Licence renewal planned",
        ],
        [
            "España",
            "Y",
            "Contracted partner (exclusive)",
            "Local partner is IOR",
            "full",
            "Aduanas Atlas SL",
            "CIF B99887766",
            "",
            "",
            "~5",
            "2026-02-01",
            "defined & repeatable",
            "Client must hold",
            "Client prepays",
            "Rebilled",
            "10",
            "documented",
            "Contract AT-ES-2024",
            "",
        ],
        [
            "Türkiye",
            "Yes",
            "Depends on the product",
            "Provider is IOR",
            "Full",
            "",
            "",
            "",
            "",
            "3",
            "01/09/2025",
            "Case by case",
            "Provider handles",
            "Provider prefunds",
            "Not recoverable",
            "15",
            "Self-declared",
            "",
            "Please call us",
        ],
        [
            "Polska",
            "N/A",
            "Partner sourced on demand - we use agents",
            "Local partner is IOR",
            "Capped",
            "",
            "",
            "",
            "",
            "none",
            "",
            "Case-by-case",
            "-",
            "",
            "",
            "21",
            "",
            "",
            "",
        ],
        [
            "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
        ],
        [
            "Brasil",
            "Yes",
            "Contracted partner",
            "Partner",
            "Limited (BRL 2M)",
            "Despachos Atlas Ltda",
            "CNPJ 12.345.678/0001-90",
            "RADAR-778",
            "2025-12-31",
            "12+",
            "2026-07-07",
            "Defined",
            "Provider handles",
            "Provider prefunds",
            "Client recovers",
            "#12",
            "Verified",
            "Site visit by buyer, 2026-06",
            "",
        ],
        [
            "Magyarország",
            "Yes",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "Answers to follow",
        ],
        [
            "Germany",
            "Yes",
            "Own entity",
            "Provider is IOR",
            "Full",
            "Atlas Import GmbH",
            "HRB 145993",
            "",
            "",
            "#12",
            "",
            "Defined and repeatable",
            "",
            "",
            "",
            "",
            "",
            "",
            "Second row from another team",
        ],
    ];
    Questionnaire {
        provider: provider(
            "Atlas Import Services",
            "Atlas Import Services Ltd",
            "Ops team",
            "ops@atlas.example",
            "14/03/2025",
            "approx. 60",
        ),
        title_rows: vec![
            "Atlas Import Services: IOR capability questionnaire".to_owned(),
            "Completed by the operations team; answers in our own words".to_owned(),
        ],
        rows: rows(&specs),
        extra_cells: vec![(
            2000,
            0,
            CellValue::Text("Prepared by Atlas sales; not a commitment".to_owned()),
        )],
    }
}

fn main() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workbooks");
    std::fs::create_dir_all(&dir)?;
    for (name, q) in [
        ("meridian-trade-compliance.xlsx", meridian()),
        ("globereach-ior-network.xlsx", globereach()),
        ("swiftfreight-logistics.xlsx", swiftfreight()),
        ("atlas-import-services.xlsx", atlas()),
    ] {
        let path = dir.join(name);
        write_questionnaire(&path, &q)?;
        println!("wrote {}", path.display());
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/layouts");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("meridian-rfp-matrix.xlsx");
    layouts::matrix(&meridian(), &path)?;
    println!("wrote {}", path.display());
    let path = dir.join("meridian-country-sheets.xlsx");
    layouts::country_sheets(&meridian(), &path)?;
    println!("wrote {}", path.display());
    let path = dir.join("sourcing-tool-export.xlsx");
    layouts::sourcing_export(&[&meridian(), &globereach(), &swiftfreight()], &path)?;
    println!("wrote {}", path.display());
    let path = dir.join("erp-supplier-export.json");
    layouts::erp_records(&[&meridian(), &globereach(), &swiftfreight()], &path)?;
    println!("wrote {}", path.display());
    // The seed's 16-country rollout, as the workbook analysts keep.
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let rollout = iorready::planning::read_rollout(&examples.join("rollout.toml"))?;
    let path = examples.join("rollout.xlsx");
    iorready::sinks::write_rollout_template(&path, &rollout.targets, &rollout.options)?;
    println!("wrote {}", path.display());
    Ok(())
}
