"""The accreditation instrument as frozen values: components, sub-components, indicators, grades.

Each level has a stable ``code`` so the lead's tables can store one row per instrument, component,
sub-component and indicator (options a-e and option scores as five columns each).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ils.models import LibraryType
from workflows.figures import exact
from workflows.instruments.datafile import Bilingual

OPTION_LETTERS = ("a", "b", "c", "d", "e")
# Types with their own instrument; a pojok baca is assessed as a special library (domain-id §2).
INSTRUMENT_TYPES = tuple(t.value for t in LibraryType if t not in (LibraryType.POJOK_BACA, LibraryType.INDUK))
TYPE_ALIASES = {LibraryType.POJOK_BACA.value: LibraryType.KHUSUS.value}


@dataclass(frozen=True)
class Band:
    """One answer band of a measure: the value reaches ``min`` (and stays within ``max`` when given)."""

    option: str
    min: float
    max: float | None = None

    def contains(self, value: float) -> bool:
        """True when ``value`` falls in this band (both bounds inclusive)."""
        return value >= self.min and (self.max is None or value <= self.max)


@dataclass(frozen=True)
class Measure:
    """How the ILS answers an indicator from a figure (optionally divided by another, e.g. per pupil)."""

    figure: str
    bands: tuple[Band, ...]
    per: str | None = None

    def option_for(self, value: float) -> str | None:
        """The option of the first band ``value`` falls in (None when it falls in none)."""
        return next((band.option for band in self.bands if band.contains(value)), None)


@dataclass(frozen=True)
class Option:
    """One answer (a-e) of an indicator."""

    letter: str
    text: Bilingual


@dataclass(frozen=True)
class Indicator:
    """A multiple-choice question; ``code`` is unique within its instrument (answers are keyed by it)."""

    code: str
    text: Bilingual
    options: tuple[Option, ...]
    evidence: Bilingual | None = None
    measure: Measure | None = None

    def option(self, letter: str) -> Option:
        """The option with ``letter`` (KeyError when there is none)."""
        for option in self.options:
            if option.letter == letter:
                return option
        raise KeyError(letter)


@dataclass(frozen=True)
class SubComponent:
    """A group of indicators inside a component (e.g. "jam buka" inside "pelayanan")."""

    code: str
    title: Bilingual
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Component:
    """A weighted part of the instrument (e.g. koleksi, weight 15)."""

    code: str
    title: Bilingual
    weight: float
    subcomponents: tuple[SubComponent, ...]

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        """All indicators of the component, in order."""
        return tuple(ind for sub in self.subcomponents for ind in sub.indicators)


@dataclass(frozen=True)
class Grade:
    """A grade band: a total that reaches ``min`` earns ``grade``."""

    grade: str
    min: float
    label: Bilingual


@dataclass(frozen=True)
class Instrument:
    """One instrument version for one group of library types."""

    code: str
    version: str
    library_types: tuple[str, ...]
    title: Bilingual
    source: str
    option_scores: tuple[float, ...]  # a..e, in OPTION_LETTERS order
    grades: tuple[Grade, ...]  # highest first
    not_accredited: Bilingual
    components: tuple[Component, ...]

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        """All indicators, in order."""
        return tuple(ind for comp in self.components for ind in comp.indicators)

    def indicator(self, code: str) -> Indicator:
        """The indicator with ``code`` (KeyError when there is none)."""
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)

    def score_of(self, letter: str) -> float:
        """Points for answer ``letter`` (a=5 ... e=1 by default)."""
        return self.option_scores[OPTION_LETTERS.index(letter)]

    @property
    def top_score(self) -> float:
        """Points of the best answer: an indicator's maximum (5 by default)."""
        return max(self.option_scores)

    def grade_for(self, total: float | Fraction) -> Grade | None:
        """The first grade whose minimum ``total`` reaches, or None (not accredited)."""
        value = exact(total)
        return next((grade for grade in self.grades if value >= exact(grade.min)), None)

    def label_for(self, grade: Grade | None) -> Bilingual:
        """The label of ``grade``, or the not-accredited label for None."""
        return grade.label if grade is not None else self.not_accredited


def instrument_to_plain(inst: Instrument) -> dict[str, Any]:
    """The instrument as plain data in the YAML layout (the inverse of the builder)."""
    return {
        "code": inst.code,
        "version": inst.version,
        "library_types": list(inst.library_types),
        "title": inst.title.plain(),
        "source": inst.source,
        "option_scores": dict(zip(OPTION_LETTERS, inst.option_scores)),
        "grades": [{"grade": g.grade, "min": g.min, "label": g.label.plain()} for g in inst.grades],
        "not_accredited": inst.not_accredited.plain(),
        "components": [{
            "code": comp.code,
            "title": comp.title.plain(),
            "weight": comp.weight,
            "subcomponents": [{
                "code": sub.code,
                "title": sub.title.plain(),
                "indicators": [_indicator_plain(ind) for ind in sub.indicators],
            } for sub in comp.subcomponents],
        } for comp in inst.components],
    }


def _indicator_plain(ind: Indicator) -> dict[str, Any]:
    out: dict[str, Any] = {"code": ind.code, "text": ind.text.plain(),
                           "options": {opt.letter: opt.text.plain() for opt in ind.options}}
    if ind.evidence is not None:
        out["evidence"] = ind.evidence.plain()
    if ind.measure is not None:
        measure: dict[str, Any] = {"figure": ind.measure.figure}
        if ind.measure.per is not None:
            measure["per"] = ind.measure.per
        measure["bands"] = [{"option": b.option, "min": b.min, **({"max": b.max} if b.max is not None else {})}
                            for b in ind.measure.bands]
        out["measure"] = measure
    return out
