"""Finite-K bias: how many quanta K a simulation needs before fitted α_N and α_S recover
the K = ∞ exponents α and α/(α+1), at α ∈ {0.083 (Pythia's α_N), 0.3, 1.0}.

Truncating the Zipf law at K removes the tail the loss would still fall through:
L_K(n) ∝ n^-α − K^-α for the top-n learner, so over a fit window n ≤ n_max the local slope
is α/(1 − (n/K)^α) — for small α, (n/K)^α → 0 only for astronomically large K (at
α = 0.083, n = 50: K = 10^6 still gives (5·10^-5)^0.083 = 0.44, a fit 1.8× too steep).
This is why the other experiments add the known tail k > K back (_scaling.infinite_k_loss)
instead of relying on K ≫ n.

Fixed fit windows (both span 10–50 learned quanta, a typical small-model range):
- α_N: capacity n ∈ [10, 50]; learners use ``evict`` and train long enough that each holds
  exactly the top n quanta (evict re-sorts by exposure count), so the closed form is the
  finite-K top-n loss Σ_{n<k≤K} p_k (Hurwitz ζ, any K).
- α_S: online steps S from when 10 to when 50 quanta are learned (K = ∞ expectation),
  threshold rule τ = 5, unlimited capacity; closed form E[L] = Σ_k p_k Q(τ, p_k S).
Points: events-engine simulations, raw finite-K loss, power-law fit with a 95 % bootstrap
CI over agents. Dashed: the same fit applied to the closed form, continued to K = 10^18.
The y axis is fitted/true exponent. Even at K = ∞ a window starting at n = 10 reads a few
per cent shallow (discreteness: Σ_{k>n} k^-(α+1) ≈ (n + ½)^-α/α); the dashed curves show
that limit.
"""

from __future__ import annotations

import numpy as np
from scipy import special

import simquanta as sq
from simquanta import plots
from simquanta.analysis.fit import fit_power_law

import _scaling as S
from _common import Experiment, parse_args

NAME = "finite_k_bias"
ALPHAS = (0.083, 0.3, 1.0)
TAU = 5
N_WINDOW = (10, 50)


def config_for(quick: bool) -> dict:
    if quick:
        return {"k_exponents": [2, 3, 4, 5], "agents_s": 16, "replicates_n": 1,
                "points": 6, "seed": 51}
    return {"k_exponents": [2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6], "agents_s": 64,
            "replicates_n": 2, "points": 8, "seed": 51}


# ---------------------------------------------------------------- closed forms, any K


def topn_loss_k(n, K, alpha):
    """Σ_{n<k≤K} k^-(α+1) / H_K (bits): top-n loss with K quanta."""
    s = alpha + 1.0
    n = np.asarray(n, dtype=float)
    return (special.zeta(s, n + 1) - special.zeta(s, K + 1.0)) / S.partial_sum(K, alpha)


def step_loss_k(steps, K, alpha, tau=TAU):
    """E[L_K(S)] = Σ_{k≤K} p_k Q(τ, p_k S) with p_k = k^-(α+1)/H_K (Poisson exposures).

    Quanta with p_k S < 1e-3 (Q = 1 to ~1e-17) are summed analytically (Hurwitz ζ)."""
    steps = np.asarray(steps, dtype=float)
    h = S.partial_sum(K, alpha)
    k0 = int(min(K, np.ceil((1e3 * steps.max() / h) ** (1.0 / (alpha + 1.0)))))
    k = np.arange(1, k0 + 1, dtype=float)
    p = k ** -(alpha + 1.0) / h
    head = special.gammaincc(tau, steps[:, None] * p[None, :]) @ p
    tail = (special.zeta(alpha + 1.0, k0 + 1.0) - special.zeta(alpha + 1.0, K + 1.0)) / h
    return head + tail


def exponent(x, y):
    return fit_power_law(x, y, n_boot=0).exponent


# ---------------------------------------------------------------- experiment


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alphas": list(ALPHAS), "tau": TAU, "n_window": list(N_WINDOW),
                "alpha_N_policy": "evict", "alpha_S_acquisition": "threshold",
                "engine": "events"})
    exp = Experiment(NAME, args, cfg)
    ks = np.round(10.0 ** np.array(cfg["k_exponents"])).astype(np.int64)
    k_dense = np.unique(np.round(np.geomspace(100, 1e18, 65)).astype(np.int64))
    caps = np.unique(np.round(np.geomspace(*N_WINDOW, cfg["points"])).astype(np.int64))
    results: dict = {"n_quanta": ks, "capacities": caps, "per_alpha": {}}
    panels = {}
    for i, alpha in enumerate(ALPHAS):
        s_window = (S.samples_for_learned(N_WINDOW[0], alpha, TAU),
                    S.samples_for_learned(N_WINDOW[1], alpha, TAU))
        ckpts = np.unique(np.round(np.geomspace(*s_window, cfg["points"])).astype(np.int64))
        a_n = float(alpha)
        a_s = alpha / (alpha + 1.0)
        sim_n, sim_s = [], []
        for j, K in enumerate(ks):
            quanta = sq.Quanta(int(K), alpha=alpha, tau=TAU)
            # α_N: evict, long enough (1000 τ/p_n for the largest n) that counts order the
            # quanta exactly, so each agent holds the top n.
            R = cfg["replicates_n"]
            p_n = caps.max() ** -(alpha + 1.0) / S.partial_sum(int(K), alpha)
            res = sq.simulate(quanta, sq.Learner(capacity=S.replicate_grid(caps, R),
                                                 policy="evict"),
                              sq.Online(steps=int(1000 * TAU / p_n)), agents=caps.size * R,
                              seed=cfg["seed"] + 1000 * i + j, checkpoints=1,
                              engine="events")
            loss_n = S.by_value(res.loss[:, -1], caps.size, R)
            fit = fit_power_law(caps, loss_n, seed=0)
            sim_n.append(S.fit_record(fit, a_n))
            # α_S: online threshold learners, unlimited capacity.
            res = sq.simulate(quanta, sq.Learner(), sq.Online(steps=int(ckpts.max())),
                              agents=cfg["agents_s"], seed=cfg["seed"] + 1000 * i + 500 + j,
                              checkpoints=list(ckpts), engine="events")
            sim_s.append(S.fit_record(fit_power_law(ckpts, res.loss, seed=0), a_s))
        cf_n = np.array([exponent(caps, topn_loss_k(caps, K, alpha)) for K in k_dense])
        cf_s = np.array([exponent(ckpts, step_loss_k(ckpts, K, alpha)) for K in k_dense])
        inf_n = exponent(caps, S.top_n_loss_infinite(caps, alpha))
        inf_s = exponent(ckpts, step_loss_k(ckpts, 10**15, alpha))

        def k_needed(curve, target, tol):
            ok = np.abs(curve / target - 1) <= tol
            # first K from which every larger K on the grid is within tol
            bad = np.nonzero(~ok)[0]
            idx = 0 if bad.size == 0 else bad[-1] + 1
            return float(k_dense[idx]) if idx < k_dense.size else None

        results["per_alpha"][f"{alpha:g}"] = {
            "theory_alpha_N": a_n, "theory_alpha_S": a_s,
            "step_window": list(s_window), "steps": ckpts,
            "alpha_N_sim": sim_n, "alpha_S_sim": sim_s,
            "alpha_N_closed_form": {"n_quanta": k_dense, "fitted": cf_n, "K_inf": inf_n},
            "alpha_S_closed_form": {"n_quanta": k_dense, "fitted": cf_s, "K_inf": inf_s},
            "K_needed_alpha_N_within_5pct_of_alpha": k_needed(cf_n, a_n, 0.05),
            "K_needed_alpha_S_within_5pct_of_theory": k_needed(cf_s, a_s, 0.05),
            "K_needed_alpha_N_within_2pct_of_K_inf_fit": k_needed(cf_n, inf_n, 0.02),
            "K_needed_alpha_S_within_2pct_of_K_inf_fit": k_needed(cf_s, inf_s, 0.02),
            "alpha_N_fit_at_K_1e6_closed_form": float(np.interp(6, np.log10(k_dense), cf_n)),
            "alpha_S_fit_at_K_1e6_closed_form": float(np.interp(6, np.log10(k_dense), cf_s)),
        }
        panels[alpha] = (sim_n, sim_s, cf_n, cf_s, a_n, a_s)
        r = results["per_alpha"][f"{alpha:g}"]
        print(f"alpha={alpha}: alpha_N fit at K=1e6 {r['alpha_N_fit_at_K_1e6_closed_form']:.3f}"
              f" (K=inf {inf_n:.3f}); K for 5%: N {r['K_needed_alpha_N_within_5pct_of_alpha']}"
              f", S {r['K_needed_alpha_S_within_5pct_of_theory']}")
    fig = figure(ks, k_dense, panels)
    exp.save(fig, results)
    return results


def figure(ks, k_dense, panels):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.7), layout="constrained", sharey=True)
    for i, (alpha, (sim_n, sim_s, cf_n, cf_s, a_n, a_s)) in enumerate(panels.items()):
        c = plots.PALETTE[i]
        for ax, sim, cf, true in ((axes[0], sim_n, cf_n, a_n), (axes[1], sim_s, cf_s, a_s)):
            y = np.array([r["fitted"] for r in sim]) / true
            lo = np.array([r["ci95"][0] for r in sim]) / true
            hi = np.array([r["ci95"][1] for r in sim]) / true
            ax.errorbar(ks, y, yerr=[np.maximum(y - lo, 0), np.maximum(hi - y, 0)], color=c,
                        ls="none", marker="o", ms=3, capsize=1.5, lw=0.9,
                        label=f"α = {alpha:g} (true {true:.3g})")
            plots.theory_line(ax, k_dense, cf / true, color=c, label=None)
    for ax, name in ((axes[0], "(a) fitted α$_N$ / α, capacity n ∈ [10, 50]"),
                     (axes[1], "(b) fitted α$_S$ / (α/(α+1)), 10–50 quanta learned")):
        ax.axhline(1.0, color="0.3", lw=0.6)
        ax.axhspan(0.95, 1.05, color="0.5", alpha=0.15, lw=0, label="±5 %")
        ax.plot([], [], color="k", ls="--", lw=1.0, label="closed form (same fit)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of quanta K")
        ax.set_title(name, loc="left")
    axes[0].set_ylabel("fitted / K = ∞ exponent")
    axes[0].legend(loc="upper right", fontsize=6, handlelength=1.6)
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    axes[0].yaxis.set_major_locator(FixedLocator([1, 1.5, 2, 3, 5, 10, 20]))
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axes[0].yaxis.set_minor_formatter(NullFormatter())
    return fig


if __name__ == "__main__":
    main()
