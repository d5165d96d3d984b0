#!/usr/bin/env python3
"""Check that an annotated copy of a workbook is a faithful patch of the original.

    python3 tests/tools/check_annotated.py ORIGINAL ANNOTATED [--changed-ok PART ...]

ORIGINAL is the provider's workbook (.xlsx or .xlsm), ANNOTATED the copy that
iorready wrote from it: the same zip package with a few parts rewritten to add
result columns, notes, styles and the Readiness/Legend sheets. Prints one line
per problem ("FAIL [check] ..."), some "info" lines (which parts changed, which
were added), and a final summary line. Exit status: 0 when every check passes,
1 when any fails, 2 for usage errors (bad arguments, ORIGINAL unreadable).

Why so many checks: Excel asks to "repair" a file whose parts break the
schema's element order, reference a style or relationship that does not
exist, or leave a table header out of step with its columns, and the repair
throws away content. LibreOffice and openpyxl open such files silently, so
opening a file with them proves nothing on its own. The checks, one function
each:

  parts          every zip entry of ORIGINAL is in ANNOTATED, byte-identical
                 after decompression, except the parts a patch may rewrite:
                 [Content_Types].xml, xl/workbook.xml, xl/_rels/workbook.xml.rels,
                 docProps/app.xml, xl/styles.xml, worksheets and their .rels,
                 comments, VML drawings, tables, and any --changed-ok PART.
                 Images, charts, drawings, vbaProject.bin, sharedStrings,
                 docProps/core.xml and the rest must come through untouched.
                 No duplicate entry names. Changed and added parts are listed.
  xml            every changed or added XML part is well-formed.
  workbook       with openpyxl: the original sheets, same names, same order,
                 same visibility, extra sheets only at the end; per original
                 sheet every cell's value and resolved style (font, fill,
                 border, alignment, number format, protection), column widths,
                 custom row heights, default sizes, merged ranges, data
                 validations, conditional-format ranges and rules, freeze
                 panes, comment text (the original text must still start the
                 annotated note), hyperlinks.
  names          every defined name of xl/workbook.xml (name, localSheetId,
                 value) is still there.
  worksheet-xml  each worksheet part's <worksheet> children follow the
                 CT_Worksheet sequence (ECMA-376 Part 1, 18.3.1.99), no
                 unknown child, each at most once (conditionalFormatting may
                 repeat); sheetData rows strictly ascending, cells ascending
                 within a row and on their row; <cols> ranges ascending and
                 not overlapping; every r:id resolves in the sheet's .rels;
                 for changed/added sheets, <dimension> covers every cell.
  styles         cell/row/column style indexes exist in cellXfs; xf font,
                 fill, border and numFmt references exist; conditional
                 formats' dxfId exist; collection count attributes match.
  notes          each comments part: unique refs, valid authorId, and a VML
                 note shape (x:Row/x:Column) for every comment.
  content-types  every part has a content type (Default or Override); every
                 Override names an existing part; every internal relationship
                 target exists; relationship Ids unique per .rels; well-known
                 relationship types point at parts of the matching type.
  workbook-xml   sheetId unique, sheet names unique, every r:id resolves in
                 the workbook's .rels; for .xlsm the macro-enabled workbook
                 content type and an unchanged xl/vbaProject.bin.
  app-xml        docProps/app.xml vectors consistent (size attributes, the
                 HeadingPairs counts add up to TitlesOfParts) and every
                 sheet of the workbook listed in TitlesOfParts.
  tables         each table's header cells equal its tableColumn names in
                 order, the column count equals the ref's width, column names
                 and ids unique, the autoFilter ref matches, table ids and
                 names unique across the package.
  libreoffice    converts ANNOTATED to PDF with soffice (private profile,
                 120 s timeout); fails if no PDF appears. Prints
                 "skipped: soffice not installed" when soffice is missing
                 (--no-libreoffice skips it on purpose).

The structural checks (worksheet-xml, styles, notes, content-types,
workbook-xml, app-xml, tables) judge the patch, not the provider: they run on
ORIGINAL too, and a problem ORIGINAL already has (same check, same message)
is counted as info, not as a failure. When openpyxl cannot open ORIGINAL,
the cell and sheet comparison is skipped (printed); when it cannot open
ANNOTATED but could open ORIGINAL, that fails. Strict (ISO 29500) namespaces
are read as Transitional ones; zip entries with a bad CRC are still read.

Needs openpyxl (pip install openpyxl); uses lxml if installed, else
xml.etree.ElementTree.
"""

import argparse
import copy
import os
import posixpath
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
import warnings
import zipfile

try:
    from lxml import etree as ET  # noqa: N812
except ImportError:  # pragma: no cover - depends on the machine
    import xml.etree.ElementTree as ET  # noqa: N812

import openpyxl
from openpyxl.utils import column_index_from_string, get_column_letter

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS_EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
NS_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"

REL_BASE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"

# Relationship type (last path segment) -> the content type its target must have.
REL_TARGET_TYPES = {
    "worksheet": CT_WORKSHEET,
    "comments": "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml",
    "vmlDrawing": "application/vnd.openxmlformats-officedocument.vmlDrawing",
    "table": "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml",
    "styles": "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml",
    "sharedStrings": "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml",
    "drawing": "application/vnd.openxmlformats-officedocument.drawing+xml",
    "chart": "application/vnd.openxmlformats-officedocument.drawingml.chart+xml",
}

# Parts a patch may rewrite (beyond --changed-ok). Worksheets, their .rels,
# comments, VML and tables are matched by ALLOWED_PATTERNS.
ALLOWED_CHANGED = {
    "[Content_Types].xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "docProps/app.xml",
    "xl/styles.xml",
}
ALLOWED_PATTERNS = [
    re.compile(r"^xl/worksheets/sheet\d+\.xml$"),
    re.compile(r"^xl/worksheets/_rels/[^/]+\.rels$"),
    re.compile(r"^xl/comments[^/]*\.xml$"),
    re.compile(r"^xl/drawings/vmlDrawing[^/]*\.vml$"),
    re.compile(r"^xl/tables/[^/]+\.xml$"),
]

# CT_Worksheet children, in schema order (ECMA-376 Part 1, 18.3.1.99).
WORKSHEET_ORDER = [
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData",
    "sheetCalcPr", "sheetProtection", "protectedRanges", "scenarios", "autoFilter",
    "sortState", "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr",
    "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions",
    "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
    "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing",
    "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
    "controls", "webPublishItems", "tableParts", "extLst",
]
REPEATABLE = {"conditionalFormatting"}

MAX_PER_CHECK = 25  # problems printed per check and sheet before "... and N more"


class Report:
    """Collects problems and info lines, printed as they come."""

    def __init__(self):
        self.failures = 0
        self.failed_checks = set()
        self.skipped = []

    def fail(self, check, message):
        self.failures += 1
        self.failed_checks.add(check)
        print(f"FAIL [{check}] {message}")

    def info(self, message):
        print(f"info: {message}")

    def skip(self, message):
        self.skipped.append(message)
        print(f"skipped: {message}")


class Collector(Report):
    """Records problems without printing them (to compare two packages)."""

    def __init__(self):
        super().__init__()
        self.problems = []

    def fail(self, check, message):
        self.failures += 1
        self.problems.append((check, message))

    def info(self, message):
        pass

    def skip(self, message):
        pass


class Limited:
    """Reports at most MAX_PER_CHECK problems for one check and scope
    (all of them to a Collector)."""

    def __init__(self, report, check, scope):
        self.report, self.check, self.scope, self.count = report, check, scope, 0
        self.cap = None if isinstance(report, Collector) else MAX_PER_CHECK

    def fail(self, message):
        self.count += 1
        if self.cap is None or self.count <= self.cap:
            self.report.fail(self.check, f"{self.scope}: {message}")

    def close(self):
        if self.cap is not None and self.count > self.cap:
            self.report.fail(self.check, f"{self.scope}: ... and {self.count - self.cap} more")


# --------------------------------------------------------------------------
# Package helpers


# ISO/IEC 29500 Strict namespaces, read as their Transitional equivalents.
STRICT_NS = {
    "http://purl.oclc.org/ooxml/spreadsheetml/main": NS_MAIN,
    "http://purl.oclc.org/ooxml/officeDocument/relationships": NS_R,
    "http://purl.oclc.org/ooxml/officeDocument/extendedProperties": NS_EP,
    "http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes": NS_VT,
}
STRICT_REL_BASE = "http://purl.oclc.org/ooxml/officeDocument/relationships/"


def same_or_widened(old, new):
    """An autofilter stays as it was, or is widened to the right over the
    columns iorready adds (same first cell, same rows): an analyst sorting
    the table expects the verdicts to move with their rows."""
    if (old or None) == (new or None):
        return True
    if not old or not new or ":" not in old or ":" not in new:
        return False
    split = lambda ref: re.match(r"^\$?([A-Z]+)\$?(\d+)$", ref)
    (o1, o2), (n1, n2) = old.split(":"), new.split(":")
    a, b, c, d = split(o1), split(o2), split(n1), split(n2)
    if not all((a, b, c, d)):
        return False
    col = lambda letters: sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(letters)))
    return (o1 == n1 and b.group(2) == d.group(2)
            and col(d.group(1)) > col(b.group(1)))


def unstrict(name):
    if isinstance(name, str) and name.startswith("{http://purl.oclc.org/"):
        uri, rest = name[1:].split("}", 1)
        if uri in STRICT_NS:
            return "{" + STRICT_NS[uri] + "}" + rest
    return name


class Package:
    """A zip package: entries by name, decompressed on demand.

    Entries with a bad CRC are still read (and listed in bad_crc); XML is
    parsed with Strict namespaces mapped to Transitional ones.
    """

    def __init__(self, path):
        self.path = path
        self.zip = zipfile.ZipFile(path)
        self.infos = self.zip.infolist()
        self.names = [i.filename for i in self.infos]
        self.by_lower = {}
        for n in self.names:
            self.by_lower.setdefault(n.lower(), n)
        self._cache = {}
        self._xml = {}
        self.bad_crc = set()

    def has(self, name):
        return name is not None and name.lower() in self.by_lower

    def real_name(self, name):
        return None if name is None else self.by_lower.get(name.lower())

    def read(self, name):
        real = self.real_name(name)
        if real is None:
            return None
        if real not in self._cache:
            try:
                self._cache[real] = self.zip.read(real)
            except zipfile.BadZipFile as e:
                if "CRC" not in str(e):
                    raise
                self.bad_crc.add(real)
                with self.zip.open(real) as f:
                    f._expected_crc = None  # read the data despite the bad CRC
                    self._cache[real] = f.read()
        return self._cache[real]

    def xml(self, name):
        real = self.real_name(name)
        if real is None:
            return None
        if real not in self._xml:
            root = ET.fromstring(self.read(real))
            for el in root.iter():
                if not isinstance(el.tag, str):
                    continue
                el.tag = unstrict(el.tag)
                for k in [k for k in el.attrib if k.startswith("{http://purl.oclc.org/")]:
                    el.attrib[unstrict(k)] = el.attrib.pop(k)
            self._xml[real] = root
        return self._xml[real]

    def parts(self):
        return [n for n in self.names if not n.endswith("/")]


def local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def rels_part_for(part):
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def source_of_rels(rels_part):
    """The part a .rels part belongs to ('' for the package's _rels/.rels)."""
    d, f = posixpath.split(rels_part)
    base = posixpath.dirname(d) if posixpath.basename(d) == "_rels" else d
    return posixpath.join(base, f[: -len(".rels")]) if f != ".rels" else ""


def resolve_target(source_part, target):
    target = urllib.parse.unquote(target.split("#", 1)[0])
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    base = posixpath.dirname(source_part)
    return posixpath.normpath(posixpath.join(base, target))


def read_rels(pkg, rels_part):
    """[(Id, Type, Target, TargetMode, resolved part or None)] of a .rels part."""
    root = pkg.xml(rels_part)
    if root is None:
        return []
    src = source_of_rels(rels_part)
    out = []
    for rel in root:
        if local(rel.tag) != "Relationship":
            continue
        mode = rel.get("TargetMode", "Internal")
        target = rel.get("Target", "")
        resolved = None if mode == "External" else resolve_target(src, target)
        typ = rel.get("Type", "")
        if typ.startswith(STRICT_REL_BASE):
            typ = REL_BASE + typ[len(STRICT_REL_BASE):]
        out.append((rel.get("Id"), typ, target, mode, resolved))
    return out


def content_types(pkg):
    root = pkg.xml("[Content_Types].xml")
    defaults, overrides = {}, {}
    if root is None:
        return defaults, overrides
    for el in root:
        if local(el.tag) == "Default":
            defaults[el.get("Extension", "").lower()] = el.get("ContentType")
        elif local(el.tag) == "Override":
            overrides[el.get("PartName", "").lstrip("/").lower()] = el.get("ContentType")
    return defaults, overrides


def type_of(pkg, part, cts=None):
    defaults, overrides = cts or content_types(pkg)
    if part.lower() in overrides:
        return overrides[part.lower()]
    ext = part.rsplit(".", 1)[-1].lower() if "." in posixpath.basename(part) else ""
    return defaults.get(ext)


def workbook_part(pkg):
    for _id, typ, _t, _m, resolved in read_rels(pkg, "_rels/.rels"):
        if typ.endswith("/officeDocument") and resolved:
            return pkg.real_name(resolved) or resolved
    return "xl/workbook.xml"


def worksheet_parts(pkg):
    """Worksheet parts: by content type, else by the usual path."""
    cts = content_types(pkg)
    found = [p for p in pkg.parts() if type_of(pkg, p, cts) == CT_WORKSHEET]
    if not found:
        found = [p for p in pkg.parts() if re.match(r"^xl/worksheets/[^/]+\.xml$", p)]
    return found


def sheet_parts_by_name(pkg):
    """Sheet name -> part name, from the workbook and its relationships."""
    wb = workbook_part(pkg)
    rels = {r[0]: r[4] for r in read_rels(pkg, rels_part_for(wb))}
    root = pkg.xml(wb)
    out = {}
    if root is None:
        return out
    for sheet in root.iter(f"{{{NS_MAIN}}}sheet"):
        target = rels.get(sheet.get(f"{{{NS_R}}}id"))
        if target:
            out[sheet.get("name")] = pkg.real_name(target) or target
    return out


def split_ref(ref):
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d+)", ref or "")
    if not m:
        return None
    return int(m.group(2)), column_index_from_string(m.group(1).upper())


def split_range(ref):
    parts = (ref or "").split(":")
    a = split_ref(parts[0])
    b = split_ref(parts[-1])
    if a is None or b is None:
        return None
    return a[0], a[1], b[0], b[1]


def is_allowed_change(part, extra):
    if part in ALLOWED_CHANGED or part in extra:
        return True
    return any(p.match(part) for p in ALLOWED_PATTERNS)


# --------------------------------------------------------------------------
# Checks


def check_parts(orig, ann, extra_ok, report):
    """Entries present and unchanged, except the parts a patch may rewrite."""
    check = "parts"
    seen = set()
    for n in ann.names:
        if n in seen:
            report.fail(check, f"duplicate zip entry in annotated copy: {n}")
        seen.add(n)
    for name in ann.parts():
        ann.read(name)
        if name in ann.bad_crc:
            orig.read(name) if orig.has(name) else None
            if name in orig.bad_crc:
                report.info(f"entry {name} has a bad CRC-32, as in the original")
            else:
                report.fail(check, f"entry {name} has a bad CRC-32 (its data does not match its checksum)")
    changed, worksheets_changed = [], []
    for name in orig.names:
        if name not in ann.names:
            other = ann.real_name(name)
            if other:
                report.fail(check, f"entry {name} renamed to {other} (keep part names as they are)")
            else:
                report.fail(check, f"entry {name} missing from the annotated copy")
            continue
        if name.endswith("/"):
            continue
        if orig.read(name) == ann.read(name):
            continue
        changed.append(name)
        if is_allowed_change(name, extra_ok):
            if name.startswith("xl/worksheets/"):
                worksheets_changed.append(name)
        else:
            report.fail(check, f"part {name} changed; only the patched parts may differ")
    added = [n for n in ann.names if n not in orig.names and not orig.has(n)]
    report.info("changed parts: " + (", ".join(changed) or "none"))
    report.info("changed worksheet parts and rels: " + (", ".join(worksheets_changed) or "none"))
    report.info("added parts: " + (", ".join(added) or "none"))
    return set(changed), set(added)


def check_xml(ann, touched, report):
    """Changed and added XML parts parse."""
    for part in sorted(touched):
        if part.endswith("/"):
            continue
        ext = part.rsplit(".", 1)[-1].lower()
        if ext not in ("xml", "rels", "vml"):
            continue
        try:
            ET.fromstring(ann.read(part))
        except ET.ParseError as e:
            report.fail("xml", f"{part} is not well-formed XML: {e}")
        except Exception as e:  # lxml raises XMLSyntaxError
            report.fail("xml", f"{part} is not well-formed XML: {e}")


def load_book(path):
    keep_vba = path.lower().endswith((".xlsm", ".xltm"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path, keep_vba=keep_vba)


def norm_value(v):
    """Cell values compared by content (formula objects have no __eq__)."""
    if hasattr(v, "text") and hasattr(v, "ref"):  # ArrayFormula
        return ("array", v.ref, v.text)
    if type(v).__name__ == "DataTableFormula":
        return ("datatable", tuple(sorted(dict(v).items())) if hasattr(v, "__iter__") else repr(vars(v)))
    return v


def style_of(cell):
    return (
        copy.copy(cell.font),
        copy.copy(cell.fill),
        copy.copy(cell.border),
        copy.copy(cell.alignment),
        cell.number_format,
        copy.copy(cell.protection),
    )


STYLE_NAMES = ["font", "fill", "border", "alignment", "number_format", "protection"]


def col_widths(ws):
    """Column index -> (width, hidden) from the <cols> ranges openpyxl read."""
    out = {}
    for dim in ws.column_dimensions.values():
        if dim.min is None:
            continue
        for c in range(dim.min, (dim.max or dim.min) + 1):
            out[c] = (dim.width if dim.customWidth else None, bool(dim.hidden))
    return out


def custom_rows(path, sheet_name):
    """The rows whose height the workbook marks as its own
    (customHeight="1"); openpyxl takes every row with a height for one, and
    LibreOffice writes a height on every row."""
    try:
        with zipfile.ZipFile(path) as z:
            wb = ET.fromstring(z.read("xl/workbook.xml"))
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target") for r in rels}
            for sheet in wb.iter(f"{{{NS_MAIN}}}sheet"):
                if sheet.get("name") != sheet_name:
                    continue
                target = targets.get(sheet.get(f"{{{NS_R}}}id"), "")
                part = target.lstrip("/") if target.startswith("/") else "xl/" + target
                root = ET.fromstring(z.read(part))
                return {
                    int(row.get("r"))
                    for row in root.iter(f"{{{NS_MAIN}}}row")
                    if row.get("r") and row.get("customHeight") in ("1", "true")
                }
    except Exception:
        return None
    return None


def check_sheet(ows, aws, report, custom=None):
    """One original sheet against the annotated one."""
    name = ows.title
    cells = Limited(report, "cells", f"sheet '{name}'")
    for (r, c), ocell in sorted(getattr(ows, "_cells", {}).items()):
        acell = aws.cell(row=r, column=c)
        ref = ocell.coordinate
        if ocell.value is None and acell.value is not None and ocell.comment is None:
            # An empty (perhaps formatted) cell where iorready puts a verdict
            # takes the verdict and its look; a cell with a value never does.
            report.info(f"sheet '{name}': empty cell {ref} now holds {str(acell.value)[:30]!r}")
            continue
        if norm_value(ocell.value) != norm_value(acell.value):
            cells.fail(f"{ref} value {ocell.value!r} became {acell.value!r}")
        diff = [what for what, a, b in zip(STYLE_NAMES, style_of(ocell), style_of(acell)) if a != b]
        if diff:
            nf = f" ({ocell.number_format!r} -> {acell.number_format!r})" if "number_format" in diff else ""
            cells.fail(f"{ref} style changed: {', '.join(diff)}{nf}")
        oc = ocell.comment
        ac = acell.comment
        if oc is not None:
            if ac is None:
                cells.fail(f"{ref} note is gone (was {oc.text[:60]!r})")
            elif not ac.text.startswith(oc.text.rstrip()):
                cells.fail(f"{ref} note no longer starts with the original text {oc.text[:60]!r}: {ac.text[:80]!r}")
        oh, ah = ocell.hyperlink, acell.hyperlink
        if oh is not None:
            if ah is None:
                cells.fail(f"{ref} hyperlink is gone")
            elif (oh.target, oh.location) != (ah.target, ah.location):
                cells.fail(f"{ref} hyperlink {oh.target or oh.location!r} became {ah.target or ah.location!r}")
    cells.close()

    layout = Limited(report, "layout", f"sheet '{name}'")
    ow, aw = col_widths(ows), col_widths(aws)
    for c, v in sorted(ow.items()):
        if aw.get(c) != v:
            layout.fail(f"column {get_column_letter(c)} width/hidden {v} became {aw.get(c)}")
    for c in range(1, ows.max_column + 1):
        if c not in ow and aw.get(c, (None, False)) != (None, False):
            layout.fail(f"column {get_column_letter(c)} had the default width, now {aw.get(c)}")
    for r, dim in ows.row_dimensions.items():
        adim = aws.row_dimensions[r]
        if dim.customHeight and (custom is None or r in custom) and (not adim.customHeight or adim.ht != dim.ht):
            layout.fail(f"row {r} custom height {dim.ht} became {adim.ht if adim.customHeight else 'default'}")
        if dim.hidden and not adim.hidden:
            layout.fail(f"row {r} no longer hidden")
    for attr in ("defaultColWidth", "baseColWidth", "defaultRowHeight", "customHeight"):
        a, b = getattr(ows.sheet_format, attr, None), getattr(aws.sheet_format, attr, None)
        if a != b:
            layout.fail(f"sheetFormatPr {attr} {a} became {b}")
    omerged = {str(m) for m in ows.merged_cells.ranges}
    amerged = {str(m) for m in aws.merged_cells.ranges}
    for m in sorted(omerged - amerged):
        layout.fail(f"merged range {m} is gone")
    if ows.freeze_panes != aws.freeze_panes:
        layout.fail(f"freeze panes {ows.freeze_panes} became {aws.freeze_panes}")
    layout.close()

    rules = Limited(report, "rules", f"sheet '{name}'")
    adv = [(str(d.sqref), d.type, d.formula1, d.formula2) for d in aws.data_validations.dataValidation]
    for d in ows.data_validations.dataValidation:
        key = (str(d.sqref), d.type, d.formula1, d.formula2)
        if key in adv:
            adv.remove(key)
        else:
            rules.fail(f"data validation {d.type} on {d.sqref} (formula1 {d.formula1!r}) is gone or changed")

    def cf_rules(ws):
        out = []
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                out.append((str(cf.sqref), rule.type, rule.operator, tuple(rule.formula or ())))
        return out

    acf = cf_rules(aws)
    for key in cf_rules(ows):
        if key in acf:
            acf.remove(key)
        else:
            rules.fail(f"conditional format {key[1]} on {key[0]} is gone or changed")
    if not same_or_widened(ows.auto_filter.ref, aws.auto_filter.ref):
        rules.fail(f"autofilter {ows.auto_filter.ref} became {aws.auto_filter.ref}")
    rules.close()


def check_workbook(orig_path, ann_path, report):
    """Sheets, cells, styles and sheet features through openpyxl."""
    check = "workbook"
    try:
        owb = load_book(orig_path)
    except Exception as e:
        report.skip(f"cell and sheet comparison: openpyxl cannot open the original ({type(e).__name__}: {e})")
        return
    try:
        awb = load_book(ann_path)
    except Exception as e:
        report.fail(check, f"openpyxl cannot open the annotated copy: {e}")
        return
    onames, anames = owb.sheetnames, awb.sheetnames
    if anames[: len(onames)] != onames:
        report.fail(check, f"sheets {onames} became {anames}: the original sheets must come first, in order")
    else:
        report.info("added sheets: " + (", ".join(anames[len(onames):]) or "none"))
    for name in onames:
        if name not in anames:
            report.fail(check, f"sheet '{name}' is gone")
            continue
        ows, aws = owb[name], awb[name]
        if ows.sheet_state != aws.sheet_state:
            report.fail(check, f"sheet '{name}' state {ows.sheet_state} became {aws.sheet_state}")
        if type(ows) is not type(aws):
            report.fail(check, f"sheet '{name}' kind {type(ows).__name__} became {type(aws).__name__}")
            continue
        if hasattr(ows, "_cells"):
            check_sheet(ows, aws, report, custom_rows(orig_path, name))


def defined_names(pkg):
    root = pkg.xml(workbook_part(pkg))
    out = []
    if root is None:
        return out
    for dn in root.iter(f"{{{NS_MAIN}}}definedName"):
        out.append((dn.get("name"), dn.get("localSheetId"), (dn.text or "").strip()))
    return out


def widened_name(key, have):
    """A print area or filter range of one area, widened to the right over
    the verdict columns (as its autofilter is): it still prints and filters
    the provider's table, now with the verdicts."""
    name, scope, value = key
    if name not in ("_xlnm.Print_Area", "_xlnm._FilterDatabase") or "!" not in value:
        return False
    sheet, area = value.rsplit("!", 1)
    for hname, hscope, hvalue in have:
        if hname == name and hscope == scope and "!" in hvalue:
            hsheet, harea = hvalue.rsplit("!", 1)
            if hsheet == sheet and same_or_widened(area.replace("$", ""), harea.replace("$", "")):
                return True
    return False


def check_names(orig, ann, report):
    """Every defined name kept with its sheet scope and value."""
    have = defined_names(ann)
    for key in defined_names(orig):
        if key not in have and not widened_name(key, have):
            name, scope, value = key
            where = f" (localSheetId {scope})" if scope is not None else ""
            same = [h for h in have if h[0] == name and h[1] == scope]
            now = f"; now {same[0][2]!r}" if same else "; gone"
            report.fail("names", f"defined name {name}{where} = {value!r} not kept{now}")


def check_worksheet_xml(ann, changed_or_added, report):
    """Element order, sheetData and cols order, r:ids, dimension."""
    order = {n: i for i, n in enumerate(WORKSHEET_ORDER)}
    for part in worksheet_parts(ann):
        lim = Limited(report, "worksheet-xml", part)
        try:
            root = ann.xml(part)
        except Exception as e:
            lim.fail(f"does not parse: {e}")
            lim.close()
            continue
        if local(root.tag) != "worksheet":
            lim.fail(f"root element is <{local(root.tag)}>, not <worksheet>")
        last, seen = -1, set()
        sequence = []
        for child in root:
            if not isinstance(child.tag, str):
                continue  # comments, processing instructions
            tag = local(child.tag)
            if child.tag == f"{{{NS_MC}}}AlternateContent":
                # Ordered by what its first Choice holds (controls, oleObjects).
                inner = [local(g.tag) for ch in child for g in ch if isinstance(g.tag, str)]
                if not inner:
                    continue
                tag = inner[0]
            elif not child.tag.startswith(f"{{{NS_MAIN}}}"):
                lim.fail(f"unknown child <{child.tag}> of <worksheet>")
                continue
            sequence.append(tag)
            if tag not in order:
                lim.fail(f"unknown child <{tag}> of <worksheet>")
                continue
            if tag in seen and tag not in REPEATABLE:
                lim.fail(f"<{tag}> appears more than once")
            if order[tag] < last:
                lim.fail(
                    f"<{tag}> comes after <{WORKSHEET_ORDER[last]}>; the schema order is "
                    f"... {tag} ... {WORKSHEET_ORDER[last]} ... (children: {', '.join(sequence)})"
                )
            last = max(last, order[tag])
            seen.add(tag)

        # sheetData
        max_r = max_c = 0
        min_r = min_c = None
        sheet_data = root.find(f"{{{NS_MAIN}}}sheetData")
        if sheet_data is not None:
            prev_r = 0
            for row in sheet_data.iter(f"{{{NS_MAIN}}}row"):
                r = int(row.get("r")) if row.get("r") else prev_r + 1
                if r <= prev_r:
                    lim.fail(f"row {r} comes after row {prev_r} (rows must ascend strictly)")
                prev_r = r
                prev_c = 0
                for c in row.iter(f"{{{NS_MAIN}}}c"):
                    ref = c.get("r")
                    if ref:
                        rc = split_ref(ref)
                        if rc is None:
                            lim.fail(f"cell reference {ref!r} is not valid")
                            continue
                        if rc[0] != r:
                            lim.fail(f"cell {ref} is inside row {r}")
                        col = rc[1]
                    else:
                        col = prev_c + 1
                    if col <= prev_c:
                        lim.fail(
                            f"cell {ref or get_column_letter(col) + str(r)} comes after column "
                            f"{get_column_letter(prev_c)} in row {r} (cells must ascend)"
                        )
                    prev_c = col
                    max_r, max_c = max(max_r, r), max(max_c, col)
                    min_r = r if min_r is None else min(min_r, r)
                    min_c = col if min_c is None else min(min_c, col)

        # cols
        cols = root.find(f"{{{NS_MAIN}}}cols")
        if cols is not None:
            prev_max = 0
            for col in cols.iter(f"{{{NS_MAIN}}}col"):
                lo, hi = int(col.get("min", "0")), int(col.get("max", "0"))
                if lo < 1 or hi < lo:
                    lim.fail(f"<col min={lo} max={hi}> is not a valid range")
                if lo <= prev_max:
                    lim.fail(f"<col min={lo} max={hi}> overlaps or precedes the range ending at {prev_max}")
                prev_max = max(prev_max, hi)

        # r:ids resolve
        rel_ids = {r[0] for r in read_rels(ann, rels_part_for(part))}
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            for k, v in el.attrib.items():
                if k.startswith(f"{{{NS_R}}}") and v not in rel_ids:
                    lim.fail(f"<{local(el.tag)} r:{local(k)}=\"{v}\"> has no relationship in {rels_part_for(part)}")

        # dimension covers the cells, for the sheets the patch wrote; it is
        # optional (minOccurs 0), so a sheet that never had one may lack it
        if part in changed_or_added and max_r:
            dim = root.find(f"{{{NS_MAIN}}}dimension")
            rng = split_range(dim.get("ref")) if dim is not None else None
            if dim is None:
                pass
            elif rng is None:
                lim.fail("no usable <dimension ref>")
            elif not (rng[0] <= min_r and rng[1] <= min_c and rng[2] >= max_r and rng[3] >= max_c):
                lim.fail(
                    f"<dimension ref=\"{dim.get('ref')}\"> does not cover the cells "
                    f"{get_column_letter(min_c)}{min_r}:{get_column_letter(max_c)}{max_r}"
                )
        lim.close()


def check_styles(ann, report):
    """Style indexes in range, counts right."""
    styles_part = None
    wb = workbook_part(ann)
    for _id, typ, _t, _m, resolved in read_rels(ann, rels_part_for(wb)):
        if typ.endswith("/styles") and resolved:
            styles_part = ann.real_name(resolved)
    if styles_part is None:
        return
    lim = Limited(report, "styles", styles_part)
    root = ann.xml(styles_part)

    def coll(name):
        return root.find(f"{{{NS_MAIN}}}{name}")

    sizes = {}
    for name in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs"):
        el = coll(name)
        n = 0 if el is None else len([c for c in el if isinstance(c.tag, str)])
        sizes[name] = n
        if el is not None and el.get("count") is not None and int(el.get("count")) != n:
            lim.fail(f"<{name} count=\"{el.get('count')}\"> but it holds {n}")
    numfmt_ids = set()
    if coll("numFmts") is not None:
        numfmt_ids = {int(nf.get("numFmtId")) for nf in coll("numFmts") if nf.get("numFmtId")}
    for xfs in ("cellXfs", "cellStyleXfs"):
        el = coll(xfs)
        if el is None:
            continue
        for i, xf in enumerate(el):
            for attr, target in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders")):
                v = xf.get(attr)
                if v is not None and int(v) >= sizes[target]:
                    lim.fail(f"{xfs}[{i}] {attr}={v} but there are {sizes[target]} {target}")
            nf = xf.get("numFmtId")
            if nf is not None and int(nf) >= 164 and int(nf) not in numfmt_ids:
                lim.fail(f"{xfs}[{i}] numFmtId={nf} is not defined in <numFmts>")
            x = xf.get("xfId")
            if xfs == "cellXfs" and x is not None and int(x) >= sizes["cellStyleXfs"]:
                lim.fail(f"cellXfs[{i}] xfId={x} but there are {sizes['cellStyleXfs']} cellStyleXfs")
    lim.close()

    n_xf, n_dxf = sizes["cellXfs"], sizes["dxfs"]
    for part in worksheet_parts(ann):
        lim = Limited(report, "styles", part)
        root = ann.xml(part)
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            tag = local(el.tag)
            if tag == "c" and el.get("s") and int(el.get("s")) >= n_xf:
                lim.fail(f"cell {el.get('r')} s={el.get('s')} but cellXfs holds {n_xf}")
            elif tag == "row" and el.get("s") and int(el.get("s")) >= n_xf:
                lim.fail(f"row {el.get('r')} s={el.get('s')} but cellXfs holds {n_xf}")
            elif tag == "col" and el.get("style") and int(el.get("style")) >= n_xf:
                lim.fail(f"col {el.get('min')}-{el.get('max')} style={el.get('style')} but cellXfs holds {n_xf}")
            elif tag == "cfRule" and el.get("dxfId") and int(el.get("dxfId")) >= n_dxf:
                lim.fail(f"conditional format rule dxfId={el.get('dxfId')} but dxfs holds {n_dxf}")
        lim.close()


VML_NOTE = re.compile(r"<x:ClientData[^>]*ObjectType=\"Note\"[^>]*>(.*?)</x:ClientData>", re.S | re.I)


def check_notes(ann, report):
    """Comments parts consistent with their VML shapes."""
    for part in worksheet_parts(ann):
        rels = read_rels(ann, rels_part_for(part))
        comments = [r[4] for r in rels if r[1].endswith("/comments") and r[4]]
        vmls = [r[4] for r in rels if r[1].endswith("/vmlDrawing") and r[4]]
        for cpart in comments:
            lim = Limited(report, "notes", cpart)
            root = ann.xml(cpart)
            if root is None:
                lim.fail(f"missing (related from {part})")
                lim.close()
                continue
            authors = root.find(f"{{{NS_MAIN}}}authors")
            n_authors = 0 if authors is None else len(list(authors))
            refs = []
            for cm in root.iter(f"{{{NS_MAIN}}}comment"):
                ref = cm.get("ref")
                if ref in refs:
                    lim.fail(f"two comments on {ref}")
                refs.append(ref)
                if int(cm.get("authorId", "0")) >= n_authors:
                    lim.fail(f"comment on {ref} has authorId {cm.get('authorId')} but there are {n_authors} authors")
            if not vmls:
                lim.fail(f"{part} has comments but no VML drawing: Excel shows notes from the VML")
            shapes = set()
            for vpart in vmls:
                data = ann.read(vpart)
                if data is None:
                    continue
                for m in VML_NOTE.finditer(data.decode("utf-8", "replace")):
                    row = re.search(r"<x:Row>\s*(\d+)\s*</x:Row>", m.group(1))
                    col = re.search(r"<x:Column>\s*(\d+)\s*</x:Column>", m.group(1))
                    if row and col:
                        shapes.add((int(row.group(1)) + 1, int(col.group(1)) + 1))
            for ref in refs:
                rc = split_ref(ref)
                if rc and rc not in shapes and vmls:
                    lim.fail(f"comment on {ref} has no VML note shape (x:Row {rc[0] - 1}, x:Column {rc[1] - 1})")
            lim.close()


def check_content_types(ann, report):
    """Content types and relationship targets."""
    check = "content-types"
    cts = content_types(ann)
    if ann.read("[Content_Types].xml") is None:
        report.fail(check, "[Content_Types].xml is missing")
        return
    defaults, overrides = cts
    for part in ann.parts():
        if part == "[Content_Types].xml":
            continue
        if type_of(ann, part, cts) is None:
            report.fail(check, f"part {part} has no content type (no Override, no Default for its extension)")
    for name in overrides:
        if not ann.has(name):
            report.fail(check, f"Override for /{name} names a part that does not exist")
    for rels_part in [p for p in ann.parts() if p.endswith(".rels")]:
        ids = set()
        for rid, typ, target, mode, resolved in read_rels(ann, rels_part):
            if rid in ids:
                report.fail(check, f"{rels_part}: relationship Id {rid} used twice")
            ids.add(rid)
            if mode == "External":
                continue
            if not ann.has(resolved):
                report.fail(check, f"{rels_part}: {rid} targets {target} ({resolved}), which does not exist")
                continue
            want = REL_TARGET_TYPES.get(typ.rsplit("/", 1)[-1]) if typ.startswith(REL_BASE) else None
            got = type_of(ann, resolved, cts)
            if want and got != want:
                report.fail(check, f"{rels_part}: {rid} ({typ.rsplit('/', 1)[-1]}) targets {resolved} of type {got}, expected {want}")


def check_workbook_xml(orig, ann, macro, report):
    """sheetIds, r:ids, macro-enabled type and VBA project."""
    check = "workbook-xml"
    wb = workbook_part(ann)
    root = ann.xml(wb)
    if root is None:
        report.fail(check, f"workbook part {wb} is missing")
        return
    rels = {r[0]: r for r in read_rels(ann, rels_part_for(wb))}
    ids, names = set(), set()
    for sheet in root.iter(f"{{{NS_MAIN}}}sheet"):
        sid, name, rid = sheet.get("sheetId"), sheet.get("name"), sheet.get(f"{{{NS_R}}}id")
        if sid in ids:
            report.fail(check, f"sheetId {sid} used twice (sheet '{name}')")
        ids.add(sid)
        if name is None or name.lower() in names:
            report.fail(check, f"sheet name {name!r} missing or used twice")
        names.add((name or "").lower())
        if rid not in rels:
            report.fail(check, f"sheet '{name}' r:id {rid} does not resolve in {rels_part_for(wb)}")
    for el in root.iter():
        if not isinstance(el.tag, str) or local(el.tag) == "sheet":
            continue
        for k, v in el.attrib.items():
            if k.startswith(f"{{{NS_R}}}") and v not in rels:
                report.fail(check, f"<{local(el.tag)} r:{local(k)}=\"{v}\"> does not resolve in {rels_part_for(wb)}")
    if macro:
        got = type_of(ann, wb)
        if got != CT_MACRO_MAIN:
            report.fail(check, f"workbook content type is {got}, expected {CT_MACRO_MAIN} for a macro workbook")
        ovba = orig.read("xl/vbaProject.bin")
        avba = ann.read("xl/vbaProject.bin")
        if ovba is not None and avba != ovba:
            report.fail(check, "xl/vbaProject.bin is missing or changed")
        if ovba is not None and not any(r[1].endswith("/vbaProject") for r in rels.values()):
            report.fail(check, "the workbook no longer relates xl/vbaProject.bin")


def check_app_xml(pkg, report):
    """docProps/app.xml vectors consistent and listing every sheet."""
    check = "app-xml"
    root = pkg.xml("docProps/app.xml")
    if root is None:
        return
    vectors = {}
    for name in ("HeadingPairs", "TitlesOfParts"):
        el = root.find(f"{{{NS_EP}}}{name}")
        vec = None if el is None else el.find(f"{{{NS_VT}}}vector")
        if vec is None:
            continue
        items = [c for c in vec if isinstance(c.tag, str)]
        if vec.get("size") is not None and int(vec.get("size")) != len(items):
            report.fail(check, f"{name} vector size={vec.get('size')} but it holds {len(items)}")
        vectors[name] = items
    if "HeadingPairs" in vectors and "TitlesOfParts" in vectors:
        total = 0
        for v in vectors["HeadingPairs"]:
            for x in v.iter(f"{{{NS_VT}}}i4"):
                total += int(x.text or 0)
        if total != len(vectors["TitlesOfParts"]):
            report.fail(check, f"HeadingPairs counts add up to {total} but TitlesOfParts lists {len(vectors['TitlesOfParts'])}")
    if "TitlesOfParts" in vectors:
        titles = {(t.text or "") for t in vectors["TitlesOfParts"]}
        for name in sheet_parts_by_name(pkg):
            if name not in titles:
                report.fail(check, f"sheet '{name}' is not listed in docProps/app.xml TitlesOfParts")


def shared_strings(pkg):
    """The shared string table as a list of texts."""
    wb = workbook_part(pkg)
    for _id, typ, _t, _m, resolved in read_rels(pkg, rels_part_for(wb)):
        if typ.endswith("/sharedStrings") and resolved and pkg.has(resolved):
            out = []
            for si in pkg.xml(resolved):
                out.append(text_of(si))
            return out
    return []


def text_of(el):
    """The text of an <si> or <is>: its <t> elements, phonetic runs left out."""
    parts = []

    def walk(e):
        for ch in e:
            if local(ch.tag) == "rPh":
                continue
            if local(ch.tag) == "t":
                parts.append(ch.text or "")
            else:
                walk(ch)

    walk(el)
    return "".join(parts)


def unescape_x(text):
    """Decode the _xHHHH_ escapes of OOXML strings."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text or "")


def cell_texts(pkg, sheet_root, sst, wanted):
    """{(row, col): text} for the wanted cells of a worksheet tree."""
    out = {}
    sheet_data = sheet_root.find(f"{{{NS_MAIN}}}sheetData")
    if sheet_data is None:
        return out
    prev_r = 0
    for row in sheet_data.iter(f"{{{NS_MAIN}}}row"):
        r = int(row.get("r")) if row.get("r") else prev_r + 1
        prev_r, prev_c = r, 0
        for c in row.iter(f"{{{NS_MAIN}}}c"):
            rc = split_ref(c.get("r")) if c.get("r") else (r, prev_c + 1)
            if rc is None:
                continue
            prev_c = rc[1]
            if rc not in wanted:
                continue
            t = c.get("t", "n")
            v = c.find(f"{{{NS_MAIN}}}v")
            if t == "inlineStr":
                is_ = c.find(f"{{{NS_MAIN}}}is")
                out[rc] = "" if is_ is None else text_of(is_)
            elif t == "s" and v is not None and (v.text or "").strip().isdigit():
                i = int(v.text)
                out[rc] = sst[i] if i < len(sst) else f"<shared string {i} missing>"
            elif v is not None:
                out[rc] = v.text or ""
    return out


def check_tables(pkg, report):
    """Table headers, columns, autoFilter, unique ids and names (from the XML)."""
    check = "tables"
    sst = None
    ids, names = {}, {}
    sheet_names = {v: k for k, v in sheet_parts_by_name(pkg).items()}
    for part in worksheet_parts(pkg):
        tables = [r[4] for r in read_rels(pkg, rels_part_for(part)) if r[1].endswith("/table") and r[4]]
        if not tables:
            continue
        sheet_root = pkg.xml(part)
        for tpart in tables:
            if not pkg.has(tpart):
                continue  # reported by the content-types check
            t = pkg.xml(tpart)
            name = t.get("displayName") or t.get("name") or "?"
            where = f"{tpart} (table {name} on '{sheet_names.get(part, part)}')"
            tid = t.get("id")
            if tid in ids:
                report.fail(check, f"{where}: id {tid} also used by {ids[tid]}")
            ids[tid] = where
            if name.lower() in names:
                report.fail(check, f"{where}: name {name} also used by {names[name.lower()]}")
            names[name.lower()] = where
            rng = split_range(t.get("ref"))
            if rng is None:
                report.fail(check, f"{where}: ref {t.get('ref')!r} is not a range")
                continue
            r1, c1, r2, c2 = rng
            tc = t.find(f"{{{NS_MAIN}}}tableColumns")
            cols = [] if tc is None else [c for c in tc if local(c.tag) == "tableColumn"]
            if tc is not None and tc.get("count") is not None and int(tc.get("count")) != len(cols):
                report.fail(check, f"{where}: <tableColumns count=\"{tc.get('count')}\"> but it holds {len(cols)}")
            if len(cols) != c2 - c1 + 1:
                report.fail(check, f"{where}: {len(cols)} tableColumns but ref {t.get('ref')} is {c2 - c1 + 1} wide")
            seen_names, seen_ids = set(), set()
            for col in cols:
                cname = unescape_x(col.get("name"))
                if cname.lower() in seen_names:
                    report.fail(check, f"{where}: column name {cname!r} used twice")
                if col.get("id") in seen_ids:
                    report.fail(check, f"{where}: column id {col.get('id')} used twice")
                seen_names.add(cname.lower())
                seen_ids.add(col.get("id"))
            if t.get("headerRowCount", "1") != "0":
                if sst is None:
                    sst = shared_strings(pkg)
                wanted = {(r1, c1 + i) for i in range(len(cols))}
                texts = cell_texts(pkg, sheet_root, sst, wanted)
                for i, col in enumerate(cols):
                    c = c1 + i
                    if c > c2:
                        break
                    text = unescape_x(texts.get((r1, c), ""))
                    cname = unescape_x(col.get("name"))
                    if text != cname:
                        report.fail(
                            check,
                            f"{where}: header {get_column_letter(c)}{r1} is {text!r} but tableColumn {i + 1} is {cname!r}",
                        )
            af = t.find(f"{{{NS_MAIN}}}autoFilter")
            if af is not None and af.get("ref"):
                want_r2 = r2 - int(t.get("totalsRowCount", "0") or 0)
                want = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{want_r2}"
                if split_range(af.get("ref")) != split_range(want):
                    report.fail(check, f"{where}: autoFilter ref {af.get('ref')} does not match the table ({want})")


def check_libreoffice(ann_path, report):
    """LibreOffice converts the annotated copy to PDF."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        report.skip("soffice not installed")
        return
    with tempfile.TemporaryDirectory(prefix="check-annotated-") as tmp:
        profile = os.path.join(tmp, "profile")
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        cmd = [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            out,
            os.path.abspath(ann_path),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            report.fail("libreoffice", "soffice did not finish converting to PDF within 120 s")
            return
        pdfs = [f for f in os.listdir(out) if f.lower().endswith(".pdf")]
        if not pdfs or os.path.getsize(os.path.join(out, pdfs[0])) == 0:
            text = output.decode("utf-8", "replace").strip().replace("\n", " | ")
            report.fail("libreoffice", f"soffice made no PDF (exit {proc.returncode}): {text[:300]}")
        else:
            report.info(f"LibreOffice converted the annotated copy to PDF ({os.path.getsize(os.path.join(out, pdfs[0]))} bytes)")


# --------------------------------------------------------------------------


def structural_problems(pkg, path, touched, orig, macro):
    """(check, message) for every structural problem of one package."""
    col = Collector()
    checks = [
        ("worksheet-xml", lambda: check_worksheet_xml(pkg, touched, col)),
        ("styles", lambda: check_styles(pkg, col)),
        ("notes", lambda: check_notes(pkg, col)),
        ("content-types", lambda: check_content_types(pkg, col)),
        ("workbook-xml", lambda: check_workbook_xml(orig, pkg, macro, col)),
        ("app-xml", lambda: check_app_xml(pkg, col)),
        ("tables", lambda: check_tables(pkg, col)),
    ]
    for name, run in checks:
        try:
            run()
        except Exception as e:  # a part that does not parse, an odd file
            col.fail(name, f"check could not run: {type(e).__name__}: {e}")
    return col.problems


def emit_new(report, problems, already):
    """Print the problems not already in the original, MAX_PER_CHECK per check and scope."""
    shown, hidden, old = {}, {}, 0
    for check, message in problems:
        if (check, message) in already:
            old += 1
            continue
        key = (check, message.split(": ", 1)[0])
        shown[key] = shown.get(key, 0) + 1
        if shown[key] <= MAX_PER_CHECK:
            report.fail(check, message)
        else:
            hidden[key] = hidden.get(key, 0) + 1
    for (check, scope), n in hidden.items():
        report.fail(check, f"{scope}: ... and {n} more")
    if old:
        report.info(f"{old} structural problem(s) already in the original, not counted")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check that ANNOTATED is a faithful patch of ORIGINAL (see the module docstring).",
    )
    parser.add_argument("original")
    parser.add_argument("annotated")
    parser.add_argument(
        "--changed-ok",
        nargs="+",
        action="extend",
        default=[],
        metavar="PART",
        help="a further part name that may differ (repeatable)",
    )
    parser.add_argument("--no-libreoffice", action="store_true", help="skip the LibreOffice conversion")
    args = parser.parse_args(argv)  # exits 2 on usage errors

    for path in (args.original, args.annotated):
        if not os.path.isfile(path):
            print(f"usage error: {path} is not a file", file=sys.stderr)
            return 2
    try:
        orig = Package(args.original)
    except zipfile.BadZipFile as e:
        print(f"usage error: ORIGINAL {args.original} is not a zip package: {e}", file=sys.stderr)
        return 2

    report = Report()
    try:
        ann = Package(args.annotated)
    except zipfile.BadZipFile as e:
        report.fail("parts", f"annotated copy {args.annotated} is not a zip package: {e}")
        print("FAILED: 1 problem (the annotated copy is not a zip package)")
        return 1

    macro = args.original.lower().endswith((".xlsm", ".xltm")) or orig.has("xl/vbaProject.bin")
    changed, added = check_parts(orig, ann, set(args.changed_ok), report)
    check_xml(ann, changed | added, report)
    check_workbook(args.original, args.annotated, report)
    check_names(orig, ann, report)

    # Structural checks judge the patch: a problem the original already has
    # is listed as info, not counted.
    before = set(structural_problems(orig, args.original, set(), orig, macro))
    after = structural_problems(ann, args.annotated, changed | added, orig, macro)
    emit_new(report, after, before)
    if args.no_libreoffice:
        report.skip("LibreOffice check (--no-libreoffice)")
    else:
        check_libreoffice(args.annotated, report)

    if report.failures:
        print(
            f"FAILED: {report.failures} problem(s) in check(s) {', '.join(sorted(report.failed_checks))}"
            f" ({args.annotated} against {args.original})"
        )
        return 1
    extra = f"; skipped: {'; '.join(report.skipped)}" if report.skipped else ""
    print(f"OK: all checks passed ({args.annotated} against {args.original}){extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
