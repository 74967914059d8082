"""SNP (Standar Nasional Perpustakaan) minimums per library type as data, and the gap analysis.

Each requirement is a minimum for one figure: a fixed number (kelurahan: 1,000 titles), a factor of
another figure (umum kota: 0.025 titles per resident), or steps of another figure (school floor area
by number of rombel). Every requirement carries its source and a confidence mark (V, 2nd, ?), because
most SNP annexes were not seen in full (domain-id §5).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from workflows.figures import FIGURES, Figures, exact, value_of
from workflows.instruments.datafile import Bilingual, Checker, FieldPath, yaml_locator
from workflows.instruments.model import INSTRUMENT_TYPES, TYPE_ALIASES
from workflows.yamlsource import load

CONFIDENCE = ("V", "2nd", "?")  # verified / secondary source / inferred (domain-id's marks)
DATA_FILE = Path(__file__).resolve().parent / "data" / "snp.yaml"


@dataclass(frozen=True)
class Step:
    """One step of a stepped minimum: applies while the basis figure is at most ``upto`` (None: above all)."""

    upto: float | None
    min: float


@dataclass(frozen=True)
class Requirement:
    """A minimum for ``figure``: fixed (``min``), ``factor`` x ``per``, or the ``steps`` of ``by``."""

    code: str
    label: Bilingual
    figure: str
    source: str
    confidence: str
    min: float | None = None
    per: str | None = None
    factor: float | None = None
    by: str | None = None
    steps: tuple[Step, ...] = ()

    def required(self, figures: Figures) -> tuple[Fraction | None, tuple[str, ...]]:
        """The minimum for these figures, or None and the figures that must be entered first."""
        if self.min is not None:
            return exact(self.min), ()
        basis_name = self.per if self.per is not None else self.by
        basis = value_of(figures, basis_name)
        if basis is None:
            return None, (basis_name,)
        if self.per is not None:
            return exact(self.factor) * exact(basis), ()
        return exact(next(s.min for s in self.steps if s.upto is None or basis <= s.upto)), ()


@dataclass(frozen=True)
class Standard:
    """The SNP minimums of one library type."""

    library_type: str
    title: Bilingual
    source: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class Gap:
    """One requirement checked: ``met`` is None while a figure is unknown (``missing`` names it)."""

    code: str
    label: Bilingual
    figure: str
    required: float | None
    actual: float | None
    met: bool | None
    shortfall: float | None  # how much is missing (0 when met)
    source: str
    confidence: str
    missing: tuple[str, ...] = ()


def gap_analysis(standard: Standard, figures: Figures) -> list[Gap]:
    """Compare live and entered figures with the standard, one Gap per requirement."""
    gaps = []
    for req in standard.requirements:
        required, missing = req.required(figures)
        actual = value_of(figures, req.figure)
        if actual is None:
            missing = (req.figure, *missing)
        met = shortfall = None
        if required is not None and actual is not None:
            met = exact(actual) >= required
            shortfall = float(max(required - exact(actual), Fraction(0)))
        gaps.append(Gap(req.code, req.label, req.figure, None if required is None else float(required), actual,
                        met, shortfall, req.source, req.confidence, missing))
    return gaps


def standard_for(standards: Mapping[str, Standard], library_type: str) -> Standard:
    """The standard for ``library_type`` (a pojok baca uses the khusus one); KeyError when none."""
    return standards[TYPE_ALIASES.get(library_type, library_type)]


def load_standards(text: str | bytes, source: str) -> dict[str, Standard]:
    """Parse and check an SNP file; DataFileError lists every fault with line and field."""
    data = load(text, source)
    check = Checker(source, yaml_locator(data))
    top = check.mapping(data, (), ("standards",), ("source",))
    standards: dict[str, Standard] = {}
    seen: dict[str, FieldPath] = {}
    for i, item in enumerate(check.sequence(top.get("standards") if top else None, ("standards",))):
        path: FieldPath = ("standards", i)
        fields = check.mapping(item, path, ("library_type", "title", "source", "requirements"))
        if fields is None:
            continue
        kind = check.choice(fields.get("library_type"), (*path, "library_type"), INSTRUMENT_TYPES)
        check.unique(kind, (*path, "library_type"), seen)
        title = check.bilingual(fields.get("title"), (*path, "title"))
        std_source = check.text(fields.get("source"), (*path, "source"))
        codes: dict[str, FieldPath] = {}
        reqs = [_requirement(req, (*path, "requirements", j), check, codes)
                for j, req in enumerate(check.sequence(fields.get("requirements"), (*path, "requirements")))]
        if kind and title and std_source and reqs and all(reqs):
            standards[kind] = Standard(kind, title, std_source, tuple(reqs))
    check.raise_if_any()
    return standards


def shipped_standards() -> dict[str, Standard]:
    """The SNP minimums that ship with the project (workflows/data/snp.yaml)."""
    return load_standards(DATA_FILE.read_bytes(), DATA_FILE.name)


def _requirement(value: Any, path: FieldPath, check: Checker, codes: dict[str, FieldPath]) -> Requirement | None:
    fields = check.mapping(value, path, ("code", "label", "figure", "source", "confidence"),
                           ("min", "min_per", "min_by"))
    if fields is None:
        return None
    code = check.code(fields.get("code"), (*path, "code"))
    check.unique(code, (*path, "code"), codes)
    common = {"code": code, "label": check.bilingual(fields.get("label"), (*path, "label")),
              "figure": check.choice(fields.get("figure"), (*path, "figure"), FIGURES),
              "source": check.text(fields.get("source"), (*path, "source")),
              "confidence": check.choice(fields.get("confidence"), (*path, "confidence"), CONFIDENCE)}
    kinds = [k for k in ("min", "min_per", "min_by") if fields.get(k) is not None]
    if len(kinds) != 1:
        check.add(path, _("give exactly one of min, min_per and min_by"))
        return None
    extra: dict[str, Any] = {}
    if kinds == ["min"]:
        extra["min"] = check.number(fields["min"], (*path, "min"), minimum=0)
    elif kinds == ["min_per"]:
        per = check.mapping(fields["min_per"], (*path, "min_per"), ("figure", "factor")) or {}
        extra["per"] = check.choice(per.get("figure"), (*path, "min_per", "figure"), FIGURES)
        extra["factor"] = check.number(per.get("factor"), (*path, "min_per", "factor"), above=0)
    else:
        by = check.mapping(fields["min_by"], (*path, "min_by"), ("figure", "steps")) or {}
        extra["by"] = check.choice(by.get("figure"), (*path, "min_by", "figure"), FIGURES)
        extra["steps"] = _steps(by.get("steps"), (*path, "min_by", "steps"), check)
    if any(v is None for v in (*common.values(), *extra.values())):
        return None
    return Requirement(**common, **extra)


def _steps(value: Any, path: FieldPath, check: Checker) -> tuple[Step, ...] | None:
    steps: list[Step] = []
    items = check.sequence(value, path)
    problems_before = len(check.problems)
    for i, item in enumerate(items):
        fields = check.mapping(item, (*path, i), ("min",), ("upto",))
        if fields is None:
            continue
        upto = check.number(fields.get("upto"), (*path, i, "upto"), minimum=0)
        minimum = check.number(fields.get("min"), (*path, i, "min"), minimum=0)
        if (i == len(items) - 1) != (fields.get("upto") is None):
            check.add((*path, i, "upto"), _("every step but the last needs upto; the last has none (it covers "
                                            "everything above)"))
        elif upto is not None and steps and steps[-1].upto is not None and upto <= steps[-1].upto:
            check.add((*path, i, "upto"), _("steps must go from the lowest upto to the highest"))
        elif minimum is not None:
            steps.append(Step(upto, minimum))
    return tuple(steps) if steps and len(check.problems) == problems_before else None
