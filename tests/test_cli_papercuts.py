"""Issue 15's papercuts, one test each: the command line as a new user meets it."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simquanta.cli import build_parser, main
from simquanta.config import simulation_from_config
from simquanta.experiments_runner import experiments_dir, list_experiments
from simquanta.validation import load_toml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "experiments" / "graphs" / "demo.toml"
RUN_TOML = ROOT / "experiments" / "configs" / "run.toml"
TINY = ["--n-quanta", "60", "--batch-size", "10", "--agents", "3", "--checkpoints", "4",
        "--engine", "exact"]


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def run_json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_experiments_list_prints_whole_descriptions(capsys):
    assert main(["experiments", "list"]) == 0
    printed = capsys.readouterr().out
    for name, summary in list_experiments().items():
        assert summary and summary.endswith((".", ")")), (name, summary)
        assert " ".join(summary.split()) in " ".join(printed.split()), name
    doc = (experiments_dir() / "compute_frontier.py").read_text()
    assert "L_opt" in doc and "L_opt" in list_experiments()["compute_frontier"]


def test_experiments_out_help_names_the_quick_folder():
    for sub in (_subparser("figures"), _subparser("experiments")._actions[-1].choices["run"]):
        text = sub.format_help()
        assert "figures/quick/" in " ".join(text.split())


@pytest.mark.parametrize("steps", ["1e2", "100", "1_00", "1.0e2"])
def test_integer_flags_accept_integral_values(steps, capsys):
    out = run_json(["simulate", *TINY, "--steps", steps, "--agents", "3e0", "--json"], capsys)
    assert out["steps"][-1] == 100 and out["config"]["agents"] == 3


def test_integer_flags_refuse_fractions(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", *TINY, "--steps", "12.5"])
    assert exit_.value.code == 2
    assert "'12.5' is not an integer" in capsys.readouterr().err


def test_toml_integers_accept_integral_floats(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text("steps = 1e2\nn_quanta = 6e1\nagents = 2\n")
    out = run_json(["simulate", "--config", str(config), "--checkpoints", "3", "--json"],
                   capsys)
    assert out["steps"][-1] == 100 and out["config"]["n_quanta"] == 60
    config.write_text("steps = 12.5\n")
    assert main(["simulate", "--config", str(config)]) == 2
    assert "steps" in capsys.readouterr().err


@pytest.mark.parametrize("alpha", ["-0.5", "0"])
def test_alpha_must_be_positive(alpha, capsys):
    assert main(["simulate", *TINY, "--steps", "10", "--alpha", alpha]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: alpha") and err.count("\n") == 1


@pytest.mark.parametrize("name", ["run.csv", "run", "run.nc.txt"])
def test_out_must_be_netcdf_before_any_work(tmp_path, name, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("ran before checking --out")

    monkeypatch.setattr(importlib.import_module("simquanta.simulate"), "run", refuse)
    assert main(["simulate", *TINY, "--steps", "10", "--out", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and ".nc" in err
    assert list(tmp_path.iterdir()) == []


def test_closed_pipe_exits_quietly():
    read, write = os.pipe()
    os.close(read)  # the reader has gone before anything is written (`| head` finished)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "simquanta", "experiments", "list"],
                          stdout=write, stderr=subprocess.PIPE, text=True, env=env,
                          check=False)
    os.close(write)
    assert done.stderr == ""
    assert done.returncode == 0


def test_python_dash_m_simquanta():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "simquanta", "--version"],
                          capture_output=True, text=True, env=env, check=True)
    assert done.stdout.startswith("simquanta ")


@pytest.mark.parametrize("command", ["simulate", "plot"])
def test_every_flag_shows_its_default(command):
    for action in _subparser(command)._actions:
        if action.option_strings and action.dest != "help":
            assert "default" in (action.help or ""), (command, action.option_strings)


def test_example_config_exists_is_used_by_help_and_runs(capsys):
    assert "experiments/configs/run.toml" in _subparser("simulate").format_help()
    config = load_toml(RUN_TOML)
    assert (RUN_TOML.parent / config.pop("graph")).resolve() == DEMO.resolve()
    simulation_from_config(config)  # every key valid
    out = run_json(["simulate", "--config", str(RUN_TOML), "--steps", "50", "--agents", "2",
                    "--n-quanta", "100", "--json"], capsys)
    assert out["config"]["alpha"] == config["alpha"] and "tasks" in out


def test_graph_in_config_file_relative_to_it(tmp_path, capsys):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "demo.toml").write_text(DEMO.read_text())
    config = tmp_path / "run.toml"
    config.write_text('graph = "g/demo.toml"\nn_quanta = 60\nsteps = 30\nagents = 2\n'
                      'checkpoints = 3\n')
    out = run_json(["simulate", "--config", str(config), "--json"], capsys)
    assert list(out["tasks"]) == [
        "recall_fact", "three_step", "two_of_four", "polygenic", "parse_then_solve",
        "hint_or_lookup"]
    config.write_text("graph = 3\n")
    assert main(["simulate", "--config", str(config)]) == 2
    assert "graph" in capsys.readouterr().err


def test_graph_output_lists_tasks_and_inner_nodes_on_request(capsys):
    base = ["simulate", *TINY, "--steps", "20", "--graph", str(DEMO), "--json"]
    tasks = run_json(base, capsys)["tasks"]
    assert "parse" not in tasks and "three_step" in tasks
    everything = run_json([*base, "--nodes", "all"], capsys)["tasks"]
    assert "parse" in everything and set(tasks) < set(everything)


def test_quick_figures_carry_a_quick_mark(tmp_path):
    sys.path.insert(0, str(experiments_dir()))
    try:
        import matplotlib.pyplot as plt

        import _common
    finally:
        sys.path.remove(str(experiments_dir()))
    for quick in (True, False):
        args = argparse.Namespace(quick=quick, out=str(tmp_path / str(quick)))
        fig = plt.figure()
        _common.Experiment("demo", args, {}).save(fig, {})
        marks = [t.get_text() for t in fig.texts]
        assert (_common.QUICK_MARK in marks) == quick
        assert json.loads((tmp_path / str(quick) / "demo.json").read_text())["mode"] == (
            "quick" if quick else "full")
