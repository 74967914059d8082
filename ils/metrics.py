"""The metrics registry: how workflows read numbers from the other domains.

Each domain registers named metrics (``catalog.titles``, ``circulation.loans``, ...) in its
init_app; workflows ask for them by name, per library and period, and never import a domain.

A metric may also give the figure of many libraries in one query (``by_library``): the DPK
dashboard asks for every library at once, and one grouped query beats a hundred small ones.
``values`` uses it when there is one and falls back to one call per library.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date

# fn(library_id or None for the whole network, start, end) -> number
MetricFn = Callable[[int | None, date | None, date | None], float]
# fn(library ids, start, end) -> {library id: number}; ids missing from the answer count as 0
GroupedFn = Callable[[list[int], date | None, date | None], dict[int, float]]


@dataclass(frozen=True)
class Metric:
    """A named figure and where it comes from."""

    name: str
    description: str
    unit: str
    fn: MetricFn
    by_library: GroupedFn | None = None


REGISTRY: dict[str, Metric] = {}


def register(name: str, *, description: str, unit: str = "count") -> Callable[[MetricFn], MetricFn]:
    """Decorator: register ``fn`` as metric ``name`` (re-registering replaces it)."""

    def decorate(fn: MetricFn) -> MetricFn:
        REGISTRY[name] = Metric(name=name, description=description, unit=unit, fn=fn)
        return fn

    return decorate


def grouped(name: str) -> Callable[[GroupedFn], GroupedFn]:
    """Decorator: give the registered metric ``name`` a one-query version for many libraries."""

    def decorate(fn: GroupedFn) -> GroupedFn:
        REGISTRY[name] = replace(REGISTRY[name], by_library=fn)
        return fn

    return decorate


def value(name: str, *, library_id: int | None = None, start: date | None = None,
          end: date | None = None) -> float:
    """Read one metric; KeyError names an unknown metric."""
    return REGISTRY[name].fn(library_id, start, end)


def values(name: str, *, library_ids: Iterable[int], start: date | None = None,
           end: date | None = None) -> dict[int, float]:
    """Read one metric for each of several libraries (every id gets a figure, 0 when none)."""
    ids = list(library_ids)
    metric = REGISTRY[name]
    if metric.by_library is None:
        return {i: metric.fn(i, start, end) for i in ids}
    found = metric.by_library(ids, start, end) if ids else {}
    return {i: float(found.get(i, 0.0)) for i in ids}
