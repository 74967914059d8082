"""Every route x every role x own/other library: deny by default, scoped by library.

ROUTES must name every rule in the URL map, so a new route cannot ship without an entry here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask

from ils.authz import PERMISSIONS
from ils.models import Role
from tests.factories import Network, build_network, login

OK, DENIED, LOGIN = "ok", "403", "login"


@dataclass(frozen=True)
class Route:
    """How to call one endpoint and who may."""

    method: str
    url: Callable[[Network, str], str]  # (network, "own"|"other") -> url
    permission: str | None  # None: public; "login": any staff
    scoped: bool = False  # the object belongs to library A (own) or B (other)


def lib(net: Network, side: str) -> int:
    return (net.a if side == "own" else net.b).id


def target(net: Network, side: str) -> int:
    return (net.target_a if side == "own" else net.target_b).id


def job(net: Network, side: str) -> str:
    return (net.job_a if side == "own" else net.job_b).id


ROUTES: dict[str, Route] = {
    "ils.index": Route("GET", lambda n, s: "/", None),
    "ils.login": Route("GET", lambda n, s: "/login", None),
    "ils.set_language": Route("POST", lambda n, s: "/language", None),
    "ils.logout": Route("POST", lambda n, s: "/logout", "login"),
    "ils.own_password": Route("GET", lambda n, s: "/account/password", "login"),
    "ils.staff_home": Route("GET", lambda n, s: "/staff/", "library.view"),
    "ils.library_list": Route("GET", lambda n, s: "/libraries/", "library.view"),
    "ils.library_new": Route("GET", lambda n, s: "/libraries/new", "library.manage"),
    "ils.library_detail": Route("GET", lambda n, s: f"/libraries/{lib(n, s)}", "library.view", True),
    "ils.library_edit": Route("GET", lambda n, s: f"/libraries/{lib(n, s)}/edit", "library.settings", True),
    "ils.library_set_active": Route("POST", lambda n, s: f"/libraries/{lib(n, s)}/active", "library.manage"),
    "ils.staff_list": Route("GET", lambda n, s: f"/staff/accounts/?library={lib(n, s)}", "staff.view", True),
    "ils.staff_new": Route("GET", lambda n, s: "/staff/accounts/new", "staff.manage"),
    "ils.staff_detail": Route("GET", lambda n, s: f"/staff/accounts/{target(n, s)}", "staff.view", True),
    "ils.staff_edit": Route("GET", lambda n, s: f"/staff/accounts/{target(n, s)}/edit", "staff.manage", True),
    "ils.staff_password": Route("GET", lambda n, s: f"/staff/accounts/{target(n, s)}/password",
                                "staff.manage", True),
    "ils.staff_set_active": Route("POST", lambda n, s: f"/staff/accounts/{target(n, s)}/active",
                                  "staff.manage", True),
    "ils.jobs_list": Route("GET", lambda n, s: "/jobs/", "jobs.view"),
    "ils.jobs_status": Route("GET", lambda n, s: f"/jobs/status.json?id={job(n, s)}", "jobs.view"),
    "ils.job_detail": Route("GET", lambda n, s: f"/jobs/{job(n, s)}", "jobs.view", True),
    "ils.job_retry": Route("POST", lambda n, s: f"/jobs/{job(n, s)}/retry", "jobs.manage", True),
    "ils.job_network_report": Route("POST", lambda n, s: "/jobs/network-report", "reports.run"),
    "ils.audit_list": Route("GET", lambda n, s: "/audit/", "audit.view"),
    "catalog.opac_home": Route("GET", lambda n, s: "/opac/", None),
    "catalog.opac_search": Route("GET", lambda n, s: "/opac/search?q=baca", None),
}
IGNORED = {"static", "bootstrap.static"}
ROLES = [r.value for r in Role] + ["anonymous"]


def expected(route: Route, role: str, side: str) -> str:
    """What a role should get: derived from the permission table, not written per case."""
    if route.permission is None:
        return OK
    if role == "anonymous":
        return LOGIN
    if route.permission == "login":
        return OK
    the_role = Role(role)
    if the_role not in PERMISSIONS[route.permission]:
        return DENIED
    if route.scoped and side == "other" and not the_role.network_wide:
        return DENIED
    return OK


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    """No endpoint escapes the matrix."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - IGNORED
    assert endpoints == set(ROUTES), f"add to ROUTES: {endpoints - set(ROUTES)}; stale: {set(ROUTES) - endpoints}"


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
@pytest.mark.parametrize("role", ROLES)
def test_route_role_scope(app: Flask, endpoint: str, role: str) -> None:
    """Each role gets exactly what the permission table and library scope allow, own and other."""
    route = ROUTES[endpoint]
    for side in ("own", "other"):
        with app.app_context():
            from tests.conftest import _empty_tables

            _empty_tables(app)
            net = build_network()
            url = route.url(net, side)
            username = None if role == "anonymous" else net.users[role].username
        client = app.test_client()
        if username:
            login(client, username)
        response = client.open(url, method=route.method, data={"active": "0"} if route.method == "POST" else None)
        want = expected(route, role, side)
        got = response.status_code
        where = f"{route.method} {url} as {role} ({side})"
        if want == OK:
            assert got < 400, f"{where}: expected success, got {got}"
        elif want == DENIED:
            assert got == 403, f"{where}: expected 403, got {got}"
        else:
            assert got == 302 and "/login" in response.headers["Location"], f"{where}: expected login, got {got}"
