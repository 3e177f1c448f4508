"""Numba kernels (one engine or variate family per module).

numba's ``cache=True`` re-validates a cached kernel only against its own source file, not
against the functions it calls from other modules (numba issue #1833): after a change to
``random.py`` a cached events kernel would keep running the old variates. So the
kernels are cached in a directory named after a digest of every kernel module's source, and
a change to any of them starts a fresh cache. The modules are imported here, inside that
setting, because numba fixes a kernel's cache directory when its decorator runs.
"""

from __future__ import annotations

from .cache import cache_dir_for, kernel_cache, numba_cache_dir, source_digest  # noqa: F401

with kernel_cache():
    from . import (  # noqa: F401
        acquisition,
        checkpoints,
        compose,
        events,
        exact,
        heap,
        random,
        sampling,
    )
