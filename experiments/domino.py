"""Prerequisites gate learning: time to learn a rare quantum with and without a link.

Two quanta with use frequencies ∝ (1, 0.1) (Liu et al. 2025's domino setting) and chains
of five quanta (Zipf, α = 1) under three conditions: independent quanta, a ``block`` link
(exposures count only once the prerequisite is learned) and a ``slow`` link (they count
with probability f = 0.3 until then). Under the counting model of simquanta the time to
learn quantum k alone is τ / (B p_k) steps, and a block chain adds the times along the
chain: E[T_k] = Σ_{j ≤ k} τ / (B p_j) — both drawn dashed. Prerequisites therefore only
delay: Liu et al.'s ~2× "domino" speed-up comes from normalized (Adam-like) updates that
shift learning rate to the remaining skills, a mechanism outside the threshold model; the
JSON reports the measured ratios so the difference is explicit.
"""

from __future__ import annotations

import numpy as np

import simquanta as sq
from simquanta import plots

from _common import Experiment, parse_args

TAU = 5
BATCH = 1
F_SLOW = 0.3


def learn_steps(freqs, edges, mode, agents, seed, engine="events"):
    """First-learn step per agent and quantum (steps; batch size BATCH)."""
    prereq = sq.Prerequisites(edges, mode=mode, factor=F_SLOW) if edges else None
    horizon = int(50 * TAU * sum(1 / (np.asarray(freqs) / sum(freqs))))
    result = sq.simulate(sq.Quanta(len(freqs), frequencies=freqs, tau=TAU),
                         sq.Learner(prerequisites=prereq), sq.Online(horizon, BATCH),
                         agents=agents, seed=seed, checkpoints=[horizon], engine=engine,
                         record_learn_steps=True)
    steps = result.learn_step.astype(float)
    steps[steps < 0] = np.nan  # not learned within the horizon (vanishingly rare here)
    return steps


def main(argv=None) -> None:
    args = parse_args("domino", __doc__.splitlines()[0], argv)
    agents = 400 if args.quick else 4000
    config = {"tau": TAU, "batch_size": BATCH, "slow_factor": F_SLOW, "agents": agents,
              "pair_frequencies": [1.0, 0.1], "chain": "Zipf alpha=1, K=5", "engine": "events"}
    exp = Experiment("domino", args, config)
    plots.use_style()
    import matplotlib.pyplot as plt

    conditions = [("independent", None, "block"), ("block", [(0, 1)], "block"),
                  ("slow (f = 0.3)", [(0, 1)], "slow")]
    pair = np.array([1.0, 0.1])
    p_pair = pair / pair.sum()
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8))
    results: dict[str, object] = {}
    for i, (label, edges, mode) in enumerate(conditions):
        steps = learn_steps(pair, edges, mode, agents, seed=10 + i)
        t1, t2 = steps[:, 0], steps[:, 1]
        x = np.sort(t2)
        axes[0].plot(x, np.arange(1, x.size + 1) / x.size, color=plots.PALETTE[i],
                     label=f"quantum 2, {label}")
        results[label] = {"median_T1": float(np.nanmedian(t1)),
                          "median_T2": float(np.nanmedian(t2)),
                          "ratio_T2_over_T1": float(np.nanmedian(t2) / np.nanmedian(t1)),
                          "median_T2_minus_T1": float(np.nanmedian(t2 - t1))}
    x = np.sort(learn_steps(pair, None, "block", agents, seed=9)[:, 0])
    axes[0].plot(x, np.arange(1, x.size + 1) / x.size, color="0.4", lw=1.0,
                 label="quantum 1 (p = 0.91)")
    for k, p in enumerate(p_pair):
        axes[0].axvline(TAU / (BATCH * p), color="0.4" if k == 0 else plots.PALETTE[0],
                        ls="--", lw=0.8)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("step at which the quantum is learned")
    axes[0].set_ylabel("fraction of agents")
    axes[0].set_title(r"pair, frequencies $\propto$ (1, 0.1); dashed: $\tau/(B\,p_k)$")
    axes[0].legend(loc="upper left", fontsize=6)

    chain_p = 1.0 / np.arange(1, 6) ** 2.0
    chain_p = chain_p / chain_p.sum()
    chain_edges = [(k, k + 1) for k in range(4)]
    positions = np.arange(1, 6)
    chain_results = {}
    for i, (label, edges, mode) in enumerate([("independent", None, "block"),
                                              ("block chain", chain_edges, "block"),
                                              ("slow chain (f = 0.3)", chain_edges, "slow")]):
        steps = learn_steps(chain_p, edges, mode, agents, seed=20 + i)
        mean = np.nanmean(steps, axis=0)
        sem = np.nanstd(steps, axis=0, ddof=1) / np.sqrt(agents)
        plots.band(axes[1], positions, mean, sem, color=plots.PALETTE[i], label=label,
                   marker="o", ms=3)
        chain_results[label] = {"mean_learn_step": mean, "sem": sem}
    alone = TAU / (BATCH * chain_p)
    plots.theory_line(axes[1], positions, alone, label=r"$\tau/(B\,p_k)$")
    plots.theory_line(axes[1], positions, np.cumsum(alone), color="0.5",
                      label=r"$\sum_{j\leq k}\tau/(B\,p_j)$")
    axes[1].set_yscale("log")
    axes[1].set_xticks(positions)
    axes[1].set_xlabel("position k in the chain (p_k ∝ k⁻²)")
    axes[1].set_ylabel("mean learn step (steps)")
    axes[1].set_title("chains of five quanta")
    axes[1].legend(fontsize=6)
    results["chain"] = chain_results
    results["chain_theory"] = {"independent": alone, "block": np.cumsum(alone)}
    fig.tight_layout()
    exp.save(fig, results)


if __name__ == "__main__":
    main()
