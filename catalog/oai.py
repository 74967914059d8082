"""OAI-PMH 2.0 without the database: arguments, resumption tokens and the XML of every response.

catalog.services.oai reads the rows; this module checks what a harvester asked for (raising
OaiError with the protocol's error code), encodes the harvest's position in a signed token, and
writes the response as UTF-8 bytes. The XML is written as text rather than built as a tree: a
page of MARCXML comes ready-made from catalog.marc, and every value passes through ``text``,
which escapes it and drops the control characters XML 1.0 forbids.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from catalog import marc
from catalog.bib import MarcDict
from catalog.dc import dublin_core

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DC_NS = "http://purl.org/dc/elements/1.1/"


@dataclass(frozen=True)
class MetadataFormat:
    """A metadata format we disseminate, as ListMetadataFormats announces it."""

    prefix: str
    schema: str
    namespace: str


FORMATS = {
    "oai_dc": MetadataFormat("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
                             "http://www.openarchives.org/OAI/2.0/oai_dc/"),
    "marc21": MetadataFormat("marc21", "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
                             marc.MARCXML_NS),
}
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
SECOND = "%Y-%m-%dT%H:%M:%SZ"
DAY = "%Y-%m-%d"
ERROR_CODES = ("badArgument", "badResumptionToken", "badVerb", "cannotDisseminateFormat", "idDoesNotExist",
               "noRecordsMatch", "noMetadataFormats", "noSetHierarchy")
LIST_ARGUMENTS = {"metadataPrefix": True, "from": False, "until": False, "set": False}
# verb -> {argument: required}; resumptionToken is exclusive and handled apart.
VERBS: dict[str, dict[str, bool]] = {
    "Identify": {},
    "ListMetadataFormats": {"identifier": False},
    "ListSets": {},
    "ListIdentifiers": LIST_ARGUMENTS,
    "ListRecords": LIST_ARGUMENTS,
    "GetRecord": {"identifier": True, "metadataPrefix": True},
}
RESUMABLE = {"ListIdentifiers", "ListRecords", "ListSets"}
SET_SPEC = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
TOKEN_VERSION = 1
TOKEN_CONTEXT = b"catalog.oai.resumptionToken"


class OaiError(Exception):
    """A protocol error: the code of OAI-PMH 2.0 section 3.6 and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message


# --- dates --------------------------------------------------------------------------------------

def datestamp(moment: datetime) -> str:
    """A UTC datestamp at our granularity (seconds; finer parts are cut, never rounded up)."""
    return moment.astimezone(timezone.utc).strftime(SECOND)


def parse_date(text: str, name: str) -> tuple[datetime, timedelta]:
    """A from/until value as (UTC start, its length: one second or one day), or badArgument."""
    for pattern, length, size in ((SECOND, timedelta(seconds=1), 20), (DAY, timedelta(days=1), 10)):
        if len(text) == size:
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc), length
            except ValueError:
                break
    raise OaiError("badArgument", f"{name} must be a UTC date as YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ.")


# --- requests -----------------------------------------------------------------------------------

@dataclass
class OaiRequest:
    """A checked request: the verb, its arguments as given, and the parsed values."""

    verb: str
    arguments: dict[str, str]
    start: datetime | None = None  # from, inclusive
    end: datetime | None = None  # until, exclusive (until plus one second or one day)

    def get(self, name: str) -> str | None:
        """An argument's value as given (None when absent)."""
        return self.arguments.get(name)


# 3.4: a metadataPrefix is made of URI unreserved characters; 2.4: an identifier is a URI.
PREFIX_SYNTAX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
IDENTIFIER_SYNTAX = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[^\s<>\"{}|\\^`%]|%[0-9A-Fa-f]{2})+")


def parse_request(pairs: Iterable[tuple[str, str]]) -> OaiRequest:
    """Check a request's arguments (query string or form body) against the protocol."""
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    verbs = given.pop("verb", [])
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise OaiError("badVerb", "The verb argument is missing, repeated or not an OAI-PMH verb.")
    verb = verbs[0]
    allowed = VERBS[verb]
    for name, values in given.items():
        if name not in allowed and not (name == "resumptionToken" and verb in RESUMABLE):
            raise OaiError("badArgument", f"{verb} does not take the argument {name!r}.")
        if len(values) > 1:
            raise OaiError("badArgument", f"The argument {name!r} is repeated.")
    arguments = {name: values[0] for name, values in given.items()}
    if "resumptionToken" in arguments:
        if len(arguments) > 1:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument: send it with the verb only.")
        return OaiRequest(verb, arguments)
    missing = [name for name, required in allowed.items() if required and not arguments.get(name)]
    if missing:
        raise OaiError("badArgument", f"{verb} needs the argument {missing[0]!r}.")
    # Values that break their argument's syntax are badArgument (3.6), so they are never echoed (3.2).
    if "metadataPrefix" in arguments and not PREFIX_SYNTAX.fullmatch(arguments["metadataPrefix"]):
        raise OaiError("badArgument", "metadataPrefix may hold only letters, digits and - _ . ! ~ * ' ( ).")
    if "identifier" in arguments and not IDENTIFIER_SYNTAX.fullmatch(arguments["identifier"]):
        raise OaiError("badArgument", "identifier must be a URI such as oai:<repository>:<number>.")
    request = OaiRequest(verb, arguments)
    _check_range(request)
    if "set" in arguments and not SET_SPEC.fullmatch(arguments["set"]):
        raise OaiError("badArgument", "set must be a setSpec such as library:PUKB or type:book.")
    return request


def _check_range(request: OaiRequest) -> None:
    lower = request.get("from")
    upper = request.get("until")
    if lower is not None:
        request.start, _length = parse_date(lower, "from")
    if upper is not None:
        until, length = parse_date(upper, "until")
        request.end = until + length
    if lower is not None and upper is not None:
        if len(lower) != len(upper):
            raise OaiError("badArgument", "from and until must have the same granularity.")
        if lower > upper:  # same format, so text order is time order
            raise OaiError("badArgument", "from is later than until.")


def check_prefix(prefix: str) -> MetadataFormat:
    """The format of a metadataPrefix, or cannotDisseminateFormat."""
    found = FORMATS.get(prefix)
    if found is None:
        raise OaiError("cannotDisseminateFormat", f"Metadata formats here: {', '.join(FORMATS)}.")
    return found


def record_identifier(repository_id: str, record_id: int) -> str:
    """The OAI identifier of a catalog record."""
    return f"oai:{repository_id}:{record_id}"


def record_id_of(repository_id: str, identifier: str) -> int:
    """The record id in an OAI identifier of ours, or idDoesNotExist."""
    prefix = f"oai:{repository_id}:"
    number = identifier[len(prefix):] if identifier.startswith(prefix) else ""
    if not (number.isdigit() and number.isascii() and len(number) < 16 and number[0] != "0"):
        raise OaiError("idDoesNotExist", f"No record has the identifier {identifier!r}.")
    return int(number)


# --- resumption tokens ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Harvest:
    """Where a list request stands: its fixed arguments, the last (datestamp, id) sent, counts."""

    verb: str
    prefix: str
    set_spec: str | None
    start: datetime | None
    end: datetime  # exclusive; fixed at the first request so the list cannot grow while harvested
    after: tuple[datetime, int] | None = None
    cursor: int = 0
    total: int = 0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, key: str) -> str:
    digest = hmac.new(key.encode("utf-8"), TOKEN_CONTEXT + b"\0" + payload.encode("ascii"), hashlib.sha256)
    return _b64(digest.digest()[:18])


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment is not None else None


def encode_token(harvest: Harvest, key: str) -> str:
    """An opaque token for the next page: base64 JSON plus an HMAC, so it cannot be forged or edited."""
    after = [_iso(harvest.after[0]), harvest.after[1]] if harvest.after else None
    state = [TOKEN_VERSION, harvest.verb, harvest.prefix, harvest.set_spec, _iso(harvest.start),
             _iso(harvest.end), after, harvest.cursor, harvest.total]
    payload = _b64(json.dumps(state, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_signature(payload, key)}"


def decode_token(token: str, key: str, verb: str) -> Harvest:
    """The harvest a token stands for, or badResumptionToken (forged, damaged, other verb, old format)."""
    payload, _dot, signature = token.partition(".")
    bad = OaiError("badResumptionToken", "The resumptionToken is not one of ours, or was changed.")
    if not payload or not hmac.compare_digest(signature.encode("ascii", "replace"),
                                              _signature(payload, key).encode("ascii")):
        raise bad
    try:
        version, token_verb, prefix, set_spec, start, end, after, cursor, total = json.loads(_unb64(payload))
        if version != TOKEN_VERSION or token_verb != verb:
            raise ValueError(token_verb)
        return Harvest(verb, prefix, set_spec, datetime.fromisoformat(start) if start else None,
                       datetime.fromisoformat(end), (datetime.fromisoformat(after[0]), int(after[1])) if after else None,
                       int(cursor), int(total))
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise bad from exc


# --- XML ------------------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def text(value: Any) -> str:
    """A value as XML character data or attribute text: escaped, without XML-illegal characters."""
    return marc.XML_ILLEGAL.sub("", str(value)).translate(_ESCAPES)


def _attrs(values: Mapping[str, Any]) -> str:
    return "".join(f' {name}="{text(value)}"' for name, value in values.items())


def element(name: str, value: Any, **attributes: Any) -> str:
    """<name attributes>value</name>."""
    return f"<{name}{_attrs(attributes)}>{text(value)}</{name}>"


def response(*, base_url: str, now: datetime, request: OaiRequest | None, body: Iterable[str | bytes]) -> bytes:
    """The whole response document; ``request`` None (badVerb, badArgument) echoes no arguments."""
    echoed = {"verb": request.verb, **request.arguments} if request is not None else {}
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="{XSI_NS}" '
            f'xsi:schemaLocation="{OAI_NS} {OAI_SCHEMA}">\n'
            f"<responseDate>{datestamp(now)}</responseDate>\n<request{_attrs(echoed)}>{text(base_url)}</request>\n")
    parts = [head.encode("utf-8")]
    parts += [chunk if isinstance(chunk, bytes) else chunk.encode("utf-8") for chunk in body]
    parts.append(b"</OAI-PMH>\n")
    return b"".join(parts)


def error_body(error: OaiError) -> list[str]:
    """An <error> element."""
    return [element("error", error.message, code=error.code), "\n"]


@dataclass
class Repository:
    """What Identify tells about us (from the CATALOG_OAI_* settings and the data)."""

    name: str
    base_url: str
    admin_email: str
    earliest: datetime


def identify_body(repo: Repository) -> list[str]:
    """The Identify element: granularity seconds, deletions kept for ever (persistent)."""
    parts = [element("repositoryName", repo.name), element("baseURL", repo.base_url),
             element("protocolVersion", "2.0"), element("adminEmail", repo.admin_email),
             element("earliestDatestamp", datestamp(repo.earliest)), element("deletedRecord", "persistent"),
             element("granularity", GRANULARITY)]
    return ["<Identify>", *parts, "</Identify>\n"]


def formats_body(formats: Iterable[MetadataFormat]) -> list[str]:
    """The ListMetadataFormats element."""
    out = ["<ListMetadataFormats>"]
    for fmt in formats:
        out.append(f"<metadataFormat>{element('metadataPrefix', fmt.prefix)}{element('schema', fmt.schema)}"
                   f"{element('metadataNamespace', fmt.namespace)}</metadataFormat>")
    return out + ["</ListMetadataFormats>\n"]


def sets_body(sets: Iterable[tuple[str, str]]) -> list[str]:
    """The ListSets element from (setSpec, setName) pairs."""
    out = ["<ListSets>"]
    out += [f"<set>{element('setSpec', spec)}{element('setName', name)}</set>" for spec, name in sets]
    return out + ["</ListSets>\n"]


@dataclass
class Entry:
    """One record of a page: a live record (with its MARC for ListRecords/GetRecord) or a deletion."""

    record_id: int
    changed: datetime
    deleted: bool = False
    sets: list[str] = field(default_factory=list)
    marc: MarcDict | None = None


def header(entry: Entry, repository_id: str) -> str:
    """A record header: identifier, datestamp, setSpecs, status="deleted" for deletions."""
    status = ' status="deleted"' if entry.deleted else ""
    specs = "".join(element("setSpec", spec) for spec in entry.sets)
    return (f"<header{status}>{element('identifier', record_identifier(repository_id, entry.record_id))}"
            f"{element('datestamp', datestamp(entry.changed))}{specs}</header>")


def oai_dc(record: MarcDict) -> str:
    """A record as oai_dc (simple Dublin Core, crosswalked by catalog.dc)."""
    fmt = FORMATS["oai_dc"]
    values = "".join(element(f"dc:{name}", value) for name, value in dublin_core(record))
    # xmlns:xsi again: the metadata stays readable when a harvester stores it on its own.
    return (f'<oai_dc:dc xmlns:oai_dc="{fmt.namespace}" xmlns:dc="{DC_NS}" xmlns:xsi="{XSI_NS}" '
            f'xsi:schemaLocation="{fmt.namespace} {fmt.schema}">{values}</oai_dc:dc>')


def metadata(record: MarcDict, prefix: str) -> bytes:
    """The <metadata> element of a record in a format."""
    inner = oai_dc(record).encode("utf-8") if prefix == "oai_dc" else marc.marcxml_record(record, namespace=True)
    return b"<metadata>" + inner.rstrip(b"\n") + b"</metadata>"


def record_element(entry: Entry, prefix: str, repository_id: str) -> bytes:
    """A <record>: its header, and its metadata unless it is deleted."""
    head = f"<record>{header(entry, repository_id)}".encode("utf-8")
    if entry.deleted or entry.marc is None:
        return head + b"</record>\n"
    return head + metadata(entry.marc, prefix) + b"</record>\n"


def token_element(token: str, *, cursor: int, total: int) -> str:
    """A resumptionToken element ("" token: the list is complete)."""
    return element("resumptionToken", token, completeListSize=total, cursor=cursor) + "\n"


def list_body(verb: str, entries: Sequence[Entry], *, prefix: str, repository_id: str,
              token: str | None) -> list[str | bytes]:
    """The ListIdentifiers or ListRecords element of one page (token None: the list fitted in one page)."""
    out: list[str | bytes] = [f"<{verb}>\n"]
    if verb == "ListIdentifiers":
        out += [header(entry, repository_id) + "\n" for entry in entries]
    else:
        out += [record_element(entry, prefix, repository_id) for entry in entries]
    if token is not None:
        out.append(token)
    return out + [f"</{verb}>\n"]


def get_record_body(entry: Entry, prefix: str, repository_id: str) -> list[str | bytes]:
    """The GetRecord element."""
    return ["<GetRecord>", record_element(entry, prefix, repository_id), "</GetRecord>\n"]
