"""Printable PDFs (reportlab): spine labels, barcode labels and the accession register (buku induk).

Pure layout: callers pass plain values (LabelItem, RegisterRow); nothing here reads the database.
Sheets are A4 with a grid of labels, the common sticker paper in Indonesian libraries.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from xml.sax.saxutils import escape
from dataclasses import dataclass
from pathlib import Path

from reportlab.graphics.barcode import code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

# Fonts with wide Unicode coverage when the system has them (Debian: fonts-dejavu-core).
FONT_CANDIDATES = [("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")]


@dataclass(frozen=True)
class LabelItem:
    """What a label shows of one copy."""

    barcode: str
    call_class: str
    call_author: str
    call_title: str
    title: str
    library_code: str
    library_name: str


@dataclass(frozen=True)
class RegisterRow:
    """One line of the accession register."""

    number: int
    acquired_on: str
    accession_number: str
    author: str
    title: str
    publication: str
    source: str
    price: str
    call_number: str
    remark: str


def pdf_fonts() -> tuple[str, str]:
    """The regular and bold font names for PDFs: DejaVu when installed (wide Unicode), else Helvetica."""
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).exists() and Path(bold).exists():
            if "IlsSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("IlsSans", regular))
                pdfmetrics.registerFont(TTFont("IlsSans-Bold", bold))
            return "IlsSans", "IlsSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _fit(c: canvas.Canvas, text: str, font: str, size: float, width: float) -> str:
    """The text cut to fit a width (with an ellipsis)."""
    if c.stringWidth(text, font, size) <= width:
        return text
    while text and c.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _grid(columns: int, rows: int, width: float, height: float) -> list[tuple[float, float]]:
    """Lower-left corners of the labels on an A4 page, left to right, top to bottom."""
    page_w, page_h = A4
    left = (page_w - columns * width) / 2
    top = page_h - (page_h - rows * height) / 2
    return [(left + col * width, top - (row + 1) * height) for row in range(rows) for col in range(columns)]


def _sheet(items: list[LabelItem], *, skip: int, title: str, columns: int, rows: int, height: float,
           draw: Callable[[canvas.Canvas, LabelItem, float, float], None]) -> bytes:
    """Labels laid out on A4 sheets of ``columns`` x ``rows`` (64 mm wide), the first ``skip`` left empty."""
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.setTitle(title)
    cells = _grid(columns, rows, 64 * mm, height)
    slots: list[LabelItem | None] = [None] * skip + list(items)
    for index, item in enumerate(slots):
        if index and index % len(cells) == 0:
            c.showPage()
        if item is not None:
            x, y = cells[index % len(cells)]
            draw(c, item, x, y)
    c.save()
    return out.getvalue()


def spine_labels(items: list[LabelItem], *, skip: int = 0) -> bytes:
    """Spine labels (3 x 8 per A4 sheet, 64 x 33 mm): library name, class, author mark, title letter.

    ``skip`` leaves the first labels of the first sheet empty (a partly used sticker sheet).
    """
    regular, bold = pdf_fonts()

    def draw(c: canvas.Canvas, item: LabelItem, x: float, y: float) -> None:
        c.setStrokeColor(colors.lightgrey)
        c.rect(x + 1 * mm, y + 1 * mm, 62 * mm, 31 * mm)
        c.setFont(regular, 6.5)
        c.drawCentredString(x + 32 * mm, y + 27 * mm, _fit(c, item.library_name, regular, 6.5, 58 * mm))
        c.line(x + 3 * mm, y + 25.5 * mm, x + 61 * mm, y + 25.5 * mm)
        for line, text in enumerate((item.call_class, item.call_author, item.call_title)):
            c.setFont(bold, 13)
            c.drawCentredString(x + 32 * mm, y + (19 - 7 * line) * mm, _fit(c, text, bold, 13, 58 * mm))

    return _sheet(items, skip=skip, title="Label punggung", columns=3, rows=8, height=33 * mm, draw=draw)


def barcode_labels(items: list[LabelItem], *, skip: int = 0) -> bytes:
    """Barcode labels (3 x 10 per A4 sheet, 64 x 26 mm): Code 128, the number, title and library."""
    regular, _bold = pdf_fonts()

    def draw(c: canvas.Canvas, item: LabelItem, x: float, y: float) -> None:
        c.setFont(regular, 6.5)
        c.drawCentredString(x + 32 * mm, y + 22 * mm, _fit(c, f"{item.library_code} · {item.title}", regular, 6.5,
                                                           58 * mm))
        symbol = code128.Code128(item.barcode, barHeight=11 * mm, barWidth=0.3 * mm, humanReadable=False)
        width = min(symbol.width, 60 * mm)
        symbol.drawOn(c, x + (64 * mm - width) / 2, y + 8.5 * mm)
        c.setFont(regular, 8)
        c.drawCentredString(x + 32 * mm, y + 4.5 * mm, item.barcode)

    return _sheet(items, skip=skip, title="Label barkod", columns=3, rows=10, height=26 * mm, draw=draw)


def accession_register(rows: list[RegisterRow], *, library_name: str, year: int, headings: list[str],
                       title: str) -> bytes:
    """The accession register for one year: landscape A4, headings repeated on every page."""
    regular, bold = pdf_fonts()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=title)
    cell = ParagraphStyle("cell", fontName=regular, fontSize=7, leading=8.5)
    head = ParagraphStyle("head", fontName=bold, fontSize=7.5, leading=9)
    big = ParagraphStyle("big", fontName=bold, fontSize=12, leading=15)
    data = [[Paragraph(escape(h), head) for h in headings]]
    for row in rows:
        data.append([Paragraph(escape(str(v)), cell) for v in (
            row.number, row.acquired_on, row.accession_number, row.author, row.title, row.publication,
            row.source, row.price, row.call_number, row.remark)])
    widths = [9, 17, 28, 34, 62, 40, 18, 18, 22, 0]  # mm; the remarks take the rest (29 mm)
    widths[-1] = (landscape(A4)[0] / mm - 20) - sum(widths[:-1])
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))

    def footer(c: canvas.Canvas, d: SimpleDocTemplate) -> None:
        c.setFont(regular, 7)
        c.drawRightString(landscape(A4)[0] - 10 * mm, 6 * mm, f"{library_name} · {year} · {d.page}")

    doc.build([Paragraph(f"{escape(title)}<br/>{escape(library_name)} · {year}", big), Spacer(1, 4 * mm), table],
              onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
