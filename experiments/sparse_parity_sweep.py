"""Scaling exponents of the calibrated simulator in the paper's sparse-parity settings.

Simulation only (events engine). Parameters come from the calibration experiment
(figures/sparse_parity_calibration.json, key results.calibration) when a full-mode run
of it exists; otherwise paper-like defaults (γ = −0.19 and the values in DEFAULTS) are
used, and the JSON says which.

The paper's settings (Michaud et al. 2023, §3): K = 500 subtasks, α ∈ {0.1, …, 0.8};
capacity N(w)/C with N(w) = 603·w + 2 for widths 10–300; online batch B = 20 000 for
10^5 steps; dataset sizes 10^4 – 5·10^6, multi-epoch with early stopping on held-out loss.
Early stopping in the simulator: a learned quantum's loss never rises again, so the
loss over epochs is non-increasing and the best checkpoint is the last one. Steps come
from the widest model. Per α we fit (fit_power_law, agent bootstrap 95 % CIs):

- α_N: L(N) ∝ N^−α_N over all widths (final step);       theory α_N = α
- α_S: L(S) ∝ S^−α_S over S_RANGE (widest model);         theory α/(α+1)
- α_D: L(D) ∝ D^−α_D over all D (best checkpoint);        theory α/(α+1)
- n(D) ∝ D^e, n = subtasks ever learned;                  theory e = 1/(α+1)

The calibrated γ (steps ∝ p^−(1+γ)) and γ_D (examples needed ∝ p^−γ_D) shift the
asymptotes to α_S = α/((α+1)(1+γ)), α_D = α/((α+1)(1+γ_D)), e = 1/((α+1)(1+γ_D));
the figure shows these dash-dotted beside the paper's dashed lines.
"""

from __future__ import annotations

import os

# Many small simulate calls: one numba thread avoids waiting on a busy second core.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simquanta import plots  # noqa: E402
from simquanta.analysis.fit import fit_power_law  # noqa: E402
from simquanta.analysis.stats import sem  # noqa: E402
from simquanta.analysis.theory import zipf_frequencies  # noqa: E402
from simquanta.files import atomic_path  # noqa: E402
from simquanta.sparse_parity.calibrate import (  # noqa: E402
    DataThresholdFit,
    StepLawFit,
    simulate_dataset_learned,
    simulate_online_learned,
)

from _common import FIGURES, Experiment, parse_args  # noqa: E402

NAME = "sparse_parity_sweep"
RESULT_KEYS = ("alpha", "alpha_N", "alpha_S", "alpha_D", "n_vs_D_exponent")

#: Fallback parameters (no calibration file): the paper's γ ≈ −0.19 (steps ∝ p^−0.81)
#: and round numbers of the size the small calibration study measures.
DEFAULTS: dict[str, Any] = {
    "gamma": -0.19, "log10_A": 5.5, "sigma": 0.3, "noise": "lognormal", "C": 500.0,
    "batch_size": 1000,
    "data": {"log10_A_D": 3.5, "gamma_D": 0.0, "sigma_D": 0.3},
}

CONFIGS: dict[str, dict[str, Any]] = {
    "full": {
        "n_tasks": 500, "alphas": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
        "widths": [10, 14, 20, 28, 40, 56, 80, 113, 160, 226, 300], "batch_size": 20_000,
        "steps": 100_000, "step_checkpoints": 41,
        "dataset_sizes": [10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
                          2_000_000, 5_000_000],
        "s_range": [300, 10_000], "agents": 32, "seed": 11, "n_boot": 1000,
    },
    "quick": {
        "n_tasks": 500, "alphas": [0.2, 0.4, 0.8], "widths": [10, 40, 300],
        "batch_size": 20_000, "steps": 100_000, "step_checkpoints": 21,
        "dataset_sizes": [10_000, 200_000, 5_000_000], "s_range": [300, 10_000],
        "agents": 3, "seed": 11, "n_boot": 50,
    },
}


def load_calibration(out: Path) -> tuple[dict[str, Any], str]:
    """Calibrated parameters and where they came from (a full-mode calibration JSON in
    the output folder or figures/, else DEFAULTS)."""
    for folder in dict.fromkeys([out, FIGURES]):
        path = folder / "sparse_parity_calibration.json"
        if not path.exists():
            continue
        payload = json.loads(path.read_text())
        cal = payload.get("results", {}).get("calibration")
        if payload.get("mode") == "full" and cal and cal.get("data"):
            return cal, f"calibrated: {path.name} (full mode, {path.parent.name}/)"
    return DEFAULTS, ("defaults: no full-mode sparse_parity_calibration.json found; "
                      "paper-like gamma = -0.19 and the DEFAULTS of this script")


def _laws(cal: dict[str, Any]) -> tuple[StepLawFit, DataThresholdFit]:
    nan2 = (math.nan, math.nan)
    law = StepLawFit(log10_A=cal["log10_A"], gamma=cal["gamma"], sigma=cal["sigma"],
                     noise=cal["noise"], batch_size=int(cal["batch_size"]),
                     log10_A_ci=nan2, gamma_ci=nan2, sigma_ci=nan2, log10_A_se=math.nan,
                     gamma_se=math.nan, sigma_se=math.nan, log_likelihood=math.nan,
                     aic=math.nan, n_obs=0, n_censored=0, n_boot=0)
    d = cal["data"]
    data = DataThresholdFit(log10_A_D=d["log10_A_D"], gamma_D=d["gamma_D"],
                            sigma_D=d["sigma_D"], log10_A_D_ci=nan2, gamma_D_ci=nan2,
                            sigma_D_ci=nan2, log10_A_D_se=math.nan, gamma_D_se=math.nan,
                            sigma_D_se=math.nan, log_likelihood=math.nan,
                            accuracy=math.nan, n_obs=0, n_boot=0)
    return law, data


def sweep_alpha(alpha: float, cfg: dict[str, Any], law: StepLawFit, data: DataThresholdFit,
                C: float) -> dict[str, Any]:
    """Simulate one α: loss vs N (final step), vs S (widest model), vs D (best checkpoint)."""
    p = zipf_frequencies(cfg["n_tasks"], alpha)
    n_of_w = 603 * np.asarray(cfg["widths"], dtype=float) + 2
    sizes = np.asarray(cfg["dataset_sizes"], dtype=float)
    caps = n_of_w / C
    steps, batch = cfg["steps"], cfg["batch_size"]
    ckpt = np.unique(np.round(np.geomspace(1, steps, cfg["step_checkpoints"])).astype(int))
    seed = cfg["seed"] + int(round(alpha * 1000))
    mask = simulate_online_learned(law, p, caps, steps, batch, ckpt, agents=cfg["agents"],
                                   seed=seed)  # (A, W, C, K)
    loss_n = (1.0 - mask[:, :, -1, :]) @ p  # (A, W)
    loss_s = (1.0 - mask[:, -1, :, :]) @ p  # (A, C), widest model
    learned_d = simulate_dataset_learned(data, law, p, cfg["dataset_sizes"], caps[-1], steps,
                                         batch, agents=cfg["agents"], seed=seed + 1)
    loss_d = (1.0 - learned_d) @ p  # (A, nD)
    n_d = learned_d.sum(axis=-1).astype(float)  # (A, nD)
    fits = {
        "alpha_N": fit_power_law(n_of_w, loss_n, n_boot=cfg["n_boot"], seed=1),
        "alpha_S": fit_power_law(ckpt.astype(float), loss_s, n_boot=cfg["n_boot"], seed=2,
                                 x_range=tuple(cfg["s_range"])),
        "alpha_D": fit_power_law(sizes, loss_d, n_boot=cfg["n_boot"], seed=3),
        # n ∝ D^e is a power law with exponent −e in fit_power_law's convention.
        "n_vs_D": fit_power_law(sizes, np.maximum(n_d, 0.0), n_boot=cfg["n_boot"], seed=4),
    }
    # Noise-free closed form of the same calibrated model at K = 500: quantum k is learned
    # by step S iff k ≤ capacity and its median step A p_k^−γ/(B p_k) ≤ S, and from a
    # training set of D iff also D p_k ≥ A_D p_k^−γ_D. It separates finite-K effects
    # (present here too) from the simulator's noise.
    t_k = law.median_steps(p, batch)
    rank = np.arange(1, p.size + 1)

    def closed(cap: float, s: float, d: float = math.inf) -> np.ndarray:
        return (rank <= math.floor(cap + 1e-9)) & (t_k <= s) & (d * p >= data.thresholds(p))

    ref_n = np.array([p @ ~closed(c, steps) for c in caps])
    ref_s = np.array([p @ ~closed(caps[-1], s) for s in ckpt])
    ref_learned = np.array([closed(caps[-1], steps, d) for d in sizes])
    ref_d = (~ref_learned).astype(float) @ p
    ref_nd = ref_learned.sum(axis=1).astype(float)
    reference = {}
    for key, x, y, kw, sign in (("alpha_N", n_of_w, ref_n, {}, 1),
                                ("alpha_S", ckpt.astype(float), ref_s,
                                 {"x_range": tuple(cfg["s_range"])}, 1),
                                ("alpha_D", sizes, ref_d, {}, 1),
                                ("n_vs_D", sizes, ref_nd, {}, -1)):
        try:
            reference[key] = sign * fit_power_law(x, y, n_boot=0, **kw).exponent
        except ValueError:  # fewer than two usable points (e.g. nothing learnable)
            reference[key] = math.nan
    return {"p": p, "n_of_w": n_of_w, "ckpt": ckpt, "loss_n": loss_n, "loss_s": loss_s,
            "loss_d": loss_d, "n_d": n_d, "fits": fits, "reference": reference}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = dict(CONFIGS["quick" if args.quick else "full"])
    cal, source = load_calibration(Path(args.out))
    law, data = _laws(cal)
    cfg.update({"calibration_source": source, "parameters": {
        "gamma": law.gamma, "log10_A": law.log10_A, "sigma": law.sigma, "noise": law.noise,
        "C": cal["C"], "log10_A_D": data.log10_A_D, "gamma_D": data.gamma_D,
        "sigma_D": data.sigma_D},
        "early_stopping": "best checkpoint: simulated loss over epochs is non-increasing "
                          "(learned quanta stay learned), so it is the final one",
        "transfer": "A, A_D (exposures/examples per subtask) and C (parameters per "
                    "quantum) are used as calibrated on the small task; only exponents "
                    "are expected to transfer to n_tasks = 500, n = 100"})
    exp = Experiment(NAME, args, cfg)
    runs = {a: sweep_alpha(a, cfg, law, data, float(cal["C"])) for a in cfg["alphas"]}
    alphas = cfg["alphas"]

    def col(key: str, sign: float = 1.0) -> list[float]:
        return [sign * runs[a]["fits"][key].exponent for a in alphas]

    results = {
        "alpha": alphas,
        "alpha_N": col("alpha_N"),
        "alpha_S": col("alpha_S"),
        "alpha_D": col("alpha_D"),
        "n_vs_D_exponent": col("n_vs_D", -1.0),
    }
    details: dict[str, Any] = {"ci95": {}, "theory": {}, "theory_calibrated_gamma": {}}
    for key, fkey, sign in (("alpha_N", "alpha_N", 1), ("alpha_S", "alpha_S", 1),
                            ("alpha_D", "alpha_D", 1), ("n_vs_D_exponent", "n_vs_D", -1)):
        details["ci95"][key] = [sorted((sign * runs[a]["fits"][fkey].ci_low,
                                        sign * runs[a]["fits"][fkey].ci_high))
                                for a in alphas]
    al = np.asarray(alphas)
    details["theory"] = {"alpha_N": al, "alpha_S": al / (al + 1), "alpha_D": al / (al + 1),
                         "n_vs_D_exponent": 1 / (al + 1)}
    details["theory_calibrated_gamma"] = {
        "alpha_S": al / ((al + 1) * (1 + law.gamma)),
        "alpha_D": al / ((al + 1) * (1 + data.gamma_D)),
        "n_vs_D_exponent": 1 / ((al + 1) * (1 + data.gamma_D))}
    details["fit_ranges"] = {"N": [runs[alphas[0]]["n_of_w"][0], runs[alphas[0]]["n_of_w"][-1]],
                             "S": cfg["s_range"],
                             "D": [cfg["dataset_sizes"][0], cfg["dataset_sizes"][-1]]}
    details["finite_K_closed_form"] = {
        key: [runs[a]["reference"][fkey] for a in alphas]
        for key, fkey in (("alpha_N", "alpha_N"), ("alpha_S", "alpha_S"),
                          ("alpha_D", "alpha_D"), ("n_vs_D_exponent", "n_vs_D"))}
    details["calibration_source"] = source

    fig = make_figure(cfg, runs, results, details)
    paths = exp.save(fig, results)
    add_top_level(paths[-1], results, details)
    print(f"parameters: {source}")
    print(f"  gamma = {law.gamma:.3f}, log10 A = {law.log10_A:.2f}, sigma = {law.sigma:.2f} "
          f"({law.noise}), C = {float(cal['C']):.0f}, log10 A_D = {data.log10_A_D:.2f}, "
          f"gamma_D = {data.gamma_D:.3f}, sigma_D = {data.sigma_D:.2f}")
    print(" alpha | alpha_N (th) | alpha_S (th, th_γ) | alpha_D (th, th_γD) | n~D^e (th)")
    th, thg = details["theory"], details["theory_calibrated_gamma"]
    for i, a in enumerate(alphas):
        print(f"  {a:.1f}  | {results['alpha_N'][i]:.3f} ({th['alpha_N'][i]:.3f}) | "
              f"{results['alpha_S'][i]:.3f} ({th['alpha_S'][i]:.3f}, "
              f"{thg['alpha_S'][i]:.3f}) | {results['alpha_D'][i]:.3f} "
              f"({th['alpha_D'][i]:.3f}, {thg['alpha_D'][i]:.3f}) | "
              f"{results['n_vs_D_exponent'][i]:.3f} ({th['n_vs_D_exponent'][i]:.3f})")


def add_top_level(path: Path, results: dict[str, Any], details: dict[str, Any]) -> None:
    """Copy the result keys to the top level of the JSON (and add the CIs), atomically."""
    from _common import _jsonable

    payload = json.loads(path.read_text())
    for key in RESULT_KEYS:
        payload[key] = payload["results"][key]
    payload["details"] = _jsonable(details)
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump(payload, fh, indent=1)
        fh.write("\n")


def make_figure(cfg, runs, results, details):
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter

    plots.use_style()
    alphas = cfg["alphas"]
    fig, axes = plt.subplots(2, 4, figsize=(7.2, 5.0))
    colors = {a: plots.PALETTE[i % len(plots.PALETTE)] for i, a in enumerate(alphas)}
    sizes = np.asarray(cfg["dataset_sizes"], dtype=float)
    for a in alphas:
        r = runs[a]
        for ax, x, y in ((axes[0, 0], r["n_of_w"], r["loss_n"]),
                         (axes[0, 1], r["ckpt"].astype(float), r["loss_s"]),
                         (axes[0, 2], sizes, r["loss_d"]), (axes[0, 3], sizes, r["n_d"])):
            err = sem(y)  # NaN for one run: no band
            mean = np.where(y.mean(0) > 0, y.mean(0), np.nan)  # log axes: hide zeros
            # A band through 0 cannot be drawn on log axes: floor its lower edge at mean/20.
            ax.plot(x, mean, color=colors[a], lw=1.0)
            ax.fill_between(x, np.maximum(mean - plots.Z95 * err, mean / 20),
                            mean + plots.Z95 * err, color=colors[a], alpha=0.25, lw=0)
    labels = [("parameters N = 603·w + 2", "loss (bits)", "L vs N (at 10^5 steps)"),
              ("steps S (widest model)", "loss (bits)", "L vs S (B = 20 000)"),
              ("training-set size D (samples)", "best-checkpoint loss (bits)", "L vs D"),
              ("training-set size D (samples)", "subtasks learned n", "n vs D")]
    for ax, (xl, yl, title) in zip(axes[0], labels, strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(title)
    axes[0, 1].axvspan(*cfg["s_range"], color="0.88", lw=0, zorder=0)
    axes[0, 1].text(math.sqrt(cfg["s_range"][0] * cfg["s_range"][1]), 1.6e-3, "fit range",
                    ha="center", fontsize=6, color="0.35")
    axes[0, 1].set_ylim(1e-3, 1.5)
    axes[0, 3].set_ylim(bottom=0.05)
    handles = [Line2D([], [], color=colors[a], label=f"α = {a}") for a in alphas]
    fig.legend(handles=handles, ncol=len(alphas), loc="upper center",
               bbox_to_anchor=(0.5, 0.955), fontsize=6)
    al = np.asarray(alphas)
    grid = np.linspace(al.min() - 0.02, al.max() + 0.02, 100)
    theory = {"alpha_N": grid, "alpha_S": grid / (grid + 1), "alpha_D": grid / (grid + 1),
              "n_vs_D_exponent": 1 / (grid + 1)}
    params = cfg["parameters"]
    corrected = {"alpha_S": theory["alpha_S"] / (1 + params["gamma"]),
                 "alpha_D": theory["alpha_D"] / (1 + params["gamma_D"]),
                 "n_vs_D_exponent": theory["n_vs_D_exponent"] / (1 + params["gamma_D"])}
    names = {"alpha_N": "α_N  (theory α)", "alpha_S": "α_S  (theory α/(α+1))",
             "alpha_D": "α_D  (theory α/(α+1))", "n_vs_D_exponent": "n ∝ D^e: e  (theory 1/(α+1))"}
    for ax, key in zip(axes[1], RESULT_KEYS[1:], strict=True):
        ci = np.asarray(details["ci95"][key])
        y = np.asarray(results[key])
        ax.errorbar(al, y, yerr=[y - ci[:, 0], ci[:, 1] - y], fmt="o", ms=3,
                    color=plots.PALETTE[0], capsize=2, lw=0.8)
        ax.plot(al, np.asarray(details["finite_K_closed_form"][key]), "x", ms=4,
                color=plots.PALETTE[1])
        plots.theory_line(ax, grid, theory[key])
        if key in corrected:
            ax.plot(grid, corrected[key], color="0.45", ls="-.", lw=1.0)
        ax.set_xlabel("α  (p_k ∝ k^−(α+1))")
        ax.set_ylabel(names[key])
    g_text = f"γ = {params['gamma']:.2f} (S), γ_D = {params['gamma_D']:.2f} (D)"
    legend = [
        Line2D([], [], color=plots.PALETTE[0], marker="o", ms=3, ls="none",
               label="simulation, fitted exponent (95 % CI)"),
        Line2D([], [], color=plots.PALETTE[1], marker="x", ms=4, ls="none",
               label="same model, noise-free closed form, K = 500"),
        Line2D([], [], color="black", ls="--", lw=1.0, label="asymptotic theory (K = ∞)"),
        Line2D([], [], color="0.45", ls="-.", lw=1.0, label=f"theory with calibrated {g_text}"),
    ]
    fig.legend(handles=legend, ncol=2, loc="lower center", bbox_to_anchor=(0.5, 0.0),
               fontsize=6)
    fig.suptitle("Calibrated simulator in the paper's sparse-parity settings (K = 500): "
                 "fitted exponents vs theory", fontsize=8, y=0.995)
    fig.tight_layout(rect=(0, 0.07, 1, 0.93))
    return fig


if __name__ == "__main__":
    main()
