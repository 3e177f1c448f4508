"""Where simquanta's numba kernels are cached: a directory named after a digest of every
kernel module's source (see ``kernels/__init__.py`` for why), and the setting under which
kernels are decorated — at import, and by factories that decorate kernel variants on first
use (``events._counting_entry``)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numba


def source_digest(directory: Path) -> str:
    """sha256 over the relative paths and contents of ``directory/**/*.py``."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.py")):
        name = path.relative_to(directory).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_dir_for(directory: Path, digest: str) -> Path:
    """Where kernels from ``directory`` with source ``digest`` are cached: under
    $NUMBA_CACHE_DIR if set, else beside the sources (``__pycache__``), else — read-only
    installs — under ~/.cache/simquanta."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    if user:
        root = Path(user)
    elif os.access(directory, os.W_OK):
        root = directory / "__pycache__"
    else:
        root = Path.home() / ".cache" / "simquanta"
    return root / f"kernels-{digest[:16]}"


@contextlib.contextmanager
def numba_cache_dir(path: Path) -> Iterator[None]:
    """Make numba cache the kernels decorated inside this block in ``path``."""
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(path)
    try:
        yield
    finally:
        numba.config.CACHE_DIR = saved


_HERE = Path(__file__).parent
_CACHE_DIR = cache_dir_for(_HERE, source_digest(_HERE))


def kernel_cache() -> contextlib.AbstractContextManager[None]:
    """The setting under which simquanta's kernels are decorated."""
    return numba_cache_dir(_CACHE_DIR)
