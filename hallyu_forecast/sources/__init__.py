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

from hallyu_forecast.sources._base import ROLES, RawFile, Source, Variable, _check_output
from hallyu_forecast.sources._registry import SOURCE_NAMES, all_sources, default_cache_dir, get_source, resolve_data_dir

__all__ = [
    "RawFile",
    "Source",
    "Variable",
    "ROLES",
    "SOURCE_NAMES",
    "all_sources",
    "get_source",
    "resolve_data_dir",
    "default_cache_dir",
    "_check_output",
]
