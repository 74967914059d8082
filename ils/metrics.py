"""The metrics registry: how workflows read numbers from the other domains.

Each domain registers named metrics (``catalog.titles``, ``circulation.loans``, ...) in its
init_app; workflows ask for them by name, per library and period, and never import a domain.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

# fn(library_id or None for the whole network, start, end) -> number
MetricFn = Callable[[int | None, date | None, date | None], float]


@dataclass(frozen=True)
class Metric:
    """A named figure and where it comes from."""

    name: str
    description: str
    unit: str
    fn: MetricFn


REGISTRY: dict[str, Metric] = {}


def register(name: str, *, description: str, unit: str = "count") -> Callable[[MetricFn], MetricFn]:
    """Decorator: register ``fn`` as metric ``name`` (re-registering replaces it)."""

    def decorate(fn: MetricFn) -> MetricFn:
        REGISTRY[name] = Metric(name=name, description=description, unit=unit, fn=fn)
        return fn

    return decorate


def value(name: str, *, library_id: int | None = None, start: date | None = None,
          end: date | None = None) -> float:
    """Read one metric; KeyError names an unknown metric."""
    return REGISTRY[name].fn(library_id, start, end)
