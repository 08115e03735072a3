"""One switch for third-party noise: warnings, INFO log lines and progress bars.

By default (``set_verbose(False)``, what the CLI does unless ``-v/--verbose`` is given) the
warnings and INFO lines of MLflow, Optuna, LightGBM, SHAP, alembic, urllib3 and friends are hidden,
and MLflow's artifact download progress bar is off; the package's own warnings still show.
``set_verbose(True)`` restores everything. The state is also exported as ``HALLYU_VERBOSE``
(``1``/``0``) so modules that configure a library later (e.g. ``tracking.py`` for MLflow) and
child processes read the same choice through :func:`is_verbose`.

Examples
--------
>>> from hallyu_forecast import logs
>>> logs.set_verbose(False)
>>> logs.is_verbose()
False
"""

from __future__ import annotations

import logging
import os
import warnings

from hallyu_forecast.errors import HallyuWarning

#: Loggers quietened to ERROR by default (their INFO and WARNING lines are not for end users).
NOISY_LOGGERS = ("mlflow", "alembic", "sqlalchemy", "optuna", "lightgbm", "shap", "urllib3", "git",
                 "huey", "numba", "matplotlib", "py4j", "httpx", "waitress", "uvicorn")
#: Environment variables read by third-party libraries at import/run time (quiet values).
_QUIET_ENV = {
    "MLFLOW_LOGGING_LEVEL": "ERROR",  # mlflow re-configures its loggers on import: tell it up front
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "TQDM_DISABLE": "1",
}
_ENV = "HALLYU_VERBOSE"
_saved_env: dict[str, str | None] = {}
_original_showwarning = None


def _quiet_showwarning(message, category, filename, lineno, file=None, line=None):
    """Display only hallyu_forecast's own warnings. Needed on top of the filters because some
    libraries (MLflow's ``filter_user_warnings_once``) install their own filters while they run."""

    if issubclass(category, HallyuWarning) and _original_showwarning is not None:
        _original_showwarning(message, category, filename, lineno, file, line)


def is_verbose() -> bool:
    """True when third-party warnings and INFO lines should be shown (``HALLYU_VERBOSE=1``)."""
    return os.environ.get(_ENV, "0").strip().lower() in ("1", "true", "yes", "on")


def set_verbose(flag: bool) -> None:
    """Show (``True``) or hide (``False``) third-party warnings, INFO lines and progress bars.

    Parameters
    ----------
    flag : bool
        ``True`` for everything (``-v``), ``False`` for the quiet default.
    """
    global _original_showwarning
    os.environ[_ENV] = "1" if flag else "0"
    if flag and _original_showwarning is not None:
        warnings.showwarning = _original_showwarning
        _original_showwarning = None
    elif not flag and _original_showwarning is None:
        _original_showwarning = warnings.showwarning
        warnings.showwarning = _quiet_showwarning
    if flag:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for key, old in _saved_env.items():  # undo only what set_verbose(False) changed
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        _saved_env.clear()
        level = logging.INFO
    else:
        warnings.simplefilter("ignore")
        # our own warnings (e.g. dropped duplicate rows) carry information the user needs; matched by
        # category, not module: third-party warnings are often attributed to the calling module
        warnings.filterwarnings("default", category=HallyuWarning)
        for key, value in _QUIET_ENV.items():
            if key not in _saved_env:
                _saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        level = logging.ERROR  # a library's WARNING lines are noise to end users too (-v shows them)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    try:  # optuna keeps its own verbosity switch; only touch it if already imported
        import sys

        if "optuna" in sys.modules:
            sys.modules["optuna"].logging.set_verbosity(level)
    except Exception:  # pragma: no cover - a broken optuna must not break logging setup
        pass


def quiet_library(name: str) -> None:
    """Re-apply the current choice to logger ``name`` after a library (re)configured it on import."""
    logging.getLogger(name).setLevel(logging.INFO if is_verbose() else logging.ERROR)


# ------------------------------------------------------------------------- step lines (progress)
_progress = None


def set_progress(callback) -> None:
    """Send :func:`step` lines to ``callback`` (the CLI: stderr); ``None`` silences them (library use)."""
    global _progress
    _progress = callback


def step(text: str) -> None:
    """Report one step of long work (a refit, a fold, a report section) if a receiver is set.

    Library functions call this instead of printing, so ``import hallyu_forecast`` stays silent
    while the CLI shows what is happening during anything longer than a couple of seconds.
    """
    if _progress is not None:
        _progress(text)


class Steps:
    """Throttled step lines for loops: at most one line per ``every`` seconds, plus the last one.

    Examples
    --------
    >>> steps = Steps("explain: refit", total=20)
    >>> for i in range(20):
    ...     steps.done(i + 1)  # prints "explain: refit 7/20 (2.1s)"-style lines about every 2 s
    """

    def __init__(self, label: str, total: int, every: float = 2.0):
        import time

        self.label, self.total, self.every = label, total, every
        self.start = self.last = time.perf_counter()

    def done(self, count: int) -> None:
        import time

        now = time.perf_counter()
        if count >= self.total or now - self.last >= self.every:
            self.last = now
            step(f"{self.label} {count}/{self.total} ({now - self.start:.1f}s)")
