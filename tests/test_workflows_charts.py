"""Server-drawn SVG charts: well-formed SVG, values at hand-computed coordinates, safe and stable output."""
from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import pytest
from babel.numbers import format_decimal
from markupsafe import Markup

from workflows.charts import (DASHES, PALETTE, SVG_NS, Series, bar_chart, format_number, line_chart, nice_ticks,
                              progress_bar, sparkline)

NS = {"s": SVG_NS}
REPO = Path(__file__).resolve().parent.parent
HOSTILE = '<script>alert("x")</script>'


def parse(markup: Markup) -> ET.Element:
    """The chart as an element tree; fails unless it is well-formed SVG in the SVG namespace."""
    assert isinstance(markup, Markup)
    root = ET.fromstring(str(markup))
    assert root.tag == f"{{{SVG_NS}}}svg"
    return root


def plot_area(root: ET.Element) -> tuple[float, float, float, float]:
    """x, y, width, height of the plotting rectangle."""
    rect = root.find(".//s:rect[@class='chart-plot']", NS)
    assert rect is not None
    return tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def circles(root: ET.Element) -> list[tuple[float, float, str]]:
    """(cx, cy, tooltip) of every data point."""
    return [(float(c.get("cx")), float(c.get("cy")), c.findtext("s:title", namespaces=NS))
            for c in root.iterfind(".//s:g/s:circle", NS)]


def bars(root: ET.Element) -> list[tuple[float, float, float, float, str]]:
    """(x, y, width, height, tooltip) of every bar."""
    return [(*(float(r.get(k)) for k in ("x", "y", "width", "height")), r.findtext("s:title", namespaces=NS))
            for r in root.iterfind(".//s:g/s:rect", NS)]


def texts(root: ET.Element) -> list[str]:
    """All text content of <text> elements, in order."""
    return ["".join(t.itertext()) for t in root.iterfind(".//s:text", NS)]


@pytest.mark.parametrize(("maximum", "integer", "expected"), [
    (7, True, [0, 2, 4, 6, 8]),
    (1234, True, [0, 500, 1000, 1500]),
    (0, True, [0, 1]),
    (0, False, [0, 1]),
    (1, True, [0, 1]),
    (0.7, True, [0, 1]),                   # counts never get a tick at 0.5
    (100, True, [0, 20, 40, 60, 80, 100]),
    (12, True, [0, 5, 10, 15]),
    (0.3, False, [0, 0.1, 0.2, 0.3]),      # no float noise such as 0.30000000000000004
    (2.5, False, [0, 0.5, 1, 1.5, 2, 2.5]),
    (48_000, True, [0, 10_000, 20_000, 30_000, 40_000, 50_000]),
])
def test_nice_ticks(maximum: float, integer: bool, expected: list[float]) -> None:
    assert nice_ticks(maximum, integer=integer) == expected


@pytest.mark.parametrize(("value", "comma", "expected"), [
    (1234.5, False, "1,234.5"), (1234.5, True, "1.234,5"), (1234, True, "1.234"), (1_000_000, False, "1,000,000"),
    (0.25, True, "0,25"), (2.0, False, "2"), (-0.001, False, "0"), (3.14159, False, "3.14"),
])
def test_format_number(value: float, comma: bool, expected: str) -> None:
    assert format_number(value, decimal_comma=comma) == expected


def test_line_points_sit_at_hand_computed_coordinates() -> None:
    root = parse(line_chart([Series("Kunjungan", [0, 7, None, 3])], ["Jan", "Feb", "Mar", "Apr"], title="Visits"))
    # Layout: title 22 + one legend row 18 + 14 = 54 above the plot; ticks 0..8 are one character wide,
    # so the left margin is 10 + 7.2 + 6 = 23.2; 28 below for the labels; 10 on the right.
    assert plot_area(root) == (23.2, 54, 606.8, 178)
    # Four bands of 151.7; a point sits mid-band, value v at 54 + 178 * (1 - v / 8).
    assert circles(root) == [(99.05, 232, "Kunjungan, Jan: 0"), (250.75, 76.25, "Kunjungan, Feb: 7"),
                             (554.15, 165.25, "Kunjungan, Apr: 3")]
    assert texts(root)[-4:] == ["Jan", "Feb", "Mar", "Apr"]
    assert [t for t in texts(root) if t.isdigit()] == ["0", "2", "4", "6", "8"]


def test_line_point_y_follows_the_axis_read_from_the_output() -> None:
    root = parse(line_chart([Series("a", [30, 45])], ["x", "y"], title="t", unit="%", height=300))
    x, y, w, h = plot_area(root)
    (_, cy30, tip30), (_, cy45, _) = circles(root)
    # 45 -> ticks 0,10,...,50: 30 is 3/5 up the plot, 45 is 9/10 up.
    assert cy30 == pytest.approx(y + h * 2 / 5, abs=0.01)
    assert cy45 == pytest.approx(y + h / 10, abs=0.01)
    assert tip30 == "a, x: 30%"
    other = parse(line_chart([Series("a", [3])], ["x"], title="t", unit="orang"))
    assert circles(other)[0][2] == "a, x: 3 orang"
    assert "%" in texts(root)


def test_none_values_break_the_line() -> None:
    root = parse(line_chart([Series("a", [1, 2, None, 3, 4]), Series("b", [1, None, 2, None, 3])],
                            list("vwxyz"), title="t"))
    first, second = (p.get("d") for p in root.iterfind(".//s:path", NS))
    assert (first.count("M"), first.count("L")) == (2, 2)
    assert (second.count("M"), second.count("L")) == (3, 0)
    assert len(circles(root)) == 4 + 3


def test_series_colours_and_dashes() -> None:
    root = parse(line_chart([Series("a", [1, 2]), Series("b", [2, 1]), Series("c", [1, 1], colour=3, css_class="goal")],
                            ["x", "y"], title="t"))
    paths = list(root.iterfind(".//s:g/s:path", NS))
    assert [p.get("stroke") for p in paths] == [PALETTE[0], PALETTE[1], PALETTE[3]]
    assert [p.get("stroke-dasharray") for p in paths] == [None, DASHES[1], DASHES[3]]
    assert [g.get("class") for g in root.iterfind("s:g", NS)] == ["series series-0", "series series-1",
                                                                 "series series-2 goal"]


def test_month_labels_are_thinned_only_when_they_would_overlap() -> None:
    months = [f"Mon 2026-{m:02}" for m in range(1, 13)]
    series = [Series("a", [float(m * 150) for m in range(1, 13)])]
    # Max 1800 -> ticks to 2,000: left margin 10 + 5 * 7.2 + 6 = 52, bands (640 - 62) / 12 = 48.2 wide,
    # a 12-character label needs 12 * 7.2 + 8 = 94.4: every second label fits; at 1280 wide every label.
    narrow = texts(parse(line_chart(series, months, title="t")))
    assert [t for t in narrow if t.startswith("Mon")] == months[::2]
    wide = texts(parse(line_chart(series, months, title="t", width=1280)))
    assert [t for t in wide if t.startswith("Mon")] == months


def test_bar_of_half_the_axis_is_half_the_plot_height() -> None:
    root = parse(bar_chart(["A", "B"], [Series("2026", [50, 100])], title="t"))
    x, y, w, h = plot_area(root)
    (ax, ay, aw, ah, tip), (bx, by, bw, bh, _) = bars(root)
    assert ah == pytest.approx(h / 2, abs=0.01) and ay == pytest.approx(y + h / 2, abs=0.01)
    assert bh == pytest.approx(h, abs=0.01) and by == pytest.approx(y, abs=0.01)
    # One series: a bar fills 80% of its band, starting 10% in.
    assert (ax, aw) == (pytest.approx(x + w / 2 * 0.1, abs=0.01), pytest.approx(w / 2 * 0.8, abs=0.01))
    assert bx == pytest.approx(x + w / 2 * 1.1, abs=0.01)
    assert tip == "2026, A: 50"


def test_grouped_bars_sit_side_by_side() -> None:
    root = parse(bar_chart(["A"], [Series("2025", [40]), Series("2026", [None]), Series("2027", [20])], title="t"))
    x, _, w, h = plot_area(root)
    (x1, _, w1, h1, _), (x3, _, w3, h3, _) = bars(root)  # the None draws no bar
    third = w * 0.8 / 3
    assert (x1, w1, h1) == (pytest.approx(x + w * 0.1, abs=0.01), pytest.approx(third, abs=0.01),
                            pytest.approx(h, abs=0.01))
    assert (x3, w3, h3) == (pytest.approx(x + w * 0.1 + 2 * third, abs=0.01), pytest.approx(third, abs=0.01),
                            pytest.approx(h / 2, abs=0.01))


def test_horizontal_bars_grow_along_x() -> None:
    root = parse(bar_chart(["Perpustakaan Daerah", "TBM"], [Series("n", [50, 100])], title="t", horizontal=True))
    x, y, w, h = plot_area(root)
    (ax, ay, aw, ah, _), (bx, by, bw, _, _) = bars(root)
    assert (ax, aw, bx, bw) == (x, pytest.approx(w / 2, abs=0.01), x, pytest.approx(w, abs=0.01))
    assert ay == pytest.approx(y + h / 2 * 0.1, abs=0.01) and by > ay
    assert texts(root)[-2:] == ["Perpustakaan Daerah", "TBM"]


def test_stacked_bars_add_up() -> None:
    series = [Series("A", [1, 2]), Series("B", [3, 0]), Series("C", [4, None])]
    root = parse(bar_chart(["Persiapan", "Visitasi"], series, title="t", stacked=True))
    x, y, w, h = plot_area(root)
    found = bars(root)
    assert [tip for *_, tip in found] == ["A, Persiapan: 1", "A, Visitasi: 2", "B, Persiapan: 3", "C, Persiapan: 4"]
    first = [b for b in found if "Persiapan" in b[4]]
    # Sums 8 and 2 -> ticks 0..8: the first stack fills the plot, 1/8 + 3/8 + 4/8 of it, segments touching.
    assert [b[3] for b in first] == [pytest.approx(h * k / 8, abs=0.01) for k in (1, 3, 4)]
    assert first[0][1] + first[0][3] == pytest.approx(y + h, abs=0.01)
    assert first[1][1] + first[1][3] == pytest.approx(first[0][1], abs=0.01)
    assert first[2][1] == pytest.approx(y, abs=0.01)
    assert [b[0] for b in first] == [pytest.approx(x + w / 2 * 0.2, abs=0.01)] * 3
    assert [t for t in texts(root) if t.isdigit()] == ["0", "2", "4", "6", "8"]


def test_long_category_labels_are_cut_with_the_full_text_as_tooltip() -> None:
    long = "Perpustakaan " * 10
    root = parse(bar_chart([long, "TBM"], [Series("n", [1, 2])], title="t", horizontal=True, width=400))
    label = [t for t in root.iterfind(".//s:text", NS) if t.find("s:title", NS) is not None]
    assert len(label) == 1
    tip = label[0].find("s:title", NS)
    # 40% of 400 px at 7.2 px a character: 22 characters, the last one an ellipsis.
    assert (tip.text, tip.tail) == (long, long[:21] + "…")


def test_progress_bar_states() -> None:
    steps = ["Pengajuan", "Isi instrumen", "Verifikasi", "Visitasi", "Penetapan"]
    root = parse(progress_bar(steps, 2, title="Akreditasi", state_names=("selesai", "sedang", "belum")))
    groups = list(root.iterfind("s:g", NS))
    assert [g.get("class") for g in groups] == ["step step-done"] * 2 + ["step step-current"] + ["step step-todo"] * 2
    assert groups[2].findtext("s:title", namespaces=NS) == "3. Verifikasi: sedang"
    assert root.findtext("s:desc", namespaces=NS).startswith("1. Pengajuan: selesai; 2. Isi instrumen: selesai;")
    # Connectors: the two leading to reached steps are coloured, the rest grey.
    assert [line.get("stroke") for line in root.iterfind("s:line", NS)] == [PALETTE[2]] * 2 + ["#ddd"] * 2
    finished = parse(progress_bar(steps, 5, title="t"))
    assert {g.get("class") for g in finished.iterfind("s:g", NS)} == {"step step-done"}
    with pytest.raises(ValueError):
        progress_bar(steps, 6, title="t")
    with pytest.raises(ValueError):
        progress_bar(steps, -1, title="t")


def test_sparkline_coordinates() -> None:
    root = parse(sparkline([2, 4, None, 6], title="Trend"))
    # 100 x 24 with 3 px padding: x steps of 94 / 3; 2..6 maps to y 21..3.
    assert root.find("s:path", NS).get("d") == "M3 21 L34.33 12 M97 3"
    last = root.find("s:circle", NS)
    assert (last.get("cx"), last.get("cy")) == ("97", "3")
    assert root.findtext("s:desc", namespaces=NS) == "2, 4, –, 6"
    flat = parse(sparkline([5, 5, 5], title="t", width=50, height=20))
    assert flat.find("s:path", NS).get("d") == "M3 10 L25 10 L47 10"


ALL_CHARTS: dict[str, Callable[..., Markup]] = {
    "line": lambda text, **kw: line_chart([Series(text, [1, 2])], [text, "b"], title=text, unit=text, **kw),
    "bar": lambda text, **kw: bar_chart([text, "b"], [Series(text, [1, 2], css_class=text)], title=text, **kw),
    "hbar": lambda text, **kw: bar_chart([text], [Series(text, [1])], title=text, horizontal=True, **kw),
    "stack": lambda text, **kw: bar_chart([text], [Series(text, [1])], title=text, stacked=True, **kw),
    "progress": lambda text, **kw: progress_bar([text, "b"], 1, title=text, **kw),
    "spark": lambda text, **kw: sparkline([1, 3], title=text, **kw),
}


@pytest.mark.parametrize("kind", ALL_CHARTS)
def test_every_chart_is_an_image_labelled_by_its_title_and_desc(kind: str) -> None:
    root = parse(ALL_CHARTS[kind]("Kunjungan", id_prefix="dash-1"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "dash-1-title dash-1-desc"
    assert root.find("s:title", NS).get("id") == "dash-1-title"
    assert root.find("s:title", NS).text == "Kunjungan"
    assert root.find("s:desc", NS).get("id") == "dash-1-desc"
    assert root.findtext("s:desc", namespaces=NS)


@pytest.mark.parametrize("kind", ALL_CHARTS)
def test_hostile_text_comes_out_inert(kind: str) -> None:
    hostile = HOSTILE + '" onload="alert(1)'
    markup = ALL_CHARTS[kind](hostile)
    root = parse(markup)
    assert "<script" not in markup
    assert not [el for el in root.iter() if el.tag.endswith("script") or "onload" in el.attrib]
    assert hostile in root.findtext("s:title", namespaces=NS)


def test_ids_follow_the_prefix_and_do_not_clash() -> None:
    def ids(markup: Markup) -> set[str]:
        return {el.get("id") for el in parse(markup).iter() if el.get("id")}

    data = ([Series("a", [1, 2])], ["x", "y"])
    visits, loans = ids(line_chart(*data, title="t", id_prefix="visits")), ids(line_chart(*data, title="t",
                                                                                         id_prefix="loans"))
    assert visits == {"visits-title", "visits-desc"} and loans == {"loans-title", "loans-desc"}
    assert ids(line_chart(*data, title="t", id_prefix="2026 visits")) == {"c-2026-visits-title", "c-2026-visits-desc"}
    # Without a prefix the ids come from the input: the same chart keeps its ids, another chart differs.
    hashed = ids(line_chart(*data, title="t"))
    assert hashed == ids(line_chart(*data, title="t"))
    assert hashed.isdisjoint(ids(line_chart(*data, title="other")))
    assert all(re.fullmatch(r"line-[0-9a-f]{10}-(title|desc)", i) for i in hashed)


def test_output_is_deterministic_across_processes() -> None:
    # str hashes differ between processes (PYTHONHASHSEED), so this catches ids built with hash().
    script = ("from workflows.charts import Series, line_chart, bar_chart;"
              "print(line_chart([Series('a', [1, None, 2.5])], ['x', 'y', 'z'], title='t')"
              " + bar_chart(['x'], [Series('a', [3]), Series('b', [4])], title='t', stacked=True))")
    outputs = {subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1
    assert outputs.pop().strip() == str(line_chart([Series("a", [1, None, 2.5])], ["x", "y", "z"], title="t")
                                        + bar_chart(["x"], [Series("a", [3]), Series("b", [4])], title="t",
                                                    stacked=True))


@pytest.mark.parametrize("markup", [
    line_chart([], [], title="t", empty_text="Tidak ada data"),
    line_chart([Series("a", [None, None])], ["x", "y"], title="t", empty_text="Tidak ada data"),
    bar_chart([], [Series("a", [])], title="t", empty_text="Tidak ada data"),
    bar_chart(["x"], [], title="t", empty_text="Tidak ada data"),
    progress_bar([], 0, title="t", empty_text="Tidak ada data"),
    sparkline([None, None], title="t", empty_text="Tidak ada data"),
])
def test_empty_data_says_so(markup: Markup) -> None:
    root = parse(markup)
    assert "chart-empty" in root.get("class")
    assert texts(root) == ["Tidak ada data"]
    assert float(root.get("height")) <= 60
    assert root.find(".//s:path", NS) is None and root.find(".//s:rect", NS) is None


def test_empty_text_defaults_to_english() -> None:
    assert texts(parse(sparkline([], title="t"))) == ["No data"]


def test_all_zero_values_still_draw_an_axis() -> None:
    root = parse(bar_chart(["x", "y"], [Series("a", [0, 0])], title="t"))
    assert "chart-empty" not in root.get("class")
    assert [t for t in texts(root) if t.isdigit()] == ["0", "1"]
    assert bars(root) == []


def test_indonesian_numbers_through_the_callable() -> None:
    def indonesian(value: float) -> str:
        return format_decimal(value, locale="id")

    root = parse(line_chart([Series("Kunjungan", [1100, 1234.5, 1234])], ["Jan 2026", "Feb 2026", "Mar 2026"],
                            title="t", number_format=indonesian))
    assert [t for t in texts(root) if t[:1].isdigit() and " " not in t] == ["0", "500", "1.000", "1.500"]
    assert [tip for *_, tip in circles(root)] == ["Kunjungan, Jan 2026: 1.100", "Kunjungan, Feb 2026: 1.234,5",
                                                  "Kunjungan, Mar 2026: 1.234"]
    assert "Kunjungan: Jan 2026 1.100, Feb 2026 1.234,5" in root.findtext("s:desc", namespaces=NS)
    plain = parse(line_chart([Series("K", [1234.5])], ["Mar"], title="t", decimal_comma=True))
    assert circles(plain)[0][2] == "K, Mar: 1.234,5"


@pytest.mark.parametrize("call", [
    lambda: line_chart([Series("a", [1, 2, 3])], ["x", "y"], title="t"),
    lambda: bar_chart(["x"], [Series("a", [-1])], title="t"),
    lambda: line_chart([Series("a", [float("nan")])], ["x"], title="t"),
    lambda: progress_bar(["a"], 0, title="t", state_names=("done", "current")),
])
def test_bad_input_is_refused(call: Callable[[], Markup]) -> None:
    with pytest.raises(ValueError):
        call()


def test_series_is_frozen_and_keeps_a_tuple() -> None:
    values = [1.0, None]
    series = Series("a", values)
    values.append(3.0)
    assert series.values == (1.0, None)
    with pytest.raises(AttributeError):
        series.name = "b"  # type: ignore[misc]
