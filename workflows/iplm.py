"""IPLM (Indeks Pembangunan Literasi Masyarakat): per-year settings as data, the 7 UPLM elements, index, band.

domain-id §6: UPLM_i = numerator_i / AM / K_i; IPLM = sum(UPLM_1..7) / 7 x 100. The constants K_i were
not retrieved; with K_i = 1 the published Kab. Sukoharjo 2022 element values average straight to its
index (71.85), so 1 is the shipped default and every K is data the DPK can change per year.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workflows.instruments.datafile import Bilingual, Checker, FieldPath, yaml_locator
from workflows.yamlsource import load

DATA_FILE = Path(__file__).resolve().parent / "data" / "iplm.yaml"
ELEMENTS = tuple(range(1, 8))
# The community aspect (AM) each element is divided by; "residents" for public libraries.
POPULATION_GROUPS = {
    "residents": _l("residents"),
    "pupils": _l("school pupils"),
    "students": _l("university students"),
    "employees": _l("employees"),
}
# What the lead computes city-wide for each element's numerator.
NUMERATORS = {
    "iplm.libraries": _l("Libraries"),
    "iplm.collection_copies": _l("Collection copies"),
    "iplm.staff": _l("Library staff"),
    "iplm.daily_visits": _l("Average daily visits"),
    "iplm.libraries_snp": _l("Libraries meeting the SNP"),
    "iplm.participants": _l("Activity participants"),
    "iplm.members": _l("Library members"),
}


@dataclass(frozen=True)
class ElementSetting:
    """How one UPLM element is computed: numerator / sum of the denominator groups / k."""

    number: int
    name: Bilingual
    numerator: str
    denominator: tuple[str, ...]
    k: float


@dataclass(frozen=True)
class Band:
    """An IPLM category: an index that reaches ``min`` falls in it."""

    code: str
    min: float
    label: Bilingual


@dataclass(frozen=True)
class IplmSettings:
    """One year's IPLM settings."""

    year: int
    source: str
    elements: tuple[ElementSetting, ...]  # 1..7 in order
    bands: tuple[Band, ...]  # highest first


@dataclass(frozen=True)
class Element:
    """One computed element; ``value`` is None and ``why_missing`` says why when it cannot be computed."""

    value: float | None
    numerator: float | None
    denominator: float | None
    k: float
    why_missing: str | None = None


def elements(numerators: Mapping[int, float | None], population: Mapping[str, float | None],
             settings: IplmSettings) -> dict[int, Element]:
    """Compute elements 1..7 from their numerators and the population groups."""
    out = {}
    for setting in settings.elements:
        numerator = numerators.get(setting.number)
        unknown = [g for g in setting.denominator if population.get(g) is None]
        denominator = None if unknown else float(sum(population[g] for g in setting.denominator))
        why = None
        if numerator is None:
            why = _("%(what)s (the numerator) is not known", what=NUMERATORS[setting.numerator])
        elif unknown:
            why = _("the number of %(groups)s is not known", groups=", ".join(str(POPULATION_GROUPS[g]) for g in unknown))
        elif not denominator:
            why = _("the number of %(groups)s is zero",
                    groups=", ".join(str(POPULATION_GROUPS[g]) for g in setting.denominator))
        value = None if why else numerator / denominator / setting.k
        out[setting.number] = Element(value, numerator, denominator, setting.k, why)
    return out


def index(element_values: Mapping[int, float]) -> float:
    """IPLM = sum of the seven element values / 7 x 100; ValueError when any element is missing."""
    missing = [n for n in ELEMENTS if element_values.get(n) is None]
    if missing:
        raise ValueError(f"IPLM needs all seven elements; missing: {missing}")
    return sum(element_values[n] for n in ELEMENTS) / len(ELEMENTS) * 100


def band(value: float, settings: IplmSettings) -> Band:
    """The category of an index value (the lowest band when below every minimum)."""
    return next((b for b in settings.bands if value >= b.min), settings.bands[-1])


def settings_for(settings: Mapping[int, IplmSettings], year: int) -> IplmSettings:
    """The settings of ``year``, else of the latest earlier year; LookupError when there are none."""
    earlier = [y for y in settings if y <= year]
    if not earlier:
        raise LookupError(f"no IPLM settings for {year} or earlier")
    return settings[max(earlier)]


def load_iplm(text: str | bytes, source: str) -> dict[int, IplmSettings]:
    """Parse and check an IPLM settings file (one entry per year); DataFileError lists every fault."""
    data = load(text, source)
    check = Checker(source, yaml_locator(data))
    top = check.mapping(data, (), ("years",))
    out: dict[int, IplmSettings] = {}
    seen: dict[str, FieldPath] = {}
    for i, item in enumerate(check.sequence(top.get("years") if top else None, ("years",))):
        path: FieldPath = ("years", i)
        fields = check.mapping(item, path, ("year", "source", "elements", "bands"))
        if fields is None:
            continue
        year = check.number(fields.get("year"), (*path, "year"), minimum=2000, maximum=2100)
        check.unique(None if year is None else str(year), (*path, "year"), seen)
        year_source = check.text(fields.get("source"), (*path, "source"))
        elems = _elements(fields.get("elements"), (*path, "elements"), check)
        bands = _bands(fields.get("bands"), (*path, "bands"), check)
        if year is not None and year_source and elems and bands:
            out[int(year)] = IplmSettings(int(year), year_source, elems, bands)
    check.raise_if_any()
    return out


def shipped_iplm() -> dict[int, IplmSettings]:
    """The IPLM settings that ship with the project (workflows/data/iplm.yaml)."""
    return load_iplm(DATA_FILE.read_bytes(), DATA_FILE.name)


def _elements(value: Any, path: FieldPath, check: Checker) -> tuple[ElementSetting, ...] | None:
    found: dict[int, ElementSetting] = {}
    problems_before = len(check.problems)
    for i, item in enumerate(check.sequence(value, path)):
        fields = check.mapping(item, (*path, i), ("number", "name", "numerator"), ("denominator", "k"))
        if fields is None:
            continue
        number = check.number(fields.get("number"), (*path, i, "number"), minimum=1, maximum=7)
        if number is not None and (not isinstance(number, int) or number in found):
            check.add((*path, i, "number"), _("each element 1 to 7 must appear exactly once"))
        name = check.bilingual(fields.get("name"), (*path, i, "name"))
        numerator = check.choice(fields.get("numerator"), (*path, i, "numerator"), NUMERATORS)
        groups = fields.get("denominator", ["residents"])
        groups = [groups] if isinstance(groups, str) else groups
        denominator = tuple(check.choice(g, (*path, i, "denominator", j), POPULATION_GROUPS)
                            for j, g in enumerate(check.sequence(groups, (*path, i, "denominator"))))
        k = check.number(fields.get("k", 1), (*path, i, "k"), above=0)
        if len(check.problems) == problems_before and name and numerator and denominator and k is not None:
            found[int(number)] = ElementSetting(int(number), name, numerator, denominator, k)
    if len(check.problems) > problems_before:
        return None
    if sorted(found) != list(ELEMENTS):
        check.add(path, _("each element 1 to 7 must appear exactly once"))
        return None
    return tuple(found[n] for n in ELEMENTS)


def _bands(value: Any, path: FieldPath, check: Checker) -> tuple[Band, ...] | None:
    bands: list[Band] = []
    problems_before = len(check.problems)
    codes: dict[str, FieldPath] = {}
    for i, item in enumerate(check.sequence(value, path)):
        fields = check.mapping(item, (*path, i), ("code", "min", "label"))
        if fields is None:
            continue
        code = check.code(fields.get("code"), (*path, i, "code"))
        check.unique(code, (*path, i, "code"), codes)
        minimum = check.number(fields.get("min"), (*path, i, "min"), minimum=0)
        label = check.bilingual(fields.get("label"), (*path, i, "label"))
        if minimum is not None and bands and minimum >= bands[-1].min:
            check.add((*path, i, "min"), _("bands must go from the highest minimum to the lowest"))
        elif code and minimum is not None and label:
            bands.append(Band(code, minimum, label))
    return tuple(bands) if bands and len(check.problems) == problems_before else None
