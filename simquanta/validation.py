"""Input checks shared by every layer: the one error format, type and range checks, TOML.

Every refusal is a ``ValueError`` made by :func:`invalid`, which names the field, shows the
offending value and says what is allowed::

    alpha = -2 is invalid: must lie in (-1.0, inf]

Nothing here imports anything else from simquanta.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "as_float_array",
    "check_bool",
    "check_choice",
    "check_int",
    "check_real",
    "invalid",
    "is_integer",
    "is_number",
    "check_depth",
    "load_toml",
    "parse_json",
    "parse_toml",
    "read_text",
    "shown",
]


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def invalid(field_name: str, value: Any, allowed: str) -> ValueError:
    """The one error format of simquanta: field, offending value, what is allowed."""
    return ValueError(f"{field_name} = {shown(value)} is invalid: {allowed}")


def is_number(value: Any) -> bool:
    """A real number (Python or numpy), not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, (bool, np.bool_))


def is_integer(value: Any) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(field_name: str, value: Any, minimum: int) -> int:
    """An integer >= ``minimum``, as ``int``."""
    if not is_integer(value) or value < minimum:
        raise invalid(field_name, value, f"must be an integer >= {minimum}")
    return int(value)


def check_real(field_name: str, value: Any, *, low: float = -math.inf, high: float = math.inf,
               low_open: bool = False, allow_inf: bool = False) -> float:
    """A real number in [low, high] (``low_open``: (low, high]); finite unless ``allow_inf``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise invalid(field_name, value, "must be a real number")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise invalid(field_name, value, "must be finite")
    if value < low or (low_open and value == low) or value > high:
        bracket = "(" if low_open else "["
        raise invalid(field_name, value, f"must lie in {bracket}{low}, {high}]")
    return value


def check_choice(field_name: str, value: Any, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise invalid(field_name, value, f"must be one of {', '.join(choices)}")
    return value


def check_bool(field_name: str, value: Any) -> bool:
    """``True`` or ``False`` (not 0/1)."""
    if not isinstance(value, bool):
        raise invalid(field_name, value, "must be true or false")
    return value


def as_float_array(field_name: str, value: Any) -> np.ndarray:
    """``np.asarray(value, float)`` with our error format instead of numpy's."""
    try:
        if isinstance(value, (str, bytes, dict)):
            raise TypeError
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise invalid(field_name, value, "must be a number or a list of numbers") from None


#: lists and tables nest at most this deep in config, sweep and graph files
MAX_DEPTH = 32


def check_depth(data: Any, field_name: str, source: str | os.PathLike,
                limit: int = MAX_DEPTH) -> Any:
    """``data`` if its lists/tables nest at most ``limit`` deep (checked iteratively)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= limit:
                raise invalid(field_name, os.fspath(source),
                              f"lists or tables nest more than {limit} levels deep")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return data


def _nesting(text: str) -> int:
    """Largest bracket depth of ``text`` (an upper bound on its nesting, ignoring quotes),
    so deeply nested input is refused before a recursive parser sees it."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_toml(text: str, field_name: str, source: str | os.PathLike) -> dict[str, Any]:
    """TOML text → dict; a syntax error becomes ``ValueError`` naming ``source`` and the line
    (``field = 'FILE' is invalid: TOML syntax error: ... (at line N, column M)``); lists and
    tables nested more than ``MAX_DEPTH`` deep are refused."""
    if _nesting(text) > 4 * MAX_DEPTH:
        raise invalid(field_name, os.fspath(source),
                      f"lists or tables nest more than {MAX_DEPTH} levels deep")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise invalid(field_name, os.fspath(source), f"TOML syntax error: {exc}") from None
    except RecursionError:
        raise invalid(field_name, os.fspath(source),
                      f"lists or tables nest more than {MAX_DEPTH} levels deep") from None
    return check_depth(data, field_name, source)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_json(text: str, field_name: str, source: str | os.PathLike) -> Any:
    """JSON text → data, refusing duplicate keys (TOML does too), NaN/Infinity and nesting
    beyond ``MAX_DEPTH``; errors are ``ValueError`` naming ``source``."""
    import json

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    if _nesting(text) > 4 * MAX_DEPTH:
        raise invalid(field_name, os.fspath(source),
                      f"lists or tables nest more than {MAX_DEPTH} levels deep")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=constant)
    except RecursionError:
        raise invalid(field_name, os.fspath(source),
                      f"lists or tables nest more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise invalid(field_name, os.fspath(source), f"JSON syntax error: {exc}") from None
    return check_depth(data, field_name, source)


def read_text(path: str | os.PathLike, field_name: str) -> str:
    """A file's text (UTF-8); a missing or unreadable file, or one that is not a regular
    file (a FIFO would block, a device never ends), becomes ``ValueError``."""
    if path is None or not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise invalid(field_name, path, "must be a file path")
    path = Path(path)
    if path.exists() and not path.is_file():
        raise invalid(field_name, str(path), "is not a regular file")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise invalid(field_name, str(path), "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise invalid(field_name, str(path), f"cannot read it: {reason}") from None


def load_toml(path: str | os.PathLike, field_name: str = "config") -> dict[str, Any]:
    """Read a TOML file; a missing file or a syntax error becomes ``ValueError`` naming the
    field, the file and (for syntax errors) the line."""
    return parse_toml(read_text(path, field_name), field_name, path)
