"""Every command and sub-action of `resad-station` answers --help (the console script too)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from resad_station.cli.main import _load_commands, build_parser
from ui import gui_cmd
from ui.cli import main as ui_main

REPO_ROOT = Path(__file__).resolve().parent.parent


def _command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path (("db",), ("db", "check"), ...) found by walking the subparsers."""
    paths = []
    for action in parser._actions:  # argparse has no public walk over subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append(prefix + (name,))
                paths += _command_paths(sub, prefix + (name,))
    return paths


COMMAND_PATHS = _command_paths(build_parser(_load_commands([gui_cmd])))


def test_the_expected_commands_exist():
    top = {p[0] for p in COMMAND_PATHS}
    assert {"gui", "inspect", "enroll", "evaluate", "train", "bench", "profiles", "db", "defects"} <= top
    assert {("profiles", "list"), ("profiles", "check"), ("profiles", "show"), ("db", "upgrade"),
            ("db", "check")} <= set(COMMAND_PATHS)


@pytest.mark.parametrize("path", [()] + COMMAND_PATHS, ids=lambda p: " ".join(p) or "(top)")
def test_help_works(path, capsys):
    with pytest.raises(SystemExit) as info:
        ui_main([*path, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: resad-station" + "".join(f" {p}" for p in path))


def test_console_script_help():
    script = Path(sys.executable).parent / "resad-station"
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from ui.cli import main; "
                                                     "raise SystemExit(main())"]
    done = subprocess.run([*command, "--help"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "profiles" in done.stdout and "db" in done.stdout
