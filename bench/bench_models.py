"""Benchmark: accuracy of the forecaster vs every baseline, and timings. Seeded and reproducible.

Usage::

    python bench/bench_models.py [experiment] [--reps 1000] [--no-extras]

Prints, for the experiment's rolling-origin backtest (default: ``default``):

1. RMSE per horizon of the forecaster, every baseline and extra comparators (LightGBM on
   levels, LightGBM on changes, LightGBM with full weight on its departure from drift,
   persistence + median drift);
2. the forecaster's RMSE ratio to each of them with a country-bootstrap 95% interval;
3. interval coverage, new-market (leave-countries-out) and COVID-origin results;
4. timings: feature build, final fit on all rows (what ``train`` does after the backtest),
   full backtest, and predict latency for one origin (median of 20 calls).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from _timing import final_fit_timings  # bench/_timing.py (the script's folder is on sys.path)


def main(argv=None) -> int:
    from hallyu_forecast.evaluation import backtest
    from hallyu_forecast.baselines import PersistenceDrift, make_baseline
    from hallyu_forecast.config import load_config
    from hallyu_forecast.panel import load_panel

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", nargs="?", default="default")
    parser.add_argument("--reps", type=int, default=None, help="bootstrap replicates (default: the config's)")
    parser.add_argument("--no-extras", action="store_true", help="only the config's baselines")
    args = parser.parse_args(argv)

    cfg = load_config(args.experiment)
    panel = load_panel()
    models = {"forecaster": cfg.make_forecaster()}
    for name in cfg.baselines:
        models[name] = make_baseline(name, exclude_covid_targets=cfg.exclude_covid_targets)
    if not args.no_extras:
        models["persistence_median_drift"] = PersistenceDrift(estimator="median")
        models["lgbm_full_weight"] = cfg.make_forecaster(shrinkage=1.0)
        models["lgbm_change"] = cfg.make_forecaster(target_mode="change", objective="l2", shrinkage=1.0, momentum=None)
        models["lgbm_level"] = cfg.make_forecaster(target_mode="level", objective="l2", momentum=None, num_leaves=15, max_depth=-1,
                                                   min_child_samples=10, n_estimators=300, learning_rate=0.05,
                                                   colsample_bytree=0.8, reg_lambda=0.0)

    pd.set_option("display.width", 200)
    started = time.perf_counter()
    result = backtest(cfg, panel=panel, models=models, bootstrap_reps=args.reps)
    backtest_s = time.perf_counter() - started
    print(result.report())

    # the same backtest with only the config's models, as `train` runs it
    t0 = time.perf_counter()
    backtest(cfg, panel=panel)
    train_backtest_s = time.perf_counter() - t0

    tm = final_fit_timings(cfg, panel, repeats=20)
    final, one, features_s, fit_s = tm["final"], tm["one"], tm["features_s"], tm["final_fit_s"]
    print("\nFinal model (all rows):", f"shrinkage_={final.shrinkage_:.3f}", f"drift_={final.drift_:.4f}",
          f"covid_rho_={final.covid_rho_:.3f}", f"n_train_={final.n_train_}")
    timings = pd.DataFrame([
        ("feature build (all origins)", features_s),
        ("final fit on all rows (history + calibration + new-market)", fit_s),
        (f"predict one origin ({len(one.frame)} rows), median of 20", tm["predict_one_origin_s"]),
        (f"backtest incl. {len(models)} models, LCO and COVID", backtest_s),
        ("backtest as `train` runs it (config models only)", train_backtest_s),
        ("train estimate = backtest + features + final fit", train_backtest_s + features_s + fit_s),
    ], columns=["step", "seconds"])
    print("\nTimings")
    print(timings.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
