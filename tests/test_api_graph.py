"""The Python API of the researcher's loop: simulate(graph=G) fills labeled task success
(tasks only, inner nodes on request), the graph and task success survive save/load,
Result.to_dataframe, exported names, exact checkpoint counts, the compile notice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import simquanta as sq
from simquanta.kernels.exact import run_exact
from simquanta.simulate import compile_notice, will_compile

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "experiments" / "graphs" / "demo.toml"


def _run(**kwargs):
    return sq.simulate(sq.Quanta(300, tau=3), sq.Learner(), sq.Online(steps=400, batch_size=10),
                       agents=5, seed=3, checkpoints=9, engine="exact", **kwargs)


def test_exports():
    assert sq.CompositionGraph is sq.composition.CompositionGraph
    graph = sq.load_graph(DEMO)
    assert isinstance(graph, sq.CompositionGraph)
    assert sq.load_graph(graph) is graph


def test_simulate_with_graph_reports_tasks_only():
    graph = sq.load_graph(DEMO)
    result = _run(graph=graph)
    assert result.task_names == tuple(graph.tasks)
    assert "parse" not in result.task_names  # an inner skill, "Not a task itself"
    assert result.task_success.shape == (5, 9, len(graph.tasks))
    values, _ = graph.evaluate(result.leaf_values())
    np.testing.assert_array_equal(result.task_success, values)
    everything = _run(graph=DEMO, nodes="all")
    assert everything.task_names == tuple(graph.inner_nodes)
    with pytest.raises(ValueError, match="nodes"):
        _run(graph=DEMO, nodes="some")


def test_graph_is_checked_before_running():
    with pytest.raises(ValueError, match="n_quanta=10"):
        sq.simulate(sq.Quanta(10), graph=DEMO, engine="exact")


def test_task_success_is_labeled():
    ds = _run(graph=DEMO).to_xarray()
    assert ds["task_success"].dims == ("agent", "checkpoint", "task")
    assert list(ds["task"].values) == sq.load_graph(DEMO).tasks


def test_saved_result_keeps_graph_and_task_success(tmp_path):
    result = _run(graph=DEMO)
    loaded = sq.Result.load(result.save(tmp_path / "r.nc"))
    np.testing.assert_array_equal(loaded.task_success, result.task_success)
    assert loaded.task_names == result.task_names
    assert loaded.graph == sq.load_graph(DEMO).to_dict()
    assert loaded.composition_graph().tasks == sq.load_graph(DEMO).tasks
    edited = loaded.composition_graph()  # edit and re-evaluate the stored run
    edited.add_node("both", "all", ["recall_fact", "two_of_four"])
    again = loaded.with_graph(edited)
    assert again.task_names[-1] == "both" and "recall_fact" not in again.task_names
    with pytest.raises(ValueError, match="graph"):
        _run().composition_graph()


def test_to_dataframe_one_row_per_agent_and_checkpoint():
    result = _run(graph=DEMO)
    frame = result.to_dataframe()
    assert len(frame) == 5 * 9
    assert {"agent", "checkpoint", "step", "samples", "loss", "learned", "used",
            "capacity"} <= set(frame.columns)
    assert [c for c in frame.columns if c.startswith("task:")] == [
        f"task:{t}" for t in result.task_names]
    row = frame[(frame.agent == 2) & (frame.checkpoint == 4)].iloc[0]
    assert row.loss == result.loss[2, 4] and row.step == result.steps[4]
    assert row["task:polygenic"] == result.task_success[2, 4, result.task_names.index(
        "polygenic")]


def test_checkpoints_n_gives_n_checkpoints():
    for n in (12, 29, 30, 40):
        result = sq.simulate(sq.Quanta(50), sq.Learner(), sq.Online(steps=100, batch_size=10),
                             checkpoints=n, engine="exact")
        assert result.steps.size == n
        assert np.all(np.diff(result.steps) > 0) and result.steps[-1] == 100


def test_will_compile_reads_memory_then_disk(tmp_path):
    index = tmp_path / "kernel.nbi"
    kernel = SimpleNamespace(overloads={}, _cache=SimpleNamespace(
        _cache_file=SimpleNamespace(_index_path=str(index))))
    assert will_compile(kernel)
    index.write_bytes(b"")
    assert not will_compile(kernel)
    index.unlink()
    kernel.overloads["sig"] = object()
    assert not will_compile(kernel)


def test_no_compile_notice_once_compiled():
    _run()
    assert compile_notice("exact", run_exact) is None


def test_warm_run_prints_nothing_on_stderr():
    _run(), sq.simulate(sq.Quanta(20), agents=2, checkpoints=3, engine="events")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "simquanta", "simulate", "--n-quanta", "50",
                           "--steps", "20", "--agents", "2", "--checkpoints", "3", "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("{")
