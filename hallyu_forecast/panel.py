"""The country-year panel: every source joined on (iso3, year), validated and documented.

``hallyu_forecast.panel_build.build_panel`` runs the pipeline from raw files; ``load_panel`` reads the compact copy that
ships inside the package (the embedded default), so a fresh install works offline.

Choices made here, in one place:

* Universe: every ISO3 that appears in a time-varying source, Korea included (its covariates
  feed relative-to-Korea features; it has no target). Years 1995 to the last year with
  population data.
* Event-like sources (trade agreements, cultural centres, working-holiday agreements, political
  shocks) and Korea's 2019 ODA list only countries where something happened: a country absent
  from them gets 0,
  up to the source's last year; after its last year the last value is carried forward.
* Five-yearly religion shares are carried forward to the following years (known at the time).
* Derived columns combine sources: ``population`` (WDI, Gapminder where WDI has none, e.g.
  Taiwan), ``gdp_pc_ppp_2021`` (WDI; Gapminder's constant-2017$ v31 series rescaled to 2021$
  where WDI has none — never Gapminder's newest file, whose Taiwan values are not constant
  prices), ``internet_users_pct`` (WDI, then Gapminder to 2019), ``mobile_per100``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import pandas as pd

from hallyu_forecast.errors import DataError

PANEL_START = 1995
DESTINATION = "KOR"
ABSENT_IS_ZERO = ("desta", "kcc", "working_holiday", "events", "oda")
CARRY_FORWARD = ("religion",)
EMBEDDED_FILES = ("panel.parquet", "panel_meta.json", "dictionary.csv", "countries.csv")

DERIVED = (
    ("population", "persons", "Total population: WDI SP.POP.TOTL, Gapminder population where WDI has none (e.g. Taiwan, 2024)", "local_conditions"),
    ("gdp_pc_ppp_2021", "constant 2021 international $", "GDP per capita, PPP: WDI NY.GDP.PCAP.PP.KD; where missing, Gapminder v31 (constant 2017 $) times the median WDI/v31 ratio over 2010-2019", "local_conditions"),
    ("internet_users_pct", "% of population", "Internet users: WDI IT.NET.USER.ZS, Gapminder (100 - non-users %) where WDI has none (to 2019)", "local_conditions"),
    ("mobile_per100", "subscriptions per 100 people", "Mobile cellular subscriptions (ITU via OWID) per 100 people of `population`", "local_conditions"),
)


@dataclass
class PanelData:
    """The panel with its data dictionary, country table and build metadata."""

    frame: pd.DataFrame
    dictionary: pd.DataFrame
    countries: pd.DataFrame
    meta: dict


def _say(progress, text):
    if progress is not None:
        progress(text)


PANEL_DIR_ENV = "HALLYU_PANEL_DIR"
#: Backups of overwritten panels kept per destination (oldest removed first).
KEEP_BACKUPS = 5


def _embedded(name: str):
    # HALLYU_PANEL_DIR points every panel reader at a folder written by `data build`
    folder = os.environ.get(PANEL_DIR_ENV)
    if folder:
        return panel_dir_file(Path(folder).expanduser(), name)
    return resources.files("hallyu_forecast.data").joinpath(name)


def panel_dir_file(folder: Path, name: str = "panel.parquet") -> Path:
    """``folder / name`` for the folder named by ``HALLYU_PANEL_DIR``, checked: a folder the user
    named that is missing, empty or without the file is an error, never a silent fallback to the
    embedded panel (answers from the wrong panel look right)."""
    unset = f"or unset {PANEL_DIR_ENV} to use the embedded panel"
    if not folder.exists():
        raise DataError(f"{PANEL_DIR_ENV}={folder} does not exist. Build a panel there with "
                        f"`hallyu-forecast data build` (it writes to {PANEL_DIR_ENV}), {unset}.")
    if not folder.is_dir():
        raise DataError(f"{PANEL_DIR_ENV}={folder} is a file, not a folder. Point it at the folder written by "
                        f"`hallyu-forecast data build`, {unset}.")
    if not (folder / "panel.parquet").is_file():
        state = "is empty" if not any(folder.iterdir()) else "holds no panel.parquet"
        raise DataError(f"{PANEL_DIR_ENV}={folder} {state}. Build a panel there with `hallyu-forecast data build`, "
                        f"{unset}.")
    if not (folder / name).is_file():
        raise DataError(f"{PANEL_DIR_ENV}={folder} has panel.parquet but no {name}: `hallyu-forecast data build` "
                        f"writes both; rebuild the panel there, {unset}.")
    return folder / name


def _data_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "hallyu_forecast"


def default_panel_dir() -> Path:
    """Where ``data build`` writes by default: ``HALLYU_PANEL_DIR``, else
    ``$XDG_DATA_HOME/hallyu_forecast/panel`` (``~/.local/share/hallyu_forecast/panel``).

    Never the installed package: rebuilding the embedded panel needs an explicit
    ``data build --out hallyu_forecast/data``. Read the result with ``HALLYU_PANEL_DIR=<folder>``
    (every ``load_*`` function and the models then use it) or ``load_panel("<folder>")``.
    """
    folder = os.environ.get(PANEL_DIR_ENV)
    return Path(folder).expanduser() if folder else _data_home() / "panel"


def _backup_previous(dest: Path) -> Path | None:
    """Move the panel files already in ``dest`` to a time-stamped backup folder (kept: KEEP_BACKUPS)."""
    present = [dest / name for name in EMBEDDED_FILES if (dest / name).is_file()]
    if not present:
        return None
    import hashlib
    import shutil
    from datetime import datetime, timezone

    tag = hashlib.sha256(str(dest.resolve()).encode()).hexdigest()[:8]
    root = _data_home() / "backups" / f"{dest.resolve().name}-{tag}"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    folder = root / stamp
    folder.mkdir(parents=True, exist_ok=True)
    for path in present:
        shutil.copy2(path, folder / path.name)
    for old in sorted(p for p in root.iterdir() if p.is_dir())[:-KEEP_BACKUPS]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def diff_panels(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per-column summary of what changed between two panels, keyed on ``(iso3, year)``.

    Returns one row per change: ``item`` (``rows`` or a column name), ``change`` (``added``,
    ``removed`` or ``changed``) and ``count`` (rows, or cells that differ among the common rows;
    NaN equals NaN). An empty frame means the panels are identical.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"iso3": ["JPN"], "year": [2010], "polity2": [10.0]})
    >>> diff_panels(a, a.assign(polity2=-10.0))
          item   change  count
    0  polity2  changed      1
    """
    keys = ["iso3", "year"]
    rows = []
    old_idx = old.set_index(keys)
    new_idx = new.set_index(keys)
    added = new_idx.index.difference(old_idx.index)
    removed = old_idx.index.difference(new_idx.index)
    if len(added):
        rows.append(("rows", "added", len(added)))
    if len(removed):
        rows.append(("rows", "removed", len(removed)))
    rows += [(c, "added", int(new_idx[c].notna().sum())) for c in new_idx.columns if c not in old_idx.columns]
    rows += [(c, "removed", int(old_idx[c].notna().sum())) for c in old_idx.columns if c not in new_idx.columns]
    common = old_idx.index.intersection(new_idx.index)
    a, b = old_idx.loc[common], new_idx.loc[common]
    for col in (c for c in new_idx.columns if c in old_idx.columns):
        x, y = a[col], b[col]
        same = (x == y) | (x.isna() & y.isna())
        n = int((~same).sum())
        if n:
            rows.append((col, "changed", n))
    return pd.DataFrame(rows, columns=["item", "change", "count"])


def format_diff(diff: pd.DataFrame) -> str:
    """One line per kind of change, e.g. ``columns changed: polity2 (1 cell)``."""
    if diff.empty:
        return "No change against the previous panel."
    lines = ["Changes against the previous panel:"]
    rows = diff[diff["item"] == "rows"]
    for r in rows.itertuples(index=False):
        lines.append(f"  rows {r.change}: {r.count}")
    cols = diff[diff["item"] != "rows"]
    for change in ("added", "removed", "changed"):
        part = cols[cols["change"] == change]
        if len(part):
            unit = "cells" if change == "changed" else "values"
            items = ", ".join(f"{r.item} ({r.count} {unit})" for r in part.itertuples(index=False))
            lines.append(f"  columns {change} ({len(part)}): {items}")
    return "\n".join(lines)


def write_panel(data: PanelData, dest: str | Path | None = None,
                progress: Callable[[str], None] | None = None) -> Path:
    """Write the panel and its companions to ``dest`` (default :func:`default_panel_dir`).

    A panel already in ``dest`` is backed up first (``~/.local/share/hallyu_forecast/backups``)
    and a per-column diff against it is reported through ``progress``.
    """
    dest = Path(dest).expanduser() if dest is not None else default_panel_dir()
    dest.mkdir(parents=True, exist_ok=True)
    previous = dest / "panel.parquet"
    if previous.is_file():
        try:
            old = pd.read_parquet(previous)
        except Exception as exc:  # a damaged previous panel must not block a rebuild: say so
            _say(progress, f"Previous {previous} could not be read ({type(exc).__name__}); no diff.")
            old = None
        backup = _backup_previous(dest)
        _say(progress, f"Previous panel backed up to {backup}")
        if old is not None:
            _say(progress, format_diff(diff_panels(old, data.frame)))
    data.frame.to_parquet(dest / "panel.parquet", index=False, compression="zstd")
    data.dictionary.to_csv(dest / "dictionary.csv", index=False)
    data.countries.to_csv(dest / "countries.csv", index=False)
    (dest / "panel_meta.json").write_text(json.dumps(data.meta, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                                          encoding="utf-8")
    return dest


def load_panel(path: str | Path | None = None) -> pd.DataFrame:
    """The country-year panel (embedded default, or a parquet file built by ``data build``).

    ``path`` may be a ``panel.parquet`` or the folder holding it. Without ``path``,
    ``HALLYU_PANEL_DIR`` (if set) wins over the embedded copy, for this and :func:`load_dictionary`,
    :func:`load_countries`, :func:`panel_metadata`; a folder it names that is missing, empty or
    without the file is a :class:`DataError`, never a fallback to the embedded copy. A file that
    cannot be read as Parquet is a :class:`DataError` naming it.

    Examples
    --------
    >>> import hallyu_forecast as hf
    >>> panel = hf.load_panel()
    >>> panel[["iso3", "year", "arrivals_0_30", "population"]].head()  # doctest: +SKIP
    """
    if path is not None and Path(path).expanduser().is_dir():  # a folder written by `data build`
        path = Path(path).expanduser() / "panel.parquet"
    source = Path(path) if path is not None else _embedded("panel.parquet")
    try:
        with source.open("rb") if path is None else open(source, "rb") as fh:
            return pd.read_parquet(fh)
    except FileNotFoundError:
        raise DataError(f"Panel file {source} not found. Run `hallyu-forecast data build` "
                        "or reinstall the package.") from None
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError: a damaged or non-parquet file
        raise DataError(f"Panel file {source} cannot be read as Parquet ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}). Rebuild it with "
                        "`hallyu-forecast data build`, or reinstall the package for the embedded panel.") from None


def panel_stamp() -> tuple:
    """What identifies the panel :func:`load_panel` would read now (file, size, modification time):
    a cache of the loaded panel is valid while this stays the same."""
    source = Path(str(_embedded("panel.parquet")))
    try:
        info = source.stat()
    except OSError:
        return (str(source), None, None)
    return (str(source), info.st_size, info.st_mtime_ns)


def load_dictionary() -> pd.DataFrame:
    """Data dictionary of the embedded panel: name, source, unit, description, role."""
    with _embedded("dictionary.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=False)


def load_countries() -> pd.DataFrame:
    """Country table of the embedded panel: iso3, name, name_ko, continent, region, income group."""
    with _embedded("countries.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=False, na_values=[""])


def panel_metadata() -> dict:
    """Vintage, checksums and sources of the embedded panel."""
    with _embedded("panel_meta.json").open(encoding="utf-8") as fh:
        return json.load(fh)


def describe(frame: pd.DataFrame, dictionary: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Coverage per variable and per source: countries, years, missing share."""
    missing = [n for n in dictionary["name"] if n not in frame.columns]
    if missing:
        raise DataError(f"The panel has no column {', '.join(f'`{n}`' for n in missing[:5])}, which its data dictionary "
                        "lists. Rebuild the panel with `hallyu-forecast data build` (it writes both files).")
    rows = []
    for var in dictionary.itertuples(index=False):
        if var.name in ("iso3", "year"):
            continue
        present = frame.loc[frame[var.name].notna(), ["iso3", "year"]]
        rows.append({
            "variable": var.name,
            "source": var.source,
            "role": var.role,
            "unit": var.unit,
            "countries": present["iso3"].nunique(),
            "first_year": int(present["year"].min()) if len(present) else None,
            "last_year": int(present["year"].max()) if len(present) else None,
            "missing_share": round(1 - len(present) / len(frame), 3),
        })
    variables = pd.DataFrame(rows)
    by_source = (
        variables.groupby("source", sort=False)
        .agg(variables=("variable", "count"), countries=("countries", "max"),
             first_year=("first_year", "min"), last_year=("last_year", "max"),
             missing_share=("missing_share", "mean"))
        .reset_index()
    )
    by_source["missing_share"] = by_source["missing_share"].round(3)
    return {"sources": by_source, "variables": variables}
