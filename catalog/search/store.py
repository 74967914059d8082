"""Where the index lives, writing it, and rebuilding it aside without taking search offline.

The live index is ``index_dir()``. A rebuild writes a complete new index into a sibling folder and
then points ``index_dir()`` at it with one atomic symlink swap: searches keep using the old files
until they open the new ones. While a rebuild runs, a marker file tells the outbox job to keep its
rows (catalog.services.indexing), so changes made during the rebuild are applied to the new index too.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from flask import current_app
from whoosh import index
from whoosh.reading import ReaderClosed

from catalog.search.schema import SCHEMA_VERSION, Document, schema

STALE_MARKER_SECONDS = 6 * 3600  # a rebuild marker older than this belongs to a crashed rebuild
KEEP_OLD_SECONDS = 3600  # old index folders stay this long for searchers that still read them
PROCS = 2  # writer processes of a parallel rebuild (this server kind has two CPUs)


def index_dir() -> Path:
    """The live index path (a folder, or a symlink to the folder of the last rebuild)."""
    configured = current_app.config.get("ILS_SEARCH_INDEX_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "search-index"


def _marker() -> Path:
    live = index_dir()
    return live.with_name(live.name + ".rebuilding")


def rebuilding() -> bool:
    """True while a rebuild is writing a new index (its marker is fresh)."""
    marker = _marker()
    try:
        return time.time() - marker.stat().st_mtime < STALE_MARKER_SECONDS
    except FileNotFoundError:
        return False


def open_index() -> index.Index:
    """The live index (created empty when missing). It may have an older schema: see schema_current()."""
    live = index_dir()
    target = live.resolve()
    target.mkdir(parents=True, exist_ok=True)
    if index.exists_in(str(target)):
        return index.open_dir(str(target))
    return index.create_in(str(target), schema())


def schema_current() -> bool:
    """True if the live index has this code's fields (after an update that changed them: False until rebuilt)."""
    ix = open_index()
    try:
        return sorted(ix.schema.names()) == sorted(schema().names())
    finally:
        ix.close()


_local = threading.local()
_epoch = [0]  # bumped when the index is deleted: every thread's cached searcher is then stale


def searcher() -> Any:
    """This thread's long-lived searcher of the live index, refreshed when the index has changed.

    Opening a Whoosh searcher reads every segment's term files (tens of milliseconds on a large
    index), so each thread keeps one and reopens it only when the index changed (a new generation,
    or a rebuild's swap). The per-segment values of engine.py stay cached across reopenings.
    """
    target = (str(index_dir().resolve()), _epoch[0])
    cached = getattr(_local, "searcher", None)
    if cached is not None and getattr(_local, "target", None) == target and os.path.isdir(target[0]):
        # Whoosh's refresh() would reuse segment readers by segment id and keep their old deletions
        # (an updated record would show twice): open afresh whenever the index has a new generation.
        if cached.up_to_date():
            return cached
    forget_searcher()
    _local.searcher, _local.target = open_index().searcher(), target
    return _local.searcher


def forget_searcher() -> None:
    """Close this thread's cached searcher (tests that delete the index, and shutdown)."""
    cached = getattr(_local, "searcher", None)
    if cached is not None:
        try:
            cached.close()
        except ReaderClosed:  # already closed with the index it read
            pass
    _local.searcher = _local.target = None


def fingerprint(fields: dict[str, object]) -> str:
    """A short hash of a document's indexed values (``--verify`` compares it with the database)."""
    return hashlib.sha1(orjson.dumps({k: v for k, v in fields.items() if k != "version"},
                                     default=str, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _values(doc: Document) -> dict[str, object]:
    values = doc.fields()
    values["version"] = f"{SCHEMA_VERSION}:{fingerprint(values)}"
    return values


def apply(documents: Iterable[Document], deleted: Iterable[int]) -> int:
    """Write changed documents and remove deleted ones in one commit; returns documents written."""
    ix = open_index()
    written = 0
    with ix.writer(timeout=30.0) as writer:
        for record_id in deleted:
            writer.delete_by_term("id", str(record_id))
        for doc in documents:
            writer.update_document(**_values(doc))
            written += 1
    return written


def rebuild(documents: Iterable[Document], *, progress: Callable[[int], None] | None = None,
            parallel: bool = False) -> int:
    """Build a complete new index from ``documents`` beside the live one, then swap it in atomically.

    ``parallel``: analyse in PROCS writer processes (for large catalogs; each forks from this one).
    """
    live = index_dir()
    live.parent.mkdir(parents=True, exist_ok=True)
    marker = _marker()
    marker.write_text(f"{os.getpid()} {time.time():.0f}\n")
    build = live.with_name(f"{live.name}.{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}")
    try:
        build.mkdir()
        ix = index.create_in(str(build), schema())
        written = 0
        # Two processes analyse documents side by side and each writes its own segment (no final merge):
        # about twice the rate of one writer on a two-CPU server (bench/bench_search.py).
        # Each writer sorts its postings in memory up to this size before spilling runs to disk that must
        # be merged again: with room for a whole share of the catalog the rebuild is a third faster.
        limit = int(current_app.config.get("ILS_SEARCH_REBUILD_MB", 1024))
        writer = ix.writer(procs=PROCS, limitmb=limit, multisegment=True) if parallel else ix.writer(limitmb=limit)
        try:
            for doc in documents:
                writer.add_document(**_values(doc))
                written += 1
                if progress is not None and written % 1000 == 0:
                    progress(written)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        ix.close()
        _swap(live, build)
        if progress is not None:
            progress(written)
        return written
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    finally:
        marker.unlink(missing_ok=True)
        _forget_old(live)


def _swap(live: Path, build: Path) -> None:
    if live.exists() and not live.is_symlink():  # first rebuild: the live index was a plain folder
        live.rename(live.with_name(f"{live.name}.old-{time.strftime('%Y%m%d%H%M%S')}"))
    pointer = live.with_name(live.name + ".new-link")
    pointer.unlink(missing_ok=True)
    pointer.symlink_to(build.name)  # relative: the instance folder may move
    os.replace(pointer, live)


def _forget_old(live: Path) -> None:
    """Remove index folders no longer live, once no searcher can still be reading them."""
    current = live.resolve() if live.exists() else None
    for folder in live.parent.glob(f"{live.name}.*"):
        if not folder.is_dir() or folder.is_symlink() or folder == current:
            continue
        if time.time() - folder.stat().st_mtime > KEEP_OLD_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)


def remove_all() -> None:
    """Delete the live index and every rebuild folder (tests and a full reset)."""
    forget_searcher()
    _epoch[0] += 1
    live = index_dir()
    if live.is_symlink():
        live.unlink()
    elif live.exists():
        shutil.rmtree(live, ignore_errors=True)
    for path in live.parent.glob(f"{live.name}.*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def indexed_versions() -> dict[int, str]:
    """Record id -> stored version ("schema:fingerprint") of every live document (for ``--verify``)."""
    ix = open_index()
    with ix.searcher() as searcher:
        return {int(fields["id"]): fields.get("version", "") for fields in searcher.all_stored_fields()}


def expected_version(doc: Document) -> str:
    """The version string the index would store for ``doc``."""
    return str(_values(doc)["version"])


def count() -> int:
    """How many documents the index holds."""
    with open_index().searcher() as searcher:
        return searcher.doc_count()
