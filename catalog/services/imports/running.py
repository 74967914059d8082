"""Running an import job: the stored file read chunk by chunk, each chunk matched and checkpointed.

Large files are read by a staging helper process, smaller ones here. After each chunk the
``checkpoint`` commits the chunk together with the batch's resume position and reports progress;
cyclic garbage collection runs only between chunks. A job that fails marks its batch failed, and
a failed batch can be started again: it resumes.
"""
from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from catalog import staging
from catalog.models import BatchStatus, ImportBatch
from catalog.services.imports.batches import get_batch_unchecked
from catalog.services.imports.matching import Importer
from catalog.services.outbox import request_index_job
from ils import bulk
from ils.authz import Actor
from ils.extensions import db
from ils.mixins import utcnow

CHUNK = 500
Checkpoint = Callable[[float, str], None]


def run_import(batch_id: int, *, actor: Actor, checkpoint: Checkpoint, today: date) -> dict[str, Any]:
    """Import (or continue importing) a batch; ``checkpoint`` commits after each chunk."""
    batch = get_batch_unchecked(batch_id)
    if batch.status in (BatchStatus.DONE, BatchStatus.REVERTED):
        return dict(batch.counts)
    batch.status = BatchStatus.RUNNING
    checkpoint(0, str(_l("Reading %(name)s", name=batch.filename)))
    importer = Importer(batch, actor=actor, today=today)
    size = int(current_app.config.get("CATALOG_IMPORT_CHUNK", CHUNK))
    with _collect_between_chunks() as between_chunks, bulk.sqlite_checkpoints_deferred():
        for staged, bytes_read in _staged_chunks(batch, size):
            importer.process(staged)
            checkpoint(min(99.0, 100.0 * bytes_read / max(batch.size, 1)), importer.summary())
            between_chunks()
    batch.status = BatchStatus.DONE
    batch.finished_at = utcnow()
    bulk.refresh_statistics()
    if batch.dry_run:
        batch.counts = {**batch.counts, "dry_run": True}
    request_index_job()
    checkpoint(100, importer.summary())
    return dict(batch.counts)


def _staged_chunks(batch: ImportBatch, size: int) -> Iterator[tuple[list[staging.Staged], int]]:
    """(staged records, bytes read) per chunk: from a helper process for large files, else read here."""
    options = {"fmt": batch.format, "encoding": batch.encoding, "after": batch.position, "size": size}
    helper_from = current_app.config.get("CATALOG_IMPORT_HELPER_MIN_BYTES")
    if helper_from is not None and batch.size >= int(helper_from):
        with staging.Helper(batch.stored_path, **options) as helper:
            for chunk in helper:
                yield chunk.staged, chunk.bytes_read
        return
    with open(batch.stored_path, "rb") as raw:
        for chunk in staging.chunks(raw, **options):
            yield chunk.staged, chunk.bytes_read


@contextmanager
def _collect_between_chunks() -> Iterator[Callable[[], None]]:
    """Cyclic garbage collection only between chunks, not while one is processed.

    Records are plain acyclic dicts freed by reference counting; left on, the collector re-scans
    every live one of them many times per chunk, which measured as 80 % of the parse time.
    """
    enabled = gc.isenabled()
    gc.disable()
    chunks = 0

    def between() -> None:
        nonlocal chunks
        chunks += 1
        gc.collect(2 if chunks % 50 == 0 else 1)

    try:
        yield between
    finally:
        if enabled:
            gc.enable()


def fail_batch(batch_id: int, message: str) -> None:
    """Mark a batch failed (it can be started again: it resumes)."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is not None and batch.status == BatchStatus.RUNNING:
        batch.status = BatchStatus.FAILED
        batch.error = message[:2000]
