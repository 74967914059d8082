"""Fonts for generated PDFs: DejaVu when the system has it (names and places in Indonesia need more
than Latin-1 now and then), else the PDF base fonts."""
from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def fonts() -> tuple[str, str]:
    """Names of the regular and bold fonts to use (registered on first call)."""
    if all(Path(p).exists() for p in FONT_FILES):
        if "IlsReportSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("IlsReportSans", FONT_FILES[0]))
            pdfmetrics.registerFont(TTFont("IlsReportSans-Bold", FONT_FILES[1]))
        return "IlsReportSans", "IlsReportSans-Bold"
    return "Helvetica", "Helvetica-Bold"
