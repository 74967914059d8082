"""Exports for the annual Perpusnas census (collection, staff, members, visits per library) and the
city report to the mayor, as XLSX, CSV and PDF."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ils import metrics
from ils.authz import Actor
from ils.extensions import db
from ils.models import Library, LibraryType
from workflows.services import accreditation, goals, iplm
from workflows.services.access import visible_libraries
from workflows.services.figures import activity_totals_by_library, facts_of, open_days_per_week


@dataclass(frozen=True)
class Column:
    """One column of the census table."""

    key: str
    label: Any
    integer: bool = True


CENSUS_COLUMNS: tuple[Column, ...] = (
    Column("code", _l("Code"), False), Column("name", _l("Library"), False), Column("type", _l("Type"), False),
    Column("kecamatan", _l("Kecamatan"), False), Column("npp", _l("NPP"), False),
    Column("titles", _l("Titles")), Column("copies", _l("Copies")),
    Column("staff", _l("Staff")), Column("staff_trained", _l("Trained staff")),
    Column("members", _l("Active members")), Column("new_members", _l("New members")),
    Column("visits", _l("Visits")), Column("visits_per_day", _l("Visits per open day"), False),
    Column("loans", _l("Loans")), Column("activities", _l("Activities")), Column("participants", _l("Participants")),
    Column("grade", _l("Accreditation"), False), Column("valid_until", _l("Valid until"), False),
)


def census_rows(*, actor: Actor, year: int, today: date) -> list[dict[str, Any]]:
    """One row per library the actor may see: the KTAK figures (koleksi, tenaga, anggota, kunjungan) and more."""
    start, end = date(year, 1, 1), min(date(year, 12, 31), today)
    visible = visible_libraries(actor)
    stmt = select(Library).where(Library.active.is_(True), Library.type != LibraryType.INDUK).order_by(Library.code)
    if visible is not None:
        stmt = stmt.where(Library.id.in_(visible))
    libraries = list(db.session.scalars(stmt))
    ids = [lib.id for lib in libraries]

    def each(name: str, since: date | None = None) -> dict[int, float]:
        # One grouped query per figure for every library (the census covers the whole city).
        return metrics.values(name, library_ids=ids, start=since, end=end)

    titles, copies, members = each("catalog.titles"), each("catalog.copies"), each("circulation.active_members")
    new_members, visits, loans = (each("circulation.new_members", start), each("circulation.visits", start),
                                  each("circulation.loans", start))
    held = activity_totals_by_library(ids, start, end)
    rows = []
    days = (end - start).days + 1
    for lib in libraries:
        facts = facts_of(lib.id)
        per_week = open_days_per_week(lib)
        activities, participants = held.get(lib.id, (0, 0))
        result = accreditation.current_result(lib.id, today=end)
        rows.append({
            "code": lib.code, "name": lib.name, "type": str(lib.type.label), "kecamatan": lib.kecamatan or "",
            "npp": lib.npp or "",
            "titles": int(titles[lib.id]), "copies": int(copies[lib.id]),
            "staff": int(facts["staff_total"]) if "staff_total" in facts else None,
            "staff_trained": int(facts["staff_trained"]) if "staff_trained" in facts else None,
            "members": int(members[lib.id]), "new_members": int(new_members[lib.id]),
            "visits": int(visits[lib.id]),
            "visits_per_day": round(visits[lib.id] / (per_week * days / 7), 1) if per_week else None,
            "loans": int(loans[lib.id]),
            "activities": activities, "participants": participants,
            "grade": (result.grade or str(_l("not accredited"))) if result else "",
            "valid_until": result.valid_until.isoformat() if result and result.valid_until else "",
        })
    return rows


def census_csv(rows: list[dict[str, Any]]) -> bytes:
    """The census table as CSV (UTF-8 with a BOM so spreadsheet programs read the accents)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(c.label) for c in CENSUS_COLUMNS])
    for row in rows:
        writer.writerow(["" if row[c.key] is None else row[c.key] for c in CENSUS_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def census_xlsx(rows: list[dict[str, Any]], *, year: int) -> bytes:
    """The census table as an XLSX workbook with a totals row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = f"Sensus {year}"
    sheet.append([str(c.label) for c in CENSUS_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[c.key] for c in CENSUS_COLUMNS])
    totals: list[Any] = [str(_l("Total"))] + [""] * 4
    for column in CENSUS_COLUMNS[5:]:
        if column.integer:
            totals.append(sum(row[column.key] or 0 for row in rows))
        else:
            totals.append("")
    sheet.append(totals)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "C2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def census_pdf(rows: list[dict[str, Any]], *, title: str) -> bytes:
    """The census table as an A4 landscape PDF."""
    from reportlab.platypus import Paragraph

    from ils.pdf import fonts

    regular, bold = fonts()
    styles = _styles(regular, bold)
    table = [tuple(str(c.label) for c in CENSUS_COLUMNS[1:])]
    table += [tuple("–" if r[c.key] is None or r[c.key] == "" else r[c.key] for c in CENSUS_COLUMNS[1:]) for r in rows]
    return _build(title, [Paragraph(title, styles["Title"]), _table(table, regular, bold)])


def _styles(regular: str, bold: str) -> Any:
    from reportlab.lib.styles import getSampleStyleSheet

    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = bold if style.name.startswith("Heading") or style.name == "Title" else regular
    return styles


def _build(title: str, story: list[Any]) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=1.2 * cm, rightMargin=1.2 * cm,
                                 topMargin=1.2 * cm, bottomMargin=1.2 * cm, title=title)
    document.build(story)
    return buffer.getvalue()


def city_summary(*, actor: Actor, year: int, today: date) -> dict[str, Any]:
    """What the mayor's report says: totals, IPLM, accreditation and goals."""
    rows = census_rows(actor=actor, year=year, today=today)
    totals = {c.key: sum(r[c.key] or 0 for r in rows) for c in CENSUS_COLUMNS if c.integer}
    graded = [r for r in rows if r["grade"] in ("A", "B", "C")]
    index = iplm.compute(year, today=today)
    goal_rows = [(g, goals.progress_of(g, min(date(year, 12, 31), today)))
                 for g in goals.list_goals(actor=actor) if g.library_id is None]
    return {"year": year, "rows": rows, "totals": totals, "libraries": len(rows), "accredited": len(graded),
            "grades": {g: sum(1 for r in graded if r["grade"] == g) for g in ("A", "B", "C")},
            "iplm": index, "goals": goal_rows}


def summary_facts(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """The report's headline figures as (label, value) pairs."""
    t = summary["totals"]
    facts = [
        (str(_l("Libraries")), summary["libraries"]),
        (str(_l("Accredited")), f'{summary["accredited"]} (A {summary["grades"]["A"]}, B {summary["grades"]["B"]}, '
                                f'C {summary["grades"]["C"]})'),
        (str(_l("Titles")), t["titles"]), (str(_l("Copies")), t["copies"]), (str(_l("Active members")), t["members"]),
        (str(_l("Visits")), t["visits"]), (str(_l("Loans")), t["loans"]),
        (str(_l("Activity participants")), t["participants"]),
    ]
    index = summary["iplm"]
    facts.append(("IPLM", f"{index.index:.2f} ({index.band.label})" if index.index is not None
                  else str(_l("not computable yet"))))
    return facts


def city_xlsx(summary: dict[str, Any], *, title: str) -> bytes:
    """The city report as a workbook: a summary sheet (figures, IPLM, goals) and the census sheet."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font

    book = load_workbook(io.BytesIO(census_xlsx(summary["rows"], year=summary["year"])))
    sheet = book.create_sheet(str(_l("Summary")), 0)
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    for label, value in summary_facts(summary):
        sheet.append([label, value])
    if summary["goals"]:
        sheet.append([])
        sheet.append([str(_l("Goal")), str(_l("Target")), str(_l("Now")), str(_l("Status"))])
        for goal, progress in summary["goals"]:
            sheet.append([goal.title, goal.target, progress.value, progress.label])
    sheet.column_dimensions["A"].width = 48
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def report_pdf(summary: dict[str, Any], *, title: str) -> bytes:
    """The city report as an A4 landscape PDF: summary figures, IPLM, goals and the census table."""
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, Spacer

    from ils.pdf import fonts

    regular, bold = fonts()
    styles = _styles(regular, bold)
    story: list[Any] = [Paragraph(title, styles["Title"])]
    story.append(_table(summary_facts(summary), regular, bold, header=False))
    story.append(Spacer(1, 0.4 * cm))
    if summary["goals"]:
        story.append(Paragraph(str(_l("City goals")), styles["Heading2"]))
        goal_rows = [(str(_l("Goal")), str(_l("Target")), str(_l("Now")), str(_l("Status")))]
        goal_rows += [(g.title, f"{g.target:g}", "–" if p.value is None else f"{p.value:g}", p.label)
                      for g, p in summary["goals"]]
        story.append(_table(goal_rows, regular, bold))
        story.append(Spacer(1, 0.4 * cm))
    story.append(Paragraph(str(_l("Libraries")), styles["Heading2"]))
    keys = ("name", "titles", "copies", "staff", "members", "visits", "loans", "participants", "grade")
    labels = {c.key: str(c.label) for c in CENSUS_COLUMNS}
    table_rows = [tuple(labels[k] for k in keys)]
    table_rows += [tuple("–" if r[k] is None or r[k] == "" else r[k] for k in keys) for r in summary["rows"]]
    story.append(_table(table_rows, regular, bold))
    return _build(title, story)


def _table(rows: list[tuple[Any, ...]], regular: str, bold: str, *, header: bool = True) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table([[str(c) for c in row] for row in rows], repeatRows=1 if header else 0)
    style = [("FONT", (0, 0), (-1, -1), regular, 8), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
             ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        style += [("FONT", (0, 0), (-1, 0), bold, 8), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]
    else:
        style += [("FONT", (0, 0), (0, -1), bold, 9), ("FONT", (1, 0), (1, -1), regular, 9)]
    table.setStyle(TableStyle(style))
    return table
