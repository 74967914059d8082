"""Member cards: pages of ten ID-1 cards, readable text, barcodes that carry the card number."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from reportlab.graphics.barcode import code128, qr
from reportlab.lib.pagesizes import A4

from catalog import labels
from circulation import cards as cards_module
from circulation.cards import CardData, member_cards_pdf

NETWORK = "Jaringan Perpustakaan Kota Bontang"
HAS_DEJAVU = all(Path(p).exists() for pair in labels.FONT_CANDIDATES for p in pair)


def card(number: int = 1, **changes: Any) -> CardData:
    """A pupil's card, numbered, with any field changed."""
    values: dict[str, Any] = {"card_number": f"BTG{number:07d}", "name": f"Siswa Nomor {number}",
                              "category": "Pelajar SMP", "home_library": "Perpustakaan Kota Bontang",
                              "expiry": date(2026, 12, 31), "school_class": "7A"}
    values.update(changes)
    return CardData(**values)


def pages(data: bytes) -> list[str]:
    """The extracted text of each page of a PDF."""
    assert data.startswith(b"%PDF")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


@pytest.mark.parametrize("count, expected", [(1, 1), (10, 1), (11, 2), (25, 3)])
def test_ten_cards_to_an_a4_page(count: int, expected: int) -> None:
    """2 x 5 cards per A4 sheet; every card lands on the page its position says."""
    data = member_cards_pdf([card(n) for n in range(1, count + 1)], network_name=NETWORK)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == expected
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4)
    texts = pages(data)
    for n in range(1, count + 1):
        on_page = (n - 1) // 10
        assert f"BTG{n:07d}" in texts[on_page] and f"Siswa Nomor {n}" in texts[on_page]
        assert all(f"BTG{n:07d}" not in text for i, text in enumerate(texts) if i != on_page)


def test_card_text_is_extractable() -> None:
    """Network, title, name, category, class, library, validity and the number under the barcode."""
    [text] = pages(member_cards_pdf([card(7, name="Siti Nur'aini")], network_name=NETWORK, title="KARTU ANGGOTA"))
    for expected in (NETWORK, "KARTU ANGGOTA", "Siti Nur'aini", "Pelajar SMP", "7A", "Perpustakaan Kota Bontang",
                     "31-12-2026", "BTG0000007"):
        assert expected in text, expected
    assert "Valid until 31-12-2026" in text  # source string; Indonesian "Berlaku s/d" comes from the catalog


def test_no_expiry_and_no_class() -> None:
    """A card without an end date says so; without a class, no class line is printed."""
    [text] = pages(member_cards_pdf([card(expiry=None, school_class="")], network_name=NETWORK))
    assert "No expiry date" in text and "Valid until" not in text and "Class" not in text


def test_same_cards_give_the_same_pdf() -> None:
    """No timestamps or random ids: reprinting a batch gives an identical file."""
    batch = [card(n) for n in range(1, 13)]
    first = member_cards_pdf(batch, network_name=NETWORK)
    assert member_cards_pdf(batch, network_name=NETWORK) == first
    assert pages(first) == pages(member_cards_pdf(list(batch), network_name=NETWORK))
    info = PdfReader(io.BytesIO(first)).metadata
    assert info is not None and info.title == "KARTU ANGGOTA PERPUSTAKAAN" and info.author == NETWORK


def test_barcode_and_qr_encode_the_card_number(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Code 128 and the QR symbols drawn on each card are built from that card's number."""
    barcodes: list[code128.Code128] = []
    qr_codes: list[qr.QrCodeWidget] = []

    class SpyCode128(code128.Code128):  # type: ignore[misc]
        def __init__(self, value: str = "", **kwargs: Any) -> None:
            super().__init__(value, **kwargs)
            barcodes.append(self)

    class SpyQr(qr.QrCodeWidget):  # type: ignore[misc]
        def __init__(self, value: str = "", **kwargs: Any) -> None:
            super().__init__(value, **kwargs)
            qr_codes.append(self)

    monkeypatch.setattr(code128, "Code128", SpyCode128)
    monkeypatch.setattr(qr, "QrCodeWidget", SpyQr)
    numbers = ["BTG0000001", "SMP1-7A-0042", "99887766554433221100"]
    member_cards_pdf([card(card_number=n) for n in numbers], network_name=NETWORK)
    # the last symbol built for a card is the one drawn (a long number is rebuilt with thinner bars)
    drawn = {symbol.value: symbol for symbol in barcodes}
    assert list(drawn) == numbers
    for symbol in drawn.values():
        assert symbol.width <= cards_module.TEXT_W + 0.01  # stays clear of the QR code
        assert symbol.decompose() and symbol.barWidth >= 0.19 * cards_module.mm  # still scannable
    assert [code.value for code in qr_codes] == numbers


def test_long_names_are_shrunk_wrapped_abbreviated_then_cut() -> None:
    """A long name wraps to two lines; a longer one gets middle initials; an absurd one ends with an ellipsis."""
    short = "Dewi Lestari"
    wrapped = "Andi Muhammad Fadhil Al-Ghifari bin Abdurrahman Syaifuddin Zuhri"
    abbreviated = "Muhammad Rizky Ramadhan Abdurrahman Syaifuddin Kartanegara Wicaksono Hadiningrat Pratama Putra"
    absurd = "Pangeran" + "X" * 200 + " Adipati"
    texts = pages(member_cards_pdf([card(1, name=wrapped), card(2, name=abbreviated), card(3, name=absurd),
                                    card(4, name=short)], network_name=NETWORK))
    flat = " ".join(texts[0].split())
    assert wrapped in flat
    # only as many middle names as needed become initials, the last ones first
    assert abbreviated not in flat and "Muhammad Rizky Ramadhan" in flat and "P. Putra" in flat
    if HAS_DEJAVU:  # how many initials depends on the font's widths
        assert "Muhammad Rizky Ramadhan Abdurrahman Syaifuddin Kartanegara Wicaksono H. P. Putra" in flat
    assert "Pangeran" in flat and "…" in flat and "X" * 200 not in flat
    assert "Dewi Lestari" in texts[0].splitlines()  # a short name stays on one line


@pytest.mark.skipif(not HAS_DEJAVU, reason="needs fonts-dejavu-core")
def test_non_latin1_names_with_the_unicode_font() -> None:
    """Vietnamese and other accents print as written; characters the font lacks become "?" (not blank boxes)."""
    [text] = pages(member_cards_pdf([card(name="Nguyễn Thị Ánh"), card(2, name="李 Bruce Ōtsuka")],
                                    network_name=NETWORK))
    assert "Nguyễn Thị Ánh" in text and "? Bruce Ōtsuka" in text


def test_non_latin1_names_with_the_builtin_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a Unicode font, letters fall back to their base letter and the PDF is still produced."""
    monkeypatch.setattr(labels, "FONT_CANDIDATES", [])
    [text] = pages(member_cards_pdf([card(name="Nguyễn Thị Ánh Łucja 李")], network_name="Perpustakaan Ōtsuka"))
    assert "Nguyen Thi Ánh ?ucja ?" in text and "Perpustakaan Otsuka" in text


def test_nothing_to_print_or_unprintable_numbers_are_refused() -> None:
    """No cards, an empty number or one a scanner cannot read are programming errors, not empty PDFs."""
    with pytest.raises(ValueError):
        member_cards_pdf([], network_name=NETWORK)
    for number in ("", "BTG-Ø1", "BTG\n01"):
        with pytest.raises(ValueError):
            member_cards_pdf([card(card_number=number)], network_name=NETWORK)
