"""SRU requests: versions, operations, parameters and diagnostics; GET/POST parameters or an SRW body in.

Where the specifications leave a choice, the comment beside the code says which we made.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

VERSIONS = ("1.1", "1.2", "2.0")
SRW_NS = "http://www.loc.gov/zing/srw/"
SRW_DIAGNOSTIC_NS = "http://www.loc.gov/zing/srw/diagnostic/"
SRU2_NS = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SRU2_REQUEST_NS = "http://docs.oasis-open.org/ns/search-ws/sruRequest"
SRU2_SCAN_NS = "http://docs.oasis-open.org/ns/search-ws/scan"
SRU2_DIAGNOSTIC_NS = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
SOAP_NAMESPACES = ("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")

OPERATIONS = ("explain", "searchRetrieve", "scan")
SOAP_REQUESTS = {"explainRequest": "explain", "searchRetrieveRequest": "searchRetrieve", "scanRequest": "scan"}
# The parameters each operation takes, by version (besides operation, version and stylesheet).
PARAMETERS = {
    "searchRetrieve": frozenset({"query", "startRecord", "maximumRecords", "recordPacking", "recordSchema",
                                 "recordXPath", "resultSetTTL", "sortKeys"}),
    "scan": frozenset({"scanClause", "responsePosition", "maximumTerms"}),
    "explain": frozenset({"recordPacking"}),
}
SRU2_PARAMETERS = frozenset({"queryType", "recordXMLEscaping", "renderedBy", "httpAccept", "responseType"})
# SLiMS's copy-cataloguing client (admin/modules/bibliography/marcsru.php) adds its page size as
# `maxitem` to every request; it is not an x- extension, but refusing it would lock out SLiMS peers.
TOLERATED = frozenset({"maxitem"})
HTTP_ACCEPT = frozenset({"application/sru+xml", "application/xml", "text/xml", "*/*"})
PACKINGS = ("xml", "string")


@dataclass(frozen=True)
class Schema:
    """A record schema we serve."""

    name: str
    uri: str
    title_id: str
    title_en: str


SCHEMAS = {
    "marcxml": Schema("marcxml", "info:srw/schema/1/marcxml-v1.1", "MARC 21 dalam XML (MARCXML)",
                      "MARC 21 XML (MARCXML)"),
    "dc": Schema("dc", "info:srw/schema/1/dc-v1.1", "Dublin Core sederhana", "Simple Dublin Core"),
}
# recordSchema values clients send (compared in lower case) -> our schema.
SCHEMA_NAMES = {"marcxml": "marcxml", "info:srw/schema/1/marcxml-v1.1": "marcxml", "marc21-xml": "marcxml",
                "marc21": "marcxml", "dc": "dc", "info:srw/schema/1/dc-v1.1": "dc"}

# The standard messages of the diagnostics we send (info:srw/diagnostic/1/N).
MESSAGES = {
    4: "Unsupported operation", 5: "Unsupported version",
    6: "Unsupported parameter value", 7: "Mandatory parameter not supplied", 8: "Unsupported parameter",
    10: "Query syntax error", 12: "Too many characters in query", 13: "Invalid or unsupported use of parentheses",
    14: "Invalid or unsupported use of quotes", 15: "Unsupported context set", 16: "Unsupported index",
    19: "Unsupported relation", 20: "Unsupported relation modifier",
    22: "Unsupported combination of relation and index", 24: "Unsupported combination of relation and term",
    27: "Empty term unsupported", 28: "Masking character not supported", 31: "Anchoring character not supported",
    33: "Combination of proximity/adjacency and masking characters not supported",
    36: "Term in invalid format for index or relation", 37: "Unsupported boolean operator",
    38: "Too many boolean operators in query", 46: "Unsupported boolean modifier",
    61: "First record position out of range", 65: "Record does not exist", 66: "Unknown schema for retrieval",
    71: "Unsupported record packing", 72: "XPath retrieval unsupported", 80: "Sort not supported",
    90: "Unsupported direction value", 110: "Stylesheets not supported", 120: "Response position out of range",
}


@dataclass(frozen=True)
class Diagnostic:
    """One SRU diagnostic: the number in info:srw/diagnostic/1/, its details and a message."""

    code: int
    details: str = ""
    message: str = ""

    @property
    def uri(self) -> str:
        """The diagnostic's URI."""
        return f"info:srw/diagnostic/1/{self.code}"

    @property
    def text(self) -> str:
        """The message sent: ours when we have one, else the standard one."""
        return self.message or MESSAGES.get(self.code, "")


class SruError(ValueError):
    """A request we answer with a fatal diagnostic."""

    def __init__(self, code: int, details: str = "", message: str = "") -> None:
        super().__init__(message or details)
        self.diagnostic = Diagnostic(code, details, message)


class SoapFault(ValueError):
    """A POST body that is not an SRW request we can read (answered with a SOAP Fault)."""


@dataclass(frozen=True)
class Limits:
    """Server settings from the configuration (CATALOG_SRU_*)."""

    default_records: int = 10
    max_records: int = 100
    max_terms: int = 100


@dataclass
class Request:
    """A parsed SRU request. ``error`` holds the fatal diagnostic when it cannot be run."""

    operation: str = "explain"
    version: str = "1.2"
    query: str = ""
    start: int = 1
    maximum: int | None = None
    schema: str = "marcxml"
    packing: str = "xml"
    scan_clause: str = ""
    response_position: int = 1
    maximum_terms: int = 20
    soap: str = ""  # the SOAP envelope namespace of an SRW request ("" for GET and form POST)
    error: Diagnostic | None = None


def _answer_version(requested: str) -> str:
    """The version we answer an unsupported one in: the highest we have not above it."""
    try:
        number = float(requested)
    except ValueError:
        return "1.2"
    below = [v for v in VERSIONS if float(v) <= number]
    return below[-1] if below else VERSIONS[0]


def _integer(params: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise SruError(6, name, f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise SruError(6, name, f"{name} must be at least {minimum}")
    return number


def _required(params: Mapping[str, str], name: str, operation: str) -> str:
    if name not in params:
        raise SruError(7, name, f"A {operation} request needs {name}")
    return params[name]


def _check_names(params: Mapping[str, str], req: Request) -> None:
    allowed = PARAMETERS[req.operation] | {"operation", "version", "stylesheet"}
    if req.version == "2.0":
        allowed |= SRU2_PARAMETERS
    for name in params:
        if name not in allowed and name not in TOLERATED and not name.startswith("x-"):
            raise SruError(8, name, f"Unsupported parameter {name}")


def _fill(params: Mapping[str, str], req: Request) -> None:
    """Check the values of a request whose version and operation are known."""
    _check_names(params, req)
    if params.get("stylesheet"):
        raise SruError(110, params["stylesheet"])
    if params.get("queryType", "cql") != "cql":
        raise SruError(6, "queryType", "Only CQL queries are supported")
    if params.get("httpAccept", "application/sru+xml") not in HTTP_ACCEPT:
        raise SruError(6, "httpAccept", "Responses are XML (application/sru+xml)")
    if params.get("renderedBy", "client") != "client":
        raise SruError(6, "renderedBy", "Responses are rendered by the client")
    packing_name = "recordXMLEscaping" if req.version == "2.0" else "recordPacking"
    packing = params.get(packing_name, "xml")
    if packing.lower() not in PACKINGS:  # some clients write XML
        raise SruError(71, packing, f"{packing_name} is xml or string")
    req.packing = packing.lower()
    if req.version == "2.0" and params.get("recordPacking", "packed") != "packed":
        raise SruError(6, "recordPacking", "Records are sent packed")
    if req.operation == "searchRetrieve":
        req.query = _required(params, "query", req.operation)
        req.start = _integer(params, "startRecord", 1, 1)
        req.maximum = _integer(params, "maximumRecords", 0, 0) if "maximumRecords" in params else None
        schema = params.get("recordSchema", "marcxml")
        if schema.lower() not in SCHEMA_NAMES:
            raise SruError(66, schema, f"Unknown record schema {schema}; we serve marcxml and dc")
        req.schema = SCHEMA_NAMES[schema.lower()]
        if params.get("recordXPath"):
            raise SruError(72, params["recordXPath"])
        if params.get("sortKeys"):  # SRU 1.1's sort parameter; CQL's sortBy is how to sort here
            raise SruError(80, "sortKeys", "Sort with CQL sortBy (query=... sortBy dc.title)")
    elif req.operation == "scan":
        req.scan_clause = _required(params, "scanClause", req.operation)
        req.maximum_terms = _integer(params, "maximumTerms", 20, 1)
        req.response_position = _integer(params, "responsePosition", 1, 0)
        if req.response_position > req.maximum_terms + 1:
            raise SruError(120, str(req.response_position), "responsePosition is beyond maximumTerms + 1")


def parse_request(raw: Mapping[str, str], *, soap: str = "") -> Request:
    """A request from its parameters (GET query, form POST or an SRW body read by ``soap_params``)."""
    params = {name: value for name, value in raw.items() if value != ""}  # empty = not given
    operation = params.get("operation")
    version = params.get("version")
    if version is None:
        # SRU 2.0 has no version parameter; a request with an operation is from the 1.x family,
        # where version is mandatory: we answer it in 1.2 rather than refuse it.
        version = "1.2" if operation else "2.0"
    if operation is None:  # SRU 2.0 and the explain convention: the parameters say the operation
        operation = "searchRetrieve" if "query" in params else ("scan" if "scanClause" in params else "explain")
    req = Request(operation=operation, version=version, soap=soap)
    if version not in VERSIONS:
        req.version = _answer_version(version)
        req.error = Diagnostic(5, VERSIONS[-1], f"Version {version} is not supported; we speak {', '.join(VERSIONS)}")
    if req.operation not in OPERATIONS:
        req.operation = "explain"
        req.error = req.error or Diagnostic(4, operation, f"Unsupported operation {operation}")
    if req.error is None:
        try:
            _fill(params, req)
        except SruError as exc:
            req.error = exc.diagnostic
    return req


def _local(tag: str) -> tuple[str, str]:
    namespace, _brace, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return namespace, name


def soap_params(body: bytes) -> tuple[dict[str, str], str]:
    """The parameters of an SRW (SOAP) request and its envelope namespace; SoapFault if unreadable."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise SoapFault(f"The request is not well-formed XML: {exc}") from None
    envelope_ns, name = _local(root.tag)
    if name != "Envelope" or envelope_ns not in SOAP_NAMESPACES:
        raise SoapFault("The request is not a SOAP envelope")
    body_element = root.find(f"{{{envelope_ns}}}Body")
    request: Element | None = next(iter(body_element), None) if body_element is not None else None
    if request is None:
        raise SoapFault("The SOAP body holds no request")
    namespace, name = _local(request.tag)
    params = {"operation": SOAP_REQUESTS.get(name, name)}
    for child in request:
        params[_local(child.tag)[1]] = (child.text or "").strip()
    if "version" not in params:  # SRU 2.0 requests carry no version; SRW 1.x ones should
        params["version"] = "2.0" if namespace == SRU2_REQUEST_NS else "1.2"
    return params, envelope_ns


