"""What-if scenarios: the forecast with and without a policy change, and levers ranked per country.

A change to a column of an event lever (``kcc_present``, ``wh_agreement``, ``fta_korea_in_force``
...) is driven by the causal estimate: the event-study effect at event time ``h - 1`` (onset in
the first forecast year) is added to the baseline forecast of horizon ``h`` (for ``kor_trade_usd``: the
double-ML effect per log point of trade times the change in log trade), and its standard error
is combined in quadrature with the forecast's interval (effects of several changes are assumed
additive and independent). When the event study cannot be estimated for the model's target, or
the column is not an event lever (any other ``government_support`` column), the change is applied
to the panel from the origin year on and the predictive model is re-run: the difference is
labelled *associational* (how the model responds, not what the policy would cause).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hallyu_forecast.causal.effects import CONTINUOUS_LEVERS, EVENT_LEVERS, EffectsResult, _dml_row, effects
from hallyu_forecast.causal.event_study import CausalError
from hallyu_forecast.conventions import check_horizons
from hallyu_forecast.errors import InputTypeError
from hallyu_forecast.inference import forecast, resolve_countries, resolve_model
from hallyu_forecast.panel import load_dictionary, load_panel

Z80, Z95 = 1.2815515655446004, 1.959963984540054


@dataclass
class Scenario:
    """Result of :func:`simulate`.

    Attributes
    ----------
    forecast : DataFrame
        iso3, horizon, target_year, baseline, baseline_lower, baseline_upper (80%), scenario,
        scenario_lower, scenario_upper (80%), scenario_lower_95, scenario_upper_95, effect,
        effect_lo, effect_hi (95%, log points; NaN when associational), effect_pct, basis.
    changes : dict
        The changes applied (column -> value).
    levers : DataFrame
        Levers ranked for the country (see :func:`rank_levers`).
    units : dict
        Column -> its unit as the data dictionary states it ("1/0" for a binary lever, "current
        US$" for trade ...), so a printed change says what its number means.
    """

    country: str
    changes: dict
    forecast: pd.DataFrame
    levers: pd.DataFrame
    units: dict = field(default_factory=dict)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        return {"scenario": self.forecast, "levers": self.levers}


def _lever_of(column: str):
    for lv in EVENT_LEVERS.values():
        if column in lv.settings:
            return lv
    return None


def _settable(panel: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Columns a scenario may set, with the range observed in the panel."""

    dictionary = load_dictionary()
    cols = [c for c in dictionary.loc[dictionary["role"] == "government_support", "name"] if c in panel.columns]
    cols = [c for c in cols if not c.endswith(("_onset_year", "_onset_unknown"))]
    return {c: (float(panel[c].min()), float(panel[c].max())) for c in cols}


#: Data-dictionary unit of a binary (0/1) lever such as ``wh_agreement``, ``kcc_present``, ``fta_in_force``.
BINARY_UNIT = "1/0"


def lever_units(columns) -> dict[str, str]:
    """Column -> unit from the data dictionary ("1/0", "current US$", "ordinal 0-3", ...)."""
    dictionary = load_dictionary().set_index("name")["unit"].to_dict()
    return {c: str(dictionary.get(c, "")) for c in columns}


def describe_change(column: str, value: float, unit: str) -> str:
    """``wh_agreement=1 (0/1 lever: 1 = in place)``, ``kor_trade_usd=4e+10 (current US$)``."""
    if unit == BINARY_UNIT:
        return f"{column}={value:g} (0/1 lever: 1 = in place, 0 = not)"
    return f"{column}={value:g} ({unit})" if unit else f"{column}={value:g}"


def check_change_values(changes) -> dict[str, float]:
    """``changes`` is a mapping of column name -> number; returns it with float values.

    Raises :class:`~hallyu_forecast.errors.InputTypeError` naming the entry ("`changes['wh_agreement']`
    must be a number ...") instead of the ValueError ``float('yes')`` would raise deep inside.
    """
    if not isinstance(changes, Mapping):
        raise InputTypeError(f"`changes` must be a dict of panel column -> number, e.g. {{'kcc_present': 1}}. "
                             f"Got {type(changes).__name__} {changes!r}.")
    out = {}
    for key, value in changes.items():
        if not isinstance(key, str):
            raise InputTypeError(f"`changes` keys must be panel column names (strings), e.g. 'kcc_present'. "
                                 f"Got {type(key).__name__} {key!r}.")
        if not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
            raise InputTypeError(f"`changes['{key}']` must be a number (0 or 1 for a 0/1 lever such as "
                                 f"wh_agreement). Got {type(value).__name__} {value!r}.")
        out[key] = float(value)
    return out


def parse_changes(items) -> dict[str, float]:
    """``["kcc_present=1", ...]`` -> ``{"kcc_present": 1.0}``; bad syntax raises CausalError."""
    out = {}
    for item in items or []:
        name, sep, value = str(item).partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise CausalError(f"`--set {item}` must look like COLUMN=NUMBER, e.g. --set kcc_present=1.")
    return out


def _check_changes(changes: dict, panel: pd.DataFrame, iso3: str, origin: int) -> None:
    if not changes:
        raise CausalError("`changes` is empty: give at least one column=value, e.g. {'kcc_present': 1}.")
    settable = _settable(panel)
    row = panel[(panel["iso3"] == iso3) & (panel["year"] == origin)]
    units = lever_units(changes)
    for col, value in changes.items():
        if col not in settable:
            raise CausalError(f"`{col}` cannot be set in a scenario; use a government-support column such as "
                              f"{sorted(settable)[:8]} ...")
        if units[col] == BINARY_UNIT and value not in (0.0, 1.0):
            # a partial value would silently get the full effect of adoption (the estimate is of 0 -> 1)
            raise CausalError(f"`{col}` is a 0/1 lever (1 = in place, 0 = not): set it to 0 or 1. Got {value:g}.")
        lo, hi = settable[col]
        if not (lo <= value <= hi):
            raise CausalError(f"`{col}={value:g}` is outside the column's range [{lo:g}, {hi:g}] in the panel; "
                              "choose a value inside it.")
        current = float(row[col].iloc[0]) if not row.empty and pd.notna(row[col].iloc[0]) else 0.0
        if _lever_of(col) is not None and current >= value:
            raise CausalError(f"{iso3} already has `{col}`={current:g} in {origin} (already treated), so the "
                              f"change to {value:g} is no change; choose another country or lever.")


_CACHE: dict = {}


def _effects_for(lever: str, target: str, seed: int, panel, bundle=None) -> EffectsResult:
    stored = getattr(bundle, "effects", None)
    # the full run kept with the model at training time, on the panel the model answers from (a
    # bundle without its own panel uses the default panel, as train did): no re-estimation
    if stored is not None and stored.seed == seed and stored.lookup(lever, target) is not None \
            and bundle.panel is None:
        return stored
    key = (lever, target, seed, id(panel))
    if key not in _CACHE:
        _CACHE[key] = effects(levers=[lever], targets=[target], seed=seed, panel=panel, n_boot=499, n_placebo=49)
    return _CACHE[key]


def simulate(country: str, changes: dict, horizon: int = 3, seed: int = 0, model=None, rank: bool = True) -> Scenario:
    """Forecast ``country`` with and without ``changes`` (column -> value), with intervals.

    Parameters
    ----------
    country : str
        ISO3 code or English name.
    changes : dict
        Panel column -> new value from the forecast origin on, e.g. ``{"kcc_present": 1}``.
    horizon : int
        Forecast years 1..horizon (the model's horizons).
    seed : int
        Seed of the causal estimates' bootstrap.
    rank : bool
        Also rank the levers for the country (:func:`rank_levers`; adds a few seconds).

    Returns
    -------
    Scenario

    Examples
    --------
    >>> import hallyu_forecast as hf
    >>> s = hf.simulate("MEX", {"wh_agreement": 1}, horizon=3)  # doctest: +SKIP
    >>> s.forecast[["horizon", "baseline", "scenario", "effect", "basis"]]  # doctest: +SKIP
    """

    (h_max,) = check_horizons([horizon])
    bundle = resolve_model(model)
    panel = bundle.load_panel()
    iso3 = resolve_countries(country, codes=panel["iso3"].unique(), what="`country`")[0]
    horizons = list(range(1, h_max + 1))
    base = forecast(bundle, panel, countries=[iso3], horizon=horizons)
    origin = int(base["origin"].iloc[0])
    changes = check_change_values(changes)
    _check_changes(changes, panel, iso3, origin)
    causal, assoc, trade = {}, {}, None
    for col, value in changes.items():
        if col == "kor_trade_usd":
            row = _trade_row(bundle.target, seed, panel)
            now = panel.loc[(panel["iso3"] == iso3) & (panel["year"] <= origin), col].dropna()
            if row is not None and not now.empty and now.iloc[-1] > 0 and value > 0:
                trade = (row, float(np.log(value / now.iloc[-1])))
                continue
        lv = _lever_of(col)
        row = None
        if lv is not None:
            res = _effects_for(lv.name, bundle.target, seed, panel, bundle)
            row = res.lookup(lv.name, bundle.target)
            if row is not None and np.isfinite(row["estimate"]):
                causal[col] = (lv, res)
                continue
        assoc[col] = value
    scen_panel = panel
    if assoc:
        scen_panel = panel.copy()
        rows = (scen_panel["iso3"] == iso3) & (scen_panel["year"] >= origin)
        for col, value in assoc.items():
            scen_panel.loc[rows, col] = value
        scen = forecast(bundle, scen_panel, countries=[iso3], horizon=horizons, origin=origin)
    else:
        scen = base
    out = pd.DataFrame({
        "iso3": iso3, "horizon": base["horizon"], "target_year": base["target_year"],
        "baseline": base["prediction"], "baseline_lower": base["lower"], "baseline_upper": base["upper"],
    })
    pred = scen["prediction"].to_numpy()
    # Conformal intervals can be asymmetric: keep each side's width.
    lo80, hi80 = pred - scen["lower"].to_numpy(), scen["upper"].to_numpy() - pred
    lo95, hi95 = pred - scen["lower_95"].to_numpy(), scen["upper_95"].to_numpy() - pred
    effect = pred - base["prediction"].to_numpy()
    var = np.zeros(len(out))
    basis = []
    if assoc:
        basis.append(f"association (predictive model re-run with {', '.join(f'{k}={v:g}' for k, v in assoc.items())})")
    for col, (lv, res) in causal.items():
        dyn = res.event_time[(res.event_time["lever"] == lv.name) & (res.event_time["target"] == bundle.target)]
        dyn = dyn.set_index("event_time")
        row = res.lookup(lv.name, bundle.target)
        overall_se = (row["ci_hi"] - row["ci_lo"]) / (2 * Z95)
        for i, h in enumerate(out["horizon"]):
            e = int(h) - 1
            if e in dyn.index and dyn.loc[e, "period"] == "post":
                est, se = float(dyn.loc[e, "estimate"]), float(dyn.loc[e, "se"])
            else:
                est, se = float(row["estimate"]), float(overall_se)
            effect[i] += est
            var[i] += se ** 2
        basis.append(f"{_causal_label(row['verdict'])} ({col}: event study of {lv.name}, verdict: {row['verdict']})")
    if trade is not None:
        # DML: one log point of trade per capita moves the target by theta; population is held fixed.
        row, dlog = trade
        se = (row["ci_hi"] - row["ci_lo"]) / (2 * Z95)
        effect = effect + dlog * row["estimate"]
        var = var + (dlog * se) ** 2
        basis.append(f"{_causal_label(row['verdict'])} (kor_trade_usd: double ML of trade_intensity, "
                     f"{dlog:+.3f} log points of trade, "
                     f"verdict: {row['verdict']})")
    sd = np.sqrt(var)
    scen_pred = base["prediction"].to_numpy() + effect
    out["scenario"] = scen_pred
    out["scenario_lower"] = scen_pred - np.sqrt(lo80 ** 2 + (Z80 * sd) ** 2)
    out["scenario_upper"] = scen_pred + np.sqrt(hi80 ** 2 + (Z80 * sd) ** 2)
    out["scenario_lower_95"] = scen_pred - np.sqrt(lo95 ** 2 + (Z95 * sd) ** 2)
    out["scenario_upper_95"] = scen_pred + np.sqrt(hi95 ** 2 + (Z95 * sd) ** 2)
    out["effect"] = effect
    has_causal_only = (bool(causal) or trade is not None) and not assoc
    out["effect_lo"] = effect - Z95 * sd if has_causal_only else np.nan
    out["effect_hi"] = effect + Z95 * sd if has_causal_only else np.nan
    out["effect_pct"] = 100 * (np.exp(effect) - 1)
    out["basis"] = "; ".join(basis)
    levers = (rank_levers(iso3, target=bundle.target, seed=seed, panel=panel, origin=origin) if rank
              else pd.DataFrame(columns=["lever", "column", "estimate", "ci_lo", "ci_hi", "verdict", "basis",
                                         "estimate_pct", "credible", "rank"]))
    return Scenario(iso3, changes, out.reset_index(drop=True), levers, lever_units(changes))


def _causal_label(verdict: str) -> str:
    """"causal", or "causal (pre-trends fail)" / "causal (not credible)" when a check failed: an
    estimate that failed its pre-trend test is not a clean causal answer, and the basis says so."""
    text = str(verdict)
    if "pre-trends rejected" in text:
        return "causal (pre-trends fail)"
    if "not credible" in text or "refutation failed" in text:
        return "causal (not credible)"
    return "causal"


def _trade_row(target: str, seed: int, panel) -> pd.Series | None:
    """DML estimate of trade intensity with its refutations (they decide credibility), cached."""

    key = ("trade_row", target, seed, id(panel))
    if key not in _CACHE:
        row = _dml_row(panel, "trade_intensity", target, seed, [])
        _CACHE[key] = pd.Series(row) if np.isfinite(row["estimate"]) else None
    return _CACHE[key]


def rank_levers(country: str, target: str = "youth_arrivals_per_capita", seed: int = 0,
                panel: pd.DataFrame | None = None, origin: int | None = None,
                result: EffectsResult | None = None) -> pd.DataFrame:
    """Levers the country does not have yet, ranked by their credible effect (95% lower bound) first.

    Credible = a positive effect whose verdict carries no failed check (pre-trends, placebo,
    refutations); credible levers come first, each group sorted by the 95% lower bound.

    Returns
    -------
    DataFrame
        lever, column, estimate, ci_lo, ci_hi (log points of ``target``), estimate_pct, verdict,
        basis, credible, rank. Trade intensity is shown for a 10% rise in trade with Korea.
    """

    if panel is None:
        panel = load_panel()
    iso3 = resolve_countries(country, codes=panel["iso3"].unique(), what="`country`")[0]
    rows_c = panel[panel["iso3"] == iso3]
    origin = int(rows_c["year"].max()) if origin is None else origin
    now = rows_c[rows_c["year"] <= origin].ffill().iloc[-1]
    rows = []
    for lv in EVENT_LEVERS.values():
        col = lv.settings[0]
        if pd.notna(now[col]) and float(now[col]) > 0:
            continue  # already in place
        res = result if result is not None else _effects_for(lv.name, target, seed, panel)
        row = res.lookup(lv.name, target)
        if row is not None:
            rows.append({"lever": lv.name, "column": col, "estimate": row["estimate"], "ci_lo": row["ci_lo"],
                         "ci_hi": row["ci_hi"], "verdict": row["verdict"], "basis": "causal (event study)"})
    if "trade_intensity" in CONTINUOUS_LEVERS:
        row = result.lookup("trade_intensity", target) if result is not None else None
        if row is None:
            row = _trade_row(target, seed, panel)
        if row is not None and np.isfinite(row["estimate"]):
            k = np.log(1.1)
            rows.append({"lever": "trade_intensity (+10% trade)", "column": "kor_trade_usd",
                         "estimate": k * row["estimate"], "ci_lo": k * row["ci_lo"], "ci_hi": k * row["ci_hi"],
                         "verdict": row["verdict"], "basis": "causal (double ML)"})
    out = pd.DataFrame(rows, columns=["lever", "column", "estimate", "ci_lo", "ci_hi", "verdict", "basis"])
    out["estimate_pct"] = 100 * (np.exp(out["estimate"]) - 1)
    out["credible"] = out["verdict"].str.startswith("positive effect") & ~out["verdict"].str.contains("not credible")
    out = out.sort_values(["credible", "ci_lo"], ascending=[False, False], na_position="last").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out
