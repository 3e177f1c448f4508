"""Sweeps: spec validation (one test per rejected file), seeds, storage, resume after
SIGKILL, spec-change detection, executor equivalence and the CLI.

Cells are tiny (200 quanta, 4 agents, 200 steps) so the whole file stays well under a
minute on two cores; the slow parts are starting worker processes and the Dask cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import simquanta
from simquanta.cli import build_parser, main
from simquanta.sweep import (
    CELLS,
    FORMAT,
    MANIFEST,
    MERGED,
    SweepSpec,
    cell_key,
    dask_available,
    derive_seeds,
    load_sweep,
    merge_cells,
    open_sweep,
    run_sweep,
    sweep_info,
    to_table,
)

BASE = """
[base]
n_quanta = 200
agents = 4
steps = 200
engine = "exact"
checkpoints = 5
"""

GRID = """
name = "grid"
out = "out"
replicates = 2
root_seed = 7
""" + BASE + """
[axes]
alpha = [0.3, 0.6]
capacity = [20, "inf"]
"""


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def cli(argv: list[str]) -> int:
    """The ``simquanta`` command line (sweep and info are its subcommands)."""
    return main(argv)


def arrays(ds: xr.Dataset) -> dict[str, bytes]:
    """Every variable and coordinate as raw bytes (bit-for-bit comparison)."""
    return {name: json.dumps(ds[name].values.tolist()).encode()
            if ds[name].dtype.kind in "OUS"  # strings: compare the text, not the storage
            else np.ascontiguousarray(ds[name].values).tobytes()
            for name in list(ds.variables)}


def assert_same_results(a: xr.Dataset, b: xr.Dataset) -> None:
    # git_revision may legitimately move between runs (others commit meanwhile).
    a = a.copy()
    b = b.copy()
    for ds in (a, b):
        ds.attrs.pop("git_revision", None)
    xr.testing.assert_identical(a, b)
    assert arrays(a) == arrays(b)


# ------------------------------------------------------------------ seeds


def test_derived_seeds_distinct_deterministic_and_prefix_stable():
    seeds = derive_seeds(42, 50)
    assert len(set(seeds)) == 50
    assert seeds == derive_seeds(42, 50)
    assert derive_seeds(42, 5) == seeds[:5]  # more replicates keep the old seeds
    assert derive_seeds(43, 5) != seeds[:5]
    assert all(isinstance(s, int) and 0 <= s < 2**32 for s in seeds)


@settings(max_examples=40, deadline=None)
@given(root=st.integers(0, 2**64), n=st.integers(1, 300))
def test_derived_seeds_property(root, n):
    seeds = derive_seeds(root, n)
    assert len(seeds) == n == len(set(seeds))
    assert derive_seeds(root, max(1, n // 2)) == seeds[:max(1, n // 2)]


def test_bare_zip_list_format(tmp_path):
    spec = load_sweep(write(tmp_path, 'out = "o"\nzip = [["alpha", "tau"]]\n' + BASE
                            + "[axes]\nalpha = [0.1, 0.2]\ntau = [1, 2]\n"))
    assert [(d.name, d.members) for d in spec.dims] == [("alpha_tau", ("alpha", "tau"))]
    assert [c.labels["tau"] for c in spec.cells] == [1, 2]


def test_replicates_get_distinct_seeds_in_every_cell(tmp_path):
    spec = load_sweep(write(tmp_path, GRID))
    assert spec.seeds == tuple(derive_seeds(7, 2))
    assert len(spec.cells) == 2 * 2 * 2
    for start in range(0, len(spec.cells), 2):
        pair = spec.cells[start:start + 2]
        assert [c.config["seed"] for c in pair] == list(spec.seeds)
        assert pair[0].key != pair[1].key
    assert len({c.key for c in spec.cells}) == len(spec.cells)


def test_repeated_explicit_seed_rejected(tmp_path):
    path = write(tmp_path, 'out = "o"\nseeds = [1, 2, 1]\n' + BASE)
    with pytest.raises(ValueError, match=r"line 2: seeds = .*seed 1 repeats"):
        load_sweep(path)


def test_dict_spec_equals_toml_spec(tmp_path):
    from_file = load_sweep(write(tmp_path, GRID))
    from_dict = SweepSpec.from_dict({
        "name": "grid", "out": "out", "replicates": 2, "root_seed": 7,
        "base": {"n_quanta": 200, "agents": 4, "steps": 200, "engine": "exact",
                 "checkpoints": 5},
        "axes": {"alpha": [0.3, 0.6], "capacity": [20, "inf"]}}, base_dir=tmp_path)
    assert from_dict.spec_hash == from_file.spec_hash
    assert [c.key for c in from_dict.cells] == [c.key for c in from_file.cells]


def test_cell_key_ignores_spelling_but_not_values():
    from simquanta.config import simulation_from_config

    def key(**kw):
        return cell_key(simulation_from_config(dict(n_quanta=10, steps=10, **kw)).to_config(),
                        None)

    assert key(tau=5) == key(tau=5.0)
    assert key(tau=5) != key(tau=6)
    assert cell_key({"a": 1}, None) != cell_key({"a": 1}, "abc")


# ------------------------------------------------------------------ bad sweep files

BAD = {
    "unknown_base_field": (BASE + "n_quantaa = 3\n", r"line 8: base\.n_quantaa = 3 is "
                                                     r"invalid: unknown field"),
    "unknown_axis_field": (BASE + "[axes]\nalphaa = [0.1]\n",
                           r"line 9: axes\.alphaa = .*unknown field"),
    "empty_axis": (BASE + "[axes]\nalpha = []\n",
                   r"line 9: axes\.alpha = \[\] is invalid: an axis needs at least one"),
    "zip_lengths": (BASE + "[axes]\nalpha = [0.1, 0.2]\ntau = [1, 2, 3]\n"
                           "[[zip]]\naxes = [\"alpha\", \"tau\"]\n",
                    r"line 11: zip\[0\] = .*equal lengths \(alpha has 2, tau has 3 values\)"),
    "wrong_type_in_axis": (BASE + "[axes]\nalpha = [0.3, \"big\"]\n",
                           r"line 9: axes\.alpha = 'big' is invalid: must be a number"),
    "invalid_value_in_cell": (BASE + "[axes]\ntau = [2, 0.5]\n",
                              r"line 9: axes\.tau = .*invalid.*\(in the cell tau=0\.5"),
    "wrong_type_in_base": (BASE.replace("agents = 4", "agents = \"four\""),
                           r"line 4: base\.agents = 'four' is invalid: must be an integer"),
    "toml_syntax": (BASE + "alpha = = 3\n", r"TOML syntax error: .*line 8"),
    "unknown_top_level": ("outt = 'x'\n" + BASE, r"line 1: outt = 'x' is invalid: unknown key"),
    "seed_axis": (BASE + "[axes]\nseed = [1, 2]\n", r"axes\.seed = .*seeds = \[\.\.\.\]"),
    "missing_graph": (BASE + "[axes]\ngraph = [\"nope.toml\"]\n",
                      r"line 9: axes\.graph = 'nope\.toml' is invalid: cannot read"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweep_file_rejected_before_running(tmp_path, case, capsys):
    text, pattern = BAD[case]
    path = write(tmp_path, 'out = "out"\n' + text.lstrip("\n") if case != "unknown_top_level"
                 else text)
    with pytest.raises(ValueError, match=pattern):
        load_sweep(path)
    assert cli(["sweep", str(path), "--executor", "serial"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was created


def test_out_dir_of_another_sweep_rejected(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"format": FORMAT, "name": "other"}))
    path = write(tmp_path, GRID)
    with pytest.raises(ValueError, match=r"out = .* holds another sweep \('other'"):
        run_sweep(path, executor="serial", progress=False)
    assert cli(["sweep", str(path), "--executor", "serial", "--force"]) == 2
    assert "another sweep" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST]


def test_non_empty_foreign_out_dir_rejected(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"out = .* not empty .* holds no sweep\.json"):
        run_sweep(write(tmp_path, GRID), executor="serial", progress=False)


def test_dask_missing_gives_install_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import now fails
    assert cli(["sweep", str(write(tmp_path, GRID)), "--executor", "dask"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and 'pip install "simquanta[dask]"' in err
    assert not (tmp_path / "out").exists()


def test_cli_option_conflicts_exit_2(tmp_path, capsys):
    path = str(write(tmp_path, GRID))
    assert cli(["sweep", path, "--scheduler", "tcp://x:1"]) == 2
    assert cli(["sweep", path, "--executor", "serial", "--workers", "2"]) == 2
    with pytest.raises(SystemExit) as exc:
        cli(["sweep", path, "--workers", "0"])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines) and len(lines) == 3


# ------------------------------------------------------------------ running and storage


def test_serial_sweep_layout_labels_and_table(tmp_path, capsys):
    path = write(tmp_path, GRID)
    assert cli(["sweep", str(path), "--executor", "serial"]) == 0
    captured = capsys.readouterr()
    assert "cell 1/8 done" in captured.err and "cell 8/8 done" in captured.err  # no tty
    assert "8 computed, 0 reused" in captured.out
    out = tmp_path / "out"
    assert len(list((out / CELLS).glob("*.nc"))) == 8
    ds = open_sweep(out)
    assert ds["loss"].dims == ("alpha", "capacity", "replicate", "agent", "checkpoint")
    assert ds["alpha"].values.tolist() == [0.3, 0.6]
    assert ds["capacity"].values.tolist() == [20.0, np.inf]
    assert ds["seed"].values.tolist() == derive_seeds(7, 2)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["seeds"] == derive_seeds(7, 2)
    assert manifest["versions"]["simquanta"] and "git_revision" in manifest
    assert json.loads(ds.attrs["seeds"]) == manifest["seeds"]
    assert json.loads(ds.attrs["versions"])["numba"]
    # A cell is exactly the run its config describes.
    from simquanta.config import simulation_from_config
    from simquanta.simulate import run

    one = run(simulation_from_config(dict(n_quanta=200, agents=4, steps=200, engine="exact",
                                          checkpoints=5, alpha=0.6, capacity="inf",
                                          seed=derive_seeds(7, 2)[1])))
    cell = ds["loss"].sel(alpha=0.6, capacity=np.inf, replicate=1)
    assert np.array_equal(cell.values, one.loss)
    table = to_table(ds)
    assert len(table) == 8 * 4 * 5
    assert {"alpha", "capacity", "seed", "step", "loss"} <= set(table.columns)
    assert (out / "merged.csv").exists()
    # Rerun: nothing to compute.
    assert run_sweep(path, executor="serial", progress=False).computed == 0


def test_unshared_step_grids_and_agent_counts(tmp_path):
    base = BASE.replace("agents = 4\n", "").replace("steps = 200\n", "")
    path = write(tmp_path, 'out = "out"\n' + base + "[axes]\nsteps = [200, 50]\nagents = [2, 3]\n")
    run_sweep(path, executor="serial", progress=False)
    ds = open_sweep(tmp_path / "out")
    assert ds["step"].dims == ("steps", "agents", "replicate", "checkpoint")
    assert ds["step"].sel(steps=50, agents=2, replicate=0).values[-1] == 50
    assert ds["step"].sel(steps=200, agents=2, replicate=0).values[-1] == 200
    small = ds["loss"].sel(steps=200, agents=2, replicate=0)
    assert np.isnan(small.values[2]).all() and not np.isnan(small.values[:2]).any()
    assert len(to_table(ds)) == 2 * (2 + 3) * 5  # padding rows dropped


def test_graph_axis_hashes_and_records_files(tmp_path):
    for name, rule in (("g1.toml", "all"), ("g2.toml", "any")):
        (tmp_path / name).write_text(f'[nodes.t]\nrule = "{rule}"\nchildren = ["q0", "q1"]\n')
    path = write(tmp_path, 'out = "out"\n' + BASE + '[axes]\ngraph = ["g1.toml", "g2.toml"]\n')
    spec = load_sweep(path)
    assert len({c.key for c in spec.cells}) == 2 and spec.cells[0].graph == "g1.toml"
    run_sweep(spec, executor="serial", progress=False)
    ds = open_sweep(tmp_path / "out")
    assert ds["graph"].values.tolist() == ["g1.toml", "g2.toml"]
    assert len(set(ds["graph_sha256"].values.tolist())) == 2
    # Same configs, so the simulated numbers agree; only the graph hash tells cells apart.
    assert np.array_equal(ds["loss"].isel(graph=0), ds["loss"].isel(graph=1))
    (tmp_path / "g2.toml").write_text('[nodes.t]\nrule = "all"\nchildren = ["q0"]\n')
    with pytest.raises(ValueError, match=r"graphs\.g2\.toml changed"):
        run_sweep(path, executor="serial", progress=False)


def test_graph_leaves_checked_against_n_quanta(tmp_path):
    (tmp_path / "g.toml").write_text('[nodes.t]\nrule = "all"\nchildren = ["q0", "q500"]\n')
    path = write(tmp_path, 'out = "out"\n' + BASE + 'graph = "g.toml"\n')
    with pytest.raises(ValueError, match=r"base\.graph = 'g\.toml' is invalid"):
        load_sweep(path)


def test_spec_change_refused_then_forced(tmp_path, capsys):
    path = write(tmp_path, GRID)
    run_sweep(path, executor="serial", progress=False)
    # Extending an axis keeps every stored cell valid: accepted without --force.
    path.write_text(GRID.replace("alpha = [0.3, 0.6]", "alpha = [0.3, 0.6, 0.9]"))
    extended = run_sweep(path, executor="serial", progress=False)
    assert (extended.computed, extended.reused) == (4, 8)
    # Changing a value invalidates cells: refused, naming the change; nothing is touched.
    path.write_text(GRID.replace("alpha = [0.3, 0.6]", "alpha = [0.3, 0.7]"))
    before = sorted(p.name for p in (tmp_path / "out" / CELLS).iterdir())
    with pytest.raises(ValueError, match=r"spec changed .*axes\.alpha changed from "
                                         r"\[0\.3, 0\.6, 0\.9\] to \[0\.3, 0\.7\].*--force"):
        run_sweep(path, executor="serial", progress=False)
    assert cli(["sweep", str(path), "--executor", "serial"]) == 2
    assert "axes.alpha changed" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out" / CELLS).iterdir()) == before
    assert (tmp_path / "out" / MERGED).exists()
    forced = run_sweep(path, executor="serial", progress=False, force=True)
    assert (forced.removed, forced.reused, forced.computed) == (8, 4, 4)
    assert len(list((tmp_path / "out" / CELLS).glob("*.nc"))) == 8
    fresh = tmp_path / "fresh"
    run_sweep(path, executor="serial", progress=False, out=fresh)
    assert_same_results(open_sweep(tmp_path / "out"), open_sweep(fresh))
    # Any change to base is named too.
    path.write_text(GRID.replace("alpha = [0.3, 0.6]", "alpha = [0.3, 0.7]")
                    .replace("n_quanta = 200", "n_quanta = 300"))
    with pytest.raises(ValueError, match=r"base\.n_quanta changed from 200 to 300"):
        run_sweep(path, executor="serial", progress=False)


def test_cells_of_another_simquanta_version_are_not_resumed(tmp_path, monkeypatch):
    """A new version may draw other numbers for the same seed (0.2.0 did): its cells must
    not be merged with stored ones."""
    path = write(tmp_path, GRID)
    run_sweep(path, executor="serial", progress=False)
    # as if another version were installed
    monkeypatch.setattr(simquanta._version, "__version__", "999.0")
    with pytest.raises(ValueError, match=r"spec changed .*simquanta changed from "
                                         r"'?[0-9.]+'? to '?999\.0'?.*--force"):
        run_sweep(path, executor="serial", progress=False)
    forced = run_sweep(path, executor="serial", progress=False, force=True)
    assert (forced.removed, forced.reused) == (forced.computed, 0)


# ------------------------------------------------------------------ crash safety


def test_resume_after_sigkill_is_bit_identical(tmp_path):
    n_cells = 40
    text = ('name = "kill"\nout = "out"\nseeds = [11, 12, 13, 14]\n' + BASE
            + "[axes]\nalpha = " + str([round(0.1 + 0.1 * i, 2) for i in range(n_cells // 4)])
            + "\n")
    path = write(tmp_path, text)
    cells = tmp_path / "out" / CELLS
    proc = subprocess.Popen(
        [sys.executable, "-m", "simquanta.cli", "sweep", str(path),
         "--executor", "processes", "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (cells.is_dir() and any(cells.glob("*.nc"))):
            assert proc.poll() is None, "sweep ended before writing a cell"
            assert time.monotonic() < deadline, "no cell written within 60 s"
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the runner and its workers, like kill -9
        proc.wait()
    done = [p for p in cells.glob("*.nc")]
    assert 1 <= len(done) < n_cells, "the sweep finished before the kill; make it longer"
    assert not (tmp_path / "out" / MERGED).exists()
    for p in done:  # every visible file is complete
        with xr.open_dataset(p) as ds:
            assert ds["loss"].shape == (4, 5)
    (cells / f".simquanta-abcd1234.{done[0].name}.tmp").write_bytes(b"partial")  # killed mid-write
    info = sweep_info(tmp_path / "out")
    assert info["cells_done"] == len(done) and info["cells_total"] == n_cells
    assert info["status"].startswith("interrupted")
    resumed = run_sweep(path, executor="serial", progress=False)
    assert resumed.computed == n_cells - len(done)
    assert not list(cells.glob(".*"))
    reference = tmp_path / "reference"
    run_sweep(path, executor="serial", progress=False, out=reference)
    assert_same_results(open_sweep(tmp_path / "out"), open_sweep(reference))


# ------------------------------------------------------------------ executors


def test_results_identical_across_executors(tmp_path):
    path = write(tmp_path, GRID)
    serial = run_sweep(path, executor="serial", progress=False, out=tmp_path / "serial")
    procs = run_sweep(path, executor="processes", workers=2, progress=False,
                      out=tmp_path / "procs")
    assert serial.computed == procs.computed == 8
    reference = open_sweep(tmp_path / "serial")
    assert_same_results(reference, open_sweep(tmp_path / "procs"))
    # Merging in spec order: a re-merge from files equals the stored merge.
    assert_same_results(reference, merge_cells(tmp_path / "procs"))


@pytest.mark.skipif(not dask_available(), reason="dask.distributed not installed")
def test_dask_local_cluster_matches_serial(tmp_path):
    path = write(tmp_path, GRID)
    env_before = os.environ.get("NUMBA_NUM_THREADS")
    run_sweep(path, executor="serial", progress=False, out=tmp_path / "serial")
    run_sweep(path, executor="dask", workers=2, progress=False, out=tmp_path / "dask")
    assert os.environ.get("NUMBA_NUM_THREADS") == env_before  # parent left untouched
    assert_same_results(open_sweep(tmp_path / "serial"), open_sweep(tmp_path / "dask"))


# ------------------------------------------------------------------ info


def test_info_on_directory_merged_file_and_single_run(tmp_path, capsys):
    path = write(tmp_path, GRID)
    run_sweep(path, executor="serial", progress=False)
    out = tmp_path / "out"
    assert cli(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "cells:        8/8 done" in text and "axis alpha:" in text
    assert "loss range:" in text and "git revision:" in text and "numba" in text
    assert cli(["info", str(out / MERGED), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "merged sweep" and info["dims"]["replicate"] == 2
    assert info["seeds"] == derive_seeds(7, 2) and 0 <= info["loss_min"] <= info["loss_max"]

    import simquanta as sq

    sq.simulate(sq.Quanta(50), data=sq.Online(steps=20), agents=2, seed=3,
                engine="exact").save(tmp_path / "run.nc")
    assert cli(["info", str(tmp_path / "run.nc"), "--json"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert single["kind"] == "single run" and single["seeds"] == [3]
    assert cli(["info", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_help_epilogs_have_examples():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("sweep", "info"):
        text = sub.choices[name].format_help()
        assert "examples:" in text and f"simquanta {name} " in text


def test_example_sweep_file_is_valid():
    example = Path(__file__).resolve().parents[1] / "experiments" / "sweeps" / "example.toml"
    spec = load_sweep(example)
    assert spec.name == "example" and len(spec.cells) <= 64
    assert len(set(spec.seeds)) == len(spec.seeds) > 1


def test_graph_axis_tasks_are_evaluated_and_merged(tmp_path):
    """Each cell's tasks equal a direct evaluation of the graph on the same learners; with
    graphs as an axis the merged task dimension is the union, NaN where a graph lacks a
    task; the tidy table gets one column per task."""
    import simquanta as sq
    from simquanta.composition import CompositionGraph

    CompositionGraph.from_dict({"nodes": {
        "both": {"rule": "all", "children": ["q0", "q1"]}}}).save(tmp_path / "a.toml")
    CompositionGraph.from_dict({"nodes": {
        "either": {"rule": "any", "children": ["q2", "q5"]},
        "both": {"rule": "all", "children": ["q0", "q1"]}}}).save(tmp_path / "b.toml")
    path = write(tmp_path, 'name = "graphs"\nout = "out"\nseeds = [3]\n' + BASE +
                 '[axes]\ngraph = ["a.toml", "b.toml"]\n')
    run_sweep(path, executor="serial", progress=False)
    ds = open_sweep(tmp_path / "out")
    assert list(ds["task"].values) == ["both", "either"]
    from simquanta.config import simulation_from_config

    sim = simulation_from_config({"n_quanta": 200, "agents": 4, "steps": 200,
                                  "engine": "exact", "checkpoints": 5, "seed": 3})
    direct = sq.simulate(sim.quanta, sim.learner, sim.data, agents=4, seed=3, checkpoints=5,
                         engine="exact", record_learn_steps=True)
    values, names = CompositionGraph.load(tmp_path / "b.toml").evaluate(direct.learned_mask())
    for j, name in enumerate(names):
        merged = ds["task_success"].sel(task=name).isel(graph=1, replicate=0).values
        assert np.array_equal(merged, values[..., j]), name
    assert np.all(np.isnan(ds["task_success"].sel(task="either").isel(graph=0).values))
    table = to_table(ds)
    assert {"task:both", "task:either"} <= set(table.columns)
    assert len(table) == 2 * 4 * 5  # graphs × agents × checkpoints, no task duplication


def test_graph_under_evict_uses_recorded_learned_sets(tmp_path):
    """Under evict quanta can be unlearned again; the task values must follow the learned
    set at each checkpoint (exact engine), not "ever learned"."""
    from simquanta.composition import CompositionGraph

    CompositionGraph.from_dict({"nodes": {"t": {"rule": "all", "children": ["q0"]}}}).save(
        tmp_path / "g.toml")
    path = write(tmp_path, 'name = "e"\nout = "out"\nseeds = [4]\n' + BASE +
                 'policy = "evict"\ncapacity = 5\ngraph = "g.toml"\n')
    run_sweep(path, executor="serial", progress=False)
    ds = open_sweep(tmp_path / "out")
    import simquanta as sq
    from simquanta.config import simulation_from_config

    sim = simulation_from_config({"n_quanta": 200, "agents": 4, "steps": 200, "seed": 4,
                                  "engine": "exact", "checkpoints": 5, "policy": "evict",
                                  "capacity": 5})
    direct = sq.simulate(sim.quanta, sim.learner, sim.data, agents=4, seed=4, checkpoints=5,
                         engine="exact", record_learned_sets=True)
    expected = direct.learned_sets[..., 0].astype(float)
    assert np.array_equal(ds["task_success"].sel(task="t").isel(replicate=0).values, expected)
