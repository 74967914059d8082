"""IPLM: the Sukoharjo 2022 example, elements by hand, missing data with a reason, band edges, settings files."""
from __future__ import annotations

import textwrap

import pytest

from workflows.iplm import IplmSettings, band, elements, index, load_iplm, settings_for, shipped_iplm
from workflows.yamlsource import DataFileError


@pytest.fixture(scope="module")
def shipped() -> IplmSettings:
    return settings_for(shipped_iplm(), 2022)


def test_sukoharjo_2022_is_reproduced(shipped: IplmSettings) -> None:
    values = [0.002825, 2.269653, 0.003088, 0.015690, 2.036810, 0.027581, 0.673794]
    value = index(dict(enumerate(values, start=1)))
    # (sum 5.029441) / 7 x 100 = 71.849157...
    assert value == pytest.approx(71.84915714, abs=1e-8)
    assert round(value, 2) == 71.85
    assert band(value, shipped).code == "sedang"
    assert band(value, shipped).label.id == "Sedang"


def test_the_shipped_settings_use_residents_and_k_one(shipped: IplmSettings) -> None:
    assert [e.number for e in shipped.elements] == [1, 2, 3, 4, 5, 6, 7]
    assert {e.k for e in shipped.elements} == {1}
    assert {e.denominator for e in shipped.elements} == {("residents",)}
    assert [e.numerator for e in shipped.elements] == [
        "iplm.libraries", "iplm.collection_copies", "iplm.staff", "iplm.daily_visits", "iplm.libraries_snp",
        "iplm.participants", "iplm.members"]
    # a later year without its own entry uses the latest earlier one
    assert settings_for(shipped_iplm(), 2026) == shipped
    with pytest.raises(LookupError):
        settings_for(shipped_iplm(), 2021)


SETTINGS = textwrap.dedent("""\
    years:
      - year: 2024
        source: test
        elements:
          - {number: 1, name: {id: Satu}, numerator: iplm.libraries, k: 2, denominator: [pupils, students]}
          - {number: 2, name: {id: Dua}, numerator: iplm.collection_copies}
          - {number: 3, name: {id: Tiga}, numerator: iplm.staff, denominator: employees}
          - {number: 4, name: {id: Empat}, numerator: iplm.daily_visits, k: 0.5}
          - {number: 5, name: {id: Lima}, numerator: iplm.libraries_snp}
          - {number: 6, name: {id: Enam}, numerator: iplm.participants}
          - {number: 7, name: {id: Tujuh}, numerator: iplm.members}
        bands:
          - {code: tinggi, min: 80, label: {id: Tinggi}}
          - {code: rendah, min: 0, label: {id: Rendah}}
    """)


def test_elements_by_hand() -> None:
    settings = load_iplm(SETTINGS, "iplm.yaml")[2024]
    population = {"residents": 1000, "pupils": 100, "students": 50, "employees": None}
    found = elements({1: 30, 2: 2500, 3: 4, 4: 20, 5: 0, 6: 50, 7: None}, population, settings)
    # 1: 30 / (100 + 50) / 2 = 0.1;  2: 2500 / 1000 = 2.5;  4: 20 / 1000 / 0.5 = 0.04;  5: 0 / 1000 = 0
    assert found[1].value == pytest.approx(0.1) and (found[1].denominator, found[1].k) == (150.0, 2)
    assert found[2].value == 2.5 and found[2].k == 1
    assert found[4].value == pytest.approx(0.04)
    assert found[5].value == 0.0 and found[5].why_missing is None
    assert found[6].value == pytest.approx(0.05)
    # 3: employees unknown; 7: members unknown
    assert found[3].value is None and found[3].why_missing == "the number of employees is not known"
    assert found[7].value is None and found[7].why_missing == "Library members (the numerator) is not known"


def test_missing_and_zero_population_give_a_reason(shipped: IplmSettings) -> None:
    numerators = dict.fromkeys(range(1, 8), 10.0)
    none = elements(numerators, {}, shipped)
    assert {e.why_missing for e in none.values()} == {"the number of residents is not known"}
    assert all(e.value is None and e.denominator is None for e in none.values())
    zero = elements(numerators, {"residents": 0}, shipped)
    assert {e.why_missing for e in zero.values()} == {"the number of residents is zero"}


def test_index_needs_all_seven() -> None:
    assert index(dict.fromkeys(range(1, 8), 0.5)) == pytest.approx(50.0)
    with pytest.raises(ValueError, match=r"missing: \[7\]"):
        index(dict.fromkeys(range(1, 7), 0.5))
    with pytest.raises(ValueError, match=r"missing: \[2\]"):
        index({**dict.fromkeys(range(1, 8), 0.5), 2: None})


@pytest.mark.parametrize(("value", "code"), [
    (0, "sangat_rendah"), (29.9, "sangat_rendah"), (29.99, "sangat_rendah"), (30, "rendah"), (49.9, "rendah"),
    (50, "sedang"), (79.9, "sedang"), (80, "tinggi"), (89.9, "tinggi"), (90, "sangat_tinggi"),
    (100, "sangat_tinggi"), (140, "sangat_tinggi"),
])
def test_band_edges(shipped: IplmSettings, value: float, code: str) -> None:
    assert band(value, shipped).code == code


def test_file_errors_name_line_and_field() -> None:
    bad = (SETTINGS.replace("numerator: iplm.members}", "numerator: iplm.anggota}")
           .replace("k: 0.5}", "k: 0}")
           .replace("denominator: employees}", "denominator: pegawai}")
           .replace("{code: rendah, min: 0,", "{code: rendah, min: 90,"))
    with pytest.raises(DataFileError) as caught:
        load_iplm(bad, "iplm.yaml")
    assert {(p.line, p.field) for p in caught.value.problems} == {
        (7, "years[0].elements[2].denominator[0]"),
        (8, "years[0].elements[3].k"),
        (11, "years[0].elements[6].numerator"),
        (14, "years[0].bands[1].min"),
    }
    six = SETTINGS.replace("      - {number: 7, name: {id: Tujuh}, numerator: iplm.members}\n", "")
    with pytest.raises(DataFileError, match=r"iplm.yaml:4: years\[0\].elements: each element 1 to 7"):
        load_iplm(six, "iplm.yaml")
