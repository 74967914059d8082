"""A member's optional card photo: checked, shrunk and re-encoded, so no camera metadata is kept."""
from __future__ import annotations

import io
from datetime import datetime

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from circulation.models import PatronPhoto
from circulation.services.patrons import editable
from ils import audit
from ils.authz import Actor
from ils.errors import ValidationFailed
from ils.extensions import db

MAX_UPLOAD = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
SIZE = (400, 500)  # enough for a printed card and a screen, small enough to keep in the database


def set_photo(*, actor: Actor, patron_id: int, data: bytes, now: datetime) -> PatronPhoto:
    """Store a JPEG, PNG or WebP photo as a small JPEG (EXIF, GPS and the rest dropped)."""
    patron = editable(actor=actor, patron_id=patron_id)
    if not data or len(data) > MAX_UPLOAD:
        raise ValidationFailed(_l("The photo must be a JPEG, PNG or WebP file of at most 5 MB."), field="photo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG", "WEBP") or image.width * image.height > MAX_PIXELS:
                raise ValidationFailed(_l("The photo must be a JPEG, PNG or WebP file of at most 5 MB."),
                                       field="photo")
            image.thumbnail(SIZE)
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=85)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ValidationFailed(_l("The photo could not be read as an image."), field="photo") from None
    photo = db.session.get(PatronPhoto, patron.id)
    if photo is None:
        photo = PatronPhoto(patron_id=patron.id, content_type="image/jpeg", data=b"")
        db.session.add(photo)
    photo.data = out.getvalue()
    audit.record(actor, "patron.photo", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, now=now)
    db.session.flush()
    return photo


def remove_photo(*, actor: Actor, patron_id: int, now: datetime) -> None:
    """Delete a member's photo."""
    patron = editable(actor=actor, patron_id=patron_id)
    photo = db.session.get(PatronPhoto, patron.id)
    if photo is not None:
        db.session.delete(photo)
        audit.record(actor, "patron.photo_removed", object_type="patron", object_id=patron.id,
                     library_id=patron.home_library_id, now=now)
    db.session.flush()


def has_photo(patron_id: int) -> bool:
    """True if the member has a photo (without loading it)."""
    return db.session.scalar(select(PatronPhoto.patron_id).where(PatronPhoto.patron_id == patron_id)) is not None


def photo_of(*, actor: Actor, patron_id: int) -> PatronPhoto | None:
    """The photo, for those who may see the member's personal details."""
    patron = editable(actor=actor, patron_id=patron_id)
    return db.session.get(PatronPhoto, patron.id)
