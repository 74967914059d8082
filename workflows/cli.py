"""Workflows commands: check a data file before loading it, and store the shipped documents."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

KINDS = ("workflow", "instrument", "snp", "iplm")


@click.group("workflows", help="Workflow definitions, accreditation instruments, SNP and IPLM data.")
def workflows_group() -> None:
    """Workflows commands."""


@workflows_group.command("check")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_command(kind: str, path: Path) -> None:
    """Validate a YAML file (or an instrument's XLSX) and list every problem with its line and field."""
    from workflows.models import DocumentKind
    from workflows.services import documents
    from workflows.yamlsource import DataFileError

    data = path.read_bytes()
    try:
        if kind == "instrument" and path.suffix.lower() == ".xlsx":
            from workflows.instruments import instrument_from_xlsx
            instrument_from_xlsx(data, path.name)
        else:
            documents.parse_text(DocumentKind(kind), data, path.name)
    except DataFileError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    click.echo(f"{path.name}: no problems found")


@workflows_group.command("sync")
def sync_command() -> None:
    """Store the shipped documents the database does not hold yet (edited ones are left alone)."""
    from ils.extensions import db
    from workflows.services import documents

    added = documents.ensure_shipped()
    db.session.commit()
    click.echo(f"{added} documents stored")


def init_app(app: Flask) -> None:
    """Register the workflows CLI group."""
    app.cli.add_command(workflows_group)
