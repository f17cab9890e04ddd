"""The shape docs/architecture.md promises: one direction of imports, a pure core, parts small
enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted([*ROOT.glob("harvester/**/*.py"), *ROOT.glob("archive/**/*.py")])

# HTML or text in, data out: these never touch the network, the disk or a database.
PURE = [
    "archive/feeds.py",
    "archive/fulltext.py",
    "archive/frontmatter.py",
    "archive/names.py",
    "archive/svg.py",
    "archive/terminal.py",
    "archive/times.py",
    "harvester/document.py",
    "harvester/htmltree.py",
    "harvester/links.py",
    "harvester/mdbody.py",
    "harvester/seedfile.py",
    "harvester/sources/bookid.py",
    "harvester/sources/discovery.py",
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("harvester/page/*.py")),
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("harvester/markdown/*.py")),
]
DOING_IO = (
    "httpx",
    "socket",
    "sqlite3",
    "sqlite_utils",
    "subprocess",
    "shutil",
    "urllib.request",
    "os",
    "pathlib",
    "archive.files",
    "archive.index",
    "harvester.http",
    "harvester.fetching",
)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_archive_imports_nothing_from_the_harvester():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in imported_names(path) if within(n, ("harvester",))
        )
        for path in ROOT.glob("archive/**/*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_imports_nothing_that_does_io(module):
    assert sorted(n for n in imported_names(ROOT / module) if within(n, DOING_IO)) == []


def test_the_markdown_converter_is_a_package_of_pure_modules():
    assert any(module.startswith("harvester/markdown/") for module in PURE)


def test_every_module_fits_in_600_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    }
    assert long == {}


def test_every_function_fits_in_80_lines():
    long = {}
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    assert long == {}
