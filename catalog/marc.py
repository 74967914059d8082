"""MARC at the edge: read ISO 2709, MARCXML, MARC-in-JSON and MARCMaker; write ISO 2709 and MARCXML.

The only module that imports pymarc; the text formats are read by catalog.readers. Everything it reads comes out as MARC-in-JSON dicts
(catalog.bib) in Unicode; everything it writes goes in as such dicts. Readers stream (one record at a
time), decide the encoding per record (leader/09 plus a UTF-8 sniff, or an explicit encoding), and
never raise for a bad record: they yield a ReadResult with an error code and carry on.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from typing import IO, Any

import pymarc

from catalog.bib import LEADER_SIGNATURE, MarcDict
from catalog.readers import BLOCK, ReadResult, read_json, read_mrk, read_xml

FORMATS = ("iso2709", "marcxml", "json", "mrk")
ENCODINGS = ("auto", "utf-8", "marc-8", "cp1251", "cp1252", "latin-1")
RECORD_END = 0x1D
MARCXML_NS = "http://www.loc.gov/MARC21/slim"
# XML 1.0 forbids these control characters; real exports contain them (raw MARC delimiters).
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class _Collector(logging.Handler):
    """Collects pymarc's own log warnings (missing indicators ...) for the record being read."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:200])


_collector = _Collector()
_pymarc_log = logging.getLogger("pymarc")
_pymarc_log.addHandler(_collector)
_pymarc_log.propagate = False


def detect_format(filename: str, head: bytes) -> str:
    """The format of a file from its first bytes (and its name when the bytes are ambiguous)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "marcxml"
    if text[:1] in (b"{", b"["):
        return "json"
    if text.startswith(b"=LDR") or filename.lower().endswith((".mrk", ".mrk8")):
        return "mrk"
    return "iso2709"


def read(stream: IO[bytes], *, fmt: str, encoding: str = "auto") -> Iterator[ReadResult]:
    """Every record of a binary stream, in order, as ReadResults."""
    if fmt == "iso2709":
        yield from _read_iso(stream, encoding)
    elif fmt == "marcxml":
        yield from read_xml(stream)
    elif fmt == "json":
        yield from read_json(stream)
    elif fmt == "mrk":
        yield from read_mrk(stream, encoding)
    else:
        raise ValueError(f"unknown format {fmt!r}")


# --- ISO 2709 ---------------------------------------------------------------------------------

SKIPPED_BETWEEN_RECORDS = frozenset(b"\r\n\x00 \x1a")


def _iso_chunks(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(offset, raw bytes) of each record: by the leader's length when it is right, else up to 0x1D."""
    buf, pos, offset, eof = b"", 0, 0, False  # offset: file position of buf[pos]
    while True:
        if not eof and len(buf) - pos < 100_000:
            block = stream.read(BLOCK)
            eof = not block
            buf, pos = buf[pos:] + block, 0
        while pos < len(buf) and buf[pos] in SKIPPED_BETWEEN_RECORDS:
            pos += 1
            offset += 1
        if pos >= len(buf):
            if eof:
                return
            continue
        head = buf[pos:pos + 5]
        length = int(head) if head.isdigit() else 0
        if 24 < length <= len(buf) - pos and buf[pos + length - 1] == RECORD_END:
            end = pos + length
        else:
            found = buf.find(b"\x1d", pos) + 1
            while found == 0 and not eof:
                block = stream.read(BLOCK)
                eof = not block
                buf, pos = buf[pos:] + block, 0
                found = buf.find(b"\x1d", pos) + 1
            end = found or len(buf)
            # A record cut short has no terminator of its own: stop at the next leader, if one follows.
            following = LEADER_SIGNATURE.search(buf, pos + 24, end)
            if following:
                end = following.start()
        yield offset, buf[pos:end]
        offset += end - pos
        pos = end


def _sniff_encoding(raw: bytes, requested: str) -> str:
    """utf-8, marc-8 or a codec name for one raw record."""
    if requested != "auto":
        return requested
    body = raw[24:]
    if raw[9:10] == b"a":
        return "utf-8"
    if body.isascii():
        return "marc-8"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "marc-8"
    return "utf-8"  # leader/09 says MARC-8, but the bytes are valid UTF-8 (a common mislabel)


def _decode(raw: bytes, enc: str, utf8_handling: str = "strict") -> pymarc.Record:
    if enc == "utf-8":
        return pymarc.Record(data=raw, force_utf8=True, utf8_handling=utf8_handling, hide_utf8_warnings=True)
    data = raw[:9] + b" " + raw[10:]  # pymarc trusts leader/09 'a' over the encoding asked for
    if enc == "marc-8":
        return pymarc.Record(data=data, hide_utf8_warnings=False)
    return pymarc.Record(data=data, file_encoding=enc)


READ_ERRORS = {
    "RecordLeaderInvalid": "read_leader", "BaseAddressInvalid": "read_base_address",
    "BaseAddressNotFound": "read_base_address", "RecordDirectoryInvalid": "read_directory",
    "TruncatedRecord": "read_truncated", "EndOfRecordNotFound": "read_truncated",
    "NoFieldsFound": "read_no_fields", "RecordLengthInvalid": "read_length",
    "UnicodeDecodeError": "read_encoding", "ValueError": "read_number",
}


def _fast_utf8(raw: bytes) -> MarcDict | None:
    """A well-formed UTF-8 record straight to a dict (None: let pymarc and its checks handle it).

    Does what pymarc's decoder does for clean records, about five times faster; anything unusual
    (odd indicators, bad directory, undecodable bytes) returns None and takes the pymarc path.
    """
    try:
        base = int(raw[12:17])
        directory = raw[24:base - 1]
        if raw[-1] != RECORD_END or raw[base - 1] != 0x1E or len(directory) % 12:
            return None
        out: list[dict[str, Any]] = []
        for i in range(0, len(directory), 12):
            tag = directory[i:i + 3].decode("ascii")
            start = base + int(directory[i + 7:i + 12])
            data = raw[start:start + int(directory[i + 3:i + 7])]
            if data[-1:] != b"\x1e":
                return None
            if tag < "010" and tag.isdigit():
                out.append({tag: data[:-1].decode("utf-8")})
                continue
            parts = data[:-1].split(b"\x1f")
            if len(parts[0]) != 2 or not parts[0].isascii():
                return None
            out.append({tag: {"ind1": chr(parts[0][0]), "ind2": chr(parts[0][1]), "subfields": [
                {part[:1].decode("ascii"): part[1:].decode("utf-8")} for part in parts[1:] if part]}})
        leader = raw[:24].decode("ascii")
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    return {"leader": leader[:9] + "a" + leader[10:], "fields": out}


def _parse_iso(position: int, offset: int, raw: bytes, requested: str) -> ReadResult:
    result = ReadResult(position=position, offset=offset)
    enc = _sniff_encoding(raw, requested)
    if enc == "utf-8" and (fast := _fast_utf8(raw)) is not None:
        if requested == "auto" and raw[9:10] != b"a" and not raw[24:].isascii():
            result.warnings.append({"code": "encoding_sniffed", "severity": "warning", "tag": "LDR", "params": {}})
        result.record, result.encoding = fast, "utf-8"
        return result
    if enc == "utf-8" and requested == "auto" and raw[9:10] != b"a" and not raw[24:].isascii():
        result.warnings.append({"code": "encoding_sniffed", "severity": "warning", "tag": "LDR", "params": {}})
    attempts = [(enc, "strict")] + ([(enc, "replace")] if enc == "utf-8" else []) + [("latin-1", "strict")]
    last: Exception | None = None
    for attempt_enc, handling in attempts:
        _collector.messages.clear()
        stderr = io.StringIO()
        try:
            with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
                warnings.simplefilter("always")
                parsed = _decode(raw, attempt_enc, handling)
        except Exception as exc:  # pymarc raises many kinds; each becomes a reason, not a crash
            last = exc
            if type(exc).__name__ not in ("UnicodeDecodeError",):
                break
            continue
        result.encoding = attempt_enc
        if (attempt_enc, handling) != (enc, "strict"):
            result.warnings.append({"code": "encoding_fallback", "severity": "warning", "tag": "LDR",
                                    "params": {"encoding": attempt_enc}})
        if stderr.getvalue() or caught or _collector.messages:
            detail = (stderr.getvalue().strip().splitlines()[:1] or [str(w.message) for w in caught][:1]
                      or _collector.messages[:1])
            result.warnings.append({"code": "read_noise", "severity": "warning", "tag": "",
                                    "params": {"detail": str(detail[0])[:160]}})
        result.record = to_dict(parsed)
        return result
    result.error = READ_ERRORS.get(type(last).__name__, "read_unknown")
    result.detail = f"{type(last).__name__}: {last}"[:300]
    return result


def _read_iso(stream: IO[bytes], requested: str) -> Iterator[ReadResult]:
    for position, (offset, raw) in enumerate(_iso_chunks(stream), start=1):
        yield _parse_iso(position, offset, raw, requested)


def to_dict(record: pymarc.Record) -> MarcDict:
    """A pymarc Record as a MARC-in-JSON dict, marked as Unicode (leader/09 'a')."""
    leader = str(record.leader).ljust(24)[:24]
    out: list[dict[str, Any]] = []
    for f in record.fields:
        if f.is_control_field():
            out.append({f.tag: f.data or ""})
        else:
            out.append({f.tag: {"ind1": (f.indicator1 or " ")[:1], "ind2": (f.indicator2 or " ")[:1],
                                "subfields": [{s.code: s.value} for s in f.subfields]}})
    return {"leader": leader[:9] + "a" + leader[10:], "fields": out}


# --- writing ----------------------------------------------------------------------------------

def to_pymarc(record: MarcDict, *, xml_safe: bool = False) -> pymarc.Record:
    """A pymarc Record from a dict (XML-illegal characters replaced when ``xml_safe``)."""
    clean = (lambda s: XML_ILLEGAL.sub("\ufffd", s)) if xml_safe else (lambda s: s)
    leader = (record.get("leader") or "").ljust(24)[:24]
    out = pymarc.Record(leader=leader[:9] + "a" + leader[10:], force_utf8=True)
    for entry in record.get("fields", ()):
        for tag, value in entry.items():
            if isinstance(value, dict):
                subs = [pymarc.Subfield(code=c, value=clean(str(v))) for s in value.get("subfields", ())
                        for c, v in s.items()]
                out.add_field(pymarc.Field(tag=tag, indicators=pymarc.Indicators(
                    value.get("ind1", " ") or " ", value.get("ind2", " ") or " "), subfields=subs))
            else:
                out.add_field(pymarc.Field(tag=tag, data=clean(str(value))))
    return out


class TooLongForIso2709(ValueError):
    """ISO 2709 cannot hold records over 99,999 bytes (MARCXML can)."""


def iso2709(record: MarcDict) -> bytes:
    """One record as ISO 2709 bytes in UTF-8."""
    data = to_pymarc(record).as_marc()
    if len(data) > 99_999:
        raise TooLongForIso2709(len(data))
    return data


XML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
XML_TAIL = b"</collection>\n"


def marcxml_record(record: MarcDict, *, namespace: bool = False) -> bytes:
    """One <record> element (inside XML_HEAD/XML_TAIL unless ``namespace``)."""
    return pymarc.record_to_xml(to_pymarc(record, xml_safe=True), namespace=namespace) + b"\n"


def marcxml(records: Iterable[MarcDict]) -> Iterator[bytes]:
    """A MARCXML collection, chunk by chunk."""
    yield XML_HEAD
    for record in records:
        yield marcxml_record(record)
    yield XML_TAIL


def marc_json(record: MarcDict) -> str:
    """MARC-in-JSON text."""
    return json.dumps(record, ensure_ascii=False)
