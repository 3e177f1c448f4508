"""Running experiment scripts one or several at a time (``simquanta figures --jobs``)."""

from __future__ import annotations

import textwrap

import pytest

from simquanta.cli import main as cli_main
from simquanta.experiments_runner import run_experiments

SCRIPT = textwrap.dedent('''
    """{doc}"""
    import os, sys, time
    time.sleep({sleep})
    mode = "quick" if "--quick" in sys.argv else ""
    print("{name} says", os.environ.get("NUMBA_NUM_THREADS"), mode)
    sys.exit({status})
''')


@pytest.fixture
def experiments(tmp_path, monkeypatch):
    """A folder of three tiny scripts: ``slow`` (0.6 s), ``fast`` and ``broken`` (exit 3)."""
    for name, sleep, status in (("slow", 0.6, 0), ("fast", 0.0, 0), ("broken", 0.0, 3)):
        (tmp_path / f"{name}.py").write_text(
            SCRIPT.format(doc=f"The {name} one.", sleep=sleep, name=name, status=status))
    (tmp_path / "_helper.py").write_text("")
    monkeypatch.setenv("SIMQUANTA_EXPERIMENTS", str(tmp_path))
    return tmp_path


def test_parallel_scripts_report_whole_outputs_in_order(experiments, monkeypatch):
    """Two at a time: ``fast`` ends first but is reported after ``slow`` (the order given),
    each output whole, each script with cores / jobs numba threads."""
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    lines: list[str] = []
    total = run_experiments(["slow", "fast"], quick=True, jobs=2, report=lines.append)
    assert lines[0] == "slow says 2 quick" and lines[1].startswith("slow: done in ")
    assert lines[2] == "fast says 2 quick" and lines[3].startswith("fast: done in ")
    assert 0.6 <= total < 0.6 + 5.0  # ran side by side, not one after the other + slack


def test_a_failed_script_is_named_after_the_others_finish(experiments):
    lines: list[str] = []
    with pytest.raises(RuntimeError, match="experiments failed: broken"):
        run_experiments(["broken", "slow"], jobs=2, report=lines.append)
    assert "broken: failed with exit status 3" in lines
    assert any(line.startswith("slow: done in ") for line in lines)


def test_one_job_runs_in_this_process_output(experiments, capfd):
    lines: list[str] = []
    run_experiments(["fast"], jobs=1, report=lines.append)
    assert "fast says" in capfd.readouterr().out and lines[0].startswith("fast: done in ")


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_jobs_must_be_a_positive_integer(experiments, jobs):
    with pytest.raises(ValueError, match="jobs"):
        run_experiments(["fast"], jobs=jobs)


def test_figures_cli_runs_every_script_and_refuses_bad_jobs(experiments, capsys):
    assert cli_main(["figures", "--jobs", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: jobs = 0 is invalid")
    assert cli_main(["figures", "--quick", "--jobs", "2"]) != 0  # ``broken`` fails
    out = capsys.readouterr()
    assert "slow: done in" in out.out and "fast: done in" in out.out
    assert "broken" in out.err


def _shipped() -> list[str]:
    import os

    saved = os.environ.pop("SIMQUANTA_EXPERIMENTS", None)
    try:
        from simquanta.experiments_runner import list_experiments

        return list(list_experiments())
    finally:
        if saved is not None:
            os.environ["SIMQUANTA_EXPERIMENTS"] = saved


@pytest.mark.parametrize("name", _shipped())
def test_every_shipped_experiment_imports(name):
    """Every name a script imports exists (a renamed helper broke ``speed_law`` once while
    its own test read only the committed JSON); running them is the experiments' tests'.
    (Some scripts set thread variables at import: the environment is restored after.)"""
    import os

    from experiment_runner import import_experiment

    saved = dict(os.environ)
    try:
        module = import_experiment(name)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert callable(module.main)
