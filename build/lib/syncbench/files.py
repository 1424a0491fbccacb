"""Files replaced whole: written beside, then renamed over, so a reader (a browser on a
report being rewritten, a server reading its clock file) or a Ctrl-C mid-write never sees
half a file."""

from __future__ import annotations

from pathlib import Path


def replace_text(path: Path, text: str) -> None:
    """`path` now holds `text` (UTF-8), replaced in one rename."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


__all__ = ["replace_text"]
