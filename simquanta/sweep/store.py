"""The output directory: manifest, one file per cell, lock, temporaries, ownership."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..files import atomic_path
from ..result import Result
from .grid import Cell
from .keys import canonical_json, short
from .spec import SweepSpec

FORMAT = "simquanta-sweep/1"
MANIFEST = "sweep.json"
CELLS = "cells"
MERGED = "merged.nc"
TABLE = "merged.csv"
PARQUET = "merged.parquet"


def read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"out = {str(out)!r} is invalid: {MANIFEST} is unreadable "
                         f"({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"out = {str(out)!r} is invalid: {MANIFEST} is not a simquanta "
                         "sweep manifest")
    return manifest


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    with atomic_path(out / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")



def _diff(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                changes.append(f"{where} removed (was {short(old[key], 40)})")
            elif key not in old:
                changes.append(f"{where} added ({short(new[key], 40)})")
            else:
                changes.extend(_diff(old[key], new[key], where))
        return changes
    if canonical_json(old) != canonical_json(new):
        return [f"{path} changed from {short(old, 40)} to {short(new, 40)}"]
    return []


def describe_changes(old_spec: Mapping[str, Any], new_spec: Mapping[str, Any]) -> str:
    """What differs between two recorded specs, e.g. 'axes.alpha changed from ... to ...'."""
    changes = _diff(dict(old_spec), dict(new_spec))
    if not changes:
        return "no visible change"
    more = f"; and {len(changes) - 3} more" if len(changes) > 3 else ""
    return "; ".join(changes[:3]) + more


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` so two sweeps never write (or clean) it at once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        yield
        return
    with open(out / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(f"out = {str(out)!r} is invalid: another simquanta sweep is "
                             "running in it") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def is_running(out: Path) -> bool:
    """True while a sweep process holds the lock on ``out``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return False
    lock = out / ".lock"
    if not lock.exists():
        return False
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False


def clean_temporaries(out: Path) -> int:
    """Remove temporary files ('.name.*.tmp') left by killed runs."""
    removed = 0
    for folder in (out, out / CELLS):
        if folder.is_dir():
            for path in folder.glob(".*.tmp"):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def stored_keys(out: Path) -> set[str]:
    folder = out / CELLS
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.glob("*.nc") if not p.name.startswith(".")}


def cell_path(out: Path, key: str) -> Path:
    return out / CELLS / f"{key}.nc"


def write_cell(out: Path, cell: Cell, result: Result, sweep_name: str) -> Path:
    """Save one finished cell atomically, tagged with its sweep identity."""
    path = cell_path(out, cell.key)
    ds = result.to_xarray()
    ds.attrs["sweep_cell"] = json.dumps({
        "sweep": sweep_name, "key": cell.key, "labels": cell.labels, "config": cell.config,
        "graph": cell.graph, "graph_sha256": cell.graph_sha256})
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4")
    return path


def prepare_out(spec: SweepSpec, out: Path, force: bool,
                manifest: dict[str, Any] | None) -> tuple[int, bool]:
    """Check that ``out`` belongs to this sweep and its stored cells match the spec.

    Returns (stale cells removed, spec changed). Must run under the directory lock.
    """
    wanted = {c.key for c in spec.cells}
    stale = stored_keys(out) - wanted
    changed = manifest is not None and manifest.get("spec_hash") != spec.spec_hash
    if stale and not force:
        if changed:
            what = describe_changes((manifest or {}).get("spec", {}), spec.to_dict())
            reason = f"the sweep spec changed since these results were stored ({what})"
        else:
            reason = "it holds cell files that are not part of this sweep"
        raise ValueError(
            f"out = {str(out)!r} is invalid: {reason}; {len(stale)} stored cell(s) no longer "
            "match. Rerun with --force (force=True) to delete them and recompute, or choose "
            "another out")
    for key in sorted(stale):
        cell_path(out, key).unlink(missing_ok=True)
    if stale or changed or force:
        for name in (MERGED, TABLE, PARQUET):
            (out / name).unlink(missing_ok=True)
    return len(stale), changed


def check_owner(spec: SweepSpec, out: Path) -> dict[str, Any] | None:
    """Refuse a directory that holds another sweep or anything but a sweep."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out = {str(out)!r} is invalid: it is a file, not a directory")
    manifest = read_manifest(out) if out.is_dir() else None
    if manifest is not None:
        owner = manifest.get("name")
        if owner != spec.name:
            raise ValueError(
                f"out = {str(out)!r} is invalid: it holds another sweep ({owner!r}, from "
                f"{manifest.get('spec_file')}), not {spec.name!r}; choose another out "
                "(--force never deletes another sweep's results)")
    elif out.is_dir():
        visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        if visible:
            raise ValueError(
                f"out = {str(out)!r} is invalid: it is not empty ({visible[0]}, ...) and holds "
                f"no {MANIFEST}; choose a new or empty directory")
    return manifest

