"""MARC21 checks with messages a librarian understands (Bahasa Indonesia first, via the catalog).

``validate(record)`` returns Issues: an error blocks saving from the editor; a warning is shown but
allowed, because real records from elsewhere are rarely perfect and must still be importable.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from catalog.bib import MarcDict, fields, normalise_isbn, normalise_issn, record_kind, subfields

LEADER_STATUS = set("acdnp")
LEADER_TYPES = set("acdefgijkmoprtzuvxy")
BIB_LEVELS = set("abcdims ")
# Tags that may occur only once (MARC21 bibliographic/authority formats).
NON_REPEATABLE = {"001", "003", "005", "008", "010", "018", "040", "042", "043", "044", "066", "100", "110",
                  "111", "130", "240", "243", "245", "254", "256", "263", "306", "357", "384", "507", "514",
                  "841", "842", "844"}
# Allowed indicator values for the tags our users meet most ("#"/space = blank).
INDICATORS: dict[str, tuple[str, str]] = {
    "010": (" ", " "), "020": (" ", " "), "022": (" 01", " "), "040": (" ", " "), "041": (" 01", " 7"),
    "082": ("017", " 04"), "100": ("013", " "), "110": ("012", " "), "111": ("012", " "),
    "130": ("0123456789", " "), "240": ("01", "0123456789"), "245": ("01", "0123456789"),
    "246": ("0123", " 012345678"), "250": (" ", " "), "260": (" 23", " "), "264": (" 23", "01234"),
    "300": (" ", " "), "336": (" ", " "), "337": (" ", " "), "338": (" ", " "), "490": ("01", " "),
    "500": (" ", " "), "504": (" ", " "), "505": ("0128", " 0"), "520": (" 012348", " "),
    "600": ("013", "01234567"), "610": ("012", "01234567"), "650": (" 012", "01234567"),
    "651": (" ", "01234567"), "700": ("013", " 2"), "710": ("012", " 2"), "711": ("012", " 2"),
    "830": (" ", "0123456789"),
}
MESSAGES = {
    "leader_length": _l("The leader must be 24 characters long (it has %(n)s)."),
    "leader_status": _l("Leader position 05 (record status) \"%(value)s\" is not a MARC21 value."),
    "leader_type": _l("Leader position 06 (type of record) \"%(value)s\" is not a MARC21 value."),
    "leader_level": _l("Leader position 07 (bibliographic level) \"%(value)s\" is not a MARC21 value."),
    "leader_coding": _l("Leader position 09 must be blank (MARC-8) or \"a\" (Unicode)."),
    "f008_length": _l("Field 008 must be 40 characters long for a bibliographic record (it has %(n)s)."),
    "f008_date": _l("Field 008 positions 07-10 should hold the publication year (found \"%(value)s\")."),
    "missing_245": _l("The title (field 245) is missing."),
    "empty_245a": _l("The title proper (245 $a) is empty."),
    "non_repeatable": _l("Field %(tag)s may occur only once (it occurs %(n)s times)."),
    "bad_tag": _l("\"%(tag)s\" is not a valid tag: use three digits."),
    "control_has_subfields": _l("Field %(tag)s is a control field: it has no indicators or subfields."),
    "data_without_subfields": _l("Field %(tag)s has no subfields."),
    "indicator": _l("Field %(tag)s: indicator %(pos)s \"%(value)s\" is not allowed here (allowed: %(allowed)s)."),
    "bad_subfield_code": _l("Field %(tag)s: \"%(code)s\" is not a valid subfield code (use a-z or 0-9)."),
    "empty_subfield": _l("Field %(tag)s: subfield $%(code)s is empty."),
    "isbn_check": _l("Field 020: \"%(value)s\" is not a valid ISBN (check the digits; a wrong ISBN belongs in $z)."),
    "issn_check": _l("Field 022: \"%(value)s\" is not a valid ISSN (check the digits)."),
    "read_leader": _l("The record's leader cannot be read."),
    "read_base_address": _l("The record's base address (leader positions 12-16) is wrong."),
    "read_directory": _l("The record's directory is damaged."),
    "read_truncated": _l("The record is cut short (its end was not found)."),
    "read_no_fields": _l("The record has no fields."),
    "read_length": _l("The record's length in the leader is wrong."),
    "read_encoding": _l("The record's characters cannot be read in any known encoding."),
    "read_number": _l("The record's leader or directory holds a number that is not a number."),
    "read_unknown": _l("The record cannot be read."),
    "read_xml_attribute": _l("The MARCXML record lacks a required attribute (tag or code)."),
    "read_xml_forbidden": _l("The XML file uses a DTD or entities, which are refused for safety."),
    "read_xml_syntax": _l("The XML is not well-formed from here on; the records before this point were read."),
    "read_json": _l("The JSON record is not MARC-in-JSON."),
    "encoding_sniffed": _l("The leader says MARC-8 but the text is UTF-8; it was read as UTF-8."),
    "encoding_fallback": _l("Some characters could not be read and were replaced (read as %(encoding)s)."),
    "read_noise": _l("The record was read with a warning: %(detail)s"),
    "nonfiling": _l("Field 245: the second indicator (%(n)s characters to skip when sorting) is longer than "
                    "the title."),
}


@dataclass(frozen=True)
class Issue:
    """One problem found in a record: a code, where (tag), how bad, and values for the message."""

    code: str
    severity: str = "error"  # "error" blocks the editor; "warning" informs
    tag: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        """The message in the current language."""
        params = {"tag": self.tag, **self.params}
        return str(MESSAGES[self.code]) % params

    def as_dict(self) -> dict[str, Any]:
        """JSON form (stored in import reports, returned by the API)."""
        return {"code": self.code, "severity": self.severity, "tag": self.tag, "params": self.params}


def describe(stored: dict[str, Any]) -> str:
    """The message of an Issue stored with as_dict(), in the reader's language."""
    if stored.get("code") not in MESSAGES:
        return str(stored.get("text", stored.get("code", "")))
    return Issue(stored["code"], stored.get("severity", "error"), stored.get("tag", ""),
                 dict(stored.get("params") or {})).message()


def validate(record: MarcDict) -> list[Issue]:
    """Every issue in a record, errors first."""
    issues: list[Issue] = []
    leader = record.get("leader") or ""
    issues += _leader(leader)
    kind = record_kind(leader)
    counts: dict[str, int] = {}
    for entry in record.get("fields", ()):
        for tag, value in entry.items():
            counts[tag] = counts.get(tag, 0) + 1
            issues += _field(tag, value)
    for tag, n in sorted(counts.items()):
        if n > 1 and tag in NON_REPEATABLE:
            issues.append(Issue("non_repeatable", "error", tag, {"n": n}))
    if kind == "bibliographic":
        issues += _bibliographic(record, counts)
    return sorted(issues, key=lambda i: i.severity != "error")


def errors(record: MarcDict) -> list[Issue]:
    """Only the issues that block saving."""
    return [i for i in validate(record) if i.severity == "error"]


def _leader(leader: str) -> list[Issue]:
    if len(leader) != 24:
        return [Issue("leader_length", "error", "LDR", {"n": len(leader)})]
    out = []
    if leader[5] not in LEADER_STATUS:
        out.append(Issue("leader_status", "warning", "LDR", {"value": leader[5]}))
    if leader[6] not in LEADER_TYPES:
        out.append(Issue("leader_type", "error", "LDR", {"value": leader[6]}))
    if record_kind(leader) == "bibliographic" and leader[7] not in BIB_LEVELS:
        out.append(Issue("leader_level", "warning", "LDR", {"value": leader[7]}))
    if leader[9] not in " a":
        out.append(Issue("leader_coding", "warning", "LDR"))
    return out


TAG = re.compile(r"[0-9A-Za-z]{3}")
SUBFIELD_CODES = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _field(tag: str, value: Any) -> list[Issue]:
    if not (len(tag) == 3 and tag.isdigit()) and not TAG.fullmatch(tag):
        return [Issue("bad_tag", "error", tag)]
    if tag < "010" and tag.isdigit():
        return [] if isinstance(value, str) else [Issue("control_has_subfields", "error", tag)]
    if not isinstance(value, dict):
        return [Issue("data_without_subfields", "error", tag)]
    out = []
    subs = value.get("subfields") or []
    if not subs:
        out.append(Issue("data_without_subfields", "error", tag))
    for sub in subs:
        for code, text in sub.items():
            if code not in SUBFIELD_CODES:
                out.append(Issue("bad_subfield_code", "error", tag, {"code": code}))
            elif not str(text).strip():
                out.append(Issue("empty_subfield", "warning", tag, {"code": code}))
    allowed = INDICATORS.get(tag)
    if allowed:
        for pos, key in ((1, "ind1"), (2, "ind2")):
            ind = value.get(key, " ") or " "
            if ind not in allowed[pos - 1]:
                shown = ", ".join("#" if a == " " else a for a in allowed[pos - 1])
                out.append(Issue("indicator", "error", tag,
                                 {"pos": pos, "value": "#" if ind == " " else ind, "allowed": shown}))
    if tag == "020":
        out += [Issue("isbn_check", "warning", tag, {"value": raw})
                for raw in subfields(value, "a") if normalise_isbn(raw) is None]
    if tag == "022":
        out += [Issue("issn_check", "warning", tag, {"value": raw})
                for raw in subfields(value, "a") if normalise_issn(raw) is None]
    return out


def _bibliographic(record: MarcDict, counts: dict[str, int]) -> list[Issue]:
    out = []
    fixed = next((v for _t, v in fields(record, "008") if isinstance(v, str)), None)
    if fixed is not None:
        if len(fixed) != 40:
            out.append(Issue("f008_length", "warning", "008", {"n": len(fixed)}))
        elif not re.fullmatch(r"[0-9u ]{4}|\|{4}", fixed[7:11]):
            out.append(Issue("f008_date", "warning", "008", {"value": fixed[7:11]}))
    if not counts.get("245"):
        out.append(Issue("missing_245", "error", "245"))
        return out
    value = next(v for _t, v in fields(record, "245"))
    title_a = " ".join(subfields(value, "a")).strip()
    if not title_a:
        out.append(Issue("empty_245a", "error", "245"))
    ind2 = value.get("ind2", "0") if isinstance(value, dict) else "0"
    if str(ind2).isdigit() and title_a and int(ind2) >= len(title_a):
        out.append(Issue("nonfiling", "error", "245", {"n": ind2}))
    return out
