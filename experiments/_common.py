"""Shared plumbing for experiment scripts: arguments, output paths, JSON with provenance.

Every experiment is ``python experiments/<name>.py [--quick] [--out DIR]`` and writes
``<out>/<name>.png``, ``.pdf`` and ``.json`` (default out: the repository's figures/, or
figures/quick/ in quick mode).
The JSON holds the experiment's key numbers, its config, the mode, wall time and package
versions, so a figure can always be traced back to what made it.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from simquanta.files import atomic_path
from simquanta.result import package_versions

FIGURES = Path(__file__).resolve().parents[1] / "figures"


def parse_args(name: str, description: str, argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"experiments/{name}.py", description=description)
    parser.add_argument("--quick", action="store_true",
                        help="smoke mode: small sizes, ≤ 30 s (numbers are coarse)")
    parser.add_argument("--out", default=None,
                        help="output folder (default figures/, or figures/quick/ with --quick "
                             "so smoke runs never overwrite the committed full figures)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = str(FIGURES / "quick" if args.quick else FIGURES)
    return args


class Experiment:
    """Collects results and writes the figure and JSON at the end."""

    def __init__(self, name: str, args: argparse.Namespace, config: dict[str, Any]):
        self.name = name
        self.quick = bool(args.quick)
        self.out = Path(args.out)
        self.config = config
        self.start = time.perf_counter()

    def save(self, fig, results: dict[str, Any]) -> list[Path]:
        """Write <name>.png, <name>.pdf and <name>.json (each atomically)."""
        from simquanta import plots

        if self.quick:
            mark_quick(fig)
        paths = plots.save(fig, self.out / f"{self.name}.png", formats=("png", "pdf"))
        payload = {
            "experiment": self.name,
            "mode": "quick" if self.quick else "full",
            "results": _jsonable(results),
            "config": _jsonable(self.config),
            "wall_seconds": time.perf_counter() - self.start,
            "versions": package_versions(),
        }
        target = self.out / f"{self.name}.json"
        with atomic_path(target) as tmp, open(tmp, "w") as fh:
            json.dump(payload, fh, indent=1)
            fh.write("\n")
        paths.append(target)
        print(f"{self.name}: wrote {', '.join(str(p) for p in paths)} "
              f"({payload['wall_seconds']:.1f} s)")
        return paths


#: the words a quick-mode figure carries (a smoke run must never pass for a result)
QUICK_MARK = "QUICK MODE · smoke-test sizes, coarse numbers"


def mark_quick(fig) -> None:
    """Stamp ``fig`` as a quick-mode figure: a faint diagonal mark across it."""
    fig.text(0.5, 0.5, QUICK_MARK, rotation=20, ha="center", va="center", fontsize=11,
             color="#D55E00", alpha=0.22, zorder=10, fontweight="bold")


def log_ints(low: float, high: float, per_decade: int) -> np.ndarray:
    """Distinct integers log-spaced from low to high, ``per_decade`` per decade."""
    n = int(round(per_decade * math.log10(high / low))) + 1
    return np.unique(np.round(np.geomspace(low, high, n)).astype(np.int64))


def _jsonable(obj: Any) -> Any:
    """numpy scalars/arrays → lists and floats; inf/nan → strings JSON can hold."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else str(x)
    return obj
