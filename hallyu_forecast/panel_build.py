"""Building the country-year panel from the raw files (the pipeline behind ``data build``).

The choices it makes (universe, absent-is-zero sources, carried-forward shares, derived columns)
are listed in :mod:`hallyu_forecast.panel`, which holds their constants and reads the result. The
Hallyu index is a product of the panel (:mod:`hallyu_forecast.index`), added here as the last step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from hallyu_forecast._version import __version__
from hallyu_forecast.errors import DataError
from hallyu_forecast.fetch import sha256_file, verify
from hallyu_forecast.index import INDEX_VARIABLES, add_index
from hallyu_forecast.panel import ABSENT_IS_ZERO, CARRY_FORWARD, DERIVED, PANEL_START, PanelData, _say
from hallyu_forecast.schema import validate_panel
from hallyu_forecast.sources import all_sources, countrycode, get_source, resolve_data_dir, wdi


def _load_all(data_dir: Path, progress) -> dict[str, pd.DataFrame]:
    frames = {}
    for source in all_sources():
        start = time.perf_counter()
        frames[source.name] = source.load(data_dir)
        _say(progress, f"  loaded {source.name:<18} {len(frames[source.name]):>7} rows  {time.perf_counter() - start:5.2f}s")
    return frames


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame
    out["population"] = out["population_wdi"].fillna(out["population_gm"])
    both = out.loc[out["year"].between(2010, 2019), ["gdp_pc_ppp", "gdp_pc_ppp_2017"]].dropna()
    factor = float(np.median(both["gdp_pc_ppp"] / both["gdp_pc_ppp_2017"])) if len(both) else np.nan
    out["gdp_pc_ppp_2021"] = out["gdp_pc_ppp"].fillna(out["gdp_pc_ppp_2017"] * factor)
    out["internet_users_pct"] = out["internet_pct"].fillna(out["internet_pct_gm"])
    out["mobile_per100"] = out["mobile_subs"] / out["population"] * 100.0
    out.attrs["gdp_2017_to_2021_factor"] = factor
    return out


def build_panel(
    data_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    allow_changed_files: bool = False,
) -> PanelData:
    """Build the panel from the raw files in ``data_dir`` (default ``HALLYU_DATA_DIR``).

    Parameters
    ----------
    data_dir : path, optional
        Raw-data mirror with one folder per source.
    progress : callable, optional
        Receives one line of text per step.
    allow_changed_files : bool
        Build even if raw files differ from the registered checksums (a new vintage).
    """

    root = resolve_data_dir(data_dir)
    started = time.perf_counter()
    _say(progress, f"Building the panel from {root}")
    if not allow_changed_files:
        verify(root)
    frames = _load_all(root, progress)
    sources = {s.name: s for s in all_sources()}

    dynamic = [n for n, s in sources.items() if not s.static]
    universe = sorted(set().union(*(set(frames[n]["iso3"]) for n in dynamic)))
    pop_years = pd.concat([frames["wdi"][["year", "population_wdi"]].dropna()["year"],
                           frames["gapminder"][["year", "population_gm"]].dropna()["year"]])
    last_year = int(pop_years.max())
    grid = pd.MultiIndex.from_product([universe, range(PANEL_START, last_year + 1)], names=["iso3", "year"])
    panel = pd.DataFrame(index=grid).reset_index()

    for name, source in sources.items():
        data = frames[name]
        cols = [v.name for v in source.variables]
        if source.static:
            panel = panel.merge(data[data["iso3"].isin(universe)], on="iso3", how="left")
            if name in ABSENT_IS_ZERO:
                panel[cols] = panel[cols].fillna(0.0)
            continue
        data = data[data["iso3"].isin(universe)]
        panel = panel.merge(data, on=["iso3", "year"], how="left")
        if name in ABSENT_IS_ZERO:
            last = int(data["year"].max())
            inside = panel["year"] <= last
            panel.loc[inside, cols] = panel.loc[inside, cols].fillna(0.0)
            after = panel["year"] > last
            if after.any():
                panel[cols] = panel.groupby("iso3")[cols].ffill().where(after, panel[cols])
        if name in CARRY_FORWARD:
            panel[cols] = panel.groupby("iso3")[cols].ffill()

    panel = _derive(panel)
    dictionary = _dictionary(sources)
    panel, dictionary = _add_hallyu_index(panel, dictionary)
    order = ["iso3", "year"] + [n for n in dictionary["name"] if n not in ("iso3", "year")]
    panel = panel[order]
    numeric = order[2:]
    panel[numeric] = panel[numeric].astype("float64")
    panel["iso3"] = panel["iso3"].astype(str)
    panel["year"] = panel["year"].astype("int64")
    panel = panel.sort_values(["iso3", "year"]).reset_index(drop=True)
    validate_panel(panel, dictionary)

    countries = _countries(root, universe)
    files = {name: {raw.path: sha256_file(root / name / raw.path) for raw in get_source(name).files}
             for name in sources}
    vintage = {}
    for name, source in sources.items():
        if source.static:
            vintage[name] = "static"
        else:
            cols = [v.name for v in source.variables]
            years = frames[name].dropna(subset=cols, how="all")["year"]
            vintage[name] = f"{int(years.min())}-{int(years.max())}"
    meta = {
        "package_version": __version__,
        "first_year": PANEL_START,
        "last_year": last_year,
        "n_countries": len(universe),
        "n_rows": len(panel),
        "n_columns": panel.shape[1],
        "gdp_2017_to_2021_factor": round(float(panel.attrs.get("gdp_2017_to_2021_factor", np.nan)), 6),
        "vintage": vintage,
        "sources": {
            name: {
                "title": s.title,
                "publisher": s.publisher,
                "license": s.license,
                "citation": s.citation,
                "homepage": s.homepage,
                "files": files[name],
            }
            for name, s in sources.items()
        },
    }
    panel.attrs = {}
    _say(progress, f"Panel: {len(panel)} rows x {panel.shape[1]} columns, {len(universe)} countries, "
                   f"{PANEL_START}-{last_year}; built in {time.perf_counter() - started:.1f}s")
    return PanelData(panel, dictionary, countries, meta)


def _add_hallyu_index(panel: pd.DataFrame, dictionary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Hallyu intensity index (hallyu_forecast.index): a pure function of the panel, documented."""

    attrs = dict(panel.attrs)
    panel = add_index(panel)
    panel.attrs = attrs
    rows = pd.DataFrame([(n, "index", u, d, r) for n, u, d, r in INDEX_VARIABLES], columns=dictionary.columns)
    return panel, pd.concat([dictionary, rows], ignore_index=True)


def _dictionary(sources: dict) -> pd.DataFrame:
    rows = [
        ("iso3", "countrycode", "ISO 3166-1 alpha-3", "Origin country (XKX = Kosovo)", "key"),
        ("year", "countrycode", "calendar year", "Year the value refers to", "key"),
    ]
    role_order = {"target": 0, "government_support": 1, "regime": 2, "local_conditions": 3, "context": 4, "key": 5}
    variables = []
    for name, source in sources.items():
        for v in source.variables:
            variables.append((v.name, name, v.unit, v.description, v.role))
    variables += [(n, "derived", u, d, r) for n, u, d, r in DERIVED]
    names = [v[0] for v in variables]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"Variable name(s) {dupes} are declared by more than one source; rename one.")
    variables.sort(key=lambda v: role_order.get(v[4], 9))
    table = pd.DataFrame(rows + variables, columns=["name", "source", "unit", "description", "role"])
    return table


def _countries(root: Path, universe: list[str]) -> pd.DataFrame:
    table = countrycode.country_table(root / "countrycode")
    meta = wdi.country_metadata(root / "wdi")
    out = pd.DataFrame({"iso3": universe}).merge(table, on="iso3", how="left").merge(meta, on="iso3", how="left")
    out.loc[out["iso3"] == "XKX", ["name", "continent"]] = ["Kosovo", "Europe"]
    missing = out.loc[out["name"].isna(), "iso3"].tolist()
    if missing:
        raise DataError(f"No country name for ISO3 {missing}; add them to the countrycode concordance or aliases.")
    return out


# --------------------------------------------------------------------------------------------
# The embedded default
