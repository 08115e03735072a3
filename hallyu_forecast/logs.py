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

#: Loggers quietened to WARNING by default (their INFO lines are not for end users).
NOISY_LOGGERS = ("mlflow", "alembic", "sqlalchemy", "optuna", "lightgbm", "shap", "urllib3", "git",
                 "huey", "numba", "matplotlib", "py4j", "httpx", "waitress", "uvicorn")
#: Environment variables read by third-party libraries at import/run time (quiet values).
_QUIET_ENV = {
    "MLFLOW_LOGGING_LEVEL": "WARNING",  # mlflow re-configures its loggers on import: tell it up front
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "TQDM_DISABLE": "1",
}
_ENV = "HALLYU_VERBOSE"
_saved_env: dict[str, str | None] = {}


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
    os.environ[_ENV] = "1" if flag else "0"
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
        # our own warnings (e.g. dropped duplicate rows) carry information the user needs
        warnings.filterwarnings("default", module=r"hallyu_forecast(\.|$)")
        for key, value in _QUIET_ENV.items():
            if key not in _saved_env:
                _saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        level = logging.WARNING
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
    logging.getLogger(name).setLevel(logging.INFO if is_verbose() else logging.WARNING)
