"""The YAML data documents (workflow definitions, instruments, SNP standards, IPLM settings).

The files shipped in workflows/definitions and workflows/data are the first version of each
document; the DPK edits a document by saving a new version (a YAML text, or for an instrument an
XLSX sheet), which is validated before it is stored. Nothing is ever overwritten: whatever started
on an older version keeps it. Parsed documents are cached by their SHA-256, so a page that needs
an instrument does not parse YAML on every request.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ils import audit
from ils.authz import Actor
from ils.errors import NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from workflows.models import DocumentKind, WfDocument
from workflows.services.access import require_library
from workflows.yamlsource import DataFileError

PACKAGE = Path(__file__).resolve().parent.parent
SHIPPED: dict[DocumentKind, tuple[Path, str]] = {
    DocumentKind.WORKFLOW: (PACKAGE / "definitions", "*.yaml"),
    DocumentKind.INSTRUMENT: (PACKAGE / "data" / "instruments", "*.yaml"),
    DocumentKind.SNP: (PACKAGE / "data", "snp.yaml"),
    DocumentKind.IPLM: (PACKAGE / "data", "iplm.yaml"),
}


def _parser(kind: DocumentKind) -> Callable[[str, str], Any]:
    if kind is DocumentKind.WORKFLOW:
        from workflows.engine import load_definition
        return load_definition
    if kind is DocumentKind.INSTRUMENT:
        from workflows.instruments import load_instrument
        return load_instrument
    if kind is DocumentKind.SNP:
        from workflows.snp import load_standards
        return load_standards
    from workflows.iplm import load_iplm
    return load_iplm


def _code_of(kind: DocumentKind, parsed: Any) -> str:
    if kind is DocumentKind.WORKFLOW:
        return str(parsed.key)
    if kind is DocumentKind.INSTRUMENT:
        return str(parsed.code)
    return kind.value


def _title_of(parsed: Any) -> str:
    title = getattr(parsed, "title", None)
    if title is None:
        return ""
    for lang in ("id", "en"):
        text = title.get(lang) if isinstance(title, dict) else getattr(title, lang, None)
        if text:
            return str(text)
    return title if isinstance(title, str) else ""


@lru_cache(maxsize=256)
def _parse_cached(kind: DocumentKind, sha256: str, text: str, source: str) -> Any:
    return _parser(kind)(text, source)


def parse(document: WfDocument) -> Any:
    """The parsed object of a stored document (cached by content)."""
    return _parse_cached(document.kind, document.sha256, document.text, f"{document.code}@v{document.version}")


def validate(kind: DocumentKind, text: str, source: str) -> Any:
    """Parse a candidate text; ValidationFailed lists every problem with its line and field."""
    try:
        return _parser(kind)(text, source)
    except DataFileError as exc:
        raise ValidationFailed(_l("The document has errors:\n%(errors)s", errors=str(exc)), field="text") from None


def _shipped_files() -> list[tuple[DocumentKind, str, str, str, Any]]:
    """(kind, code, file name, text, parsed) of every shipped data file."""
    found = []
    for kind, (folder, pattern) in SHIPPED.items():
        for path in sorted(folder.glob(pattern)):
            text = path.read_text(encoding="utf-8")
            parsed = _parse_cached(kind, hashlib.sha256(text.encode()).hexdigest(), text, path.name)
            found.append((kind, _code_of(kind, parsed), path.name, text, parsed))
    return found


def _transient(kind: DocumentKind, code: str, name: str, text: str, parsed: Any) -> WfDocument:
    """A shipped file as an unsaved document (read paths use it until a write stores it)."""
    version = int(getattr(parsed, "version", 1)) if kind is DocumentKind.WORKFLOW else 1
    return WfDocument(kind=kind, code=code, version=version, title=_title_of(parsed)[:300], text=text,
                      sha256=hashlib.sha256(text.encode()).hexdigest(), note=f"shipped: {name}",
                      created_at=utcnow(), created_by="system")


def ensure_shipped(*, now: datetime | None = None) -> int:
    """Store the shipped files of every document not stored yet; returns how many were added.

    A document the DPK already has is left alone even when the shipped file changed: a program
    update must not silently replace data an administrator edited. Writers call this (through
    ``stored``); pages that only read use the shipped files as they are.
    """
    have = {(k, c) for k, c in db.session.execute(select(WfDocument.kind, WfDocument.code).distinct())}
    added = 0
    for kind, code, name, text, parsed in _shipped_files():
        if (kind, code) in have:
            continue
        document = _transient(kind, code, name, text, parsed)
        if now is not None:
            document.created_at = now
        db.session.add(document)
        have.add((kind, code))
        added += 1
    if added:
        db.session.flush()
    return added


def _newest(kind: DocumentKind, code: str) -> WfDocument | None:
    return db.session.scalar(select(WfDocument).where(WfDocument.kind == kind, WfDocument.code == code)
                             .order_by(WfDocument.version.desc()).limit(1))


def current(kind: DocumentKind, code: str) -> WfDocument:
    """The newest version of a document (a shipped file not stored yet comes back unsaved)."""
    document = _newest(kind, code)
    if document is not None:
        return document
    for shipped_kind, shipped_code, name, text, parsed in _shipped_files():
        if (shipped_kind, shipped_code) == (kind, code):
            return _transient(kind, code, name, text, parsed)
    raise NotFound(_l("No document %(code)s is stored.", code=code))


def stored(document: WfDocument) -> WfDocument:
    """The document as a database row (storing the shipped files first when it is one of them)."""
    if document.id is not None:
        return document
    ensure_shipped()
    found = _newest(document.kind, document.code)
    assert found is not None
    return found


def current_all(kind: DocumentKind) -> list[WfDocument]:
    """The newest version of every document of one kind, by code (shipped files fill the gaps)."""
    newest = (select(WfDocument.code, func.max(WfDocument.version).label("version"))
              .where(WfDocument.kind == kind).group_by(WfDocument.code).subquery())
    stmt = (select(WfDocument).join(newest, (WfDocument.code == newest.c.code)
                                    & (WfDocument.version == newest.c.version))
            .where(WfDocument.kind == kind))
    by_code = {d.code: d for d in db.session.scalars(stmt)}
    for shipped_kind, code, name, text, parsed in _shipped_files():
        if shipped_kind is kind and code not in by_code:
            by_code[code] = _transient(kind, code, name, text, parsed)
    return [by_code[code] for code in sorted(by_code)]


def versions(kind: DocumentKind, code: str) -> list[WfDocument]:
    """Every stored version of a document, newest first."""
    return list(db.session.scalars(select(WfDocument).where(WfDocument.kind == kind, WfDocument.code == code)
                                   .order_by(WfDocument.version.desc())))


def get(document_id: int) -> WfDocument:
    """One stored version by id."""
    document = db.session.get(WfDocument, document_id)
    if document is None:
        raise NotFound()
    return document


def save_version(*, actor: Actor, kind: DocumentKind, code: str, text: str, note: str = "",
                 now: datetime | None = None) -> WfDocument:
    """Validate ``text`` and store it as the next version of document ``code``."""
    require_library(actor, "workflows.manage", None)
    previous = stored(current(kind, code))
    parsed = validate(kind, text, f"{code} (new version)")
    if _code_of(kind, parsed) != code:
        raise ValidationFailed(_l("The document's code must stay %(code)s.", code=code), field="text")
    version = previous.version + 1
    if kind is DocumentKind.WORKFLOW:
        # A definition names its version itself; running instances pin it, so it must grow.
        version = int(parsed.version)
        if version <= previous.version:
            raise ValidationFailed(_l("Raise the version to at least %(next)d: version %(current)d is in use.",
                                      next=previous.version + 1, current=previous.version), field="text")
    sha = hashlib.sha256(text.encode()).hexdigest()
    if sha == previous.sha256:
        raise ValidationFailed(_l("Nothing changed: the text is the same as version %(version)d.",
                                  version=previous.version), field="text")
    document = WfDocument(kind=kind, code=code, version=version, title=_title_of(parsed)[:300], text=text,
                          sha256=sha, note=note.strip()[:300], created_at=now or utcnow(), created_by=actor.label)
    db.session.add(document)
    db.session.flush()
    audit.record(actor, "workflows.document_saved", object_type="wf_document", object_id=document.id,
                 details={"kind": kind.value, "code": code, "version": version}, now=now)
    return document


def parse_text(kind: DocumentKind, text: str | bytes, source: str) -> Any:
    """Parse a candidate file of ``kind``; DataFileError lists every problem with line and field."""
    return _parser(kind)(text, source)


def save_instrument_numbers(*, actor: Actor, code: str, weights: dict[str, str], grades: dict[str, str],
                            note: str, now: datetime | None = None) -> WfDocument:
    """Store a new instrument version with other component weights and grade minimums (a form, no YAML).

    The new text goes through the same validation as a typed or uploaded one (weights must add up
    to 100, grades must descend), so the form cannot store an instrument the loader would refuse.
    """
    from dataclasses import replace

    from workflows.instruments import dump_instrument

    instrument = parse(current(DocumentKind.INSTRUMENT, code))

    def number(raw: str, field: str) -> float:
        try:
            value = float(str(raw).strip().replace(",", "."))
        except ValueError:
            raise ValidationFailed(_l("Enter a number."), field=field) from None
        if not 0 <= value <= 100:
            raise ValidationFailed(_l("Enter a number from 0 to 100."), field=field)
        return int(value) if value == int(value) else value

    components = tuple(replace(c, weight=number(weights.get(c.code, c.weight), f"weight_{c.code}"))
                       for c in instrument.components)
    bands = tuple(replace(g, min=number(grades.get(g.grade, g.min), f"grade_{g.grade}")) for g in instrument.grades)
    text = dump_instrument(replace(instrument, components=components, grades=bands))
    return save_version(actor=actor, kind=DocumentKind.INSTRUMENT, code=code, text=text, note=note, now=now)
