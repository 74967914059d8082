"""Readers for the text-based MARC formats: MARCXML (streamed, hardened), MARC-in-JSON and MARCMaker.

None of these needs pymarc: they build MARC-in-JSON dicts directly. ISO 2709 (binary, MARC-8)
is read by catalog.marc, which also dispatches to these by format.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from catalog.bib import MarcDict, from_mnemonic

BLOCK = 1 << 20
XML_ILLEGAL_BYTES = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class ReadResult:
    """One record read from a file: its position, the record or why it could not be read."""

    position: int  # 1-based number of the record in the file
    offset: int | None = None  # byte offset (ISO 2709)
    record: MarcDict | None = None
    error: str = ""  # a validation.MESSAGES code when the record is unreadable
    detail: str = ""
    warnings: list[dict[str, Any]] = field(default_factory=list)
    encoding: str = ""


# --- MARCXML ----------------------------------------------------------------------------------

class _CleanXml(io.RawIOBase):
    """A byte stream without XML-illegal control characters, wrapped in <collection> if needed."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        head = stream.read(BLOCK)
        self.pending = self._wrap(head)
        self.wrapped = self.pending is not None and b"<collection" in self.pending[:20]

    def _wrap(self, head: bytes) -> bytes:
        root = re.search(rb"<(?![?!])(?:[\w.-]+:)?([\w.-]+)", head)
        # A DTD stays where it is, so the parser can refuse it (wrapping would hide it).
        if root and root.group(1) == b"record" and b"<!DOCTYPE" not in head[:root.start()]:
            decl = re.match(rb"\s*<\?xml[^>]*\?>", head)
            start = decl.end() if decl else 0
            self.closing = b"</collection>"
            return b"<collection>" + XML_ILLEGAL_BYTES.sub(b" ", head[start:])
        self.closing = b""
        return XML_ILLEGAL_BYTES.sub(b" ", head)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            block = self.stream.read(BLOCK)
            if not block:
                self.pending, self.closing = self.closing, b""
                if not self.pending:
                    return 0
                break
            self.pending = XML_ILLEGAL_BYTES.sub(b" ", block)
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_record(elem: Any) -> MarcDict:
    leader = ""
    out: list[dict[str, Any]] = []
    for child in elem:
        name = _local(child.tag)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            out.append({child.attrib["tag"]: child.text or ""})
        elif name == "datafield":
            subs = [{sub.attrib["code"]: sub.text or ""} for sub in child if _local(sub.tag) == "subfield"]
            out.append({child.attrib["tag"]: {"ind1": (child.attrib.get("ind1") or " ")[:1],
                                              "ind2": (child.attrib.get("ind2") or " ")[:1], "subfields": subs}})
    leader = leader.ljust(24)[:24]
    return {"leader": leader[:9] + "a" + leader[10:], "fields": out}


def read_xml(stream: IO[bytes]) -> Iterator[ReadResult]:
    position = 0
    source = io.BufferedReader(_CleanXml(stream), BLOCK)
    try:
        depth = 0
        for event, elem in SafeET.iterparse(source, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                continue
            depth -= 1
            if _local(elem.tag) != "record":
                continue
            position += 1
            result = ReadResult(position=position, encoding="utf-8")
            try:
                result.record = _xml_record(elem)
            except KeyError as exc:
                result.error, result.detail = "read_xml_attribute", f"missing attribute {exc}"
            elem.clear()
            yield result
    except DefusedXmlException as exc:
        yield ReadResult(position=position + 1, error="read_xml_forbidden", detail=type(exc).__name__)
    except SafeET.ParseError as exc:
        yield ReadResult(position=position + 1, error="read_xml_syntax", detail=str(exc)[:300])


# --- MARC-in-JSON (and marc4j's MARC-JSON) ----------------------------------------------------

def _json_record(obj: Any) -> MarcDict:
    if not isinstance(obj, dict):
        raise ValueError("not an object")
    if "controlfield" in obj or "datafield" in obj:  # MARC-JSON (marc4j)
        out: list[dict[str, Any]] = [{c["tag"]: c.get("data", "")} for c in obj.get("controlfield", [])]
        for d in obj.get("datafield", []):
            ind = (d.get("ind") or "  ").ljust(2)
            out.append({d["tag"]: {"ind1": ind[0], "ind2": ind[1],
                                   "subfield": None, "subfields": [{s["code"]: s.get("data", "")}
                                                                   for s in d.get("subfield", [])]}})
            out[-1][d["tag"]].pop("subfield")
        leader = str(obj.get("leader", ""))
    else:
        leader, out = str(obj["leader"]), []
        for entry in obj["fields"]:
            ((tag, value),) = entry.items()
            if isinstance(value, dict):
                subs = [{str(c): str(v)} for s in value.get("subfields", []) for c, v in s.items()]
                out.append({str(tag): {"ind1": str(value.get("ind1", " "))[:1] or " ",
                                       "ind2": str(value.get("ind2", " "))[:1] or " ", "subfields": subs}})
            else:
                out.append({str(tag): str(value)})
    leader = leader.ljust(24)[:24]
    return {"leader": leader[:9] + "a" + leader[10:], "fields": out}


def _json_items(text: str) -> list[Any]:
    """Records of a JSON document, a JSON-lines file or marc4j's relaxed MARC-JSON (unquoted keys)."""
    try:
        data = json.loads(text, strict=False)  # raw tabs and delimiters occur inside strings
    except json.JSONDecodeError as first_error:
        try:
            relaxed = re.sub(r'([\]}])(\s*)([A-Za-z_]\w*\s*:)', r'\1,\2\3', text)  # "}]datafield :"
            data = json.loads(re.sub(r'([{,]\s*)([A-Za-z_]\w*)\s*:', r'\1"\2":', relaxed), strict=False)
        except json.JSONDecodeError:
            lines = [line for line in text.splitlines() if line.strip()]
            try:
                json.loads(lines[0], strict=False) if lines else None
            except json.JSONDecodeError:
                return [first_error]
            items: list[Any] = []
            for line in lines:
                try:
                    items.append(json.loads(line, strict=False))
                except json.JSONDecodeError as exc:
                    items.append(exc)
            return items
    return data if isinstance(data, list) else [data]


def read_json(stream: IO[bytes]) -> Iterator[ReadResult]:
    text = stream.read().decode("utf-8", "replace")
    for position, obj in enumerate(_json_items(text), start=1):
        result = ReadResult(position=position, encoding="utf-8")
        try:
            if isinstance(obj, Exception):
                raise obj
            result.record = _json_record(obj)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            result.error, result.detail = "read_json", f"{type(exc).__name__}: {exc}"[:300]
        yield result


# --- MARCMaker (.mrk / .mrk8) -----------------------------------------------------------------

def read_mrk(stream: IO[bytes], requested: str) -> Iterator[ReadResult]:
    raw = stream.read()
    codec = "utf-8" if requested in ("auto", "utf-8", "marc-8") else requested
    text = raw.decode(codec, "replace")
    blocks = [b for b in re.split(r"\r?\n\s*\r?\n", text) if b.strip()]
    for position, block in enumerate(blocks, start=1):
        result = ReadResult(position=position, encoding=codec)
        record, _bad = from_mnemonic(block)
        if not record["fields"] and not record["leader"].strip():
            result.error, result.detail = "read_no_fields", "no =LDR or fields"
        else:
            leader = record["leader"]
            record["leader"] = leader[:9] + "a" + leader[10:]
            result.record = record
        yield result
