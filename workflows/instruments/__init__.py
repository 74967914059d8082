"""Accreditation instruments as data: model, YAML and XLSX files, scoring, grading and prefill.

Perpusnas changes its instruments (v2018: six components, v2022: nine); every number here is data a
DPK admin edits, never code. The shipped files in workflows/data/instruments/ are project templates
with the documented structure and weights (domain-id §3), to be replaced by the official instrument.
"""
from __future__ import annotations

from pathlib import Path

from workflows.instruments.build import build_instrument
from workflows.instruments.datafile import Bilingual, Checker, yaml_locator
from workflows.instruments.model import (
    INSTRUMENT_TYPES,
    OPTION_LETTERS,
    TYPE_ALIASES,
    Band,
    Component,
    Grade,
    Indicator,
    Instrument,
    Measure,
    Option,
    SubComponent,
    instrument_to_plain,
)
from workflows.instruments.scoring import ComponentScore, NoInstrument, Prefill, Score, instrument_for, prefill, score
from workflows.instruments.xlsx import instrument_from_xlsx, instrument_to_xlsx
from workflows.yamlsource import dump, load

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "instruments"

__all__ = [
    "DATA_DIR", "INSTRUMENT_TYPES", "OPTION_LETTERS", "TYPE_ALIASES", "Band", "Bilingual", "Component",
    "ComponentScore", "Grade", "Indicator", "Instrument", "Measure", "NoInstrument", "Option", "Prefill", "Score",
    "SubComponent", "dump_instrument", "instrument_for", "instrument_from_xlsx", "instrument_to_plain",
    "instrument_to_xlsx", "load_instrument", "prefill", "score", "shipped_instruments",
]


def load_instrument(text: str | bytes, source: str) -> Instrument:
    """Parse and check one instrument YAML file; DataFileError lists every fault with line and field."""
    data = load(text, source)
    check = Checker(source, yaml_locator(data))
    inst = build_instrument(data, check)
    check.raise_if_any()
    assert inst is not None  # no problems means the builder returned an instrument
    return inst


def dump_instrument(inst: Instrument) -> str:
    """The instrument as YAML text (``load_instrument`` reads it back equal)."""
    return dump(instrument_to_plain(inst))


def shipped_instruments() -> list[Instrument]:
    """The instrument templates that ship with the project, sorted by file name."""
    return [load_instrument(path.read_bytes(), path.name) for path in sorted(DATA_DIR.glob("*.yaml"))]
