"""The command line: JSON output against the closed form, config files, and one
``error: ...`` line with exit status 2 for every bad input (no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from simquanta.cli import main
from simquanta.config import simulation_from_config

DONE_WHEN = ["simulate", "--n-quanta", "2000", "--alpha", "0.5", "--tau", "5",
             "--acquisition", "threshold", "--capacity", "inf", "--policy", "reject",
             "--batch-size", "100", "--steps", "10000", "--agents", "200", "--seed", "1",
             "--checkpoints", "12", "--engine", "exact", "--json"]


def run_json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_done_when_run_matches_binomial_closed_form(capsys):
    out = run_json(DONE_WHEN, capsys)
    assert set(out) >= {"engine", "steps", "samples", "loss_mean", "loss_sem", "learned_mean",
                        "wall_seconds", "config"}
    assert out["engine"] == "exact"
    assert out["samples"] == [s * 100 for s in out["steps"]]
    k = np.arange(1, 2001)
    p = k ** -1.5 / np.sum(k ** -1.5)
    n = np.array(out["samples"])[:, None]
    expected = (p * stats.binom.cdf(4, n, p)).sum(axis=1)
    z = (np.array(out["loss_mean"]) - expected) / np.array(out["loss_sem"])
    assert np.all(np.abs(z) < 4), z


def test_config_file_fields_and_flag_override(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('n_quanta = 300\nalpha = 1.0\ntau = 2\nbatch_size = 10\nsteps = 50\n'
                   'agents = 4\ncheckpoints = 5\nengine = "exact"\n')
    out = run_json(["simulate", "--config", str(cfg), "--agents", "6", "--json"], capsys)
    assert out["config"]["n_quanta"] == 300 and out["config"]["alpha"] == 1.0
    assert out["config"]["agents"] == 6  # the flag wins over the file
    assert out["steps"][-1] == 50


def test_out_file_opens_with_plain_xarray(tmp_path, capsys):
    import xarray as xr

    path = tmp_path / "r.nc"
    assert main(["simulate", "--n-quanta", "50", "--steps", "20", "--agents", "3",
                 "--checkpoints", "4", "--out", str(path)]) == 0
    with xr.open_dataset(path) as ds:
        assert dict(ds.sizes) == {"agent": 3, "checkpoint": 4, "quantum": 50}
        assert json.loads(ds.attrs["config"])["n_quanta"] == 50


BAD = {
    "n_quanta": ["--n-quanta", "0"],
    "alpha": ["--alpha", "nan"],
    "tau": ["--tau", "0.5"],
    "capacity": ["--capacity", "-1"],
    "capacity_text": ["--capacity", "lots"],
    "batch_size": ["--batch-size", "0"],
    "steps": ["--steps", "0"],
    "dataset_size": ["--dataset-size", "50", "--batch-size", "100"],
    "epochs": ["--dataset-size", "500", "--epochs", "0"],
    "policy": ["--policy", "keep"],
    "acquisition": ["--acquisition", "sometimes"],
    "engine": ["--engine", "fast"],
    "checkpoints": ["--checkpoints", "0"],
    "offset": ["--offset", "-3"],
    "gamma": ["--gamma", "-5"],
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_flag_prints_one_error_line_and_exits_2(name, capsys):
    with pytest.raises(SystemExit) if name in ("policy", "acquisition", "engine",
                                               "capacity_text") else _no_raise():
        regime = [] if "--dataset-size" in BAD[name] else ["--steps", "10"]
        code = main(["simulate", "--n-quanta", "20", *regime, *BAD[name]])
        assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    field = name.removesuffix("_text")
    assert field.replace("_", "-") in err[0] or field in err[0], err[0]


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("body, field", [
    ("n_quanta = 10\nsteps = 5\nlearning_rate = 0.1\n", "learning_rate"),
    ('n_quanta = "ten"\nsteps = 5\n', "n_quanta"),
    ("n_quanta = 10\nsteps = 5.5\n", "steps"),
    ("n_quanta = 10\nsteps = 5\ndataset_size = 100\n", "dataset_size"),
    ("n_quanta = 10\nsteps = [5\n", "config"),
])
def test_bad_config_file_names_the_field(tmp_path, capsys, body, field):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(body)
    assert main(["simulate", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {field}"), err


def test_missing_config_file(capsys):
    assert main(["simulate", "--config", "/nonexistent/run.toml"]) == 2
    assert capsys.readouterr().err.startswith("error: config")


def test_config_dict_rejects_epochs_without_dataset():
    with pytest.raises(ValueError, match="^epochs"):
        simulation_from_config({"n_quanta": 10, "steps": 5, "epochs": 2})


def test_cli_subprocess_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "simquanta.cli", "simulate", "--tau", "0"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: tau") and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["simulate", "graph", "sweep", "info", "experiments",
                                     "figures"])
def test_every_subcommand_help_shows_an_example(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "example" in capsys.readouterr().out.lower()
