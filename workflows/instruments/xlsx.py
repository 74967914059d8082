"""Instruments as Excel workbooks (sheets meta, components, indicators), so the DPK can import the official one.

Reading turns the sheets into the same plain data as the YAML file and runs the same checks; every
problem names its cell (``indicators!F12``). Columns are found by their header, so their order is free.
"""
from __future__ import annotations

import io
import re
import warnings
import zipfile
from typing import Any

from flask_babel import gettext as _

from workflows.instruments.build import build_instrument
from workflows.instruments.datafile import Bilingual, Checker, FieldPath
from workflows.instruments.model import OPTION_LETTERS, Instrument
from workflows.yamlsource import DataFileError, Problem

META, COMPONENTS, INDICATORS = "meta", "components", "indicators"
HEADERS = {
    META: ("field", "value", "min", "id", "en"),
    COMPONENTS: ("component", "subcomponent", "weight", "title_id", "title_en"),
    INDICATORS: ("subcomponent", "code", "text_id", "text_en",
                 *(f"{letter}_{lang}" for letter in OPTION_LETTERS for lang in ("id", "en")),
                 "evidence_id", "evidence_en", "measure_figure", "measure_per", "measure_bands"),
}
MAX_BYTES = 5_000_000
MAX_UNPACKED = 50_000_000  # an instrument is a few hundred rows; anything bigger is not one
MAX_ROWS = 5_000
# "2.500" is 2,500 to an Indonesian reader but 2.5 to float(): refuse it rather than guess.
AMBIGUOUS = re.compile(r"^[1-9]\d{0,2}(\.\d{3})+$")

Row = dict[str, Any]


def instrument_to_xlsx(inst: Instrument) -> bytes:
    """The instrument as an XLSX workbook."""
    from openpyxl import Workbook  # only exports need it; keeps the app start light

    book = Workbook()
    meta = book.active
    meta.title = META
    for row in (list(HEADERS[META]), ["code", inst.code], ["version", inst.version],
                ["library_types", ", ".join(inst.library_types)], ["title", None, None, *_pair(inst.title)],
                ["source", inst.source],
                *(["score_" + letter, score] for letter, score in zip(OPTION_LETTERS, inst.option_scores)),
                *(["grade", g.grade, g.min, *_pair(g.label)] for g in inst.grades),
                ["not_accredited", None, None, *_pair(inst.not_accredited)]):
        meta.append(row)
    components = book.create_sheet(COMPONENTS)
    indicators = book.create_sheet(INDICATORS)
    components.append(list(HEADERS[COMPONENTS]))
    indicators.append(list(HEADERS[INDICATORS]))
    for comp in inst.components:
        components.append([comp.code, None, comp.weight, *_pair(comp.title)])
        for sub in comp.subcomponents:
            components.append([comp.code, sub.code, None, *_pair(sub.title)])
            for ind in sub.indicators:
                measure = ind.measure
                indicators.append([sub.code, ind.code, *_pair(ind.text),
                                   *(cell for opt in ind.options for cell in _pair(opt.text)),
                                   *(_pair(ind.evidence) if ind.evidence else (None, None)),
                                   measure.figure if measure else None, measure.per if measure else None,
                                   _bands_text(measure.bands) if measure else None])
    for sheet in book.worksheets:
        for cells in sheet.iter_rows():
            for cell in cells:
                if cell.data_type == "f":  # a text starting with "=" stays text, never a formula
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _pair(text: Bilingual) -> tuple[str, str | None]:
    return text.id, text.en or None


def _number_text(value: float) -> str:
    text = str(int(value)) if float(value).is_integer() else repr(float(value))
    return text + "0" if AMBIGUOUS.match(text) else text  # 1.125 -> "1.1250", read back unambiguously


def _bands_text(bands: Any) -> str:
    """``a: 2500; b: 2000; ...``; a band with a maximum is written ``a: 0.65..0.75``."""
    return "; ".join(f"{b.option}: {_number_text(b.min)}" + (f"..{_number_text(b.max)}" if b.max is not None else "")
                     for b in bands)


def instrument_from_xlsx(data: bytes, source: str) -> Instrument:
    """Read an instrument workbook; DataFileError naming sheet, row and column for every fault."""
    sheets = _read_sheets(data, source)
    cells: dict[FieldPath, str] = {(): META, ("components",): COMPONENTS}
    check = Checker(source, lambda path: _locate(cells, path))
    plain: dict[str, Any] = {}
    rows = {name: _rows(sheets, name, check) for name in HEADERS}
    _meta(rows[META], plain, cells, check)
    subs = _components(rows[COMPONENTS], plain, cells, check)
    _indicators(rows[INDICATORS], plain, subs, cells, check)
    inst = build_instrument(plain, check)
    check.raise_if_any()
    assert inst is not None  # no problems means the builder returned an instrument
    return inst


def _locate(cells: dict[FieldPath, str], path: FieldPath) -> Problem:
    """The cell of the longest known prefix of ``path``."""
    for end in range(len(path), -1, -1):
        if path[:end] in cells:
            return Problem(0, cells[path[:end]], "")
    return Problem(0, META, "")


def _read_sheets(data: bytes, source: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each sheet's rows as value tuples (all sheets; a workbook is small)."""
    from openpyxl import load_workbook

    unreadable = DataFileError(source, [Problem(0, "", _("the file is not a valid Excel (.xlsx) workbook"))])
    if len(data) > MAX_BYTES:
        raise DataFileError(source, [Problem(0, "", _("the file is too large for an instrument"))])
    book = None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # zipfile never inflates past the declared sizes, so they bound the work.
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
                raise DataFileError(source, [Problem(0, "", _("the file is too large for an instrument"))])
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter for the values.
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            out = {}
            for sheet in book.worksheets:
                sheet.reset_dimensions()  # some programs write a wrong used range
                out[sheet.title] = [row for _, row in zip(range(MAX_ROWS), sheet.iter_rows(values_only=True))]
            return out
    except DataFileError:
        raise
    # A damaged workbook can fail anywhere inside zipfile or openpyxl, with almost any exception type.
    except Exception as error:  # noqa: BLE001
        raise unreadable from error
    finally:
        if book is not None:
            book.close()


def _rows(sheets: dict[str, list[tuple[Any, ...]]], name: str, check: Checker) -> list[tuple[int, Row, dict[str, str]]]:
    """(row number, values by header, cell reference by header) of the non-empty rows of one sheet."""
    from openpyxl.utils import get_column_letter

    if name not in sheets:
        check.add_at(name, _("the workbook has no sheet named %(sheet)s", sheet=name))
        return []
    table = sheets[name]
    header = [str(h).strip().lower() if h is not None else "" for h in (table[0] if table else ())]
    missing = [h for h in HEADERS[name] if h not in header]
    if missing:
        check.add_at(f"{name}!1", _("missing columns: %(names)s", names=", ".join(missing)))
        return []
    columns = {h: header.index(h) for h in HEADERS[name]}
    out = []
    for number, values in enumerate(table[1:], start=2):
        row = {h: _clean(values[i]) if i < len(values) else None for h, i in columns.items()}
        if any(v is not None for v in row.values()):
            out.append((number, row, {h: f"{name}!{get_column_letter(i + 1)}{number}" for h, i in columns.items()}))
    return out


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _text_pair(row: Row, ref: dict[str, str], id_col: str, en_col: str, path: FieldPath,
               cells: dict[FieldPath, str]) -> dict[str, Any] | None:
    """``{id, en}`` from two columns, their cells registered under ``path``."""
    cells.update({path: ref[id_col], (*path, "id"): ref[id_col], (*path, "en"): ref[en_col]})
    if row[id_col] is None and row[en_col] is None:
        return None
    return {"id": row[id_col], "en": row[en_col]} if row[en_col] is not None else {"id": row[id_col]}


def _meta(rows: list[tuple[int, Row, dict[str, str]]], plain: dict[str, Any], cells: dict[FieldPath, str],
          check: Checker) -> None:
    scalars = {"code", "version", "source"}
    pairs = {"title", "not_accredited"}
    for _number, row, ref in rows:
        field = str(row["field"] or "").lower()
        if (("option_scores", field[6:]) if field.startswith("score_") else (field,)) in cells:
            check.add_at(ref["field"], _("this field appears twice"))
        elif field in scalars:
            plain[field] = row["value"]
            cells[(field,)] = ref["value"]
        elif field in pairs:
            plain[field] = _text_pair(row, ref, "id", "en", (field,), cells)
        elif field == "library_types":
            plain[field] = [t.strip() for t in str(row["value"] or "").split(",") if t.strip()]
            cells[(field,)] = ref["value"]
        elif field.startswith("score_") and field[6:] in OPTION_LETTERS:
            plain.setdefault("option_scores", {})[field[6:]] = row["value"]
            cells[("option_scores",)] = cells[("option_scores", field[6:])] = ref["value"]
        elif field == "grade":
            grades = plain.setdefault("grades", [])
            path: FieldPath = ("grades", len(grades))
            cells.update({path: ref["field"], (*path, "grade"): ref["value"], (*path, "min"): ref["min"]})
            grades.append({"grade": row["value"], "min": row["min"],
                           "label": _text_pair(row, ref, "id", "en", (*path, "label"), cells)})
        else:
            check.add_at(ref["field"], _("unknown field %(name)s", name=row["field"]))


def _components(rows: list[tuple[int, Row, dict[str, str]]], plain: dict[str, Any], cells: dict[FieldPath, str],
                check: Checker) -> dict[str, FieldPath]:
    """Fill ``plain["components"]``; returns each sub-component's path by its code."""
    components: list[dict[str, Any]] = plain.setdefault("components", [])
    where: dict[str, int] = {}
    subs: dict[str, FieldPath] = {}
    for _number, row, ref in rows:
        code, sub_code = row["component"], row["subcomponent"]
        if sub_code is None:
            path: FieldPath = ("components", len(components))
            where.setdefault(str(code), len(components))
            cells.update({path: ref["component"], (*path, "code"): ref["component"], (*path, "weight"): ref["weight"],
                          (*path, "subcomponents"): ref["component"]})
            components.append({"code": code, "title": _text_pair(row, ref, "title_id", "title_en", (*path, "title"),
                                                                 cells),
                               "weight": row["weight"], "subcomponents": []})
            continue
        if str(code) not in where:
            check.add_at(ref["component"], _("unknown component %(code)s (list the component on a row of its "
                                             "own above its sub-components)", code=code))
            continue
        owner = components[where[str(code)]]
        path = ("components", where[str(code)], "subcomponents", len(owner["subcomponents"]))
        subs.setdefault(str(sub_code), path)
        cells.update({path: ref["subcomponent"], (*path, "code"): ref["subcomponent"],
                      (*path, "indicators"): ref["subcomponent"]})
        owner["subcomponents"].append({"code": sub_code, "indicators": [],
                                       "title": _text_pair(row, ref, "title_id", "title_en", (*path, "title"), cells)})
        if row["weight"] is not None:
            check.add_at(ref["weight"], _("a sub-component has no weight of its own; leave this cell empty"))
    return subs


def _indicators(rows: list[tuple[int, Row, dict[str, str]]], plain: dict[str, Any], subs: dict[str, FieldPath],
                cells: dict[FieldPath, str], check: Checker) -> None:
    for _number, row, ref in rows:
        sub_path = subs.get(str(row["subcomponent"]))
        if sub_path is None:
            check.add_at(ref["subcomponent"], _("unknown sub-component %(code)s", code=row["subcomponent"]))
            continue
        owner = _at(plain, sub_path)
        path: FieldPath = (*sub_path, "indicators", len(owner["indicators"]))
        cells.update({path: ref["code"], (*path, "code"): ref["code"], (*path, "options"): ref["a_id"]})
        indicator: dict[str, Any] = {"code": row["code"],
                                     "text": _text_pair(row, ref, "text_id", "text_en", (*path, "text"), cells),
                                     "options": {}}
        for letter in OPTION_LETTERS:
            indicator["options"][letter] = _text_pair(row, ref, f"{letter}_id", f"{letter}_en",
                                                      (*path, "options", letter), cells)
        evidence = _text_pair(row, ref, "evidence_id", "evidence_en", (*path, "evidence"), cells)
        if evidence is not None:
            indicator["evidence"] = evidence
        if any(row[h] is not None for h in ("measure_figure", "measure_per", "measure_bands")):
            cells.update({(*path, "measure"): ref["measure_figure"], (*path, "measure", "figure"): ref["measure_figure"],
                          (*path, "measure", "per"): ref["measure_per"],
                          (*path, "measure", "bands"): ref["measure_bands"]})
            bands, readable = _parse_bands(row["measure_bands"], ref["measure_bands"], check)
            if readable:  # an unreadable cell is reported once, not again as a missing measure part
                indicator["measure"] = {"figure": row["measure_figure"], "bands": bands}
                if row["measure_per"] is not None:
                    indicator["measure"]["per"] = row["measure_per"]
        owner["indicators"].append(indicator)


def _at(plain: dict[str, Any], path: FieldPath) -> dict[str, Any]:
    """The dict at ``path`` inside the plain data being built."""
    node: Any = plain
    for part in path:
        node = node[part]
    return node


def _parse_bands(text: Any, ref: str, check: Checker) -> tuple[list[dict[str, Any]] | None, bool]:
    """``a: 2500; b: 2000; e: 0`` (or ``a: 0.65..0.75``) -> (band dicts, readable); faults reported at the cell."""
    if text is None:
        return None, True
    bands = []
    readable = True
    for part in (p.strip() for p in str(text).split(";")):
        letter, sep, bounds = part.partition(":")
        low, dots, high = (b.strip() for b in bounds.partition(".."))
        if not part:
            continue
        band = None
        if sep and not any(AMBIGUOUS.match(b) for b in (low, high)):
            try:
                band = {"option": letter.strip(), "min": float(low), **({"max": float(high)} if dots else {})}
            except ValueError:
                pass
        if band is None:
            readable = False
            check.add_at(ref, _("cannot read the band %(band)s; write bands as \"a: 2500; b: 2000\" or "
                                "\"a: 0.65..0.75\" (no thousands separators, a point for decimals)", band=part))
        else:
            bands.append(band)
    return bands, readable
