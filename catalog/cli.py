"""`flask --app ils catalog ...`: import and export MARC files from the command line."""
from __future__ import annotations

import csv
import getpass
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from catalog.services import exports, imports, indexing
from catalog.validation import describe
from ils.authz import Actor
from ils.errors import IlsError
from ils.extensions import db
from ils.services.libraries import get_by_code, library_today

catalog_cli = AppGroup("catalog", help="Import and export the union catalog; rebuild and check its search index.")


def _library(code: str) -> int:
    library = get_by_code(code)
    if library is None:
        raise click.ClickException(f"No library with code {code}.")
    return library.id


def write_report(batch_id: int, path: Path) -> None:
    """The per-record report of a batch as CSV: position, outcome, record, matched by, title, messages."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["position", "byte_offset", "outcome", "record_id", "matched_by", "items_added", "title",
                         "messages"])
        for row in db.session.scalars(imports.batch_rows(batch_id)):
            messages = " | ".join(describe(i) + (f" ({i['text']})" if i.get("text") else "")
                                  for i in (row.issues or []))
            writer.writerow([row.position, row.offset if row.offset is not None else "", row.outcome,
                             row.record_id or "", row.matched_by, row.items_added, row.title, messages])


@catalog_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--library", "code", required=True, help="Code of the library whose items the holdings become.")
@click.option("--format", "fmt", default="auto", type=click.Choice(["auto", "iso2709", "marcxml", "json", "mrk"]),
              help="File format (auto: detected from the content).")
@click.option("--encoding", default="auto", type=click.Choice(["auto", "utf-8", "marc-8", "cp1251", "cp1252",
                                                                "latin-1"]),
              help="Character encoding of ISO 2709 records (auto: leader/09 plus a UTF-8 check per record).")
@click.option("--on-match", default="items", type=click.Choice(["items", "replace"]),
              help="When a record is already in the catalog: only add items, or also replace the record.")
@click.option("--dry-run", is_flag=True, help="Report what would happen without storing anything.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              help="Folder for the per-record reports (<file>.report.csv).")
def import_command(files: tuple[Path, ...], code: str, fmt: str, encoding: str, on_match: str, dry_run: bool,
                   report_dir: Path) -> None:
    """Import MARC files for a library; prints one summary line per file and writes a report per file."""
    library_id = _library(code)
    actor = Actor.system(f"cli:{getpass.getuser()}")
    report_dir.mkdir(parents=True, exist_ok=True)
    for path in files:
        try:
            with path.open("rb") as stream:
                batch = imports.start_import(stream=stream, filename=path.name, library_id=library_id, actor=actor,
                                             fmt=fmt, encoding=encoding, on_match=on_match, dry_run=dry_run,
                                             enqueue=False, max_bytes=None)
            db.session.commit()
            counts = imports.run_import(batch.id, actor=actor, today=library_today(library_id),
                                        checkpoint=lambda _pct, _msg: db.session.commit())
            db.session.commit()
        except IlsError as exc:
            db.session.rollback()
            click.echo(f"{path}: {exc.message}", err=True)
            continue
        report = report_dir / f"{path.name}.report.csv"
        write_report(batch.id, report)
        click.echo(f"{path}: batch {batch.id}: {counts.get('new', 0)} new, {counts.get('matched', 0)} matched, "
                   f"{counts.get('updated', 0)} updated, {counts.get('authority', 0)} authorities, "
                   f"{counts.get('rejected', 0)} rejected, {counts.get('items', 0)} items; report {report}")


@catalog_cli.command("export")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", default="iso2709", type=click.Choice(["iso2709", "marcxml"]))
@click.option("--library", "code", default=None, help="Only this library's holdings, with its items as 952.")
def export_command(output: Path, fmt: str, code: str | None) -> None:
    """Export the union catalog (or one library's holdings) to a file, streamed."""
    library_id = _library(code) if code else None
    count = 0
    with output.open("wb") as out:
        for chunk in exports.export(fmt=fmt, library_id=library_id, stats=(stats := {})):
            out.write(chunk)
    count = stats.get("records", 0)
    click.echo(f"{output}: {count} records" + (f", {stats['skipped']} too long for ISO 2709 (use MARCXML)"
                                              if stats.get("skipped") else ""))


@catalog_cli.command("reindex")
@click.option("--verify", is_flag=True, help="Only compare the index with the database and report differences.")
def reindex_command(verify: bool) -> None:
    """Rebuild the search index from the database (built aside, then swapped in: search stays up).

    With --verify nothing is written: records missing from the index, stale in it (indexed values
    differ from the database) or indexed but no longer in the catalog are listed; exit code 1 if any.
    """
    if verify:
        drift = indexing.verify()
        for name in ("missing", "stale", "extra"):
            ids = drift[name]
            click.echo(f"{name}: {len(ids)}" + (f" (record ids: {', '.join(map(str, ids[:20]))}"
                                                 f"{' ...' if len(ids) > 20 else ''})" if ids else ""))
        if any(drift.values()):
            raise SystemExit(1)
        return
    total = indexing.bibliographic_count()
    with click.progressbar(length=total, label="Indexing", show_pos=True) as bar:
        seen = [0]

        def progress(done: int, _total: int) -> None:
            bar.update(done - seen[0])
            seen[0] = done

        written = indexing.rebuild(progress=progress)
    click.echo(f"{written} records indexed; the new index is live.")


def init_app(app: Flask) -> None:
    """Attach the catalog command group."""
    app.cli.add_command(catalog_cli)
