"""SRU 1.1, 1.2 and 2.0 (and SRW, the same over SOAP) as pure functions: parameters in, XML out.

protocol.py reads requests (GET or form parameters, or an SRW SOAP body) and holds the diagnostics;
responses.py writes searchRetrieve, scan and explain responses; explain.py the ZeeRex record.
Nothing here touches Flask or the database: catalog.services.sru runs requests against discovery.
"""
from __future__ import annotations

from catalog.sru.explain import explain_record
from catalog.sru.protocol import (OPERATIONS, SCHEMAS, VERSIONS, Diagnostic, Limits, Request, SoapFault, SruError,
                                  parse_request, soap_params)
from catalog.sru.responses import (document, error_response, explain_response, record_xml, render, scan_response,
                                   search_response, soap_fault, surrogate)

__all__ = ["OPERATIONS", "SCHEMAS", "VERSIONS", "Diagnostic", "Limits", "Request", "SoapFault", "SruError",
           "document", "error_response", "explain_record", "explain_response", "parse_request", "record_xml",
           "render", "scan_response", "search_response", "soap_fault", "soap_params", "surrogate"]
