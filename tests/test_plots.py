"""Plots: Result.plot's kinds, the simulate --graph figure (one line per task), merged-sweep
facets, and ``simquanta plot`` on a saved run and a merged sweep."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

import simquanta as sq
from simquanta import plots
from simquanta.cli import main

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "experiments" / "graphs" / "demo.toml"
SMALL = ["--n-quanta", "200", "--steps", "300", "--batch-size", "10", "--agents", "6",
         "--checkpoints", "8", "--engine", "exact"]


@pytest.fixture(scope="module")
def run_with_tasks():
    return sq.simulate(sq.Quanta(200, tau=3), sq.Learner(), sq.Online(steps=300, batch_size=10),
                       agents=6, seed=2, checkpoints=8, engine="exact", graph=DEMO)


@pytest.fixture
def figures(monkeypatch):
    """Every figure plots.save writes, in order."""
    saved = []
    original = plots.save

    def spy(fig, path, **kwargs):
        saved.append(fig)
        return original(fig, path, **kwargs)

    monkeypatch.setattr(plots, "save", spy)
    return saved


def _task_axes(fig):
    return next(ax for ax in fig.axes if ax.get_ylabel() == "task success")


@pytest.mark.parametrize("kind", plots.RESULT_KINDS)
def test_every_kind_draws(run_with_tasks, kind):
    ax = run_with_tasks.plot(kind=kind)
    assert ax.has_data()
    matplotlib.pyplot.close(ax.figure)


def test_loss_kind_has_closed_form_dashed(run_with_tasks):
    ax = run_with_tasks.plot()
    styles = {line.get_label(): line.get_linestyle() for line in ax.get_lines()}
    assert styles["closed form"] == "--"
    matplotlib.pyplot.close(ax.figure)


def test_agents_kind_draws_single_agents_beside_the_mean(run_with_tasks):
    ax = run_with_tasks.plot(kind="agents")
    assert len(ax.get_lines()) == run_with_tasks.n_agents + 1
    matplotlib.pyplot.close(ax.figure)


def test_unknown_kind_and_missing_records_are_named():
    result = sq.simulate(sq.Quanta(20), agents=2, checkpoints=3, engine="exact")
    with pytest.raises(ValueError, match="kind"):
        result.plot(kind="histogram")
    with pytest.raises(ValueError, match="record_learn_steps"):
        result.plot(kind="quanta")
    with pytest.raises(ValueError, match="graph"):
        result.plot(kind="tasks")


def test_simulate_graph_figure_has_one_line_per_task(tmp_path, figures, capsys):
    figure = tmp_path / "f.png"
    assert main(["simulate", "--graph", str(DEMO), "--figure", str(figure), *SMALL]) == 0
    assert figure.stat().st_size > 0
    tasks = sq.load_graph(DEMO).tasks
    ax = _task_axes(figures[-1])
    lines = ax.get_lines()
    assert len(lines) == len(tasks)
    assert [line.get_label().split(" (")[0] for line in lines] == tasks
    assert all("dec" in line.get_label() or "n/a" in line.get_label() for line in lines)
    loss_ax = next(a for a in figures[-1].axes if a.get_ylabel().startswith("loss"))
    assert "closed form" in [line.get_label() for line in loss_ax.get_lines()]


def test_figure_without_graph_is_the_loss_alone(tmp_path, figures):
    assert main(["simulate", "--figure", str(tmp_path / "f.png"), *SMALL]) == 0
    assert [ax.get_ylabel() for ax in figures[-1].axes] == ["loss (bits per sample)"]


def test_plot_command_opens_a_saved_run(tmp_path, figures, capsys, monkeypatch):
    run = tmp_path / "run.nc"
    assert main(["simulate", "--graph", str(DEMO), "--out", str(run), *SMALL]) == 0
    out = tmp_path / "tasks.png"
    assert main(["plot", str(run), "--kind", "tasks", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert len(_task_axes(figures[-1]).get_lines()) == len(sq.load_graph(DEMO).tasks)
    monkeypatch.chdir(tmp_path)  # the default name lands in the current directory
    assert main(["plot", str(run)]) == 0
    assert (tmp_path / "run_summary.png").exists()
    assert len(figures[-1].axes) == 2  # loss beside the task curves


def test_plot_command_refuses_other_files(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nope.nc")]) == 2
    assert capsys.readouterr().err.startswith("error: FILE")
    (tmp_path / "x.nc").write_text("not netcdf")
    assert main(["plot", str(tmp_path / "x.nc")]) == 2
    assert capsys.readouterr().err.startswith("error: FILE")


def _sweep(tmp_path) -> Path:
    spec = tmp_path / "s.toml"
    spec.write_text(f'''name = "tiny"
out = "out"
seeds = [1, 2]
[base]
n_quanta = 200
tau = 3
agents = 4
checkpoints = 6
steps = 200
batch_size = 10
engine = "exact"
graph = "{DEMO.as_posix()}"
[axes]
alpha = [0.5, 1.0]
capacity = [20, "inf"]
''')
    assert main(["sweep", str(spec), "--executor", "serial", "--no-table"]) == 0
    return tmp_path / "out"


def test_plot_command_opens_a_merged_sweep(tmp_path, figures, capsys):
    out = _sweep(tmp_path)
    png = tmp_path / "sweep.png"
    assert main(["plot", str(out / "merged.nc"), "--out", str(png)]) == 0
    fig = figures[-1]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2  # one per alpha
    assert [ax.get_title() for ax in panels] == ["alpha = 0.5", "alpha = 1"]
    assert all(len(ax.get_lines()) == 2 for ax in panels)  # one per capacity
    assert main(["plot", str(out), "--kind", "tasks", "--col", "capacity",
                 "--out", str(png)]) == 0
    panels = [ax for ax in figures[-1].axes if ax.get_visible()]
    assert all(len(ax.get_lines()) == len(sq.load_graph(DEMO).tasks) for ax in panels)
    assert main(["plot", str(out), "--col", "beta", "--out", str(png)]) == 2
    assert "col" in capsys.readouterr().err


def test_result_figure_panels_without_a_display(run_with_tasks):
    fig = plots.result_figure(run_with_tasks)
    assert len(fig.axes) == 2
    values = np.concatenate([line.get_ydata() for line in _task_axes(fig).get_lines()])
    assert np.all((values >= 0) & (values <= 1))
    matplotlib.pyplot.close(fig)
