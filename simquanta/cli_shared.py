"""What the subcommands share: flags laid over a config file, checked output paths, JSON.

Command-line layer only (``cli``, ``plan_cli``, ``generations_cli`` import it; nothing
below the CLI does).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .files import check_output
from .validation import invalid

#: figure formats --figure accepts (matplotlib's, without backends that need extras)
FIGURE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff",
                  "webp")


def overlay_flags(config: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    """``config`` (from --config) with the command-line ``flags`` on top; a data regime
    given on the command line (--steps, or --dataset-size) replaces the file's."""
    if "dataset_size" in flags:
        config.pop("steps", None)
    if "steps" in flags:
        config.pop("dataset_size", None)
        config.pop("epochs", None)
    config.update(flags)
    return config


def figure_target(text: str, field: str = "figure") -> Path:
    """The file --figure writes: FILE as given when its suffix is a figure format, FILE.png
    when it has none; checked like every output (``files.check_output``), before any work."""
    path = check_output(text, field)
    fmt = path.suffix[1:].lower()
    if not fmt:
        return check_output(path.with_name(path.name + ".png"), field)
    if fmt not in FIGURE_FORMATS:
        raise invalid(field, text, f"unknown figure format {fmt!r}; use one of "
                                   f"{', '.join(FIGURE_FORMATS)}")
    return Path(path)


def result_target(text: str, field: str = "out") -> Path:
    """The netCDF-4 file --out writes: checked, and named ``.nc``, before any work."""
    path = check_output(text, field)
    if path.suffix.lower() != ".nc":
        raise invalid(f"--{field}", text, "results are netCDF-4 files: give a name ending "
                                          "in .nc")
    return Path(path)


def null_non_finite(obj: Any) -> Any:
    """NaN/inf → null, so --json prints standard JSON (a one-agent run has NaN errors)."""
    if isinstance(obj, dict):
        return {k: null_non_finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [null_non_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
