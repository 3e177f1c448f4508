"""Quick-mode run of experiments/small_long_vs_big_short.py, with checks that follow from the
closed forms: at C = 32000 the big-short model (32 quanta, D = 1000) reaches demo:polygenic
(rarest quantum rank 11 > 4 = the small model's capacity; closed-form data floor ≈ 640 ≤ 1000)
and the small-long one cannot hold it; at C = 2000 the small-long model (4 quanta, D = 500)
reaches arithmetic:column_addition (ranks 1–3, data floor ≈ 105) while the big-short one's
D = 62 caps it at the exact data bound P(all three counts ≥ 5) ≈ 0.47; recall_fact at C = 250
(D = 8 < its data floor 19) is only reached by the small-long model under either policy."""

from __future__ import annotations

from experiment_runner import EXPERIMENTS, run_quick

import simquanta as sq
from simquanta.composition import CompositionGraph
from simquanta.planner import closed_form_data_floor

NAME = "small_long_vs_big_short"


def run(tmp_path):
    return run_quick(NAME, tmp_path)


def test_small_long_vs_big_short_quick(tmp_path):
    payload = run(tmp_path)
    assert payload["mode"] == "quick"
    res = payload["results"]
    tasks = res["tasks"]
    assert len(tasks) == 16  # every task of the three shipped graphs

    # closed-form floors recorded match an independent computation (K = 2000 in quick mode)
    quanta = sq.Quanta(2000, alpha=0.5, tau=5)
    demo = CompositionGraph.load(EXPERIMENTS / "graphs" / "demo.toml")
    arith = CompositionGraph.load(EXPERIMENTS / "graphs" / "arithmetic.toml")
    poly_d = closed_form_data_floor(demo, quanta, "polygenic", 0.9)
    add_d = closed_form_data_floor(arith, quanta, "column_addition", 0.9)
    assert tasks["demo:polygenic"]["closed_form_data_floor"] == poly_d
    assert tasks["arithmetic:column_addition"]["closed_form_data_floor"] == add_d
    assert tasks["demo:polygenic"]["closed_form_capacity_floor_evict"] == 11  # rank of q10
    assert tasks["arithmetic:column_addition"]["closed_form_capacity_floor_evict"] == 3
    small, big = res["pair"]["small_long_capacity"], res["pair"]["big_short_capacity"]
    assert (small, big) == (4, 32)
    assert small < 11 <= big and poly_d <= 32000 / big  # floors rule: only big-short
    assert 3 <= small and 2000 / big < add_d <= 2000 / small  # floors rule: only small-long

    for policy in ("evict", "reject"):
        # a task needing a rare quantum: only the big model reaches it at fixed compute
        cell = tasks["demo:polygenic"][policy]["32000"]
        assert cell["floors_rule_verdict"] == "only big-short"
        assert cell["verdict"] == "only big-short"
        assert cell["big_short"]["p"] >= 0.9 and cell["big_short"]["ci"][1] >= 0.9
        assert cell["small_long"]["p"] < 0.1  # 4 quanta cannot hold ranks 9-11
        # the frequent-quanta task with a data floor above the big model's D: small-long only
        cell = tasks["demo:recall_fact"][policy]["250"]
        assert cell["verdict"] == cell["floors_rule_verdict"] == "only small-long"
        assert cell["small_long"]["p"] == 1.0
        assert cell["big_short"]["closed_form_data_bound"] < 0.3
        # the big-short model never beats the exact data bound by more than sampling noise
        for c in res["budgets"]:
            for name in tasks:
                big = tasks[name][policy][str(c)]["big_short"]
                assert big["p"] <= big["closed_form_data_bound"] + 0.2

    cell = tasks["arithmetic:column_addition"]["evict"]["2000"]
    assert cell["verdict"] == "only small-long"
    assert cell["small_long"]["p"] >= 0.9
    assert 0.3 < cell["big_short"]["closed_form_data_bound"] < 0.6
    assert cell["big_short"]["p"] < 0.75

    # co-monotone floors: no budget has both exclusive verdicts; the floors rule mostly holds
    for policy in ("evict", "reject"):
        summary = res["summary"][policy]
        assert summary["budgets_with_both_exclusive_verdicts"] == []
        assert summary["agreement_with_floors_rule"] >= 0.85
