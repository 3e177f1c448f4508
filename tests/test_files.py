"""Every kind of file the package writes goes through ``files.atomic_path``: complete or
absent, and readable by everyone (0644) whatever the umask (mkstemp alone leaves 0600)."""

from __future__ import annotations

import argparse
import os
import stat
import sys
import textwrap
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from simquanta import plots  # noqa: E402
from simquanta.cli import main  # noqa: E402
from simquanta.composition import CompositionGraph  # noqa: E402
from simquanta.config import simulation_from_config  # noqa: E402
from simquanta.simulate import run  # noqa: E402
from simquanta.sweep import run_sweep  # noqa: E402

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@pytest.fixture(autouse=True)
def strict_umask():
    """A umask that would make any file written without atomic_path 0600."""
    old = os.umask(0o077)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def graph() -> CompositionGraph:
    g = CompositionGraph()
    g.add_node("t", "all", [0, 1])
    return g


def test_result_figure_and_graph_files_are_0644(tmp_path):
    result = run(simulation_from_config({"n_quanta": 20, "steps": 50, "agents": 2,
                                         "checkpoints": 3, "engine": "exact"}))
    assert mode(result.save(tmp_path / "run.nc")) == 0o644
    fig, _ = plt.subplots()
    for path in plots.save(fig, tmp_path / "fig.png", formats=("png", "pdf")):
        assert mode(path) == 0o644
    for name in ("g.toml", "g.json"):
        graph().save(tmp_path / name)
        assert mode(tmp_path / name) == 0o644
    assert main(["graph", "show", str(tmp_path / "g.toml"), "--image",
                 str(tmp_path / "g.png")]) == 0
    assert mode(tmp_path / "g.png") == 0o644
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_outputs_are_0644(tmp_path, capsys):
    out, figure = tmp_path / "cli.nc", tmp_path / "cli.png"
    assert main(["simulate", "--n-quanta", "20", "--steps", "50", "--agents", "2",
                 "--checkpoints", "3", "--engine", "exact", "--out", str(out),
                 "--figure", str(figure)]) == 0
    assert mode(out) == mode(figure) == 0o644


def test_sweep_files_are_0644(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent("""
        out = "out"
        [base]
        n_quanta = 20
        agents = 2
        steps = 50
        engine = "exact"
        checkpoints = 3
        [axes]
        alpha = [0.3, 0.6]
    """))
    done = run_sweep(path, executor="serial", progress=False)
    written = [done.out / "sweep.json", done.merged, *done.tables,
               *sorted((done.out / "cells").glob("*.nc"))]
    assert len(written) >= 5
    assert {p.name: mode(p) for p in written} == {p.name: 0o644 for p in written}


def test_experiment_json_and_figures_are_0644(tmp_path):
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        import _common
    finally:
        sys.path.remove(str(EXPERIMENTS))
    args = argparse.Namespace(quick=True, out=str(tmp_path))
    experiment = _common.Experiment("probe", args, {"x": 1})
    fig, _ = plt.subplots()
    paths = experiment.save(fig, {"value": 1.0})
    assert [p.name for p in paths] == ["probe.png", "probe.pdf", "probe.json"]
    assert [mode(p) for p in paths] == [0o644] * 3
