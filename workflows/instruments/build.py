"""Plain instrument data (from YAML or a workbook) -> a checked Instrument, every fault reported at once."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from workflows.figures import FIGURES, exact
from workflows.instruments.datafile import Checker, FieldPath
from workflows.instruments.model import (
    INSTRUMENT_TYPES,
    OPTION_LETTERS,
    Band,
    Component,
    Grade,
    Indicator,
    Instrument,
    Measure,
    Option,
    SubComponent,
)

TOP_FIELDS = ("code", "version", "library_types", "title", "source", "option_scores", "grades",
              "not_accredited", "components")


def build_instrument(data: Any, check: Checker) -> Instrument | None:
    """Check ``data`` and build the instrument; None when anything is wrong (see ``check.problems``)."""
    top = check.mapping(data, (), TOP_FIELDS)
    if top is None:
        return None
    code = check.code(top.get("code"), ("code",))
    version = check.code(top.get("version"), ("version",))
    types = _library_types(top.get("library_types"), check)
    title = check.bilingual(top.get("title"), ("title",))
    source = check.text(top.get("source"), ("source",))
    scores = _option_scores(top.get("option_scores"), check)
    grades = _grades(top.get("grades"), check)
    not_accredited = check.bilingual(top.get("not_accredited"), ("not_accredited",))
    components = _components(top.get("components"), check)
    if check.problems:
        return None
    return Instrument(code=code, version=version, library_types=types, title=title, source=source,
                      option_scores=scores, grades=grades, not_accredited=not_accredited,
                      components=components)


def _library_types(value: Any, check: Checker) -> tuple[str, ...]:
    found: list[str] = []
    for i, item in enumerate(check.sequence(value, ("library_types",))):
        path = ("library_types", i)
        kind = check.choice(item, path, INSTRUMENT_TYPES)
        if kind in found:
            check.add(path, _("this library type is listed twice"))
        elif kind is not None:
            found.append(kind)
    return tuple(found)


def _option_scores(value: Any, check: Checker) -> tuple[float, ...]:
    path: FieldPath = ("option_scores",)
    fields = check.mapping(value, path, OPTION_LETTERS)
    if fields is None:
        return ()
    scores = tuple(check.number(fields.get(letter), (*path, letter), minimum=0) for letter in OPTION_LETTERS)
    if all(s is not None for s in scores) and max(scores) <= 0:
        check.add(path, _("at least one option must score more than 0"))
    return scores


def _grades(value: Any, check: Checker) -> tuple[Grade, ...]:
    grades: list[Grade] = []
    seen: dict[str, FieldPath] = {}
    for i, item in enumerate(check.sequence(value, ("grades",))):
        path: FieldPath = ("grades", i)
        fields = check.mapping(item, path, ("grade", "min", "label"))
        if fields is None:
            continue
        name = check.code(fields.get("grade"), (*path, "grade"))
        check.unique(name, (*path, "grade"), seen)
        minimum = check.number(fields.get("min"), (*path, "min"), minimum=0, maximum=100)
        label = check.bilingual(fields.get("label"), (*path, "label"))
        if grades and minimum is not None and minimum >= grades[-1].min:
            check.add((*path, "min"), _("grades must go from the highest minimum to the lowest"))
        if name and minimum is not None and label:
            grades.append(Grade(name, minimum, label))
    return tuple(grades)


def _components(value: Any, check: Checker) -> tuple[Component, ...]:
    components: list[Component] = []
    seen: dict[str, dict[str, FieldPath]] = {"component": {}, "subcomponent": {}, "indicator": {}}
    weights: list[float | None] = []
    for i, item in enumerate(check.sequence(value, ("components",))):
        path: FieldPath = ("components", i)
        fields = check.mapping(item, path, ("code", "title", "weight", "subcomponents"))
        if fields is None:
            continue
        code = check.code(fields.get("code"), (*path, "code"))
        check.unique(code, (*path, "code"), seen["component"])
        title = check.bilingual(fields.get("title"), (*path, "title"))
        weight = check.number(fields.get("weight"), (*path, "weight"), above=0)
        weights.append(weight)
        subs = tuple(_subcomponent(sub, (*path, "subcomponents", j), check, seen)
                     for j, sub in enumerate(check.sequence(fields.get("subcomponents"), (*path, "subcomponents"))))
        if code and title and weight is not None and subs and all(subs):
            components.append(Component(code, title, weight, subs))
    total = sum(exact(w) for w in weights if w is not None)
    if weights and None not in weights and total != 100:  # a bad weight was reported already
        check.add(("components",), _("the component weights add up to %(total)s, not 100",
                                     total=f"{float(total):g}"))
    return tuple(components)


def _subcomponent(value: Any, path: FieldPath, check: Checker,
                  seen: dict[str, dict[str, FieldPath]]) -> SubComponent | None:
    fields = check.mapping(value, path, ("code", "title", "indicators"))
    if fields is None:
        return None
    code = check.code(fields.get("code"), (*path, "code"))
    check.unique(code, (*path, "code"), seen["subcomponent"])
    title = check.bilingual(fields.get("title"), (*path, "title"))
    indicators = tuple(_indicator(ind, (*path, "indicators", k), check, seen["indicator"])
                       for k, ind in enumerate(check.sequence(fields.get("indicators"), (*path, "indicators"))))
    if code and title and indicators and all(indicators):
        return SubComponent(code, title, indicators)
    return None


def _indicator(value: Any, path: FieldPath, check: Checker, seen: dict[str, FieldPath]) -> Indicator | None:
    fields = check.mapping(value, path, ("code", "text", "options"), ("evidence", "measure"))
    if fields is None:
        return None
    code = check.code(fields.get("code"), (*path, "code"))
    check.unique(code, (*path, "code"), seen)
    text = check.bilingual(fields.get("text"), (*path, "text"))
    options: list[Option] = []
    if fields.get("options") is not None:
        option_fields = check.mapping(fields["options"], (*path, "options"), OPTION_LETTERS) or {}
        for letter in OPTION_LETTERS:
            option_text = check.bilingual(option_fields.get(letter), (*path, "options", letter))
            if option_text is not None:
                options.append(Option(letter, option_text))
    evidence = check.bilingual(fields.get("evidence"), (*path, "evidence"))
    measure = _measure(fields.get("measure"), (*path, "measure"), check) if fields.get("measure") is not None else None
    if code and text and len(options) == len(OPTION_LETTERS) and (measure or fields.get("measure") is None):
        return Indicator(code, text, tuple(options), evidence, measure)
    return None


def _measure(value: Any, path: FieldPath, check: Checker) -> Measure | None:
    fields = check.mapping(value, path, ("figure", "bands"), ("per",))
    if fields is None:
        return None
    figure = check.choice(fields.get("figure"), (*path, "figure"), FIGURES)
    per = check.choice(fields.get("per"), (*path, "per"), FIGURES) if fields.get("per") is not None else None
    bands: list[Band] = []
    problems_before = len(check.problems)
    for i, item in enumerate(check.sequence(fields.get("bands"), (*path, "bands"))):
        band_path: FieldPath = (*path, "bands", i)
        band_fields = check.mapping(item, band_path, ("option", "min"), ("max",))
        if band_fields is None:
            continue
        option = check.choice(band_fields.get("option"), (*band_path, "option"), OPTION_LETTERS)
        low = check.number(band_fields.get("min"), (*band_path, "min"))
        high = check.number(band_fields.get("max"), (*band_path, "max"))
        if low is not None and high is not None and high < low:
            check.add((*band_path, "max"), _("max is below min"))
            continue
        if low is not None and bands:
            previous = bands[-1]
            # First matching band wins, so a lower band listed first would hide the ones after it.
            if low > previous.min or (low == previous.min and previous.max is None):
                check.add((*band_path, "min"), _("bands must go from the highest minimum to the lowest; "
                                                 "this band can never be chosen"))
        if option is not None and low is not None:
            bands.append(Band(option, low, high))
    if len(check.problems) > problems_before or figure is None or not bands:
        return None
    return Measure(figure, tuple(bands), per)
