"""SVG drawing pieces the charts share: palette, sizes, the series type, escaping text, frames and axes.

Every piece of text goes through markupsafe's escape on the way in, so the joined Markup is safe.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"
# Okabe & Ito (2008), ordered so the first colours contrast most on white; yellow, weakest, last.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 3", "12 4")
FONT = 12
CHAR_W = 0.6 * FONT  # mean glyph width: enough to lay out labels without a font engine
TEXT, AXIS, GRID, MUTED = "#222", "#666", "#ddd", "#888"
TITLE_H, LEGEND_ROW, UNIT_H, PAD = 22.0, 18.0, 18.0, 10.0
EMPTY_TEXT = "No data"
STATE_NAMES = ("done", "current", "to do")

NumberFormat = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """A named row of values (None = no value) with an optional CSS class and palette index."""

    name: str
    values: Sequence[float | None]
    css_class: str = ""
    colour: int | None = None

    def __post_init__(self) -> None:
        # Stored as a tuple so a series stays immutable and hashable whatever the caller passed.
        object.__setattr__(self, "values", tuple(self.values))


@dataclass(frozen=True)
class Plot:
    """The plotting rectangle inside the margins."""

    x: float
    y: float
    w: float
    h: float


def num(value: float) -> str:
    """A coordinate with at most two decimals: short, byte-stable output."""
    return f"{round(value, 2) + 0.0:.2f}".rstrip("0").rstrip(".")


def chart_id(kind: str, prefix: str | None, *payload: object) -> str:
    """The id prefix: the caller's (made a valid XML id) or a digest of the input (deterministic)."""
    if prefix is None:  # hashlib, not hash(): str hashes change from one process to the next
        return f"{kind}-{hashlib.blake2s(repr(payload).encode(), digest_size=5).hexdigest()}"
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", prefix)
    return clean if clean[:1].isalpha() else f"c-{clean}"


def checked_values(series: Sequence[Series], count: int) -> list[float]:
    """The values present in all series, after checking lengths and signs."""
    present: list[float] = []
    for s in series:
        if len(s.values) != count:
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {count} labels")
        for v in s.values:
            if v is not None and not v >= 0:  # also rejects NaN
                raise ValueError(f"series {s.name!r}: the axis starts at 0, got {v!r}")
            if v is not None:
                present.append(v)
    return present


def style_of(series: Series, index: int) -> tuple[str, str]:
    """Colour and dash pattern: the series' own palette index, else its position."""
    k = index if series.colour is None else series.colour
    return PALETTE[k % len(PALETTE)], DASHES[k % len(DASHES)]


def series_class(series: Series, index: int) -> str:
    """The (escaped) class attribute of a series group."""
    return str(escape(f"series series-{index} {series.css_class}".strip()))


def tooltip(name: str, label: str, value: float, fmt: NumberFormat, unit: str) -> str:
    """Tooltip text, escaped: "Kunjungan, Mar 2026: 1.234 orang" (a percent sign follows unspaced)."""
    suffix = unit if unit in ("", "%") else f" {unit}"
    return str(escape(f"{name}, {label}: {fmt(value)}{suffix}"))


def describe(series: Sequence[Series], labels: Sequence[str], fmt: NumberFormat) -> str:
    """A language-neutral text version of the data for screen readers (<desc>)."""
    return "; ".join(f"{s.name}: " + ", ".join(f"{label} {'–' if v is None else fmt(v)}"
                                              for label, v in zip(labels, s.values)) for s in series)


def text_el(x: float, y: float, content: str, *, anchor: str = "start", fill: str = TEXT, extra: str = "") -> str:
    """An escaped <text> element."""
    return f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" fill="{fill}"{extra}>{escape(content)}</text>'


def open_svg(kind: str, ids: str, width: float, height: float, title: str, desc: str) -> list[str]:
    """The <svg> start tag with role, title and desc; the CSS class "chart" lets app.css scale it."""
    return [f'<svg xmlns="{SVG_NS}" class="chart chart-{kind}" width="{num(width)}" height="{num(height)}" '
            f'viewBox="0 0 {num(width)} {num(height)}" role="img" aria-labelledby="{ids}-title {ids}-desc" '
            f'font-family="system-ui, sans-serif" font-size="{FONT}">',
            f'<title id="{ids}-title">{escape(title)}</title><desc id="{ids}-desc">{escape(desc)}</desc>']


def close_svg(parts: list[str]) -> Markup:
    """Join the parts into one Markup (every piece of text in them was escaped on the way in)."""
    return Markup("".join(parts) + "</svg>")


def empty_chart(kind: str, ids: str, width: float, height: float, title: str, text: str, size: int = FONT) -> Markup:
    """A small chart that says there is nothing to draw."""
    height = min(height, 60)
    parts = open_svg(f"{kind} chart-empty", ids, width, height, title, text)
    parts.append(text_el(width / 2, height / 2 + size / 3, text, anchor="middle", fill=MUTED,
                       extra=f' font-size="{size}"'))
    return close_svg(parts)


def legend_rows(series: Sequence[Series], width: float) -> list[list[tuple[int, float]]]:
    """Legend entries as rows of (series index, x), wrapped to the chart width."""
    rows: list[list[tuple[int, float]]] = [[]]
    x = PAD
    for i, s in enumerate(series):
        entry = 26 + len(s.name) * CHAR_W + 16
        if rows[-1] and x + entry > width - PAD:
            rows.append([])
            x = PAD
        rows[-1].append((i, x))
        x += entry
    return rows


def top_margin(series: Sequence[Series], width: float, unit: str) -> float:
    """Room above the plot: title, legend rows, the unit line."""
    return TITLE_H + len(legend_rows(series, width)) * LEGEND_ROW + (UNIT_H if unit else 0) + 14


def frame(kind: str, ids: str, width: float, height: float, title: str, desc: str,
           series: Sequence[Series], unit: str, *, lines: bool) -> list[str]:
    """Start tag, visible title, legend (line samples or swatches) and the unit above the plot."""
    parts = open_svg(kind, ids, width, height, title, desc)
    parts.append(text_el(PAD, 16, title, extra=' font-weight="bold" font-size="14"'))
    rows = legend_rows(series, width)
    for r, row in enumerate(rows):
        y = TITLE_H + r * LEGEND_ROW + 10
        for i, x in row:
            colour, dash = style_of(series[i], i)
            if lines:
                dasharray = f' stroke-dasharray="{dash}"' if dash else ""
                parts.append(f'<line x1="{num(x)}" x2="{num(x + 20)}" y1="{num(y)}" y2="{num(y)}" stroke="{colour}" '
                             f'stroke-width="2"{dasharray}/>')
            else:
                parts.append(f'<rect x="{num(x + 4)}" y="{num(y - 6)}" width="12" height="12" fill="{colour}"/>')
            parts.append(text_el(x + 26, y + 4, series[i].name))
    if unit:
        parts.append(text_el(PAD, TITLE_H + len(rows) * LEGEND_ROW + 12, unit, fill=AXIS))
    return parts


def value_axis(plot: Plot, ticks: Sequence[float], fmt: NumberFormat, *, horizontal: bool) -> list[str]:
    """The plot rectangle, a gridline and label per tick, and the zero line."""
    parts = [f'<rect class="chart-plot" x="{num(plot.x)}" y="{num(plot.y)}" width="{num(plot.w)}" '
             f'height="{num(plot.h)}" fill="none"/>']
    for t in ticks:
        if horizontal:
            x = plot.x + plot.w * t / ticks[-1]
            parts.append(f'<line class="chart-grid" x1="{num(x)}" x2="{num(x)}" y1="{num(plot.y)}" '
                         f'y2="{num(plot.y + plot.h)}" stroke="{GRID}"/>')
            parts.append(text_el(x, plot.y + plot.h + 16, fmt(t), anchor="middle", fill=AXIS))
        else:
            y = plot.y + plot.h * (1 - t / ticks[-1])
            parts.append(f'<line class="chart-grid" x1="{num(plot.x)}" x2="{num(plot.x + plot.w)}" y1="{num(y)}" '
                         f'y2="{num(y)}" stroke="{GRID}"/>')
            parts.append(text_el(plot.x - 6, y + 4, fmt(t), anchor="end", fill=AXIS))
    x2, y1 = (plot.x, plot.y) if horizontal else (plot.x + plot.w, plot.y + plot.h)
    parts.append(f'<line class="chart-axis" x1="{num(plot.x)}" x2="{num(x2)}" y1="{num(y1)}" '
                 f'y2="{num(plot.y + plot.h)}" stroke="{AXIS}"/>')
    return parts


def label_cap(width: float) -> int:
    """How many characters a category label may take beside horizontal bars (40% of the width)."""
    return max(int(width * 0.4 / CHAR_W), 4)


def category_axis(labels: Sequence[str], plot: Plot, *, horizontal: bool, cap: int = 10**6) -> list[str]:
    """Category labels; thinned (every k-th) where they would overlap, long ones cut with a tooltip."""
    band = (plot.h if horizontal else plot.w) / len(labels)
    need = 16 if horizontal else max(len(label) for label in labels) * CHAR_W + 8
    every = max(1, math.ceil(need / band))
    parts = []
    for j, label in enumerate(labels):
        if j % every:
            continue
        shown = label if len(label) <= cap else label[:cap - 1] + "…"
        tip = f"<title>{escape(label)}</title>" if shown != label else ""
        if horizontal:
            x, y, anchor = plot.x - 6, plot.y + (j + 0.5) * band + 4, "end"
        else:
            x, y, anchor = plot.x + (j + 0.5) * band, plot.y + plot.h + 18, "middle"
        parts.append(f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" fill="{TEXT}">{tip}'
                     f'{escape(shown)}</text>')
    return parts


def path_data(points: Sequence[tuple[float, float] | None]) -> str:
    """Path data through the points; a None lifts the pen, so a gap starts a new subpath (M)."""
    out: list[str] = []
    pen = False
    for p in points:
        if p is None:
            pen = False
            continue
        out.append(f"{'L' if pen else 'M'}{num(p[0])} {num(p[1])}")
        pen = True
    return " ".join(out)


def wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """Greedy word wrap into at most `lines` lines; what does not fit ends in an ellipsis."""
    out: list[str] = []
    for word in text.split():
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        out = out[:lines - 1] + [" ".join(out[lines - 1:])]
    return [line if len(line) <= width else line[:width - 1] + "…" for line in out] or [""]
