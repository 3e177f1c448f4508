"""Simulation results: labeled arrays (agent × checkpoint × quantum) with provenance.

A Result saves to netCDF-4 (``.nc``), a self-describing format that
``xarray.open_dataset(path)`` opens without simquanta (``.to_dataframe()`` for pandas).
The config, seed, engine and package versions travel in the file's attributes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import _version
from .analysis.stats import sem
from .files import atomic_path


def package_versions() -> dict[str, str]:
    """Versions of simquanta and the libraries that shape its numbers."""
    import networkx
    import numba

    return {
        "simquanta": _version.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "networkx": networkx.__version__,
        "python": platform.python_version(),
    }


def learned_from_steps(learn_step: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """bool[agents, C, K]: first learned (learn_step ≥ 0) at or before each checkpoint
    step — the learned sets wherever learned quanta are kept."""
    ls = learn_step[:, None, :]
    return (ls >= 0) & (ls <= np.asarray(steps)[None, :, None])


@dataclass(frozen=True, eq=False)
class Result:
    """Outcome of ``simulate``.

    Per agent and checkpoint: ``loss`` (bits per sample, Σ_k p_k ℓ_k), ``learned``
    (number of quanta learned) and ``used`` (capacity used, cost units). Per agent and
    quantum, when recorded: ``learn_step``, the step at which the quantum was first
    learned (−1: never). ``steps``/``samples`` label the checkpoints.
    """

    engine: str
    steps: np.ndarray  # int64[C]
    samples: np.ndarray  # int64[C]
    loss: np.ndarray  # float64[agents, C]
    learned: np.ndarray  # int64[agents, C]
    used: np.ndarray  # float64[agents, C]
    capacity: np.ndarray  # float64[agents]
    frequencies: np.ndarray  # float64[K]
    config: dict[str, Any]
    learn_step: np.ndarray | None = None  # int64[agents, K]
    learned_sets: np.ndarray | None = None  # bool[agents, C, K]
    #: per-quantum strength s_k ∈ [0, 1] at each checkpoint (float64[agents, C, K]): the
    #: logistic strength, or 0/1 learned for the counting families (``record_strength``)
    strength: np.ndarray | None = None
    wall_seconds: float = 0.0
    versions: dict[str, str] = field(default_factory=package_versions)
    notes: tuple[str, ...] = ()
    #: success probability of each composition-graph task per agent and checkpoint
    #: (float64[agents, C, tasks]) and the task names, when a graph was evaluated
    task_success: np.ndarray | None = None
    task_names: tuple[str, ...] = ()
    #: the composition graph task_success was evaluated from (its file structure,
    #: ``CompositionGraph.to_dict()``); ``composition_graph()`` rebuilds it
    graph: dict[str, Any] | None = None

    @property
    def n_agents(self) -> int:
        return self.loss.shape[0]

    @property
    def agent_index(self) -> np.ndarray:
        first = int(self.config.get("first_agent", 0))
        return np.arange(first, first + self.n_agents)

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    # -- summaries over agents ---------------------------------------------------------
    @property
    def loss_mean(self) -> np.ndarray:
        return self.loss.mean(axis=0)

    @property
    def loss_sem(self) -> np.ndarray:
        return sem(self.loss)

    @property
    def learned_mean(self) -> np.ndarray:
        return self.learned.mean(axis=0)

    @property
    def learned_sem(self) -> np.ndarray:
        return sem(self.learned)

    def learned_mask(self) -> np.ndarray:
        """bool[agents, C, K]: quantum learned at each checkpoint.

        The recorded learned sets when present (``record_learned_sets``); else derived from
        first-learn steps, which is exact whenever learned quanta are kept (``reject`` or
        unlimited capacity) and under ``evict`` marks quanta acquired at least once."""
        if self.learned_sets is not None:
            return self.learned_sets
        if self.learn_step is None:
            raise ValueError("record_learn_steps = False: this result holds no learn steps; "
                             "rerun with record_learn_steps=True (or record_learned_sets)")
        return learned_from_steps(self.learn_step, self.steps)

    @staticmethod
    def strength_from_sets(sets: np.ndarray) -> np.ndarray:
        """Strength of the counting families: 1.0 where learned, 0.0 elsewhere."""
        return sets.astype(np.float64)

    def leaf_values(self) -> np.ndarray:
        """float64 or bool [agents, C, K]: what a composition-graph leaf reads — the
        recorded strength s_k when present (a continuous leaf is worth chance +
        (learned_score − chance)·s_k), else the learned mask."""
        if self.strength is not None:
            return self.strength
        return self.learned_mask()

    # -- composition graphs -------------------------------------------------------------
    def with_graph(self, graph, *, nodes: str = "tasks") -> Result:
        """This Result with ``task_success`` evaluated from ``graph`` (a CompositionGraph or
        a .toml/.json file) on :meth:`leaf_values`: its tasks (nodes no other node uses,
        unless the file marks them), or every inner node with ``nodes="all"``. The graph's
        content is kept in ``graph``."""
        from .composition import load_graph

        graph = load_graph(graph)
        if nodes not in ("tasks", "all"):
            raise ValueError(f"nodes = {nodes!r} is invalid: must be \"tasks\" or \"all\"")
        values, names = graph.evaluate(self.leaf_values(), all_nodes=nodes == "all")
        return dataclasses.replace(self, task_success=values, task_names=tuple(names),
                                   graph=graph.to_dict())

    def composition_graph(self):
        """The CompositionGraph ``task_success`` was evaluated from."""
        if self.graph is None:
            raise ValueError("graph = None is invalid: this result was run without a "
                             "composition graph (simulate(..., graph=G))")
        from .composition import CompositionGraph

        return CompositionGraph.from_dict(self.graph)

    # -- labeled views and files -------------------------------------------------------
    def to_xarray(self):
        """An ``xarray.Dataset`` with dims agent, checkpoint (and quantum)."""
        import xarray as xr

        data_vars: dict[str, Any] = {
            "loss": (("agent", "checkpoint"), self.loss, {"units": "bits per sample"}),
            "learned": (("agent", "checkpoint"), self.learned, {"units": "quanta"}),
            "used": (("agent", "checkpoint"), self.used, {"units": "cost units"}),
            "capacity": (("agent",), self.capacity, {"units": "cost units"}),
            "frequency": (("quantum",), self.frequencies, {"long_name": "use frequency p_k"}),
        }
        if self.learn_step is not None:
            data_vars["learn_step"] = (("agent", "quantum"), self.learn_step,
                                       {"long_name": "step of first acquisition, -1 = never"})
        if self.learned_sets is not None:
            data_vars["learned_set"] = (("agent", "checkpoint", "quantum"),
                                        self.learned_sets.astype(np.uint8),
                                        {"long_name": "1 if the quantum is learned"})
        if self.strength is not None:
            data_vars["strength"] = (("agent", "checkpoint", "quantum"), self.strength,
                                     {"long_name": "skill strength s_k (1 = fully learned)"})
        if self.task_success is not None:
            data_vars["task_success"] = (("agent", "checkpoint", "task"), self.task_success,
                                         {"long_name": "composition-graph task success "
                                                       "probability"})
        coords = {
            "agent": self.agent_index,
            "checkpoint": np.arange(self.steps.size),
            "step": ("checkpoint", self.steps),
            "samples": ("checkpoint", self.samples),
            "quantum": np.arange(self.frequencies.size),
        }
        if self.task_success is not None:
            coords["task"] = np.array(self.task_names, dtype=object)
        attrs = {
            "engine": self.engine,
            "seed": self.seed if self.seed < 2**63 else np.uint64(self.seed),  # netCDF u8
            "config": json.dumps(self.config),
            "versions": json.dumps(self.versions),
            "wall_seconds": self.wall_seconds,
            "notes": json.dumps(list(self.notes)),
            "title": "simquanta simulation result",
        }
        if self.graph is not None:
            attrs["graph"] = json.dumps(self.graph)
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)

    def save(self, path: str | os.PathLike) -> Path:
        """Write netCDF-4 atomically (temporary file in the same folder, then rename)."""
        path = Path(path)
        with atomic_path(path) as tmp:
            self.to_xarray().to_netcdf(tmp, engine="netcdf4")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Result:
        import xarray as xr

        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds = ds.load()
        return cls.from_xarray(ds)

    @classmethod
    def from_xarray(cls, ds) -> Result:
        return cls(
            engine=str(ds.attrs["engine"]),
            steps=ds["step"].values.astype(np.int64),
            samples=ds["samples"].values.astype(np.int64),
            loss=ds["loss"].values,
            learned=ds["learned"].values.astype(np.int64),
            used=ds["used"].values,
            capacity=ds["capacity"].values,
            frequencies=ds["frequency"].values,
            config=json.loads(ds.attrs["config"]),
            learn_step=ds["learn_step"].values.astype(np.int64) if "learn_step" in ds else None,
            learned_sets=ds["learned_set"].values.astype(bool) if "learned_set" in ds else None,
            strength=ds["strength"].values if "strength" in ds else None,
            wall_seconds=float(ds.attrs["wall_seconds"]),
            versions=json.loads(ds.attrs["versions"]),
            notes=tuple(json.loads(ds.attrs.get("notes", "[]"))),
            task_success=ds["task_success"].values if "task_success" in ds else None,
            task_names=tuple(str(t) for t in ds["task"].values) if "task" in ds.coords else (),
            graph=json.loads(ds.attrs["graph"]) if "graph" in ds.attrs else None,
        )

    def to_dataframe(self):
        """A pandas DataFrame, one row per agent and checkpoint: agent, checkpoint, step,
        samples, loss, learned, used, capacity, and one ``task:<name>`` column per task
        (as a merged sweep's CSV)."""
        import pandas as pd

        n_agents, n_ckpt = self.loss.shape
        columns: dict[str, Any] = {
            "agent": np.repeat(self.agent_index, n_ckpt),
            "checkpoint": np.tile(np.arange(n_ckpt), n_agents),
            "step": np.tile(self.steps, n_agents),
            "samples": np.tile(self.samples, n_agents),
            "loss": self.loss.ravel(),
            "learned": self.learned.ravel(),
            "used": self.used.ravel(),
            "capacity": np.repeat(self.capacity, n_ckpt),
        }
        for j, name in enumerate(self.task_names):
            columns[f"task:{name}"] = self.task_success[..., j].ravel()
        return pd.DataFrame(columns)

    def plot(self, kind: str = "loss", *, ax=None, **kwargs):
        """Draw this result on ``ax`` (a new figure if None) and return the Axes.

        kinds: ``loss`` (mean with 95 % band, closed form dashed), ``learned`` (quanta
        learned), ``quanta`` (per-quantum heatmap: share of agents that learned each
        quantum), ``agents`` (single-agent loss curves beside the mean), ``tasks``
        (composition-graph task success, emergence width in the legend). See
        :func:`simquanta.plots.plot_result`.
        """
        from .plots import plot_result

        return plot_result(self, kind, ax=ax, **kwargs)

    def summary_dict(self) -> dict[str, Any]:
        """The JSON the CLI prints: per-checkpoint means over agents and the config."""
        return {
            "engine": self.engine,
            "steps": self.steps.tolist(),
            "samples": self.samples.tolist(),
            "loss_mean": self.loss_mean.tolist(),
            "loss_sem": self.loss_sem.tolist(),
            "learned_mean": self.learned_mean.tolist(),
            "wall_seconds": self.wall_seconds,
            "config": self.config,
            "versions": self.versions,
        }

