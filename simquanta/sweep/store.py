"""The output directory: manifest, one file per cell, lock, temporaries, ownership,
verified cells and the quarantine.

A sweep writes only into a folder that is new, empty, or holds its own manifest (same
sweep name); its lock (``.simquanta.lock``) and temporaries (``files.TEMP_PREFIX``) are the
only other names it creates, and the temporaries the only files it removes unasked. Each
cell file records its key (the config hash), the simquanta version and its shapes; a cell
whose contents do not match its name, or that cannot be read, is moved to ``quarantine/``
(never deleted) and recomputed.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import _version
from ..files import atomic_path, is_temporary, remove_temporaries
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
QUARANTINE = "quarantine"
LOCK = ".simquanta.lock"


def _regular_or_absent(path: Path, out: Path) -> bool:
    """True if ``path`` is a regular file, False if absent; ValueError otherwise."""
    if not os.path.lexists(path):
        return False
    if path.is_symlink() or not path.is_file():
        raise ValueError(f"out = {str(out)!r} is invalid: {path.name} is not a regular file "
                         "(a symlink, folder or special file); simquanta leaves it as it is")
    return True


def read_manifest(out: Path, structure: bool = True) -> dict[str, Any] | None:
    """The manifest of ``out`` (None if absent); ValueError if it is unreadable, not a
    sweep manifest or (``structure``) damaged."""
    path = out / MANIFEST
    if not _regular_or_absent(path, out):
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"out = {str(out)!r} is invalid: {MANIFEST} is unreadable "
                         f"({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"out = {str(out)!r} is invalid: {MANIFEST} is not a simquanta "
                         "sweep manifest")
    problem = manifest_problem(manifest) if structure else None
    if problem:
        raise ValueError(f"out = {str(out)!r} is invalid: {MANIFEST} is damaged ({problem})")
    return manifest


def manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with a manifest's structure (a hand edit), or None."""
    kinds = {"name": str, "spec_hash": str, "spec": dict, "dims": list, "seeds": list,
             "cells": list, "versions": dict}
    for key, kind in kinds.items():
        if not isinstance(manifest.get(key), kind):
            return f"{key} is missing or not a {kind.__name__}"
    spec = manifest["spec"]
    if not isinstance(spec.get("axes"), dict) or not isinstance(spec.get("graphs", {}), dict):
        return "spec.axes is missing or not a table"
    if not all(isinstance(k, str) and len(k) == 64 for k in manifest["cells"]):
        return "cells must be 64-character cell keys"
    if not manifest["seeds"] or not all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**64
            for s in manifest["seeds"]):
        return "seeds must be integers in [0, 2^64)"
    size = len(manifest["seeds"])
    for d in manifest["dims"]:
        if (not isinstance(d, dict) or not isinstance(d.get("name"), str)
                or not isinstance(d.get("size"), int) or isinstance(d.get("size"), bool)
                or d["size"] < 1 or not isinstance(d.get("axes"), list)
                or not all(isinstance(a, str) and isinstance(spec["axes"].get(a), list)
                           and len(spec["axes"][a]) == d["size"] for a in d["axes"])):
            return f"dims entry {short(d, 40)} does not match spec.axes"
        size *= d["size"]
    if size != len(manifest["cells"]):
        return f"{len(manifest['cells'])} cells listed for a grid of {size}"
    return None


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    with atomic_path(out / MANIFEST, "out") as tmp:
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
    lock = out / LOCK
    _regular_or_absent(lock, out)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "a+") as fh:
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
    lock = out / LOCK
    if lock.is_symlink() or not lock.is_file():
        return False
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False


def clean_temporaries(out: Path) -> int:
    """Remove simquanta's own temporary files (``files.is_temporary``) left by killed runs;
    nothing else."""
    return remove_temporaries(out) + remove_temporaries(out / CELLS)


def stored_keys(out: Path) -> set[str]:
    folder = out / CELLS
    if not folder.is_dir() or folder.is_symlink():
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
        "graph": cell.graph, "graph_sha256": cell.graph_sha256,
        "simquanta": _version.__version__,
        "shapes": {"agent": result.n_agents, "checkpoint": int(result.steps.size),
                   "quantum": int(result.frequencies.size)}})
    with atomic_path(path, "out") as tmp:
        ds.to_netcdf(tmp, engine="netcdf4")
    return path


def cell_problem(path: Path, cell: Cell) -> str | None:
    """Why the stored file of ``cell`` cannot be trusted, or None: unreadable, another
    cell's key, another simquanta version, or shapes other than the cell's config gives."""
    import netCDF4

    if path.is_symlink() or not path.is_file():
        return "not a regular file"
    try:
        with netCDF4.Dataset(path) as nc:
            attrs = set(nc.ncattrs())
            if "sweep_cell" not in attrs:
                return "no sweep_cell record (not written by a sweep)"
            record = json.loads(nc.getncattr("sweep_cell"))
            versions = json.loads(nc.getncattr("versions")) if "versions" in attrs else {}
            shapes = {"agent": nc.dimensions["agent"].size,
                      "checkpoint": nc.dimensions["checkpoint"].size,
                      "quantum": nc.dimensions["quantum"].size}
            loss = nc.variables["loss"]
            if loss.dimensions != ("agent", "checkpoint"):
                return "loss has the wrong dimensions"
            np.asarray(loss[:])  # a truncated file fails here, not at merge
    except Exception as exc:  # noqa: BLE001 - any failure to read means unreadable
        return f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if not isinstance(record, dict) or record.get("key") != cell.key:
        return f"it holds cell {short(record.get('key') if isinstance(record, dict) else None, 20)}"
    version = record.get("simquanta", versions.get("simquanta") if isinstance(versions, dict)
                         else None)
    if version != _version.__version__:
        return f"written by simquanta {version}, not {_version.__version__}"
    expected = dict(zip(("agent", "checkpoint", "quantum"), cell.shape, strict=True))
    recorded = record.get("shapes", shapes)
    for name, size in expected.items():
        if size and (shapes[name] != size or recorded.get(name) != size):
            return f"{shapes[name]} {name}s stored, {size} expected"
    return None


def quarantine(out: Path, path: Path) -> Path:
    """Move ``path`` to ``out/quarantine/`` (a free name; never overwrites or deletes)."""
    folder = out / QUARANTINE
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise ValueError(f"out = {str(out)!r} is invalid: {QUARANTINE} is not a folder")
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    n = 0
    while os.path.lexists(target):
        n += 1
        target = folder / f"{path.name}.{n}"
    os.rename(path, target)
    return target


def verify_stored(out: Path, cells: Mapping[str, Cell]) -> list[tuple[Path, str]]:
    """Check every stored cell of ``cells`` (key → cell); move the untrustworthy ones to the
    quarantine. Returns (where each went, why)."""
    moved = []
    for key in sorted(stored_keys(out) & set(cells)):
        path = cell_path(out, key)
        problem = cell_problem(path, cells[key])
        if problem is not None:
            moved.append((quarantine(out, path), problem))
    return moved


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
    if out.is_dir():
        for name in (CELLS, QUARANTINE):
            sub = out / name
            if os.path.lexists(sub) and (sub.is_symlink() or not sub.is_dir()):
                raise ValueError(f"out = {str(out)!r} is invalid: {name} is not a folder "
                                 "(a symlink or file); simquanta writes only inside out")
        for name in (MANIFEST, MERGED, TABLE, PARQUET, LOCK):
            _regular_or_absent(out / name, out)
    manifest = read_manifest(out, structure=False) if out.is_dir() else None
    if manifest is not None:
        owner = manifest.get("name")
        if owner != spec.name:
            raise ValueError(
                f"out = {str(out)!r} is invalid: it holds another sweep ({owner!r}, from "
                f"{manifest.get('spec_file')}), not {spec.name!r}; choose another out "
                "(--force never deletes another sweep's results)")
        manifest = read_manifest(out)
    elif out.is_dir():
        # empty means empty: dotfiles count (only our own lock and temporaries, left by a
        # run killed before it wrote its manifest, do not)
        others = sorted(p.name for p in out.iterdir()
                        if p.name != LOCK and not is_temporary(p.name))
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise ValueError(
                f"out = {str(out)!r} is invalid: it is not empty ({shown}) and holds no "
                f"{MANIFEST}; choose a new or empty directory")
    return manifest

