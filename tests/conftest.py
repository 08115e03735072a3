"""Shared fixtures. Raw-data tests need HALLYU_DATA_DIR (CI sets it to ../shared/data/raw)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    value = os.environ.get("HALLYU_DATA_DIR")
    if not value:
        pytest.fail("HALLYU_DATA_DIR is not set: point it at the raw data mirror (CI: ../shared/data/raw).")
    path = Path(value).resolve()  # the README passes a relative path; tests may chdir or symlink
    assert path.is_dir(), f"HALLYU_DATA_DIR={path} does not exist"
    return path
