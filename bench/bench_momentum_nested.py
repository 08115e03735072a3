"""Nested rolling-origin evaluation of the momentum term (issue 18, item 3): every variant, honestly selected.

Usage::

    python bench/bench_momentum_nested.py      # about 15 s

Each variant is ``forecast = y_origin + median_h + beta_h * clip(x)`` (as ``bench/bench_momentum.py``):
``median_h`` the median h-year change of the training rows (target year <= origin, COVID target years
excluded), ``beta_h`` their pooled least-squares slope of the departure from persistence + median drift
on the signal ``x``, ``x`` clipped at the training rows' 5%-95% quantiles (missing ``x``: 0). Signals,
all known in December of the origin year (monthly youth arrivals; ``d1`` = the annual log change of
the target, ``target_change_1y``):

* ``none``: persistence + median drift (the baseline);
* ``q4_run_rate``: Q4-on-Q4 log change - d1 (the shipped momentum term);
* ``h2_run_rate``: July-December on July-December - d1; ``q3q4_split``: the Q4 and Q3 run-rates as
  two slopes;
* ``h2_vs_h1``: the in-year turn net of seasonality (``month_h2_vs_h1``);
* ``since_shock``: the Q4 run-rate only within 36 months of a shock run's start (``months_since_shock``);
* ``gap_to_normal``: Q4 vs the same months of the last normal year (the rebound room);
* ``common``: the cross-country median Q4 run-rate of the origin (the common shock) and
  ``idiosyncratic``: the country's Q4 run-rate minus it.

**Nested selection**: for each scored origin ``o`` (2013-2018) and horizon, the variant is the one with
the lowest RMSE on the inner origins ``o' < o`` (from 2011) whose target years are <= ``o`` (known at
``o``), each inner forecast fitted on target years <= ``o'``; with no inner score yet, the baseline.
Scored: RMSE ratio vs persistence + median drift with a 95% country bootstrap, for every variant on the
same folds (not nested: shown so every variant tried is reported) and for the nested choice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.config import load_config
from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.evaluation import bootstrap_ratio
from hallyu_forecast.monthly import load_monthly, wide

SCORED = [2013, 2014, 2015, 2016, 2017, 2018]
INNER_FIRST = 2011
VARIANTS = ["none", "q4_run_rate", "h2_run_rate", "q3q4_split", "h2_vs_h1", "since_shock", "gap_to_normal",
            "common", "idiosyncratic"]


def _extra_signals() -> pd.DataFrame:
    """H2- and Q3-on-a-year-earlier log changes of youth arrivals per (iso3, year)."""
    w = wide(load_monthly())
    rows = []
    for (iso3, year), v in w.iterrows():
        prev = (iso3, year - 1)
        if prev not in w.index:
            continue
        p = w.loc[prev].to_numpy(float)
        v = v.to_numpy(float)
        rows.append({"iso3": iso3, "origin": int(year),
                     "h2_yoy": float(np.log((v[6:].sum() + 1) / (p[6:].sum() + 1))),
                     "q3_yoy": float(np.log((v[6:9].sum() + 1) / (p[6:9].sum() + 1)))})
    return pd.DataFrame(rows)


def signals(f: pd.DataFrame) -> dict[str, list[str]]:
    """Add every variant's signal column(s) to ``f``; variant -> its columns."""
    d1 = f["target_change_1y"]
    f["s_q4"] = f["month_q4_yoy"] - d1
    f["s_h2"] = f["h2_yoy"] - d1
    f["s_q3"] = f["q3_yoy"] - d1
    f["s_turn"] = f["month_h2_vs_h1"]
    f["s_since"] = f["s_q4"].where(f["months_since_shock"] <= 36, 0.0)
    f["s_gap"] = f["month_q4_gap_to_normal"]
    common = f.groupby(["origin", "horizon"])["s_q4"].transform("median")
    f["s_common"] = common
    f["s_idio"] = f["s_q4"] - common
    return {"none": [], "q4_run_rate": ["s_q4"], "h2_run_rate": ["s_h2"], "q3q4_split": ["s_q4", "s_q3"],
            "h2_vs_h1": ["s_turn"], "since_shock": ["s_since"], "gap_to_normal": ["s_gap"],
            "common": ["s_common"], "idiosyncratic": ["s_idio"]}


def forecast(f: pd.DataFrame, cols: list[str], origin: int, h: int) -> pd.DataFrame:
    """Forecasts at ``origin``, horizon ``h``, fitted on rows with target year <= origin."""
    train = f[(f["horizon"] == h) & (f["target_year"] <= origin)]
    test = f[(f["horizon"] == h) & (f["origin"] == origin)]
    drift = float(np.median(train["y"] - train["y_origin"])) if len(train) else 0.0
    pred = test["y_origin"] + drift
    if cols and len(train):
        x = train[cols].to_numpy(float)
        ok = np.isfinite(x).all(axis=1)
        dev = (train["y"] - train["y_origin"] - drift).to_numpy()[ok]
        x = x[ok]
        if len(x) > 10:
            lo, hi = np.quantile(x, 0.05, axis=0), np.quantile(x, 0.95, axis=0)
            beta, *_ = np.linalg.lstsq(x, dev, rcond=None)
            xt = np.nan_to_num(np.clip(test[cols].to_numpy(float), lo, hi), nan=0.0)
            pred = pred + xt @ beta
    return pd.DataFrame({"iso3": test["iso3"], "origin": origin, "horizon": h, "target_year": test["target_year"],
                         "y": test["y"], "prediction": pred})


def main() -> int:
    cfg = load_config(Path(__file__).resolve().parents[1] / "experiments" / "monthly.toml")
    f = cfg.build_features().frame
    f = f[f["y"].notna() & f["y_origin"].notna() & ~f["target_year"].isin(COVID_YEARS)].copy()
    f = f.merge(_extra_signals(), on=["iso3", "origin"], how="left")
    cols = signals(f)
    horizons = list(cfg.split.horizons)
    every = {}
    for v, c in cols.items():
        parts = [forecast(f, c, o, h) for o in range(INNER_FIRST, max(SCORED) + 1) for h in horizons]
        every[v] = pd.concat(parts, ignore_index=True).assign(variant=v)
    allp = pd.concat(every.values(), ignore_index=True)
    allp["se"] = (allp["y"] - allp["prediction"]) ** 2
    chosen, picks = [], []
    for o in SCORED:
        for h in horizons:
            inner = allp[(allp["origin"] < o) & (allp["target_year"] <= o) & (allp["horizon"] == h)]
            if inner.empty:
                pick = "none"
            else:
                pick = inner.groupby("variant")["se"].mean().reindex(VARIANTS).idxmin()
            picks.append({"origin": o, "horizon": h, "variant": pick})
            chosen.append(allp[(allp["variant"] == pick) & (allp["origin"] == o) & (allp["horizon"] == h)])
    nested = pd.concat(chosen, ignore_index=True)
    base = allp[(allp["variant"] == "none") & allp["origin"].isin(SCORED)]
    key = ["iso3", "origin", "horizon"]
    print("variant chosen per scored origin (nested, from inner origins only):")
    print(pd.DataFrame(picks).pivot(index="origin", columns="horizon", values="variant").to_string())
    rows = []
    for name, frame in [*((v, allp[(allp["variant"] == v) & allp["origin"].isin(SCORED)]) for v in VARIANTS),
                        ("NESTED choice", nested)]:
        for h in horizons:
            a = frame[frame["horizon"] == h].merge(base[base["horizon"] == h][key + ["prediction"]], on=key,
                                                   suffixes=("", "_base"))
            ratio, lo, hi = bootstrap_ratio(a["y"] - a["prediction"], a["y"] - a["prediction_base"], a["iso3"])
            rmse = float(np.sqrt(((a["y"] - a["prediction"]) ** 2).mean()))
            rows.append({"variant": name, "h": h, "n": len(a), "rmse": rmse,
                         "ratio": f"{ratio:.3f} [{lo:.3f}, {hi:.3f}]"})
    out = pd.DataFrame(rows)
    print("\nRMSE and ratio vs persistence + median drift (95% country bootstrap), origins 2013-2018:")
    print(out.pivot(index="variant", columns="h", values="ratio").reindex([*VARIANTS, "NESTED choice"]).to_string())
    rmse = out.pivot(index="variant", columns="h", values="rmse").reindex([*VARIANTS, "NESTED choice"])
    print(rmse.round(4).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
