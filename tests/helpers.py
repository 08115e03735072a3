"""Helpers shared by the source tests: writable copies of raw source folders to damage."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_source(raw_dir: Path, tmp_path: Path, name: str) -> Path:
    """Copy every file of the mirror folder ``name`` to ``tmp_path/name`` (writable; raw files are read-only)."""
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    for path in (raw_dir / name).rglob("*"):
        if path.is_file():
            target = folder / path.relative_to(raw_dir / name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            target.chmod(0o644)
    return folder
