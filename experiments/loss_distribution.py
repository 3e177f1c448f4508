"""Per-sample loss distribution across model sizes: monogenic vs polygenic samples.

In the spirit of Michaud et al. 2023, Figs. 3–4 (per-token losses of Pythia models): how the
distribution of per-sample losses changes with scale, not just its mean. Learners of capacity
n quanta (K = 2000 Zipf quanta, α = 0.5, threshold τ = 5, ``reject``, online training until
every quantum is ready; events engine, ``learned_mask``) are scored on two test sets.

Losses are heterogeneous on purpose, so the distribution is not two spikes: quantum k costs
b_k bits while unlearned and a_k once learned, drawn once with a fixed seed,
b_k = exp(N(0, 0.5²)) (median 1 bit) and a_k = 0.02·exp(N(0, 0.5²)) (median 0.02 bit, > 0).

* monogenic sample: uses one quantum k, drawn with probability p_k; its loss is a_k or b_k.
  The distribution is computed exactly per learner (point masses p_k at a_k or b_k).
* polygenic sample: uses m = 5 quanta drawn independently with probabilities p_k (a fixed test
  set shared by every learner); its loss is the mean of its quanta's losses, i.e. −log2 of the
  geometric mean of their success probabilities 2^−ℓ. Why the mean of losses and not
  −log2(mean success): loss is additive in the model (L = Σ_k p_k ℓ_k), and with the mean of
  losses the polygenic test set has exactly the same expected loss — hence the same scaling
  law — as the monogenic one, so any difference between the two is the shape of the
  distribution alone (checked: mean losses agree within the test-set error).

Plotted: L·p(L) on log–log axes, where p(L) is the density of per-sample loss L (bits), so
L·p(L) = dP/d ln L and equal areas under the curve on the log-L axis are equal probabilities
(bins of 0.1 decade; 95 % bands over learners). Theory (dashed, mean field for capacity n —
quanta independent given the fill time t_n, experiments/_composition.py): the mass of samples
with near-zero loss (L < 0.1 bit) is Σ_k p_k P_k(n) for monogenic samples (as b_k < 0.1 has
probability 2·10⁻⁶) and ≈ E[Π_{j≤5} P_kj(n)] for polygenic ones (computed exactly over all 2⁵
learned patterns of each test sample). Predicted and checked: near-zero mass grows with n for
both; it grows later for polygenic samples (all 5 quanta are needed), whose unlearned mass
instead slides down through intermediate losses in steps of ≈ b/5, so a monogenic sample's
loss drops in one step at a scale (emergent-looking) and a polygenic one's gradually.
"""

from __future__ import annotations

import math

import numpy as np

from simquanta import plots
from simquanta.analysis.emergence import transition

import _composition as C
from _common import Experiment, parse_args

NAME = "loss_distribution"
N_QUANTA = 2000
M_POLY = 5
NEAR_ZERO_BITS = 0.1
LOSS_SEED = 7
BIN_EDGES = np.logspace(-3, 1, 41)  # bits, 0.1 decade per bin
SHOWN_CAPS = (3, 10, 32, 100, 316, 1000)
EXAMPLE_MONO_RANKS = (3, 30, 300)


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_quanta": N_QUANTA, "capacity_max": 1000, "capacity_per_decade": 6,
                "replicates": 24, "test_samples": 4000, "seed": 99}
    return {"n_quanta": N_QUANTA, "capacity_max": 1000, "capacity_per_decade": 12,
            "replicates": 120, "test_samples": 20000, "seed": 99}


def sample_losses(n_quanta: int) -> tuple[np.ndarray, np.ndarray]:
    """(a_k, b_k) in bits: learned and unlearned loss per quantum, fixed seed."""
    rng = np.random.default_rng(LOSS_SEED)
    b = np.exp(rng.normal(0.0, 0.5, n_quanta))
    a = 0.02 * np.exp(rng.normal(0.0, 0.5, n_quanta))
    return a, b


def histogram_rows(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Probability mass per BIN_EDGES bin of each row of ``values`` (rows × samples);
    equal weights unless given (rows × samples, each row summing to 1)."""
    rows, n = values.shape
    idx = np.clip(np.searchsorted(BIN_EDGES, values, side="right") - 1, 0, BIN_EDGES.size - 2)
    flat = (idx + (BIN_EDGES.size - 1) * np.arange(rows)[:, None]).ravel()
    w = np.full(values.size, 1.0 / n) if weights is None else weights.ravel()
    return np.bincount(flat, weights=w, minlength=rows * (BIN_EDGES.size - 1)).reshape(rows, -1)


def poly_theory_near_zero(prob: np.ndarray, test: np.ndarray, a: np.ndarray,
                          b: np.ndarray) -> float:
    """E over test samples of P(mean loss < NEAR_ZERO_BITS), quanta learned independently
    with probabilities ``prob`` (K,), summing over every learned pattern of each sample's
    distinct quanta."""
    n, m = test.shape
    srt = np.sort(test, axis=1)
    first = np.ones_like(srt, dtype=bool)
    first[:, 1:] = srt[:, 1:] != srt[:, :-1]
    counts = np.zeros((n, m))
    for j in range(m):  # multiplicity of each distinct quantum, kept at its first slot
        counts[:, j] = (srt == srt[:, j, None]).sum(1) * first[:, j]
    p_slot = np.where(first, prob[srt], 1.0)  # padding slots: always "learned", weight 0
    total = np.zeros(n)
    for pattern in range(2**m):
        bits = np.array([(pattern >> j) & 1 for j in range(m)], dtype=bool)
        pr = np.prod(np.where(bits, p_slot, 1.0 - p_slot), axis=1)
        loss = (counts * np.where(bits, a[srt], b[srt])).sum(1) / m
        total += pr * (loss < NEAR_ZERO_BITS)
    return float(total.mean())


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alpha": C.ALPHA, "tau": C.TAU, "acquisition": "threshold", "policy": "reject",
                "engine": "events", "m_poly": M_POLY, "near_zero_bits": NEAR_ZERO_BITS,
                "loss_seed": LOSS_SEED, "b_k": "exp(N(0, 0.5^2)) bits",
                "a_k": "0.02 exp(N(0, 0.5^2)) bits", "bin_edges_bits": BIN_EDGES,
                "polygenic_loss": "mean of the sample's quanta's losses"})
    exp = Experiment(NAME, args, cfg)
    K = cfg["n_quanta"]
    a, b = sample_losses(K)
    quanta = C.zipf_quanta(K, learned_loss=a, unlearned_loss=b)
    p = quanta.p
    caps = C.log_ints(1, cfg["capacity_max"], cfg["capacity_per_decade"])
    if not set(SHOWN_CAPS) <= set(caps.tolist()):
        raise RuntimeError(f"capacity grid {caps} lacks one of {SHOWN_CAPS}")
    held = C.capacity_sweep(quanta, caps, cfg["replicates"], cfg["seed"], K)  # (R, caps, K)
    R = held.shape[0]
    loss_k = np.where(held, a, b)  # (R, caps, K) per-quantum loss of each learner

    test = np.random.default_rng(cfg["seed"] + 1).choice(K, size=(cfg["test_samples"], M_POLY),
                                                         p=p)
    mono_hist = histogram_rows(loss_k.reshape(-1, K),
                               np.broadcast_to(p, (R * caps.size, K))).reshape(R, caps.size, -1)
    poly_hist = np.empty_like(mono_hist)
    poly_mean = np.empty((R, caps.size))
    poly_near = np.empty((R, caps.size))
    poly_example = np.empty((R, caps.size, 3))
    examples = pick_poly_examples(test)
    for c in range(caps.size):
        per_sample = loss_k[:, c, test].mean(axis=-1)  # (R, test samples)
        poly_hist[:, c] = histogram_rows(per_sample)
        poly_mean[:, c] = per_sample.mean(1)
        poly_near[:, c] = (per_sample < NEAR_ZERO_BITS).mean(1)
        poly_example[:, c] = per_sample[:, examples]
    mono_mean = (loss_k * p).sum(-1)  # exact expected loss per learner
    mono_near = ((loss_k < NEAR_ZERO_BITS) * p).sum(-1)
    mono_idx = C.rank_indices(EXAMPLE_MONO_RANKS)
    mono_example = loss_k[:, :, mono_idx]

    # Mean-field theory on a fine grid and on the simulated grid.
    cap_fine = np.geomspace(1, cfg["capacity_max"], 61)
    prob_fine = C.capacity_learned_prob(cap_fine, p)
    prob_grid = C.capacity_learned_prob(caps, p)

    def mono_near_theory(prob):
        return prob @ (p * (a < NEAR_ZERO_BITS)) + (1 - prob) @ (p * (b < NEAR_ZERO_BITS))

    theory = {
        "mono_near_zero": mono_near_theory(prob_fine),
        "poly_near_zero": np.array([poly_theory_near_zero(q, test, a, b) for q in prob_fine]),
        "mono_example": b[mono_idx] - (b - a)[mono_idx] * prob_fine[:, mono_idx],
        "poly_example": np.stack([(b[test[examples]] - (b - a)[test[examples]] * q[
            test[examples]]).mean(-1) for q in prob_fine]),
    }
    near_grid = {"mono": mono_near_theory(prob_grid),
                 "poly": np.array([poly_theory_near_zero(q, test, a, b) for q in prob_grid])}

    dlnl = np.diff(np.log(BIN_EDGES))
    centers = np.sqrt(BIN_EDGES[1:] * BIN_EDGES[:-1])
    shown = [int(np.flatnonzero(caps == n)[0]) for n in SHOWN_CAPS]
    results: dict = {
        "capacities": caps, "bin_centers_bits": centers,
        "near_zero_mass": {
            "monogenic": {"mean": mono_near.mean(0), "sem": C.sem(mono_near),
                          "mean_field": near_grid["mono"]},
            "polygenic": {"mean": poly_near.mean(0), "sem": C.sem(poly_near),
                          "mean_field": near_grid["poly"]},
        },
        "mean_loss_bits": {
            "monogenic": {"mean": mono_mean.mean(0), "sem": C.sem(mono_mean)},
            "polygenic": {"mean": poly_mean.mean(0), "sem": C.sem(poly_mean)},
        },
        "distributions_L_pL": {
            kind: {str(SHOWN_CAPS[i]): {"mean": (h[:, c] / dlnl).mean(0),
                                        "sem": C.sem(h[:, c] / dlnl)}
                   for i, c in enumerate(shown)}
            for kind, h in (("monogenic", mono_hist), ("polygenic", poly_hist))},
    }
    # Checks: simulated loss equals the learners' own loss (mono distribution is exact);
    # polygenic mean loss agrees with monogenic within test-set error; near-zero mass grows.
    rel = np.abs(poly_mean.mean(0) - mono_mean.mean(0)) / mono_mean.mean(0)
    ex = {}
    for name, curves, x_th in (("mono", mono_example, theory["mono_example"]),
                               ("poly", poly_example, theory["poly_example"])):
        ex[name] = []
        for j in range(curves.shape[-1]):
            mean = curves[..., j].mean(0)
            lo, hi = float(np.min(x_th[:, j])), float(np.max(x_th[:, j]))
            t = transition(caps, mean, floor=lo, ceiling=hi)
            ex[name].append({"mean": mean, "sem": C.sem(curves[..., j]),
                             "transition": C.transition_record(t)})
    results["examples"] = {
        "monogenic_ranks": EXAMPLE_MONO_RANKS, "monogenic": ex["mono"],
        "polygenic_quanta_ranks": (np.sort(test[examples], axis=1) + 1), "polygenic": ex["poly"],
    }
    results["summary"] = {
        "near_zero_mono_at_shown": [float(mono_near.mean(0)[c]) for c in shown],
        "near_zero_poly_at_shown": [float(poly_near.mean(0)[c]) for c in shown],
        "shown_capacities": SHOWN_CAPS,
        "near_zero_max_abs_dev_from_mean_field": {
            "monogenic": float(np.abs(mono_near.mean(0) - near_grid["mono"]).max()),
            "polygenic": float(np.abs(poly_near.mean(0) - near_grid["poly"]).max())},
        "poly_vs_mono_mean_loss_max_rel_diff": float(rel.max()),
        "example_width_decades": {k: [e["transition"]["width_decades"] for e in v]
                                  for k, v in ex.items()},
    }
    s = results["summary"]
    print("near-zero mass at n = {}: mono {} poly {}".format(
        SHOWN_CAPS, np.round(s["near_zero_mono_at_shown"], 3),
        np.round(s["near_zero_poly_at_shown"], 3)))
    print("mean-field max dev: {}; poly/mono mean-loss max rel diff {:.3f}; example widths {}"
          .format(s["near_zero_max_abs_dev_from_mean_field"],
                  s["poly_vs_mono_mean_loss_max_rel_diff"], s["example_width_decades"]))
    fig = figure(caps, centers, dlnl, shown, mono_hist, poly_hist, mono_near, poly_near,
                 mono_example, poly_example, cap_fine, theory, results, cfg)
    exp.save(fig, results)
    return results


def pick_poly_examples(test: np.ndarray) -> np.ndarray:
    """Three polygenic test samples with 5 distinct quanta of ranks 2–300 (so each finishes
    its drop inside the capacity range) whose median rank is near 10, 30 and 100
    (deterministic: the first such sample in test-set order, else the closest)."""
    ranks = test + 1
    ok_rows = np.array([len(set(row)) == row.size for row in test])
    ok_rows &= (ranks.min(1) >= 2) & (ranks.max(1) <= 300)
    picks = []
    for target in (10, 30, 100):
        d = np.where(ok_rows, np.abs(np.log10(np.median(ranks, axis=1) / target)), np.inf)
        close = np.flatnonzero(d < 0.1)
        picks.append(int(close[0]) if close.size else int(np.argmin(d)))
    return np.array(picks)


def figure(caps, centers, dlnl, shown, mono_hist, poly_hist, mono_near, poly_near,
           mono_example, poly_example, cap_fine, theory, results, cfg):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(2, 2, figsize=(7.0, 5.0),
                             gridspec_kw={"hspace": 0.5, "wspace": 0.28})
    pal = plots.PALETTE
    scale_colors = [pal[5], pal[0], pal[2], pal[4], pal[1], pal[7]]
    floor = 1e-4
    for ax, hist, title in ((axes[0, 0], mono_hist, "(a) monogenic samples (1 quantum)"),
                            (axes[0, 1], poly_hist, f"(b) polygenic samples ({M_POLY} quanta, "
                                                    "mean loss)")):
        for i, c in enumerate(shown):
            y = hist[:, c] / dlnl
            mean = y.mean(0)
            lo = np.maximum(mean - plots.Z95 * C.sem(y), floor)
            hi = mean + plots.Z95 * C.sem(y)
            ax.step(centers, np.maximum(mean, floor), where="mid", color=scale_colors[i],
                    lw=1.1, label=f"n = {caps[c]}")
            ax.fill_between(centers, lo, hi, step="mid", color=scale_colors[i], alpha=0.25,
                            lw=0)
        ax.axvline(NEAR_ZERO_BITS, color="0.4", lw=0.7, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(3e-3, 30)
        ax.set_xlim(1e-3, 10)
        ax.set_xlabel("per-sample loss L (bits)")
        ax.set_ylabel("L·p(L)  (probability per unit ln L)")
        ax.set_title(title, loc="left")
    axes[0, 0].text(NEAR_ZERO_BITS * 1.1, 15, "near zero ←", fontsize=6, color="0.3",
                    ha="right")
    axes[0, 0].legend(loc="upper right", fontsize=6, title="capacity (model size)",
                      title_fontsize=6, ncol=2, columnspacing=0.8, handlelength=1.2)

    ax = axes[1, 0]
    for kind, near, color, th in (("monogenic", mono_near, pal[0], theory["mono_near_zero"]),
                                  ("polygenic", poly_near, pal[1], theory["poly_near_zero"])):
        plots.band(ax, caps, near.mean(0), C.sem(near), color=color, label=kind, marker="o",
                   ms=2.5)
        plots.theory_line(ax, cap_fine, th, label=None, zorder=3)
    ax.plot([], [], color="black", ls="--", lw=1.0, label="mean field")
    ax.set_xscale("log")
    ax.set_xlim(caps[0], caps[-1])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("model size: capacity n (quanta)")
    ax.set_ylabel(f"fraction of samples with L < {NEAR_ZERO_BITS:g} bit")
    ax.set_title("(c) near-zero-loss mass grows with scale", loc="left")
    s = results["summary"]
    ax.legend(loc="upper left", fontsize=6)
    ax.text(0.98, 0.05, "mono vs poly\nn = {}: {:.2f} vs {:.2f}\nn = {}: {:.2f} vs {:.2f}".format(
        SHOWN_CAPS[1], s["near_zero_mono_at_shown"][1], s["near_zero_poly_at_shown"][1],
        SHOWN_CAPS[-1], s["near_zero_mono_at_shown"][-1], s["near_zero_poly_at_shown"][-1]),
        transform=ax.transAxes, fontsize=6, ha="right", va="bottom", color="0.2")

    ax = axes[1, 1]
    ex = results["examples"]
    for j, rank in enumerate(EXAMPLE_MONO_RANKS):
        w = ex["monogenic"][j]["transition"]["width_decades"]
        plots.band(ax, caps, mono_example[..., j].mean(0), C.sem(mono_example[..., j]),
                   color=(pal[0], pal[5], pal[2])[j], label=f"mono, rank {rank}: {fmt(w)} dec")
        plots.theory_line(ax, cap_fine, theory["mono_example"][:, j], label=None, zorder=3)
    for j in range(poly_example.shape[-1]):
        w = ex["polygenic"][j]["transition"]["width_decades"]
        ranks = ex["polygenic_quanta_ranks"][j]
        plots.band(ax, caps, poly_example[..., j].mean(0), C.sem(poly_example[..., j]),
                   color=(pal[1], pal[4], pal[3])[j],
                   label=f"poly, ranks {ranks[0]}–{ranks[-1]}: {fmt(w)} dec")
        plots.theory_line(ax, cap_fine, theory["poly_example"][:, j], label=None, zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(caps[0], caps[-1])
    ax.set_xlabel("model size: capacity n (quanta)")
    ax.set_ylabel("expected loss of one sample (bits)")
    ax.set_title("(d) single samples: sharp vs gradual drops", loc="left")
    ax.set_ylim(4e-4, 1.6)
    ax.legend(loc="lower center", fontsize=5.5, handlelength=1.2, ncol=2, columnspacing=0.8,
              title="10–90 % width of each sample's drop", title_fontsize=5.5)
    fig.text(0.99, 0.005, f"K = {cfg['n_quanta']}, α = {C.ALPHA}, τ = {C.TAU}; b_k ~ "
             "exp N(0, 0.5²) bits, a_k ~ 0.02·exp N(0, 0.5²) bits; "
             f"{cfg['replicates']} learners per size; 95 % bands; dashed: mean field",
             fontsize=6, color="0.3", ha="right", va="bottom")
    return fig


def fmt(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.2f}"


if __name__ == "__main__":
    main()
