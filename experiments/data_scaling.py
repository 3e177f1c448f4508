"""Data scaling: loss vs training-set size in the multi-epoch regime, L(D) ∝ D^-α/(α+1).

Each agent draws its own training set of D samples once and trains on it for several
epochs (events engine, unlimited capacity, threshold rule τ = 5: a quantum needs τ examples
in the set). Under the threshold rule every learnable quantum (D_k ≥ τ examples) is learned
at its τ-th presentation, i.e. within epoch 1, so the extra epochs change nothing and the
final loss is purely data-limited — the regime the theory describes. D spans 10^2..10^8.

Theory checked (Michaud et al. 2023): quantum k is learnable iff D_k ~ Binomial(D, p_k)
reaches τ, i.e. iff k ≲ (D/τ)^{1/(α+1)}, so

- learned(D) ∝ D^{1/(α+1)}: with Poisson counts, k is learnable iff G ≤ D p_k,
  G ~ Gamma(τ), giving E[learned] ≈ (D/ζ(α+1))^{1/(α+1)} Γ(τ − 1/(α+1))/Γ(τ);
- L(D) ∝ D^-α/(α+1): E[L] ≈ (D/ζ)^{-α/(α+1)} Γ(τ + α/(α+1))/Γ(τ) / (α ζ).

Dashed lines are the exact closed forms Σ_k p_k P(Binomial(D, p_k) < τ) and
Σ_k P(Binomial(D, p_k) ≥ τ) (``theory.dataset_unlearnable_prob``) for the simulated K;
dotted lines are the continuum asymptotes above. Losses are for K = ∞ (the never-learned tail
k > K added back, _scaling.infinite_k_loss); no quantum beyond K would be learnable at
these D (``tail_leak`` ≤ 1e-4 of the loss).
"""

from __future__ import annotations

import numpy as np

import simquanta as sq
from simquanta import plots
from simquanta.analysis import theory
from simquanta.analysis.fit import fit_power_law

import _scaling as S
from _common import Experiment, parse_args

NAME = "data_scaling"
ALPHAS = (0.3, 0.5, 1.0)
TAU = 5
EPOCHS = 3


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_quanta": 10**5, "d_min": 10**2, "d_max": 10**6, "per_decade": 2,
                "agents": 8, "fit_learned_min": 10, "seed": 21}
    return {"n_quanta": 10**6, "d_min": 10**2, "d_max": 10**8, "per_decade": 2,
            "agents": 32, "fit_learned_min": 30, "seed": 21}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alphas": list(ALPHAS), "tau": TAU, "epochs": EPOCHS, "batch_size": 1,
                "acquisition": "threshold", "capacity": "inf", "engine": "events"})
    exp = Experiment(NAME, args, cfg)
    K, M = cfg["n_quanta"], cfg["agents"]
    sizes = S.log_ints(cfg["d_min"], cfg["d_max"], cfg["per_decade"])
    results: dict = {"dataset_sizes": sizes, "per_alpha": {}}
    curves = {}
    for i, alpha in enumerate(ALPHAS):
        quanta = sq.Quanta(K, alpha=alpha, tau=TAU)
        loss = np.empty((M, sizes.size))
        learned = np.empty((M, sizes.size))
        for j, d in enumerate(sizes):
            res = sq.simulate(quanta, sq.Learner(), sq.Dataset(size=int(d), epochs=EPOCHS),
                              agents=M, seed=cfg["seed"] + 100 * i + j, checkpoints=1,
                              engine="events")
            loss[:, j] = res.loss[:, -1]
            learned[:, j] = res.learned[:, -1]
        loss_inf = S.infinite_k_loss(loss, K, alpha)
        # Fit window: from where ≥ fit_learned_min quanta are learned (past the small-k
        # discreteness; the continuum law has O(1/learned) corrections) to the largest D.
        # Largest D: learned ≤ 4 % of K and tail_leak ≤ 1e-4, so finite K is negligible.
        d_lo = S.samples_for_learned(cfg["fit_learned_min"], alpha, TAU)
        window = (d_lo, float(sizes.max()))
        rec_l = S.fit_record(fit_power_law(sizes, loss_inf, x_range=window, seed=0),
                             theory.alpha_D(alpha))
        rec_n = S.fit_record(fit_power_law(sizes, learned, x_range=window, seed=0),
                             1.0 / (alpha + 1.0), sign=-1.0)
        rec_raw = S.fit_record(fit_power_law(sizes, loss, x_range=window, seed=0),
                               theory.alpha_D(alpha))
        unlearnable = theory.dataset_unlearnable_prob(sizes.astype(float), quanta.p, TAU)
        exact_loss = S.infinite_k_loss(theory.expected_loss(unlearnable, quanta.p), K, alpha)
        exact_learned = theory.expected_learned(unlearnable)
        xs = S.x_scale(K, alpha)
        results["per_alpha"][f"{alpha:g}"] = {
            "alpha_D": rec_l, "learned_exponent": rec_n, "alpha_D_raw_finite_K": rec_raw,
            "loss_mean": loss_inf.mean(0), "loss_sem": S.sem(loss_inf),
            "learned_mean": learned.mean(0), "learned_sem": S.sem(learned),
            "loss_closed_form": exact_loss, "learned_closed_form": exact_learned,
            "loss_asymptote": S.asymptotic_loss(sizes * xs, alpha, TAU),
            "learned_asymptote": S.asymptotic_learned(sizes * xs, alpha, TAU),
            "max_z_loss_vs_closed_form": S.max_abs_z(loss_inf, exact_loss),
            "tail_leak_at_d_max": S.tail_leak(float(sizes.max()) * xs, K, alpha, TAU),
        }
        curves[alpha] = (loss_inf, learned, exact_loss, exact_learned, rec_l, rec_n, window)
        print(f"alpha={alpha}: {S.fit_text('α_D', rec_l)}; "
              f"{S.fit_text('learned exp', rec_n)}; raw α_D {rec_raw['fitted']:.3f}")
    results["done_when"] = {
        "alpha_D_within_0.03_or_ci": all(S.within(v["alpha_D"], 0.03)
                                         for v in results["per_alpha"].values())}
    fig = figure(sizes, curves, K)
    exp.save(fig, results)
    return results


def figure(sizes, curves, K):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.7), gridspec_kw={"wspace": 0.3})
    d_fine = np.geomspace(sizes.min(), sizes.max(), 100)
    for i, (alpha, (loss, learned, ex_l, ex_n, rec_l, rec_n, _win)) in enumerate(
            curves.items()):
        c = plots.PALETTE[i]
        xs = S.x_scale(K, alpha)
        ax = axes[0]
        plots.band(ax, sizes, loss.mean(0), S.sem(loss), color=c, ls="none", marker="o",
                   ms=2.6,
                   label=f"α={alpha:g}: {rec_l['fitted']:.3f} [{rec_l['ci95'][0]:.3f}, "
                         f"{rec_l['ci95'][1]:.3f}] vs {rec_l['theory']:.3f}")
        plots.theory_line(ax, sizes, ex_l, color=c, label=None)
        ax.plot(d_fine, S.asymptotic_loss(d_fine * xs, alpha, TAU), color=c, ls=":", lw=0.8)
        ax = axes[1]
        plots.band(ax, sizes, learned.mean(0), S.sem(learned), color=c, ls="none",
                   marker="o", ms=2.6,
                   label=f"α={alpha:g}: {rec_n['fitted']:.3f} [{rec_n['ci95'][0]:.3f}, "
                         f"{rec_n['ci95'][1]:.3f}] vs {rec_n['theory']:.3f}")
        plots.theory_line(ax, sizes, ex_n, color=c, label=None)
        ax.plot(d_fine, S.asymptotic_learned(d_fine * xs, alpha, TAU), color=c, ls=":",
                lw=0.8)
    for ax in axes:
        ax.plot([], [], color="k", ls="--", lw=1.0, label="exact closed form")
        ax.plot([], [], color="k", ls=":", lw=0.8, label="continuum asymptote")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"training-set size D (samples, {EPOCHS} epochs)")
    axes[0].set_ylabel("loss (bits per sample)")
    lo = min(c[0].mean(0).min() for c in curves.values())
    axes[0].set_ylim(lo / 40, 1.0)  # room for the legend under the curves
    axes[0].set_title("(a) loss vs data; fitted α$_D$ [95% CI] vs α/(α+1)", loc="left")
    axes[0].legend(loc="lower left", fontsize=6, handlelength=1.6)
    axes[1].set_ylabel("quanta learned")
    axes[1].set_title("(b) quanta learned; fitted exponent vs 1/(α+1)", loc="left")
    axes[1].legend(loc="upper left", fontsize=6, handlelength=1.6)
    return fig


if __name__ == "__main__":
    main()
