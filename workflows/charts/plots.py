"""The chart kinds: line, bar, step progress and sparkline, and the number formats their labels use."""
from __future__ import annotations

import math
from functools import partial
from typing import Sequence

from markupsafe import Markup, escape

from workflows.charts.svg import (CHAR_W, EMPTY_TEXT, GRID, MUTED, NumberFormat, PAD, PALETTE, Plot, STATE_NAMES, Series, TEXT, category_axis, chart_id, checked_values, close_svg, describe, empty_chart, frame, label_cap, num, open_svg, path_data, series_class, style_of, text_el, tooltip, top_margin, value_axis, wrap)

_SWAP = str.maketrans({",": ".", ".": ","})


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
    values = checked_values(series, len(labels))
    ids = chart_id("line", id_prefix, title, unit, labels, series)
    if not labels or not values:
        return empty_chart("line", ids, width, height, title, empty_text)
    ticks = nice_ticks(max(values), integer=all(float(v).is_integer() for v in values))
    top = top_margin(series, width, unit)
    left = PAD + max(len(fmt(t)) for t in ticks) * CHAR_W + 6
    plot = Plot(left, top, max(width - left - PAD, 1), max(height - top - 28, 1))
    parts = frame("line", ids, width, height, title, desc or describe(series, labels, fmt),
                   series, unit, lines=True)
    parts += value_axis(plot, ticks, fmt, horizontal=False)
    parts += category_axis(labels, plot, horizontal=False)
    band = plot.w / len(labels)
    for i, s in enumerate(series):
        colour, dash = style_of(s, i)
        points = [None if v is None else (plot.x + (j + 0.5) * band, plot.y + plot.h * (1 - v / ticks[-1]))
                  for j, v in enumerate(s.values)]
        parts.append(f'<g class="{series_class(s, i)}">')
        if len([p for p in points if p]) > 1:
            dasharray = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<path d="{path_data(points)}" fill="none" stroke="{colour}" stroke-width="2" '
                         f'stroke-linejoin="round"{dasharray}/>')
        for point, label, value in zip(points, labels, s.values):
            if point is not None and value is not None:
                tip = tooltip(s.name, label, value, fmt, unit)
                parts.append(f'<circle cx="{num(point[0])}" cy="{num(point[1])}" r="3.5" fill="{colour}" '
                             f'stroke="#fff" stroke-width="1"><title>{tip}</title></circle>')
        parts.append("</g>")
    return close_svg(parts)


def bar_chart(categories: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "",
              stacked: bool = False, horizontal: bool = False, width: float = 640, height: float | None = None,
              number_format: NumberFormat | None = None, decimal_comma: bool = False,
              empty_text: str = EMPTY_TEXT, id_prefix: str | None = None, desc: str | None = None) -> Markup:
    """Grouped (or stacked) bars per category; horizontal suits long names such as library names."""
    fmt = number_format or partial(format_number, decimal_comma=decimal_comma)
    values = checked_values(series, len(categories))
    ids = chart_id("bar", id_prefix, title, unit, stacked, horizontal, categories, series)
    top = top_margin(series, width, unit)
    n = len(categories)
    if height is None:  # horizontal bars grow with the number of categories instead of squeezing
        height = top + 28 + n * (24 if stacked else 10 + 14 * len(series)) if horizontal and n else 260
    if not categories or not values:
        return empty_chart("bar", ids, width, height, title, empty_text)
    sums = [sum(s.values[j] or 0 for s in series) for j in range(n)]
    maximum = max(sums) if stacked else max(values)
    ticks = nice_ticks(maximum, integer=all(float(v).is_integer() for v in values))
    if horizontal:
        left = PAD + min(max(len(c) for c in categories), label_cap(width)) * CHAR_W + 6
        right = max(PAD, len(fmt(ticks[-1])) * CHAR_W / 2 + 2)
    else:
        left, right = PAD + max(len(fmt(t)) for t in ticks) * CHAR_W + 6, PAD
    plot = Plot(left, top, max(width - left - right, 1), max(height - top - 28, 1))
    parts = frame("bar", ids, width, height, title, desc or describe(series, categories, fmt),
                   series, unit, lines=False)
    parts += value_axis(plot, ticks, fmt, horizontal=horizontal)
    band = (plot.h if horizontal else plot.w) / n
    length = plot.w if horizontal else plot.h
    thick = band * (0.6 if stacked else 0.8 / len(series))
    for i, s in enumerate(series):
        colour, _ = style_of(s, i)
        parts.append(f'<g class="{series_class(s, i)}" fill="{colour}">')
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
            parts.append(f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" stroke="#fff" '
                         f'stroke-width="0.5"><title>{tooltip(s.name, categories[j], value, fmt, unit)}</title></rect>')
        parts.append("</g>")
    parts += category_axis(categories, plot, horizontal=horizontal, cap=label_cap(width))
    return close_svg(parts)


def progress_bar(steps: Sequence[str], current: int, *, title: str, width: float = 640, height: float = 80,
                 state_names: Sequence[str] = STATE_NAMES, empty_text: str = EMPTY_TEXT,
                 id_prefix: str | None = None) -> Markup:
    """A step indicator: steps before `current` done, `current` in progress, the rest to do."""
    if not 0 <= current <= len(steps):
        raise ValueError(f"current must lie between 0 and {len(steps)} (all done), got {current}")
    if len(state_names) != 3:
        raise ValueError("state_names needs three names: done, current, to do")
    ids = chart_id("progress", id_prefix, title, steps, current)
    if not steps:
        return empty_chart("progress", ids, width, height, title, empty_text)
    states = ["done" if i < current else "current" if i == current else "todo" for i in range(len(steps))]
    named = dict(zip(("done", "current", "todo"), state_names))
    captions = [f"{i + 1}. {step}: {named[state]}" for i, (step, state) in enumerate(zip(steps, states))]
    parts = open_svg("progress", ids, width, height, title, "; ".join(captions))
    slot, cy = width / len(steps), 24.0
    for i in range(len(steps) - 1):  # the connector is coloured once the step it leads to is reached
        colour = PALETTE[2] if i + 1 <= current else GRID
        parts.append(f'<line x1="{num((i + 0.5) * slot + 12)}" x2="{num((i + 1.5) * slot - 12)}" y1="{num(cy)}" '
                     f'y2="{num(cy)}" stroke="{colour}" stroke-width="3"/>')
    for i, (step, state) in enumerate(zip(steps, states)):
        cx = (i + 0.5) * slot
        parts.append(f'<g class="step step-{state}"><title>{escape(captions[i])}</title>')
        if state == "done":  # a tick, not colour alone, says "done"
            parts.append(f'<circle cx="{num(cx)}" cy="{num(cy)}" r="10" fill="{PALETTE[2]}"/>'
                         f'<path d="M{num(cx - 5)} {num(cy)} l3.5 3.5 l6.5 -7" fill="none" stroke="#fff" '
                         f'stroke-width="2.5"/>')
        elif state == "current":
            parts.append(f'<circle cx="{num(cx)}" cy="{num(cy)}" r="12" fill="{PALETTE[0]}" stroke="{TEXT}" '
                         f'stroke-width="1.5"/>' + text_el(cx, cy + 4, str(i + 1), anchor="middle", fill="#fff"))
        else:
            parts.append(f'<circle cx="{num(cx)}" cy="{num(cy)}" r="10" fill="#fff" stroke="{MUTED}" '
                         f'stroke-width="1.5"/>' + text_el(cx, cy + 4, str(i + 1), anchor="middle", fill=MUTED))
        lines = wrap(step, max(int(slot / CHAR_W) - 1, 4))
        weight = ' font-weight="bold"' if state == "current" else ""
        spans = "".join(f'<tspan x="{num(cx)}" dy="{0 if k == 0 else 14}">{escape(line)}</tspan>'
                        for k, line in enumerate(lines))
        parts.append(f'<text x="{num(cx)}" y="{num(cy + 30)}" text-anchor="middle" fill="{TEXT}"{weight}>'
                     f'{spans}</text></g>')
    return close_svg(parts)


def sparkline(values: Sequence[float | None], *, title: str, width: float = 100, height: float = 24,
              number_format: NumberFormat | None = None, decimal_comma: bool = False,
              empty_text: str = EMPTY_TEXT, id_prefix: str | None = None) -> Markup:
    """A small line for a table cell, scaled from its own minimum to maximum; None leaves a gap."""
    fmt = number_format or partial(format_number, decimal_comma=decimal_comma)
    present = [v for v in values if v is not None]
    ids = chart_id("spark", id_prefix, title, tuple(values))
    if not present:
        return empty_chart("spark", ids, width, height, title, empty_text, size=9)
    desc = ", ".join("–" if v is None else fmt(v) for v in values)
    lo, hi, pad = min(present), max(present), 3.0
    step = (width - 2 * pad) / (len(values) - 1) if len(values) > 1 else 0.0

    def point(j: int, v: float) -> tuple[float, float]:
        x = pad + j * step if len(values) > 1 else width / 2
        share = (v - lo) / (hi - lo) if hi > lo else 0.5  # a flat series sits mid-height
        return x, pad + (height - 2 * pad) * (1 - share)

    points = [None if v is None else point(j, v) for j, v in enumerate(values)]
    last = next(p for p in reversed(points) if p is not None)
    parts = open_svg("spark", ids, width, height, title, desc)
    parts.append(f'<path d="{path_data(points)}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" '
                 f'stroke-linejoin="round"/>')
    parts.append(f'<circle cx="{num(last[0])}" cy="{num(last[1])}" r="2" fill="{PALETTE[0]}"/>')
    return close_svg(parts)
