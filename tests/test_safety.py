"""Issue 17: nothing lost, nothing overwritten, nothing overflowed.

One test (at least) per failure the fuzzing pass found: special files and symlinks are
never replaced, sweeps write only into folders they own and delete only their own
temporaries, cells are verified (damaged ones quarantined and recomputed), arithmetic stays
within int64/finite floats or is refused, runs past the memory limit are refused before
anything is allocated, and no input gives a traceback, a hang or an orphaned worker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from snapshots import snapshot

from simquanta.cli import main
from simquanta.composition import CompositionGraph
from simquanta.config import simulation_from_config
from simquanta.files import TEMP_PREFIX, atomic_path, check_output, is_temporary
from simquanta.result import Result
from simquanta.specs import Dataset, Learner, Online, Prerequisites, Quanta, Simulation
from simquanta.sweep import MERGED, SweepSpec, run_sweep

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--n-quanta", "20", "--steps", "50", "--agents", "2", "--checkpoints", "3",
         "--engine", "exact"]


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def sweep_file(tmp_path: Path, body: str = "", name: str = "s", out: str = "out") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'out = "{out}"\n' + textwrap.dedent(body or """
        [base]
        n_quanta = 20
        agents = 2
        steps = 40
        engine = "exact"
        checkpoints = 3
        [axes]
        alpha = [0.3, 0.6, 0.9]
    """))
    return path


# -- 1. special files and symlinks are never replaced ------------------------------------
def test_simulate_out_fifo_is_refused_before_running_and_left_alone(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    before = snapshot(tmp_path)
    code, out, err = cli(capsys, "simulate", *SMALL, "--out", str(fifo))
    assert code == 2 and "out = " in one_error_line(err) and "not a regular file" in err
    assert out == "" and snapshot(tmp_path) == before
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_simulate_out_symlink_to_file_outside_is_left_alone(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "thesis.md"
    target.write_text("my thesis\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "r.nc").symlink_to(target)
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "simulate", *SMALL, "--out", str(work / "r.nc"))
    assert code == 2 and "symlink" in one_error_line(err)
    assert snapshot(tmp_path) == before and target.read_text() == "my thesis\n"


def test_copy_of_a_device_file_and_figure_and_graph_image_refused(tmp_path, capsys):
    fifo = tmp_path / "fig.png"
    os.mkfifo(fifo)
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "simulate", *SMALL, "--figure", str(fifo))
    assert code == 2 and "figure = " in one_error_line(err)
    graph = tmp_path / "g.toml"
    CompositionGraph_demo().save(graph)
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "graph", "show", str(graph), "--image", str(fifo))
    assert code == 2 and "image = " in one_error_line(err)
    assert snapshot(tmp_path) == before


def CompositionGraph_demo() -> CompositionGraph:  # noqa: N802 - a fixture-like builder
    g = CompositionGraph()
    g.add_node("t", "all", [0, 1])
    return g


@pytest.mark.parametrize("bad", ["", "   ", "dir/"])
def test_empty_or_directory_out_refused(tmp_path, capsys, monkeypatch, bad):
    (tmp_path / "dir").mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "simulate", *SMALL, "--out", bad)
    assert code == 2 and "out = " in one_error_line(err)


def test_unwritable_parent_refused_before_work(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="not writable"):
            check_output(locked / "r.nc")
    finally:
        locked.chmod(0o700)


def test_figure_without_suffix_reports_the_path_written(tmp_path, capsys):
    code, out, _ = cli(capsys, "simulate", *SMALL, "--figure", str(tmp_path / "X"))
    assert code == 0 and (tmp_path / "X.png").is_file() and not (tmp_path / "X").exists()
    assert f"wrote {tmp_path / 'X.png'}" in out.splitlines()


def test_temporaries_have_the_package_prefix_and_a_random_part(tmp_path):
    seen = []
    with atomic_path(tmp_path / "a.txt") as tmp:
        seen.append(tmp.name)
        tmp.write_text("x")
    with atomic_path(tmp_path / "a.txt") as tmp:
        seen.append(tmp.name)
        tmp.write_text("y")
    assert all(name.startswith(TEMP_PREFIX) and is_temporary(name) for name in seen)
    assert seen[0] != seen[1]
    assert not is_temporary(".thesis.md.tmp") and not is_temporary(".a.txt.abc.tmp")


# -- 2. owned sweep folders --------------------------------------------------------------
def test_sweep_into_a_folder_of_dotfiles_is_refused_and_leaves_them(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".thesis.md.tmp").write_text("chapter 1")
    (out / ".notes.txt.tmp").write_text("notes")
    (out / ".hidden").mkdir()
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "sweep", str(sweep_file(tmp_path)), "--executor", "serial")
    assert code == 2 and "not empty" in one_error_line(err) and ".notes.txt.tmp" in err
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k.startswith("out")} == {
        k: v for k, v in before.items() if k.startswith("out")}


def test_cleanup_removes_only_simquanta_temporaries(tmp_path):
    path = sweep_file(tmp_path)
    run_sweep(path, executor="serial", progress=False)
    out = tmp_path / "out"
    mine = out / "cells" / f"{TEMP_PREFIX}abcd1234.x.nc.tmp"
    mine.write_bytes(b"partial")
    theirs = [out / ".thesis.md.tmp", out / "cells" / ".notes.txt.tmp"]
    for p in theirs:
        p.write_text("keep me")
    run_sweep(path, executor="serial", progress=False)
    assert not mine.exists() and all(p.read_text() == "keep me" for p in theirs)


def test_cells_folder_symlinked_outside_is_refused(tmp_path):
    path = sweep_file(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "cells").symlink_to(outside)
    with pytest.raises(ValueError, match="cells is not a folder"):
        run_sweep(path, executor="serial", progress=False)
    assert list(outside.iterdir()) == []


# -- 3. verified cells -------------------------------------------------------------------
def merged_loss(out: Path) -> np.ndarray:
    import xarray as xr

    with xr.open_dataset(out / MERGED) as ds:
        return ds["loss"].values.copy()


def finished_sweep(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    """(sweep file, its out folder, merged losses) of a finished small sweep."""
    path = sweep_file(tmp_path)
    run_sweep(path, executor="serial", progress=False)
    return path, tmp_path / "out", merged_loss(tmp_path / "out")


def test_cell_copied_over_another_is_quarantined_and_recomputed(tmp_path, capsys):
    path, out, good = finished_sweep(tmp_path)
    cells = sorted((out / "cells").glob("*.nc"))
    shutil.copyfile(cells[0], cells[1])
    (out / MERGED).unlink()
    code, text, _ = cli(capsys, "sweep", str(path), "--executor", "serial")
    assert code == 0 and "quarantined" in text and "holds cell" in text
    assert (out / "quarantine" / cells[1].name).is_file()
    np.testing.assert_array_equal(merged_loss(out), good)


def test_simulate_output_under_a_cell_name_is_quarantined(tmp_path, capsys):
    path, out, good = finished_sweep(tmp_path)
    victim = sorted((out / "cells").glob("*.nc"))[2]
    victim.unlink()
    code, _, _ = cli(capsys, "simulate", "--n-quanta", "20", "--steps", "300", "--agents",
                     "2", "--checkpoints", "29", "--out", str(victim))
    assert code == 0
    done = run_sweep(path, executor="serial", progress=False)
    assert [p.name for p, _ in done.quarantined] == [victim.name]
    assert "no sweep_cell record" in done.quarantined[0][1]
    np.testing.assert_array_equal(merged_loss(out), good)  # not padded to 29 checkpoints


def test_truncated_cell_is_reported_by_info_then_quarantined(tmp_path, capsys):
    path, out, good = finished_sweep(tmp_path)
    victim = sorted((out / "cells").glob("*.nc"))[0]
    victim.write_bytes(victim.read_bytes()[:200])
    (out / MERGED).write_bytes(b"garbage")
    code, text, err = cli(capsys, "info", str(out))
    assert code == 0 and err == ""
    assert "cell file(s) unreadable" in text and f"{MERGED} is unreadable" in text
    code, text, _ = cli(capsys, "sweep", str(path), "--executor", "serial")
    assert code == 0 and "quarantined" in text and "unreadable" in text
    np.testing.assert_array_equal(merged_loss(out), good)
    code, text, _ = cli(capsys, "info", str(out))
    assert code == 0 and "problem" not in text


def test_merged_symlink_is_refused_not_reported_as_written(tmp_path, capsys):
    path = sweep_file(tmp_path)
    run_sweep(path, executor="serial", progress=False)
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere.nc"
    (out / MERGED).rename(elsewhere)
    (out / MERGED).symlink_to(elsewhere)
    before = snapshot(tmp_path)
    code, text, err = cli(capsys, "sweep", str(path), "--executor", "serial")
    assert code == 2 and "merged.nc is not a regular file" in one_error_line(err)
    assert "wrote" not in text and snapshot(tmp_path) == before


def test_rerun_with_nothing_to_do_writes_nothing_and_says_so(tmp_path, capsys):
    path = sweep_file(tmp_path)
    assert cli(capsys, "sweep", str(path), "--executor", "serial")[0] == 0
    code, text, _ = cli(capsys, "sweep", str(path), "--executor", "serial")
    assert code == 0 and "wrote" not in text and "up to date" in text


@pytest.mark.parametrize("edit", [
    lambda m: m.pop("cells"),
    lambda m: m.update(dims="x"),
    lambda m: m.update(seeds=[1.5]),
    lambda m: m["spec"].update(axes=[]),
    lambda m: m.update(cells=m["cells"][:1]),
])
def test_info_on_hand_edited_manifest_never_raises(tmp_path, capsys, edit):
    path = sweep_file(tmp_path)
    run_sweep(path, executor="serial", progress=False)
    manifest_path = tmp_path / "out" / "sweep.json"
    manifest = json.loads(manifest_path.read_text())
    edit(manifest)
    manifest_path.write_text(json.dumps(manifest))
    code, text, err = cli(capsys, "info", str(tmp_path / "out"))
    assert code == 0 and err == "" and "problem:" in text and "damaged" in text
    code, _, err = cli(capsys, "sweep", str(path), "--executor", "serial")
    assert code == 2 and "damaged" in one_error_line(err)


def test_info_on_hand_edited_merged_file_is_one_error_line(tmp_path, capsys):
    import netCDF4

    path = sweep_file(tmp_path)
    run_sweep(path, executor="serial", progress=False)
    merged = tmp_path / "out" / MERGED
    with netCDF4.Dataset(merged, "a") as nc:
        nc.setncattr("spec", "{not json")
    code, _, err = cli(capsys, "info", str(merged))
    assert code == 2 and "damaged" in one_error_line(err)


def test_info_on_a_fifo_returns_at_once(tmp_path):
    fifo = tmp_path / "r.nc"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "simquanta.cli", "info", str(fifo)],
                          capture_output=True, text=True, timeout=60, env=_env())
    assert done.returncode == 2 and "not a regular file" in one_error_line(done.stderr)


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


# -- 4. overflow-proof arithmetic --------------------------------------------------------
@pytest.mark.parametrize("argv, field", [
    (["--steps", str(10**17), "--batch-size", "1000"], "steps"),
    (["--batch-size", str(2**63 - 1), "--engine", "events"], "steps"),
    (["--dataset-size", "100", "--epochs", str(2**63 - 1)], "epochs"),
    (["--seed", str(2**64)], "seed"),
    (["--steps", str(2**64), "--batch-size", "1"], "steps"),
])
def test_overflowing_counts_are_refused(capsys, argv, field):
    code, out, err = cli(capsys, "simulate", "--n-quanta", "20", "--agents", "2", *argv)
    assert code == 2 and out == "" and one_error_line(err).startswith(f"error: {field} = ")


def test_largest_step_count_runs_exactly_to_its_end(capsys):
    with np.errstate(all="raise"):
        code, out, _ = cli(capsys, "simulate", "--n-quanta", "20", "--agents", "2",
                           "--checkpoints", "3", "--steps", str(2**63 - 1), "--batch-size",
                           "1", "--engine", "events", "--json")
    data = json.loads(out)
    assert code == 0 and data["steps"][-1] == data["samples"][-1] == 2**63 - 1
    assert all(0 <= loss <= 1 for loss in data["loss_mean"])


def test_seed_just_below_2_64_is_stored_by_out(tmp_path, capsys):
    code, _, _ = cli(capsys, "simulate", *SMALL, "--seed", str(2**64 - 1), "--out",
                     str(tmp_path / "r.nc"))
    assert code == 0 and Result.load(tmp_path / "r.nc").seed == 2**64 - 1


def test_huge_frequencies_normalise_and_are_learned():
    q = Quanta(n_quanta=10, frequencies=[1e308] * 10, tau=1.0)
    np.testing.assert_allclose(q.p, 0.1)
    losses = {}
    for engine in ("exact", "events"):
        sim = Simulation(quanta=q, data=Online(steps=2000), agents=4, engine=engine,
                         checkpoints=[2000])
        from simquanta.simulate import run

        losses[engine] = run(sim).loss_mean[-1]
    assert losses["exact"] == losses["events"] == 0.0  # everything learned, not "loss 0"


def test_extreme_alpha_gives_finite_probabilities():
    with np.errstate(all="raise"):
        p = Quanta(n_quanta=5, alpha=1.7e308, offset=-0.9).p
    assert np.all(np.isfinite(p)) and p[0] == 1.0 and p.sum() == 1.0


def test_losses_whose_sums_overflow_are_refused():
    with pytest.raises(ValueError, match="learned_loss"):
        Quanta(n_quanta=3, unlearned_loss=1.7e308, learned_loss=-1.7e308)


# -- 5. up-front resource estimate -------------------------------------------------------
@pytest.mark.parametrize("flag", ["--n-quanta", "--agents"])
def test_huge_runs_are_refused_before_allocating(capsys, flag):
    start = time.perf_counter()
    code, _, err = cli(capsys, "simulate", flag, str(10**10))
    line = one_error_line(err)
    assert code == 2 and time.perf_counter() - start < 30
    assert "would need about" in line and "--max-memory" in line
    assert ("reduce n_quanta" if flag == "--n-quanta" else "reduce agents") in line


def test_max_memory_flag_lowers_and_raises_the_limit(capsys):
    code, _, err = cli(capsys, "simulate", *SMALL, "--max-memory", "1K")
    assert code == 2 and "max_memory = 1000 B" in one_error_line(err)
    assert cli(capsys, "simulate", *SMALL, "--max-memory", "1G")[0] == 0
    code, _, err = cli(capsys, "simulate", *SMALL, "--max-memory", "lots")
    assert code == 2 and "max_memory = 'lots'" in one_error_line(err)


def test_sweep_of_10_8_replicates_refused_quickly(tmp_path, capsys):
    path = sweep_file(tmp_path, """
        replicates = 100000000
        root_seed = 1
        [base]
        n_quanta = 20
        steps = 40
    """)
    start = time.perf_counter()
    code, _, err = cli(capsys, "sweep", str(path), "--executor", "serial")
    assert code == 2 and "--allow-large-grid" in one_error_line(err)
    assert time.perf_counter() - start < 10


def test_sweep_cell_with_2_31_agents_refused_before_allocating(tmp_path, capsys):
    """Found by the fuzz suite: validating the cell allocated a capacity per agent."""
    path = sweep_file(tmp_path, """
        [base]
        n_quanta = 20
        steps = 30
        [axes]
        agents = [2147483647]
    """)
    start = time.perf_counter()
    code, _, err = cli(capsys, "sweep", str(path), "--executor", "serial")
    assert code == 2 and "would need about" in one_error_line(err)
    assert time.perf_counter() - start < 30 and not (tmp_path / "out").exists()


def test_sweep_memory_estimate_refuses_before_writing(tmp_path, capsys):
    path = sweep_file(tmp_path)
    code, _, err = cli(capsys, "sweep", str(path), "--executor", "serial", "--max-memory",
                       "1K")
    assert code == 2 and "would need about" in one_error_line(err)
    assert not (tmp_path / "out").exists()


# -- 6. no hangs, no orphans -------------------------------------------------------------
def test_config_prerequisites_edges_not_a_list(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("prerequisites = {edges = 5}\n")
    code, _, err = cli(capsys, "simulate", *SMALL, "--config", str(cfg))
    assert code == 2 and "prerequisites.edges = 5" in one_error_line(err)


def test_deep_graph_is_shown_quickly(tmp_path, capsys):
    lines = ['[nodes.n0]', 'rule = "all"', 'children = ["q0"]']
    for i in range(1, 10_000):
        lines += [f"[nodes.n{i}]", 'rule = "all"', f'children = ["n{i - 1}"]']
    path = tmp_path / "deep.toml"
    path.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    code, out, _ = cli(capsys, "graph", "show", str(path), "--image", str(tmp_path / "d.png"))
    assert code == 0 and "depth: 10000" in out and (tmp_path / "d.png").is_file()
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("kind", ["sweep", "config", "graph-json", "graph-toml"])
def test_deeply_nested_arrays_are_refused(tmp_path, capsys, kind):
    deep = "[" * 5000 + "]" * 5000
    if kind == "sweep":
        path = sweep_file(tmp_path, f"[base]\nn_quanta = 20\n[axes]\nalpha = {deep}\n")
        argv = ["sweep", str(path), "--executor", "serial"]
    elif kind == "config":
        path = tmp_path / "c.toml"
        path.write_text(f"tau = {deep}\n")
        argv = ["simulate", *SMALL, "--config", str(path)]
    elif kind == "graph-json":
        path = tmp_path / "g.json"
        path.write_text('{"nodes": ' + deep + "}")
        argv = ["graph", "show", str(path)]
    else:
        path = tmp_path / "g.toml"
        path.write_text(f"description = {deep}\n")
        argv = ["graph", "show", str(path)]
    code, _, err = cli(capsys, *argv)
    assert code == 2 and "nest more than" in one_error_line(err)


def test_bad_dask_address_fails_within_10_s_with_one_line(tmp_path):
    pytest.importorskip("dask.distributed")
    path = sweep_file(tmp_path)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "simquanta.cli", "sweep", str(path),
                           "--executor", "dask", "--scheduler", "notanaddress"],
                          capture_output=True, text=True, timeout=120, env=_env())
    # the budget counts from the sweep's own start, not the interpreter's imports
    assert done.returncode == 2 and "scheduler = 'notanaddress'" in one_error_line(done.stderr)
    assert time.monotonic() - start < 10 + 15


def _children(pid: int) -> set[int]:
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.add(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_pool_workers_exit_when_the_sweep_is_killed(tmp_path, executor):
    if executor == "dask":
        pytest.importorskip("dask.distributed")
    path = sweep_file(tmp_path, """
        [base]
        n_quanta = 2000
        agents = 4
        steps = 3000
        engine = "exact"
        checkpoints = 5
        [axes]
        alpha = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]
    """)
    proc = subprocess.Popen([sys.executable, "-m", "simquanta.cli", "sweep", str(path),
                             "--executor", executor, "--workers", "2"], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cells = tmp_path / "out" / "cells"
    deadline = time.monotonic() + 180
    workers: set[int] = set()
    try:
        while not (cells.is_dir() and any(cells.glob("*.nc"))):
            assert proc.poll() is None and time.monotonic() < deadline
            workers |= {k for k in _children(proc.pid)}
            time.sleep(0.01)
        workers |= _children(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)  # the main process only, like kill -9 <pid>
        proc.wait()
    assert workers
    stop = time.monotonic() + 20
    while any(_alive(w) for w in workers) and time.monotonic() < stop:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "pool workers outlived their sweep"
    written = len(list(cells.glob("*.nc")))
    time.sleep(2)
    assert len(list(cells.glob("*.nc"))) == written


# -- 7. constructors name the field; duplicate keys; booleans are not integers ---------
@pytest.mark.parametrize("make, field", [
    (lambda: Prerequisites(edges=5), "prerequisites.edges"),
    (lambda: Prerequisites(edges=[(0, 1)], factor="x"), "prerequisites.factor"),
    (lambda: CompositionGraph().add_node("a", "all", None), "children"),
    (lambda: CompositionGraph().add_node("a", "all", [0], weights=3), "weights"),
    (lambda: CompositionGraph.load(None), "graph"),
    (lambda: CompositionGraph(description=3), "description"),
    (lambda: Quanta(n_quanta=True), "n_quanta"),
    (lambda: Quanta(n_quanta=3, tau=None), "tau"),
    (lambda: Quanta(n_quanta=3, frequencies="abc"), "frequencies"),
    (lambda: Learner(capacity=None), "capacity"),
    (lambda: Learner(acquisition=None), "acquisition"),
    (lambda: Online(steps=None), "steps"),
    (lambda: Online(steps=10, batch_size=True), "batch_size"),
    (lambda: Dataset(size=10, epochs=False), "epochs"),
    (lambda: Simulation(quanta=None), "quanta"),
    (lambda: Simulation(quanta=Quanta(n_quanta=3), checkpoints=[True, 2]), "checkpoints"),
    (lambda: Simulation(quanta=Quanta(n_quanta=3), checkpoints=True), "checkpoints"),
    (lambda: Simulation(quanta=Quanta(n_quanta=3), seed=2**64), "seed"),
    (lambda: Simulation(quanta=Quanta(n_quanta=3), seed=1.0), "seed"),
    (lambda: SweepSpec(axes={"alpha": [0.5]}, seeds=[True]), "seeds"),
    (lambda: SweepSpec(axes=5), "axes"),
    (lambda: run_sweep(None), "sweep"),
    (lambda: simulation_from_config({"checkpoints": [True, 2]}), "checkpoints"),
    (lambda: simulation_from_config({"prerequisites": {"edges": 5}}), "prerequisites.edges"),
])
def test_public_constructors_name_the_field(make, field):
    with pytest.raises(ValueError) as info:
        make()
    assert field in str(info.value)


def test_json_graph_with_duplicate_key_is_refused(tmp_path, capsys):
    path = tmp_path / "g.json"
    path.write_text('{"nodes": {"t": {"rule": "all", "children": ["q0"], '
                    '"rule": "any"}}}')
    code, _, err = cli(capsys, "graph", "show", str(path))
    assert code == 2 and "duplicate key 'rule'" in one_error_line(err)


def test_speed_law_with_n0_zero_at_capacity_zero_does_not_crash(tmp_path):
    """Found by the fuzz suite: 0/0 gave a NaN speed factor and a segfault in the exact
    dataset kernel (run in a subprocess so a crash fails this test, not the whole run)."""
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m",
                           "simquanta.cli", "simulate", "--n-quanta=30", "--batch-size=5",
                           "--agents=3", "--checkpoints=1", "--capacity=0",
                           "--dataset-size=20", "--speed-n0=0.0", "--json"],
                          capture_output=True, text=True, timeout=300, env=_env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["loss_mean"] == [1.0]
