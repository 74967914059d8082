"""Holdings inside imported records (852, Koha's 952) as plain item values. Pure functions.

Koha 952: $a home branch, $b holding branch, $c location, $d date acquired, $e source, $g price,
$i inventory number, $o call number, $p barcode, $v replacement price, $y item type, $z note,
$0 withdrawn, $1 lost, $4 damaged, $7 not for loan. 852: $b location, $h/$i call number,
$j shelving control number, $p barcode, $t copy number, $z public note.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from catalog.bib import MarcDict, fields

HOLDINGS_TAGS = ("852", "952")
ITEM_TYPES = {"bk": "buku", "book": "buku", "buku": "buku", "ref": "referensi", "referensi": "referensi",
              "ser": "serial", "serial": "serial", "mag": "serial", "majalah": "serial", "per": "serial",
              "dvd": "audio_visual", "cd": "audio_visual", "vid": "audio_visual", "av": "audio_visual",
              "vm": "audio_visual", "map": "peta", "peta": "peta", "cf": "elektronik", "ebook": "elektronik",
              # our own export writes these values
              "audio_visual": "audio_visual", "elektronik": "elektronik", "lainnya": "lainnya"}
SOURCES = ("pembelian", "hadiah", "csr", "deposit", "lainnya")


@dataclass
class HeldItem:
    """One copy described inside a record."""

    barcode: str = ""
    accession_number: str = ""
    collection: str = ""
    call_number: str = ""
    item_type: str = ""
    price: int | None = None
    acquired_on: date | None = None
    source: str = "pembelian"
    status: str = "available"
    lendable: bool = True
    notes: str = ""


class _Subfields:
    """The first value of each subfield code of one field (looked up many times per item)."""

    def __init__(self, value: Any) -> None:
        self.first: dict[str, str] = {}
        for sub in value.get("subfields", ()) if isinstance(value, dict) else ():
            for code, text in sub.items():
                self.first.setdefault(code, text.strip())

    def __call__(self, code: str) -> str:
        return self.first.get(code, "")


def _price(text: str) -> int | None:
    digits = re.sub(r"[^\d.,]", "", text)
    if not digits:
        return None
    # "35.000" and "35,000" are thousands in Indonesia; "12.50" is a decimal price.
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", digits):
        return int(re.sub(r"[.,]", "", digits))
    try:
        return round(float(digits.replace(",", ".")))
    except ValueError:
        return None


def _date(text: str) -> date | None:
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def _flag(text: str) -> bool:
    return bool(text) and text not in ("0", "")


def held_items(record: MarcDict) -> list[HeldItem]:
    """Every 952 and 852 of a record as items (an 852 without barcode or call number is skipped)."""
    out = []
    for tag, value in fields(record, *HOLDINGS_TAGS):
        _first = _Subfields(value)
        if tag == "952":
            status = ("lost" if _flag(_first("1")) else "withdrawn" if _flag(_first("0"))
                      else "damaged" if _flag(_first("4")) else "available")
            source = _first("e").casefold()
            out.append(HeldItem(
                barcode=_first("p"), accession_number=_first("i"), collection=_first("c"),
                call_number=_first("o"), item_type=ITEM_TYPES.get(_first("y").casefold(), ""),
                price=_price(_first("g") or _first("v")), acquired_on=_date(_first("d")),
                source=source if source in SOURCES else (
                    "hadiah" if any(w in source for w in ("gift", "donasi", "donation")) else "pembelian"),
                status=status, lendable=not _flag(_first("7")), notes=_first("z")))
        else:
            call = " ".join(p for p in (_first("h"), _first("i")) if p) or _first("j")
            barcode = _first("p")
            if not barcode and not call:
                continue
            out.append(HeldItem(barcode=barcode, collection=_first("b") or _first("c"),
                                call_number=call, notes=_first("z")))
    return out


def without_holdings(record: MarcDict) -> MarcDict:
    """The record without 852/952: items are the truth for copies, not the shared record."""
    return {"leader": record.get("leader", ""),
            "fields": [f for f in record.get("fields", ()) if next(iter(f)) not in HOLDINGS_TAGS]}


def split_call_number(text: str) -> tuple[str, str, str]:
    """ "899.2213 HIR l" -> class, author mark, title letter (what fits of a free-text call number)."""
    parts = text.split()
    if not parts:
        return ("", "", "")
    if len(parts) == 1:
        return (parts[0][:40], "", "")
    if len(parts) == 2:
        return (parts[0][:40], parts[1][:20], "")
    return (parts[0][:40], parts[1][:20], " ".join(parts[2:])[:10])
