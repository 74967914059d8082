"""Evidence files (bukti fisik): checked by content, stored outside static/ by SHA-256, served only
to those allowed to see the library's workflow data.

A file is accepted when its first bytes match its extension (a renamed .exe is not a PDF) and it
is no larger than WORKFLOWS_EVIDENCE_MAX_BYTES. Identical files are stored once; the rows keep the
name the library gave them.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ils.authz import Actor
from ils.errors import Forbidden, NotFound, ValidationFailed
from ils.extensions import db
from ils.mixins import utcnow
from workflows.models import Evidence
from workflows.services.access import allowed, require_library


def _zip_member(name: str) -> Callable[[bytes, Path], bool]:
    def check(head: bytes, path: Path) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(path) as archive:
                return any(n == name or n.startswith(name) for n in archive.namelist())
        except zipfile.BadZipFile:
            return False
    return check


def _prefix(*magics: bytes) -> Callable[[bytes, Path], bool]:
    return lambda head, path: any(head.startswith(m) for m in magics)


def _mp4(head: bytes, path: Path) -> bool:
    return head[4:8] == b"ftyp"


def _webp(head: bytes, path: Path) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# extension -> (content type served, content check)
TYPES: dict[str, tuple[str, Callable[[bytes, Path], bool]]] = {
    "pdf": ("application/pdf", _prefix(b"%PDF-")),
    "jpg": ("image/jpeg", _prefix(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", _prefix(b"\xff\xd8\xff")),
    "png": ("image/png", _prefix(b"\x89PNG\r\n\x1a\n")),
    "webp": ("image/webp", _webp),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             _zip_member("word/")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _zip_member("xl/")),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _zip_member("ppt/")),
    "odt": ("application/vnd.oasis.opendocument.text", _zip_member("mimetype")),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", _zip_member("mimetype")),
    "odp": ("application/vnd.oasis.opendocument.presentation", _zip_member("mimetype")),
    "doc": ("application/msword", _prefix(OLE)),
    "xls": ("application/vnd.ms-excel", _prefix(OLE)),
    "ppt": ("application/vnd.ms-powerpoint", _prefix(OLE)),
    "mp4": ("video/mp4", _mp4),
    "mov": ("video/quicktime", _mp4),
    "webm": ("video/webm", _prefix(b"\x1a\x45\xdf\xa3")),
}
ACCEPT = ",".join(f".{ext}" for ext in TYPES)
CHUNK = 1024 * 1024


def storage_dir() -> Path:
    """Where evidence bytes are kept (created on first use)."""
    configured = current_app.config.get("WORKFLOWS_EVIDENCE_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def path_for(sha256: str) -> Path:
    """The stored file of a digest (two-level fan-out keeps folders small)."""
    return storage_dir() / sha256[:2] / sha256


def safe_name(filename: str) -> str:
    """A file name fit for a download header: no folders, no control characters, at most 120 chars."""
    name = unicodedata.normalize("NFC", Path(filename.replace("\\", "/")).name)
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name).strip(" .")
    return (name or "bukti")[-120:]


def _store(stream: BinaryIO, filename: str) -> tuple[str, int, str, str]:
    """Copy the upload to a temp file while hashing; check size and content; move it into place."""
    name = safe_name(filename)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in TYPES:
        raise ValidationFailed(_l("This kind of file is not accepted. Send a PDF, a photo (JPG, PNG, WebP), "
                                  "an office document or a short video (MP4, MOV, WebM)."), field="file")
    limit = int(current_app.config["WORKFLOWS_EVIDENCE_MAX_BYTES"])
    digest, size = hashlib.sha256(), 0
    folder = storage_dir()
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".upload-")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed(_l("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)),
                                           field="file")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed(_l("The file is empty."), field="file")
        with temp.open("rb") as check:
            head = check.read(64)
        content_type, matches = TYPES[ext]
        if not matches(head, temp):
            raise ValidationFailed(_l("The file's content does not match its name (.%(ext)s). "
                                      "Save it again in the right format.", ext=ext), field="file")
        sha = digest.hexdigest()
        target = path_for(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        return sha, size, content_type, name
    finally:
        temp.unlink(missing_ok=True)


def attach(*, actor: Actor, library_id: int, stream: BinaryIO, filename: str, instance_id: int | None = None,
           state: str | None = None, slot: str | None = None, assessment_id: int | None = None,
           indicator: str | None = None, activity_id: int | None = None, now: datetime | None = None) -> Evidence:
    """Store an uploaded file and link it to a workflow step, an indicator or an activity."""
    require_library(actor, "workflows.act" if activity_id is None else "workflows.activities", library_id)
    sha, size, content_type, name = _store(stream, filename)
    row = Evidence(library_id=library_id, instance_id=instance_id, state=state, slot=slot,
                   assessment_id=assessment_id, indicator=indicator, activity_id=activity_id, filename=name,
                   content_type=content_type, size=size, sha256=sha, uploaded_at=now or utcnow(),
                   uploaded_by=actor.label)
    db.session.add(row)
    db.session.flush()
    return row


def get(*, actor: Actor, evidence_id: int) -> Evidence:
    """An evidence row the actor may download (others' files are reported as not found)."""
    row = db.session.get(Evidence, evidence_id)
    if row is None:
        raise NotFound()
    if not (allowed(actor, "workflows.view", row.library_id)
            or (row.activity_id is not None and allowed(actor, "workflows.activities", row.library_id))):
        raise Forbidden()
    return row


def remove(*, actor: Actor, evidence_id: int) -> Evidence:
    """Unlink an evidence file; its bytes go with the next ``purge_orphans`` (after the commit, so a
    rolled-back removal never loses a file)."""
    row = get(actor=actor, evidence_id=evidence_id)
    require_library(actor, "workflows.act" if row.activity_id is None else "workflows.activities", row.library_id)
    db.session.delete(row)
    db.session.flush()
    return row


def purge_orphans(*, older_than_seconds: float = 3600.0) -> int:
    """Delete stored files no row points at (and abandoned partial uploads) older than the grace time."""
    used = set(db.session.scalars(select(Evidence.sha256).distinct()))
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in storage_dir().glob("*/*"):
        if path.name not in used and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    for path in storage_dir().glob(".upload-*"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
    return removed
