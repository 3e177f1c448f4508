"""Error messages that point into the sweep file: 'FILE, line N: field = value is invalid'."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..validation import invalid


class Locator:
    """Turns a field path (``axes.alpha``, ``zip[1]``) into 'FILE, line N: ' for messages."""

    def __init__(self, source: Path | None, text: str | None) -> None:
        self.source = source
        self.lines = text.splitlines() if text is not None else []

    def line(self, path: str) -> int | None:
        match = re.fullmatch(r"zip\[(\d+)\](?:\.(\w+))?", path)
        if match:
            return self._zip_line(int(match.group(1)))
        table, _, key = path.rpartition(".")
        current = ""
        for number, raw in enumerate(self.lines, start=1):
            text = raw.strip()
            header = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?(\s*#.*)?", text)
            if header:
                current = header.group(1).strip().strip('"')
                continue
            if current == table and re.match(rf'^["\']?{re.escape(key)}["\']?\s*=', text):
                return number
        return None

    def _zip_line(self, index: int) -> int | None:
        seen = -1
        for number, raw in enumerate(self.lines, start=1):
            text = raw.strip()
            if re.fullmatch(r"\[\[\s*zip\s*\]\](\s*#.*)?", text):
                seen += 1
                if seen == index:
                    return number
            elif re.match(r"^zip\s*=", text) and index == 0:
                return number
        return None

    def error(self, path: str, message: str) -> ValueError:
        """ValueError 'FILE, line N: message' (message starts with the field path)."""
        if self.source is None:
            return ValueError(message)
        number = self.line(path) if path else None
        where = f"{self.source}, line {number}: " if number else f"{self.source}: "
        return ValueError(where + message)


def invalid_at(loc: Locator, path: str, value: Any, allowed: str) -> ValueError:
    """``validation.invalid`` for the field at ``path``, prefixed with its file and line."""
    return loc.error(path, str(invalid(path, value, allowed)))

