"""``sweep_info``: provenance and a summary of a sweep directory, merged.nc or single run.

It reads, never writes, and opens only regular files (a FIFO would block it). A damaged
sweep directory (hand-edited manifest, truncated or misnamed cells, unreadable merged.nc) is
reported, not raised: ``problems`` lists what could not be read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .merge import read_cell
from .store import MANIFEST, MERGED, cell_path, is_running, read_manifest


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _directory_info(path: Path) -> dict[str, Any]:
    import xarray as xr

    problems: list[str] = []
    info: dict[str, Any] = {
        "kind": "sweep directory", "path": str(path), "name": None, "status": None,
        "cells_done": 0, "cells_total": None, "dims": {}, "axes": {}, "seeds": [],
        "loss_min": None, "loss_max": None, "spec": None, "spec_hash": None,
        "spec_file": None, "versions": {}, "git_revision": None, "merged": None,
        "problems": problems,
    }
    manifest_path = path / MANIFEST
    if not os.path.lexists(manifest_path):
        raise ValueError(f"results = {str(path)!r} is invalid: no {MANIFEST} here "
                         "(not a sweep directory)")
    try:
        manifest = read_manifest(path)
    except ValueError as exc:
        problems.append(str(exc).split(": ", 1)[-1])
        cells = path / "cells"
        if cells.is_dir():
            info["cells_done"] = sum(1 for p in cells.glob("*.nc") if _regular(p))
        return info
    assert manifest is not None  # the file exists and read_manifest checked it
    keys = manifest["cells"]
    lo = hi = None
    bad: list[str] = []
    done = 0
    merged = path / MERGED
    merged_ok = False
    if os.path.lexists(merged):
        try:
            if not _regular(merged):
                raise ValueError("not a regular file")
            with xr.open_dataset(merged, engine="netcdf4") as ds:
                lo, hi = float(ds["loss"].min()), float(ds["loss"].max())
            merged_ok = True
        except Exception as exc:  # noqa: BLE001 - report whatever is wrong with it
            problems.append(f"{MERGED} is unreadable ({_first_line(exc)})")
            lo = hi = None
    for key in dict.fromkeys(keys):
        cell = cell_path(path, key)
        if not os.path.lexists(cell):
            continue
        try:
            if not _regular(cell):
                raise ValueError("not a regular file")
            data = read_cell(cell)
            if data.get("key", key) != key:
                raise ValueError("it holds another cell")
        except Exception:  # noqa: BLE001 - counted and named below
            bad.append(cell.name)
            continue
        done += 1
        if not merged_ok and data["loss"].size:
            with np.errstate(all="ignore"):
                a, b = float(np.nanmin(data["loss"])), float(np.nanmax(data["loss"]))
            lo, hi = (a, b) if lo is None else (min(lo, a), max(hi, b))
    if bad:
        shown = ", ".join(bad[:3]) + (", ..." if len(bad) > 3 else "")
        problems.append(f"{len(bad)} cell file(s) unreadable or misnamed ({shown}); a rerun "
                        "moves them to quarantine/ and recomputes them")
    dims = {d["name"]: d["size"] for d in manifest["dims"]}
    dims["replicate"] = len(manifest["seeds"])
    status = manifest.get("status")
    if status == "running" and not is_running(path):
        status = "interrupted (rerun the sweep to finish it)"
    info.update({
        "name": manifest["name"], "status": status, "cells_done": done,
        "cells_total": len(set(keys)), "dims": dims, "axes": manifest["spec"]["axes"],
        "seeds": manifest["seeds"], "loss_min": lo, "loss_max": hi, "spec": manifest["spec"],
        "spec_hash": manifest["spec_hash"], "spec_file": manifest.get("spec_file"),
        "versions": manifest["versions"], "git_revision": manifest.get("git_revision"),
        "merged": str(merged) if merged_ok else None,
    })
    return info


def sweep_info(path: str | os.PathLike) -> dict[str, Any]:
    """Provenance and a summary of a sweep directory, a merged.nc or a single-run .nc."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ValueError(f"results = {path!r} is invalid: must be a directory or file path")
    path = Path(path)
    if path.is_dir():
        return _directory_info(path)
    if not os.path.lexists(path):
        raise ValueError(f"results = {str(path)!r} is invalid: no such file or directory")
    if not path.is_file():
        raise ValueError(f"results = {str(path)!r} is invalid: not a regular file (a FIFO, "
                         "device or broken link); info opens only regular files")
    try:
        return _file_info(path)
    except Exception as exc:  # noqa: BLE001 - a damaged file is bad input, not a crash
        if isinstance(exc, ValueError) and str(exc).startswith("results = "):
            raise
        raise ValueError(f"results = {str(path)!r} is invalid: damaged or not simquanta "
                         f"output ({_first_line(exc)})") from None


def _file_info(path: Path) -> dict[str, Any]:
    import xarray as xr

    try:
        ds = xr.open_dataset(path, engine="netcdf4")
    except Exception as exc:  # noqa: BLE001 - whatever the netCDF library raises
        raise ValueError(f"results = {str(path)!r} is invalid: not a netCDF file "
                         f"({_first_line(exc)})") from None
    with ds:
        attrs = dict(ds.attrs)
        dims = dict(ds.sizes)
        lo, hi = ((float(ds["loss"].min()), float(ds["loss"].max())) if "loss" in ds
                  else (None, None))
        if attrs.get("title") == "simquanta sweep":
            spec = json.loads(attrs["spec"])
            return {
                "kind": "merged sweep", "path": str(path), "name": attrs.get("sweep_name"),
                "status": "complete", "cells_done": int(attrs["n_cells"]),
                "cells_total": int(attrs["n_cells"]), "dims": dims, "axes": spec["axes"],
                "seeds": json.loads(attrs["seeds"]), "loss_min": lo, "loss_max": hi,
                "spec": spec, "spec_hash": attrs.get("spec_hash"),
                "versions": json.loads(attrs["versions"]),
                "git_revision": attrs.get("git_revision"),
            }
        if "config" not in attrs:
            raise ValueError(f"results = {str(path)!r} is invalid: not a simquanta result")
        config = json.loads(attrs["config"])
        return {
            "kind": "single run", "path": str(path), "engine": attrs.get("engine"),
            "cells_done": 1, "cells_total": 1, "dims": dims, "axes": {},
            "seeds": [config.get("seed")], "loss_min": lo, "loss_max": hi, "spec": config,
            "versions": json.loads(attrs.get("versions", "{}")), "git_revision": None,
        }
