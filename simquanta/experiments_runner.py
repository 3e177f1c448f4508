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
from concurrent.futures import ThreadPoolExecutor
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


def _command(name: str, quick: bool, out: str | None) -> list[str]:
    known = list_experiments()
    if name not in known:
        raise invalid("experiment", name, f"must be one of {', '.join(known)}")
    cmd = [sys.executable, str(experiments_dir() / f"{name}.py")]
    if quick:
        cmd.append("--quick")
    if out:
        cmd += ["--out", out]
    return cmd


def run_experiment(name: str, *, quick: bool = False, out: str | None = None) -> float:
    """Run one experiment script (its output goes to this process's); returns its wall time
    in seconds."""
    cmd = _command(name, quick, out)
    start = time.perf_counter()
    completed = subprocess.run(cmd, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"experiment {name} failed with exit status {completed.returncode}")
    return time.perf_counter() - start


def run_experiments(names: list[str], *, quick: bool = False, out: str | None = None,
                    jobs: int = 1, report=print) -> float:
    """Run experiment scripts, ``jobs`` at a time; returns the total wall time in seconds.

    With ``jobs`` > 1 each script gets ⌊cores / jobs⌋ numba threads (results do not depend
    on the thread count) and its output is captured and passed to ``report`` when it ends,
    so scripts never interleave their lines; ``report`` also gets one "name: done in s"
    line per script. After a failure no new script starts; the running ones finish, and a
    RuntimeError names the failed scripts (their output reported first)."""
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise invalid("jobs", jobs, "must be an integer ≥ 1")
    commands = {name: _command(name, quick, out) for name in names}
    start = time.perf_counter()
    if jobs == 1:
        for name in names:
            report(f"{name}: done in {run_experiment(name, quick=quick, out=out):.1f} s")
        return time.perf_counter() - start
    env = dict(os.environ, NUMBA_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // jobs)))
    failed: list[str] = []

    def one(name: str) -> tuple[str, subprocess.CompletedProcess, float]:
        if failed:
            return name, None, 0.0
        began = time.perf_counter()
        done = subprocess.run(commands[name], check=False, env=env, capture_output=True,
                              text=True)
        return name, done, time.perf_counter() - began

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, done, seconds in pool.map(one, names):
            if done is None:
                continue
            output = (done.stdout + done.stderr).rstrip()
            if output:
                report(output)
            if done.returncode != 0:
                failed.append(name)
                report(f"{name}: failed with exit status {done.returncode}")
            else:
                report(f"{name}: done in {seconds:.1f} s")
    if failed:
        raise RuntimeError(f"experiments failed: {', '.join(failed)}")
    return time.perf_counter() - start
