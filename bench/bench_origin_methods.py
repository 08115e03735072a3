"""Which method should answer a December origin: the annual forecaster or the monthly path? (issue 18 item 1)

Usage::

    python bench/bench_origin_methods.py [--reps 1000]     # about 20 s on 2 shared cores

``predict(origin=Y)`` (the annual forecaster: persistence + median drift + momentum + learned
adjustment, anchored on 2019 with recovery at the COVID origins) and ``predict(origin="Y-12")``
(the monthly path: the nowcast from January-December, i.e. the observed total, plus the pooled
drift after a normal year, or each country's recovery path ``monthly.recovery_forecast`` after a
shock) both use every month through December of Y. For every December origin Y of the backtest
(2013-2018) and the COVID origins (2020, 2021), the default experiment's forecaster is refitted on
rows with target year <= Y (COVID targets excluded, as in the backtest), put in a copy of the
shipped bundle, and both paths of ``inference.forecast`` answer from it (the same code predict
runs). Scored: log target of Y + h, h = 1..3, where observed (no COVID target years for the
normal origins, as in the backtest). RMSE and the ratio monthly / annual with a 95% country
bootstrap.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

from hallyu_forecast.bundle import load_bundle
from hallyu_forecast.config import load_config
from hallyu_forecast.features import target_series
from hallyu_forecast.inference import forecast

NORMAL_ORIGINS = list(range(2013, 2019))
COVID_ORIGINS = [2020, 2021]
COVID_TARGETS = {2020, 2021}


def fold_forecasts() -> pd.DataFrame:
    """Both paths' forecasts at every December origin from a forecaster fitted on data up to it."""

    cfg = load_config("default")
    shipped = load_bundle()
    panel = shipped.load_panel()
    tspec = shipped.specs.targets[shipped.target]
    y = panel.assign(y=target_series(panel, tspec).to_numpy()).set_index(["iso3", "year"])["y"]
    fm = cfg.build_features(panel)
    rows = []
    for origin in NORMAL_ORIGINS + COVID_ORIGINS:
        t0 = time.perf_counter()
        train = dataclasses.replace(fm, frame=fm.frame[cfg.split.train_mask(fm.frame, origin)].reset_index(drop=True))
        fitted = cfg.make_forecaster().fit(train)
        bundle = dataclasses.replace(shipped, forecaster=fitted)
        annual = forecast(bundle, panel, horizon=[1, 2, 3], origin=origin)
        monthly = forecast(bundle, panel, horizon=[1, 2, 3], origin=f"{origin}-12")
        monthly = monthly[monthly["horizon"] > 0]
        a = annual[annual["model"] != "new_market"].set_index(["iso3", "horizon"])
        m = monthly.set_index(["iso3", "horizon"])
        both = a.index.intersection(m.index)
        for key in both:
            iso3, h = key
            actual = y.get((iso3, origin + h), np.nan)
            if not np.isfinite(actual) or (origin in NORMAL_ORIGINS and origin + h in COVID_TARGETS):
                continue
            rows.append({"origin": origin, "iso3": iso3, "horizon": int(h), "y": actual,
                         "annual": a.loc[key, "prediction"], "monthly": m.loc[key, "prediction"],
                         "monthly_model": m.loc[key, "model"],
                         "annual_in80": a.loc[key, "lower"] <= actual <= a.loc[key, "upper"],
                         "monthly_in80": m.loc[key, "lower"] <= actual <= m.loc[key, "upper"]})
        print(f"  origin {origin}: {len(both)} countries, {time.perf_counter() - t0:.1f} s", flush=True)
    return pd.DataFrame(rows)


def _rmse(e) -> float:
    return float(np.sqrt(np.mean(np.square(e))))


def score(frame: pd.DataFrame, reps: int, seed: int = 0) -> dict:
    """RMSE of both paths and the ratio monthly / annual, 95% bootstrap over countries."""

    ea, em = frame["annual"] - frame["y"], frame["monthly"] - frame["y"]
    ratio = _rmse(em) / _rmse(ea)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(frame["iso3"].to_numpy() == c) for c in frame["iso3"].unique()]
    draws = []
    for _ in range(reps):
        idx = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        draws.append(_rmse(em.to_numpy()[idx]) / _rmse(ea.to_numpy()[idx]))
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return {"n": len(frame), "countries": len(groups), "rmse_annual": _rmse(ea), "rmse_monthly": _rmse(em),
            "ratio": ratio, "lo": lo, "hi": hi, "cov80_annual": frame["annual_in80"].mean(),
            "cov80_monthly": frame["monthly_in80"].mean()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=1000, help="bootstrap replicates")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    bt = fold_forecasts()
    groups = [("normal origins 2013-2018", bt["origin"].isin(NORMAL_ORIGINS), None)]
    groups += [(f"normal, h={h}", bt["origin"].isin(NORMAL_ORIGINS), h) for h in (1, 2, 3)]
    groups += [("COVID origins 2020-2021", bt["origin"].isin(COVID_ORIGINS), None),
               ("2020-12 -> 2021 (h=1)", bt["origin"] == 2020, 1), ("2020-12 -> 2022 (h=2)", bt["origin"] == 2020, 2),
               ("2021-12 -> 2022 (h=1)", bt["origin"] == 2021, 1), ("all December origins", bt["origin"] > 0, None)]
    out = []
    for label, mask, h in groups:
        part = bt[mask & (bt["horizon"] == h)] if h else bt[mask]
        if len(part):
            out.append({"rows": label, **score(part.reset_index(drop=True), args.reps)})
    table = pd.DataFrame(out)
    print("\nDecember origins: the monthly path (origin='Y-12') vs the annual forecaster (origin=Y), same fold model;")
    print("RMSE of the log target; ratio = monthly / annual with a 95% country bootstrap; 80% interval coverage")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
