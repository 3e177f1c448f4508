"""``SweepSpec``: a sweep file (or dict) validated into its cells before anything runs."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .. import _version
from ..composition import CompositionGraph
from ..config import simulation_from_config
from ..resources import estimate
from ..simulate import choose_engine, with_learned_state
from ..validation import check_depth, invalid, parse_toml, read_text
from .grid import FIELDS, Cell, Dim, build_dims
from .keys import canonical_json, cell_key, file_sha256, plain, short
from .locate import Locator, invalid_at
from .seeds import resolve_seeds

_TOP_KEYS = ("name", "out", "seeds", "replicates", "root_seed", "base", "axes", "zip")
#: grids with more cells need ``allow_large=True`` (``--allow-large-grid``)
MAX_CELLS = 10**6


@dataclass(frozen=True, eq=False)
class SweepSpec:
    """A validated sweep (file format: the docstring of ``simquanta.sweep``).

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
    allow_large: bool = False  # permit more than MAX_CELLS cells
    # derived in __post_init__
    _loc: Locator = field(init=False, repr=False)
    _dims: tuple[Dim, ...] = field(init=False, repr=False)
    _graph_hashes: dict[str, str] = field(init=False, repr=False)
    _cells: tuple[Cell, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        source = Path(self.source) if self.source is not None else None
        loc = Locator(source, self.source_text)
        set_(self, "_loc", loc)
        set_(self, "base_dir", Path(self.base_dir if self.base_dir is not None
                                    else (source.parent if source else Path.cwd())).resolve())
        if not isinstance(self.name, str) or not re.fullmatch(r"[\w.\-]+", self.name):
            raise invalid_at(loc, "name", self.name, "must be a non-empty name of letters, "
                                                   "digits, '_', '-' or '.'")
        if self.out is not None and not isinstance(self.out, (str, os.PathLike)):
            raise invalid_at(loc, "out", self.out, "must be a directory path (string)")
        if not isinstance(self.base, Mapping):
            raise invalid_at(loc, "base", self.base, "must be a table of config fields")
        if not isinstance(self.axes, Mapping):
            raise invalid_at(loc, "axes", self.axes, "must be a table of lists")
        for table in ("base", "axes"):
            check_depth(getattr(self, table), table, self.source or "sweep")
        set_(self, "base", plain(self.base))
        set_(self, "axes", {str(k): plain(v) if isinstance(v, (list, tuple, np.ndarray))
                            else v for k, v in self.axes.items()})
        for key, values in self.axes.items():  # before checking each value of a huge axis
            if isinstance(values, list) and len(values) > MAX_CELLS and not self.allow_large:
                raise invalid_at(loc, f"axes.{key}", f"<{len(values)} values>",
                                 self._too_large(len(values)))
        self._check_fields()
        set_(self, "_dims", tuple(build_dims(loc, self.axes, self.zips)))
        self._check_size()
        set_(self, "seeds", tuple(resolve_seeds(loc, self.seeds, self.replicates, self.root_seed,
                                                 self.base)))
        set_(self, "_graph_hashes", self._hash_graphs())
        set_(self, "_cells", tuple(self._build_cells()))

    # -- construction from files and dicts ---------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base_dir: str | os.PathLike | None = None,
                  name: str | None = None, source: str | os.PathLike | None = None,
                  source_text: str | None = None, allow_large: bool = False) -> SweepSpec:
        """A spec from the TOML structure (keys name, out, seeds, replicates, root_seed,
        base, axes, zip)."""
        loc = Locator(Path(source) if source is not None else None, source_text)
        if not isinstance(data, Mapping):
            raise loc.error("", f"sweep = {short(data)} is invalid: must be a table")
        unknown = [k for k in data if k not in _TOP_KEYS]
        if unknown:
            raise invalid_at(loc, unknown[0], data[unknown[0]],
                             f"unknown key; allowed: {', '.join(_TOP_KEYS)} (simulation "
                             "fields go in [base] or [axes])")
        zips = data.get("zip", ())
        if not isinstance(zips, (list, tuple)):
            raise invalid_at(loc, "zip", zips, "must be [[zip]] tables with axes = [...]")
        return cls(base=data.get("base", {}), axes=data.get("axes", {}), zips=zips,
                   seeds=data.get("seeds"), replicates=data.get("replicates"),
                   root_seed=data.get("root_seed"), out=data.get("out"),
                   name=data.get("name", name if name is not None else "sweep"),
                   base_dir=base_dir, source=source, source_text=source_text,
                   allow_large=allow_large)

    # -- validation steps ----------------------------------------------------------------
    @staticmethod
    def _too_large(cells: int) -> str:
        return (f"the sweep would have {cells:,} cells, more than {MAX_CELLS:,}; shrink the "
                "grid or pass --allow-large-grid (allow_large=True)")

    def _check_size(self) -> None:
        """Refuse more than MAX_CELLS cells (unless allow_large) before seeds are derived or
        cells validated (10^8 replicates would take minutes)."""
        if self.allow_large:
            return
        reps = self.replicates if self.seeds is None else self.seeds
        reps = len(reps) if isinstance(reps, (list, tuple)) else reps
        reps = reps if isinstance(reps, int) and not isinstance(reps, bool) and reps > 0 else 1
        cells = math.prod(d.size for d in self._dims) * reps
        if cells > MAX_CELLS:
            where = "replicates" if self.seeds is None and self.replicates is not None else (
                "seeds" if self.seeds is not None else "axes")
            raise invalid_at(self._loc, where, cells, self._too_large(cells))

    def _check_fields(self) -> None:
        loc: Locator = self._loc
        for table, mapping in (("base", self.base), ("axes", self.axes)):
            for key in mapping:
                if key not in FIELDS:
                    raise invalid_at(loc, f"{table}.{key}", mapping[key],
                                     f"unknown field; allowed: {', '.join(FIELDS)}")
        if "seed" in self.axes:
            raise invalid_at(loc, "axes.seed", self.axes["seed"],
                             "sweep seeds with seeds = [...] or replicates + root_seed")
        for key, values in self.axes.items():
            if not isinstance(values, list):
                raise invalid_at(loc, f"axes.{key}", values,
                                 "must be a list of values (put single values in [base])")
            if not values:
                raise invalid_at(loc, f"axes.{key}", values, "an axis needs at least one value")
            seen: dict[str, int] = {}
            for i, value in enumerate(values):
                text = canonical_json(value)
                if text in seen:
                    raise invalid_at(loc, f"axes.{key}", values,
                                     f"value {short(value)} appears twice "
                                     f"(positions {seen[text]} and {i})")
                seen[text] = i
        overlap = sorted(set(self.base) & set(self.axes))
        if overlap:
            raise invalid_at(loc, f"axes.{overlap[0]}", self.axes[overlap[0]],
                             f"{overlap[0]} is set in both [base] and [axes]; keep one")
        if "graph" in self.base and not isinstance(self.base["graph"], str):
            raise invalid_at(loc, "base.graph", self.base["graph"], "must be a file path")
        for value in self.axes.get("graph", []):
            if not isinstance(value, str):
                raise invalid_at(loc, "axes.graph", self.axes["graph"],
                                 "must be a list of file paths")

    def _hash_graphs(self) -> dict[str, str]:
        loc: Locator = self._loc
        hashes: dict[str, str] = {}
        paths = ([("base.graph", self.base["graph"])] if "graph" in self.base else []) + [
            ("axes.graph", p) for p in self.axes.get("graph", [])]
        for where, rel in paths:
            path = self.resolve(rel)
            try:
                hashes[rel] = file_sha256(path)
            except OSError as exc:
                raise invalid_at(loc, where, rel, f"cannot read {path}: "
                                                f"{exc.strerror or exc}") from None
        return hashes

    def _check_graph(self, rel: str, n_quanta: int, checked: dict) -> int:
        """Load the graph once per (file, n_quanta) and check its leaves fit n_quanta;
        returns its number of inner nodes."""
        if (rel, n_quanta) in checked:
            return checked[rel, n_quanta]
        where = "axes.graph" if "graph" in self.axes else "base.graph"
        try:
            graph = CompositionGraph.load(self.resolve(rel))
            graph.validate(n_quanta)
        except (ValueError, OSError, KeyError, TypeError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise invalid_at(self._loc, where, rel, message) from None
        checked[rel, n_quanta] = len(graph.inner_nodes)
        return checked[rel, n_quanta]

    def _build_cells(self) -> list[Cell]:
        loc: Locator = self._loc
        cells: list[Cell] = []
        checked_graphs: dict = {}
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
            nodes = 0
            if graph is not None:
                nodes = self._check_graph(graph, sim.quanta.n_quanta, checked_graphs)
                try:
                    choose_engine(with_learned_state(sim))
                except ValueError as exc:
                    raise self._cell_error(loc, exc, labels) from None
            normalised = sim.to_config()
            graph_sha = self._graph_hashes[graph] if graph is not None else None
            shape = (sim.agents, int(sim.checkpoint_steps.size), sim.quanta.n_quanta)
            memory = estimate(sim, graph_nodes=nodes, graph_state=graph is not None).total
            for r, seed in enumerate(self.seeds):
                cfg = dict(config, seed=seed)
                norm = dict(normalised, seed=seed)
                cells.append(Cell(
                    index=len(cells), position=(*point, r),
                    labels={**labels, "replicate": r, "seed": seed}, config=cfg,
                    graph=graph, graph_sha256=graph_sha,
                    key=cell_key(norm, graph_sha),
                    graph_path=None if graph is None else str(self.resolve(graph)),
                    shape=shape, memory=memory))
        return cells

    def _cell_error(self, loc: Locator, exc: ValueError, labels: dict[str, Any]) -> ValueError:
        message = str(exc).splitlines()[0]
        key = message.split(" = ", 1)[0]
        shown = ", ".join(f"{k}={short(v, 30)}" for k, v in labels.items())
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
            "simquanta": _version.__version__,
        }

    @cached_property
    def spec_hash(self) -> str:
        """sha256 of the canonical JSON of ``to_dict()``."""
        return hashlib.sha256(canonical_json(self.to_dict()).encode()).hexdigest()



def load_sweep(path: str | os.PathLike, *, allow_large: bool = False) -> SweepSpec:
    """Read and validate a sweep TOML file (syntax errors name the line)."""
    text = read_text(path, "sweep")
    path = Path(path)
    data = parse_toml(text, "sweep", path)
    return SweepSpec.from_dict(data, base_dir=path.parent, name=path.stem, source=path,
                               source_text=text, allow_large=allow_large)


def as_spec(spec: SweepSpec | Mapping[str, Any] | str | os.PathLike, *,
            allow_large: bool = False) -> SweepSpec:
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, Mapping):
        return SweepSpec.from_dict(spec, allow_large=allow_large)
    if not isinstance(spec, (str, os.PathLike)):
        raise invalid("sweep", spec, "must be a SweepSpec, a table or a sweep file path")
    return load_sweep(spec, allow_large=allow_large)
