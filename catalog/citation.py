"""A record as RIS and BibTeX for reference managers (Zotero, Mendeley, EndNote). Pure functions."""
from __future__ import annotations

import re
import unicodedata

from catalog import bib

RIS_TYPES = {"book": "BOOK", "serial": "JFULL", "map": "MAP", "score": "MUSIC", "music": "MUSIC", "sound": "SOUND",
             "video": "VIDEO", "electronic": "ELEC", "image": "ART", "manuscript": "MANSCPT"}
BIBTEX_TYPES = {"book": "book", "serial": "periodical", "manuscript": "unpublished"}
BIBTEX_SPECIAL = re.compile(r"([{}\\&%$#_^~])")


def _authors(record: bib.MarcDict) -> list[str]:
    names = [bib.name_heading(v) for _t, v in bib.fields(record, "100", "110", "111", "700", "710", "711")]
    return [n for n in names if n]


def ris(record: bib.MarcDict, *, record_id: int, url: str = "") -> str:
    """One RIS entry (CRLF line ends, as the format wants)."""
    ex = bib.extract(record)
    lines = [("TY", RIS_TYPES.get(ex.material_type, "GEN")), ("TI", ex.title)]
    lines += [("AU", name) for name in _authors(record)]
    lines += [("PY", str(ex.year))] if ex.year else []
    lines += [(tag, value) for tag, value in (("PB", ex.publisher), ("CY", ex.place), ("ET", ex.edition),
                                              ("T3", ex.series), ("LA", ex.language)) if value]
    lines += [("SN", isbn) for isbn in ex.isbn13] + [("SN", issn) for issn in ex.issns]
    lines += [("KW", subject) for subject in ex.subjects]
    lines += [("ID", str(record_id))] + ([("UR", url)] if url else [])
    return "".join(f"{tag}  - {value}\r\n" for tag, value in lines if value) + "ER  - \r\n"


def _bibtex_value(text: str) -> str:
    return "{" + BIBTEX_SPECIAL.sub(r"\\\1", text) + "}"


def bibtex_key(record: bib.MarcDict, record_id: int) -> str:
    """A citation key: first author's surname, year and the record id (ASCII, e.g. hirata2005r12)."""
    ex = bib.extract(record)
    names = _authors(record)
    surname = (names[0].split(",")[0] if names else ex.title.split(" ")[0] if ex.title else "anon")
    ascii_name = unicodedata.normalize("NFKD", surname).encode("ascii", "ignore").decode().lower()
    return f"{re.sub(r'[^a-z0-9]', '', ascii_name) or 'anon'}{ex.year or ''}r{record_id}"


def bibtex(record: bib.MarcDict, *, record_id: int, url: str = "") -> str:
    """One BibTeX entry."""
    ex = bib.extract(record)
    fields = [("title", ex.title), ("author", " and ".join(_authors(record))), ("year", str(ex.year or "")),
              ("publisher", ex.publisher), ("address", ex.place), ("edition", ex.edition), ("series", ex.series),
              ("isbn", ", ".join(ex.isbn13)), ("issn", ", ".join(ex.issns)), ("language", ex.language),
              ("keywords", ", ".join(ex.subjects)), ("url", url)]
    body = ",\n".join(f"  {name} = {_bibtex_value(value)}" for name, value in fields if value)
    return f"@{BIBTEX_TYPES.get(ex.material_type, 'misc')}{{{bibtex_key(record, record_id)},\n{body}\n}}\n"
