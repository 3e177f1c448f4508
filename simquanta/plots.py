"""One figure style for simquanta: Okabe–Ito colors, labeled log axes, dashed theory,
95 % confidence bands, sized for a paper column."""

from __future__ import annotations

import functools
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
    """Apply the simquanta style to matplotlib (headless backend if none is chosen; a
    notebook's inline backend is kept)."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    # Notebook backends are kept: IPython 8 reports the inline backend as
    # "module://matplotlib_inline.backend_inline", IPython 9 as "inline".
    notebook = backend.startswith("module://") or backend in ("inline", "ipympl", "widget",
                                                              "nbagg")
    if backend not in ("agg", "pdf", "svg", "cairo") and not notebook:
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


def plan_marks(ax, task, *, color, ms: float = 6.0) -> None:
    """A planned task's floors on capacity × data axes: dotted lines at its capacity floor
    (at least 0.8, so a floor of 0 stays on a log axis) and data floor, an open circle at
    its compute-optimal point (``planner.TaskPlan``; missing ones are skipped)."""
    if task.capacity_floor is not None:
        ax.axvline(max(task.capacity_floor, 0.8), color=color, ls=":", lw=0.8)
    if task.data_floor is not None:
        ax.axhline(task.data_floor, color=color, ls=":", lw=0.8)
    if task.compute_optimal is not None:
        ax.plot(*task.compute_optimal, "o", mfc="none", color=color, ms=ms)


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


# -- Result.plot, the simulate/plot figures and merged sweeps ------------------------------

#: what ``Result.plot(kind=...)`` draws
RESULT_KINDS = ("loss", "learned", "quanta", "agents", "tasks")
#: what ``plot_sweep(kind=...)`` draws
SWEEP_KINDS = ("loss", "learned", "tasks")
#: most single-agent curves ``kind="agents"`` draws, and quanta rows of the heatmap
MAX_AGENT_CURVES = 20
MAX_HEATMAP_QUANTA = 400


def _new_axes(ax, width: float = COLUMN_WIDTH_IN):
    import matplotlib.pyplot as plt

    use_style()
    if ax is None:
        _, ax = plt.subplots(figsize=(width, 2.6))
    return ax


def _simulation_of(result):
    """The Simulation a Result ran, rebuilt from its config (None if it cannot be)."""
    from .config import simulation_from_config

    try:
        return simulation_from_config(result.config, fill_defaults=False)
    except (ValueError, TypeError, KeyError):
        return None


def closed_form_of(result, quantity: str = "loss") -> np.ndarray | None:
    """The closed form of ``quantity`` ("loss" or "learned") at the result's checkpoints
    (Poissonized for the events engine), or None where the model has none."""
    from .analysis.expected import closed_form_learned, closed_form_loss

    sim = _simulation_of(result)
    if sim is None:
        return None
    function = closed_form_loss if quantity == "loss" else closed_form_learned
    try:
        return function(sim, result.samples, poisson=result.engine == "events")
    except ValueError:
        return None


def _title(result) -> str:
    cfg = result.config
    return (f"K = {cfg['n_quanta']}, α = {cfg['alpha']}, τ = {cfg['tau']}, "
            f"{cfg['acquisition']}, engine = {result.engine}")


def _log_x(ax, label: str = "samples seen per agent") -> None:
    ax.set_xscale("log")
    ax.set_xlabel(label)


def _plot_mean(result, ax, quantity: str, theory: bool = True, **kwargs):
    """``quantity`` ("loss" or "learned") averaged over agents, closed form dashed."""
    x = result.samples.astype(float)
    mean, err = ((result.loss_mean, result.loss_sem) if quantity == "loss"
                 else (result.learned_mean, result.learned_sem))
    band(ax, x, mean, err, color=kwargs.pop("color", PALETTE[0]),
         label=f"simulation ({result.n_agents} agents)", **kwargs)
    expected = closed_form_of(result, quantity) if theory else None
    if expected is not None:
        theory_line(ax, x, expected, label="closed form")
    _log_x(ax)
    ax.set_yscale("log")
    ax.set_ylabel("loss (bits per sample)" if quantity == "loss" else "quanta learned")
    ax.legend()


def _plot_agents(result, ax, max_agents: int = MAX_AGENT_CURVES, **kwargs):
    x = result.samples.astype(float)
    shown = min(result.n_agents, max_agents)
    for i in range(shown):
        ax.plot(x, result.loss[i], color="0.55", lw=0.6, alpha=0.7,
                label="single agents" if i == 0 else None)
    band(ax, x, result.loss_mean, result.loss_sem, color=kwargs.pop("color", PALETTE[0]),
         label=f"mean of {result.n_agents} agents", **kwargs)
    _log_x(ax)
    ax.set_yscale("log")
    ax.set_ylabel("loss (bits per sample)")
    ax.legend(title=None if shown == result.n_agents else f"{shown} of {result.n_agents} "
                                                            "agents drawn")


def _plot_quanta(result, ax, **kwargs):
    try:
        values = result.leaf_values()
    except ValueError as exc:
        raise ValueError("kind = 'quanta' needs per-quantum records: simulate with "
                         "record_learn_steps=True (or a graph)") from exc
    share = np.asarray(values, dtype=float).mean(axis=0)  # [checkpoint, quantum]
    n_k = share.shape[1]
    rows = np.unique(np.geomspace(1, n_k, min(n_k, MAX_HEATMAP_QUANTA)).round().astype(int))
    x = result.samples.astype(float)
    x_edges = np.concatenate([[x[0] / 2 if x.size == 1 else x[0] ** 1.5 / x[1] ** 0.5],
                              np.sqrt(x[:-1] * x[1:]), [x[-1] * (x[-1] / x[-2]) ** 0.5
                                                        if x.size > 1 else x[-1] * 2]])
    y_edges = np.concatenate([[0.5], (rows[:-1] + rows[1:]) / 2, [rows[-1] + 0.5]])
    mesh = ax.pcolormesh(x_edges, y_edges, share[:, rows - 1].T, cmap="viridis", vmin=0,
                         vmax=1, shading="flat", **kwargs)
    ax.figure.colorbar(mesh, ax=ax, label="mean strength" if result.strength is not None
                       else "share of agents that learned it")
    _log_x(ax)
    ax.set_yscale("log")
    ax.set_ylabel("quantum (rank by frequency)")
    ax.grid(False)


def task_bounds(result) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Each task's success with nothing learned and with everything learned (its floor and
    ceiling), from the Result's graph; (None, None) without one."""
    if result.graph is None:
        return None, None
    graph = result.composition_graph()
    k = result.frequencies.size
    names = list(result.task_names)
    values, got = graph.evaluate(np.array([[0.0] * k, [1.0] * k]), all_nodes=True)
    index = [got.index(n) for n in names]
    return values[0, index], values[1, index]


def _plot_tasks(result, ax, **kwargs):
    from .analysis.stats import sem

    if result.task_success is None:
        raise ValueError("kind = 'tasks' needs task success: simulate with graph=G "
                         "(simquanta simulate --graph FILE)")
    x = result.samples.astype(float)
    floor, ceiling = task_bounds(result)
    values = result.task_success
    mean, err = values.mean(axis=0), sem(values)
    for j, name in enumerate(result.task_names):
        label = f"{name} ({_width_text(x, mean[:, j], floor, ceiling, j)})"
        band(ax, x, mean[:, j], err[:, j], color=PALETTE[j % len(PALETTE)], label=label,
             **kwargs)
    _log_x(ax)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("task success")
    ax.legend(title="task (10–90 % width)", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=6, title_fontsize=6)


def _width_text(x, y, floor, ceiling, j) -> str:
    """'0.83 dec' — the curve's 10–90 % width in decades (analysis.emergence), or why not."""
    from .analysis.emergence import transition

    bounds = {} if floor is None else {"floor": float(min(floor[j], ceiling[j])),
                                       "ceiling": float(max(floor[j], ceiling[j]))}
    try:
        width = transition(x, y, **bounds).width_decades
    except ValueError:
        width = float("nan")
    return f"{width:.2f} dec" if np.isfinite(width) else "width n/a"


_RESULT_PLOTS = {"loss": functools.partial(_plot_mean, quantity="loss"),
                 "learned": functools.partial(_plot_mean, quantity="learned"),
                 "quanta": _plot_quanta, "agents": _plot_agents, "tasks": _plot_tasks}


def plot_result(result, kind: str = "loss", *, ax=None, **kwargs):
    """Draw one view of a Result on ``ax`` (a new figure if None); returns the Axes.

    ``kind``: ``loss`` (mean over agents, 95 % band, closed form dashed where the model has
    one; ``theory=False`` leaves it out), ``learned`` (quanta learned, same layout),
    ``quanta`` (share of agents that learned each quantum — or mean strength — per
    checkpoint and quantum rank; needs per-quantum records), ``agents`` (up to
    ``max_agents`` single-agent loss curves beside the mean), ``tasks`` (each
    composition-graph task's mean success with its 95 % band; the legend gives the
    transition's 10–90 % width in decades, ``analysis.emergence``). Other keyword
    arguments go to the mean line.
    """
    if kind not in _RESULT_PLOTS:
        raise ValueError(f"kind = {kind!r} is invalid: must be one of "
                         f"{', '.join(RESULT_KINDS)}")
    ax = _new_axes(ax)
    _RESULT_PLOTS[kind](result, ax, **kwargs)
    if not ax.get_title():
        ax.set_title(_title(result))
    return ax


def result_figure(result, kind: str | None = None):
    """The figure ``simquanta simulate --figure`` and ``simquanta plot`` write: the loss
    (closed form dashed) and, when the result has task success, the task curves beside it;
    or the one ``kind`` asked for."""
    import matplotlib.pyplot as plt

    use_style()
    if kind is not None:
        return plot_result(result, kind).figure
    panels = ["loss"] + (["tasks"] if result.task_success is not None else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(COLUMN_WIDTH_IN * len(panels), 2.8),
                             squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        plot_result(result, panel, ax=ax)
        ax.set_title(panel if len(panels) > 1 else _title(result))
    if len(panels) > 1:
        fig.suptitle(_title(result), fontsize=8)
    fig.tight_layout()
    return fig


# -- merged sweeps -----------------------------------------------------------------------

def sweep_dims(ds) -> list[str]:
    """The swept dimensions of a merged sweep (axes and zip groups; not replicate)."""
    return [d for d in ds["loss"].dims if d not in ("replicate", "agent", "checkpoint")]


def _value_label(ds, dim: str, i: int) -> str:
    """'alpha = 0.5', or a zip group's members: 'steps = 2000, batch_size = 10'."""
    members = [name for name, c in ds.coords.items() if c.dims == (dim,) and name != dim
               and name != "graph_sha256"]
    if not members:
        members = [dim]
    return ", ".join(f"{m} = {_short(ds[m].values[i])}" for m in members)


def _short(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    text = str(value)
    return text.rsplit("/", 1)[-1] if "/" in text else text


def plot_sweep(ds, kind: str = "loss", *, col: str | None = None, hue: str | None = None):
    """A merged sweep (an xarray Dataset, or the path of ``merged.nc``) as a facet grid:
    one panel per value of ``col`` (default: the first swept dimension), one line per value
    of ``hue`` (the second; for ``kind="tasks"`` one line per task), each the mean over
    agents and replicate seeds with its 95 % band. Other swept dimensions are averaged
    (the title says which). Returns the Figure."""
    import matplotlib.pyplot as plt

    from .analysis.stats import sem

    if isinstance(ds, (str, Path)):
        import xarray as xr

        with xr.open_dataset(ds, engine="netcdf4") as opened:
            ds = opened.load()
    if kind not in SWEEP_KINDS:
        raise ValueError(f"kind = {kind!r} is invalid: must be one of {', '.join(SWEEP_KINDS)}")
    if kind == "tasks" and "task_success" not in ds:
        raise ValueError("kind = 'tasks' is invalid: this sweep has no composition graph")
    dims = sweep_dims(ds)
    for name, value in (("col", col), ("hue", hue)):
        if value is not None and value not in dims:
            raise ValueError(f"{name} = {value!r} is invalid: must be one of "
                             f"{', '.join(dims) or '(no swept dimension)'}")
    col = col if col is not None else next(iter(dims), None)
    if kind != "tasks" and hue is None:
        hue = next((d for d in dims if d != col), None)
    if kind == "tasks":
        hue = None
    rest = [d for d in dims if d not in (col, hue)]
    use_style()
    n_col = ds.sizes[col] if col else 1
    n_cols = min(n_col, 3)
    n_rows = -(-n_col // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols + 0.8, 2.3 * n_rows + 0.4),
                             squeeze=False, sharey=True)
    variable = {"loss": "loss", "learned": "learned", "tasks": "task_success"}[kind]
    for i in range(n_rows * n_cols):
        ax = axes.flat[i]
        if i >= n_col:
            ax.set_visible(False)
            continue
        panel = ds.isel({col: i}) if col else ds
        lines = ([(None, j) for j in range(ds.sizes["task"])] if kind == "tasks"
                 else [(j, None) for j in range(ds.sizes[hue] if hue else 1)])
        for n, (h, task) in enumerate(lines):
            cell = panel.isel({hue: h}) if h is not None and hue else panel
            data = cell[variable]
            if task is not None:
                data = data.isel(task=task)
            data = data.astype(float)
            if kind == "learned":
                data = data.where(data >= 0)  # -1 pads cells with fewer agents/checkpoints
            data = data.mean(rest) if rest else data
            stacked = data.stack(run=("replicate", "agent")).transpose("run", "checkpoint")
            y = stacked.values
            y = y[~np.all(np.isnan(y), axis=1)]
            x = _sweep_samples(cell)
            label = (str(ds["task"].values[task]) if task is not None
                     else _value_label(ds, hue, h) if hue else f"{y.shape[0]} runs")
            band(ax, x, np.nanmean(y, axis=0), sem(y) if y.shape[0] > 1 else np.zeros(x.size),
                 color=PALETTE[n % len(PALETTE)], label=label)
        _log_x(ax, "samples seen per agent")
        if kind == "tasks":
            ax.set_ylim(-0.02, 1.02)
        else:
            ax.set_yscale("log")
        if i % n_cols == 0:
            ax.set_ylabel({"loss": "loss (bits per sample)", "learned": "quanta learned",
                           "tasks": "task success"}[kind])
        ax.set_title(_value_label(ds, col, i) if col else "")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 0.95),
               title=hue if hue else ("task" if kind == "tasks" else None))
    averaged = f"; mean over {', '.join(rest)}" if rest else ""
    fig.suptitle(f"sweep {ds.attrs.get('sweep_name', '')}: {kind}, mean over agents and "
                 f"seeds, 95 % band{averaged}", fontsize=8)
    fig.tight_layout()
    return fig


def _sweep_samples(cell) -> np.ndarray:
    """Samples at each checkpoint of a cell (shared coordinate, or the first cell's)."""
    samples = cell["samples"]
    extra = [d for d in samples.dims if d != "checkpoint"]
    if extra:
        samples = samples.isel({d: 0 for d in extra})
    return samples.values.astype(float)
