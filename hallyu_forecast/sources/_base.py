"""Declarations shared by every source: raw files, variables and the Source record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import pandas as pd

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
        from hallyu_forecast.sources import _check_output, resolve_data_dir

        folder = resolve_data_dir(data_dir) / self.name
        from hallyu_forecast.errors import DataError

        missing = [f for f in self.files if not (folder / f.path).is_file()]
        if missing:
            from hallyu_forecast.sources._io import restore_hint

            hints = sorted({restore_hint(self.name, f) for f in missing})
            raise DataError(
                f"Source `{self.name}`: missing raw file(s) {[f.path for f in missing]} in {folder}. "
                + " ".join(hints) + " HALLYU_DATA_DIR must point at a mirror with one folder per source."
            )
        frame = self.loader(folder)
        return _check_output(self, frame)
