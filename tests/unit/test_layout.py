"""The layout is the architecture: who may import whom, checked on the source.

Services (api, web, worker) never import each other; the shared packages import
no service; ``services.dev`` (the one-process app and the embedded PostgreSQL) is
imported only by the ``dev`` command; benchmarks and tools never import the tests."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("api", "web", "worker")
SHARED = ("protocol", "i18n", "store", "server", "client")
# What each package may import from services/, besides itself.
ALLOWED: dict[str, set[str]] = {
    "protocol": set(),
    "i18n": set(),
    "store": {"protocol"},
    "server": {"protocol", "store", "i18n"},
    "client": {"protocol", "i18n"},
    "api": {"protocol", "store", "server", "i18n"},
    "web": {"protocol", "store", "server", "i18n"},
    "worker": {"protocol", "store", "server", "i18n"},
    "cli": {"protocol", "store", "server", "client", "api", "web", "worker", "dev", "i18n"},
    "dev": {"protocol", "store", "server", "api", "web", "worker", "i18n"},
}


def imports(path: Path) -> Iterator[tuple[str, ast.AST]]:
    """Every module name ``path`` imports, with the node that imports it."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node


def package_of(path: Path) -> str:
    return path.relative_to(ROOT / "services").parts[0]


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def services_packages() -> list[str]:
    return sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())


def test_every_package_of_services_has_a_rule() -> None:
    assert services_packages() == sorted(ALLOWED)


@pytest.mark.parametrize("path", python_files("services"), ids=lambda p: str(p.relative_to(ROOT)))
def test_packages_import_only_what_the_layout_allows(path: Path) -> None:
    own = package_of(path) if path.parent != ROOT / "services" else None
    for name, _node in imports(path):
        match = re.match(r"services\.(\w+)", name)
        if match is None or own is None or match.group(1) == own:
            continue
        assert match.group(1) in ALLOWED[own], f"{path.name} ({own}) imports {name}"


def test_services_never_import_each_other() -> None:
    for service in SERVICES:
        assert not ALLOWED[service] & set(SERVICES)
    for shared in SHARED:
        assert not ALLOWED[shared] & {*SERVICES, "cli", "dev"}


def test_the_dev_package_is_imported_only_by_the_dev_command() -> None:
    importers = []
    for path in python_files("services"):
        if package_of(path) == "dev":
            continue
        for name, node in imports(path):
            if name.startswith("services.dev"):
                importers.append((path.relative_to(ROOT).as_posix(), node))
    assert {where for where, _ in importers} == {"services/cli/main.py"}
    main = ast.parse((ROOT / "services/cli/main.py").read_text("utf-8"))
    functions = [n for n in ast.walk(main) if isinstance(n, ast.FunctionDef)]
    (run_dev,) = [function for function in functions if function.name == "run_dev"]
    lines = range(run_dev.lineno, (run_dev.end_lineno or run_dev.lineno) + 1)
    assert all(getattr(node, "lineno", 0) in lines for _, node in importers)


@pytest.mark.parametrize("folder", ["bench", "tools"])
def test_benchmarks_and_tools_never_import_the_tests(folder: str) -> None:
    # make screenshots and make bench-browser replay the browser tests' page steps
    # (tests/support/browser.py) on purpose: one way to drive the pages.
    allowed = {"tools/screenshots.py", "bench/browser.py"}
    for path in python_files(folder):
        if path.relative_to(ROOT).as_posix() in allowed:
            continue
        assert not any(name.split(".")[0] == "tests" for name, _ in imports(path)), path.name


@pytest.mark.parametrize("document", ["README.md", "docs/architecture.md"])
def test_the_documented_layout_names_every_package(document: str) -> None:
    text = (ROOT / document).read_text("utf-8")
    for package in services_packages():
        assert f"services/{package}/" in text, f"{document} does not describe services/{package}/"
    for folder in ("tools", "bench", "tests/support", "tests/unit", "tests/functional"):
        assert f"{folder}/" in text, f"{document} does not describe {folder}/"
    for described in re.findall(r"`?((?:services|tests|tools|bench)/[\w/.-]+)`?", text):
        assert (ROOT / described.rstrip("/.")).exists(), f"{document} names {described}"
