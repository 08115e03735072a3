"""Shared fixtures. Raw-data tests need HALLYU_DATA_DIR (CI sets it to ../shared/data/raw).

Every test that uses the ``raw_dir`` fixture (directly or through another fixture) is marked
``raw``. Without HALLYU_DATA_DIR those tests skip with one reason and everything else runs; with
``CI=true`` a skipped ``raw`` test is turned into a failure, so nothing can silently stop running
where the mirror is supposed to be.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

RAW_SKIP_REASON = "raw data mirror absent: set HALLYU_DATA_DIR to it (CI: ../shared/data/raw)"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_configure(config):
    # train's stage cache (hallyu_forecast.stage_cache) goes to a directory of this run, never the
    # user's ~/.cache; set in os.environ so that the CLI subprocesses of the tests inherit it
    os.environ["HALLYU_STAGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="hallyu_test_stage_cache_")
    config.addinivalue_line("markers", "raw: needs the raw data mirror (HALLYU_DATA_DIR); skipped without it, "
                                       "a failure when CI=true")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "raw_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.raw)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci() and item.get_closest_marker("raw") is not None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"raw-data test skipped under CI=true (CI must run every raw test): {reason}"


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    value = os.environ.get("HALLYU_DATA_DIR")
    if not value:
        pytest.skip(RAW_SKIP_REASON)
    path = Path(value).resolve()  # the README passes a relative path; tests may chdir or symlink
    if not path.is_dir():
        pytest.skip(f"HALLYU_DATA_DIR={path} does not exist: point it at the raw data mirror")
    return path
