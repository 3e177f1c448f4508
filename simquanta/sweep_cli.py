"""``simquanta sweep FILE.toml`` and ``simquanta info RESULTS``.

The main CLI wires these in with::

    add_sweep_parsers(subparsers)          # registers "sweep" and "info"
    ...
    if args.command == "sweep": return run_sweep_command(args)
    if args.command == "info": return run_info_command(args)

Bad input (sweep file, options, output directory) prints one line ``error: ...`` on stderr
and returns 2; a failure while cells run returns 1 (finished cells stay on disk, and a
rerun computes only the rest).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

SWEEP_EXAMPLE = """examples:
  simquanta sweep experiments/sweeps/example.toml            # all cores (processes)
  simquanta sweep experiments/sweeps/example.toml --executor serial
  simquanta sweep big.toml --executor dask --workers 8        # local Dask cluster
  simquanta sweep big.toml --executor dask --scheduler tcp://10.0.0.5:8786
  simquanta sweep experiments/sweeps/example.toml --force     # after editing the spec

Rerunning computes only missing cells. A spec edit that invalidates stored cells is
refused unless --force, which deletes the stale cells. Results go to `out` from the file:
sweep.json (provenance), cells/*.nc, merged.nc (xarray.open_dataset) and merged.csv.
"""

INFO_EXAMPLE = """examples:
  simquanta info results/sweeps/example               # a sweep directory (even unfinished)
  simquanta info results/sweeps/example/merged.nc
  simquanta info run.nc --json                        # a single `simulate --out` result
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"workers = {text!r} is invalid: must be an "
                                         "integer >= 1")
    return value


def add_sweep_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``sweep`` and ``info`` subcommands on an argparse subparsers object."""
    p = subparsers.add_parser(
        "sweep", help="run a parameter sweep from a TOML file",
        description="Run every missing cell of a sweep (grid × replicate seeds), writing each "
                    "as it finishes, then merge them into one labeled dataset.",
        epilog=SWEEP_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE.toml",
                   help="sweep file (format: simquanta/sweep/__init__.py)")
    p.add_argument("--executor", choices=["serial", "processes", "dask"], default="processes",
                   help="serial: this process; processes: a local process pool (default); "
                        "dask: a Dask cluster (pip install \"simquanta[dask]\")")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address (default: start a local cluster)")
    p.add_argument("--workers", type=_positive_int, metavar="N",
                   help=f"worker processes (default: all {os.cpu_count() or 1} cores)")
    p.add_argument("--force", action="store_true",
                   help="delete stored cells that no longer match the spec, then recompute")
    p.add_argument("--out", metavar="DIR", help="output directory (overrides `out` in FILE)")
    p.add_argument("--no-table", action="store_true", help="skip the merged.csv export")
    p.add_argument("--max-memory", metavar="SIZE",
                   help="refuse a sweep estimated to need more memory (e.g. 8G, 50%%; default "
                        "80%% of the available memory)")
    p.add_argument("--allow-large-grid", action="store_true",
                   help="permit a grid of more than 10^6 cells")

    q = subparsers.add_parser(
        "info", help="show provenance and a summary of results",
        description="Print the spec, seeds, package versions, git revision and a summary "
                    "(cells done/total, axes, dims, loss range) of a sweep directory, a "
                    "merged.nc or a single-run .nc file.",
        epilog=INFO_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("results", metavar="RESULTS", help="sweep directory or .nc file")
    q.add_argument("--json", action="store_true", help="print one JSON object")


def _fail(message: str, status: int = 2) -> int:
    sys.stderr.write(f"error: {message}\n")
    return status


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def run_sweep_command(args: argparse.Namespace) -> int:
    """``simquanta sweep``: 0 on success, 2 on bad input, 1 if running cells failed."""
    from .sweep import DASK_MISSING, dask_available, load_sweep, run_sweep

    if args.scheduler and args.executor != "dask":
        return _fail("--scheduler needs --executor dask")
    if args.workers and args.executor == "serial":
        return _fail("--workers applies to --executor processes or dask, not serial")
    if args.workers and args.scheduler:
        return _fail("--workers starts a local Dask cluster; with --scheduler the "
                     "cluster's own workers run the cells")
    try:
        from .resources import memory_limit

        memory_limit(args.max_memory)
        # validates every cell before anything runs
        spec = load_sweep(args.file, allow_large=args.allow_large_grid)
        if args.executor == "dask" and not dask_available():
            return _fail(DASK_MISSING)
        run = run_sweep(spec, executor=args.executor, workers=args.workers,
                        scheduler=args.scheduler, force=args.force, out=args.out,
                        table=not args.no_table, max_memory=args.max_memory)
    except (ValueError, OSError) as exc:
        return _fail(_first_line(exc))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: finished cells are saved; rerun to continue\n")
        return 130
    except Exception as exc:  # a cell or worker failed mid-run
        return _fail(f"sweep failed: {type(exc).__name__}: {_first_line(exc)} (finished "
                     "cells are saved; rerun to continue)", 1)
    print(f"sweep {spec.name}: {run.cells} cells ({run.computed} computed, {run.reused} "
          f"reused{f', {run.removed} stale removed' if run.removed else ''}) in "
          f"{run.wall_seconds:.1f} s")
    for where, why in run.quarantined:
        print(f"quarantined {where} ({why}); recomputed")
    for path in run.written:
        print(f"wrote {path}")
    if not run.written:
        print(f"up to date: {run.merged}")
    return 0


def _format_info(info: dict[str, Any]) -> str:
    lines = [f"{info['kind']}: {info['path']}"]
    if info.get("name"):
        lines.append(f"  sweep:        {info['name']} ({info.get('status')})")
    total = "?" if info.get("cells_total") is None else info["cells_total"]
    lines.append(f"  cells:        {info['cells_done']}/{total} done")
    for problem in info.get("problems", []):
        lines.append(f"  problem:      {problem}")
    if info.get("axes"):
        for axis, values in info["axes"].items():
            lines.append(f"  axis {axis + ':':<9} {json.dumps(values)}")
    lines.append("  dims:         " + ", ".join(f"{k}={v}" for k, v in info["dims"].items()))
    lo, hi = info.get("loss_min"), info.get("loss_max")
    lines.append("  loss range:   " + ("n/a (no cell finished)" if lo is None
                                       else f"{lo:.6g} .. {hi:.6g} bits per sample"))
    lines.append(f"  seeds:        {json.dumps(info['seeds'])}")
    if info.get("engine"):
        lines.append(f"  engine:       {info['engine']}")
    lines.append("  versions:     " + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
                 if isinstance(info["versions"], dict)
                 else f"  versions:     {json.dumps(info['versions'])}")
    lines.append(f"  git revision: {info.get('git_revision') or 'null (unknown)'}")
    if info.get("spec_hash"):
        lines.append(f"  spec hash:    {info['spec_hash']}")
    if info.get("spec_file"):
        lines.append(f"  spec file:    {info['spec_file']}")
    lines.append("  spec:         " + json.dumps(info["spec"], sort_keys=True, default=str))
    return "\n".join(lines)


def run_info_command(args: argparse.Namespace) -> int:
    """``simquanta info``: 0 on success, 2 if RESULTS is missing or not simquanta output."""
    from .sweep import sweep_info

    try:
        info = sweep_info(args.results)
    except (ValueError, OSError) as exc:
        return _fail(_first_line(exc))
    if args.json:
        print(json.dumps(info, default=str))
        return 0
    try:
        text = _format_info(info)
    except Exception:  # noqa: BLE001 - odd values in a hand-edited file: show them raw
        text = json.dumps(info, default=str, indent=1)
    print(text)
    return 0
