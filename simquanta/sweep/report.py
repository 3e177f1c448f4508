"""``sweep_info``: provenance and a summary of a sweep directory, merged.nc or single run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .merge import read_cell
from .store import MANIFEST, MERGED, cell_path, is_running, read_manifest


def sweep_info(path: str | os.PathLike) -> dict[str, Any]:
    """Provenance and a summary of a sweep directory, a merged.nc or a single-run .nc."""
    import xarray as xr

    path = Path(path)
    if path.is_dir():
        manifest = read_manifest(path)
        if manifest is None:
            raise ValueError(f"results = {str(path)!r} is invalid: no {MANIFEST} here "
                             "(not a sweep directory)")
        keys = manifest["cells"]
        done = sum(cell_path(path, k).exists() for k in keys)
        merged = path / MERGED
        lo = hi = None
        if merged.exists():
            with xr.open_dataset(merged, engine="netcdf4") as ds:
                lo, hi = float(ds["loss"].min()), float(ds["loss"].max())
        else:
            for key in dict.fromkeys(keys):
                cell = cell_path(path, key)
                if cell.exists():
                    loss = read_cell(cell)["loss"]
                    a, b = float(np.nanmin(loss)), float(np.nanmax(loss))
                    lo, hi = (a, b) if lo is None else (min(lo, a), max(hi, b))
        dims = {d["name"]: d["size"] for d in manifest["dims"]}
        dims["replicate"] = len(manifest["seeds"])
        status = manifest.get("status")
        if status == "running" and not is_running(path):
            status = "interrupted (rerun the sweep to finish it)"
        return {
            "kind": "sweep directory", "path": str(path), "name": manifest["name"],
            "status": status, "cells_done": done, "cells_total": len(keys),
            "dims": dims, "axes": manifest["spec"]["axes"], "seeds": manifest["seeds"],
            "loss_min": lo, "loss_max": hi, "spec": manifest["spec"],
            "spec_hash": manifest["spec_hash"], "spec_file": manifest.get("spec_file"),
            "versions": manifest["versions"], "git_revision": manifest.get("git_revision"),
            "merged": str(merged) if merged.exists() else None,
        }
    if not path.exists():
        raise ValueError(f"results = {str(path)!r} is invalid: no such file or directory")
    try:
        ds = xr.open_dataset(path, engine="netcdf4")
    except (OSError, ValueError) as exc:
        raise ValueError(f"results = {str(path)!r} is invalid: not a netCDF file "
                         f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                         ) from None
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


