"""Run one experiment script in quick mode from a test (the one copy of this recipe)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def import_experiment(name: str) -> ModuleType:
    """experiments/<name>.py as a module (its top level run, ``main`` not called)."""
    added = str(EXPERIMENTS) not in sys.path
    if added:  # experiment scripts import their shared helpers (_common, ...) by name
        sys.path.insert(0, str(EXPERIMENTS))
    try:
        spec = importlib.util.spec_from_file_location(f"experiments_{name}",
                                                      EXPERIMENTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if added:
            sys.path.remove(str(EXPERIMENTS))
    return module


def run_quick(name: str, out: Path) -> dict[str, Any]:
    """Import experiments/<name>.py, run main(["--quick", "--out", out]) and return its JSON
    payload, after checking it wrote a non-empty PNG, PDF and JSON marked quick mode."""
    added = str(EXPERIMENTS) not in sys.path
    if added:  # main() may import helpers lazily, by name
        sys.path.insert(0, str(EXPERIMENTS))
    try:
        import_experiment(name).main(["--quick", "--out", str(out)])
    finally:
        if added:
            sys.path.remove(str(EXPERIMENTS))
    for suffix in ("png", "pdf", "json"):
        assert (out / f"{name}.{suffix}").stat().st_size > 0
    payload = json.loads((out / f"{name}.json").read_text())
    assert payload["experiment"] == name and payload["mode"] == "quick"
    assert "versions" in payload and "config" in payload
    return payload
