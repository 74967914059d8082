"""Who may see and change which library's workflow data.

The general rule is ``ils.authz``: network roles see every library, the others their own. One
addition: an assessor account without a library (an assessor of the provincial DPK or Perpusnas)
reads the accreditation data of every library, and nothing else.
"""
from __future__ import annotations

from ils.authz import Actor, can, require, require_listing
from ils.errors import Forbidden
from ils.models import Role

# Permissions a network-wide assessor holds for every library (read-only ones only).
ASSESSOR_WIDE = frozenset({"workflows.view"})


def _wide_assessor(actor: Actor, permission: str) -> bool:
    return actor.role is Role.ASSESSOR and actor.library_id is None and permission in ASSESSOR_WIDE


def allowed(actor: Actor | None, permission: str, library_id: int | None) -> bool:
    """True if the actor holds ``permission`` for the library (None: the city level)."""
    if actor is None:
        return False
    if _wide_assessor(actor, permission):
        return True
    return can(actor, permission, library_id)


def require_library(actor: Actor, permission: str, library_id: int | None) -> None:
    """Raise Forbidden unless the actor holds ``permission`` for the library."""
    if _wide_assessor(actor, permission):
        return
    require(actor, permission, library_id)


def visible_libraries(actor: Actor, permission: str = "workflows.view") -> set[int] | None:
    """Library ids the actor may list under ``permission`` (None: every library)."""
    if _wide_assessor(actor, permission):
        return None
    if actor.role is Role.ASSESSOR and actor.library_id is None:
        raise Forbidden()
    return require_listing(actor, permission)


def sees_city(actor: Actor) -> bool:
    """True for those who see city-wide figures (the DPK, admins, network-wide assessors)."""
    return actor.network_wide or _wide_assessor(actor, "workflows.view")


def require_any(actor: Actor, permissions: tuple[str, ...], library_id: int | None) -> None:
    """Raise Forbidden unless the actor holds one of ``permissions`` for the library."""
    if not any(allowed(actor, permission, library_id) for permission in permissions):
        raise Forbidden()


def visible_for_any(actor: Actor, permissions: tuple[str, ...]) -> set[int] | None:
    """Libraries the actor may list under any of ``permissions`` (None: every library)."""
    seen: set[int] = set()
    for permission in permissions:
        try:
            ids = visible_libraries(actor, permission)
        except Forbidden:
            continue
        if ids is None:
            return None
        seen |= ids
    if not seen and not any(allowed(actor, p, actor.library_id) for p in permissions):
        raise Forbidden()
    return seen
