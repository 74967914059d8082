"""The circulation desk and the member's OPAC account in a real browser, the way a desk works:
type (or scan) a number and press Enter, never the mouse. Screenshots go to tests/screenshots/."""
from __future__ import annotations

import re
from urllib.parse import urlsplit
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.test_browser import DESKTOP, _login, _shot, _watch, browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

DEMO_CARD, DEMO_PIN = "647400000012", "246810"  # the first demo member (README), home library PUKB


def _available_copy(page: Any, base: str, library: str) -> str:
    """A barcode of an available, lendable book of ``library``, found through the staff catalog API."""
    records = page.request.get(base + "/api/v1/catalog/records?q=a").json()["items"]
    for record in records:
        for item in page.request.get(base + record["links"]["items"]).json()["items"]:
            if item["library"]["code"] == library and item["status"] == "available" and item["item_type"] == "buku":
                return str(item["barcode"])
    raise AssertionError(f"no available copy at {library} among {len(records)} records")


def test_desk_lends_and_takes_back_with_the_keyboard_only(browser: Any, live_server: str) -> None:  # noqa: F811
    """Card + Enter, barcode + Enter: lent with its due date; the same barcode at check-in + Enter: back."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        problems = _watch(page)
        _login(page, live_server, "pukb.sirkulasi")
        barcode = _available_copy(page, live_server, "PUKB")
        page.goto(live_server + "/circulation")
        expect(page.locator("#card")).to_be_focused()
        page.keyboard.type(DEMO_CARD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/circulation/checkout\?card="))
        expect(page.locator("#barcode")).to_be_focused()
        page.keyboard.type(barcode)
        page.keyboard.press("Enter")
        expect(page.locator(".alert-success")).to_be_visible()
        expect(page.locator("main table")).to_contain_text(barcode)
        _shot(page, "desk-checkout")
        page.goto(live_server + "/circulation/explain?card=" + DEMO_CARD + "&barcode=" + barcode)
        expect(page.locator("main")).to_contain_text("✗")  # the copy is now on loan: a failed check is shown
        _shot(page, "desk-explain")
        page.goto(live_server + "/circulation/checkin")
        expect(page.locator("#barcode")).to_be_focused()
        page.keyboard.type(barcode)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/circulation/checkin$"))
        expect(page.locator("section.card")).to_contain_text(barcode)
        _shot(page, "desk-checkin")
        assert problems == []
    finally:
        context.close()


def test_member_logs_in_to_the_opac_and_sees_the_account(browser: Any, live_server: str) -> None:  # noqa: F811
    """The demo member logs in with card and PIN from the navigation link and sees loans and holds."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        problems = _watch(page)
        page.goto(live_server + "/opac/")
        page.locator("nav a[href$='/opac/account']").click()
        page.wait_for_url(re.compile(r"/opac/account/login"))
        page.fill("input[name=card_number]", DEMO_CARD)
        page.fill("input[name=pin]", DEMO_PIN)
        page.keyboard.press("Enter")
        # The login page's own URL ends in "?next=/opac/account": wait for the account page's path.
        page.wait_for_url(lambda url: urlsplit(url).path == "/opac/account")
        expect(page.locator("main")).to_contain_text(DEMO_CARD)
        _shot(page, "opac-member-account")
        assert problems == []
    finally:
        context.close()
