"""The registry of source names and where the raw files live (below every source module).

Source modules are imported by name on demand (:func:`get_source`), so this module imports none of
them and sits below ``_io`` and ``_base``, which look sources up for their error messages.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from hallyu_forecast.errors import DataError

if TYPE_CHECKING:
    from hallyu_forecast.sources._base import Source

# Order matters only for display; each name is a module of this package and a folder of the mirror.
SOURCE_NAMES: tuple[str, ...] = (
    "countrycode",
    "kto_arrivals",
    "intl_students",
    "uis_student_flows",
    "kdiplo",
    "desta",
    "passport_index",
    "kcc",
    "working_holiday",
    "oda",
    "events",
    "wdi",
    "gapminder",
    "owid",
    "vdem",
    "freedomhouse",
    "polity5",
    "rsf",
    "cepii",
    "hofstede",
    "religion",
    "kpop_artists",
    "spotify_charts",
    "netflix_top10",
    "kf_hallyu_fans",
    "kofice_survey",
)


def get_source(name: str) -> Source:
    """Return the :class:`Source` called ``name``."""
    if name not in SOURCE_NAMES:
        raise DataError(
            f"Unknown source `{name}`. Known sources: {', '.join(SOURCE_NAMES)}."
        )
    module = importlib.import_module(f"hallyu_forecast.sources.{name}")
    return module.SOURCE


def all_sources() -> list[Source]:
    """Every registered source, in registry order."""
    return [get_source(name) for name in SOURCE_NAMES]


def default_cache_dir() -> Path:
    """Where ``hallyu-forecast data pull`` stores downloads (``HALLYU_CACHE_DIR`` overrides)."""
    env = os.environ.get("HALLYU_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hallyu_forecast" / "raw"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """Find the raw-data folder: argument, then ``HALLYU_DATA_DIR``, then the download cache."""
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        origin = "the data_dir argument"
    elif os.environ.get("HALLYU_DATA_DIR"):
        path = Path(os.environ["HALLYU_DATA_DIR"]).expanduser()
        origin = "HALLYU_DATA_DIR"
    else:
        path = default_cache_dir()
        origin = "the download cache"
    if not path.is_dir():
        raise DataError(
            f"Raw data folder {path} (from {origin}) does not exist. Set HALLYU_DATA_DIR to a "
            "mirror with one folder per source, or run `hallyu-forecast data pull`."
        )
    return path.resolve()
