"""Quick-mode runs of the planner experiments (capability_floors, multilingual), with checks
that follow from the model: data floors near the closed form, evict-free reject capacity
floors at or above the rarest rank, per-language losses within 4 SE of the closed form, and
shared quanta whose floors do not depend on the language shares."""

from __future__ import annotations

from experiment_runner import run_quick


def run(name, tmp_path):
    return run_quick(name, tmp_path)["results"]


def test_capability_floors_quick(tmp_path):
    results = run("capability_floors", tmp_path)
    assert set(results) >= {"demo", "arithmetic", "concepts", "arora_goyal"}
    for graph in results.values():
        assert graph["max_relative_gap_data_floor_vs_closed_form"] < 0.25  # 60 agents
    for task in results["arora_goyal"]["tasks"].values():  # all-of-k tasks
        assert task["capacity_floor_over_rarest_rank"] >= 1.0


def test_multilingual_quick(tmp_path):
    results = run("multilingual", tmp_path)
    shared = set()
    for by in results["by_share"].values():
        assert by["max_abs_z_vs_closed_form"] < 4
        shared.add(by["floors"]["shared_only"]["capacity_floor"])
    assert len(shared) == 1
