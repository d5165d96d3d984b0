//! Provider details: from labelled question/answer rows, fixed cells and
//! constants in the mapping. (A consolidated table's provider columns are
//! read with the table.)

use std::sync::Arc;

use super::spec::Mapping;
use super::values::{self};
use crate::model::{Answer, Normalised, Parsed, Provider, ProviderField, SourceRef};
use crate::sources::{CellValue, Sheet, Workbook};

use super::extract::{fold_label, label_matches};

/// Converts a parsed provider answer to its typed form.
fn typed<T>(
    v: Normalised<Parsed>,
    raw: String,
    source: Option<SourceRef>,
    f: impl FnOnce(Parsed) -> Option<T>,
) -> Answer<T> {
    let value = match v {
        Normalised::Known(p) => f(p).map_or(Normalised::Unrecognised, Normalised::Known),
        Normalised::Unknown => Normalised::Unknown,
        Normalised::Unrecognised => Normalised::Unrecognised,
    };
    Answer { value, raw, source }
}

/// Sets one provider field from a cell (or a constant's text).
pub(super) fn set_detail(
    provider: &mut Provider,
    field: ProviderField,
    cell: Option<&CellValue>,
    source: Option<SourceRef>,
    mapping: &Mapping,
) {
    let raw = cell.map(CellValue::display).unwrap_or_default();
    let unknown = &mapping.unknown;
    match field {
        ProviderField::ResponseDate => {
            provider.response_date = typed(
                values::parse_date(cell, &mapping.date_formats, unknown),
                raw,
                source,
                |p| match p {
                    Parsed::Date(d) => Some(d),
                    _ => None,
                },
            )
        }
        ProviderField::CountriesClaimed => {
            provider.countries_claimed = typed(
                values::parse_whole_number(cell, &mapping.zero, unknown),
                raw,
                source,
                |p| match p {
                    Parsed::Number(n) => Some(n),
                    _ => None,
                },
            )
        }
        _ => {
            let a = typed(values::parse_text(cell, unknown), raw, source, |p| match p {
                Parsed::Text(t) => Some(t),
                _ => None,
            });
            match field {
                ProviderField::Name => provider.name = a,
                ProviderField::LegalName => provider.legal_name = a,
                ProviderField::Respondent => provider.respondent = a,
                ProviderField::Email => provider.email = a,
                ProviderField::ResponseDate | ProviderField::CountriesClaimed => {}
            }
        }
    }
}

/// Reads the provider details the mapping describes. Precedence, highest
/// first: labelled rows, fixed cells, constants (only constants without a
/// workbook).
pub fn read_provider(wb: Option<&Workbook>, mapping: &Mapping, file: &Arc<str>) -> Provider {
    let spec = &mapping.provider;
    let mut layers = Vec::new();

    let mut constants = Provider::default();
    for (field, text) in &spec.constants {
        set_detail(
            &mut constants,
            *field,
            Some(&CellValue::Text(text.clone())),
            None,
            mapping,
        );
    }
    layers.push(constants);

    let mut cells = Provider::default();
    for (field, sheet, row, col) in &spec.cells {
        let name = sheet.as_deref().or(spec.sheet.as_ref().map(|(s, _, _)| s.as_str()));
        if let Some(sheet) = name.and_then(|n| wb.and_then(|wb| wb.sheet(n))) {
            let source = SourceRef::new(file.clone(), sheet.name.as_str().into(), *row, *col);
            set_detail(
                &mut cells,
                *field,
                sheet.get_merged(*row, *col).map(|(v, _)| v),
                Some(source),
                mapping,
            );
        }
    }
    layers.push(cells);

    if let Some((name, label_col, value_col)) = &spec.sheet {
        if let Some(sheet) = wb.and_then(|wb| wb.sheet(name)) {
            layers.push(labelled(sheet, mapping, file, *label_col, *value_col));
        }
    }
    let mut provider = Provider::default();
    for layer in layers.into_iter().rev() {
        provider.fill_from(layer);
    }
    provider
}

fn labelled(sheet: &Sheet, mapping: &Mapping, file: &Arc<str>, label_col: u32, value_col: u32) -> Provider {
    let sheet_name: Arc<str> = sheet.name.as_str().into();
    let mut provider = Provider::default();
    let rows: Vec<(u32, String)> = sheet
        .cells
        .iter()
        .filter(|((_, c), _)| *c == label_col)
        .map(|((r, _), v)| (*r, fold_label(&v.display())))
        .collect();
    for (field, labels) in &mapping.provider.labels {
        // Exact question first, then a question with a qualifier after it.
        let found = [true, false].iter().find_map(|exact| {
            rows.iter()
                .find(|(_, text)| labels.iter().any(|l| label_matches(text, l) == Some(*exact)))
                .map(|(r, _)| *r)
        });
        let Some(row) = found else { continue };
        let source = Some(SourceRef::new(file.clone(), sheet_name.clone(), row, value_col));
        set_detail(
            &mut provider,
            *field,
            sheet.get_merged(row, value_col).map(|(v, _)| v),
            source,
            mapping,
        );
    }
    provider
}
