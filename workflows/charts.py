"""Server-drawn SVG charts for the DPK dashboard: line, bar, step progress and sparklines.

Pure functions from plain values to Markup: no JavaScript and no CDN, so charts work without scripts,
print, and pass the app's CSP (presentation attributes only, no inline style). Colours are the
Okabe-Ito palette, which stays distinguishable with the common colour-vision deficiencies, and lines
also differ by dash pattern so a greyscale print still reads. Words a reader sees (empty_text,
state_names) are parameters: the view passes translations, this module holds no msgids.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import partial
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
_SWAP = str.maketrans({",": ".", ".": ","})

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
class _Plot:
    """The plotting rectangle inside the margins."""

    x: float
    y: float
    w: float
    h: float


def format_number(value: float, *, decimal_comma: bool = False, decimals: int = 2) -> str:
    """1234.5 -> "1,234.5", or "1.234,5" with decimal_comma (Indonesian); trailing zeros dropped."""
    text = f"{round(value, decimals) + 0.0:,.{decimals}f}"  # + 0.0 turns -0.0 into 0.0
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.translate(_SWAP) if decimal_comma else text


def nice_ticks(maximum: float, *, integer: bool = False, max_intervals: int = 5) -> list[float]:
    """Axis ticks from 0 in 1-2-5 steps covering maximum: 7 -> 0,2,4,6,8; 1234 -> 0,500,1000,1500."""
    if not maximum > 0:  # 0 (or NaN): still a readable axis rather than a division by zero
        return [0, 1]
    raw = maximum / max_intervals
    exponent = math.floor(math.log10(raw))
    step = next(m * 10.0 ** exponent for m in (1, 2, 5, 10) if m * 10.0 ** exponent >= raw * (1 - 1e-9))
    if integer and step < 1:  # counts: no tick at 0.5 visits
        step, exponent = 1.0, 0
    count = math.ceil(maximum / step - 1e-9)
    digits = max(0, -exponent)  # rounding removes float noise such as 0.30000000000000004
    return [round(i * step, digits) if digits else int(round(i * step)) for i in range(count + 1)]


def line_chart(series: Sequence[Series], labels: Sequence[str], *, title: str, unit: str = "",
               width: float = 640, height: float = 260, number_format: NumberFormat | None = None,
               decimal_comma: bool = False, empty_text: str = EMPTY_TEXT, id_prefix: str | None = None,
               desc: str | None = None) -> Markup:
    """Several named series over the same x labels; None values break the line."""
    fmt = number_format or partial(format_number, decimal_comma=decimal_comma)
    values = _checked(series, len(labels))
    ids = _ids("line", id_prefix, title, unit, labels, series)
    if not labels or not values:
        return _empty("line", ids, width, height, title, empty_text)
    ticks = nice_ticks(max(values), integer=all(float(v).is_integer() for v in values))
    top = _top_margin(series, width, unit)
    left = PAD + max(len(fmt(t)) for t in ticks) * CHAR_W + 6
    plot = _Plot(left, top, max(width - left - PAD, 1), max(height - top - 28, 1))
    parts = _frame("line", ids, width, height, title, desc or _describe(series, labels, fmt),
                   series, unit, lines=True)
    parts += _value_axis(plot, ticks, fmt, horizontal=False)
    parts += _category_axis(labels, plot, horizontal=False)
    band = plot.w / len(labels)
    for i, s in enumerate(series):
        colour, dash = _style(s, i)
        points = [None if v is None else (plot.x + (j + 0.5) * band, plot.y + plot.h * (1 - v / ticks[-1]))
                  for j, v in enumerate(s.values)]
        parts.append(f'<g class="{_series_class(s, i)}">')
        if len([p for p in points if p]) > 1:
            dasharray = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<path d="{_path(points)}" fill="none" stroke="{colour}" stroke-width="2" '
                         f'stroke-linejoin="round"{dasharray}/>')
        for point, label, value in zip(points, labels, s.values):
            if point is not None and value is not None:
                tip = _tip(s.name, label, value, fmt, unit)
                parts.append(f'<circle cx="{_n(point[0])}" cy="{_n(point[1])}" r="3.5" fill="{colour}" '
                             f'stroke="#fff" stroke-width="1"><title>{tip}</title></circle>')
        parts.append("</g>")
    return _close(parts)


def bar_chart(categories: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "",
              stacked: bool = False, horizontal: bool = False, width: float = 640, height: float | None = None,
              number_format: NumberFormat | None = None, decimal_comma: bool = False,
              empty_text: str = EMPTY_TEXT, id_prefix: str | None = None, desc: str | None = None) -> Markup:
    """Grouped (or stacked) bars per category; horizontal suits long names such as library names."""
    fmt = number_format or partial(format_number, decimal_comma=decimal_comma)
    values = _checked(series, len(categories))
    ids = _ids("bar", id_prefix, title, unit, stacked, horizontal, categories, series)
    top = _top_margin(series, width, unit)
    n = len(categories)
    if height is None:  # horizontal bars grow with the number of categories instead of squeezing
        height = top + 28 + n * (24 if stacked else 10 + 14 * len(series)) if horizontal and n else 260
    if not categories or not values:
        return _empty("bar", ids, width, height, title, empty_text)
    sums = [sum(s.values[j] or 0 for s in series) for j in range(n)]
    maximum = max(sums) if stacked else max(values)
    ticks = nice_ticks(maximum, integer=all(float(v).is_integer() for v in values))
    if horizontal:
        left = PAD + min(max(len(c) for c in categories), _label_cap(width)) * CHAR_W + 6
        right = max(PAD, len(fmt(ticks[-1])) * CHAR_W / 2 + 2)
    else:
        left, right = PAD + max(len(fmt(t)) for t in ticks) * CHAR_W + 6, PAD
    plot = _Plot(left, top, max(width - left - right, 1), max(height - top - 28, 1))
    parts = _frame("bar", ids, width, height, title, desc or _describe(series, categories, fmt),
                   series, unit, lines=False)
    parts += _value_axis(plot, ticks, fmt, horizontal=horizontal)
    band = (plot.h if horizontal else plot.w) / n
    length = plot.w if horizontal else plot.h
    thick = band * (0.6 if stacked else 0.8 / len(series))
    for i, s in enumerate(series):
        colour, _ = _style(s, i)
        parts.append(f'<g class="{_series_class(s, i)}" fill="{colour}">')
        for j, value in enumerate(s.values):
            if not value:  # None or 0: nothing to draw, the tooltip would have nothing to sit on
                continue
            base = sum(t.values[j] or 0 for t in series[:i]) if stacked else 0
            start = j * band + (band * 0.2 if stacked else band * 0.1 + i * thick)
            v0, v1 = length * base / ticks[-1], length * (base + value) / ticks[-1]
            if horizontal:
                x, y, w, h = plot.x + v0, plot.y + start, v1 - v0, thick
            else:
                x, y, w, h = plot.x + start, plot.y + plot.h - v1, thick, v1 - v0
            parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" stroke="#fff" '
                         f'stroke-width="0.5"><title>{_tip(s.name, categories[j], value, fmt, unit)}</title></rect>')
        parts.append("</g>")
    parts += _category_axis(categories, plot, horizontal=horizontal, cap=_label_cap(width))
    return _close(parts)


def progress_bar(steps: Sequence[str], current: int, *, title: str, width: float = 640, height: float = 80,
                 state_names: Sequence[str] = STATE_NAMES, empty_text: str = EMPTY_TEXT,
                 id_prefix: str | None = None) -> Markup:
    """A step indicator: steps before `current` done, `current` in progress, the rest to do."""
    if not 0 <= current <= len(steps):
        raise ValueError(f"current must lie between 0 and {len(steps)} (all done), got {current}")
    if len(state_names) != 3:
        raise ValueError("state_names needs three names: done, current, to do")
    ids = _ids("progress", id_prefix, title, steps, current)
    if not steps:
        return _empty("progress", ids, width, height, title, empty_text)
    states = ["done" if i < current else "current" if i == current else "todo" for i in range(len(steps))]
    named = dict(zip(("done", "current", "todo"), state_names))
    captions = [f"{i + 1}. {step}: {named[state]}" for i, (step, state) in enumerate(zip(steps, states))]
    parts = _open("progress", ids, width, height, title, "; ".join(captions))
    slot, cy = width / len(steps), 24.0
    for i in range(len(steps) - 1):  # the connector is coloured once the step it leads to is reached
        colour = PALETTE[2] if i + 1 <= current else GRID
        parts.append(f'<line x1="{_n((i + 0.5) * slot + 12)}" x2="{_n((i + 1.5) * slot - 12)}" y1="{_n(cy)}" '
                     f'y2="{_n(cy)}" stroke="{colour}" stroke-width="3"/>')
    for i, (step, state) in enumerate(zip(steps, states)):
        cx = (i + 0.5) * slot
        parts.append(f'<g class="step step-{state}"><title>{escape(captions[i])}</title>')
        if state == "done":  # a tick, not colour alone, says "done"
            parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="10" fill="{PALETTE[2]}"/>'
                         f'<path d="M{_n(cx - 5)} {_n(cy)} l3.5 3.5 l6.5 -7" fill="none" stroke="#fff" '
                         f'stroke-width="2.5"/>')
        elif state == "current":
            parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="12" fill="{PALETTE[0]}" stroke="{TEXT}" '
                         f'stroke-width="1.5"/>' + _text(cx, cy + 4, str(i + 1), anchor="middle", fill="#fff"))
        else:
            parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="10" fill="#fff" stroke="{MUTED}" '
                         f'stroke-width="1.5"/>' + _text(cx, cy + 4, str(i + 1), anchor="middle", fill=MUTED))
        lines = _wrap(step, max(int(slot / CHAR_W) - 1, 4))
        weight = ' font-weight="bold"' if state == "current" else ""
        spans = "".join(f'<tspan x="{_n(cx)}" dy="{0 if k == 0 else 14}">{escape(line)}</tspan>'
                        for k, line in enumerate(lines))
        parts.append(f'<text x="{_n(cx)}" y="{_n(cy + 30)}" text-anchor="middle" fill="{TEXT}"{weight}>'
                     f'{spans}</text></g>')
    return _close(parts)


def sparkline(values: Sequence[float | None], *, title: str, width: float = 100, height: float = 24,
              number_format: NumberFormat | None = None, decimal_comma: bool = False,
              empty_text: str = EMPTY_TEXT, id_prefix: str | None = None) -> Markup:
    """A small line for a table cell, scaled from its own minimum to maximum; None leaves a gap."""
    fmt = number_format or partial(format_number, decimal_comma=decimal_comma)
    present = [v for v in values if v is not None]
    ids = _ids("spark", id_prefix, title, tuple(values))
    if not present:
        return _empty("spark", ids, width, height, title, empty_text, size=9)
    desc = ", ".join("–" if v is None else fmt(v) for v in values)
    lo, hi, pad = min(present), max(present), 3.0
    step = (width - 2 * pad) / (len(values) - 1) if len(values) > 1 else 0.0

    def point(j: int, v: float) -> tuple[float, float]:
        x = pad + j * step if len(values) > 1 else width / 2
        share = (v - lo) / (hi - lo) if hi > lo else 0.5  # a flat series sits mid-height
        return x, pad + (height - 2 * pad) * (1 - share)

    points = [None if v is None else point(j, v) for j, v in enumerate(values)]
    last = next(p for p in reversed(points) if p is not None)
    parts = _open("spark", ids, width, height, title, desc)
    parts.append(f'<path d="{_path(points)}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" '
                 f'stroke-linejoin="round"/>')
    parts.append(f'<circle cx="{_n(last[0])}" cy="{_n(last[1])}" r="2" fill="{PALETTE[0]}"/>')
    return _close(parts)


# -- drawing helpers ---------------------------------------------------------------------------------

def _n(value: float) -> str:
    """A coordinate with at most two decimals: short, byte-stable output."""
    return f"{round(value, 2) + 0.0:.2f}".rstrip("0").rstrip(".")


def _ids(kind: str, prefix: str | None, *payload: object) -> str:
    """The id prefix: the caller's (made a valid XML id) or a digest of the input (deterministic)."""
    if prefix is None:  # hashlib, not hash(): str hashes change from one process to the next
        return f"{kind}-{hashlib.blake2s(repr(payload).encode(), digest_size=5).hexdigest()}"
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", prefix)
    return clean if clean[:1].isalpha() else f"c-{clean}"


def _checked(series: Sequence[Series], count: int) -> list[float]:
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


def _style(series: Series, index: int) -> tuple[str, str]:
    """Colour and dash pattern: the series' own palette index, else its position."""
    k = index if series.colour is None else series.colour
    return PALETTE[k % len(PALETTE)], DASHES[k % len(DASHES)]


def _series_class(series: Series, index: int) -> str:
    """The (escaped) class attribute of a series group."""
    return str(escape(f"series series-{index} {series.css_class}".strip()))


def _tip(name: str, label: str, value: float, fmt: NumberFormat, unit: str) -> str:
    """Tooltip text, escaped: "Kunjungan, Mar 2026: 1.234 orang" (a percent sign follows unspaced)."""
    suffix = unit if unit in ("", "%") else f" {unit}"
    return str(escape(f"{name}, {label}: {fmt(value)}{suffix}"))


def _describe(series: Sequence[Series], labels: Sequence[str], fmt: NumberFormat) -> str:
    """A language-neutral text version of the data for screen readers (<desc>)."""
    return "; ".join(f"{s.name}: " + ", ".join(f"{label} {'–' if v is None else fmt(v)}"
                                              for label, v in zip(labels, s.values)) for s in series)


def _text(x: float, y: float, content: str, *, anchor: str = "start", fill: str = TEXT, extra: str = "") -> str:
    """An escaped <text> element."""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{fill}"{extra}>{escape(content)}</text>'


def _open(kind: str, ids: str, width: float, height: float, title: str, desc: str) -> list[str]:
    """The <svg> start tag with role, title and desc; the CSS class "chart" lets app.css scale it."""
    return [f'<svg xmlns="{SVG_NS}" class="chart chart-{kind}" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-labelledby="{ids}-title {ids}-desc" '
            f'font-family="system-ui, sans-serif" font-size="{FONT}">',
            f'<title id="{ids}-title">{escape(title)}</title><desc id="{ids}-desc">{escape(desc)}</desc>']


def _close(parts: list[str]) -> Markup:
    """Join the parts into one Markup (every piece of text in them was escaped on the way in)."""
    return Markup("".join(parts) + "</svg>")


def _empty(kind: str, ids: str, width: float, height: float, title: str, text: str, size: int = FONT) -> Markup:
    """A small chart that says there is nothing to draw."""
    height = min(height, 60)
    parts = _open(f"{kind} chart-empty", ids, width, height, title, text)
    parts.append(_text(width / 2, height / 2 + size / 3, text, anchor="middle", fill=MUTED,
                       extra=f' font-size="{size}"'))
    return _close(parts)


def _legend_rows(series: Sequence[Series], width: float) -> list[list[tuple[int, float]]]:
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


def _top_margin(series: Sequence[Series], width: float, unit: str) -> float:
    """Room above the plot: title, legend rows, the unit line."""
    return TITLE_H + len(_legend_rows(series, width)) * LEGEND_ROW + (UNIT_H if unit else 0) + 14


def _frame(kind: str, ids: str, width: float, height: float, title: str, desc: str,
           series: Sequence[Series], unit: str, *, lines: bool) -> list[str]:
    """Start tag, visible title, legend (line samples or swatches) and the unit above the plot."""
    parts = _open(kind, ids, width, height, title, desc)
    parts.append(_text(PAD, 16, title, extra=' font-weight="bold" font-size="14"'))
    rows = _legend_rows(series, width)
    for r, row in enumerate(rows):
        y = TITLE_H + r * LEGEND_ROW + 10
        for i, x in row:
            colour, dash = _style(series[i], i)
            if lines:
                dasharray = f' stroke-dasharray="{dash}"' if dash else ""
                parts.append(f'<line x1="{_n(x)}" x2="{_n(x + 20)}" y1="{_n(y)}" y2="{_n(y)}" stroke="{colour}" '
                             f'stroke-width="2"{dasharray}/>')
            else:
                parts.append(f'<rect x="{_n(x + 4)}" y="{_n(y - 6)}" width="12" height="12" fill="{colour}"/>')
            parts.append(_text(x + 26, y + 4, series[i].name))
    if unit:
        parts.append(_text(PAD, TITLE_H + len(rows) * LEGEND_ROW + 12, unit, fill=AXIS))
    return parts


def _value_axis(plot: _Plot, ticks: Sequence[float], fmt: NumberFormat, *, horizontal: bool) -> list[str]:
    """The plot rectangle, a gridline and label per tick, and the zero line."""
    parts = [f'<rect class="chart-plot" x="{_n(plot.x)}" y="{_n(plot.y)}" width="{_n(plot.w)}" '
             f'height="{_n(plot.h)}" fill="none"/>']
    for t in ticks:
        if horizontal:
            x = plot.x + plot.w * t / ticks[-1]
            parts.append(f'<line class="chart-grid" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(plot.y)}" '
                         f'y2="{_n(plot.y + plot.h)}" stroke="{GRID}"/>')
            parts.append(_text(x, plot.y + plot.h + 16, fmt(t), anchor="middle", fill=AXIS))
        else:
            y = plot.y + plot.h * (1 - t / ticks[-1])
            parts.append(f'<line class="chart-grid" x1="{_n(plot.x)}" x2="{_n(plot.x + plot.w)}" y1="{_n(y)}" '
                         f'y2="{_n(y)}" stroke="{GRID}"/>')
            parts.append(_text(plot.x - 6, y + 4, fmt(t), anchor="end", fill=AXIS))
    x2, y1 = (plot.x, plot.y) if horizontal else (plot.x + plot.w, plot.y + plot.h)
    parts.append(f'<line class="chart-axis" x1="{_n(plot.x)}" x2="{_n(x2)}" y1="{_n(y1)}" '
                 f'y2="{_n(plot.y + plot.h)}" stroke="{AXIS}"/>')
    return parts


def _label_cap(width: float) -> int:
    """How many characters a category label may take beside horizontal bars (40% of the width)."""
    return max(int(width * 0.4 / CHAR_W), 4)


def _category_axis(labels: Sequence[str], plot: _Plot, *, horizontal: bool, cap: int = 10**6) -> list[str]:
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
        parts.append(f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{TEXT}">{tip}'
                     f'{escape(shown)}</text>')
    return parts


def _path(points: Sequence[tuple[float, float] | None]) -> str:
    """Path data through the points; a None lifts the pen, so a gap starts a new subpath (M)."""
    out: list[str] = []
    pen = False
    for p in points:
        if p is None:
            pen = False
            continue
        out.append(f"{'L' if pen else 'M'}{_n(p[0])} {_n(p[1])}")
        pen = True
    return " ".join(out)


def _wrap(text: str, width: int, lines: int = 2) -> list[str]:
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
