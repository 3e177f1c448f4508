"""Merging: all cell files of a sweep → one labeled ``xarray.Dataset``; tidy tables."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_path
from .keys import canonical_json
from .store import MANIFEST, MERGED, cell_path, quarantine, read_manifest

_PER_CHECKPOINT = ("loss", "learned", "used")


def labels_coords(values: list[Any]) -> np.ndarray:
    """Coordinate labels for an axis: numbers (with "inf" as infinity), bools or strings as
    they are; anything else (lists, tables, mixtures) as canonical JSON strings."""
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) or v == "inf"
           for v in values):
        # capacity = [100, "inf"]: numeric labels, so ds.sel(capacity=np.inf) works
        return np.array([math.inf if v == "inf" else v for v in values], dtype=np.float64)
    return np.array([v if isinstance(v, str) else canonical_json(v) for v in values],
                    dtype=object)



def merge_cells(out: str | os.PathLike) -> Any:
    """All cells of the sweep in ``out`` as one ``xarray.Dataset``, in spec order.

    Dims: the sweep dims (axes; a zip group is one dim), ``replicate``, ``agent``,
    ``checkpoint``. Variables: ``loss``, ``learned``, ``used`` per agent and checkpoint,
    ``agent_capacity`` per agent, ``cell_engine`` per cell, and ``task_success`` per agent,
    checkpoint and ``task`` when the sweep has composition graphs. ``step``/``samples`` are
    coordinates on ``checkpoint`` when every cell shares them, else variables per cell.
    Cells with fewer agents or checkpoints are padded (NaN; -1 for ``learned``).
    Per-quantum arrays (frequencies, learn steps) stay in the cell files.
    """
    import xarray as xr

    out = Path(out)
    manifest = read_manifest(out)
    if manifest is None:
        raise ValueError(f"out = {str(out)!r} is invalid: no {MANIFEST} (not a sweep)")
    keys: list[str] = manifest["cells"]
    dims = manifest["dims"]
    spec = manifest["spec"]
    sweep_shape = tuple(d["size"] for d in dims) + (len(manifest["seeds"]),)
    missing = [k for k in dict.fromkeys(keys) if not cell_path(out, k).exists()]
    if missing:
        raise ValueError(f"out = {str(out)!r} is invalid: {len(missing)} of "
                         f"{len(set(keys))} cells are not computed yet; run the sweep first")
    loaded = {}
    for key in dict.fromkeys(keys):  # a cell that fails here goes to the quarantine
        path = cell_path(out, key)
        try:
            loaded[key] = read_cell(path)
            problem = (None if loaded[key].get("key", key) == key
                       else f"it holds cell {str(loaded[key]['key'])[:12]}...")
        except Exception as exc:  # noqa: BLE001 - unreadable, whatever the library says
            problem = f"unreadable ({type(exc).__name__})"
        if problem is not None:
            where = quarantine(out, path)
            raise ValueError(f"out = {str(out)!r} is invalid: cell {key[:12]}... {problem}; "
                             f"moved to {where}; rerun the sweep to recompute it")
    first = loaded[keys[0]]
    n_agents = max(c["loss"].shape[0] for c in loaded.values())
    n_checkpoints = max(c["loss"].shape[1] for c in loaded.values())
    agent_ids = [tuple(c["agent"].tolist()) for c in loaded.values()]
    grids = {name: [tuple(c[name].tolist()) for c in loaded.values()]
             for name in ("step", "samples")}
    padded = any(c["loss"].shape != (n_agents, n_checkpoints) for c in loaded.values())

    arrays = {
        "loss": np.full(sweep_shape + (n_agents, n_checkpoints), np.nan),
        "learned": np.full(sweep_shape + (n_agents, n_checkpoints), -1, dtype=np.int64),
        "used": np.full(sweep_shape + (n_agents, n_checkpoints), np.nan),
        "agent_capacity": np.full(sweep_shape + (n_agents,), np.nan),
        "step": np.full(sweep_shape + (n_checkpoints,), -1, dtype=np.int64),
        "samples": np.full(sweep_shape + (n_checkpoints,), -1, dtype=np.int64),
    }
    # Tasks: the union over cells (graphs may be an axis), in order of first appearance;
    # a cell without a task holds NaN there.
    tasks = list(dict.fromkeys(t for c in loaded.values() for t in c.get("task", [])))
    task_success = np.full(sweep_shape + (n_agents, n_checkpoints, len(tasks)), np.nan)
    engines = np.empty(sweep_shape, dtype=object)
    versions: list[dict[str, Any]] = []
    for flat, key in enumerate(keys):
        idx = np.unravel_index(flat, sweep_shape)  # spec order, never completion order
        cell = loaded[key]
        na, nc = cell["loss"].shape
        for name in _PER_CHECKPOINT:
            arrays[name][idx][:na, :nc] = cell[name]
        arrays["agent_capacity"][idx][:na] = cell["capacity"]
        arrays["step"][idx][:nc] = cell["step"]
        arrays["samples"][idx][:nc] = cell["samples"]
        for j, task in enumerate(cell.get("task", [])):
            task_success[idx][:na, :nc, tasks.index(task)] = cell["task_success"][..., j]
        engines[idx] = cell["engine"]
        if cell["versions"] not in versions:
            versions.append(cell["versions"])

    sweep_dims = tuple(d["name"] for d in dims) + ("replicate",)
    coords: dict[str, Any] = {"replicate": np.arange(len(manifest["seeds"])),
                              "seed": ("replicate", np.array(
                                  manifest["seeds"], np.int64 if max(manifest["seeds"]) < 2**63
                                  else np.uint64))}
    for d in dims:
        if len(d["axes"]) == 1:
            axis = d["axes"][0]
            coords[axis] = labels_coords(spec["axes"][axis])
        else:
            coords[d["name"]] = np.arange(d["size"])
            for axis in d["axes"]:
                coords[axis] = (d["name"], labels_coords(spec["axes"][axis]))
        if "graph" in d["axes"]:
            coords["graph_sha256"] = (d["name"], np.array(
                [spec["graphs"][p] for p in spec["axes"]["graph"]], dtype=object))
    shared_agents = len(set(agent_ids)) == 1
    coords["agent"] = np.array(agent_ids[0]) if shared_agents else np.arange(n_agents)
    coords["checkpoint"] = np.arange(n_checkpoints)
    data_vars: dict[str, Any] = {}
    for name in ("step", "samples"):
        if len(set(grids[name])) == 1 and len(grids[name][0]) == n_checkpoints:
            coords[name] = ("checkpoint", np.array(grids[name][0], dtype=np.int64))
        else:
            data_vars[name] = (sweep_dims + ("checkpoint",), arrays[name],
                               {"long_name": f"{name} at each checkpoint of each cell",
                                "missing": -1})
    fill_note = "; padded with NaN (-1 for learned) where a cell has fewer agents or " \
                "checkpoints" if padded else ""
    for name in _PER_CHECKPOINT:
        attrs = dict(first["attrs"][name])
        if fill_note:
            attrs["note"] = fill_note.lstrip("; ")
        data_vars[name] = (sweep_dims + ("agent", "checkpoint"), arrays[name], attrs)
    data_vars["agent_capacity"] = (sweep_dims + ("agent",), arrays["agent_capacity"],
                                   {"units": "cost units"})
    data_vars["cell_engine"] = (sweep_dims, engines.astype(str).astype(object),
                                {"long_name": "engine that ran the cell"})
    if tasks:
        coords["task"] = np.array(tasks, dtype=object)
        data_vars["task_success"] = (sweep_dims + ("agent", "checkpoint", "task"), task_success,
                                     {"long_name": "composition-graph task success "
                                                   "probability (NaN: task not in the cell's "
                                                   "graph)"})
    attrs = {
        "title": "simquanta sweep",
        "sweep_name": manifest["name"],
        "spec": json.dumps(spec, sort_keys=True),
        "spec_hash": manifest["spec_hash"],
        "seeds": json.dumps(manifest["seeds"]),
        "versions": json.dumps(versions[0] if len(versions) == 1 else versions),
        "simquanta_version": spec["simquanta"],
        "n_cells": len(keys),
    }
    if manifest.get("git_revision"):
        attrs["git_revision"] = manifest["git_revision"]
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def read_cell(path: Path) -> dict[str, Any]:
    """The arrays merge needs from one cell file (netCDF4 directly: ~5x faster than
    xarray.open_dataset per file, which matters for sweeps of many small cells)."""
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        nc.set_auto_mask(False)
        cell: dict[str, Any] = {name: np.asarray(nc.variables[name][:]) for name in (
            *_PER_CHECKPOINT, "capacity", "step", "samples", "agent")}
        cell["attrs"] = {name: {a: nc.variables[name].getncattr(a)
                                for a in nc.variables[name].ncattrs()
                                if not a.startswith("_") and a != "coordinates"}
                         for name in _PER_CHECKPOINT}
        cell["engine"] = str(nc.getncattr("engine"))
        if "sweep_cell" in nc.ncattrs():
            record = json.loads(nc.getncattr("sweep_cell"))
            cell["key"] = record.get("key") if isinstance(record, dict) else None
        cell["versions"] = json.loads(nc.getncattr("versions"))
        if "task_success" in nc.variables:
            cell["task_success"] = np.asarray(nc.variables["task_success"][:])
            cell["task"] = [str(t) for t in nc.variables["task"][:]]
    return cell


def open_sweep(path: str | os.PathLike) -> Any:
    """The merged dataset of a sweep directory (or a merged.nc path), loaded in memory."""
    import xarray as xr

    path = Path(path)
    target = path / MERGED if path.is_dir() else path
    if not target.exists():
        raise ValueError(f"sweep = {str(path)!r} is invalid: no {MERGED}; run the sweep")
    with xr.open_dataset(target, engine="netcdf4") as ds:
        return ds.load()


def to_table(ds: Any) -> Any:
    """A tidy ``pandas.DataFrame``: one row per cell, agent and checkpoint, with the axes,
    seed, step and samples as columns, and one ``task:<name>`` column per composition-graph
    task (padding rows dropped)."""
    names = [v for v in ds.data_vars if "quantum" not in ds[v].dims and "task" not in ds[v].dims]
    order = list(ds["loss"].dims)
    frame = ds[names].to_dataframe(dim_order=order).reset_index()
    if "task_success" in ds:
        for task in ds["task"].values:
            column = ds["task_success"].sel(task=task).transpose(*order).values.ravel()
            frame[f"task:{task}"] = column
    return frame.dropna(subset=["loss"]).reset_index(drop=True)


def export_table(ds: Any, path: str | os.PathLike) -> list[Path]:
    """Write ``to_table(ds)`` as CSV at ``path`` (and Parquet next to it when pyarrow is
    installed), atomically. Returns the paths written."""
    path = Path(path)
    frame = to_table(ds)
    written = []
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    written.append(path)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return written
    parquet = path.with_suffix(".parquet")
    with atomic_path(parquet) as tmp:
        frame.to_parquet(tmp, index=False)
    written.append(parquet)
    return written

