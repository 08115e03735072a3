"""Leave-one-episode-out backtest of the recovery model (issue 18), against its comparators.

Usage::

    python bench/bench_recovery.py            # both estimators, about 30 s

For every shock episode found by :func:`hallyu_forecast.episodes.find_episodes` and every December
origin from its onset year to 12 months after its end, next year's calendar total of youth
arrivals (log) is forecast from the data cut at the origin, with ``c`` learned only from episodes
that ended before the origin (never the held-out episode). Comparators on the same rows: back to
the pre-shock level, stay at the origin year's level, the gap stays (c = 1) and the annual anchor
rule (the forecaster's COVID rule with the episode's reference year). RMSE ratios
(recovery / comparator) with 95% episode-bootstrap intervals, interval coverage per group and per
episode.
"""

from __future__ import annotations

import time

import pandas as pd

from hallyu_forecast.recovery import backtest_episodes, coverage_per_episode, score_backtest


def _ratio(row, name):
    return f"{row[f'vs_{name}']:.3f} [{row[f'vs_{name}_lo']:.3f}, {row[f'vs_{name}_hi']:.3f}]"


def main() -> int:
    for estimator in ("share", "ls"):
        t0 = time.perf_counter()
        bt = backtest_episodes(estimator=estimator)
        print(f"\n=== estimator = {estimator!r}  ({time.perf_counter() - t0:.1f} s; {len(bt)} forecasts, "
              f"{bt['episode'].nunique()} episodes)")
        for label, frame in (("by event", bt), ("by origin", bt.assign(event=bt["origin"]))):
            table = score_backtest(frame)
            out = pd.DataFrame({
                "rows": table["rows"], "n": table["n"], "episodes": table["episodes"],
                "rmse recovery": table["rmse_recovery"].round(3), "back": table["rmse_back"].round(3),
                "stay": table["rmse_stay"].round(3), "gap stays": table["rmse_gap_stays"].round(3),
                "anchor": table["rmse_anchor"].round(3),
                "vs back": table.apply(_ratio, axis=1, name="back"),
                "vs stay": table.apply(_ratio, axis=1, name="stay"),
                "vs anchor": table.apply(_ratio, axis=1, name="anchor"),
                "cov 80": table["coverage_80"].round(2), "cov 95": table["coverage_95"].round(2),
                "width 80": table["width_80"].round(2)})
            print(f"\n{label}:")
            print(out.to_string(index=False))
        if estimator == "share":
            print("\nper episode (coverage of the 80% / 95% intervals, mean error actual - forecast):")
            with pd.option_context("display.max_rows", 200, "display.width", 200):
                print(coverage_per_episode(bt).round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
