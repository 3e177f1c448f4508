"""Find and run the experiment scripts in the repository's ``experiments/`` folder.

Each experiment is a script ``experiments/<name>.py`` accepting ``--quick`` and
``--out DIR``; files starting with ``_`` are shared helpers, not experiments. Scripts run
in a fresh interpreter so one experiment's state (matplotlib, numba threads) never leaks
into the next.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

from .validation import invalid


def experiments_dir() -> Path:
    """The experiments folder of the source tree simquanta was installed from."""
    here = Path(__file__).resolve().parents[1] / "experiments"
    override = os.environ.get("SIMQUANTA_EXPERIMENTS")
    folder = Path(override) if override else here
    if not folder.is_dir():
        raise invalid("experiments", str(folder),
                      "folder not found; run from a source checkout (pip install -e .) or set "
                      "SIMQUANTA_EXPERIMENTS")
    return folder


def list_experiments() -> dict[str, str]:
    """name → the first paragraph of the script's docstring (its summary, on one line),
    sorted by name."""
    found = {}
    for path in sorted(experiments_dir().glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        found[path.stem] = " ".join(doc.strip().split("\n\n")[0].split())
    return found


def run_experiment(name: str, *, quick: bool = False, out: str | None = None) -> float:
    """Run one experiment script; returns its wall time in seconds."""
    known = list_experiments()
    if name not in known:
        raise invalid("experiment", name, f"must be one of {', '.join(known)}")
    cmd = [sys.executable, str(experiments_dir() / f"{name}.py")]
    if quick:
        cmd.append("--quick")
    if out:
        cmd += ["--out", out]
    start = time.perf_counter()
    completed = subprocess.run(cmd, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"experiment {name} failed with exit status {completed.returncode}")
    return time.perf_counter() - start
