"""Reports and exports: the Perpusnas census table and the city report, as XLSX, CSV and PDF."""
from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _

from ils.auth import permission_required, require_actor
from ils.errors import NotFound
from workflows.services import reports as services
from workflows.views import bp
from workflows.views.common import number, text_of, today_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year() -> int:
    today = today_for(None)
    year = request.args.get("year", type=int) or today.year
    return min(max(year, 2000), today.year)


@bp.route("/workflows/reports")
@permission_required("workflows.view")
def reports() -> str:
    """The census table on screen, with the download links."""
    actor = require_actor()
    year = _year()
    rows = services.census_rows(actor=actor, year=year, today=today_for(None))
    return render_template("workflows/reports.html", rows=rows, columns=services.CENSUS_COLUMNS, year=year,
                           years=range(today_for(None).year, today_for(None).year - 6, -1), number=number,
                           text_of=text_of)


@bp.route("/workflows/reports/census-<int:year>.<fmt>")
@permission_required("workflows.view")
def census_export(year: int, fmt: str) -> Response:
    """The census table as CSV or XLSX."""
    actor = require_actor()
    today = today_for(None)
    if not 2000 <= year <= today.year:
        raise NotFound()
    rows = services.census_rows(actor=actor, year=year, today=today)
    if fmt == "csv":
        return Response(services.census_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="sensus-perpustakaan-{year}.csv"'})
    if fmt == "xlsx":
        return Response(services.census_xlsx(rows, year=year), mimetype=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="sensus-perpustakaan-{year}.xlsx"'})
    if fmt == "pdf":
        pdf = services.census_pdf(rows, title=_("Library census %(year)d", year=year))
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="sensus-perpustakaan-{year}.pdf"'})
    raise NotFound()


@bp.route("/workflows/reports/city-<int:year>.<fmt>")
@permission_required("workflows.view")
def city_report(year: int, fmt: str) -> Response:
    """The city report (for the mayor) as PDF or XLSX (a summary sheet and the census)."""
    actor = require_actor()
    today = today_for(None)
    if not 2000 <= year <= today.year or fmt not in ("pdf", "xlsx"):
        raise NotFound()
    summary = services.city_summary(actor=actor, year=year, today=today)
    title = _("Libraries of Kota Bontang: report %(year)d", year=year)
    if fmt == "xlsx":
        return Response(services.city_xlsx(summary, title=title), mimetype=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="laporan-perpustakaan-{year}.xlsx"'})
    return Response(services.report_pdf(summary, title=title), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="laporan-perpustakaan-{year}.pdf"'})
