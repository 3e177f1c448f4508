"""``run_sweep``: validate, claim the output directory, run the missing cells, merge."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import atomic_path
from ..resources import Estimate, check_memory
from ..result import package_versions
from .executors import DASK_MISSING, EXECUTORS, dask_available, run_dask, run_processes, run_serial
from .grid import Cell
from .keys import git_revision, short
from .merge import export_table, merge_cells
from .spec import SweepSpec, as_spec
from .store import (
    CELLS,
    FORMAT,
    MERGED,
    PARQUET,
    TABLE,
    check_owner,
    clean_temporaries,
    locked,
    prepare_out,
    stored_keys,
    verify_stored,
    write_manifest,
)


class _Progress:
    """tqdm bar on a terminal; plain 'cell i/n done ...' lines otherwise (logs, CI)."""

    def __init__(self, total: int, done: int, enabled: bool | None, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.done, self.start_done = total, done, done
        self.start = time.perf_counter()
        self.enabled = enabled is not False
        self.bar = None
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="cell", file=self.stream,
                            dynamic_ncols=True, smoothing=0.1)

    def log(self, message: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def update(self, label: str, seconds: float) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        rate = (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else math.inf
        print(f"cell {self.done}/{self.total} done ({label}) in {seconds:.2f} s; "
              f"elapsed {elapsed:.1f} s, ETA {eta:.1f} s", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()



@dataclass(frozen=True)
class SweepRun:
    """What ``run_sweep`` did."""

    out: Path
    cells: int  # cells in the sweep (grid points × replicates)
    computed: int  # simulations run now
    reused: int  # distinct cells found on disk
    removed: int  # stale cells deleted (force)
    merged: Path
    tables: tuple[Path, ...]
    wall_seconds: float
    #: files this run wrote (merged.nc and the tables only when they changed)
    written: tuple[Path, ...] = ()
    #: stored cells moved to <out>/quarantine/ and recomputed: (where to, why)
    quarantined: tuple[tuple[Path, str], ...] = ()


def run_sweep(spec: SweepSpec | Mapping[str, Any] | str | os.PathLike, *,
              executor: str = "processes", workers: int | None = None,
              scheduler: str | None = None, force: bool = False,
              out: str | os.PathLike | None = None, progress: bool | None = None,
              table: bool = True, max_memory: Any = None,
              allow_large: bool = False) -> SweepRun:
    """Run the missing cells of a sweep, then write merged.nc (and the tidy table).

    ``executor``: ``serial`` (this process; each cell uses all numba threads),
    ``processes`` (a spawn-context process pool, one numba thread per worker; default)
    or ``dask`` (``scheduler`` address, else a LocalCluster of ``workers`` single-threaded
    process workers). ``workers`` defaults to ``os.cpu_count()``. ``force`` deletes stored
    cells that no longer match the spec (cells that still match are kept: they are what a
    recomputation would give). ``out`` overrides the spec's output directory.
    ``progress``: None = a bar on a terminal, plain lines otherwise; False = silent.
    ``max_memory``: refuse a sweep whose cells running at once, or whose merge, would need
    more memory (default 80 % of the available memory; ``resources.memory_limit``).
    ``allow_large``: permit grids of more than 10^6 cells.

    Everything is validated before anything runs; bad input raises ValueError. Stored cells
    that cannot be read or do not match their name are moved to ``<out>/quarantine/`` and
    recomputed (``SweepRun.quarantined``).
    """
    start = time.perf_counter()
    spec = as_spec(spec, allow_large=allow_large)
    if executor not in EXECUTORS:
        raise ValueError(f"executor = {executor!r} is invalid: must be one of "
                         f"{', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers = {workers!r} is invalid: must be an integer >= 1")
    if scheduler is not None and executor != "dask":
        raise ValueError(f"scheduler = {scheduler!r} is invalid: only applies to "
                         "executor = dask")
    if executor == "dask" and not dask_available():
        raise ValueError(DASK_MISSING)
    out_dir = Path(out).resolve() if out is not None else spec.out_dir
    if out_dir is None:
        raise ValueError("out = None is invalid: give the output directory (out = \"...\" "
                         "in the sweep file)")
    workers = workers or os.cpu_count() or 1
    by_key: dict[str, Cell] = {}
    for cell in spec.cells:
        by_key.setdefault(cell.key, cell)
    _check_sweep_memory(spec, by_key, executor, workers, scheduler, max_memory)
    manifest = check_owner(spec, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with locked(out_dir):
        clean_temporaries(out_dir)
        removed, changed = prepare_out(spec, out_dir, force, manifest)
        moved = verify_stored(out_dir, by_key)
        stored = stored_keys(out_dir)
        pending = [c for k, c in by_key.items() if k not in stored]
        reused = len(by_key) - len(pending)
        versions = package_versions()
        revision = git_revision()
        record = {
            "format": FORMAT,
            "name": spec.name,
            "spec_file": None if spec.source is None else str(Path(spec.source).resolve()),
            "spec_hash": spec.spec_hash,
            "spec": spec.to_dict(),
            "dims": [{"name": d.name, "axes": list(d.members), "size": d.size}
                     for d in spec.dims],
            "seeds": list(spec.seeds),
            "cells": [c.key for c in spec.cells],
            "versions": versions,
            "git_revision": revision,
            "created": None,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "status": "running",
        }
        kept = manifest is not None and not changed and manifest.get("created")
        record["created"] = kept or record["updated"]
        write_manifest(out_dir, record)

        (out_dir / CELLS).mkdir(exist_ok=True)
        bar = _Progress(len(by_key), reused, progress)
        if changed and not removed:
            bar.log(f"sweep {spec.name}: spec changed; all stored cells still match "
                    "and are reused")
        for where, why in moved:
            bar.log(f"sweep {spec.name}: cell {where.name} moved to {where.parent} ({why}); "
                    "recomputing it")

        def on_done(cell: Cell, seconds: float) -> None:
            label = ", ".join(f"{k}={short(v, 24)}" for k, v in cell.labels.items())
            bar.update(label, seconds)

        try:
            if pending and executor == "serial":
                run_serial(out_dir, pending, spec.name, on_done)
            elif pending and executor == "processes":
                run_processes(out_dir, pending, spec.name, workers, on_done)
            elif pending:
                run_dask(out_dir, pending, spec.name, workers, scheduler, on_done, bar.log)
        finally:
            bar.close()
        merged_path = out_dir / MERGED
        tables: list[Path] = []
        written: list[Path] = []
        if pending or moved or not merged_path.exists():
            ds = merge_cells(out_dir)
            with atomic_path(merged_path, "out") as tmp:
                ds.to_netcdf(tmp, engine="netcdf4")
            written.append(merged_path)
            if table:
                tables = export_table(ds, out_dir / TABLE)
                written += tables
        else:
            tables = [p for p in (out_dir / TABLE, out_dir / PARQUET) if p.exists()]
        record["status"] = "complete"
        record["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_manifest(out_dir, record)
    return SweepRun(out=out_dir, cells=len(spec.cells), computed=len(pending), reused=reused,
                    removed=removed, merged=merged_path, tables=tuple(tables),
                    wall_seconds=time.perf_counter() - start, written=tuple(written),
                    quarantined=tuple(moved))


def _check_sweep_memory(spec: SweepSpec, by_key: Mapping[str, Cell], executor: str,
                        workers: int, scheduler: str | None, max_memory: Any) -> None:
    """Refuse before anything runs when the cells running at once here, or the merged
    dataset, would need more memory than the limit."""
    cells = list(by_key.values())
    if not cells:
        return
    at_once = 1 if executor == "serial" else min(workers, len(cells))
    if executor == "dask" and scheduler:
        at_once = 0  # the cluster's memory, not ours
    biggest = sorted((c.memory for c in cells), reverse=True)[:at_once]
    agents = max(c.shape[0] for c in cells)
    checkpoints = max(c.shape[1] for c in cells)
    merged = 2 * 24 * len(spec.cells) * agents * checkpoints
    need = Estimate({"cells running at once": (sum(biggest), "workers and the cells' agents"
                                               " × checkpoints × n_quanta"),
                     "merged dataset": (merged, "cells × agents × checkpoints")})
    check_memory(need, max_memory, what=f"sweep {spec.name}")

