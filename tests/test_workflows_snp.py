"""SNP gap analysis: each kind of minimum by hand, unknown figures, rombel steps at their edges, file checks."""
from __future__ import annotations

import textwrap

import pytest

from workflows.instruments import INSTRUMENT_TYPES
from workflows.snp import CONFIDENCE, Gap, gap_analysis, load_standards, shipped_standards, standard_for
from workflows.yamlsource import DataFileError


@pytest.fixture(scope="module")
def standards() -> dict:
    return shipped_standards()


def gap(standards: dict, kind: str, code: str, figures: dict[str, float | None]) -> Gap:
    return next(g for g in gap_analysis(standards[kind], figures) if g.code == code)


def test_a_fixed_minimum(standards: dict) -> None:
    below = gap(standards, "kelurahan", "judul", {"catalog.titles": 999})
    assert (below.required, below.actual, below.met, below.shortfall) == (1000.0, 999.0, False, 1.0)
    assert below.confidence == "V" and "6/2017" in below.source and below.missing == ()
    met = gap(standards, "kelurahan", "judul", {"catalog.titles": 1000})
    assert (met.met, met.shortfall) == (True, 0.0)
    share = gap(standards, "kelurahan", "judul_terbaru", {"catalog.titles.recent_share": 0.09})
    assert (share.required, share.met, share.shortfall) == (0.1, False, 0.01)  # exact, not 0.010000000000000009
    assert gap(standards, "kelurahan", "judul_terbaru", {"catalog.titles.recent_share": 0.1}).met is True


def test_a_minimum_per_resident(standards: dict) -> None:
    # 0.025 titles x 180,000 residents = 4,500 titles
    short = gap(standards, "umum_kota", "judul", {"catalog.titles": 4499, "fact.population_served": 180_000})
    assert (short.required, short.met, short.shortfall) == (4500.0, False, 1.0)
    assert gap(standards, "umum_kota", "judul", {"catalog.titles": 4500, "fact.population_served": 180_000}).met
    unknown = gap(standards, "umum_kota", "judul", {"catalog.titles": 9000})
    assert (unknown.required, unknown.met, unknown.shortfall) == (None, None, None)
    assert unknown.missing == ("fact.population_served",)


@pytest.mark.parametrize(("kind", "rombel", "area"), [
    ("sekolah_sd", 1, 56), ("sekolah_sd", 6, 56), ("sekolah_sd", 7, 84), ("sekolah_sd", 12, 84),
    ("sekolah_sd", 13, 112), ("sekolah_sd", 24, 112), ("sekolah_sd", 30, 112),
    ("sekolah_sma", 2, 112), ("sekolah_sma", 6, 112), ("sekolah_sma", 7, 168), ("sekolah_sma", 12, 168),
    ("sekolah_sma", 13, 224), ("sekolah_sma", 18, 224), ("sekolah_sma", 19, 280), ("sekolah_sma", 24, 280),
])
def test_floor_area_steps_by_rombel(standards: dict, kind: str, rombel: int, area: int) -> None:
    found = gap(standards, kind, "luas", {"fact.rombel": rombel, "fact.floor_area_m2": area - 1})
    assert (found.required, found.met, found.shortfall) == (area, False, 1.0)
    assert gap(standards, kind, "luas", {"fact.rombel": rombel, "fact.floor_area_m2": area}).met is True


@pytest.mark.parametrize(("rombel", "titles"), [(6, 1000), (7, 1500), (12, 1500), (13, 2000), (18, 2000), (19, 2500)])
def test_school_collection_steps(standards: dict, rombel: int, titles: int) -> None:
    for kind in ("sekolah_sd", "sekolah_smp", "sekolah_sma"):
        assert gap(standards, kind, "judul", {"fact.rombel": rombel}).required == titles


def test_unknown_figures_name_the_facts_to_enter(standards: dict) -> None:
    gaps = gap_analysis(standards["sekolah_sd"], {})
    by_code = {g.code: g for g in gaps}
    assert all(g.met is None and g.shortfall is None for g in gaps)
    assert by_code["luas"].missing == ("fact.floor_area_m2", "fact.rombel")
    assert by_code["jam_buka"].missing == ("library.open_hours_per_day",)
    assert by_code["jam_buka"].required == 6.0  # a fixed minimum is known without any figure
    assert by_code["tenaga"].confidence == "?"


def test_every_library_type_has_a_standard(standards: dict) -> None:
    assert set(standards) == set(INSTRUMENT_TYPES)
    assert standard_for(standards, "pojok_baca") is standards["khusus"]
    assert all(r.confidence in CONFIDENCE and r.source for s in standards.values() for r in s.requirements)
    with pytest.raises(KeyError):
        standard_for(standards, "induk")


FILE = textwrap.dedent("""\
    standards:
      - library_type: kelurahan
        title: {id: SNP desa}
        source: test
        requirements:
          - code: judul
            label: {id: Judul}
            figure: catalog.titles
            min: 1000
            min_per: {figure: fact.population_served, factor: 0.025}
            source: test
            confidence: V
          - code: luas
            label: {id: Luas}
            figure: fact.luas
            min_by:
              figure: fact.rombel
              steps:
                - {upto: 12, min: 84}
                - {upto: 6, min: 56}
                - {min: 112}
            source: test
            confidence: pasti
    """)


def test_file_errors_name_line_and_field() -> None:
    with pytest.raises(DataFileError) as caught:
        load_standards(FILE, "snp.yaml")
    found = {(p.line, p.field) for p in caught.value.problems}
    assert found == {
        (6, "standards[0].requirements[0]"),                     # both min and min_per
        (15, "standards[0].requirements[1].figure"),             # unknown figure
        (20, "standards[0].requirements[1].min_by.steps[1].upto"),  # steps not ascending
        (23, "standards[0].requirements[1].confidence"),         # not V, 2nd or ?
    }


def test_a_good_file_loads() -> None:
    text = (FILE.replace("        min: 1000\n", "").replace("fact.luas", "fact.floor_area_m2")
            .replace("{upto: 6, min: 56}", "{upto: 18, min: 100}").replace("pasti", "'?'"))
    standard = load_standards(text, "snp.yaml")["kelurahan"]
    assert [r.code for r in standard.requirements] == ["judul", "luas"]
    assert standard.requirements[0].required({"fact.population_served": 1000}) == (25, ())


def test_an_empty_list_entry_is_reported_not_skipped() -> None:
    text = FILE.replace("    requirements:\n", "    requirements:\n      -\n", 1)
    with pytest.raises(DataFileError) as caught:
        load_standards(text, "snp.yaml")
    assert (6, "standards[0].requirements[0]", "this entry is empty") in {
        (p.line, p.field, p.message) for p in caught.value.problems}
