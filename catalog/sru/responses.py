"""SRU responses as XML text: searchRetrieve, scan, explain and diagnostics, plain or in a SOAP envelope."""
from __future__ import annotations

from xml.sax.saxutils import escape

from catalog import marc
from catalog.bib import MarcDict
from catalog.dc import dublin_core
from catalog.sru.protocol import (SCHEMAS, SOAP_NAMESPACES, SRU2_DIAGNOSTIC_NS, SRU2_NS, SRU2_SCAN_NS,
                                  SRW_DIAGNOSTIC_NS, SRW_NS, Diagnostic, Request)

RESPONSES = {"explain": "explainResponse", "searchRetrieve": "searchRetrieveResponse", "scan": "scanResponse"}
DC_NS = "http://purl.org/dc/elements/1.1/"
EXACT_COUNT = "info:srw/vocabulary/resultCountPrecision/1/exact"
ZEEREX_SCHEMA = "http://explain.z3950.org/dtd/2.0/"


def text(value: object) -> str:
    """Text for XML content: escaped, and characters XML 1.0 forbids (a client may send any) replaced."""
    return escape(marc.XML_ILLEGAL.sub("\ufffd", str(value)))


def _tag(name: str, value: object) -> str:
    return f"<zs:{name}>{text(value)}</zs:{name}>"


def _namespace(req: Request) -> str:
    if req.version != "2.0":
        return SRW_NS
    return SRU2_SCAN_NS if req.operation == "scan" else SRU2_NS


def diagnostic_xml(diagnostic: Diagnostic, *, version: str) -> str:
    """One <diagnostic> element in the version's diagnostic namespace."""
    ns = SRU2_DIAGNOSTIC_NS if version == "2.0" else SRW_DIAGNOSTIC_NS
    details = f"<diag:details>{text(diagnostic.details)}</diag:details>" if diagnostic.details else ""
    return (f'<diag:diagnostic xmlns:diag="{ns}"><diag:uri>{diagnostic.uri}</diag:uri>{details}'
            f"<diag:message>{text(diagnostic.text)}</diag:message></diag:diagnostic>")


def _diagnostics(req: Request, diagnostics: list[Diagnostic]) -> str:
    if not diagnostics:
        return ""
    items = "".join(diagnostic_xml(d, version=req.version) for d in diagnostics)
    return f"<zs:diagnostics>{items}</zs:diagnostics>"


def record_xml(req: Request, schema_uri: str, data: str, position: int | None = None) -> str:
    """One <record>: the data as embedded XML, or escaped as a string when the client asked so."""
    packing = "recordXMLEscaping" if req.version == "2.0" else "recordPacking"
    body = text(data) if req.packing == "string" else data
    where = _tag("recordPosition", position) if position is not None else ""
    return (f"<zs:record>{_tag('recordSchema', schema_uri)}{_tag(packing, req.packing)}"
            f"<zs:recordData>{body}</zs:recordData>{where}</zs:record>")


def surrogate(req: Request, diagnostic: Diagnostic, position: int) -> str:
    """A record that could not be sent, replaced by its diagnostic (a surrogate diagnostic)."""
    return record_xml(req, "info:srw/schema/1/diagnostics-v1.1", diagnostic_xml(diagnostic, version=req.version),
                      position)


def _response(req: Request, content: str) -> str:
    name = RESPONSES[req.operation]
    return f'<zs:{name} xmlns:zs="{_namespace(req)}">{_tag("version", req.version)}{content}</zs:{name}>'


def search_response(req: Request, *, total: int, records: list[str], next_position: int | None = None,
                    diagnostics: list[Diagnostic] | None = None) -> str:
    """A searchRetrieveResponse around records already built with ``record_xml``/``surrogate``."""
    content = _tag("numberOfRecords", total)
    if records:
        content += "<zs:records>" + "".join(records) + "</zs:records>"
    if next_position is not None:
        content += _tag("nextRecordPosition", next_position)
    content += _diagnostics(req, diagnostics or [])
    if req.version == "2.0" and not diagnostics:
        content += _tag("resultCountPrecision", EXACT_COUNT)
    return _response(req, content)


def scan_response(req: Request, terms: list[tuple[str, int]], diagnostics: list[Diagnostic] | None = None) -> str:
    """A scanResponse listing (term, number of records) pairs."""
    content = ""
    if terms:
        content = "<zs:terms>" + "".join(
            f"<zs:term>{_tag('value', value)}{_tag('numberOfRecords', count)}</zs:term>" for value, count in terms
        ) + "</zs:terms>"
    return _response(req, content + _diagnostics(req, diagnostics or []))


def explain_response(req: Request, explain: str | None, diagnostics: list[Diagnostic] | None = None) -> str:
    """An explainResponse carrying the ZeeRex record (or only diagnostics)."""
    content = record_xml(req, ZEEREX_SCHEMA, explain) if explain else ""
    return _response(req, content + _diagnostics(req, diagnostics or []))


def error_response(req: Request) -> str:
    """The response of the request's operation carrying its fatal diagnostic."""
    diagnostics = [req.error] if req.error else []
    if req.operation == "searchRetrieve":
        return search_response(req, total=0, records=[], diagnostics=diagnostics)
    if req.operation == "scan":
        return scan_response(req, [], diagnostics)
    return explain_response(req, None, diagnostics)


def document(req: Request, content: str) -> bytes:
    """The response as a UTF-8 XML document, inside a SOAP envelope for SRW requests."""
    if req.soap:
        content = (f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{req.soap}"><SOAP-ENV:Body>{content}'
                   "</SOAP-ENV:Body></SOAP-ENV:Envelope>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + content + "\n").encode()


def soap_fault(message: str) -> bytes:
    """A SOAP 1.1 Fault for a body we cannot read (the client's fault)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_NAMESPACES[0]}"><SOAP-ENV:Body><SOAP-ENV:Fault>'
            f"<faultcode>SOAP-ENV:Client</faultcode><faultstring>{text(message)}</faultstring>"
            "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>\n").encode()


# --- records -------------------------------------------------------------------------------------

def dc_xml(record: MarcDict) -> str:
    """A record in the SRU Dublin Core schema (info:srw/schema/1/dc-v1.1)."""
    elements = "".join(f"<dc:{name}>{text(value)}</dc:{name}>" for name, value in dublin_core(record))
    return f'<srw_dc:dc xmlns:srw_dc="{SCHEMAS["dc"].uri}" xmlns:dc="{DC_NS}">{elements}</srw_dc:dc>'


def render(schema: str, record: MarcDict) -> str:
    """A MARC record in one of SCHEMAS, as XML text."""
    if schema == "dc":
        return dc_xml(record)
    return marc.marcxml_record(record, namespace=True).decode().strip()
