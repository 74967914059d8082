"""Catalog background jobs: importing a batch, bringing the search index up to date, rebuilding it."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from catalog.services import imports
from catalog.services import indexing
from catalog.services.indexing import drain_outbox
from ils.authz import Actor
from ils.errors import IlsError
from ils.extensions import db
from ils.jobs import JobContext, register_job
from ils.models import Role
from ils.services.libraries import library_today


@register_job("catalog.import", queue="import", timeout=6 * 3600, title=_l("MARC import"))
def import_batch(ctx: JobContext, *, batch_id: int) -> dict[str, Any]:
    """Import one staged file; a re-run after a crash resumes where the last chunk was committed."""
    batch = imports.get_batch_unchecked(batch_id)
    actor = Actor(label=batch.actor_label, role=Role.ADMIN)  # acts for whoever started the import
    try:
        return imports.run_import(batch_id, actor=actor, checkpoint=ctx.progress,
                                  today=library_today(batch.library_id))
    except Exception as exc:
        db.session.rollback()
        imports.fail_batch(batch_id, exc.message if isinstance(exc, IlsError) else type(exc).__name__)
        db.session.commit()
        raise


@register_job("catalog.index_changes", queue="search", timeout=3600, title=_l("Update the search index"))
def index_changes(ctx: JobContext) -> dict[str, Any]:
    """Apply the catalog changes noted in the outbox to the search index."""
    return drain_outbox(checkpoint=ctx.progress)


@register_job("catalog.reindex", queue="search", timeout=6 * 3600, title=_l("Rebuild the search index"))
def reindex(ctx: JobContext) -> dict[str, Any]:
    """Build a new index from the database beside the live one, then swap it in (search stays up)."""
    written = indexing.rebuild(progress=lambda done, total: ctx.progress(
        min(99.0, 100.0 * done / max(total, 1)), str(_l("%(done)s of %(total)s records", done=done, total=total))))
    return {"indexed": written}
