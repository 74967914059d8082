"""The DPK's workflows in a real browser: the dashboard with its server-drawn charts, a library's
self-assessment reviewed and approved, and a librarian answering an indicator. Screenshots go to
tests/screenshots/."""
from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.test_browser import DESKTOP, PHONE, _login, _shot, _watch, browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def test_the_dpk_reviews_and_approves_a_self_assessment(browser: Any, live_server: str) -> None:  # noqa: F811
    """Dashboard: KEC-BU waits for the DPK. The DPK opens its run, ticks the review tasks and approves:
    the run moves to the submission step and the timeline says so."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        problems = _watch(page)
        _login(page, live_server, "dpk")
        page.goto(live_server + "/workflows/")
        expect(page.locator("#libraries")).to_contain_text("Perpustakaan Kecamatan Bontang Utara")
        assert page.locator("main svg.chart").count() >= 4
        _shot(page, "workflows-dashboard")
        page.locator("tr[data-library='KEC-BU'] td a[href*='/workflows/runs/']").click()
        page.wait_for_url(re.compile(r"/workflows/runs/\d+$"))
        expect(page.locator("#now")).to_contain_text("Tinjauan DPK")
        for task in ("periksa_nilai", "periksa_bukti"):
            page.locator(f"li[data-task='{task}'] button").click()
            page.wait_for_url(re.compile(r"/workflows/runs/\d+#tasks$"))
        page.get_by_role("button", name="Setujui untuk diajukan").click()
        expect(page.locator(".alert-success")).to_be_visible()
        expect(page.locator("#now")).to_contain_text("Pengajuan ke Perpusnas")
        expect(page.locator("#timeline")).to_be_visible()
        _shot(page, "workflows-run-approved")
        assert problems == []
    finally:
        context.close()


def test_a_librarian_answers_the_self_assessment_on_a_phone(browser: Any, live_server: str) -> None:  # noqa: F811
    """SDN-TL's teacher-librarian opens the self-assessment from the run, picks an answer and saves:
    the score line updates."""
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        problems = _watch(page)
        _login(page, live_server, "sdntl.guru")
        page.goto(live_server + "/workflows/")
        page.wait_for_url(re.compile(r"/workflows/libraries/\d+$"))
        page.get_by_role("link", name="Buka alur akreditasi").click()
        page.get_by_role("link", name="buka swanilai").click()
        page.wait_for_url(re.compile(r"/workflows/assessments/\d+$"))
        before = page.locator("[data-total]").get_attribute("data-total")
        first = page.locator("fieldset[data-indicator]").first
        code = first.get_attribute("data-indicator")
        current = first.get_attribute("data-answer")
        choice = "a" if current != "a" else "e"
        first.locator(f"input[value='{choice}']").check()
        first.locator("xpath=ancestor::form").locator("button[type=submit]").click()
        expect(page.locator(".alert-success")).to_be_visible()
        expect(page.locator(f"fieldset[data-indicator='{code}']")).to_have_attribute("data-answer", choice)
        assert page.locator("[data-total]").get_attribute("data-total") != before
        _shot(page, "workflows-self-assessment-phone")
        assert problems == []
    finally:
        context.close()
