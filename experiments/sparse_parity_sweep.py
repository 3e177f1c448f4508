"""Scaling exponents of the transferred simulator in the paper's sparse-parity settings.

Simulation only (events engine). Every parameter comes from the calibration's transfer
laws (figures/sparse_parity_calibration.json, ``results.transfer``; fitted on networks
with K = 32–128 subtasks, n = 16–64 task bits, B = 500–2000) evaluated at the paper's
setting K = 500, n = 100, B = 20 000 (simquanta.sparse_parity.predict): step law A, γ, σ,
capacity per neuron or per parameter (whichever the study found constant), the width
speed law (1 + n0/w)^κ and the data threshold A_D, γ_D, σ_D. These are extrapolations
(n, K and B lie outside the calibrated ranges); the CIs carry the laws' uncertainty.

Protocol (simquanta.sparse_parity.protocol.PAPER, the paper's repository):
- α_N: 20 widths int(2^linspace(log2 10, log2 300, 20)), N = 603·w + 2, loss at step 10⁵;
- α_S: steps 500 ≤ S < 15 000 at width 300;
- α_D: width 500, D = 10⁴ … 5·10⁶ (25 log-spaced), early stopping (the simulator's loss
  never rises, so the best checkpoint is the last), from the first D below 0.95 bits.
α ∈ {0.1, …, 0.8}; agents stand in for the paper's seeds.

Uncertainty: each exponent's 95 % interval is the percentile interval over parametric
draws of the calibration (every transfer law drawn from its normal; each draw simulated
with a few agents and fitted with the protocol), so it holds both the calibration's and
the simulation's uncertainty. Controls: the same model noise-free (every threshold at its
median, Poisson noise ignored) at K = 500 and at K = ∞ (Zipf normalised by ζ(α+1), the
unreachable tail beyond 10⁶ counted unlearned): their difference is the finite-K effect.
``curves`` holds the predicted mean loss (bits) at every width, step and D of the protocol.
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
from scipy import special  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simquanta import plots  # noqa: E402
from simquanta.analysis.theory import zipf_frequencies  # noqa: E402
from simquanta.files import atomic_path  # noqa: E402
from simquanta.sparse_parity.predict import (  # noqa: E402
    TransferredCalibration,
    simulate_dataset_loss,
    simulate_online_loss,
    transferred,
)
from simquanta.sparse_parity.protocol import (  # noqa: E402
    PAPER,
    Protocol,
    fit_protocol,
)

from _common import FIGURES, Experiment, _jsonable, parse_args  # noqa: E402

NAME = "sparse_parity_sweep"
RESULT_KEYS = ("alpha", "alpha_N", "alpha_S", "alpha_D")
EXPONENTS = RESULT_KEYS[1:]
#: quanta kept explicitly in the K = ∞ control (the rest of the tail is never learned)
K_INF_EXPLICIT = 1_000_000

CONFIGS: dict[str, dict[str, Any]] = {
    "full": {
        "n_tasks": 500, "n_bits": 100, "batch_size": 20_000,
        "alphas": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], "step_checkpoints": 60,
        "agents": 20, "calibration_draws": 100, "draw_agents": 5, "seed": 11, "n_boot": 500,
        "protocol": "paper",
    },
    "quick": {
        "n_tasks": 500, "n_bits": 100, "batch_size": 20_000, "alphas": [0.2, 0.8],
        "step_checkpoints": 25, "agents": 3, "calibration_draws": 10, "draw_agents": 2,
        "seed": 11, "n_boot": 20, "protocol": "paper, 5 widths, 6 dataset sizes",
    },
}


def protocol_of(cfg: dict[str, Any], quick: bool) -> Protocol:
    if not quick:
        return PAPER
    return PAPER.scaled(widths=(10, 300), n_widths=5, steps=PAPER.steps,
                        dataset_sizes=np.geomspace(1e4, 5e6, 6).astype(int).tolist(),
                        d_width=PAPER.d_width)


def load_transfer() -> tuple[dict[str, Any], str]:
    path = FIGURES / "sparse_parity_calibration.json"
    payload = json.loads(path.read_text())
    section = payload.get("results", {}).get("transfer")
    if payload.get("mode") != "full" or not section:
        raise ValueError(f"calibration = {path} is invalid: needs a full-mode "
                         "sparse_parity_calibration.json with results.transfer")
    return section, f"transfer laws of {path.name} (full mode, figures/)"


def n_params_paper(cfg: dict[str, Any], widths) -> np.ndarray:
    w = np.asarray(widths, dtype=float)
    return (cfg["n_tasks"] + cfg["n_bits"] + 3) * w + 2


def simulate_alpha(cal: TransferredCalibration, cfg: dict[str, Any], proto: Protocol,
                   alpha: float, ckpt: np.ndarray, agents: int,
                   seed: int) -> dict[str, np.ndarray]:
    """Simulated losses on the protocol: N (agents × widths at the last step), S (agents ×
    checkpoints at s_width) and D (agents × sizes, early-stopped, at d_width)."""
    p = zipf_frequencies(cfg["n_tasks"], alpha)
    widths = list(proto.widths)
    online = simulate_online_loss(cal, p, widths, proto.steps, ckpt, agents=agents, seed=seed)
    s_col = widths.index(proto.s_width)
    data = simulate_dataset_loss(cal, p, proto.dataset_sizes, proto.d_width, proto.steps,
                                 agents=agents, seed=seed + 1)
    return {"N": online[:, :, -1], "S": online[:, s_col, :], "D": data}


def closed_form(cal: TransferredCalibration, alpha: float, proto: Protocol, ckpt: np.ndarray,
                k_max: int | None, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
    """Noise-free losses: quantum k is learned by step S at width w iff k ≤ ⌊n(w)⌋ and its
    median exposures τ_k f(w) ≤ B p_k S, and from a training set of D iff also
    D p_k ≥ A_D p_k^−γ_D. ``k_max`` None: K = cfg n_tasks (Zipf over K); else K = ∞, with
    p_k = k^−(α+1)/ζ(α+1) for k ≤ k_max and the rest of the tail counted unlearned."""
    if k_max is None:
        p = zipf_frequencies(cfg["n_tasks"], alpha)
        tail = 0.0
    else:
        k = np.arange(1, k_max + 1, dtype=float)
        p = k ** -(alpha + 1) / special.zeta(alpha + 1)
        tail = max(0.0, 1.0 - float(p.sum()))
    rank = np.arange(1, p.size + 1)
    tau = cal.tau(p)
    b = cal.batch_size

    def loss(width: int, steps: float, d: float = math.inf) -> float:
        ok = (rank <= math.floor(cal.capacity(width) + 1e-9)) & \
             (tau * cal.speed(width) <= b * p * steps)
        if math.isfinite(d):
            ok &= d * p >= cal.tau_data(p)
        return float(p @ ~ok) + tail

    return {"N": np.array([[loss(w, proto.steps) for w in proto.widths]]),
            "S": np.array([[loss(proto.s_width, s) for s in ckpt]]),
            "D": np.array([[loss(proto.d_width, proto.steps, d) for d in proto.dataset_sizes]])}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = dict(CONFIGS["quick" if args.quick else "full"])
    proto = protocol_of(cfg, args.quick)
    section, source = load_transfer()
    setting = {f: cfg[f] for f in ("n_tasks", "n_bits", "batch_size")}
    point = transferred(section, setting)
    rng = np.random.default_rng(cfg["seed"])
    draws = [transferred(section, setting, rng) for _ in range(cfg["calibration_draws"])]
    cfg.update({"calibration_source": source, "protocol_windows": proto.to_dict(),
                "parameters": point.to_dict()})
    exp = Experiment(NAME, args, cfg)
    ckpt = np.unique(np.round(np.geomspace(1, proto.steps, cfg["step_checkpoints"]))
                     .astype(np.int64))
    ckpt = np.unique(np.concatenate([ckpt, [proto.steps]]))
    n_par = n_params_paper(cfg, proto.widths)
    alphas = cfg["alphas"]

    runs: dict[float, dict[str, Any]] = {}
    for i, alpha in enumerate(alphas):
        seed = cfg["seed"] + 1000 * i
        loss = simulate_alpha(point, cfg, proto, alpha, ckpt, cfg["agents"], seed)
        fits = fit_protocol(proto, n_par, ckpt, loss, n_boot=cfg["n_boot"])
        reps: dict[str, list[float]] = {k: [] for k in EXPONENTS}
        for j, cal in enumerate(draws):
            sim = simulate_alpha(cal, cfg, proto, alpha, ckpt, cfg["draw_agents"],
                                 seed + 100_000 * (j + 1))
            for k, f in fit_protocol(proto, n_par, ckpt, sim, n_boot=0).items():
                reps[k].append(math.nan if f is None else f.exponent)
        controls = {}
        for name, k_max in (("K500", None), ("K_inf", K_INF_EXPLICIT)):
            cf = closed_form(point, alpha, proto, ckpt, k_max, cfg)
            controls[name] = {k: (None if f is None else f.exponent)
                              for k, f in fit_protocol(proto, n_par, ckpt, cf, n_boot=0).items()}
            controls[name]["loss"] = cf
        runs[alpha] = {"loss": loss, "fits": fits, "draws": reps, "controls": controls}

    def value(a: float, k: str) -> float | None:
        f = runs[a]["fits"][k]
        return None if f is None else f.exponent

    def ci(a: float, k: str) -> list[float]:
        r = np.asarray(runs[a]["draws"][k], dtype=float)
        r = r[np.isfinite(r)]
        return [float(np.quantile(r, 0.025)), float(np.quantile(r, 0.975))] if r.size >= 2 \
            else [math.nan, math.nan]

    results = {"alpha": alphas, **{k: [value(a, k) for a in alphas] for k in EXPONENTS}}
    al = np.asarray(alphas, dtype=float)
    details = {
        "ci95": {k: [ci(a, k) for a in alphas] for k in EXPONENTS},
        "ci95_simulation_only": {k: [list(runs[a]["fits"][k].ci) if runs[a]["fits"][k]
                                     else None for a in alphas] for k in EXPONENTS},
        "theory": {"alpha_N": al, "alpha_S": al / (al + 1), "alpha_D": al / (al + 1)},
        "closed_form_K500": {k: [runs[a]["controls"]["K500"][k] for a in alphas]
                             for k in EXPONENTS},
        "closed_form_K_inf": {k: [runs[a]["controls"]["K_inf"][k] for a in alphas]
                              for k in EXPONENTS},
        "calibration_source": source,
        # draws whose simulated loss does not fall at all (exponent ≈ 0): typically a
        # drawn speed law (n0, κ extrapolated to B = 20 000) that stops all learning
        "draws_flat_fraction": {k: [float(np.mean(np.abs(np.nan_to_num(
            np.asarray(runs[a]["draws"][k], dtype=float), nan=0.0)) < 0.01)) for a in alphas]
            for k in EXPONENTS},
        "uncertainty": f"percentile 95 % over {len(draws)} parametric draws of the "
                       f"transfer laws, {cfg['draw_agents']} simulated agents per draw",
    }
    curves = {
        "N": {f"{a:g}": {"width": list(proto.widths), "loss": runs[a]["loss"]["N"].mean(0)}
              for a in alphas},
        "S": {f"{a:g}": {"step": ckpt, "loss": runs[a]["loss"]["S"].mean(0)} for a in alphas},
        "D": {f"{a:g}": {"D": list(proto.dataset_sizes), "loss": runs[a]["loss"]["D"].mean(0)}
              for a in alphas},
    }
    results["curves"] = curves
    fig = make_figure(cfg, proto, n_par, ckpt, runs, results, details)
    paths = exp.save(fig, results)
    add_top_level(paths[-1], details)
    print(f"parameters ({source}): " + ", ".join(f"{k} = {v:.3g}" if isinstance(v, float)
                                                  else f"{k} = {v}"
                                                  for k, v in point.to_dict().items()))
    print(" alpha | alpha_N [CI] (K500, K_inf) | alpha_S [CI] (K500, K_inf) | alpha_D ...")
    for i, a in enumerate(alphas):
        row = []
        for k in EXPONENTS:
            v = results[k][i]
            lo, hi = details["ci95"][k][i]
            c5, ci_ = details["closed_form_K500"][k][i], details["closed_form_K_inf"][k][i]
            row.append(f"{_f(v)} [{_f(lo)}, {_f(hi)}] ({_f(c5)}, {_f(ci_)})")
        print(f"  {a:.1f}  | " + " | ".join(row))


def _f(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.3f}"


def add_top_level(path: Path, details: dict[str, Any]) -> None:
    """Copy the result keys and ``curves`` to the top level of the JSON, add the CIs and
    controls (``details``), atomically."""
    payload = json.loads(path.read_text())
    for key in (*RESULT_KEYS, "curves"):
        payload[key] = payload["results"][key]
    payload["details"] = _jsonable(details)
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump(payload, fh, indent=1)
        fh.write("\n")


def make_figure(cfg, proto, n_par, ckpt, runs, results, details):
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    plots.use_style()
    alphas = cfg["alphas"]
    fig, axes = plt.subplots(2, 3, figsize=(7.2, 5.0))
    colors = {a: plots.PALETTE[i % len(plots.PALETTE)] for i, a in enumerate(alphas)}
    sizes = np.asarray(proto.dataset_sizes, dtype=float)
    for a in alphas:
        r = runs[a]
        for ax, key, x in ((axes[0, 0], "N", n_par), (axes[0, 1], "S", ckpt.astype(float)),
                           (axes[0, 2], "D", sizes)):
            y = r["loss"][key]
            mean = y.mean(0)
            lo, hi = np.quantile(y, [0.025, 0.975], axis=0)
            ax.plot(x, mean, color=colors[a], lw=1.0)
            ax.fill_between(x, np.maximum(lo, mean / 20), np.maximum(hi, mean / 20),
                            color=colors[a], alpha=0.2, lw=0)
            ax.plot(x, r["controls"]["K_inf"]["loss"][key][0], color=colors[a], lw=0.7,
                    ls=":")
    labels = [("parameters N = 603·w + 2", f"(a) L vs N at {proto.steps:,} steps"),
              ("steps S", f"(b) L vs S, w = {proto.s_width} (shaded: fit window)"),
              ("training-set size D", f"(c) L vs D, w = {proto.d_width}, early stopping")]
    for ax, (xl, title) in zip(axes[0], labels, strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel("loss (bits)")
        ax.set_title(title, loc="left", fontsize=7)
    axes[0, 1].axvspan(*proto.s_window, color="0.9", lw=0, zorder=0)
    al = np.asarray(alphas, dtype=float)
    grid = np.linspace(al.min() - 0.02, al.max() + 0.02, 100)
    theory = {"alpha_N": grid, "alpha_S": grid / (grid + 1), "alpha_D": grid / (grid + 1)}
    for ax, key, letter in zip(axes[1], EXPONENTS, "def", strict=True):
        y = np.array([np.nan if v is None else v for v in results[key]], dtype=float)
        ci = np.asarray(details["ci95"][key], dtype=float)
        ax.errorbar(al, y, yerr=[np.maximum(y - ci[:, 0], 0), np.maximum(ci[:, 1] - y, 0)],
                    fmt="o", ms=3, color=plots.PALETTE[0], capsize=2, lw=0.8)
        for name, marker, color in (("closed_form_K500", "x", plots.PALETTE[1]),
                                    ("closed_form_K_inf", "+", plots.PALETTE[3])):
            v = np.array([np.nan if x is None else x for x in details[name][key]], float)
            ax.plot(al, v, marker, ms=5, color=color, ls="none")
        plots.theory_line(ax, grid, theory[key])
        ax.set_xlabel("α  (p_k ∝ k^−(α+1))")
        ax.set_ylabel(key.replace("alpha_", "α_"))
        ax.set_title(f"({letter}) {key.replace('alpha_', 'α_')} (paper's fit window)",
                     loc="left", fontsize=7)
    handles = [Line2D([], [], color=colors[a], label=f"α = {a}") for a in alphas]
    handles += [
        Line2D([], [], color="0.3", lw=1.0, label="simulator, K = 500 (mean, 95 % of agents)"),
        Line2D([], [], color="0.3", lw=0.7, ls=":", label="noise-free model, K = ∞"),
        Line2D([], [], color=plots.PALETTE[0], marker="o", ms=3, ls="none",
               label="simulator exponent (95 % CI incl. calibration)"),
        Line2D([], [], color=plots.PALETTE[1], marker="x", ls="none",
               label="noise-free model, K = 500"),
        Line2D([], [], color=plots.PALETTE[3], marker="+", ls="none",
               label="noise-free model, K = ∞"),
        Line2D([], [], color="black", ls="--", label="theory α, α/(α+1) (K = ∞)")]
    fig.legend(handles=handles, ncol=4, loc="lower center", fontsize=5.5)
    fig.suptitle("Simulator in the paper's sparse-parity settings (K = 500, n = 100, "
                 "B = 20 000), every parameter extrapolated\nby the transfer laws fitted on "
                 "K = 32–128, n = 16–64, B = 500–2000 networks (α = 0.4); paper's fit windows",
                 fontsize=7)
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    return fig


if __name__ == "__main__":
    main()
