"""Printable member cards (kartu anggota): ID-1 cards, ten to an A4 sheet, with Code 128 and QR codes.

Pure layout: callers pass plain, already translated values (CardData); nothing here reads the database.
The sheet is printed on card stock (or laminated) and cut along the marks in the margins.
"""
from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from catalog.labels import pdf_fonts

# Fonts with wide Unicode coverage when the system has them (Debian: fonts-dejavu-core), as for labels.
CARD_W, CARD_H = 85.6 * mm, 54 * mm  # ISO/IEC 7810 ID-1, the size of a bank card
CORNER = 3.18 * mm  # ID-1 corner radius
COLUMNS, ROWS = 2, 5
GAP_X, GAP_Y = 6 * mm, 3 * mm  # room for the cutter between cards
PAD = 4 * mm
BAND_H = 12 * mm
QR_SIZE = 18 * mm
TEXT_W = CARD_W - 2 * PAD - QR_SIZE - 2 * mm  # detail lines stay clear of the QR code
BAND = colors.HexColor("#0b5394")


@dataclass(frozen=True)
class CardData:
    """What one member card shows; labels arrive already translated."""

    card_number: str
    name: str
    category: str  # already translated label, e.g. "Pelajar SMP"
    home_library: str
    expiry: date | None
    school_class: str = ""


def _printable(text: str, font: str) -> str:
    """The text in characters the font has: others as their base letter ("ễ" -> "e") or "?", never a blank box."""
    text = " ".join(text.split())
    glyphs = getattr(pdfmetrics.getFont(font).face, "charToGlyph", None)  # a TrueType font's character map

    def drawable(char: str) -> bool:
        if glyphs is not None:
            return ord(char) in glyphs
        return char.encode("cp1252", errors="ignore") != b""  # the built-in fonts know Windows-1252 only

    if all(drawable(char) for char in text):
        return text
    out = []
    for char in text:
        if not drawable(char):
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            char = base if base and all(drawable(c) for c in base) else "?"
        out.append(char)
    return "".join(out)


def _fit(c: canvas.Canvas, text: str, font: str, size: float, width: float) -> str:
    """The text cut to fit a width (with an ellipsis)."""
    if c.stringWidth(text, font, size) <= width:
        return text
    while text and c.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(c: canvas.Canvas, text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap; a single word wider than the line is cut."""
    lines: list[str] = []
    for word in text.split():
        if lines and c.stringWidth(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(_fit(c, word, font, size, width))
    return lines


def _name_lines(c: canvas.Canvas, name: str, font: str, width: float) -> tuple[float, list[str]]:
    """Font size and lines for a name: one line shrunk to 8 pt, else two lines, else abbreviated, else cut."""
    words = name.split()
    variants = [name]
    # Middle names become initials, the last one first, as Indonesians shorten long names on forms;
    # the given and the family name stay whole.
    for k in range(1, len(words) - 1):
        variants.append(" ".join(f"{w[0]}." if len(words) - 2 - k < i < len(words) - 1 else w
                                 for i, w in enumerate(words)))
    lines = [name]
    for text in variants:
        for size in (11, 10, 9, 8):
            if c.stringWidth(text, font, size) <= width:
                return size, [text]
        lines = _wrap(c, text, font, 8, width)
        if len(lines) <= 2:
            return 8, lines
    return 8, [lines[0], _fit(c, " ".join(lines[1:]), font, 8, width)]


def _grid() -> list[tuple[float, float]]:
    """Lower-left corners of the cards on an A4 page, left to right, top to bottom."""
    page_w, page_h = A4
    left = (page_w - COLUMNS * CARD_W - (COLUMNS - 1) * GAP_X) / 2
    top = page_h - (page_h - ROWS * CARD_H - (ROWS - 1) * GAP_Y) / 2
    return [(left + col * (CARD_W + GAP_X), top - row * (CARD_H + GAP_Y) - CARD_H)
            for row in range(ROWS) for col in range(COLUMNS)]


def _cut_marks(c: canvas.Canvas, cells: list[tuple[float, float]]) -> None:
    """Short lines in the page margins, in line with every card edge, to guide the cutter."""
    page_w, page_h = A4
    xs = sorted({x for x, _y in cells} | {x + CARD_W for x, _y in cells})
    ys = sorted({y for _x, y in cells} | {y + CARD_H for _x, y in cells})
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.25)
    for x in xs:
        c.line(x, ys[-1] + 1 * mm, x, min(ys[-1] + 5 * mm, page_h))
        c.line(x, ys[0] - 1 * mm, x, max(ys[0] - 5 * mm, 0))
    for y in ys:
        c.line(xs[0] - 1 * mm, y, max(xs[0] - 5 * mm, 0), y)
        c.line(xs[-1] + 1 * mm, y, min(xs[-1] + 5 * mm, page_w), y)


def _draw_card(c: canvas.Canvas, card: CardData, x: float, y: float, *, network_name: str, title: str,
               fonts: tuple[str, str]) -> None:
    """One card with its lower-left corner at (x, y)."""
    regular, bold = fonts
    c.saveState()
    outline = c.beginPath()
    outline.roundRect(x, y, CARD_W, CARD_H, CORNER)
    c.setStrokeColor(colors.lightgrey)
    c.setLineWidth(0.3)
    c.drawPath(outline, stroke=1, fill=0)
    c.clipPath(outline, stroke=0, fill=0)  # the band follows the rounded corners
    c.setFillColor(BAND)
    c.rect(x, y + CARD_H - BAND_H, CARD_W, BAND_H, stroke=0, fill=1)
    c.restoreState()

    full = CARD_W - 2 * PAD
    c.setFillColor(colors.white)
    network = _printable(network_name, bold)
    size = next((s for s in (9, 8, 7) if c.stringWidth(network, bold, s) <= full), 6.5)
    c.setFont(bold, size)
    c.drawString(x + PAD, y + CARD_H - 5.2 * mm, _fit(c, network, bold, size, full))
    c.setFont(regular, 6.5)
    c.drawString(x + PAD, y + CARD_H - 9.6 * mm, _fit(c, _printable(title, regular), regular, 6.5, full))

    c.setFillColor(colors.black)
    size, lines = _name_lines(c, _printable(card.name, bold), bold, full)
    baseline = y + (37 if len(lines) == 1 else 38.3) * mm
    c.setFont(bold, size)
    for line in lines:
        c.drawString(x + PAD, baseline, line)
        baseline -= 3.3 * mm
    details = [card.category, _("Class: %(name)s", name=card.school_class) if card.school_class else "",
               card.home_library,
               _("Valid until %(date)s", date=f"{card.expiry:%d-%m-%Y}") if card.expiry else _("No expiry date")]
    baseline = y + (31.2 if len(lines) == 1 else 30.2) * mm
    c.setFont(regular, 7)
    for text in (t for t in details if t.strip()):
        c.drawString(x + PAD, baseline, _fit(c, _printable(text, regular), regular, 7, TEXT_W))
        baseline -= 3.2 * mm

    # Code 128 for the desk scanners; a quiet zone of ten modules, as the symbology asks.
    bar_width = 0.3 * mm
    symbol = code128.Code128(card.card_number, barHeight=8.5 * mm, barWidth=bar_width, lquiet=10 * bar_width,
                             rquiet=10 * bar_width)
    if symbol.width > TEXT_W:  # long numbers get thinner bars rather than running into the QR code
        bar_width *= TEXT_W / symbol.width
        symbol = code128.Code128(card.card_number, barHeight=8.5 * mm, barWidth=bar_width, lquiet=10 * bar_width,
                                 rquiet=10 * bar_width)
    symbol.drawOn(c, x + PAD - 10 * bar_width, y + 7.5 * mm)
    c.setFont(regular, 7.5)
    c.drawCentredString(x + PAD - 10 * bar_width + symbol.width / 2, y + 4 * mm, card.card_number)

    # QR for phones and self-service kiosks, which read it more easily than a printed Code 128.
    code = qr.QrCodeWidget(card.card_number, barLevel="M", barBorder=1, barWidth=QR_SIZE, barHeight=QR_SIZE)
    drawing = Drawing(QR_SIZE, QR_SIZE)
    drawing.add(code)
    renderPDF.draw(drawing, c, x + CARD_W - PAD - QR_SIZE + 1 * mm, y + 3.5 * mm)


def member_cards_pdf(cards: Sequence[CardData], *, network_name: str,
                     title: str = "KARTU ANGGOTA PERPUSTAKAAN") -> bytes:
    """Member cards (ID-1, 85.6 x 54 mm) as a PDF, 2 x 5 per A4 sheet with cut marks."""
    if not cards:
        raise ValueError("no cards to print")
    for card in cards:
        # Code 128 and the scanners at the desks read printable ASCII only.
        if not card.card_number or not (card.card_number.isascii() and card.card_number.isprintable()):
            raise ValueError(f"card number {card.card_number!r} cannot be printed as a barcode")
    fonts = pdf_fonts()
    out = io.BytesIO()
    # invariant: no creation date or random document id, so the same cards give the same file
    c = canvas.Canvas(out, pagesize=A4, invariant=True)
    c.setTitle(title)
    c.setAuthor(network_name)
    cells = _grid()
    for index, card in enumerate(cards):
        if index % len(cells) == 0:
            if index:
                c.showPage()
            _cut_marks(c, cells)
        x, y = cells[index % len(cells)]
        _draw_card(c, card, x, y, network_name=network_name, title=title, fonts=fonts)
    c.save()
    return out.getvalue()
