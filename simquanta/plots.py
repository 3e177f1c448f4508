"""One figure style for simquanta: Okabe–Ito colors, labeled log axes, dashed theory,
95 % confidence bands, sized for a paper column."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Okabe & Ito (2008) colorblind-safe palette
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000"]
COLUMN_WIDTH_IN = 3.4
Z95 = 1.959963984540054

STYLE = {
    "figure.figsize": (COLUMN_WIDTH_IN, 2.6),
    "figure.dpi": 150,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.prop_cycle": None,  # filled in by use_style
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.4,
    "legend.frameon": False,
}


def use_style() -> None:
    """Apply the simquanta style to matplotlib (headless backend if none is chosen)."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "cairo"):
        matplotlib.use("Agg")
    from cycler import cycler

    style = dict(STYLE)
    style["axes.prop_cycle"] = cycler(color=PALETTE)
    matplotlib.rcParams.update(style)


def band(ax, x, mean, sem, *, color, label=None, band_alpha=0.25, **kwargs):
    """Mean line (``kwargs`` go to the line) with a shaded 95 % confidence band
    (mean ± 1.96 SEM, opacity ``band_alpha``)."""
    ax.plot(x, mean, color=color, label=label, **kwargs)
    ax.fill_between(x, mean - Z95 * sem, mean + Z95 * sem, color=color, alpha=band_alpha,
                    lw=0)


def theory_line(ax, x, y, *, color="black", label="theory", lw=1.0, **kwargs):
    """Theory overlays are always dashed."""
    ax.plot(x, y, color=color, ls="--", lw=lw, label=label, **kwargs)


def save(fig, path: str | Path, *, formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Save a figure in each format next to ``path`` (suffix replaced); returns the paths."""
    import matplotlib.pyplot as plt

    from .files import atomic_path

    path = Path(path)
    written = []
    for fmt in formats:
        target = path.with_suffix("." + fmt)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt)
        written.append(target)
    plt.close(fig)
    return written


def loss_curve(result, theory: np.ndarray | None = None, *, title: str | None = None):
    """Mean loss over agents vs samples seen (log–log), 95 % band, theory dashed."""
    import matplotlib.pyplot as plt

    use_style()
    fig, ax = plt.subplots()
    x = result.samples.astype(float)
    band(ax, x, result.loss_mean, result.loss_sem, color=PALETTE[0],
         label=f"simulation ({result.n_agents} agents)")
    if theory is not None:
        theory_line(ax, x, theory, label="closed form")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples seen per agent")
    ax.set_ylabel("loss (bits per sample)")
    cfg = result.config
    ax.set_title(title or f"K = {cfg['n_quanta']}, α = {cfg['alpha']}, τ = {cfg['tau']}, "
                          f"{cfg['acquisition']}, engine = {result.engine}")
    ax.legend()
    return fig
