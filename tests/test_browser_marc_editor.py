"""Browser test of the MARC editor grid (ils/static/marc-editor.js) in Debian's chromium.

A cataloguer makes a record with the quick form, opens the MARC editor, edits 245 $a in the grid,
adds a 500 note with the keyboard (Ctrl+Enter, typing, Tab) and saves; the record page shows both.
The grid's reading and writing of the editor's text is checked to be lossless on the text the
server itself writes (bib.to_mnemonic) for tricky made-up records and for the real records in
../shared/data/marc. Console errors and page errors (CSP violations included) fail the tests.

Uses the server and browser fixtures of tests/test_browser.py, so it skips (or, with
ILS_REQUIRE_BROWSER=1, fails) exactly where that test does.
"""
from __future__ import annotations

import re
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from catalog import bib, marc
from catalog.build import QuickEntry, build
from tests.test_browser import DESKTOP, PHONE, _login, _shot, _watch, browser, live_server  # noqa: F401

pytestmark = pytest.mark.slow

MARC_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "marc"
REAL_RECORDS_PER_FILE = 15
REAL_RECORDS_MAX = 400


def _new_record(page: Any, base: str, title: str) -> str:
    """Catalogue a book through the quick form; returns the record page's URL."""
    page.goto(base + "/catalog/records/new")
    page.fill("#title", title)
    page.fill("#authors", "Toer, Pramoedya Ananta")
    page.fill("#publisher", "Hasta Mitra")
    page.fill("#place", "Jakarta")
    page.fill("#year", "1980")
    page.click("main form button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r"/catalog/records/\d+$"), timeout=10_000)
    return str(page.url)


def _row(page: Any, tag: str) -> Any:
    return page.locator(f"#marc-grid tr.marc-row[data-tag='{tag}']")


def _focused_classes(page: Any) -> str:
    return str(page.evaluate("document.activeElement.className"))


def test_grid_edit_title_and_add_note(browser: Any, live_server: str) -> None:  # noqa: F811
    """Quick form -> MARC editor grid: change 245 $a, add 500 by keyboard, save, see both."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        problems = _watch(page)
        _login(page, live_server, "pukb.katalog")
        record_url = _new_record(page, live_server, "Bumi manusia")
        page.goto(record_url + "/marc")

        # The grid replaced the textarea and shows the record, 245 included.
        expect(page.locator("#marc-grid table")).to_be_visible()
        expect(page.locator("#marc")).to_be_hidden()
        row245 = _row(page, "245")
        expect(row245).to_have_count(1)
        assert page.evaluate("MarcEditor.gridText() === document.getElementById('marc').value")
        assert page.locator("#marc-grid tr.marc-row[data-tag='LDR'] .marc-data").input_value().count("\\") == 0
        _shot(page, "katalog-marc-grid")

        codes = row245.locator(".marc-code")
        index = [codes.nth(i).input_value() for i in range(codes.count())].index("a")
        title_a = row245.locator(".marc-value").nth(index)
        old = title_a.input_value()
        assert "Bumi manusia" in old
        title_a.fill(old.replace("Bumi manusia", "Anak semua bangsa"))

        # Ctrl+Enter adds an empty data field after 245 and puts the cursor in its tag.
        title_a.press("Control+Enter")
        assert "marc-tag" in _focused_classes(page)
        page.keyboard.type("500")
        for expected in ("marc-ind1", "marc-ind2", "marc-code", "marc-value"):
            page.keyboard.press("Tab")
            assert expected in _focused_classes(page), expected
        page.keyboard.type("Catatan dari uji grid {dengan} $ tanda.")
        rows = page.eval_on_selector_all("#marc-grid tr.marc-row", "rows => rows.map(r => r.dataset.tag)")
        assert rows[rows.index("245") + 1] == "500"
        assert page.locator("#marc-grid .is-invalid").count() == 0
        page.fill("#note", "uji grid")
        _shot(page, "katalog-marc-grid-edited")
        page.click("#marc-form button[type=submit]")
        page.wait_for_url(re.compile(r"/catalog/records/\d+$"), timeout=10_000)

        expect(page.locator("h1")).to_contain_text("Anak semua bangsa")
        marc_view = page.locator("pre.marc-view").text_content() or ""
        assert "=500  \\\\$aCatatan dari uji grid {lcub}dengan{rcub} {dollar} tanda." in marc_view
        assert re.search(r"^=245  1\d\$aAnak semua bangsa", marc_view, re.M), marc_view
        assert problems == []
    finally:
        context.close()


def test_grid_keyboard_and_validation(browser: Any, live_server: str) -> None:  # noqa: F811
    """Enter / Ctrl+Backspace for subfields, Alt+arrows to move, tag kind switch, inline checks."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        problems = _watch(page)
        _login(page, live_server, "pukb.katalog")
        page.goto(_new_record(page, live_server, "Gadis pantai") + "/marc")
        row245 = _row(page, "245")
        values = row245.locator(".marc-value")
        subs_before = values.count()

        # Enter in a value adds a subfield after it, focused on its code; Ctrl+Backspace removes it.
        values.first.press("Enter")
        assert row245.locator(".marc-sub").count() == subs_before + 1
        assert "marc-code" in _focused_classes(page)
        page.keyboard.type("b")
        page.keyboard.press("Tab")
        assert "marc-value" in _focused_classes(page)
        page.keyboard.press("Control+Backspace")
        assert row245.locator(".marc-sub").count() == subs_before
        assert page.url.endswith("/marc")  # Enter did not submit the form

        # Alt+ArrowUp / ArrowDown move the field.
        order = "rows => rows.map(r => r.dataset.tag)"
        before = page.eval_on_selector_all("#marc-grid tr.marc-row", order)
        values.first.press("Alt+ArrowUp")
        after = page.eval_on_selector_all("#marc-grid tr.marc-row", order)
        i = before.index("245")
        assert after[i - 1] == "245" and after[i] == before[i - 1]
        assert "marc-value" in _focused_classes(page)
        page.keyboard.press("Alt+ArrowDown")
        assert page.eval_on_selector_all("#marc-grid tr.marc-row", order) == before

        # Inline checks: tag, indicator, subfield code, leader and 008 lengths.
        row245 = page.locator("#marc-grid tr.marc-row").nth(i)  # data-tag follows the tag as it is typed
        tag = row245.locator(".marc-tag")
        tag.fill("24")
        expect(tag).to_have_class(re.compile(r"\bis-invalid\b"))
        assert tag.get_attribute("title")
        tag.fill("245")
        expect(tag).not_to_have_class(re.compile(r"\bis-invalid\b"))
        ind1 = row245.locator(".marc-ind1")
        ind1.fill("#")
        expect(ind1).to_have_class(re.compile(r"\bis-invalid\b"))
        ind1.fill("1")
        code = row245.locator(".marc-code").first
        code.fill("A")
        expect(code).to_have_class(re.compile(r"\bis-invalid\b"))
        code.fill("a")
        leader = _row(page, "LDR").locator(".marc-data")
        original_leader = leader.input_value()
        assert len(original_leader) == 24
        leader.fill(original_leader[:23])
        expect(leader).to_have_class(re.compile(r"\bis-invalid\b"))
        leader.fill(original_leader)
        fixed = _row(page, "008").locator(".marc-data")
        original_008 = fixed.input_value()
        fixed.fill(original_008 + "x")
        expect(fixed).to_have_class(re.compile(r"\bis-invalid\b"))
        fixed.fill(original_008)
        assert page.locator("#marc-grid .is-invalid").count() == 0

        # A new field typed as 008-like control tag becomes a single data box; back to data keeps subfields.
        page.click("#marc-grid [data-action=add-field]")
        assert "marc-tag" in _focused_classes(page)
        page.keyboard.type("00")
        last = page.locator("#marc-grid tr.marc-row").last
        assert last.get_attribute("data-kind") == "data"
        page.keyboard.type("7")
        expect(last).to_have_attribute("data-kind", "control")
        assert "marc-tag" in _focused_classes(page)
        page.keyboard.press("Tab")
        assert "marc-data" in _focused_classes(page)
        page.keyboard.type("ta")
        new_row = page.locator("#marc-grid tr.marc-row").last
        new_row.locator(".marc-tag").fill("590")
        expect(new_row).to_have_attribute("data-kind", "data")
        assert new_row.locator(".marc-value").first.input_value() == "ta"
        new_row.locator("[data-action=remove]").click()

        # Text mode shows the same record as text; the toggle label comes from the template.
        text_label = page.locator("#marc-grid").get_attribute("data-label-text")
        grid_label = page.locator("#marc-grid").get_attribute("data-label-grid")
        toggle = page.locator("#marc-grid [data-action=toggle]")
        expect(toggle).to_have_text(text_label or "")
        expected = page.evaluate("MarcEditor.gridText()")
        _row(page, "245").locator(".marc-tag").press("Control+Enter")  # an empty field is not written
        assert page.evaluate("MarcEditor.gridText()") == expected
        toggle.click()
        expect(page.locator("#marc")).to_be_visible()
        expect(toggle).to_have_text(grid_label or "")
        assert page.locator("#marc").input_value() == expected
        toggle.click()
        expect(page.locator("#marc")).to_be_hidden()

        # A line the server cannot read stays as one invalid text row; the server's message shows
        # under the grid after saving, and the fixed line becomes a normal row again.
        toggle.click()
        page.fill("#marc", expected + "\nbukan ruas")
        toggle.click()
        raw = page.locator("#marc-grid tr.marc-row[data-kind=raw] .marc-raw")
        expect(raw).to_have_value("bukan ruas")
        expect(raw).to_have_class(re.compile(r"\bis-invalid\b"))
        page.click("#marc-form button[type=submit]")
        expect(page.locator("#marc-form .invalid-feedback")).to_be_visible()
        assert page.url.endswith("/marc")
        expect(page.locator("#marc")).to_be_hidden()
        raw.fill("=590  \\\\$aPerbaikan baris.")
        raw.press("Tab")
        expect(page.locator("#marc-grid tr.marc-row[data-kind=raw]")).to_have_count(0)
        expect(_row(page, "590")).to_have_attribute("data-kind", "data")
        page.click("#marc-form button[type=submit]")
        page.wait_for_url(re.compile(r"/catalog/records/\d+$"), timeout=10_000)
        assert "=590  \\\\$aPerbaikan baris." in (page.locator("pre.marc-view").text_content() or "")
        assert problems == []
    finally:
        context.close()


def _tricky_records() -> list[dict[str, Any]]:
    """Records with every character the text form escapes or treats specially."""
    book = build(QuickEntry(title="Laskar pelangi", subtitle="sebuah novel", authors=["Hirata, Andrea"],
                            publisher="Bentang", place="Yogyakarta", year=2008, pages=529, notes="Catatan"),
                 org_code="IdBtgDPK", today=date(2026, 1, 15))
    odd = {"leader": "00000nam a2200000 i 4500", "fields": [
        {"001": "  lead and trail  "},
        {"005": "20260115 {x} $y \u00a9"},
        {"008": "260115s2008    io a          000 0 ind d"},
        {"020": {"ind1": " ", "ind2": " ", "subfields": [{"a": "9789793062792"}, {"q": "(sampul)"}]}},
        {"245": {"ind1": "1", "ind2": "4", "subfields": [
            {"a": "The $5 {braces} and {copy} and \\back\\slash "}, {"b": " leading space"}, {"c": ""}]}},
        {"246": {"ind1": "3", "ind2": " ", "subfields": []}},
        {"500": {"ind1": " ", "ind2": " ", "subfields": [{"a": "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 "
                                                                "\U0001f4da \u05e2\u05d1\u05e8\u05d9\u05ea"}]}},
        {"880": {"ind1": "0", "ind2": "0", "subfields": [{"6": "245-01/(3/r"}, {"a": "=245  10$a"}]}},
        {"9XX": {"ind1": "a", "ind2": "z", "subfields": [{"z": "{dollar}"}, {"0": "}{"}]}},
    ]}
    return [book, odd]


def _real_records() -> list[dict[str, Any]]:
    if not MARC_DATA.is_dir():
        return []
    out: list[dict[str, Any]] = []
    for path in sorted(p for p in MARC_DATA.rglob("*") if p.is_file() and p.suffix.lower() not in (".md", ".txt")):
        with path.open("rb") as handle:
            fmt = marc.detect_format(path.name, handle.read(4096))
            handle.seek(0)
            try:
                found = [r.record for r in islice(marc.read(handle, fmt=fmt), REAL_RECORDS_PER_FILE)
                         if r.record is not None]
            except Exception:  # noqa: BLE001 - unreadable files are the reader tests' business
                continue
        out += found[:REAL_RECORDS_PER_FILE]
        if len(out) >= REAL_RECORDS_MAX:
            break
    return out


def test_text_round_trip_is_lossless(browser: Any, live_server: str) -> None:  # noqa: F811
    """Server-written text -> grid -> text gives the same text, through the functions and the DOM."""
    records = _tricky_records() + _real_records()
    texts = ["\n".join(bib.to_mnemonic(r)) for r in records]
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        problems = _watch(page)
        _login(page, live_server, "pukb.katalog")
        page.goto(live_server + "/catalog/records/new/marc")
        expect(page.locator("#marc-grid table")).to_be_visible()
        # The new-record template parses and serialises unchanged, and every row is understood.
        assert page.evaluate("MarcEditor.gridText() === document.getElementById('marc').value")
        assert page.locator("#marc-grid tr.marc-row[data-kind=raw]").count() == 0
        failures = page.evaluate(
            """texts => {
                const bad = [];
                const area = document.getElementById('marc');
                texts.forEach((text, i) => {
                    if (MarcEditor.serialize(MarcEditor.parse(text)) !== text) { bad.push(['functions', i]); }
                    MarcEditor.setMode('text');
                    area.value = text;
                    MarcEditor.setMode('grid');
                    if (document.querySelector('#marc-grid tr.marc-row[data-kind=raw]')) { bad.push(['raw', i]); }
                    document.querySelector('#marc-grid .marc-tag').dispatchEvent(new Event('input', {bubbles: true}));
                    if (MarcEditor.gridText() !== text) { bad.push(['grid', i]); }
                    MarcEditor.setMode('text');
                    if (area.value !== text) { bad.push(['text', i]); }
                    MarcEditor.setMode('grid');
                });
                return bad;
            }""", texts)
        assert failures == [], [(how, texts[i][:400]) for how, i in failures[:5]]
        # The grid's values are the record's values (unescaped), as the server would read them.
        page.evaluate("MarcEditor.setMode('text')")
        page.fill("#marc", texts[1])
        page.evaluate("MarcEditor.setMode('grid')")
        row = _row(page, "245")
        assert row.locator(".marc-value").first.input_value() == "The $5 {braces} and {copy} and \\back\\slash "
        assert row.locator(".marc-ind2").input_value() == "4"
        assert _row(page, "001").locator(".marc-data").input_value() == "  lead and trail  "
        assert _row(page, "005").locator(".marc-data").input_value() == "20260115 {x} $y \u00a9"
        assert _row(page, "LDR").locator(".marc-data").input_value() == "00000nam a2200000 i 4500"
        assert _row(page, "020").locator(".marc-ind1").input_value() == ""
        assert problems == []
    finally:
        context.close()


def test_grid_fits_a_phone(browser: Any, live_server: str) -> None:  # noqa: F811
    """At 375 px the page does not scroll sideways: the grid scrolls inside its own box."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        problems = _watch(page)
        _login(page, live_server, "pukb.katalog")
        page.goto(live_server + "/catalog/records/new/marc")
        expect(page.locator("#marc-grid table")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _shot(page, "phone-marc-grid")
        assert problems == []
    finally:
        context.close()
