"""Registry of raw public data sources.

Each module in this package declares one :class:`Source` (publisher, license, citation,
raw files with checksums and canonical URLs, variables with units and roles) and a pure
``load(folder) -> DataFrame`` function that parses the files in their original format.

Examples
--------
>>> from hallyu_forecast.sources import get_source
>>> get_source("wdi").license
'CC BY 4.0'
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import ROLES, RawFile, Source, Variable

__all__ = [
    "RawFile",
    "Source",
    "Variable",
    "SOURCE_NAMES",
    "all_sources",
    "get_source",
    "resolve_data_dir",
    "default_cache_dir",
]

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


def _check_output(source: Source, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate what a loader returned: keys, declared variables, no duplicates."""
    keys = ["iso3"] if source.static else ["iso3", "year"]
    names = [v.name for v in source.variables]
    missing = [c for c in keys + names if c not in frame.columns]
    if missing:
        raise DataError(f"Source `{source.name}`: loader output lacks column(s) {missing}.")
    extra = [c for c in frame.columns if c not in keys + names]
    if extra:
        raise DataError(
            f"Source `{source.name}`: loader returned undeclared column(s) {extra}; "
            "declare them as Variables so the data dictionary documents them."
        )
    frame = frame[keys + names].copy()
    bad = frame["iso3"].isna() | ~frame["iso3"].astype(str).str.fullmatch(r"[A-Z]{3}")
    if bad.any():
        raise DataError(
            f"Source `{source.name}`: invalid ISO3 key(s) {sorted(frame.loc[bad, 'iso3'].astype(str).unique())[:20]}."
        )
    dup = frame.duplicated(keys, keep=False)
    if dup.any():
        sample = frame.loc[dup, keys].drop_duplicates().head(10).to_dict("records")
        raise DataError(
            f"Source `{source.name}`: duplicate keys {keys}, e.g. {sample}. "
            "Each country (and year) must appear once; aggregate or fix the mapping."
        )
    if not source.static:
        frame["year"] = frame["year"].astype("int64")
    for v in source.variables:
        if v.role not in ROLES:
            raise DataError(f"Source `{source.name}`: variable {v.name} has unknown role {v.role!r}.")
    return frame.sort_values(keys).reset_index(drop=True)
