"""Experiment for issue 12: the Q4 run-rate as a linear momentum term on persistence + median drift.

Usage::

    python bench/bench_momentum.py

The monthly features (``experiments/monthly.toml``) do not help as inputs of the forecaster's learned
adjustment, which is shrunk towards persistence + drift (weight about 0.05). This script tests the
signal the issue measured directly, on the backtest's folds (origins 2013-2018, expanding window,
COVID target years excluded, no training row with a target year after the origin):

    forecast = y_origin + median_h + beta_h * clip(x),   x = month_q4_yoy - target_change_1y

``median_h`` is the median h-year change of the training rows (the persistence + median drift
baseline), ``beta_h`` the pooled least-squares slope of the training rows' departure from that
baseline on ``x`` (the Q4-on-Q4 log change against the annual log change, both known in December of
the origin year), ``x`` clipped at the training rows' 5%-95% quantiles. It prints the RMSE of both and
the ratio with its 95% country-bootstrap interval per horizon: the term of ``HallyuForecaster(momentum="q4_run_rate")``
(the default experiment) computed on its own, as a check of the forecaster's figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def main() -> int:
    from pathlib import Path

    from hallyu_forecast.config import load_config
    from hallyu_forecast.conventions import COVID_YEARS
    from hallyu_forecast.evaluation import bootstrap_ratio

    cfg = load_config(Path(__file__).resolve().parents[1] / "experiments" / "monthly.toml")
    f = cfg.build_features().frame
    f = f[f["y"].notna() & f["y_origin"].notna() & ~f["target_year"].isin(COVID_YEARS)].copy()
    f["x"] = f["month_q4_yoy"] - f["target_change_1y"]
    parts = []
    for origin in cfg.split.origins:
        for h in cfg.split.horizons:
            train = f[(f["horizon"] == h) & (f["target_year"] <= origin)]
            test = f[(f["horizon"] == h) & (f["origin"] == origin)]
            if test.empty:
                continue
            drift = float(np.median(train["y"] - train["y_origin"]))
            known = train["x"].notna()
            x = train.loc[known, "x"].to_numpy()
            dev = (train.loc[known, "y"] - train.loc[known, "y_origin"] - drift).to_numpy()
            beta = float(x @ dev / (x @ x)) if len(x) > 10 else 0.0
            lo, hi = np.quantile(x, [0.05, 0.95]) if len(x) else (0.0, 0.0)
            base = test["y_origin"] + drift
            pred = base + beta * test["x"].clip(lo, hi).fillna(0.0)
            parts.append(pd.DataFrame({"iso3": test["iso3"], "origin": origin, "horizon": h, "beta": beta,
                                       "error_momentum": test["y"] - pred, "error_baseline": test["y"] - base}))
    r = pd.concat(parts, ignore_index=True)
    print("beta per origin (h = 1):", r[r["horizon"] == 1].groupby("origin")["beta"].first().round(3).to_dict())
    print(f"{'h':>2} {'momentum':>9} {'pers.+median drift':>19}  ratio [95% country bootstrap]")
    for h, g in r.groupby("horizon"):
        ratio, lo, hi = bootstrap_ratio(g["error_momentum"], g["error_baseline"], g["iso3"])
        rm, rb = np.sqrt((g["error_momentum"] ** 2).mean()), np.sqrt((g["error_baseline"] ** 2).mean())
        print(f"{h:>2} {rm:9.4f} {rb:19.4f}  {ratio:.3f} [{lo:.3f}, {hi:.3f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
