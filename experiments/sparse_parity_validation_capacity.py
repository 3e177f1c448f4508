"""Second held-out test: linear vs sublinear capacity, both predicted before training.

The first validation (sparse_parity_validation) found the simulator's α_N too steep and
traced it to capacity: networks hold more subtasks at small widths than n = w/C. The
calibration networks alone give a sublinear law n = (w/c)^β (results.transfer.
capacity_power). That law was chosen *after* seeing the first validation, so this script
tests it blind on a new setting no network has used: K = 64 subtasks, n = 40 task bits,
k = 3, task seed 9, B = 1000, α ∈ {0.3, 0.7}, 2·10⁴ steps, widths
int(2^linspace(log2 10, log2 256, 8)) × seeds 0, 1 (the paper's protocol scaled as in the
first validation: α_N at the last step, α_S on [100, 3000) at width 256; no dataset runs).

Order: settings checked; both simulators' predictions (``linear`` = the registered model
of the first validation, ``power`` = the sublinear capacity) computed from
figures/sparse_parity_calibration.json alone, with 95 % intervals over parametric draws
of the calibration; then the networks are trained and fitted with the same protocol.
Quick mode: a tiny setting, the same pipeline in seconds.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import math  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sparse_parity_validation as first  # noqa: E402

from simquanta import plots  # noqa: E402
from simquanta.sparse_parity import n_params  # noqa: E402
from simquanta.sparse_parity.mlp import log_spaced_steps  # noqa: E402
from simquanta.sparse_parity.predict import simulate_online_loss, transferred  # noqa: E402
from simquanta.sparse_parity.protocol import (  # noqa: E402
    Protocol,
    fit_protocol,
)

from _common import FIGURES, Experiment, parse_args  # noqa: E402

NAME = "sparse_parity_validation_capacity"
MODELS = ("linear", "power")
EXPONENTS = ("alpha_N", "alpha_S")

CONFIGS: dict[str, dict[str, Any]] = {
    "full": {
        "n_tasks": 64, "n_bits": 40, "k": 3, "alphas": [0.3, 0.7], "offset": 0.0,
        "task_seed": 9, "batch_size": 1000, "steps": 20_000, "log_steps": 80, "lr": 1e-3,
        "weight_decay": 0.0, "width_range": [10, 256], "n_widths": 8, "seeds": [0, 1],
        "dataset_sizes": [10_000, 100_000], "data_width": 256, "data_seeds": [],
        "patience": 20, "min_steps": 4000, "test_points": 8000, "test_per_task": 200,
        "test_seed": 24680, "sim_agents": 40, "sim_seed": 29, "calibration_draws": 60,
        "draw_agents": 10, "n_boot": 500,
    },
    "quick": {
        "n_tasks": 12, "n_bits": 16, "k": 3, "alphas": [0.7], "offset": 0.0, "task_seed": 9,
        "batch_size": 500, "steps": 1500, "log_steps": 25, "lr": 1e-3, "weight_decay": 0.0,
        "width_range": [8, 32], "n_widths": 3, "seeds": [0, 1],
        "dataset_sizes": [500, 3000], "data_width": 32, "data_seeds": [], "patience": 10,
        "min_steps": 600, "test_points": 2000, "test_per_task": 100, "test_seed": 24680,
        "sim_agents": 6, "sim_seed": 29, "calibration_draws": 6, "draw_agents": 3,
        "n_boot": 50,
    },
}


def simulate(cal, cfg, proto, alpha, grid, agents, seed) -> dict[str, np.ndarray]:
    p = first.make_task(cfg, alpha).p
    online = simulate_online_loss(cal, p, proto.widths, cfg["steps"], grid[1:],
                                  agents=agents, seed=seed)
    return {"N": online[:, :, -1], "S": online[:, -1, :]}


def predictions(cfg, proto, section, grid, n_par) -> dict[str, dict[float, Any]]:
    setting = {f: cfg[f] for f in ("n_tasks", "n_bits", "batch_size")}
    out: dict[str, dict[float, Any]] = {}
    for m, model in enumerate(MODELS):
        point = transferred(section, setting, capacity=model)
        rng = np.random.default_rng(cfg["sim_seed"] + m)
        draws = [transferred(section, setting, rng, capacity=model)
                 for _ in range(cfg["calibration_draws"])]
        out[model] = {}
        for i, alpha in enumerate(cfg["alphas"]):
            seed = cfg["sim_seed"] + 100 * i
            loss = simulate(point, cfg, proto, alpha, grid, cfg["sim_agents"], seed)
            reps: dict[str, list[float]] = {k: [] for k in EXPONENTS}
            for j, cal in enumerate(draws):
                sim = simulate(cal, cfg, proto, alpha, grid, cfg["draw_agents"],
                               seed + 10_000 * (j + 1))
                for k, f in fit_protocol(proto, n_par, grid[1:], sim, n_boot=0).items():
                    reps[k].append(math.nan if f is None else f.exponent)
            out[model][alpha] = {"loss": loss, "fits": fit_protocol(proto, n_par, grid[1:], loss,
                                                            n_boot=cfg["n_boot"]),
                                 "draws": reps, "parameters": point.to_dict()}
    return out


def _block(src: dict[str, Any], simulated: bool, proto: Protocol, grid: np.ndarray,
           n_par: np.ndarray) -> dict[str, Any]:
    block: dict[str, Any] = {}
    for k in EXPONENTS:
        f = src["fits"][k]
        if f is None:
            block[k] = {"value": None, "ci95": None}
            continue
        if simulated:
            r = np.asarray(src["draws"][k], dtype=float)
            r = r[np.isfinite(r)]
            ci = ([float(np.quantile(r, 0.025)), float(np.quantile(r, 0.975))]
                  if r.size >= 2 else [math.nan, math.nan])
        else:
            ci = list(f.ci)
        block[k] = {"value": f.exponent, "ci95": ci}
    block["curves"] = {"N": {"width": list(proto.widths), "n_params": n_par,
                             "loss": src["loss"]["N"].mean(0)},
                       "S": {"step": grid[1:], "loss": src["loss"]["S"].mean(0)}}
    return block


def main(argv: list[str] | None = None) -> None:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = dict(CONFIGS["quick" if args.quick else "full"])
    first.check_config(cfg)
    proto = first.protocol_of(cfg)
    cfg.update({"protocol": proto.to_dict(),
                "calibration_file": "sparse_parity_calibration.json"})
    exp = Experiment(NAME, args, cfg)
    grid = log_spaced_steps(cfg["steps"], cfg["log_steps"])
    n_par = np.array([n_params(cfg["n_tasks"], cfg["n_bits"], w) for w in proto.widths], float)

    # predictions from the calibration file alone, before any network is trained
    section = first.load_calibration(FIGURES / "sparse_parity_calibration.json")["transfer"]
    pred = predictions(cfg, proto, section, grid, n_par)

    logs, train_wall = first.train_all(cfg, proto)
    net = {}
    for alpha in cfg["alphas"]:
        last = np.array([[logs[(alpha, "online", w, s, None)].test_loss[-1]
                          for w in proto.widths] for s in proto.seeds])
        curve = np.stack([logs[(alpha, "online", proto.s_width, s, None)].test_loss[1:]
                          for s in proto.seeds])
        loss = {"N": last, "S": curve}
        net[alpha] = {"loss": loss,
                      "fits": fit_protocol(proto, n_par, grid[1:], loss, n_boot=cfg["n_boot"])}

    heldout = []
    for alpha in cfg["alphas"]:
        entry: dict[str, Any] = {"alpha": alpha,
                                 "network": _block(net[alpha], False, proto, grid, n_par)}
        for model in MODELS:
            entry[f"simulator_{model}"] = _block(pred[model][alpha], True, proto, grid, n_par)
        entry["difference"] = {
            model: {k: (None if entry[f"simulator_{model}"][k]["value"] is None
                        or entry["network"][k]["value"] is None
                        else entry[f"simulator_{model}"][k]["value"]
                        - entry["network"][k]["value"]) for k in EXPONENTS}
            for model in MODELS}
        heldout.append(entry)
    results = {
        "heldout": heldout,
        "models": {"linear": "n = w/C (the first validation's registered model)",
                   "power": "n = (w/c)^beta, pooled calibration fit, chosen after the first "
                            "validation; blind here"},
        "parameters": {m: pred[m][cfg["alphas"][0]]["parameters"] for m in MODELS},
        "training_wall_seconds": train_wall,
    }
    fig = make_figure(cfg, proto, grid, n_par, net, pred, heldout)
    exp.save(fig, results)
    for e in heldout:
        print(f"alpha = {e['alpha']}: " + "; ".join(
            f"{k}: net {first._fmt(e['network'][k])}, linear "
            f"{first._fmt(e['simulator_linear'][k])}, power "
            f"{first._fmt(e['simulator_power'][k])}" for k in EXPONENTS))


def make_figure(cfg, proto, grid, n_par, net, pred, heldout):
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter

    plots.use_style()
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 5.6))
    alphas = cfg["alphas"]
    colors = {a: plots.PALETTE[i % len(plots.PALETTE)] for i, a in enumerate(alphas)}
    styles = {"linear": ":", "power": "-"}
    steps = grid[1:].astype(float)
    for a in alphas:
        for ax, key, x in ((axes[0, 0], "N", n_par), (axes[0, 1], "S", steps)):
            for model in MODELS:
                y = pred[model][a]["loss"][key]
                ax.plot(x, y.mean(0), color=colors[a], ls=styles[model], lw=1.0)
            ax.plot(x, net[a]["loss"][key].mean(0), "o", ms=2.5, mfc="none", mew=0.7,
                    color=colors[a])
    axes[0, 1].axvspan(*proto.s_window, color="0.9", lw=0, zorder=0)
    for ax, xl, title in ((axes[0, 0], "parameters N", f"(a) L vs N at {cfg['steps']:,} steps"),
                          (axes[0, 1], "optimizer steps S",
                           f"(b) L vs S, w = {proto.s_width} (shaded: fit window)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(xl)
        ax.set_ylabel("held-out loss (bits)")
        ax.set_title(title, loc="left", fontsize=7)
    al = np.asarray(alphas, dtype=float)
    g = np.linspace(al.min() - 0.05, al.max() + 0.05, 50)
    theory = {"alpha_N": g, "alpha_S": g / (g + 1)}
    marks = (("network", -0.015, "o", "0.15"),
             ("simulator_linear", 0.0, "v", plots.PALETTE[4]),
             ("simulator_power", 0.015, "s", plots.PALETTE[2]))
    for ax, k, letter in ((axes[1, 0], "alpha_N", "c"), (axes[1, 1], "alpha_S", "d")):
        for who, dx, marker, color in marks:
            for e in heldout:
                v, ci = e[who][k]["value"], e[who][k]["ci95"]
                if v is None:
                    continue
                ax.errorbar([e["alpha"] + dx], [v],
                            yerr=[[max(v - ci[0], 0)], [max(ci[1] - v, 0)]], fmt=marker,
                            ms=3.5, color=color, capsize=2, lw=0.8)
        plots.theory_line(ax, g, theory[k])
        ax.set_xlabel("α  (p_k ∝ k^−(α+1))")
        ax.set_ylabel(k.replace("alpha_", "α_"))
        ax.set_title(f"({letter}) {k.replace('alpha_', 'α_')}: networks vs both simulators",
                     loc="left", fontsize=7)
    handles = [Line2D([], [], color=colors[a], label=f"α = {a}") for a in alphas]
    handles += [Line2D([], [], color="0.3", marker="o", mfc="none", ls="none",
                       label="networks (mean of seeds)"),
                Line2D([], [], color="0.3", ls=":", label="simulator, capacity w/C"),
                Line2D([], [], color="0.3", ls="-", label="simulator, capacity (w/c)^β")]
    handles += [Line2D([], [], color=c, marker=mk, ls="none", label=lab) for lab, mk, c in (
        ("network exponent (95 % CI)", "o", "0.15"),
        ("linear-capacity simulator (95 % CI incl. calibration)", "v", plots.PALETTE[4]),
        ("sublinear-capacity simulator (95 % CI incl. calibration)", "s", plots.PALETTE[2]))]
    handles.append(Line2D([], [], color="black", ls="--", label="theory α, α/(α+1)"))
    fig.legend(handles=handles, ncol=3, loc="lower center", fontsize=5.5)
    fig.suptitle(f"Second held-out setting (K = {cfg['n_tasks']}, n = {cfg['n_bits']}, "
                 f"B = {cfg['batch_size']}): both simulators predicted from the calibration "
                 "alone before training;\nthe sublinear capacity (w/c)^β was chosen after the "
                 "first validation and is tested blind here", fontsize=7)
    fig.tight_layout(rect=(0, 0.13, 1, 0.94))
    return fig


if __name__ == "__main__":
    main()
