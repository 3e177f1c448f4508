"""Parameter sweeps: a grid of simulations → one file per finished cell → one labeled dataset.

Sweep file format (TOML; ``SweepSpec.from_dict`` takes the same structure as a dict)::

    name = "example"            # optional; default: the file's stem. Identifies the sweep
                                # that owns an output directory.
    out = "../../results/example"   # output directory, relative to this file
    replicates = 3              # replicate seeds derived from root_seed ...
    root_seed = 2023
    # seeds = [1, 2, 3]         # ... or listed explicitly (not both)

    [base]                      # a flat simulation config: the keys of simquanta.config.KEYS
    n_quanta = 1000             # (plus `graph`); no `seed` here when seeds are swept
    agents = 16
    engine = "exact"
    graph = "../graphs/demo.toml"   # optional composition graph, relative to this file

    [axes]                      # one list per varied field; cells = Cartesian product
                                # (a field is set in [base] or in [axes], never both)
    alpha = [0.3, 0.5, 0.8]
    capacity = [100, "inf"]
    steps = [2000, 200]
    batch_size = [10, 100]

    [[zip]]                     # optional, repeatable: axes varied together (equal lengths)
    axes = ["steps", "batch_size"]  # share one dimension, named `name`
    name = "schedule"           # (default: the axis names joined by "_")

TOML puts top-level keys (name, out, seeds, ...) before the first ``[table]``. A bare
``zip = [["steps", "batch_size"]]`` (top level) is accepted too.

Semantics:

- Dimensions are the axes in ``[axes]`` order; a zip group is one dimension placed where its
  first axis appears, with one coordinate per member axis. Then ``replicate`` (coordinate
  ``seed``), and each cell's ``agent`` and ``checkpoint``.
- Replicate r runs with seed ``seeds[r]`` at every grid point (common random numbers across
  the grid). Seeds must be distinct: reusing one seed across replicates gives identical
  "replicates" (Mesa issue #1060). ``replicates = R, root_seed = S`` takes the first R
  distinct words of ``np.random.SeedSequence(S).generate_state``: deterministic, and
  raising R keeps the earlier seeds, so stored cells stay valid. Without either, the sweep
  has one replicate with ``base.seed`` (default 0).
- ``graph`` (in ``[base]`` or ``[axes]``): composition-graph files. The sweep records the
  path and the sha256 of the file's content (part of the cell hash), checks that the
  graph loads and fits n_quanta, and evaluates its tasks on every agent's learned set at
  every checkpoint: ``task_success`` (…, agent, checkpoint, task) in the cell files and in
  merged.nc (tasks are the union over graphs; NaN where a cell's graph lacks one).

Output directory::

    sweep.json          manifest: spec, spec hash, seeds, cell hashes, versions, git revision
    cells/<hash>.nc     one Result per finished cell, written atomically when it finishes
    merged.nc           all cells as one labeled xarray Dataset (written when all are done)
    merged.csv          tidy table (merged.parquet too when pyarrow is installed)

A cell's file name is the sha256 of the canonical JSON of its normalised flat config, its
graph file's hash and the simquanta version, so a rerun computes only missing cells, and
results never depend on executor, worker count or completion order (merging follows spec
order). Temporary files start with "." and are removed on the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .config import KEYS, simulation_from_config
from .files import atomic_path
from .result import Result, package_versions
from .simulate import choose_engine, with_learned_state

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FORMAT = "simquanta-sweep/1"
MANIFEST = "sweep.json"
CELLS = "cells"
MERGED = "merged.nc"
TABLE = "merged.csv"
PARQUET = "merged.parquet"
EXECUTORS = ("serial", "processes", "dask")
DASK_MISSING = ('executor = "dask" needs dask.distributed, which is not installed: '
                'pip install "simquanta[dask]"')

_TOP_KEYS = ("name", "out", "seeds", "replicates", "root_seed", "base", "axes", "zip")
_FIELDS = (*KEYS, "graph")
#: dims/coords/variables of the merged dataset that axis or zip names must not shadow
_RESERVED = ("replicate", "seed", "agent", "checkpoint", "step", "samples", "quantum",
             "loss", "learned", "used", "agent_capacity", "cell_engine")
#: seeds are stored as netCDF int64 attributes
_SEED_MAX = 2**63 - 1


# ----------------------------------------------------------------------------- helpers


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces): the input of every hash here."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _plain(obj: Any) -> Any:
    """numpy scalars/arrays, tuples and paths → plain JSON types (dicts keep their order)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def _short(value: Any, limit: int = 60) -> str:
    shown = json.dumps(value) if not isinstance(value, str) else repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cell_key(config: Mapping[str, Any], graph_sha256: str | None) -> str:
    """A cell's identity and file name: sha256 of the canonical JSON of its normalised flat
    config (``Simulation.to_config()``), its graph file's hash and the simquanta version
    (which changes whenever some seed's results change)."""
    payload = {"config": _plain(config), "graph_sha256": graph_sha256, "simquanta": __version__}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def derive_seeds(root_seed: int, replicates: int) -> list[int]:
    """``replicates`` distinct seeds from one root seed.

    The first distinct words of ``SeedSequence(root_seed).generate_state``: deterministic,
    and a prefix of the list for any larger ``replicates`` (so extending a sweep keeps the
    seeds, hence the cells, it already has).
    """
    if isinstance(root_seed, bool) or not isinstance(root_seed, (int, np.integer)) \
            or root_seed < 0:
        raise ValueError(f"root_seed = {root_seed!r} is invalid: must be an integer >= 0")
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) \
            or replicates < 1:
        raise ValueError(f"replicates = {replicates!r} is invalid: must be an integer >= 1")
    words = max(int(replicates), 4)
    while True:
        state = np.random.SeedSequence(int(root_seed)).generate_state(words, dtype=np.uint32)
        distinct = list(dict.fromkeys(int(s) for s in state))
        if len(distinct) >= replicates:
            return distinct[:replicates]
        words *= 2  # a 32-bit collision: draw further along the same stream


def git_revision(path: str | os.PathLike | None = None) -> str | None:
    """``git rev-parse HEAD`` of the checkout holding ``path`` (default: this package), or
    None outside a git checkout or without git. Read-only: never touches the index."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    rev = done.stdout.strip()
    return rev if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", rev) else None


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Temporary file ('.'-prefixed, same folder) then os.replace: readers see the old file
    or the new one, never a partial one, even if the process is killed."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------------------- errors


class _Locator:
    """Turns a field path (``axes.alpha``, ``zip[1]``) into 'FILE, line N: ' for messages."""

    def __init__(self, source: Path | None, text: str | None) -> None:
        self.source = source
        self.lines = text.splitlines() if text is not None else []

    def line(self, path: str) -> int | None:
        match = re.fullmatch(r"zip\[(\d+)\](?:\.(\w+))?", path)
        if match:
            return self._zip_line(int(match.group(1)))
        table, _, key = path.rpartition(".")
        current = ""
        for number, raw in enumerate(self.lines, start=1):
            text = raw.strip()
            header = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?(\s*#.*)?", text)
            if header:
                current = header.group(1).strip().strip('"')
                continue
            if current == table and re.match(rf'^["\']?{re.escape(key)}["\']?\s*=', text):
                return number
        return None

    def _zip_line(self, index: int) -> int | None:
        seen = -1
        for number, raw in enumerate(self.lines, start=1):
            text = raw.strip()
            if re.fullmatch(r"\[\[\s*zip\s*\]\](\s*#.*)?", text):
                seen += 1
                if seen == index:
                    return number
            elif re.match(r"^zip\s*=", text) and index == 0:
                return number
        return None

    def error(self, path: str, message: str) -> ValueError:
        """ValueError 'FILE, line N: message' (message starts with the field path)."""
        if self.source is None:
            return ValueError(message)
        number = self.line(path) if path else None
        where = f"{self.source}, line {number}: " if number else f"{self.source}: "
        return ValueError(where + message)


def _invalid(loc: _Locator, path: str, value: Any, allowed: str) -> ValueError:
    return loc.error(path, f"{path} = {_short(value)} is invalid: {allowed}")


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class Dim:
    """One sweep dimension: a single axis, or a zip group of axes varied together."""

    name: str
    members: tuple[str, ...]
    size: int


@dataclass(frozen=True)
class Cell:
    """One simulation of the sweep, in spec order (``index``)."""

    index: int
    position: tuple[int, ...]  # index along each sweep dim, then the replicate
    labels: dict[str, Any]  # axis → value, plus replicate and seed (for messages)
    config: dict[str, Any]  # flat simulation config (input of simulation_from_config)
    graph: str | None  # composition graph path as written in the spec
    graph_sha256: str | None
    key: str  # cell_key(...): file name and identity
    graph_path: str | None = None  # the graph file, resolved (not part of the identity)


@dataclass(frozen=True, eq=False)
class SweepSpec:
    """A validated sweep (see the module docstring for the file format).

    Construction validates everything, including every cell's config via
    ``simulation_from_config``, and raises ValueError naming the field (and, for files,
    the line) before anything runs. ``zips`` holds the ``[[zip]]`` tables
    (``{"axes": [...], "name": ...}``); a bare list of axis names is accepted too.
    ``base_dir`` resolves ``out`` and graph paths (default: the current directory).
    """

    base: Mapping[str, Any] = field(default_factory=dict)
    axes: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    zips: Sequence[Mapping[str, Any] | Sequence[str]] = ()
    seeds: Sequence[int] | None = None
    replicates: int | None = None
    root_seed: int | None = None
    out: str | os.PathLike | None = None
    name: str = "sweep"
    base_dir: str | os.PathLike | None = None
    source: str | os.PathLike | None = None  # the TOML file, for messages
    source_text: str | None = field(default=None, repr=False)
    # derived in __post_init__
    _loc: _Locator = field(init=False, repr=False)
    _dims: tuple[Dim, ...] = field(init=False, repr=False)
    _graph_hashes: dict[str, str] = field(init=False, repr=False)
    _cells: tuple[Cell, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        source = Path(self.source) if self.source is not None else None
        loc = _Locator(source, self.source_text)
        set_(self, "_loc", loc)
        set_(self, "base_dir", Path(self.base_dir if self.base_dir is not None
                                    else (source.parent if source else Path.cwd())).resolve())
        if not isinstance(self.name, str) or not re.fullmatch(r"[\w.\-]+", self.name):
            raise _invalid(loc, "name", self.name, "must be a non-empty name of letters, "
                                                   "digits, '_', '-' or '.'")
        if self.out is not None and not isinstance(self.out, (str, os.PathLike)):
            raise _invalid(loc, "out", self.out, "must be a directory path (string)")
        if not isinstance(self.base, Mapping):
            raise _invalid(loc, "base", self.base, "must be a table of config fields")
        if not isinstance(self.axes, Mapping):
            raise _invalid(loc, "axes", self.axes, "must be a table of lists")
        set_(self, "base", _plain(self.base))
        set_(self, "axes", {str(k): _plain(v) if isinstance(v, (list, tuple, np.ndarray))
                            else v for k, v in self.axes.items()})
        self._check_fields()
        set_(self, "seeds", tuple(self._resolve_seeds()))
        set_(self, "_dims", tuple(self._build_dims()))
        set_(self, "_graph_hashes", self._hash_graphs())
        set_(self, "_cells", tuple(self._build_cells()))

    # -- construction from files and dicts ---------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base_dir: str | os.PathLike | None = None,
                  name: str | None = None, source: str | os.PathLike | None = None,
                  source_text: str | None = None) -> SweepSpec:
        """A spec from the TOML structure (keys name, out, seeds, replicates, root_seed,
        base, axes, zip)."""
        loc = _Locator(Path(source) if source is not None else None, source_text)
        if not isinstance(data, Mapping):
            raise loc.error("", f"sweep = {_short(data)} is invalid: must be a table")
        unknown = [k for k in data if k not in _TOP_KEYS]
        if unknown:
            raise _invalid(loc, unknown[0], data[unknown[0]],
                           f"unknown key; allowed: {', '.join(_TOP_KEYS)} (simulation "
                           "fields go in [base] or [axes])")
        zips = data.get("zip", ())
        if not isinstance(zips, (list, tuple)):
            raise _invalid(loc, "zip", zips, "must be [[zip]] tables with axes = [...]")
        return cls(base=data.get("base", {}), axes=data.get("axes", {}), zips=zips,
                   seeds=data.get("seeds"), replicates=data.get("replicates"),
                   root_seed=data.get("root_seed"), out=data.get("out"),
                   name=data.get("name", name if name is not None else "sweep"),
                   base_dir=base_dir, source=source, source_text=source_text)

    # -- validation steps ----------------------------------------------------------------
    def _check_fields(self) -> None:
        loc: _Locator = self._loc
        for table, mapping in (("base", self.base), ("axes", self.axes)):
            for key in mapping:
                if key not in _FIELDS:
                    raise _invalid(loc, f"{table}.{key}", mapping[key],
                                   f"unknown field; allowed: {', '.join(_FIELDS)}")
        if "seed" in self.axes:
            raise _invalid(loc, "axes.seed", self.axes["seed"],
                           "sweep seeds with seeds = [...] or replicates + root_seed")
        for key, values in self.axes.items():
            if not isinstance(values, list):
                raise _invalid(loc, f"axes.{key}", values,
                               "must be a list of values (put single values in [base])")
            if not values:
                raise _invalid(loc, f"axes.{key}", values, "an axis needs at least one value")
            seen: dict[str, int] = {}
            for i, value in enumerate(values):
                text = canonical_json(value)
                if text in seen:
                    raise _invalid(loc, f"axes.{key}", values,
                                   f"value {_short(value)} appears twice "
                                   f"(positions {seen[text]} and {i})")
                seen[text] = i
        overlap = sorted(set(self.base) & set(self.axes))
        if overlap:
            raise _invalid(loc, f"axes.{overlap[0]}", self.axes[overlap[0]],
                           f"{overlap[0]} is set in both [base] and [axes]; keep one")
        if "graph" in self.base and not isinstance(self.base["graph"], str):
            raise _invalid(loc, "base.graph", self.base["graph"], "must be a file path")
        for value in self.axes.get("graph", []):
            if not isinstance(value, str):
                raise _invalid(loc, "axes.graph", self.axes["graph"],
                               "must be a list of file paths")

    def _resolve_seeds(self) -> list[int]:
        loc: _Locator = self._loc
        if self.seeds is not None and (self.replicates is not None
                                       or self.root_seed is not None):
            raise _invalid(loc, "seeds", self.seeds,
                           "give seeds = [...] or replicates + root_seed, not both")
        if (self.seeds is not None or self.replicates is not None) and "seed" in self.base:
            raise _invalid(loc, "base.seed", self.base["seed"],
                           "replicate seeds come from seeds/replicates; remove base.seed")
        if self.seeds is not None:
            seeds = _plain(self.seeds)
            if not isinstance(seeds, list) or not seeds:
                raise _invalid(loc, "seeds", seeds, "must be a non-empty list of integers")
            for s in seeds:
                if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= _SEED_MAX:
                    raise _invalid(loc, "seeds", seeds,
                                   f"every seed must be an integer in 0..2^63-1; got {s!r}")
            if len(set(seeds)) != len(seeds):
                dup = next(s for s in seeds if seeds.count(s) > 1)
                raise _invalid(loc, "seeds", seeds,
                               f"seed {dup} repeats; replicates with one seed are identical "
                               "copies, not replicates")
            return seeds
        if self.replicates is not None or self.root_seed is not None:
            if self.replicates is None:
                raise _invalid(loc, "root_seed", self.root_seed,
                               "needs replicates = N (the number of seeds to derive)")
            if self.root_seed is None:
                raise _invalid(loc, "replicates", self.replicates,
                               "needs root_seed = S (seeds are derived from it)")
            try:
                return derive_seeds(self.root_seed, self.replicates)
            except ValueError as exc:
                which = "root_seed" if str(exc).startswith("root_seed") else "replicates"
                raise loc.error(which, str(exc)) from None
        seed = self.base.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _SEED_MAX:
            raise _invalid(loc, "base.seed", seed, "must be an integer in 0..2^63-1")
        return [seed]

    def _build_dims(self) -> list[Dim]:
        loc: _Locator = self._loc
        group_of: dict[str, tuple[str, tuple[str, ...]]] = {}
        names: set[str] = set()
        for i, raw in enumerate(self.zips):
            where = f"zip[{i}]"
            if isinstance(raw, Mapping):
                extra = set(raw) - {"axes", "name"}
                if extra:
                    raise _invalid(loc, where, dict(raw),
                                   f"unknown key {sorted(extra)[0]!r}; a [[zip]] table has "
                                   "axes = [...] and an optional name")
                members, name = raw.get("axes"), raw.get("name")
            else:
                members, name = raw, None
            members = _plain(members)
            if (not isinstance(members, list) or len(members) < 2
                    or not all(isinstance(m, str) for m in members)):
                raise _invalid(loc, where, members,
                               "axes must list at least two axis names of [axes]")
            for m in members:
                if m not in self.axes:
                    raise _invalid(loc, where, members, f"{m!r} is not an axis in [axes]")
                if m in group_of:
                    raise _invalid(loc, where, members, f"axis {m!r} is in two zip groups")
            lengths = {m: len(self.axes[m]) for m in members}
            if len(set(lengths.values())) > 1:
                shown = ", ".join(f"{m} has {n}" for m, n in lengths.items())
                raise _invalid(loc, where, members,
                               f"zipped axes must have equal lengths ({shown} values)")
            name = "_".join(members) if name is None else name
            if (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_]\w*", name)
                    or name in _FIELDS or name in _RESERVED or name in names):
                raise _invalid(loc, where, name,
                               "name must be an identifier that is no config field, no other "
                               f"zip name and none of {', '.join(_RESERVED)}")
            names.add(name)
            for m in members:
                group_of[m] = (name, tuple(members))
        dims: list[Dim] = []
        for axis, values in self.axes.items():
            if axis in group_of:
                name, members = group_of[axis]
                if all(d.name != name for d in dims):  # placed at its first axis
                    dims.append(Dim(name, members, len(values)))
            else:
                dims.append(Dim(axis, (axis,), len(values)))
        return dims

    def _hash_graphs(self) -> dict[str, str]:
        loc: _Locator = self._loc
        hashes: dict[str, str] = {}
        paths = ([("base.graph", self.base["graph"])] if "graph" in self.base else []) + [
            ("axes.graph", p) for p in self.axes.get("graph", [])]
        for where, rel in paths:
            path = self.resolve(rel)
            try:
                hashes[rel] = file_sha256(path)
            except OSError as exc:
                raise _invalid(loc, where, rel, f"cannot read {path}: "
                                                f"{exc.strerror or exc}") from None
        return hashes

    def _check_graph(self, rel: str, n_quanta: int, checked: set) -> None:
        """Load the graph once per (file, n_quanta) and check its leaves fit n_quanta."""
        if (rel, n_quanta) in checked:
            return
        checked.add((rel, n_quanta))
        try:
            from .composition import CompositionGraph
        except ImportError:  # pragma: no cover - composition is optional for sweeps
            return
        where = "axes.graph" if "graph" in self.axes else "base.graph"
        try:
            graph = CompositionGraph.load(self.resolve(rel))
            graph.validate(n_quanta)
        except (ValueError, OSError, KeyError, TypeError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _invalid(self._loc, where, rel, message) from None

    def _build_cells(self) -> list[Cell]:
        loc: _Locator = self._loc
        cells: list[Cell] = []
        checked_graphs: set = set()
        ranges = [range(d.size) for d in self._dims]
        for point in itertools.product(*ranges):
            config = {k: v for k, v in self.base.items() if k != "seed"}
            labels: dict[str, Any] = {}
            for dim, i in zip(self._dims, point, strict=True):
                for m in dim.members:
                    config[m] = self.axes[m][i]
                    labels[m] = self.axes[m][i]
            graph = config.pop("graph", None)
            # Seeds only change the "seed" entry of the normalised config, so each grid
            # point is validated once, not once per replicate.
            config["seed"] = self.seeds[0]
            try:
                sim = simulation_from_config(config)
                choose_engine(sim)
            except ValueError as exc:
                raise self._cell_error(loc, exc, labels) from None
            if graph is not None:
                self._check_graph(graph, sim.quanta.n_quanta, checked_graphs)
                try:
                    choose_engine(with_learned_state(sim))
                except ValueError as exc:
                    raise self._cell_error(loc, exc, labels) from None
            normalised = sim.to_config()
            graph_sha = self._graph_hashes[graph] if graph is not None else None
            for r, seed in enumerate(self.seeds):
                cfg = dict(config, seed=seed)
                norm = dict(normalised, seed=seed)
                cells.append(Cell(
                    index=len(cells), position=(*point, r),
                    labels={**labels, "replicate": r, "seed": seed}, config=cfg,
                    graph=graph, graph_sha256=graph_sha,
                    key=cell_key(norm, graph_sha),
                    graph_path=None if graph is None else str(self.resolve(graph))))
        return cells

    def _cell_error(self, loc: _Locator, exc: ValueError, labels: dict[str, Any]) -> ValueError:
        message = str(exc).splitlines()[0]
        key = message.split(" = ", 1)[0]
        shown = ", ".join(f"{k}={_short(v, 30)}" for k, v in labels.items())
        suffix = f" (in the cell {shown})" if shown else ""
        for table, mapping in (("axes", self.axes), ("base", self.base)):
            if key in mapping:
                return loc.error(f"{table}.{key}", f"{table}.{message}{suffix}")
        return loc.error("", message + suffix)

    # -- public views ----------------------------------------------------------------------
    def resolve(self, path: str | os.PathLike) -> Path:
        """A path from the spec, relative to ``base_dir``."""
        return (Path(self.base_dir or ".") / Path(path)).resolve()

    @property
    def out_dir(self) -> Path | None:
        """The output directory (absolute), or None if the spec names none."""
        return None if self.out is None else self.resolve(self.out)

    @property
    def dims(self) -> tuple[Dim, ...]:
        """Sweep dimensions (zip groups count once), without ``replicate``."""
        return self._dims

    @property
    def shape(self) -> dict[str, int]:
        """Size of every sweep dimension, including ``replicate``."""
        return {**{d.name: d.size for d in self.dims}, "replicate": len(self.seeds)}

    @property
    def cells(self) -> tuple[Cell, ...]:
        """All cells in spec order (C order over dims, replicate fastest)."""
        return self._cells

    @property
    def graph_hashes(self) -> dict[str, str]:
        return dict(self._graph_hashes)

    def to_dict(self) -> dict[str, Any]:
        """The spec as recorded in the manifest (and hashed): what defines the cells."""
        return {
            "base": self.base,
            "axes": self.axes,
            "zip": [{"name": d.name, "axes": list(d.members)} for d in self.dims
                    if len(d.members) > 1],
            "seeds": list(self.seeds),
            "root_seed": self.root_seed,
            "replicates": self.replicates,
            "graphs": self.graph_hashes,
            "simquanta": __version__,
        }

    @cached_property
    def spec_hash(self) -> str:
        """sha256 of the canonical JSON of ``to_dict()``."""
        return hashlib.sha256(canonical_json(self.to_dict()).encode()).hexdigest()


def load_sweep(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep TOML file (syntax errors name the line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"sweep = {str(path)!r} is invalid: file not found") from None
    except OSError as exc:
        raise ValueError(f"sweep = {str(path)!r} is invalid: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: TOML syntax error: {exc}") from None
    return SweepSpec.from_dict(data, base_dir=path.parent, name=path.stem, source=path,
                               source_text=text)


def _as_spec(spec: SweepSpec | Mapping[str, Any] | str | os.PathLike) -> SweepSpec:
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, Mapping):
        return SweepSpec.from_dict(spec)
    return load_sweep(spec)


# ----------------------------------------------------------------------------- storage


def _read_manifest(out: Path) -> dict[str, Any] | None:
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


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    _atomic_write_bytes(out / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())


def _labels_coords(values: list[Any]) -> np.ndarray:
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


def _diff(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                changes.append(f"{where} removed (was {_short(old[key], 40)})")
            elif key not in old:
                changes.append(f"{where} added ({_short(new[key], 40)})")
            else:
                changes.extend(_diff(old[key], new[key], where))
        return changes
    if canonical_json(old) != canonical_json(new):
        return [f"{path} changed from {_short(old, 40)} to {_short(new, 40)}"]
    return []


def describe_changes(old_spec: Mapping[str, Any], new_spec: Mapping[str, Any]) -> str:
    """What differs between two recorded specs, e.g. 'axes.alpha changed from ... to ...'."""
    changes = _diff(dict(old_spec), dict(new_spec))
    if not changes:
        return "no visible change"
    more = f"; and {len(changes) - 3} more" if len(changes) > 3 else ""
    return "; ".join(changes[:3]) + more


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
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


def _is_running(out: Path) -> bool:
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


def _clean_temporaries(out: Path) -> int:
    """Remove temporary files ('.name.*.tmp') left by killed runs."""
    removed = 0
    for folder in (out, out / CELLS):
        if folder.is_dir():
            for path in folder.glob(".*.tmp"):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _stored_keys(out: Path) -> set[str]:
    folder = out / CELLS
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.glob("*.nc") if not p.name.startswith(".")}


def _cell_path(out: Path, key: str) -> Path:
    return out / CELLS / f"{key}.nc"


def _write_cell(out: Path, cell: Cell, result: Result, sweep_name: str) -> Path:
    """Save one finished cell atomically, tagged with its sweep identity."""
    path = _cell_path(out, cell.key)
    ds = result.to_xarray()
    ds.attrs["sweep_cell"] = json.dumps({
        "sweep": sweep_name, "key": cell.key, "labels": cell.labels, "config": cell.config,
        "graph": cell.graph, "graph_sha256": cell.graph_sha256})
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4")
    return path


def _prepare_out(spec: SweepSpec, out: Path, force: bool,
                 manifest: dict[str, Any] | None) -> tuple[int, bool]:
    """Check that ``out`` belongs to this sweep and its stored cells match the spec.

    Returns (stale cells removed, spec changed). Must run under the directory lock.
    """
    wanted = {c.key for c in spec.cells}
    stale = _stored_keys(out) - wanted
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
        _cell_path(out, key).unlink(missing_ok=True)
    if stale or changed or force:
        for name in (MERGED, TABLE, PARQUET):
            (out / name).unlink(missing_ok=True)
    return len(stale), changed


def _check_owner(spec: SweepSpec, out: Path) -> dict[str, Any] | None:
    """Refuse a directory that holds another sweep or anything but a sweep."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out = {str(out)!r} is invalid: it is a file, not a directory")
    manifest = _read_manifest(out) if out.is_dir() else None
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


# ----------------------------------------------------------------------------- executors


def _compute(cell: Cell) -> tuple[Result, float]:
    """Run one cell in this process with numba's current thread count."""
    from .simulate import run

    start = time.perf_counter()
    sim = simulation_from_config(cell.config)
    if cell.graph_path is None:
        result = run(sim)
    else:
        result = _run_with_tasks(sim, cell.graph_path)
    if result.versions.get("simquanta") != __version__:
        # The cell key embeds this process's version; a worker with another version would
        # store its numbers under the wrong key.
        raise RuntimeError(f"a worker runs simquanta {result.versions.get('simquanta')}, "
                           f"the sweep {__version__}; install the same version everywhere")
    return result, time.perf_counter() - start


def _run_with_tasks(sim: Any, graph_path: str) -> Result:
    """Run ``sim`` and evaluate the composition graph's tasks on each agent's learned set
    at every checkpoint; the per-quantum records needed for that are not kept."""
    import dataclasses

    from .composition import CompositionGraph
    from .simulate import run

    result = run(with_learned_state(sim))
    values, names = CompositionGraph.load(graph_path).evaluate(result.learned_mask())
    return dataclasses.replace(result, learn_step=None, learned_sets=None,
                               task_success=values, task_names=tuple(names))


def _single_numba_thread() -> None:
    """One numba thread for a cell run inside a worker.

    Workers already run cells in parallel; nested numba parallelism would oversubscribe the
    cores, and numba's workqueue threading layer is not safe to enter from several threads
    at once (dask/dask#5132: hangs under threaded Dask workers). NUMBA_NUM_THREADS=1 is set
    in the worker's environment before it starts (so numba launches one thread);
    ``set_num_threads(1)`` is thread-local and also covers workers we did not start.
    """
    import numba

    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)


def _compute_and_write(out: str, cell: Cell, sweep_name: str, single_thread: bool) -> float:
    """Run a cell and write its file (serial executor and process workers: same disk)."""
    if single_thread:
        _single_numba_thread()
    result, seconds = _compute(cell)
    _write_cell(Path(out), cell, result, sweep_name)
    return seconds


def _compute_remote(cell: Cell) -> tuple[Result, float]:
    """Run a cell on a Dask worker; the client writes it (workers may not share a disk)."""
    _single_numba_thread()
    return _compute(cell)


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    """NUMBA_NUM_THREADS=1 in os.environ while worker processes are spawned, then restored.

    Spawned children inherit the environment at start, and must have it before they import
    numba (which the spawn bootstrap may do when it re-imports the main module). The parent
    gets its old value back: numba refuses a changed NUMBA_NUM_THREADS once its threads have
    launched, at the parent's next compilation.
    """
    old = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        _restore_env("NUMBA_NUM_THREADS", old)


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _init_process_worker() -> None:
    # Children of this worker (if any) inherit one numba thread too.
    os.environ["NUMBA_NUM_THREADS"] = "1"


def dask_available() -> bool:
    """True when ``dask.distributed`` can be imported."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return False
    return True


Done = Callable[[Cell, float], None]


def _run_serial(out: Path, pending: list[Cell], sweep_name: str, on_done: Done) -> None:
    for cell in pending:
        on_done(cell, _compute_and_write(str(out), cell, sweep_name, False))


def _run_processes(out: Path, pending: list[Cell], sweep_name: str, workers: int,
                   on_done: Done) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # 'spawn' (not fork): forking a process whose numba/OpenMP threads are running can
    # deadlock the child; spawn starts clean interpreters.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=context,
                               initializer=_init_process_worker)
    try:
        # ProcessPoolExecutor starts its workers inside submit(): submitting everything
        # here starts them all while the environment says NUMBA_NUM_THREADS=1.
        with _worker_environment():
            futures = {pool.submit(_compute_and_write, str(out), cell, sweep_name, True): cell
                       for cell in pending}
        for future in as_completed(futures):
            on_done(futures[future], future.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(out: Path, pending: list[Cell], sweep_name: str, workers: int,
              scheduler: str | None, on_done: Done, log: Callable[[str], None]) -> None:
    import logging

    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    old = os.environ.get("NUMBA_NUM_THREADS")
    cluster = None
    try:
        # set_as_default=False: otherwise xarray sees a default distributed scheduler and
        # guards every netCDF write with scheduler-wide locks (a network round trip per
        # variable: ~7x slower cell writes).
        if scheduler:
            client = Client(scheduler, set_as_default=False)
        else:
            # pre-spawn-environ reaches the worker before its interpreter starts (before
            # numba is imported); threads_per_worker=1 plus one numba thread per worker:
            # dask/dask#5132, numba's parallel layer under threaded workers can hang.
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
            environ["NUMBA_NUM_THREADS"] = "1"
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
                cluster = LocalCluster(n_workers=min(workers, len(pending)),
                                       threads_per_worker=1, processes=True,
                                       dashboard_address=None,
                                       silence_logs=logging.ERROR)
            client = Client(cluster, set_as_default=False)
        # The nanny applies pre-spawn-environ to this process too; undo it (see
        # _worker_environment for why the parent must keep its value).
        _restore_env("NUMBA_NUM_THREADS", old)
        try:
            threads = {w.get("nthreads", 1) for w in
                       client.scheduler_info().get("workers", {}).values()}
            if any(n > 1 for n in threads):
                log("warning: Dask workers with several threads each; start them with "
                    "--nthreads 1 and NUMBA_NUM_THREADS=1 (dask/dask#5132). Each cell limits "
                    "numba to one thread.")
            futures = [client.submit(_compute_remote, cell, key=f"simquanta-{cell.key}",
                                     pure=False) for cell in pending]
            cells = {f.key: cell for f, cell in zip(futures, pending, strict=True)}
            for future in as_completed(futures, loop=client.loop):
                result, seconds = future.result()
                cell = cells[future.key]
                _write_cell(out, cell, result, sweep_name)
                on_done(cell, seconds)
                future.release()
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
        _restore_env("NUMBA_NUM_THREADS", old)


# ----------------------------------------------------------------------------- progress


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


# ----------------------------------------------------------------------------- runner


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


def run_sweep(spec: SweepSpec | Mapping[str, Any] | str | os.PathLike, *,
              executor: str = "processes", workers: int | None = None,
              scheduler: str | None = None, force: bool = False,
              out: str | os.PathLike | None = None, progress: bool | None = None,
              table: bool = True) -> SweepRun:
    """Run the missing cells of a sweep, then write merged.nc (and the tidy table).

    ``executor``: ``serial`` (this process; each cell uses all numba threads),
    ``processes`` (a spawn-context process pool, one numba thread per worker; default)
    or ``dask`` (``scheduler`` address, else a LocalCluster of ``workers`` single-threaded
    process workers). ``workers`` defaults to ``os.cpu_count()``. ``force`` deletes stored
    cells that no longer match the spec (cells that still match are kept: they are what a
    recomputation would give). ``out`` overrides the spec's output directory.
    ``progress``: None = a bar on a terminal, plain lines otherwise; False = silent.

    Everything is validated before anything runs; bad input raises ValueError.
    """
    start = time.perf_counter()
    spec = _as_spec(spec)
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
    manifest = _check_owner(spec, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _locked(out_dir):
        _clean_temporaries(out_dir)
        removed, changed = _prepare_out(spec, out_dir, force, manifest)
        stored = _stored_keys(out_dir)
        by_key: dict[str, Cell] = {}
        for cell in spec.cells:
            by_key.setdefault(cell.key, cell)
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
        _write_manifest(out_dir, record)

        (out_dir / CELLS).mkdir(exist_ok=True)
        bar = _Progress(len(by_key), reused, progress)
        if changed and not removed:
            bar.log(f"sweep {spec.name}: spec changed; all stored cells still match "
                    "and are reused")

        def on_done(cell: Cell, seconds: float) -> None:
            label = ", ".join(f"{k}={_short(v, 24)}" for k, v in cell.labels.items())
            bar.update(label, seconds)

        try:
            if pending and executor == "serial":
                _run_serial(out_dir, pending, spec.name, on_done)
            elif pending and executor == "processes":
                _run_processes(out_dir, pending, spec.name, workers, on_done)
            elif pending:
                _run_dask(out_dir, pending, spec.name, workers, scheduler, on_done, bar.log)
        finally:
            bar.close()
        merged_path = out_dir / MERGED
        tables: list[Path] = []
        if pending or not merged_path.exists():
            ds = merge_cells(out_dir)
            with atomic_path(merged_path) as tmp:
                ds.to_netcdf(tmp, engine="netcdf4")
            if table:
                tables = export_table(ds, out_dir / TABLE)
        else:
            tables = [p for p in (out_dir / TABLE, out_dir / PARQUET) if p.exists()]
        record["status"] = "complete"
        record["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        _write_manifest(out_dir, record)
    return SweepRun(out=out_dir, cells=len(spec.cells), computed=len(pending), reused=reused,
                    removed=removed, merged=merged_path, tables=tuple(tables),
                    wall_seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------- merge


_PER_CHECKPOINT = ("loss", "learned", "used")


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
    manifest = _read_manifest(out)
    if manifest is None:
        raise ValueError(f"out = {str(out)!r} is invalid: no {MANIFEST} (not a sweep)")
    keys: list[str] = manifest["cells"]
    dims = manifest["dims"]
    spec = manifest["spec"]
    sweep_shape = tuple(d["size"] for d in dims) + (len(manifest["seeds"]),)
    missing = [k for k in dict.fromkeys(keys) if not _cell_path(out, k).exists()]
    if missing:
        raise ValueError(f"out = {str(out)!r} is invalid: {len(missing)} of "
                         f"{len(set(keys))} cells are not computed yet; run the sweep first")
    loaded = {key: _read_cell(_cell_path(out, key)) for key in dict.fromkeys(keys)}
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
                              "seed": ("replicate", np.array(manifest["seeds"], np.int64))}
    for d in dims:
        if len(d["axes"]) == 1:
            axis = d["axes"][0]
            coords[axis] = _labels_coords(spec["axes"][axis])
        else:
            coords[d["name"]] = np.arange(d["size"])
            for axis in d["axes"]:
                coords[axis] = (d["name"], _labels_coords(spec["axes"][axis]))
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


def _read_cell(path: Path) -> dict[str, Any]:
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


# ----------------------------------------------------------------------------- info


def sweep_info(path: str | os.PathLike) -> dict[str, Any]:
    """Provenance and a summary of a sweep directory, a merged.nc or a single-run .nc."""
    import xarray as xr

    path = Path(path)
    if path.is_dir():
        manifest = _read_manifest(path)
        if manifest is None:
            raise ValueError(f"results = {str(path)!r} is invalid: no {MANIFEST} here "
                             "(not a sweep directory)")
        keys = manifest["cells"]
        done = sum(_cell_path(path, k).exists() for k in keys)
        merged = path / MERGED
        lo = hi = None
        if merged.exists():
            with xr.open_dataset(merged, engine="netcdf4") as ds:
                lo, hi = float(ds["loss"].min()), float(ds["loss"].max())
        else:
            for key in dict.fromkeys(keys):
                cell = _cell_path(path, key)
                if cell.exists():
                    loss = _read_cell(cell)["loss"]
                    a, b = float(np.nanmin(loss)), float(np.nanmax(loss))
                    lo, hi = (a, b) if lo is None else (min(lo, a), max(hi, b))
        dims = {d["name"]: d["size"] for d in manifest["dims"]}
        dims["replicate"] = len(manifest["seeds"])
        status = manifest.get("status")
        if status == "running" and not _is_running(path):
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


__all__ = [
    "Cell",
    "Dim",
    "SweepRun",
    "SweepSpec",
    "canonical_json",
    "cell_key",
    "dask_available",
    "derive_seeds",
    "describe_changes",
    "export_table",
    "file_sha256",
    "git_revision",
    "load_sweep",
    "merge_cells",
    "open_sweep",
    "run_sweep",
    "sweep_info",
    "to_table",
]
