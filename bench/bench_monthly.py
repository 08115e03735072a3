"""Benchmark: the month-aware features, the recovery rule and the in-year nowcasts. Seeded.

Usage::

    python bench/bench_monthly.py [--reps 1000]

Prints

1. the annual rolling-origin backtest of the ``default`` experiment (without month-aware
   features) and of ``monthly`` (with them) side by side: RMSE and ratio vs persistence +
   median drift with country-bootstrap 95% intervals, h = 1..3, and the learned weight;
2. the recovery rule on pseudo-origins inside the data (full-year 2022 from 2020-12, 2021-06,
   2021-12, 2022-06) against "back to 2019" and the annual anchor + recovery rule;
3. nowcast RMSE by origin month m = 1..11 over the pre-COVID years, against the naive "same
   months as last year x last year's total" rule and against the annual h = 1 forecast;
4. timings: feature build, final fit and predict with and without the monthly features.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from _timing import final_fit_timings  # bench/_timing.py (the script's folder is on sys.path)


def _rmse(e) -> float:
    e = np.asarray(e, float)
    return float(np.sqrt(np.mean(e ** 2)))


def annual(reps: int | None):
    from hallyu_forecast.baselines import PersistenceDrift
    from hallyu_forecast.config import load_config
    from hallyu_forecast.evaluation import backtest
    from hallyu_forecast.panel import load_panel

    panel = load_panel()
    rows, timings, results = [], [], {}
    for name in ("default", "monthly"):
        cfg = load_config(name)
        models = {"forecaster": cfg.make_forecaster(),
                  "persistence_median_drift": PersistenceDrift(estimator="median")}
        result = backtest(cfg, panel=panel, models=models, bootstrap_reps=reps, new_market=False, covid=False)
        results[name] = result
        m = result.metrics.pivot(index="horizon", columns="model", values="rmse")
        r = result.ratios[(result.ratios["baseline"] == "persistence_median_drift") & (result.ratios["horizon"] != "all")]
        for row in r.itertuples(index=False):
            h = int(row.horizon)
            rows.append({"experiment": name, "h": h, "rmse": m.loc[h, "forecaster"],
                         "rmse_pers_median_drift": m.loc[h, "persistence_median_drift"],
                         "ratio": row.ratio, "lo": row.lo, "hi": row.hi})
        tm = final_fit_timings(cfg, panel, repeats=10)
        final, features_s, fit_s = tm["final"], tm["features_s"], tm["final_fit_s"]
        timings.append({"experiment": name, "features_s": features_s, "final_fit_s": fit_s,
                        "predict_one_origin_s": tm["predict_one_origin_s"],
                        "backtest_s": result.timings.get("backtest_s", np.nan),
                        "shrinkage_": final.shrinkage_, "n_features": len(final.features_)})
    table = pd.DataFrame(rows)
    side = table.pivot(index="h", columns="experiment")
    print("Annual backtest, origins 2013-2018, ratio vs persistence + median drift (95% country bootstrap)")
    for h in sorted(table["h"].unique()):
        parts = []
        for name in ("default", "monthly"):
            t = table[(table["experiment"] == name) & (table["h"] == h)].iloc[0]
            parts.append(f"{name}: rmse {t.rmse:.4f} ratio {t.ratio:.3f} [{t.lo:.3f}, {t.hi:.3f}]")
        print(f"  h={h}  " + " | ".join(parts) + f" | pers+median drift rmse {t.rmse_pers_median_drift:.4f}")
    print("\nTimings (s)")
    print(pd.DataFrame(timings).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return results, side


def recovery():
    from hallyu_forecast.bundle import load_bundle
    from hallyu_forecast.features import target_series
    from hallyu_forecast.monthly import load_monthly, recovery_forecast
    from hallyu_forecast.panel import load_panel

    bundle = load_bundle()
    model = bundle.forecaster
    drift, rho_a = float(model.drift_), float(model.covid_rho_)
    panel = load_panel()
    tspec = bundle.specs.targets[bundle.target]
    panel = panel.assign(y=target_series(panel, tspec).to_numpy())
    y = panel.set_index(["iso3", "year"])["y"]
    pop = panel.set_index(["iso3", "year"])["population"]
    monthly = load_monthly()
    target = 2022
    rows = []
    for (oy, om) in [(2020, 12), (2021, 6), (2021, 12), (2022, 6)]:
        annual_origin = oy if om == 12 else oy - 1
        for rate in ("past", "recent"):
            rec = recovery_forecast(monthly, oy, om, [target], drift=drift, rate=rate)
            for r in rec.itertuples(index=False):
                key = (r.iso3, target)
                if key not in y.index or not np.isfinite(y[key]) or not np.isfinite(y.get((r.iso3, 2019), np.nan)):
                    continue
                y19, yo = y[(r.iso3, 2019)], y.get((r.iso3, annual_origin), np.nan)
                pred = r.log_total + np.log(tspec.scale / pop[key])
                gap = yo - (y19 + (annual_origin - 2019) * drift)
                annual_rule = y19 + (target - 2019) * drift + rho_a ** (target - annual_origin) * gap
                rows.append({"origin": f"{oy}-{om:02d}", "rate": rate, "iso3": r.iso3, "rho": r.rho,
                             "monthly_recovery": pred - y[key], "back_to_2019": y19 - y[key],
                             "annual_rule": annual_rule - y[key], "persistence": yo - y[key]})
    err = pd.DataFrame(rows).dropna()
    out = err.groupby(["origin", "rate"]).agg(
        n=("iso3", "size"), rho_month=("rho", "first"),
        monthly_recovery=("monthly_recovery", _rmse), back_to_2019=("back_to_2019", _rmse),
        annual_rule=("annual_rule", _rmse), persistence=("persistence", _rmse)).reset_index()
    out["ratio_vs_back_to_2019"] = out["monthly_recovery"] / out["back_to_2019"]
    out["ratio_vs_annual_rule"] = out["monthly_recovery"] / out["annual_rule"]
    print(f"\nRecovery: full-year {target} (RMSE of the log target), annual rule drift={drift:.4f} rho={rho_a:.3f}")
    print(out.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return out


def nowcasts(results):
    from hallyu_forecast.monthly import backtest_nowcast, load_monthly

    t0 = time.perf_counter()
    bt = backtest_nowcast(load_monthly(), years=range(2011, 2020))
    elapsed = time.perf_counter() - t0
    pred = results["default"].predictions
    annual = pred[(pred["model"] == "forecaster") & (pred["horizon"] == 1)]
    annual = annual.assign(err_annual=annual["prediction"] - annual["y"])[["iso3", "target_year", "err_annual"]]
    bt = bt.merge(annual.rename(columns={"target_year": "year"}), on=["iso3", "year"], how="left")
    # precision-weighted combination of the nowcast and the annual h=1 forecast, with weights from
    # earlier years only: w = s_a^2 / (s_a^2 + s_n^2), s_n = nowcast RMSE at month m in years < Y,
    # s_a = annual RMSE in target years < Y (so it starts in 2015)
    bt["err_now"] = bt["nowcast"] - bt["actual"]
    bt["err_comb"] = np.nan
    for (year, m), idx in bt.groupby(["year", "month"]).groups.items():
        before = bt[(bt["year"] < year) & (bt["month"] == m)]
        ann = bt[(bt["year"] < year) & (bt["month"] == m)].dropna(subset=["err_annual"])
        if len(ann) < 20:
            continue
        s_n2, s_a2 = float((before["err_now"] ** 2).mean()), float((ann["err_annual"] ** 2).mean())
        w = s_a2 / (s_a2 + s_n2)
        bt.loc[idx, "err_comb"] = w * bt.loc[idx, "err_now"] + (1 - w) * bt.loc[idx, "err_annual"]
    rows = []
    for m, part in bt.groupby("month"):
        common = part.dropna(subset=["err_annual"])
        late = part.dropna(subset=["err_comb", "err_annual"])
        rows.append({"m": int(m), "n": len(part), "nowcast": _rmse(part["nowcast"] - part["actual"]),
                     "naive": _rmse(part["naive"] - part["actual"]),
                     "n_2014_19": len(common),
                     "nowcast_2014_19": _rmse(common["nowcast"] - common["actual"]),
                     "annual_h1_2014_19": _rmse(common["err_annual"]),
                     "n_2015_19": len(late), "nowcast_2015_19": _rmse(late["err_now"]),
                     "annual_2015_19": _rmse(late["err_annual"]), "combined_2015_19": _rmse(late["err_comb"])})
    out = pd.DataFrame(rows)
    out["ratio_vs_naive"] = out["nowcast"] / out["naive"]
    print(f"\nNowcasts: RMSE of the log annual total by origin month m (years 2011-2019; {elapsed:.1f}s)")
    print(out.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=None, help="bootstrap replicates (default: the config's)")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    results, _ = annual(args.reps)
    recovery()
    nowcasts(results)
    import hallyu_forecast as hf

    t0 = time.perf_counter()
    hf.predict(["JPN", "THA"], origin="2022-06", horizon=[1, 2])
    print(f"\npredict(origin='2022-06') for 2 countries: {time.perf_counter() - t0:.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
