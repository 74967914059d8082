"""Accreditation instruments: loading and checking, scoring by hand, grades, prefill, YAML and XLSX files."""
from __future__ import annotations

import io
import textwrap

import pytest
from openpyxl import Workbook, load_workbook

from ils.models import LibraryType
from workflows.instruments import (
    INSTRUMENT_TYPES,
    Bilingual,
    Instrument,
    NoInstrument,
    dump_instrument,
    instrument_for,
    instrument_from_xlsx,
    instrument_to_xlsx,
    load_instrument,
    prefill,
    score,
    shipped_instruments,
)
from workflows.yamlsource import DataFileError, Problem

OPTIONS = "{a: {id: A}, b: {id: B}, c: {id: C}, d: {id: D}, e: {id: E}}"
# Two components: "koleksi" (weight 60, indicators k1 k2) and "layanan" (weight 40, indicators l1 l2 l3).
MINI = textwrap.dedent(f"""\
    code: mini
    version: "2022"
    library_types: [kelurahan, kecamatan]
    title: {{id: Instrumen kecil, en: Small instrument}}
    source: test
    option_scores: {{a: 5, b: 4, c: 3, d: 2, e: 1}}
    grades:
      - {{grade: A, min: 91, label: {{id: Baik Sekali, en: Very good}}}}
      - {{grade: B, min: 76, label: {{id: Baik, en: Good}}}}
      - {{grade: C, min: 60, label: {{id: Cukup Baik, en: Fairly good}}}}
    not_accredited: {{id: Tidak terakreditasi, en: Not accredited}}
    components:
      - code: koleksi
        title: {{id: Koleksi}}
        weight: 60
        subcomponents:
          - code: "1.1"
            title: {{id: Pengembangan}}
            indicators:
              - code: k1
                text: {{id: Judul}}
                options: {OPTIONS}
                measure:
                  figure: catalog.titles
                  bands:
                    - {{option: a, min: 2500}}
                    - {{option: b, min: 2000}}
                    - {{option: c, min: 1500}}
                    - {{option: d, min: 1000}}
                    - {{option: e, min: 0}}
              - code: k2
                text: {{id: Eksemplar per peserta didik}}
                options: {OPTIONS}
                measure:
                  figure: catalog.copies
                  per: fact.students
                  bands: [{{option: a, min: 3}}, {{option: c, min: 1}}]
      - code: layanan
        title: {{id: Layanan}}
        weight: 40
        subcomponents:
          - code: "2.1"
            title: {{id: Jam buka}}
            indicators:
              - code: l1
                text: {{id: Porsi non-fiksi}}
                options: {OPTIONS}
                measure:
                  figure: catalog.titles.recent_share
                  bands:
                    - {{option: a, min: 0.65, max: 0.75}}
                    - {{option: b, min: 0.60, max: 0.80}}
                    - {{option: e, min: 0}}
              - code: l2
                text: {{id: Kebijakan}}
                options: {OPTIONS}
              - code: l3
                text: {{id: Program kerja}}
                options: {OPTIONS}
    """)


@pytest.fixture(scope="module")
def shipped() -> list[Instrument]:
    """The shipped instruments, parsed once for the module (YAML parsing is the slow part)."""
    return shipped_instruments()


def mini(text: str = MINI) -> Instrument:
    return load_instrument(text, "mini.yaml")


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing ``fragment``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return hits[occurrence - 1]


# --- scoring ---------------------------------------------------------------------------------------

def test_score_by_hand_on_a_small_instrument() -> None:
    inst = mini()
    result = score(inst, {"k1": "a", "k2": "c", "l1": "b", "l2": "d", "l3": "e"})
    # koleksi: (5 + 3) / (5 x 2) x 60 = 48;  layanan: (4 + 2 + 1) / (5 x 3) x 40 = 18.666...
    assert [c.value for c in result.components] == [48.0, pytest.approx(18.666666666666668)]
    assert [(c.points, c.max_points) for c in result.components] == [(8.0, 10.0), (7.0, 15.0)]
    assert result.total == pytest.approx(66.66666666666667)
    assert result.display_total == 66.67
    assert result.grade.grade == "C" and result.complete and not result.predicted


def test_full_shipped_instrument_with_a_fixed_pattern(shipped: list[Instrument]) -> None:
    inst = next(i for i in shipped if i.code == "kelurahan-2022")
    # Pattern: the first indicator of each component "a", all others "e".
    answers = {}
    for comp in inst.components:
        for n, ind in enumerate(comp.indicators):
            answers[ind.code] = "a" if n == 0 else "e"
    result = score(inst, answers)
    by_code = {c.code: c for c in result.components}
    # indicators per component: 7, 5, 7, 4, 4, 4, 2, 2, 2; value = (5 + (n - 1)) / (5n) x weight
    assert [c.indicators for c in result.components] == [7, 5, 7, 4, 4, 4, 2, 2, 2]
    assert by_code["koleksi"].value == pytest.approx(11 / 35 * 15)     # 4.714...
    assert by_code["sarpras"].value == pytest.approx(3.6)              # 9 / 25 x 10
    assert by_code["pelayanan"].value == pytest.approx(11 / 35 * 20)   # 6.285...
    assert by_code["tenaga"].value == pytest.approx(6.0)               # 8 / 20 x 15
    assert by_code["penyelenggaraan"].value == pytest.approx(4.0)      # 8 / 20 x 10
    assert by_code["pengelolaan"].value == pytest.approx(6.0)          # 8 / 20 x 15
    assert [by_code[c].value for c in ("inovasi", "tgm", "iplm")] == [3.0, 3.0, 3.0]  # 6 / 10 x 5
    assert result.total == pytest.approx(39.6)  # 11 + 3.6 + 6 + 4 + 6 + 9
    assert result.grade is None and inst.label_for(result.grade).id == "Tidak terakreditasi"
    assert score(inst, {i.code: "b" for i in inst.indicators}).total == pytest.approx(80.0)
    assert score(inst, {i.code: "a" for i in inst.indicators}).grade.grade == "A"


@pytest.mark.parametrize(("total", "grade"), [
    (100, "A"), (91, "A"), (90.99, "B"), (76, "B"), (75.99, "C"), (60, "C"), (59.99, None), (0, None),
])
def test_grade_boundaries(total: float, grade: str | None) -> None:
    found = mini().grade_for(total)
    assert (found.grade if found else None) == grade


def test_a_total_of_exactly_91_is_an_a_and_incomplete_answers_score_zero() -> None:
    inst = mini(MINI.replace("weight: 60", "weight: 85").replace("weight: 40", "weight: 15"))
    # koleksi: (5 + 5) / 10 x 85 = 85; layanan: (1 + 3 + 2) / 15 x 15 = 6; total 91 exactly
    exact = score(inst, {"k1": "a", "k2": "a", "l1": "e", "l2": "c", "l3": "d"})
    assert exact.total == 91.0 and exact.grade.grade == "A" and exact.complete
    # l2 and l3 unanswered score 0: 85 + 1 / 15 x 15 = 86, a predicted B
    partial = score(inst, {"k1": "a", "k2": "a", "l1": "e"})
    assert partial.total == pytest.approx(86.0) and partial.grade.grade == "B" and partial.predicted


def test_incomplete_answers_are_counted_and_bad_answers_ignored() -> None:
    result = score(mini(), {"k1": "a", "l2": "c", "zz": "a", "l3": "x"})
    assert [(c.answered, c.indicators) for c in result.components] == [(1, 2), (1, 3)]
    assert (result.answered, result.indicators) == (2, 5)
    assert result.predicted and not result.complete
    assert result.ignored == ("l3", "zz")
    # koleksi 5 / 10 x 60 = 30; layanan 3 / 15 x 40 = 8
    assert result.total == pytest.approx(38.0)


# --- prefill ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("titles", "option"), [
    (2500, "a"), (2499, "b"), (2000, "b"), (1999, "c"), (1500, "c"), (1000, "d"), (999, "e"), (0, "e"),
])
def test_prefill_band_boundaries(titles: int, option: str) -> None:
    found = prefill(mini(), {"catalog.titles": titles})
    assert found["k1"].option == option and found["k1"].value == titles and found["k1"].figure == "catalog.titles"


def test_prefill_ratio_and_ranges_and_unknown_figures() -> None:
    inst = mini()
    found = prefill(inst, {"catalog.copies": 300, "fact.students": 100, "catalog.titles.recent_share": 0.75})
    assert (found["k2"].option, found["k2"].value, found["k2"].per) == ("a", 3.0, "fact.students")
    assert found["l1"].option == "a"
    assert set(found) == {"k2", "l1"}  # titles unknown: no suggestion
    assert prefill(inst, {"catalog.copies": 299, "fact.students": 100})["k2"].option == "c"
    # 0.5 copies per pupil falls below every band of k2 (no floor band): no suggestion
    assert "k2" not in prefill(inst, {"catalog.copies": 50, "fact.students": 100})
    assert "k2" not in prefill(inst, {"catalog.copies": 50, "fact.students": 0})
    assert "k1" not in prefill(inst, {"catalog.titles": None})
    shares = {0.6: "b", 0.65: "a", 0.75: "a", 0.76: "b", 0.8: "b", 0.81: "e", 0.1: "e"}
    assert {s: prefill(inst, {"catalog.titles.recent_share": s})["l1"].option for s in shares} == shares


# --- shipped instruments -----------------------------------------------------------------------------

def test_shipped_instruments_load_with_the_documented_weights(shipped: list[Instrument]) -> None:
    instruments = shipped
    assert len(instruments) == 12
    weights = {"2022": [("koleksi", 15), ("sarpras", 10), ("pelayanan", 20), ("tenaga", 15),
                        ("penyelenggaraan", 10), ("pengelolaan", 15), ("inovasi", 5), ("tgm", 5), ("iplm", 5)],
               "2018": [("koleksi", 20), ("sarpras", 15), ("pelayanan", 25), ("tenaga", 20),
                        ("penyelenggaraan_pengelolaan", 15), ("penguat", 5)]}
    for inst in instruments:
        assert [(c.code, c.weight) for c in inst.components] == weights[inst.version], inst.code
        assert sum(c.weight for c in inst.components) == 100
        assert "PROJECT TEMPLATE" in inst.source
        for comp in inst.components:
            assert 2 <= len(comp.indicators) <= 7, (inst.code, comp.code)
        assert any(ind.measure for ind in inst.indicators)


@pytest.mark.parametrize("version", ["2018", "2022"])
def test_every_library_type_has_exactly_one_instrument_per_version(version: str, shipped: list[Instrument]) -> None:
    instruments = shipped
    for kind in INSTRUMENT_TYPES:
        assert sum(1 for i in instruments if i.version == version and kind in i.library_types) == 1, kind
        assert kind in instrument_for(instruments, kind, version).library_types
    assert instrument_for(instruments, LibraryType.POJOK_BACA, version).library_types == ("khusus",)
    with pytest.raises(NoInstrument):
        instrument_for(instruments, "kelurahan", "2012")
    with pytest.raises(NoInstrument):
        instrument_for(instruments + instruments, "kelurahan", version)


def test_yaml_and_xlsx_round_trips_are_equal(shipped: list[Instrument]) -> None:
    formula_like = mini(MINI.replace("text: {id: Kebijakan}", "text: {id: '=1+1', en: '=HYPERLINK(\"x\")'}"))
    assert formula_like.indicator("l2").text == Bilingual("=1+1", '=HYPERLINK("x")')
    for inst in [mini(), formula_like, *shipped]:
        assert load_instrument(dump_instrument(inst), "again.yaml") == inst, inst.code
        assert instrument_from_xlsx(instrument_to_xlsx(inst), "again.xlsx") == inst, inst.code


def test_bilingual_text_falls_back_to_indonesian() -> None:
    assert Bilingual("Baik", "Good").get("en_GB") == "Good"
    assert Bilingual("Baik", "Good").get("id") == "Baik"
    assert Bilingual("Baik").get("en") == "Baik"


# --- validation: YAML --------------------------------------------------------------------------------

def problems(text: str) -> list[Problem]:
    with pytest.raises(DataFileError) as caught:
        load_instrument(text, "bad.yaml")
    return caught.value.problems


def test_yaml_errors_name_line_and_field_all_at_once() -> None:
    bad = (MINI.replace("weight: 40", "weight: 30")
           .replace("figure: catalog.titles\n", "figure: catalog.judul\n")
           .replace("{option: c, min: 1500}", "{option: c, min: 2600}")
           .replace("library_types: [kelurahan, kecamatan]", "library_types: [kelurahan, perpustakaan_desa]")
           .replace("code: l3", "code: l2")
           .replace("- {grade: C, min: 60,", "- {grade: C, min: 80,"))
    bad = bad.replace(f"text: {{id: Kebijakan}}\n            options: {OPTIONS}",
                      "text: {id: Kebijakan}\n            options: {a: {id: A}, b: {id: B}, c: {id: C}, d: {id: D}}")
    found = {(p.line, p.field): p.message for p in problems(bad)}
    expected = {
        (line_of(bad, "components:"), "components"): "the component weights add up to 90, not 100",
        (line_of(bad, "figure: catalog.judul"), "components[0].subcomponents[0].indicators[0].measure.figure"): None,
        (line_of(bad, "{option: c, min: 2600}"),
         "components[0].subcomponents[0].indicators[0].measure.bands[2].min"): None,
        (line_of(bad, "library_types:"), "library_types[1]"): None,
        (line_of(bad, "code: l2", 2), "components[1].subcomponents[0].indicators[2].code"): None,
        (line_of(bad, "grade: C"), "grades[2].min"): None,
        (line_of(bad, "options: {a: {id: A}, b: {id: B}, c: {id: C}, d: {id: D}}"),
         "components[1].subcomponents[0].indicators[1].options.e"): "this field is required",
    }
    for where, message in expected.items():
        assert where in found, (where, found)
        if message:
            assert found[where] == message
    assert len(found) == len(expected)
    assert "unknown value perpustakaan_desa" in found[(line_of(bad, "library_types:"), "library_types[1]")]


def test_yaml_errors_for_missing_and_unknown_fields() -> None:
    bad = MINI.replace("source: test\n", "sumber: test\n").replace("weight: 60", "weight: -5")
    found = {(p.line, p.field) for p in problems(bad)}
    assert (1, "source") in found                 # missing: the line of the mapping it belongs to
    assert (line_of(bad, "sumber"), "sumber") in found
    assert (line_of(bad, "weight: -5"), "components[0].weight") in found


def test_a_syntax_error_is_a_data_file_error() -> None:
    assert problems("code: [unclosed\n")[0].line == 2


# --- validation: XLSX --------------------------------------------------------------------------------

def edited_workbook(edits: dict[str, dict[str, object]], drop_sheet: str | None = None) -> bytes:
    book = load_workbook(io.BytesIO(instrument_to_xlsx(mini())))
    for sheet, cells in edits.items():
        for ref, value in cells.items():
            book[sheet][ref] = value
    if drop_sheet:
        del book[drop_sheet]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_problems(data: bytes) -> list[Problem]:
    with pytest.raises(DataFileError) as caught:
        instrument_from_xlsx(data, "bad.xlsx")
    return caught.value.problems


def test_xlsx_layout_and_errors_name_sheet_row_and_column() -> None:
    book = load_workbook(io.BytesIO(instrument_to_xlsx(mini())))
    assert book.sheetnames == ["meta", "components", "indicators"]
    assert [c.value for c in book["indicators"][1]][16:] == ["measure_figure", "measure_per", "measure_bands"]
    assert [c.value for c in book["indicators"][2]][:3] == ["1.1", "k1", "Judul"]
    assert book["indicators"]["S2"].value == "a: 2500; b: 2000; c: 1500; d: 1000; e: 0"
    assert book["indicators"]["S4"].value == "a: 0.65..0.75; b: 0.6..0.8; e: 0"
    found = xlsx_problems(edited_workbook({
        "indicators": {"Q2": "catalog.judul", "S3": "a: 2.500; c: 1; d 0", "A6": "9.9", "N4": None, "M4": None},
        "components": {"C2": "banyak"},
        "meta": {"A2": "kode"},
    }))
    assert [(p.field, p.message[:40]) for p in found] == [
        ("meta!A2", "unknown field kode"),
        ("indicators!S3", "cannot read the band a: 2.500; write ban"),
        ("indicators!S3", "cannot read the band d 0; write bands as"),
        ("indicators!A6", "unknown sub-component 9.9"),
        ("meta", "this field is required"),  # "code" is now missing
        ("components!C2", "expected a number"),
        ("indicators!Q2", "unknown value catalog.judul (expected on"),
        ("indicators!M4", "this field is required"),
    ]
    assert all(p.line == 0 for p in found)


def test_xlsx_missing_sheet_columns_and_garbage() -> None:
    # Without the sheet, each sub-component is also reported as having no indicators.
    assert [p.field for p in xlsx_problems(edited_workbook({}, drop_sheet="indicators"))] == [
        "indicators", "components!B3", "components!B5"]
    assert [(p.field, p.message) for p in xlsx_problems(edited_workbook({"components": {"C1": "bobot"}}))][0] == \
        ("components!1", "missing columns: weight")
    with pytest.raises(DataFileError, match="not a valid Excel"):
        instrument_from_xlsx(b"PK\x03\x04 not really a zip", "x.xlsx")
    empty = io.BytesIO()
    Workbook().save(empty)
    assert {p.field for p in xlsx_problems(empty.getvalue())} >= {"meta", "components", "indicators"}
