"""Server-drawn SVG charts for the DPK dashboard: line, bar, step progress and sparklines.

Pure functions from plain values to Markup: no JavaScript and no CDN, so charts work without scripts,
print, and pass the app's CSP (presentation attributes only, no inline style). Colours are the
Okabe-Ito palette, which stays distinguishable with the common colour-vision deficiencies, and lines
also differ by dash pattern so a greyscale print still reads. Words a reader sees (empty_text,
state_names) are parameters: the view passes translations, this module holds no msgids.

``svg`` holds the shared drawing pieces (palette, sizes, ``Series``, escaped text, frames, axes) and
``plots`` the chart kinds; the public names are imported here.
"""
from workflows.charts.plots import bar_chart, format_number, line_chart, nice_ticks, progress_bar, sparkline
from workflows.charts.svg import DASHES, EMPTY_TEXT, PALETTE, STATE_NAMES, SVG_NS, Series

__all__ = ["DASHES", "EMPTY_TEXT", "PALETTE", "STATE_NAMES", "SVG_NS", "Series", "bar_chart", "format_number",
           "line_chart", "nice_ticks", "progress_bar", "sparkline"]
