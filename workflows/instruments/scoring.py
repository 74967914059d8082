"""Scoring, grading, prefilling answers from live figures, and choosing the instrument for a library.

domain-id §3.3 (inferred, kept as the documented rule): a component's value is the sum of its option
scores / (top score x its number of indicators) x its weight; the total is the sum of the component
values. Sums are exact fractions, so a total that is exactly 91 on paper is never 90.99999.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from ils.models import LibraryType
from workflows.figures import Figures, exact, ratio_of
from workflows.instruments.model import OPTION_LETTERS, TYPE_ALIASES, Grade, Instrument


@dataclass(frozen=True)
class ComponentScore:
    """One component's result: answered count, points and its weighted value (0..weight)."""

    code: str
    weight: float
    indicators: int
    answered: int
    points: float
    max_points: float
    value: float


@dataclass(frozen=True)
class Score:
    """An instrument's result; while answers are missing (scored 0) the grade is a prediction."""

    total: float  # full precision; round only for display
    grade: Grade | None  # None: not accredited
    components: tuple[ComponentScore, ...]
    indicators: int
    answered: int
    ignored: tuple[str, ...]  # answers for unknown indicators or with an unknown letter

    @property
    def complete(self) -> bool:
        """True when every indicator has an answer."""
        return self.answered == self.indicators

    @property
    def predicted(self) -> bool:
        """True while incomplete: the grade may still change."""
        return not self.complete

    @property
    def display_total(self) -> float:
        """The total rounded to 2 decimals, for display only."""
        return round(self.total, 2)


@dataclass(frozen=True)
class Prefill:
    """An answer suggested from a live figure: the option and the value it came from."""

    option: str
    figure: str
    value: float
    per: str | None = None  # the value is ``figure`` divided by this figure


class NoInstrument(LookupError):
    """No instrument (or more than one) fits a library type and version."""


def score(inst: Instrument, answers: Mapping[str, str]) -> Score:
    """Score ``answers`` (indicator code -> option letter); unanswered indicators score 0."""
    known = {ind.code for ind in inst.indicators}
    ignored = tuple(sorted(code for code, letter in answers.items()
                           if code not in known or letter not in OPTION_LETTERS))
    top = exact(inst.top_score)
    total = Fraction(0)
    parts: list[ComponentScore] = []
    for comp in inst.components:
        letters = [answers.get(ind.code) for ind in comp.indicators]
        given = [letter for letter in letters if letter in OPTION_LETTERS]
        points = sum((exact(inst.score_of(letter)) for letter in given), Fraction(0))
        max_points = top * len(letters)
        value = points / max_points * exact(comp.weight)
        total += value
        parts.append(ComponentScore(comp.code, comp.weight, len(letters), len(given), float(points),
                                    float(max_points), float(value)))
    return Score(total=float(total), grade=inst.grade_for(total), components=tuple(parts),
                 indicators=sum(p.indicators for p in parts), answered=sum(p.answered for p in parts),
                 ignored=ignored)


def prefill(inst: Instrument, figures: Figures) -> dict[str, Prefill]:
    """Suggested answers for the indicators whose measure's figures are known."""
    out: dict[str, Prefill] = {}
    for ind in inst.indicators:
        if ind.measure is None:
            continue
        value = ratio_of(figures, ind.measure.figure, ind.measure.per)
        option = ind.measure.option_for(value) if value is not None else None
        if option is not None:
            out[ind.code] = Prefill(option, ind.measure.figure, value, ind.measure.per)
    return out


def instrument_for(instruments: Iterable[Instrument], library_type: str | LibraryType, version: str) -> Instrument:
    """The one instrument of ``version`` for ``library_type`` (a pojok baca uses the khusus one)."""
    kind = library_type.value if isinstance(library_type, LibraryType) else library_type
    kind = TYPE_ALIASES.get(kind, kind)
    found = [inst for inst in instruments if inst.version == version and kind in inst.library_types]
    if len(found) != 1:
        raise NoInstrument(f"{len(found)} instruments of version {version} for library type {kind}")
    return found[0]
