"""The one-way dependency rule: ui -> resad_station -> engine (docs/design.md).

Every .py under engine/, resad_station/ and ui/ is parsed (not imported); an import that points
the wrong way fails the test naming file:line. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Top package -> module prefixes it must not import. A prefix matches itself and its submodules.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # The engine knows nothing of the app, Qt, SQL or YAML (numpy/torch/timm/safetensors/cv2 are fine).
    "engine": ("resad_station", "ui", "PySide6", "shiboken6", "pyqtgraph", "sqlalchemy", "alembic", "yaml"),
    # The core runs headless: Qt widgets/GUI and pyqtgraph live in ui/ only.
    "resad_station": ("ui", "PySide6.QtWidgets", "PySide6.QtGui", "pyqtgraph"),
    "ui": (),
}


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


def violations(root: Path) -> list[str]:
    found = []
    for top, forbidden in FORBIDDEN.items():
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root)
            module = ".".join(rel.with_suffix("").parts)
            is_package = path.name == "__init__.py"
            module = module.removesuffix(".__init__")
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
            for node in ast.walk(tree):
                for name in _imported_modules(node, module, is_package):
                    bad = next((p for p in forbidden if _matches(name, p)), None)
                    if bad is not None:
                        found.append(f"{rel}:{node.lineno}: {top}/ imports {name} (forbidden: {bad})")
                        break
    return found


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
        "resad_station/view.py:1: resad_station/ imports PySide6.QtWidgets",
        "resad_station/x/y.py:1: resad_station/ imports ui",
        "resad_station/x/y.py:2: resad_station/ imports pyqtgraph",
    ]
