"""Metric mirage: one set of simulated learners, scored four ways, looks emergent or smooth.

Schaeffer, Miranda & Koyejo 2023 ("Are emergent abilities of large language models a
mirage?"): a per-token success probability p that rises smoothly with scale looks emergent
under a nonlinear metric (exact match over L tokens, p^L) and smooth under a linear one (token
edit distance L·(1 − p)). Here p comes from the quantization model: a token needs one of m = 10
quanta spread log-uniformly over frequency ranks 3–300 (Zipf, α = 0.5, threshold τ = 5,
K = 2000), so an agent's per-token accuracy is the fraction of those quanta it has learned
(a ``mean`` node of a CompositionGraph, evaluated on ``learned_mask``). Learners differ in
capacity n (model size; ``reject``; trained online until every quantum is ready), the same
setup as panel (a) of gradual_vs_emergent. Each agent is scored by
simquanta.analysis.metrics: exact match p^L (L = 1…10), multiple-choice grade c + (1 − c)·p^L
with chance c = 0.25 (the model knows an item iff it gets all L answer tokens right, else
guesses among 4 options), and token edit distance L·(1 − p); curves are means over agents with
95 % bands.

Theory (dashed): mean field for the capacity-n learner (quanta independent given the fill time
t_n, see experiments/_composition.py), so the number of the token's quanta learned is
Poisson-binomial and E[metric] = Σ_s P(S = s) f(s/m). Predictions checked: the 10–90 % width
(simquanta.analysis.emergence.transition) of exact match shrinks with L — it tracks the last
quanta to be learned rather than the spread of all ten — and crosses below one decade
("emergent") while per-token accuracy, edit distance and single-token multiple choice keep
p's width (> 1 decade, "gradual"; linear maps of p have exactly its width). Multiple choice
over L-token items has exactly the width of exact match at the same L (a linear map of p^L),
just floored at chance.
"""

from __future__ import annotations

import math

import numpy as np

from simquanta import plots
from simquanta.analysis import metrics
from simquanta.analysis.emergence import EMERGENT_WIDTH_DECADES, transition
from simquanta.composition import CompositionGraph

import _composition as C
from _common import Experiment, parse_args

NAME = "metric_mirage"
N_QUANTA = 2000
LENGTHS = tuple(range(1, 11))
CHANCE = 0.25
L_EDIT = 10
SHOWN_L = (1, 2, 5, 10)


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_quanta": N_QUANTA, "capacity_max": 1000, "capacity_per_decade": 6,
                "replicates": 60, "seed": 2024}
    return {"n_quanta": N_QUANTA, "capacity_max": 1000, "capacity_per_decade": 12,
            "replicates": 300, "seed": 2024}


def token_graph() -> CompositionGraph:
    """One task: per-token accuracy = fraction of the token's 10 quanta learned."""
    g = CompositionGraph(description="per-token accuracy: mean over the token's quanta")
    g.add_node("token", "mean", C.rank_indices(C.POLY_RANKS))
    return g


def scorings(p: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of per-token accuracy ``p`` (any shape): name → array, same shape."""
    out = {}
    for L in LENGTHS:
        out[f"exact_match_L{L}"] = metrics.exact_match(p, L)
        out[f"multiple_choice_L{L}"] = metrics.multiple_choice_grade(
            metrics.exact_match(p, L), CHANCE)
        out[f"edit_distance_L{L}"] = metrics.token_edit_distance(p, L)
    out["per_token_accuracy"] = np.asarray(p, dtype=float)
    return out


def bounds(name: str) -> tuple[float, float]:
    """(floor, ceiling) of a metric, for the transition measures."""
    if name.startswith("multiple_choice"):
        return CHANCE, 1.0
    if name.startswith("edit_distance"):
        return 0.0, float(name.rsplit("L", 1)[1])
    return 0.0, 1.0


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alpha": C.ALPHA, "tau": C.TAU, "acquisition": "threshold", "policy": "reject",
                "engine": "events", "token_quanta_ranks": list(C.POLY_RANKS),
                "lengths": list(LENGTHS), "chance": CHANCE})
    exp = Experiment(NAME, args, cfg)
    graph = token_graph()
    cfg["graph"] = graph.to_dict()
    quanta = C.zipf_quanta(cfg["n_quanta"])
    n_keep = max(graph.quanta) + 1

    caps = C.log_ints(1, cfg["capacity_max"], cfg["capacity_per_decade"])
    held = C.capacity_sweep(quanta, caps, cfg["replicates"], cfg["seed"], n_keep)
    p_agent = graph.evaluate(held)[0][..., 0]  # (replicates, caps)
    scores = scorings(p_agent)

    # Mean-field theory on a fine grid: count of learned token quanta is Poisson-binomial.
    cap_fine = np.geomspace(1, cfg["capacity_max"], 161)
    idx = C.rank_indices(C.POLY_RANKS)
    m = len(idx)
    dist = C.count_distribution(C.capacity_learned_prob(cap_fine, quanta.p)[:, idx])
    frac = np.arange(m + 1) / m
    theory = {name: dist @ vals for name, vals in scorings(frac).items()}

    frac_scores = scorings(frac)
    dist_caps = C.count_distribution(C.capacity_learned_prob(caps, quanta.p)[:, idx])
    results: dict = {"capacities": caps, "metrics": {}}
    for name, vals in scores.items():
        lo, hi = bounds(name)
        t_sim = transition(caps, vals.mean(0), floor=lo, ceiling=hi)
        t_th = transition(cap_fine, theory[name], floor=lo, ceiling=hi)
        results["metrics"][name] = {"mean": vals.mean(0), "sem": C.sem(vals),
                                    "floor": lo, "ceiling": hi,
                                    "transition": C.transition_record(t_sim),
                                    "theory_transition": C.transition_record(t_th)}
    res = results["metrics"]
    width = {name: r["transition"]["width_decades"] for name, r in res.items()}
    results["widths_decades"] = width
    results["labels"] = {name: r["transition"]["label"] for name, r in res.items()}
    results["summary"] = {
        "per_token_accuracy": width["per_token_accuracy"],
        "exact_match_L10": width["exact_match_L10"],
        "multiple_choice_L1": width["multiple_choice_L1"],
        "multiple_choice_L10": width["multiple_choice_L10"],
        "edit_distance_L10": width["edit_distance_L10"],
        "exact_match_width_by_L": [width[f"exact_match_L{L}"] for L in LENGTHS],
        "exact_match_theory_width_by_L": [res[f"exact_match_L{L}"]["theory_transition"]
                                          ["width_decades"] for L in LENGTHS],
        "exact_match_midpoint_by_L": [res[f"exact_match_L{L}"]["transition"]["midpoint"]
                                      for L in LENGTHS],
        "smallest_L_emergent": next((L for L in LENGTHS
                                     if results["labels"][f"exact_match_L{L}"] == "emergent"),
                                    None),
        "max_abs_dev_from_mean_field": {
            name: float(np.max(np.abs(scores[name].mean(0) - dist_caps @ frac_scores[name])))
            for name in ("per_token_accuracy", "exact_match_L10", "edit_distance_L10")},
    }
    s = results["summary"]
    print("width (decades): per-token {:.2f}, exact match L=10 {:.2f}, MC L=10 {:.2f}, "
          "edit distance L=10 {:.2f}; smallest emergent L = {}".format(
              s["per_token_accuracy"], s["exact_match_L10"], s["multiple_choice_L10"],
              s["edit_distance_L10"], s["smallest_L_emergent"]))
    fig = figure(caps, scores, cap_fine, theory, res, cfg)
    exp.save(fig, results)
    return results


def figure(caps, scores, cap_fine, theory, res, cfg):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(2, 2, figsize=(7.0, 4.9),
                             gridspec_kw={"hspace": 0.5, "wspace": 0.25})
    pal = plots.PALETTE
    colors = {1: pal[0], 2: pal[5], 5: pal[2], 10: pal[1]}

    def w(name):
        x = res[name]["transition"]["width_decades"]
        return "n/a" if not math.isfinite(x) else f"{x:.2f}"

    def curve(ax, name, color, label, **kw):
        vals = scores[name]
        plots.band(ax, caps, vals.mean(0), C.sem(vals), color=color, label=label, lw=1.9,
                   **kw)
        plots.theory_line(ax, cap_fine, theory[name], label=None, zorder=3)

    ax = axes[0, 0]
    for L in SHOWN_L:
        what = "per-token accuracy" if L == 1 else f"L = {L}"
        curve(ax, f"exact_match_L{L}", colors[L], f"{what}  ({w(f'exact_match_L{L}')} dec)")
    ax.set_ylabel("exact match  E[p$^L$]")
    ax.set_title("(a) exact match over L tokens", loc="left")

    ax = axes[0, 1]
    curve(ax, "multiple_choice_L1", colors[1],
          f"1-token items  ({w('multiple_choice_L1')} dec)")
    curve(ax, "multiple_choice_L10", colors[10],
          f"10-token items  ({w('multiple_choice_L10')} dec)")
    ax.axhline(CHANCE, color="0.5", lw=0.8, ls=":")
    ax.text(1.1, CHANCE + 0.02, "chance 0.25", fontsize=6, color="0.4")
    ax.set_ylabel("multiple-choice grade")
    ax.set_title("(b) multiple choice, 4 options", loc="left")

    ax = axes[1, 0]
    curve(ax, f"edit_distance_L{L_EDIT}", colors[10],
          f"L = {L_EDIT}  ({w(f'edit_distance_L{L_EDIT}')} dec)")
    ax.set_ylabel(f"token edit distance\n(wrong tokens of {L_EDIT})")
    ax.set_title("(c) token edit distance L·(1 − p)", loc="left")
    ax.set_ylim(-0.2, L_EDIT + 0.2)

    for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
        ax.set_xscale("log")
        ax.set_xlim(caps[0], caps[-1])
        ax.set_xlabel("model size: capacity n (quanta)")
        ax.plot([], [], color="black", ls="--", lw=1.0, label="mean field")
        ax.legend(loc="upper left" if ax is not axes[1, 0] else "upper right", fontsize=6,
                  handlelength=1.6, title="10–90 % width", title_fontsize=6)
    axes[0, 0].set_ylim(-0.02, 1.02)
    axes[0, 1].set_ylim(0.2, 1.02)

    ax = axes[1, 1]
    Ls = np.array(LENGTHS)
    em = [res[f"exact_match_L{L}"]["transition"]["width_decades"] for L in LENGTHS]
    em_th = [res[f"exact_match_L{L}"]["theory_transition"]["width_decades"] for L in LENGTHS]
    mc = [res[f"multiple_choice_L{L}"]["transition"]["width_decades"] for L in LENGTHS]
    ed = [res[f"edit_distance_L{L}"]["transition"]["width_decades"] for L in LENGTHS]
    ax.axhspan(0, EMERGENT_WIDTH_DECADES, color=pal[1], alpha=0.08, lw=0)
    ax.text(10.3, EMERGENT_WIDTH_DECADES - 0.06, "emergent (< 1 decade)", fontsize=6,
            color=pal[1], ha="right", va="top")
    ax.plot(Ls, ed, color=pal[2], marker="^", ms=3.5, label="edit distance")
    ax.plot(Ls, em, color=pal[1], marker="o", ms=3.5, label="exact match")
    ax.plot(Ls, mc, color=pal[3], marker="s", ms=5, mfc="none", ls="none",
            label="multiple choice, L-token items")
    plots.theory_line(ax, Ls, em_th, label="exact match, mean field", zorder=3)
    ax.set_xticks(Ls)
    ax.set_xlim(0.6, 10.4)
    ax.set_ylim(0, max(max(ed), max(em_th)) * 1.18)
    ax.set_xlabel("answer length L (tokens)")
    ax.set_ylabel("10–90 % width (decades of n)")
    ax.set_title("(d) how sharp does the same learner look?", loc="left")
    ax.legend(loc="center right", fontsize=6, handlelength=1.6, bbox_to_anchor=(1.0, 0.64))
    fig.text(0.99, 0.005, f"per-token accuracy p = fraction of a token's 10 quanta learned "
             f"(ranks 3–300); K = {cfg['n_quanta']}, α = {C.ALPHA}, τ = {C.TAU}; "
             f"{cfg['replicates']} learners per size, 95 % bands",
             fontsize=6, color="0.3", ha="right", va="bottom")
    return fig


if __name__ == "__main__":
    main()
