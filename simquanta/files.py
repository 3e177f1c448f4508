"""The one write path: every file simquanta writes goes through :func:`atomic_path`.

A target is checked before any work (:func:`check_output`): it must be a regular file or
absent — never a directory, a symlink (replacing one would leave the link's target as it
was while saying "wrote"), a FIFO or a device — and its folder must be writable. The file is
then written to a temporary file in the same folder and renamed onto the target, so it is
either absent, the old version or the complete new one.

Temporary files are named ``.simquanta-<random>.<name>.tmp`` (:data:`TEMP_PREFIX`): the
only files :func:`remove_temporaries` removes.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .validation import invalid

__all__ = ["TEMP_PREFIX", "atomic_path", "check_output", "is_temporary", "remove_temporaries"]

#: every temporary file simquanta creates starts with this
TEMP_PREFIX = ".simquanta-"
# mkstemp's random part: 8 characters of [a-z0-9_]
_TEMP_RE = re.compile(re.escape(TEMP_PREFIX) + r"[a-z0-9_]{8}\..*\.tmp\Z", re.DOTALL)


def is_temporary(name: str) -> bool:
    """True for a file name :func:`atomic_path` creates (and nothing else)."""
    return bool(_TEMP_RE.match(name))


def _nearest_existing(folder: Path) -> Path:
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def check_output(path: str | os.PathLike | None, field_name: str = "out") -> Path:
    """``path`` as a Path if simquanta may write a file there, else ``ValueError`` naming
    the field: refused are an empty path, an existing non-regular file (directory, FIFO,
    device, socket), a symlink, and a folder that is not a writable directory."""
    if path is None or (isinstance(path, str) and not path.strip()):
        raise invalid(field_name, path, "must be a file path (it is empty)")
    if not isinstance(path, (str, os.PathLike)):
        raise invalid(field_name, path, "must be a file path")
    text = os.fspath(path)
    if isinstance(text, bytes) or "\0" in text:
        raise invalid(field_name, path, "must be a file path")
    if text.endswith(("/", os.sep)):
        raise invalid(field_name, text, "is a directory; give a file name")
    path = Path(text)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise invalid(field_name, text, f"cannot be checked: {exc.strerror or exc}") from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise invalid(field_name, text, "is a symlink; simquanta writes only regular "
                                            "files (give the real path or remove the link)")
        if stat.S_ISDIR(info.st_mode):
            raise invalid(field_name, text, "is a directory; give a file name")
        if not stat.S_ISREG(info.st_mode):
            raise invalid(field_name, text, "exists and is not a regular file (a FIFO, "
                                            "device or socket); it is left as it is")
    folder = _nearest_existing(path.absolute().parent)
    if not folder.is_dir():
        raise invalid(field_name, text, f"its folder {str(folder)!r} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise invalid(field_name, text, f"its folder {str(folder)!r} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, field_name: str = "out") -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success rename it onto ``path``.

    ``path`` is checked first (:func:`check_output`, errors name ``field_name``) and again
    just before the rename. The temporary name starts with "." so readers that skip hidden
    files never see a half written file; it is readable by everyone (mkstemp would leave
    0600) and removed on failure.
    """
    path = check_output(path, field_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=f".{path.name[:100]}.tmp",
                               dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        check_output(path, field_name)  # nothing turned it into a link or device meanwhile
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_temporaries(folder: str | os.PathLike) -> int:
    """Remove the temporary files :func:`atomic_path` left in ``folder`` (a killed run);
    nothing else. Returns how many."""
    folder = Path(folder)
    removed = 0
    if folder.is_dir() and not folder.is_symlink():
        for entry in os.scandir(folder):
            if is_temporary(entry.name) and entry.is_file(follow_symlinks=False):
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed
