"""Declarative, leakage-safe features.

Feature specs live in TOML files, one per group (``features/*.toml`` at the repository top,
shipped inside the package as ``hallyu_forecast/_specs``). Each feature names panel
column(s), a transform and a role::

    group = "economic"

    [[feature]]
    name = "log_gdp_pc_ppp"
    columns = ["gdp_pc_ppp_2021"]
    transform = "log"
    role = "local_conditions"
    why = "Richer countries travel more and buy more Korean content."

Every transform is *causal*: the value at year t is computed from panel rows with year <= t
(minus the source's publication ``delay``), one country at a time. The only cross-country
statistics (Korea's own value for ``*_to_korea`` transforms, and the global/continental mean
change of the target) use rows of year <= t and, for the latter, only the ``reference
countries`` given (the training countries), so held-out countries never leak into training.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from hallyu_forecast.errors import ConfigError, DataError
from hallyu_forecast.monthly import annual_month_features, load_monthly
from hallyu_forecast.panel import load_countries, load_dictionary, load_panel
from hallyu_forecast.preflight import check_countries
from hallyu_forecast.schema import check_unique_keys
from hallyu_forecast.sources._io import read_csv

ROLES = ("government_support", "local_conditions", "regime", "history")
PANEL_TRANSFORMS = (
    "level", "log", "log1p", "per_capita", "per_100", "log_per_capita", "growth", "share", "lag",
    "rolling_mean", "years_since", "indicator_since", "diff_to_korea", "log_ratio_to_korea", "missing",
)
TARGET_TRANSFORMS = ("target_lag", "target_change", "target_mean_change", "target_count", "cross_section_change")
# Month-aware transforms: computed from the monthly arrivals panel (hallyu_forecast.monthly), using
# months up to December of the origin year only; `columns` names the monthly column (default youth).
MONTHLY_TRANSFORMS = ("month_q4_yoy", "month_h2_vs_h1", "months_since_shock", "month_q4_gap_to_normal")
TRANSFORMS = PANEL_TRANSFORMS + TARGET_TRANSFORMS + MONTHLY_TRANSFORMS
_FEATURE_KEYS = {"name", "columns", "transform", "role", "why", "lag", "delay", "periods", "window", "scale",
                 "since", "until", "countries", "carry_forward", "scope"}
_TARGET_KEYS = {"description", "measures", "does_not_measure", "numerator", "denominator", "scale",
                "transform", "file", "default", "min_value"}
DESTINATION = "KOR"


# ------------------------------------------------------------------------------------ specs
@dataclass(frozen=True)
class FeatureSpec:
    """One declared feature (see module docstring)."""

    name: str
    group: str
    role: str
    transform: str
    columns: tuple[str, ...] = ()
    why: str = ""
    lag: int = 0
    delay: int = 0
    periods: int = 1
    window: int = 3
    scale: float = 1.0
    since: int | None = None
    until: int | None = None
    countries: tuple[str, ...] = ()
    carry_forward: int = 0
    scope: str = "global"
    file: str = ""


@dataclass(frozen=True)
class TargetSpec:
    """How the forecast target is made from the panel (or from a user CSV)."""

    name: str
    description: str
    measures: str = ""
    does_not_measure: str = ""
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1.0
    transform: str = "log"
    file: str | None = None
    default: bool = False
    min_value: float = 0.0


@dataclass(frozen=True)
class Specs:
    """All feature specs plus the target specs, as loaded from a folder."""

    features: tuple[FeatureSpec, ...]
    targets: dict[str, TargetSpec]
    folder: str

    def select(self, roles: Iterable[str] | None = None, groups: Iterable[str] | None = None) -> "Specs":
        """Keep only features of the given roles and/or groups."""
        roles = set(roles) if roles is not None else None
        groups = set(groups) if groups is not None else None
        kept = tuple(f for f in self.features
                     if (roles is None or f.role in roles) and (groups is None or f.group in groups))
        if not kept:
            raise ConfigError(f"No feature left after selecting roles={roles} groups={groups}.")
        return Specs(kept, self.targets, self.folder)

    @property
    def default_target(self) -> str:
        return next(name for name, t in self.targets.items() if t.default)


def default_specs_dir() -> Path:
    """The packaged copy of the repository's ``features/`` folder (or the folder itself in a checkout)."""
    packaged = Path(__file__).parent / "_specs"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "features"


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 0


def load_feature_specs(folder: str | Path | None = None, panel_columns: Iterable[str] | None = None) -> Specs:
    """Read and validate every ``*.toml`` in ``folder`` (default: the packaged specs).

    Raises :class:`ConfigError` naming the file, line and fix for an unknown column, unknown
    transform, a feature in two groups, a role outside the allowed set or an unknown key.
    """
    folder = Path(folder) if folder is not None else default_specs_dir()
    if not folder.is_dir():
        raise ConfigError(f"Feature spec folder {folder} does not exist. Pass the path of a `features/` folder.")
    if panel_columns is None:
        panel_columns = load_dictionary()["name"].tolist()
    known = set(panel_columns)
    features: list[FeatureSpec] = []
    targets: dict[str, TargetSpec] = {}
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML ({exc}).") from exc
        if path.stem == "targets":
            targets.update(_parse_targets(doc, path, text, known))
            continue
        group = doc.get("group")
        if not group:
            raise ConfigError(f"{path}: missing top-level `group = \"...\"`.")
        for entry in doc.get("feature", []):
            name = entry.get("name", "?")
            needle = 'name = "' + str(name) + '"'
            where = f"{path}:{_line_of(text, needle)}"
            unknown = set(entry) - _FEATURE_KEYS
            if unknown:
                raise ConfigError(f"{where}: feature `{name}` has unknown key(s) {sorted(unknown)}; "
                                  f"allowed keys are {sorted(_FEATURE_KEYS)}.")
            if name in seen:
                raise ConfigError(f"{where}: feature `{name}` is already declared in group `{seen[name]}`; "
                                  "a feature belongs to exactly one group — remove one of them.")
            transform = entry.get("transform", "level")
            if transform not in TRANSFORMS:
                raise ConfigError(f"{where}: feature `{name}` has unknown transform `{transform}`; "
                                  f"use one of {', '.join(TRANSFORMS)}.")
            role = entry.get("role")
            if role not in ROLES:
                raise ConfigError(f"{where}: feature `{name}` has role `{role}`; role must be one of "
                                  f"{', '.join(ROLES)}.")
            columns = tuple(entry.get("columns", ()))
            if transform in PANEL_TRANSFORMS and transform != "indicator_since" and not columns:
                raise ConfigError(f"{where}: feature `{name}` needs `columns = [...]`.")
            for col in columns:
                if col not in known:
                    raise ConfigError(f"{where}: feature `{name}` names unknown panel column `{col}`; "
                                      "see `hallyu-forecast data describe` for the column list.")
            if transform == "share" and len(columns) != 2:
                raise ConfigError(f"{where}: feature `{name}`: transform `share` takes exactly two columns.")
            spec = FeatureSpec(
                name=name, group=group, role=role, transform=transform, columns=columns,
                why=entry.get("why", ""), lag=int(entry.get("lag", 0)), delay=int(entry.get("delay", 0)),
                periods=int(entry.get("periods", 1)), window=int(entry.get("window", 3)),
                scale=float(entry.get("scale", 1.0)), since=entry.get("since"), until=entry.get("until"),
                countries=tuple(entry.get("countries", ())), carry_forward=int(entry.get("carry_forward", 0)),
                scope=entry.get("scope", "global"), file=str(path),
            )
            if spec.lag < 0 or spec.delay < 0:
                raise ConfigError(f"{where}: feature `{name}`: `lag` and `delay` must be >= 0 "
                                  "(a negative lag would read the future).")
            if not spec.why:
                raise ConfigError(f"{where}: feature `{name}` needs a `why = \"...\"` line.")
            seen[name] = group
            features.append(spec)
    if not features:
        raise ConfigError(f"{folder}: no feature specs found (*.toml with [[feature]] entries).")
    if not targets:
        raise ConfigError(f"{folder}: no targets.toml found.")
    return Specs(tuple(features), targets, str(folder))


def _parse_targets(doc: dict, path: Path, text: str, known: set[str]) -> dict[str, TargetSpec]:
    out = {}
    for name, entry in doc.get("target", {}).items():
        where = f"{path}:{_line_of(text, f'[target.{name}]')}"
        unknown = set(entry) - _TARGET_KEYS
        if unknown:
            raise ConfigError(f"{where}: target `{name}` has unknown key(s) {sorted(unknown)}.")
        if entry.get("transform", "log") not in ("log", "level", "logit"):
            raise ConfigError(f"{where}: target `{name}`: transform must be log, level or logit.")
        if "file" not in entry:
            for key in ("numerator",) + (("denominator",) if entry.get("denominator") else ()):
                if entry.get(key) not in known:
                    raise ConfigError(f"{where}: target `{name}`: {key} `{entry.get(key)}` is not a panel column.")
        out[name] = TargetSpec(name=name, **entry)
    defaults = [n for n, t in out.items() if t.default]
    if len(defaults) != 1:
        raise ConfigError(f"{path}: exactly one target must have `default = true`; found {defaults}.")
    return out


# ---------------------------------------------------------------------------------- targets
def read_user_target(path: str | Path, countries: Iterable[str], base: Path | None = None,
                     transform: str | None = None, min_value: float = 0.0) -> pd.DataFrame:
    """Read a "bring your own target" CSV with columns iso3, year, value, validated like a source.

    Every problem is a :class:`DataError` naming the file and line(s): unknown or blank country
    codes, Korea (the destination), blank, non-whole or future years (after the current year),
    duplicate country-years, blank or non-numeric values, and values the target's ``transform``
    cannot take (``<= min_value`` under ``log``, outside (0, 1) under ``logit``).

    Examples
    --------
    >>> read_user_target("fans.csv", ["JPN", "MEX"], transform="log")  # doctest: +SKIP
    """
    import datetime

    path = Path(path)
    if not path.is_absolute() and base is not None:
        path = base / path

    # blank lines are kept (as empty rows) so that line numbers in messages match the file
    frame = read_csv(path, columns=["iso3", "year", "value"], dtype={"iso3": str, "year": str, "value": str},
                     skip_blank_lines=False, keep_default_na=False)

    def lines(mask) -> list[int]:
        return [int(i) + 2 for i in np.flatnonzero(np.asarray(mask))][:10]  # +1 header, +1 one-based

    def fail(mask, problem: str, fix: str) -> None:
        if np.asarray(mask).any():
            raise DataError(f"{path}: {problem} at lines {lines(mask)}; {fix}")

    for col in ("iso3", "year", "value"):
        frame[col] = frame[col].astype(str).str.strip()
    fail(frame["iso3"] == "", "blank `iso3`", "give an ISO3 code on every row or delete the row.")
    fail(frame["iso3"].str.upper() == DESTINATION, f"{DESTINATION} (Korea) is the destination, not an origin "
         "country", "delete the Korea rows: the target measures interest in Korea from other countries.")
    known = set(countries)
    bad = [(i + 2, c) for i, c in enumerate(frame["iso3"]) if c not in known]
    if bad:
        raise DataError(f"{path}: unknown country code(s) {', '.join(f'{c!r} (line {n})' for n, c in bad[:10])}; "
                        "use ISO3 codes of the panel (see hallyu_forecast.load_countries()).")
    years = pd.to_numeric(frame["year"], errors="coerce")
    fail(frame["year"] == "", "blank `year`", "give a year on every row or delete the row.")
    fail(years.isna() | (years % 1 != 0), "`year` is not a whole number", "write years as e.g. 2019.")
    this_year = datetime.date.today().year
    fail(years > this_year, f"year after {this_year} (the current year)",
         "a target is an observed value; forecasts are made by the model.")
    dup = pd.Series(list(zip(frame["iso3"], years))).duplicated(keep=False)
    if dup.any():
        raise DataError(f"{path}: duplicate (iso3, year) rows at lines {lines(dup)}; keep one row per country-year.")
    fail(frame["value"] == "", "blank `value`", "fill in the value or delete the row (missing years are "
         "simply left out of the file).")
    values = pd.to_numeric(frame["value"], errors="coerce")
    fail(values.isna() | ~np.isfinite(values.fillna(0)), "non-numeric `value`", "values must be numbers.")
    if transform == "log":
        fail(values <= min_value, f"`value` <= {min_value:g}, which the target's transform `log` cannot take",
             f"values must be greater than {min_value:g} (or use transform = \"level\").")
    elif transform == "logit":
        fail((values <= 0) | (values >= 1), "`value` outside (0, 1), which the target's transform `logit` cannot take",
             "give shares strictly between 0 and 1 (or use transform = \"level\").")
    return pd.DataFrame({"iso3": frame["iso3"], "year": years.astype("int64"), "value": values.astype("float64")})


def check_panel_columns(panel: pd.DataFrame, target: TargetSpec | None = None,
                        features: Iterable[FeatureSpec] = ()) -> None:
    """Every panel column the target and features read is in ``panel`` (else one DataError naming
    the column, who needs it and the fix, instead of a bare ``KeyError: 'population'`` deep inside)."""
    need: dict[str, str] = {"iso3": "the panel keys", "year": "the panel keys"}
    if target is not None and not target.file:
        for key in ("numerator", "denominator"):
            col = getattr(target, key)
            if col:
                need.setdefault(col, f"target `{target.name}` ({key})")
    for f in features:
        for col in f.columns:
            need.setdefault(col, f"feature `{f.name}`")
        if f.transform in ("per_capita", "per_100", "log_per_capita"):
            need.setdefault("population", f"feature `{f.name}` (per capita)")
    missing = [c for c in need if c not in panel.columns]
    if missing:
        listed = ", ".join(f"`{c}` (needed by {need[c]})" for c in missing[:5])
        raise DataError(f"The panel has no column {listed}. Rebuild the panel with `hallyu-forecast data build` "
                        "(or point HALLYU_PANEL_DIR at a complete one), or remove what needs the column from the "
                        "feature specs.")


def target_series(panel: pd.DataFrame, spec: TargetSpec, base: Path | None = None) -> pd.Series:
    """The target on the model scale, indexed like ``panel`` (NaN where unknown)."""
    check_panel_columns(panel, spec)
    if spec.file:
        user = read_user_target(spec.file, panel["iso3"].unique(), base=base, transform=spec.transform,
                                min_value=spec.min_value)
        raw = panel[["iso3", "year"]].merge(user, on=["iso3", "year"], how="left")["value"].to_numpy()
        raw = pd.Series(raw, index=panel.index, dtype="float64")
    else:
        raw = panel[spec.numerator].astype("float64")
        if spec.denominator:
            raw = raw / panel[spec.denominator] * spec.scale
        else:
            raw = raw * spec.scale
    if spec.transform == "log":
        return np.log(raw.where(raw > spec.min_value))
    if spec.transform == "logit":
        p = raw.where((raw > 0) & (raw < 1))
        return np.log(p / (1 - p))
    return raw


def inverse_target(values, spec: TargetSpec):
    """Back-transform from the model scale to the target's natural scale."""
    values = np.asarray(values, dtype="float64")
    if spec.transform == "log":
        return np.exp(values)
    if spec.transform == "logit":
        return 1 / (1 + np.exp(-values))
    return values


# --------------------------------------------------------------------------------- features
def _by_country(frame: pd.DataFrame, values: pd.Series):
    return values.groupby(frame["iso3"], sort=False)


def _carry(frame, s: pd.Series, years: int) -> pd.Series:
    return _by_country(frame, s).ffill(limit=years) if years > 0 else s


def _korea(frame: pd.DataFrame, s: pd.Series) -> pd.Series:
    korea = pd.Series(s[frame["iso3"] == DESTINATION].to_numpy(), index=frame.loc[frame["iso3"] == DESTINATION, "year"])
    return frame["year"].map(korea)


def _panel_feature(panel: pd.DataFrame, spec: FeatureSpec) -> pd.Series:
    """Compute one panel feature for every (iso3, year) row; causal by construction."""
    t = spec.transform
    cols = [_carry(panel, panel[c].astype("float64"), spec.carry_forward) for c in spec.columns]
    x = cols[0] if cols else None
    if t == "level":
        out = x
    elif t == "log":
        out = np.log(x.where(x > 0))
    elif t == "log1p":
        out = np.log1p(x.where(x >= 0))
    elif t in ("per_capita", "per_100", "log_per_capita"):
        pop = _carry(panel, panel["population"].astype("float64"), max(spec.carry_forward, 1))
        out = x / pop * (100.0 if t == "per_100" else spec.scale)
        if t == "log_per_capita":
            out = np.log1p(out.where(out >= 0))
    elif t == "growth":
        logged = np.log(x.where(x > 0))
        out = logged - _by_country(panel, logged).shift(spec.periods)
    elif t == "share":
        out = x / cols[1].where(cols[1] != 0)
    elif t == "lag":
        out = _by_country(panel, x).shift(spec.periods)
    elif t == "rolling_mean":
        out = _by_country(panel, x).transform(lambda s: s.rolling(spec.window, min_periods=1).mean())
    elif t == "years_since":
        active = (x > 0).astype(float).where(x.notna())
        first = panel["year"].where(active == 1).groupby(panel["iso3"]).cummin()
        first = _by_country(panel, first).ffill()
        out = (panel["year"] - first + 1).fillna(0.0).where(x.notna() | first.notna())
    elif t == "indicator_since":
        on = panel["year"] >= (spec.since if spec.since is not None else -math.inf)
        if spec.until is not None:
            on &= panel["year"] <= spec.until
        if spec.countries:
            on &= panel["iso3"].isin(spec.countries)
        out = on.astype(float)
    elif t == "diff_to_korea":
        out = x - _korea(panel, x)
    elif t == "log_ratio_to_korea":
        logged = np.log(x.where(x > 0))
        out = logged - _korea(panel, logged)
    elif t == "missing":
        out = panel[spec.columns[0]].isna().astype(float)
    else:  # pragma: no cover - validated at load time
        raise ConfigError(f"transform {t} is not a panel transform")
    shift = spec.lag + spec.delay
    out = pd.Series(np.asarray(out, dtype="float64"), index=panel.index)
    return _by_country(panel, out).shift(shift) if shift else out


def _target_feature(panel: pd.DataFrame, y: pd.Series, spec: FeatureSpec, reference: np.ndarray,
                    continent: pd.Series) -> pd.Series:
    """Features of the target's own history at origin t (uses y at years <= t only)."""
    t = spec.transform
    g = _by_country(panel, y)
    if t == "target_lag":
        out = g.shift(spec.lag)
    elif t == "target_change":
        out = y - g.shift(spec.periods)
        out = _by_country(panel, out).shift(spec.lag)
    elif t == "target_mean_change":
        change = y - g.shift(1)
        out = _by_country(panel, change).transform(lambda s: s.rolling(spec.window, min_periods=1).mean())
    elif t == "target_count":
        out = _by_country(panel, y.notna().astype(float)).cumsum()
    elif t == "cross_section_change":
        change = (y - g.shift(spec.periods)).where(reference)
        keys = [panel["year"]] if spec.scope == "global" else [panel["year"], continent]
        out = change.groupby(keys).transform("mean")
        out = _by_country(panel, out).shift(spec.lag)
    else:  # pragma: no cover
        raise ConfigError(f"transform {t} is not a target transform")
    return pd.Series(np.asarray(out, dtype="float64"), index=panel.index)


def _monthly_feature(panel: pd.DataFrame, spec: FeatureSpec, monthly: pd.DataFrame, cache: dict) -> pd.Series:
    """A month-aware feature per (iso3, year) row: known in December of that year (NaN without months)."""

    column = spec.columns[0] if spec.columns else "arrivals_0_30"
    if column not in cache:
        cache[column] = annual_month_features(monthly, column).set_index(["iso3", "year"])
    name = spec.transform.removeprefix("month_") if spec.transform != "months_since_shock" else spec.transform
    table = cache[column][name]
    keys = pd.MultiIndex.from_frame(panel[["iso3", "year"]])
    out = pd.Series(table.reindex(keys).to_numpy(dtype="float64"), index=panel.index)
    shift = spec.lag + spec.delay
    return _by_country(panel, out).shift(shift) if shift else out


@dataclass
class FeatureMatrix:
    """Design matrix for direct multi-horizon forecasting.

    ``frame`` is long: one row per (iso3, origin, horizon) with ``target_year = origin +
    horizon``, ``y`` (target at target_year, NaN if unknown), ``y_origin`` (target at origin,
    the last observed value) and the feature columns (values known at the origin).
    """

    frame: pd.DataFrame
    features: list[str]
    groups: dict[str, str]
    roles: dict[str, str]
    target: TargetSpec
    specs: Specs = field(repr=False)

    @property
    def X(self) -> pd.DataFrame:
        return self.frame[self.features]

    @property
    def y(self) -> pd.Series:
        return self.frame["y"]

    def feature_table(self) -> pd.DataFrame:
        """Column -> group -> role map, with each feature's rationale."""
        why = {f.name: f.why for f in self.specs.features}
        return pd.DataFrame({"feature": self.features,
                             "group": [self.groups[f] for f in self.features],
                             "role": [self.roles[f] for f in self.features],
                             "why": [why.get(f, "") for f in self.features]})


def take_rows(fm, mask):
    """``fm`` (a FeatureMatrix, or any dataclass with a ``frame``) restricted to the rows where ``mask`` is true.

    Positional (``mask`` is read as an array, one boolean per row), index reset: the one way every
    backtest, tuning fold and country subset cuts a matrix.
    """
    return replace(fm, frame=fm.frame[np.asarray(mask)].reset_index(drop=True))


def build_features(
    panel: pd.DataFrame | None = None,
    specs: Specs | str | Path | None = None,
    target: str | None = None,
    origins: Iterable[int] | None = None,
    horizons: Iterable[int] = (1, 2, 3),
    countries: Iterable[str] | None = None,
    reference_countries: Iterable[str] | None = None,
    monthly: pd.DataFrame | None = None,
) -> FeatureMatrix:
    """Build the design matrix for forecasting year ``origin + h`` from what is known at ``origin``.

    Parameters
    ----------
    panel : DataFrame, optional
        The country-year panel; default the embedded one (:func:`load_panel`).
    specs : Specs or path, optional
        Feature and target specs, or the folder holding them; default the packaged ``features/``.
    target : str, optional
        Target name from ``targets.toml``; default the one marked ``default = true``.
    origins : iterable of int, optional
        Forecast origins (years); default every panel year.
    horizons : iterable of int
        Years ahead.
    countries : iterable of str, optional
        Rows to return (ISO3); default every country except Korea.
    reference_countries : iterable of str, optional
        Countries whose targets may feed cross-country features (global and continental mean
        changes); pass the training countries in leave-countries-out evaluation. Default: all.
    monthly : DataFrame, optional
        Monthly arrivals (:func:`hallyu_forecast.load_monthly` layout) for month-aware features;
        default the embedded monthly panel, read only when a spec uses a monthly transform.

    Returns
    -------
    FeatureMatrix

    Examples
    --------
    >>> fm = build_features(origins=[2018], horizons=[1])  # doctest: +SKIP
    >>> fm.frame[["iso3", "origin", "target_year", "y", "y_origin"]].head()  # doctest: +SKIP
    """

    countries = check_countries(countries)  # 'JPN' or ['JPN'], never the letters of a string
    if panel is None:
        panel = load_panel()
    if not isinstance(specs, Specs):
        specs = load_feature_specs(specs, panel_columns=panel.columns)
    target_name = target or specs.default_target
    if target_name not in specs.targets:
        raise ConfigError(f"Unknown target `{target_name}`; targets are {sorted(specs.targets)}.")
    tspec = specs.targets[target_name]
    horizons = sorted(set(int(h) for h in horizons))
    if not horizons or horizons[0] < 1:
        raise ConfigError(f"`horizons` must be integers greater than 0. Got {horizons}.")

    check_panel_columns(panel, tspec, specs.features)
    panel = panel.sort_values(["iso3", "year"]).reset_index(drop=True)
    years = panel["year"]
    all_years = np.arange(int(years.min()), int(years.max()) + 1)
    counts = panel.groupby("iso3")["year"].count()
    if (counts != len(all_years)).any():
        raise DataError("The panel must hold every year for every country (a complete grid); "
                        "rebuild it with `hallyu-forecast data build`.")

    y = target_series(panel, tspec, base=Path(specs.folder))
    reference = panel["iso3"].isin(set(reference_countries)) if reference_countries is not None \
        else pd.Series(True, index=panel.index)
    reference &= panel["iso3"] != DESTINATION
    cont = load_countries().set_index("iso3")["continent"]
    continent = panel["iso3"].map(cont).fillna("unknown")

    values: dict[str, pd.Series] = {}
    month_cache: dict = {}
    if monthly is None and any(f.transform in MONTHLY_TRANSFORMS for f in specs.features):
        monthly = load_monthly()
    for f in specs.features:
        if f.transform in MONTHLY_TRANSFORMS:
            values[f.name] = _monthly_feature(panel, f, monthly, month_cache)
        elif f.transform in TARGET_TRANSFORMS:
            values[f.name] = _target_feature(panel, y, f, reference.to_numpy(), continent)
        else:
            values[f.name] = _panel_feature(panel, f)
    feats = pd.DataFrame(values, index=panel.index)
    base = pd.concat([panel[["iso3", "year"]], y.rename("y_origin"), feats], axis=1)

    origin_years = sorted(set(int(o) for o in origins)) if origins is not None else list(all_years)
    bad = [o for o in origin_years if o not in set(all_years)]
    if bad:
        raise ConfigError(f"`origins` must be years within the panel ({all_years[0]}-{all_years[-1]}). Got {bad}.")
    if countries is not None:
        wanted = list(dict.fromkeys(countries))
        unknown = sorted(set(wanted) - set(panel["iso3"]))
        if unknown:
            raise ConfigError(f"Unknown country code(s) {unknown}; use ISO3 codes from hallyu_forecast.load_countries().")
    else:
        wanted = sorted(set(panel["iso3"]) - {DESTINATION})

    at_origin = base[base["year"].isin(origin_years) & base["iso3"].isin(wanted)]
    future = pd.DataFrame({"iso3": panel["iso3"], "target_year": panel["year"], "y": y})
    parts = []
    for h in horizons:
        part = at_origin.rename(columns={"year": "origin"}).copy()
        part.insert(1, "horizon", h)
        part.insert(2, "target_year", part["origin"] + h)
        part = part.merge(future, on=["iso3", "target_year"], how="left")
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    front = ["iso3", "origin", "horizon", "target_year", "y", "y_origin"]
    frame = frame[front + [f.name for f in specs.features]].sort_values(["horizon", "origin", "iso3"])
    frame = frame.reset_index(drop=True)

    check_unique_keys(frame, ["iso3", "origin", "horizon"], "The feature matrix")
    return FeatureMatrix(
        frame=frame,
        features=[f.name for f in specs.features],
        groups={f.name: f.group for f in specs.features},
        roles={f.name: f.role for f in specs.features},
        target=tspec,
        specs=specs,
    )
