"""The first, pure half of an import: read records, split off holdings, derive columns and keys, check.

Nothing here touches the database or Flask. The import service (catalog.services.imports) runs it
in its own process for small files; for large files it runs it in a helper process
(``python -m catalog.staging``) that reads and checks the next chunk while the importing process
stores the previous one, so an import uses both CPUs of a small server. The helper writes pickled
``Chunk`` objects to its standard output and stops when the importing process goes away (a write to
the closed pipe fails), so a killed worker leaves no helper behind.
"""
from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from catalog import bib, holdings, marc
from catalog.readers import ReadResult
from catalog.validation import validate

LIST_SEPARATOR = "; "
ISSUES_KEPT = 5  # errors stored per report row
WARNINGS_KEPT = 3  # reading warnings stored per report row
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Prepared:
    """A record ready to store: its JSON text, derived columns and match keys."""

    marc: bib.MarcDict
    text: str
    extracted: bib.Extracted
    keys: list[tuple[str, str]]


def prepare(record: bib.MarcDict) -> Prepared:
    """Derive everything stored beside the MARC (shared by the editor, the quick form and import)."""
    leader = (record.get("leader") or "").ljust(24)[:24]
    # Record length and base address are computed when writing ISO 2709; stored as zeros.
    record["leader"] = "00000" + leader[5:12] + "00000" + leader[17:]
    ex = bib.extract(record)
    prefix = ex.kind[0]  # keys never match across bibliographic, authority and holdings records
    keys = [(kind, f"{prefix}|{key}"[:250]) for kind, key in bib.match_keys(record, ex)]
    return Prepared(marc=record, text=bib.dumps(record), extracted=ex, keys=keys)


def columns(p: Prepared) -> dict[str, Any]:
    """The Record column values derived from a prepared record (``kind`` as its plain value)."""
    ex = p.extracted
    return {
        "kind": ex.kind, "marc": p.text, "material_type": ex.material_type,
        "title": ex.title[:2000], "title_sort": ex.title_sort[:200], "responsibility": ex.responsibility[:2000],
        "main_author": ex.main_author[:300], "other_names": LIST_SEPARATOR.join(ex.other_names)[:4000],
        "isbns": " ".join(ex.isbns)[:400], "issns": " ".join(ex.issns)[:100], "publisher": ex.publisher[:300],
        "place": ex.place[:200], "year": ex.year, "edition": ex.edition[:200], "language": ex.language[:3],
        "subjects": LIST_SEPARATOR.join(ex.subjects)[:4000], "ddc": ex.ddc[:40], "physical": ex.physical[:300],
        "series": ex.series[:300],
    }


@dataclass
class Staged:
    """One record of a file after the pure half of the import (or why it could not be read)."""

    position: int
    offset: int | None
    error: str = ""  # a validation.MESSAGES code: the record is unreadable
    detail: str = ""
    columns: dict[str, Any] = field(default_factory=dict)  # Record columns (empty when unreadable)
    keys: list[tuple[str, str]] = field(default_factory=list)
    held: list[holdings.HeldItem] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)  # blocking errors first, then read warnings

    @property
    def readable(self) -> bool:
        """False when the record could not be read at all."""
        return not self.error


@dataclass
class Chunk:
    """Consecutive staged records and how far into the file the reader has got."""

    staged: list[Staged]
    bytes_read: int


def stage(result: ReadResult) -> Staged:
    """A read record split into holdings and the shared record, with columns, keys and its issues."""
    if result.record is None:
        return Staged(position=result.position, offset=result.offset, error=result.error, detail=result.detail)
    held = holdings.held_items(result.record)
    p = prepare(holdings.without_holdings(result.record))
    issues = [i.as_dict() for i in validate(p.marc) if i.severity == "error"][:ISSUES_KEPT]
    return Staged(position=result.position, offset=result.offset, columns=columns(p), keys=p.keys, held=held,
                  issues=issues + result.warnings[:WARNINGS_KEPT])


class _Counting:
    """A binary stream that counts the bytes read (for progress)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.count = stream, 0

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.count += len(data)
        return data


def chunks(stream: IO[bytes], *, fmt: str, encoding: str, after: int, size: int) -> Iterator[Chunk]:
    """Staged records of a stream in chunks of ``size``, skipping positions up to ``after`` (done before)."""
    counting = _Counting(stream)
    pending: list[Staged] = []
    for result in marc.read(counting, fmt=fmt, encoding=encoding):  # type: ignore[arg-type]
        if result.position <= after:
            continue
        pending.append(stage(result))
        if len(pending) >= size:
            yield Chunk(pending, counting.count)
            pending = []
    if pending:
        yield Chunk(pending, counting.count)


class HelperFailed(RuntimeError):
    """The helper process stopped before the end of the file."""


class Helper:
    """``chunks`` computed in a helper process, read back one chunk at a time (a context manager)."""

    def __init__(self, path: str, *, fmt: str, encoding: str, after: int, size: int) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                         os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "catalog.staging", path, fmt, encoding, str(after), str(size)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, cwd=str(PROJECT_ROOT))

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Chunk]:
        assert self.process.stdout is not None
        while True:
            try:
                # Our own child process wrote this (same code, same user): pickle is safe here.
                chunk = pickle.load(self.process.stdout)
            except EOFError:
                code = self.process.wait()
                raise HelperFailed(f"the import helper process stopped (exit code {code})") from None
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        """Stop the helper if it is still running and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process.wait()


def _helper_main(argv: list[str]) -> int:
    """The helper process: stage a stored import file to standard output as pickled chunks."""
    path, fmt, encoding, after, size = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    out = sys.stdout.buffer
    # Records are acyclic dicts freed by reference counting; the cyclic collector would only re-scan them.
    gc.disable()
    try:
        with open(path, "rb") as stream:
            for chunk in chunks(stream, fmt=fmt, encoding=encoding, after=after, size=size):
                pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
                gc.collect(1)
        pickle.dump(None, out)
        out.flush()
    except BrokenPipeError:  # the importing process is gone (killed, or it stopped reading): stop too
        os._exit(1)
    return 0


if __name__ == "__main__":
    # Run the imported module's function, so pickles name catalog.staging.Chunk and not __main__.Chunk.
    from catalog.staging import _helper_main as helper_main

    sys.exit(helper_main(sys.argv[1:]))
