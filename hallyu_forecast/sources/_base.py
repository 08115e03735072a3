"""Declarations shared by every source: raw files, variables and the Source record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import pandas as pd

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._io import restore_hint
from hallyu_forecast.sources._registry import resolve_data_dir

Role = Literal["target", "government_support", "local_conditions", "regime", "key", "context"]
ROLES: tuple[str, ...] = (
    "target",
    "government_support",
    "local_conditions",
    "regime",
    "key",
    "context",
)


@dataclass(frozen=True)
class RawFile:
    """One raw file of a source, as its publisher (or a public mirror) serves it.

    Attributes
    ----------
    path : str
        Path relative to the source folder in the data directory, e.g. ``"tourists.csv"``.
    sha256 : str
        SHA-256 of the exact bytes the package was built and tested against.
    url : str or None
        Canonical public URL of *those bytes*. ``None`` for files compiled by hand from
        public pages, which exist only in a mirror (``HALLYU_DATA_DIR``), and for files
        published only inside a ZIP (see ``archive``).
    """

    path: str
    sha256: str
    url: str | None = None
    #: URL of a ZIP archive holding this file as a member (``member``, default the file's name):
    #: for files published only inside ZIP downloads (the World Bank's per-indicator bulk CSVs).
    #: ``data pull`` downloads the ZIP, extracts the member and verifies the member's checksum.
    archive: str | None = None
    member: str | None = None

    @property
    def downloadable(self) -> bool:
        """True when ``data pull`` can fetch the file (a direct URL or a ZIP archive URL)."""
        return bool(self.url or self.archive)

    @property
    def from_pages(self) -> bool:
        """True for files compiled by hand from public pages (``*_from_pages.csv``)."""
        return Path(self.path).stem.endswith("_from_pages")


@dataclass(frozen=True)
class Variable:
    """One panel column produced by a source, documented for the data dictionary."""

    name: str
    unit: str
    description: str
    role: Role


@dataclass(frozen=True)
class Source:
    """A raw public data source and its loader.

    The loader receives the source folder (``<data_dir>/<name>``) and returns a tidy frame:
    ``iso3`` and ``year`` plus the declared variables (``static=False``), or ``iso3`` plus
    variables (``static=True``, time-invariant).
    """

    name: str
    title: str
    publisher: str
    license: str
    citation: str
    homepage: str
    files: tuple[RawFile, ...]
    variables: tuple[Variable, ...]
    loader: Callable[[Path], pd.DataFrame]
    static: bool = False
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def load(self, data_dir: str | Path | None = None) -> pd.DataFrame:
        """Read this source from ``data_dir`` (default: ``HALLYU_DATA_DIR`` or the cache)."""

        folder = resolve_data_dir(data_dir) / self.name

        missing = [f for f in self.files if not (folder / f.path).is_file()]
        if missing:
            hints = sorted({restore_hint(self.name, f) for f in missing})
            raise DataError(
                f"Source `{self.name}`: missing raw file(s) {[f.path for f in missing]} in {folder}. "
                + " ".join(hints) + " HALLYU_DATA_DIR must point at a mirror with one folder per source."
            )
        frame = self.loader(folder)
        return _check_output(self, frame)


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
