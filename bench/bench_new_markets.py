"""New markets: the drivers model of levels, its blend with the NewMarketModel, leave-countries-out (issue 18 item 4).

Usage::

    python bench/bench_new_markets.py [--reps 1000]       # about 20 s on 2 shared cores

Forecasts of held-out countries (the forecaster's 5 leave-countries-out folds, origins 2013-2018,
h = 1-3, COVID target years excluded) by the NewMarketModel, the drivers model
(``m(t) + h * drift + f(x_t)``) and their blend (weight chosen by an inner grouped CV on the
training countries only, per fold and origin), against the global and continent means of the
training countries. Prints RMSE, ratios vs the global mean and vs the NewMarketModel with 95%
bootstrap intervals over held-out countries, the coverage of 80% / 95% intervals calibrated on
inner held-out countries (one score per country, and per row as first specified) with bootstrap
intervals over countries, and the weights chosen. See ``hallyu_forecast.new_markets``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from hallyu_forecast.new_markets import compare_new_markets_lco


def _ci(row, key: str, digits: int = 3) -> str:
    lo, hi = row[f"{key}_lo"], row[f"{key}_hi"]
    if pd.isna(lo):
        return f"{row[key]:.{digits}f}"
    return f"{row[key]:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=1000, help="bootstrap replicates")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    result = compare_new_markets_lco()
    elapsed = time.perf_counter() - t0
    table = result.table(reps=args.reps)
    rows = []
    for r in table.to_dict("records"):
        has_cov = "cov80" in r and pd.notna(r.get("cov80"))
        rows.append({"h": r["horizon"], "method": r["method"], "n": r["n"], "countries": r["countries"],
                     "rmse": f"{r['rmse']:.3f}", "vs global mean": _ci(r, "vs_global"),
                     "vs new_market": _ci(r, "vs_nm"),
                     "80% cov (country)": _ci(r, "cov80", 2) if has_cov else "",
                     "95% cov (country)": _ci(r, "cov95", 2) if has_cov else "",
                     "80% / 95% cov (row)": f"{r['cov80_row']:.2f} / {r['cov95_row']:.2f}" if has_cov else "",
                     "median 80% width": f"{r['width80']:.2f}" if has_cov else ""})
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 40):
        print(f"New markets, leave-countries-out ({elapsed:.1f} s): RMSE of the log target; ratios with 95% "
              "bootstrap intervals over held-out countries")
        print(pd.DataFrame(rows).to_string(index=False))
        w = result.weights
        print("\nWeight of the NewMarketModel in the blend (inner grouped CV on training countries), fold x origin")
        print(w.pivot(index="fold", columns="origin", values="weight").to_string())
        print(f"mean weight {w['weight'].mean():.2f}; inner rows per choice {w['inner_rows'].min()}-"
              f"{w['inner_rows'].max()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
