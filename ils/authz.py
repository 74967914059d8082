"""Who may do what, where: the deny-by-default permission table and library scoping.

Pure: no Flask request, no database. Services call ``require`` with the actor and the library
the object belongs to; views only use ``can`` to decide what to show.
"""
from __future__ import annotations

from dataclasses import dataclass

from ils.errors import Forbidden
from ils.models import Role

# Permission names are "<area>.<verb>". A role missing from a set is denied.
PERMISSIONS: dict[str, frozenset[Role]] = {
    # Read a library's profile and settings (public directory data is separate).
    "library.view": frozenset(Role),
    # Create libraries, change type/parent/code, deactivate: the network level.
    "library.manage": frozenset({Role.ADMIN, Role.DPK}),
    # Edit one library's own settings (contact, hours, OPAC visibility).
    "library.settings": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "staff.view": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "staff.manage": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "audit.view": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "jobs.view": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CATALOGUER, Role.CIRCULATION}),
    "jobs.manage": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "reports.run": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    # The union catalog: every staff member may look; records are shared, items are scoped.
    "catalog.view": frozenset(Role),
    # Create and edit records, add and edit the library's own items, print labels.
    "catalog.edit": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CATALOGUER}),
    # Merging two records moves other libraries' items: trained cataloguers and the DPK.
    "catalog.merge": frozenset({Role.ADMIN, Role.DPK, Role.CATALOGUER}),
    "catalog.import": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CATALOGUER}),
    "catalog.export": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CATALOGUER, Role.ASSESSOR}),
    # Circulation. One card serves the whole city, so a desk may look up any patron by card; the
    # personal details and edits stay with the patron's home library (and the network roles).
    "circulation.desk": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CIRCULATION}),
    "circulation.override": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "circulation.rules": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    # Patron categories are city-wide data (every library's rules are keyed on them).
    "circulation.categories": frozenset({Role.ADMIN, Role.DPK}),
    "circulation.reports": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "patron.view": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CIRCULATION}),
    "patron.edit": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CIRCULATION}),
    "patron.import": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "patron.erase": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "fees.collect": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CIRCULATION}),
    "fees.waive": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "visits.record": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CIRCULATION, Role.CATALOGUER}),
    "notices.view": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CIRCULATION}),
    "sip.manage": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    # Workflows. A library sees its own accreditation, goals and figures; the DPK sees every library;
    # an assessor reads accreditation data (of every library when the account has no library).
    "workflows.view": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.ASSESSOR}),
    # Take a step in a workflow, answer a self-assessment, attach evidence, enter facts.
    "workflows.act": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    # Definitions, instruments, SNP standards, IPLM settings and population: data the DPK edits.
    "workflows.manage": frozenset({Role.ADMIN, Role.DPK}),
    "workflows.goals": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN}),
    "workflows.activities": frozenset({Role.ADMIN, Role.DPK, Role.LIBRARIAN, Role.CIRCULATION}),
}

# Which roles an actor may hand out when creating or editing staff.
GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.DPK: frozenset(Role) - {Role.ADMIN},
    Role.LIBRARIAN: frozenset({Role.LIBRARIAN, Role.CATALOGUER, Role.CIRCULATION, Role.ASSESSOR}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a staff user, the CLI or the system, and from where."""

    label: str
    role: Role
    user_id: int | None = None
    library_id: int | None = None
    ip: str | None = None

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        """Automated actions (jobs, cron) act as the system with full rights."""
        return cls(label=label, role=Role.ADMIN)

    @property
    def network_wide(self) -> bool:
        """True when the actor sees every library."""
        return self.role.network_wide


def can(actor: Actor | None, permission: str, library_id: int | None = None) -> bool:
    """True if the actor holds ``permission`` for ``library_id`` (None: network level)."""
    if actor is None:
        return False
    roles = PERMISSIONS.get(permission)
    if roles is None or actor.role not in roles:
        return False
    if actor.network_wide:
        return True
    return library_id is not None and library_id == actor.library_id


def require(actor: Actor | None, permission: str, library_id: int | None = None) -> None:
    """Raise Forbidden unless ``can`` allows it."""
    if not can(actor, permission, library_id):
        raise Forbidden()


def visible_library_ids(actor: Actor) -> set[int] | None:
    """Libraries whose data the actor may list (None: all of them)."""
    if actor.network_wide:
        return None
    return {actor.library_id} if actor.library_id is not None else set()


def require_listing(actor: Actor, permission: str) -> set[int] | None:
    """Check a list permission and return the library ids to filter by (None: all)."""
    ids = visible_library_ids(actor)
    require(actor, permission, None if ids is None else actor.library_id)
    return ids


def may_grant(actor: Actor, role: Role) -> bool:
    """True if the actor may give ``role`` to a staff account."""
    return role in GRANTABLE_ROLES.get(actor.role, frozenset())
