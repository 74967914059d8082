"""NIK (the national identity number): Fernet ciphertext, a keyed hash for duplicates, the last four digits.

UU PDP: NIK is optional and high-risk data. It is stored only as ciphertext, matched by an HMAC,
shown masked, and never reaches the search index, logs, exports, job arguments or SIP2.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.id import nik as nik_number

from circulation.models import Patron
from ils.errors import Conflict, ValidationFailed
from ils.extensions import db


def _key_material(purpose: bytes) -> bytes:
    secret = current_app.config.get("CIRCULATION_NIK_KEY") or current_app.config["SECRET_KEY"]
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"ils-nik", info=purpose).derive(secret.encode())


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_key_material(b"encrypt")))


def nik_digest(nik: str) -> str:
    """Keyed hash of a NIK: equal NIKs match without the number being readable."""
    return hmac.new(_key_material(b"match"), nik.encode(), hashlib.sha256).hexdigest()


def clean_nik(value: str) -> str:
    """A valid 16-digit NIK, or ValidationFailed."""
    digits = re.sub(r"\D", "", value or "")
    try:
        return nik_number.validate(digits)
    except StdnumError:
        raise ValidationFailed(_l("The NIK must be 16 digits as printed on the KTP or KK."), field="nik") from None


def set_nik(patron: Patron, value: str | None) -> None:
    """Store, replace or clear a patron's NIK (encrypted)."""
    if not value:
        patron.nik_cipher = patron.nik_hash = None
        patron.nik_last4 = ""
        return
    nik = clean_nik(value)
    digest = nik_digest(nik)
    other = db.session.scalar(select(Patron.id).where(Patron.nik_hash == digest, Patron.id != patron.id))
    if other is not None:
        raise Conflict(_l("Another member is already registered with this NIK."))
    patron.nik_cipher = _fernet().encrypt(nik.encode()).decode()
    patron.nik_hash = digest
    patron.nik_last4 = nik[-4:]


def reveal_nik(patron: Patron) -> str:
    """The clear NIK (only for the patron's own data download)."""
    return _fernet().decrypt(patron.nik_cipher.encode()).decode() if patron.nik_cipher else ""
