//! The bundled questionnaire-v1 mapping accepts what issue #2 lists, and
//! nothing it cannot decide is guessed.

use iorready::mapping::values::{fold, parse_country};
use iorready::mapping::Mapping;
use iorready::model::{Field, Normalised, Parsed};
use iorready::sources::CellValue;
use iorready::template::{Input, COUNTRY_COLUMNS};

fn classify(field: Field, answer: &str) -> Normalised<&'static str> {
    let m = Mapping::builtin().unwrap();
    m.column(field).unwrap().rules.classify(&fold(answer))
}

#[test]
fn every_dropdown_answer_of_the_template_is_recognised() {
    for (col, field) in COUNTRY_COLUMNS.iter().zip(TEMPLATE_FIELDS) {
        if col.input != Input::List {
            continue;
        }
        for answer in col.answers {
            assert!(
                matches!(classify(field, answer), Normalised::Known(_)),
                "{}: '{answer}'",
                col.header
            );
        }
    }
}

#[test]
fn dropdown_answers_map_to_the_model_identifiers() {
    let cases = [
        (Field::OperatingModel, "Partner sourced on demand", "on_demand_partner"),
        (Field::IorRole, "Local partner is IOR", "partner_is_ior"),
        (Field::RegulatoryPathway, "Defined and repeatable", "defined_repeatable"),
        (Field::VatRecovery, "Rebilled by provider", "rebilled"),
        (Field::Evidence, "Self-declared", "claimed"),
        (Field::Liability, "None", "none"),
    ];
    for (field, answer, id) in cases {
        assert_eq!(classify(field, answer), Normalised::Known(id), "{answer}");
    }
}

#[test]
fn capped_with_free_text_is_capped() {
    assert_eq!(
        classify(Field::Liability, "Capped - USD 1M per shipment"),
        Normalised::Known("capped")
    );
}

#[test]
fn yes_no_with_free_text_is_read() {
    assert_eq!(
        classify(Field::CoverageClaimed, "Yes - via partners"),
        Normalised::Known("yes")
    );
    assert_eq!(classify(Field::CoverageClaimed, "y"), Normalised::Known("yes"));
    assert_eq!(classify(Field::CoverageClaimed, "N"), Normalised::Known("no"));
}

#[test]
fn na_is_unknown_except_in_product_certification() {
    assert_eq!(classify(Field::CoverageClaimed, "N/A"), Normalised::Unknown);
    assert_eq!(classify(Field::Liability, "n/a"), Normalised::Unknown);
    assert_eq!(
        classify(Field::ProductCompliance, "N/A"),
        Normalised::Known("not_applicable")
    );
}

#[test]
fn dash_and_unknown_are_unknown() {
    assert_eq!(classify(Field::OperatingModel, "-"), Normalised::Unknown);
    assert_eq!(classify(Field::OperatingModel, "UNKNOWN"), Normalised::Unknown);
}

#[test]
fn answers_nobody_can_read_are_unrecognised() {
    assert_eq!(
        classify(Field::OperatingModel, "Depends on the product"),
        Normalised::Unrecognised
    );
    assert_eq!(classify(Field::Liability, "Fullish"), Normalised::Unrecognised);
}

#[test]
fn local_country_names_are_countries() {
    let m = Mapping::builtin().unwrap();
    let names = [
        ("Deutschland", "DE"),
        ("España", "ES"),
        ("Italia", "IT"),
        ("Nederland", "NL"),
        ("Belgique", "BE"),
        ("Polska", "PL"),
        ("Österreich", "AT"),
        ("Schweiz", "CH"),
        ("Sverige", "SE"),
        ("Norge", "NO"),
        ("Danmark", "DK"),
        ("Suomi", "FI"),
        ("Česko", "CZ"),
        ("Magyarország", "HU"),
        ("România", "RO"),
        ("Türkiye", "TR"),
        ("México", "MX"),
        ("Brasil", "BR"),
        ("Perú", "PE"),
        ("Việt Nam", "VN"),
        ("Hrvatska", "HR"),
        ("Slovensko", "SK"),
        ("Slovenija", "SI"),
        ("Srbija", "RS"),
        ("Ísland", "IS"),
        ("united kingdom", "GB"),
        ("usa", "US"),
        ("fra", "FR"),
        ("jp", "JP"),
    ];
    let unknown = &m.column(Field::Country).unwrap().rules;
    for (name, code) in names {
        let cell = CellValue::Text(name.to_owned());
        match parse_country(Some(&cell), &m.country_aliases, unknown) {
            Normalised::Known(Parsed::Country(c)) => assert_eq!(c.alpha2(), code, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

fn number(field: Field, answer: &str) -> Normalised<Parsed> {
    let m = Mapping::builtin().unwrap();
    let rule = m.column(field).unwrap();
    let cell = CellValue::Text(answer.to_owned());
    iorready::mapping::values::parse_whole_number(Some(&cell), &rule.zero, &rule.rules)
}

#[test]
fn none_means_zero_shipments_but_not_zero_days_of_lead_time() {
    assert_eq!(
        number(Field::Executions24m, "none"),
        Normalised::Known(Parsed::Number(0))
    );
    assert_eq!(
        number(Field::Executions24m, "never"),
        Normalised::Known(Parsed::Number(0))
    );
    assert_eq!(number(Field::LeadTimeDays, "none"), Normalised::Unknown);
    assert_eq!(number(Field::LeadTimeDays, "never"), Normalised::Unrecognised);
}

#[test]
fn none_is_no_registration_id() {
    let m = Mapping::builtin().unwrap();
    let rule = m.column(Field::LocalEntityId).unwrap();
    for s in ["None", "none yet", "N/A"] {
        let cell = CellValue::Text(s.to_owned());
        assert_eq!(
            iorready::mapping::values::parse_text(Some(&cell), &rule.rules),
            Normalised::Unknown,
            "{s}"
        );
    }
}

#[test]
fn a_headline_figure_with_its_unit_is_a_number() {
    let m = Mapping::builtin().unwrap();
    let cell = CellValue::Text("150+ countries".to_owned());
    assert_eq!(
        iorready::mapping::values::parse_whole_number(Some(&cell), &m.zero, &m.unknown),
        Normalised::Known(Parsed::Number(150))
    );
}

/// The fields of the template's country columns, in its order.
const TEMPLATE_FIELDS: [Field; 19] = [
    Field::Country,
    Field::CoverageClaimed,
    Field::OperatingModel,
    Field::IorRole,
    Field::Liability,
    Field::LocalEntityName,
    Field::LocalEntityId,
    Field::LicenceIds,
    Field::LicenceExpiry,
    Field::Executions24m,
    Field::LastExecution,
    Field::RegulatoryPathway,
    Field::ProductCompliance,
    Field::DutiesFunding,
    Field::VatRecovery,
    Field::LeadTimeDays,
    Field::Evidence,
    Field::EvidenceRef,
    Field::Comments,
];

#[test]
fn the_vendor_form_mappings_read_every_dropdown_answer_the_builtin_mapping_reads_alike() {
    let builtin = Mapping::builtin().unwrap();
    for file in ["mappings/coupa-ior-form.toml", "mappings/dynamics365-ior.toml"] {
        let m = Mapping::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        for (col, field) in COUNTRY_COLUMNS.iter().zip(TEMPLATE_FIELDS) {
            // A field the form does not ask, or a free-text one, has nothing to match.
            let (Some(rule), Input::List) = (m.column(field), col.input) else {
                continue;
            };
            for answer in col.answers {
                let expected = builtin.column(field).unwrap().rules.classify(&fold(answer));
                assert_eq!(
                    rule.rules.classify(&fold(answer)),
                    expected,
                    "{file}, {}: '{answer}'",
                    col.header
                );
            }
        }
    }
}
