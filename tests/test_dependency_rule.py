"""The one-way dependency rules (docs/design.md, docs/architecture.md).

Between the top packages: ui -> resad_station -> engine. Inside resad_station/, its sub-packages
in LAYERS: a module imports only from its own sub-package and the layers below it. And no import
cycle anywhere inside resad_station/, between modules.

Every .py is parsed (not imported); an import that breaks a rule fails the test naming file:line.
Imports inside functions count too; imports under `if TYPE_CHECKING:` count for the layers (a
type is a dependency) but not for cycles (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Top package -> module prefixes it must not import. A prefix matches itself and its submodules.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # The engine knows nothing of the app, Qt, SQL or YAML (numpy/torch/timm/safetensors/cv2 are fine).
    "engine": ("resad_station", "ui", "PySide6", "shiboken6", "pyqtgraph", "sqlalchemy", "alembic", "yaml"),
    # The core runs headless: Qt (all of it) and pyqtgraph live in ui/ only.
    "resad_station": ("ui", "PySide6", "shiboken6", "pyqtgraph"),
    "ui": (),
}


# resad_station's sub-packages (and top modules), lowest first. A layer imports only from layers
# below it; packages on one line are peers and do not import each other. A new sub-package gets a
# place here (and in docs/architecture.md) or the test fails.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("paths", "sections", "rate_limit", "access", "safe_yaml"),  # the data directory; the config-section base; a rate
    # limit; the engineer PIN and the station secret
    ("storage",),  # database, migrations, image files, repository
    ("capture", "outputs"),  # frame sources, the capture thread, image decoding and listing; line outputs
    ("profiles",),  # product profiles (camera kinds come from capture's registry)
    ("enrollment", "defects", "checks", "why", "reports"),  # reference sets; exporting defects; fuzz and recovery checks; the why view; the shift report
    ("runtime",),  # the station: pipeline, recorder, alarms, listeners
    ("cli",),  # the headless command line
    ("tools",),  # scripted runs of the station (measurements) that drive the command line
    ("__main__",),
)
ROOT_PACKAGE = "resad_station"  # its __init__ holds only the version: anything may import it


def _imported_modules(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Full names a node imports; `from x import y` yields x.y too (y may be a submodule)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:  # relative: resolve against this module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = package[: len(package) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    names = [alias.name for alias in node.names if alias.name != "*"]
    return [target] + [f"{target}.{name}" if target else name for name in names]


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _modules(root: Path, top: str):
    """(path relative to root, dotted module name, is_package, parsed tree) of every .py under top/."""
    for path in sorted((root / top).rglob("*.py")):
        rel = path.relative_to(root)
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        yield rel, module, path.name == "__init__.py", ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside `if TYPE_CHECKING:` blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
                                         or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")):
            inside |= {id(n) for child in node.body for n in ast.walk(child)}
    return inside


def violations(root: Path) -> list[str]:
    found = []
    for top, forbidden in FORBIDDEN.items():
        for rel, module, is_package, tree in _modules(root, top):
            for node in ast.walk(tree):
                for name in _imported_modules(node, module, is_package):
                    bad = next((p for p in forbidden if _matches(name, p)), None)
                    if bad is not None:
                        found.append(f"{rel}:{node.lineno}: {top}/ imports {name} (forbidden: {bad})")
                        break
    return found


def _layer_of(module: str) -> int | None:
    """The LAYERS index of a resad_station module (None for the root package itself)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    return next((i for i, layer in enumerate(LAYERS) if parts[1] in layer), -1)


def layer_violations(root: Path) -> list[str]:
    found = []
    for rel, module, is_package, tree in _modules(root, ROOT_PACKAGE):
        own = _layer_of(module)
        if own == -1:
            found.append(f"{rel}: {module.split('.')[1]} has no place in LAYERS (add it, and to docs/architecture.md)")
            continue
        if own is None:
            continue
        for node in ast.walk(tree):
            for name in _imported_modules(node, module, is_package):
                if not _matches(name, ROOT_PACKAGE) or name == ROOT_PACKAGE:
                    continue
                theirs = _layer_of(name)
                if theirs is None or name.split(".")[1] == module.split(".")[1]:
                    continue
                if theirs == -1:  # `from resad_station import x` where x is not a sub-package
                    continue
                if theirs >= own:
                    how = "a peer" if theirs == own else "a higher layer"
                    found.append(f"{rel}:{node.lineno}: {module.split('.')[1]}/ imports {name} ({how})")
                    break
    return found


def import_graph(root: Path, top: str = ROOT_PACKAGE) -> dict[str, set[str]]:
    """Module -> the modules of `top` it imports when it runs (TYPE_CHECKING blocks left out)."""
    parsed = list(_modules(root, top))
    known = {module for _, module, _, _ in parsed}
    graph: dict[str, set[str]] = {module: set() for module in known}
    for _, module, is_package, tree in parsed:
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            names = _imported_modules(node, module, is_package)
            # `from a import b` depends on a.b when b is a module, else on a
            targets = {n for n in names[1:] if n in known} if isinstance(node, ast.ImportFrom) else set()
            if not targets and names and names[0] in known:
                targets = {names[0]}
            if isinstance(node, ast.Import):
                targets = {n for n in names if n in known}
            graph[module] |= targets - {module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle once, as the modules along it (the first repeated at the end), by depth-first search."""
    cycles, state = [], {}  # state: 1 on the current path, 2 finished
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                cycles.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return cycles


def test_imports_follow_ui_to_resad_station_to_engine():
    problems = violations(REPO_ROOT)
    assert not problems, "dependency rule broken (ui -> resad_station -> engine):\n" + "\n".join(problems)


def test_the_checker_catches_wrong_way_imports(tmp_path):
    files = {
        "engine/__init__.py": "",
        "engine/ok.py": "import numpy\nimport cv2\nfrom engine.types import Prediction\n",
        "engine/bad.py": "import numpy\n\ndef f():\n    from resad_station.storage import Database\n",
        "engine/sub/__init__.py": "from .. import types\nfrom ..errors import EngineError\n",
        "resad_station/__init__.py": "from PySide6.QtCore import QObject\n",
        "resad_station/view.py": "from PySide6 import QtWidgets\n",
        "resad_station/x/__init__.py": "from . import y\n",
        "resad_station/x/y.py": "from ui import bridge\nimport pyqtgraph as pg\n",
        "ui/anything.py": "import PySide6.QtWidgets\nimport resad_station\nimport engine\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = violations(tmp_path)
    assert [line.split(" (")[0] for line in found] == [
        "engine/bad.py:4: engine/ imports resad_station.storage",
        "resad_station/__init__.py:1: resad_station/ imports PySide6.QtCore",
        "resad_station/view.py:1: resad_station/ imports PySide6",
        "resad_station/x/y.py:1: resad_station/ imports ui",
        "resad_station/x/y.py:2: resad_station/ imports pyqtgraph",
    ]


def test_resad_station_sub_packages_import_only_lower_layers():
    problems = layer_violations(REPO_ROOT)
    assert not problems, "layer rule broken inside resad_station/ (LAYERS, lowest first):\n" + "\n".join(problems)


def test_no_import_cycle_inside_resad_station():
    cycles = import_cycles(import_graph(REPO_ROOT))
    assert not cycles, "import cycles inside resad_station/:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.fixture
def small_core(tmp_path):
    files = {
        "resad_station/__init__.py": "__version__ = '0'\n",
        "resad_station/storage/__init__.py": "from .db import Database\n",
        "resad_station/storage/db.py": "import resad_station\n\ndef check():\n    from .report import run\n",
        "resad_station/storage/report.py": "from typing import TYPE_CHECKING\nfrom resad_station.storage.db import check\n"
                                           "if TYPE_CHECKING:\n    from resad_station.runtime import Station\n",
        "resad_station/capture/__init__.py": "from resad_station.storage import Database\n",
        "resad_station/capture/worker.py": "from ..runtime.events import CameraState\n",
        "resad_station/enrollment/__init__.py": "from resad_station import defects\n",
        "resad_station/defects/__init__.py": "from resad_station.capture import worker\n",
        "resad_station/runtime/__init__.py": "",
        "resad_station/runtime/events.py": "from resad_station.capture.worker import x\n",
        "resad_station/gadgets/__init__.py": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_the_layer_checker_catches_upward_peer_and_unplaced_imports(small_core):
    found = layer_violations(small_core)
    assert [line.split(" (")[0] for line in found] == [
        "resad_station/capture/worker.py:1: capture/ imports resad_station.runtime.events",
        "resad_station/enrollment/__init__.py:1: enrollment/ imports resad_station.defects",
        "resad_station/gadgets/__init__.py: gadgets has no place in LAYERS",
        "resad_station/storage/report.py:4: storage/ imports resad_station.runtime",
    ]


def test_the_cycle_checker_finds_cycles_through_lazy_imports_not_type_checking_ones(small_core):
    cycles = import_cycles(import_graph(small_core))
    assert sorted(" -> ".join(c) for c in cycles) == [
        "resad_station.capture.worker -> resad_station.runtime.events -> resad_station.capture.worker",
        "resad_station.storage.db -> resad_station.storage.report -> resad_station.storage.db",
    ]
