"""Identities: canonical JSON, content hashes, cell keys and the git revision."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import _version


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces): the input of every hash here."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def plain(obj: Any) -> Any:
    """numpy scalars/arrays, tuples and paths → plain JSON types (dicts keep their order)."""
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def short(value: Any, limit: int = 60) -> str:
    shown = json.dumps(value) if not isinstance(value, str) else repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cell_key(config: Mapping[str, Any], graph_sha256: str | None) -> str:
    """A cell's identity and file name: sha256 of the canonical JSON of its normalised flat
    config (``Simulation.to_config()``), its graph file's hash and the simquanta version
    (which changes whenever some seed's results change)."""
    payload = {"config": plain(config), "graph_sha256": graph_sha256,
               "simquanta": _version.__version__}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()



def git_revision(path: str | os.PathLike | None = None) -> str | None:
    """``git rev-parse HEAD`` of the checkout holding ``path`` (default: this package), or
    None outside a git checkout or without git. Read-only: never touches the index."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    rev = done.stdout.strip()
    return rev if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", rev) else None

