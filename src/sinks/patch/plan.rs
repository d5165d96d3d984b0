//! What a patch changes, decided before anything is written: the sheets to
//! stream with their layout, the parts edited in place, and the new parts
//! (iorready's sheets, note parts, relationships).

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Seek};

use super::new_sheet::sheet_xml;
use super::notes::{extend_comments, extend_vml, new_comments, new_vml, vml_ids};
use super::package::{free_rel_id, relative, rels_path, Package, Rel, REL_COMMENTS, REL_TABLE, REL_VML, REL_WORKSHEET};
use super::styles::{patch_styles, StyleIds};
use super::table::extend_table;
use super::workbook::{patch_app, patch_content_types, patch_rels, patch_workbook, quoted_sheet, Name};
use super::worksheet::{survey, Survey};
use super::Refused;
use crate::sinks::annotation::{fit, fit_in, unique_sheet_name, Annotation, Fitted, SheetAdditions};
use crate::sinks::style::pages_wide;

const WORKSHEET_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml";
const COMMENTS_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml";

/// One of the provider's sheets to stream with additions.
pub struct SheetPlan<'a> {
    /// Its part, as the zip spells it.
    pub part: String,
    /// What iorready adds.
    pub additions: &'a SheetAdditions,
    /// Widths of added columns and heights of rows.
    pub fitted: Fitted,
    /// A new note drawing's relationship id, when the sheet had none.
    pub legacy_drawing: Option<String>,
    /// Print set-up: pages wide.
    pub pages_wide: Option<u16>,
}

/// Everything a patch writes.
pub struct Plan<'a> {
    /// Sheets streamed with additions.
    pub sheets: Vec<SheetPlan<'a>>,
    /// Parts rewritten whole: (zip name, content).
    pub changed: Vec<(String, String)>,
    /// Parts added.
    pub added: Vec<(String, String)>,
    /// Style indexes of iorready's looks.
    pub ids: StyleIds,
    /// Content-type overrides for added parts, and whether VML needs a
    /// default.
    overrides: Vec<(String, &'static str)>,
    needs_vml: bool,
    /// Defined names to add.
    names: Vec<Name>,
    /// The next free block of VML shape ids in the workbook.
    next_block: u32,
    /// The sheet (by place) whose answer table gains the verdict columns.
    widen: Option<(usize, crate::sinks::annotation::AddedColumns)>,
}

impl<'a> Plan<'a> {
    /// Decides the patch of `package` with `annotation`.
    pub fn make<R: Read + Seek>(package: &mut Package<R>, annotation: &'a Annotation) -> Result<Plan<'a>, Refused> {
        let styles = package
            .workbook_rels
            .iter()
            .find(|r| r.kind.ends_with("/styles"))
            .map(|r| package.target_of("xl/workbook.xml", r))
            .ok_or_else(|| Refused::new("the workbook has no styles part"))?;
        let (styles_xml, ids) = patch_styles(&package.read(&styles)?)?;
        let mut plan = Plan {
            sheets: Vec::new(),
            changed: Vec::new(),
            added: Vec::new(),
            ids,
            overrides: Vec::new(),
            needs_vml: false,
            names: Vec::new(),
            next_block: next_vml_block(package)?,
            widen: None,
        };
        plan.change(package, &styles, styles_xml);
        for (name, additions) in &annotation.sheets {
            let Some(sheet) = package.sheets.iter().find(|s| &s.name == name).cloned() else {
                return Err(Refused::new(format!(
                    "sheet '{name}' is not a worksheet of the package"
                )));
            };
            plan.sheet(package, &sheet.part, sheet.index, &sheet.name, additions)?;
        }
        plan.new_sheets(package, annotation)?;
        let types = package.read("[Content_Types].xml")?;
        let types = patch_content_types(&types, &plan.overrides, plan.needs_vml)?;
        plan.change(package, "[Content_Types].xml", types);
        Ok(plan)
    }

    fn change<R: Read + Seek>(&mut self, package: &Package<R>, part: &str, text: String) {
        let name = package.entry_name(part).unwrap_or(part).to_owned();
        self.changed.retain(|(n, _)| *n != name);
        self.changed.push((name, text));
    }

    fn taken(&self) -> Vec<String> {
        self.added.iter().map(|(n, _)| n.clone()).collect()
    }

    /// One provider sheet: its layout, notes and table.
    fn sheet<R: Read + Seek>(
        &mut self,
        package: &mut Package<R>,
        part: &str,
        index: usize,
        name: &str,
        additions: &'a SheetAdditions,
    ) -> Result<(), Refused> {
        let entry = package
            .zip
            .by_name(part)
            .map_err(|e| Refused::new(format!("cannot read {part}: {e}")))?;
        let survey = survey(entry, &additions.rows)?;
        let fixed = |r: u32| survey.custom_heights.get(&r).copied();
        let (fitted, pages) = match additions.columns {
            Some(cols) => {
                self.widen = Some((index, cols));
                let caps = BTreeMap::from([(cols.last - 1, 45.0), (cols.last, 60.0)]);
                let fitted = fit(&additions.rows, &caps, &fixed);
                let total: f64 = (0..=cols.last)
                    .map(|c| fitted.widths.get(&c).copied().unwrap_or_else(|| survey.width(c)))
                    .sum();
                self.names.push(Name {
                    name: "_xlnm.Print_Titles",
                    sheet: index,
                    value: format!("{}!$1:${}", quoted_sheet(name), cols.header_row + 1),
                    hidden: false,
                });
                (fitted, Some(pages_wide(total)))
            }
            None => (fit_in(&additions.rows, &|c| survey.width(c), &fixed), None),
        };
        let (current, mut rels) = package.rels_of(part)?;
        let mut new_rels = Vec::new();
        let legacy_drawing = self.notes(package, part, additions, &survey, &mut rels, &mut new_rels)?;
        if let Some(cols) = additions.columns {
            for rel in rels.iter().filter(|r| r.kind == REL_TABLE && !r.external) {
                let table = package.target_of(part, rel);
                if let Some(xml) = extend_table(&package.read(&table)?, cols)? {
                    self.change(package, &table, xml);
                }
            }
        }
        if !new_rels.is_empty() {
            let path = rels_path(part);
            let xml = patch_rels(current.as_deref(), &new_rels)?;
            match current {
                Some(_) => self.change(package, &path, xml),
                None => self.added.push((path, xml)),
            }
        }
        self.sheets.push(SheetPlan {
            part: part.to_owned(),
            additions,
            fitted,
            legacy_drawing,
            pages_wide: pages,
        });
        Ok(())
    }

    /// The sheet's notes: the provider's comments and drawing extended, or
    /// new ones. Returns the relationship id of a new drawing.
    fn notes<R: Read + Seek>(
        &mut self,
        package: &mut Package<R>,
        part: &str,
        additions: &SheetAdditions,
        survey: &Survey,
        rels: &mut Vec<Rel>,
        new_rels: &mut Vec<Rel>,
    ) -> Result<Option<String>, Refused> {
        if additions.notes.is_empty() {
            return Ok(None);
        }
        let fresh = match rels.iter().find(|r| r.kind == REL_COMMENTS && !r.external).cloned() {
            Some(rel) => {
                let path = package.target_of(part, &rel);
                let (xml, fresh) = extend_comments(&package.read(&path)?, &additions.notes)?;
                self.change(package, &path, xml);
                fresh
            }
            None => {
                let path = package.free_name("xl/comments", "xml", &self.taken());
                self.added.push((path.clone(), new_comments(&additions.notes)));
                self.overrides.push((path.clone(), COMMENTS_TYPE));
                self.relate(rels, new_rels, REL_COMMENTS, relative(part, &path));
                additions.notes.keys().copied().collect()
            }
        };
        let drawing = survey
            .legacy_drawing
            .as_ref()
            .and_then(|id| rels.iter().find(|r| &r.id == id && r.kind == REL_VML))
            .cloned();
        match drawing {
            Some(rel) => {
                let path = package.target_of(part, &rel);
                let vml = package.read(&path)?;
                let (_, max) = vml_ids(&vml);
                if !fresh.is_empty() {
                    self.change(package, &path, extend_vml(&vml, &fresh, max + 1)?);
                }
                Ok(None)
            }
            None => {
                let path = package.free_name("xl/drawings/vmlDrawing", "vml", &self.taken());
                self.added.push((path.clone(), new_vml(&fresh, self.next_block)));
                self.next_block += fresh.len() as u32 / 1000 + 1;
                self.needs_vml = true;
                Ok(Some(self.relate(rels, new_rels, REL_VML, relative(part, &path))))
            }
        }
    }

    /// A new relationship of a sheet; returns its id.
    fn relate(&mut self, rels: &mut Vec<Rel>, new_rels: &mut Vec<Rel>, kind: &str, target: String) -> String {
        let id = free_rel_id(rels, &[]);
        let rel = Rel {
            id: id.clone(),
            kind: kind.to_owned(),
            target,
            external: false,
        };
        rels.push(rel.clone());
        new_rels.push(rel);
        id
    }

    /// Readiness and Legend: parts, relationships, workbook entries.
    fn new_sheets<R: Read + Seek>(&mut self, package: &mut Package<R>, annotation: &Annotation) -> Result<(), Refused> {
        let mut taken: HashSet<String> = package.sheet_names.iter().map(|n| n.to_lowercase()).collect();
        let mut entries = Vec::new();
        let mut rels = Vec::new();
        for sheet in [&annotation.readiness, &annotation.legend] {
            let name = unique_sheet_name(sheet.name, &mut taken);
            let part = package.free_name("xl/worksheets/sheet", "xml", &self.taken());
            let ids: Vec<String> = rels.iter().map(|r: &Rel| r.id.clone()).collect();
            let id = free_rel_id(&package.workbook_rels, &ids);
            let index = package.sheet_names.len() + entries.len();
            if let Some((first, last)) = sheet.print_rows {
                self.names.push(Name {
                    name: "_xlnm.Print_Titles",
                    sheet: index,
                    value: format!("{}!${}:${}", quoted_sheet(&name), first + 1, last + 1),
                    hidden: false,
                });
            }
            if let Some((r0, c0, r1, c1)) = sheet.filter {
                self.names.push(Name {
                    name: "_xlnm._FilterDatabase",
                    sheet: index,
                    value: format!("{}!{}", quoted_sheet(&name), absolute(r0, c0, r1.max(r0), c1)),
                    hidden: true,
                });
            }
            self.added.push((part.clone(), sheet_xml(sheet, &self.ids)));
            self.overrides.push((part.clone(), WORKSHEET_TYPE));
            rels.push(Rel {
                id: id.clone(),
                kind: REL_WORKSHEET.to_owned(),
                target: relative("xl/workbook.xml", &part),
                external: false,
            });
            entries.push((name, id));
        }
        if package.has("docProps/app.xml") {
            let names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
            if let Some(app) = patch_app(&package.read("docProps/app.xml")?, &names, package.sheets.len()) {
                self.change(package, "docProps/app.xml", app);
            }
        }
        let workbook = patch_workbook(&package.workbook_xml, &entries, &self.names, self.widen)?;
        self.change(package, "xl/workbook.xml", workbook);
        let wb_rels = patch_rels(Some(&package.workbook_rels_xml), &rels)?;
        self.change(package, "xl/_rels/workbook.xml.rels", wb_rels);
        Ok(())
    }
}

/// `$A$1:$Q$90`.
fn absolute(r0: u32, c0: u32, r1: u32, c1: u32) -> String {
    use crate::model::source::column_letters;
    format!("${}${}:${}${}", column_letters(c0), r0 + 1, column_letters(c1), r1 + 1)
}

/// The first VML shape-id block no drawing of the package uses.
fn next_vml_block<R: Read + Seek>(package: &mut Package<R>) -> Result<u32, Refused> {
    let parts: Vec<String> = package
        .zip
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| n.to_ascii_lowercase().ends_with(".vml"))
        .map(|n| n.into_owned())
        .collect();
    let mut next = 1;
    for part in parts {
        let (blocks, max) = vml_ids(&package.read(&part)?);
        next = blocks
            .iter()
            .map(|b| b + 1)
            .chain([max / 1024 + 1, next])
            .max()
            .unwrap_or(next);
    }
    Ok(next)
}
