"""Running SRU requests: CQL through discovery (public records only), records loaded and rendered.

catalog.sru reads requests and writes responses; this module is the glue between it, catalog.cql,
catalog.services.discovery and the records table. It only reads, so it never flushes or commits.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from catalog import cql, sru
from catalog.models import Record
from catalog.services import discovery
from catalog.services.records import marc_of
from ils.extensions import db


@dataclass(frozen=True)
class Server:
    """Where this server answers, as explain describes it."""

    host: str
    port: int
    database: str = "sru"
    transport: str = "http"


def limits() -> sru.Limits:
    """The CATALOG_SRU_* settings."""
    config = current_app.config
    return sru.Limits(default_records=config["CATALOG_SRU_DEFAULT_RECORDS"],
                      max_records=config["CATALOG_SRU_MAX_RECORDS"], max_terms=config["CATALOG_SRU_MAX_TERMS"])


def answer(params: Mapping[str, str], server: Server, *, soap: str = "") -> bytes:
    """The response document to an SRU request given by its parameters (``soap``: SRW envelope namespace)."""
    req = sru.parse_request(params, soap=soap)
    if req.error is not None:
        content = sru.error_response(req)
    elif req.operation == "searchRetrieve":
        content = search(req, limits())
    elif req.operation == "scan":
        content = scan(req, limits())
    else:
        record = sru.explain_record(version=req.version, host=server.host, port=server.port,
                                    database=server.database, transport=server.transport, limits=limits())
        content = sru.explain_response(req, record)
    return sru.document(req, content)


def answer_soap(body: bytes, server: Server) -> tuple[bytes, int]:
    """The response to an SRW (SOAP) POST and its HTTP status: 500 with a Fault when the body is unreadable."""
    try:
        params, envelope = sru.soap_params(body)
    except sru.SoapFault as exc:
        return sru.soap_fault(str(exc)), 500  # SOAP 1.1 sends every Fault with status 500
    return answer(params, server, soap=envelope), 200


def _diagnostic(exc: cql.CqlError) -> sru.Diagnostic:
    return sru.Diagnostic(exc.code, exc.details, str(exc))


def _index_of(field: str) -> str:
    """The CQL index searching a catalog.query field (for diagnostics that name the index)."""
    return next((index for index, name in cql.INDEXES.items() if name == field), field)


def search(req: sru.Request, lim: sru.Limits) -> str:
    """A searchRetrieve response: the number of hits and the records of the page asked for."""
    try:
        parsed = cql.parse(req.query)
        node = cql.node(parsed.root, version="1.1" if req.version == "1.1" else "1.2")
        order = cql.sort_of(parsed.sort)
    except cql.CqlError as exc:
        return sru.search_response(req, total=0, records=[], diagnostics=[_diagnostic(exc)])
    count = min(lim.default_records if req.maximum is None else req.maximum, lim.max_records)
    try:
        total, ids = discovery.find(node, start=req.start - 1 if count else 0, count=count, sort=order)
    except discovery.UnknownField as exc:
        return sru.search_response(req, total=0, records=[], diagnostics=[sru.Diagnostic(16, _index_of(str(exc)))])
    except discovery.QueryTooComplex as exc:
        return sru.search_response(req, total=0, records=[], diagnostics=[
            sru.Diagnostic(38, str(discovery.MAX_NODES), f"The query has too many parts ({exc})")])
    if count and req.start > 1 and req.start > total:
        return sru.search_response(req, total=total, records=[], diagnostics=[
            sru.Diagnostic(61, str(req.start), f"startRecord {req.start} is beyond the {total} records found")])
    last = req.start - 1 + len(ids)
    return sru.search_response(req, total=total, records=records(req, ids),
                               next_position=last + 1 if ids and last < total else None)


def records(req: sru.Request, ids: list[int]) -> list[str]:
    """<record> elements for record ids in result order, loaded in one query; one gone meanwhile is a surrogate."""
    found = {r.id: r for r in db.session.scalars(select(Record).where(Record.id.in_(ids)))} if ids else {}
    schema = sru.SCHEMAS[req.schema]
    out = []
    for position, record_id in enumerate(ids, start=req.start):
        record = found.get(record_id)
        if record is None:
            out.append(sru.surrogate(req, sru.Diagnostic(65, str(record_id)), position))
        else:
            out.append(sru.record_xml(req, schema.uri, sru.render(schema.name, marc_of(record)), position))
    return out


def scan(req: sru.Request, lim: sru.Limits) -> str:
    """A scanResponse: index terms around the scanClause's term, each with its number of records."""
    try:
        clause = cql.parse(req.scan_clause).root
        if not isinstance(clause, cql.Clause):
            raise cql.CqlError(10, req.scan_clause, "A scanClause is one index, relation and term")
        field = cql.field_of(clause.index, clause.prefixes)
        if field == cql.EVERYTHING:
            raise cql.CqlError(16, clause.index or "", "cql.allRecords has no terms to scan")
        if clause.relation.removeprefix("cql.") not in ("=", "==", "exact"):
            raise cql.CqlError(19, clause.relation, "Scan takes the relation =")
        if clause.modifiers:
            raise cql.CqlError(20, clause.modifiers[0].name, "Scan takes no relation modifiers")
        terms = discovery.scan(field, cql.unescape(clause.term).strip(), count=min(req.maximum_terms, lim.max_terms),
                               position=req.response_position)
    except cql.CqlError as exc:
        return sru.scan_response(req, [], [_diagnostic(exc)])
    except discovery.UnknownField:
        return sru.scan_response(req, [], [sru.Diagnostic(16, clause.index or "", f"{clause.index} cannot be scanned")])
    return sru.scan_response(req, terms)
