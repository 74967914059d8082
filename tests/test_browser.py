"""Browser test: a real gunicorn server on a temporary SQLite file, driven by Debian's chromium.

Every demo role logs in and opens every page of its navigation bar; the public OPAC and the
language switch work without login; a job started from the UI runs in a separate RQ worker
process (embedded Redis) with live progress to the end. Console errors, page errors
(CSP violations included) and 5xx responses fail the test. Screenshots go to tests/screenshots/.

Without /usr/bin/chromium the tests are skipped, unless ILS_REQUIRE_BROWSER=1 (CI) makes that
a failure.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from ils.demo import DEMO_PASSWORD
from ils.jobs import start_embedded_redis

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROLES = ["admin", "dpk", "pukb.kepala", "pukb.katalog", "pukb.sirkulasi", "asesor"]
SEES_STAFF = {"admin", "dpk", "pukb.kepala"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _flask(env: dict[str, str], *args: str) -> None:
    """Run a ``flask --app ils`` command; fail with its output if it fails."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "ils", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status < 500)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module (skipped without it, unless ILS_REQUIRE_BROWSER=1)."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("ILS_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " but ILS_REQUIRE_BROWSER=1")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """The `make run` shape: gunicorn + a separate RQ worker + embedded Redis, on a fresh SQLite file."""
    with tempfile.TemporaryDirectory(prefix="ils-browser-") as tmp:
        redis_proc, redis_url = start_embedded_redis(f"{tmp}/redis")
        # The report pauses per library so the bar visibly moves (about 19 x 0.3 s).
        env = dict(os.environ, ILS_CONFIG="config.TestingConfig", ILS_INSTANCE_PATH=f"{tmp}/instance",
                   DATABASE_URL=f"sqlite:///{tmp}/ils.sqlite", REDIS_URL=redis_url,
                   ILS_DEMO_REPORT_STEP_SECONDS="0.3")
        _flask(env, "db", "upgrade")
        _flask(env, "demo")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        with open(Path(tmp) / "gunicorn.log", "w+b") as log:
            server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                                       "ils:create_app()"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
            worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "ils", "jobs", "worker"],
                                      env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 20
                while not _answers(base + "/login"):
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        pytest.fail("gunicorn did not start:\n" + log.read().decode(errors="replace"))
                    time.sleep(0.2)
                yield base
            finally:
                for proc in (server, worker, redis_proc):
                    _stop(proc)


def _watch(page: Any) -> list[str]:
    """Collect console errors, uncaught page errors and 5xx responses of a page."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console error: {msg.text} @ {msg.location}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("response", lambda resp: problems.append(f"HTTP {resp.status}: {resp.url}")
            if resp.status >= 500 else None)
    return problems


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _slug(url: str) -> str:
    return urlsplit(url).path.strip("/").replace("/", "-") or "root"


def _login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/staff/$"), timeout=10_000)


@pytest.mark.parametrize("username", ROLES)
def test_role_navigation(browser: Any, live_server: str, username: str) -> None:
    """Each role logs in, sees only its own navigation, and every nav page renders cleanly."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        problems = _watch(page)
        _login(page, live_server, username)
        hrefs = page.eval_on_selector_all("nav a.nav-link", "links => links.map(a => a.getAttribute('href'))")
        assert hrefs, "the navigation bar has no links"
        assert any("/staff/accounts/" in h for h in hrefs) == (username in SEES_STAFF), hrefs
        if username == "asesor":
            assert not any("/jobs/" in h for h in hrefs), hrefs
        for href in hrefs:
            response = page.goto(live_server + href if href.startswith("/") else href)
            assert response is not None and response.status < 400, f"{href}: {response and response.status}"
            assert page.locator("h1").count() >= 1, f"{href} has no h1"
            _shot(page, f"{username}-{_slug(page.url)}")
        assert problems == []
    finally:
        context.close()


def test_public_opac_and_language(browser: Any, live_server: str) -> None:
    """Without login: / goes to the OPAC in Bahasa Indonesia; the navbar switches to English."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        problems = _watch(page)
        page.goto(live_server + "/")
        assert urlsplit(page.url).path == "/opac/"
        assert page.get_attribute("html", "lang") == "id"
        assert page.locator("main input[type=search]").count() == 1
        assert page.get_by_text("Perpustakaan Umum Kota Bontang", exact=True).count() >= 1
        _shot(page, "public-opac-id")
        page.click("form[action$='/language'] button[type=submit]")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        assert urlsplit(page.url).path == "/opac/"
        _shot(page, "public-opac-en")
        assert problems == []
    finally:
        context.close()


def test_job_from_the_ui_completes_in_the_worker(browser: Any, live_server: str) -> None:
    """DPK starts the report; the separate worker runs it; the bar moves live to 100 %."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        problems = _watch(page)
        _login(page, live_server, "dpk")
        page.goto(live_server + "/jobs/")
        page.click("form[action$='/jobs/network-report'] button[type=submit]")
        page.wait_for_url(re.compile(r"/jobs/[0-9a-f]{32}$"), timeout=10_000)
        progress = page.locator(".job-progress")
        assert progress.count() == 1 and progress.locator(".progress-bar").count() == 1
        assert progress.locator(".job-status").inner_text().strip()
        job_id = progress.get_attribute("data-job-id")
        seen: list[int] = []
        page.on("response", lambda r: seen.append(r.json()["jobs"][0]["progress"])
                if "/jobs/status.json" in r.url and r.status == 200 else None)
        _shot(page, "dpk-job-running")
        # The poller reloads the page when the job is done; the report table then appears.
        expect(page.locator("table")).to_contain_text("PUKB", timeout=60_000)
        assert page.url.endswith(job_id)
        assert page.locator(".progress-bar").inner_text().strip() == "100%"
        assert "Selesai" in page.locator(".job-status").inner_text()
        assert any(0 < p < 100 for p in seen), f"no intermediate progress seen by the poller: {seen}"
        _shot(page, "dpk-job-detail")
        assert problems == []
    finally:
        context.close()


def test_phone_layout(browser: Any, live_server: str) -> None:
    """At 375x740 the OPAC and the staff home fit the width and the navbar collapses to a menu."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        problems = _watch(page)
        page.goto(live_server + "/opac/")
        _shot(page, "phone-opac")
        _login(page, live_server, "pukb.kepala")
        for name in ("phone-staff", "phone-staff-menu"):
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            _shot(page, name)
            if name == "phone-staff":
                page.click("button.navbar-toggler")
                expect(page.locator("#mainnav")).to_have_class(re.compile(r"\bshow\b"))
        assert problems == []
    finally:
        context.close()


def test_opac_search_on_a_phone(browser: Any, live_server: str) -> None:
    """A patron on a cheap phone searches the demo catalogue: results with copies, a facet, the record page."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        problems = _watch(page)
        page.goto(live_server + "/opac/")
        # The worker indexes the demo catalogue from the outbox; wait until search answers.
        deadline = time.monotonic() + 60
        while True:
            page.fill("main input[type=search]", "sejarah")
            page.press("main input[type=search]", "Enter")
            page.wait_for_url(re.compile(r"/opac/search\?"))
            if page.locator("main ol li.card").count() or time.monotonic() > deadline:
                break
            time.sleep(1)
            page.goto(live_server + "/opac/")
        results = page.locator("main ol li.card")
        assert results.count() > 0, page.content()[:2000]
        assert page.locator("main ol li.card .badge").count() > 0  # availability on every hit
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _shot(page, "phone-opac-results")
        page.locator("aside details a").first.click()  # narrow by the first facet value
        expect(page.locator("#result-count")).to_be_visible()
        page.locator("main ol li.card h2 a").first.click()
        page.wait_for_url(re.compile(r"/opac/record/\d+$"))
        expect(page.locator("main table#copies")).to_be_visible()  # every copy: library, call number, status
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _shot(page, "phone-opac-record")
        assert problems == []
    finally:
        context.close()
