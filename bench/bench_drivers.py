"""Benchmark of the drivers model (issue 8): fit and decomposition time, explain latency, new markets.

Usage::

    python bench/bench_drivers.py [--no-compare]

Prints:

1. time to cross-validate, fit (with 25 refits) and decompose the drivers model of every target
   (what ``train`` does once), and the result's accuracy and split tables;
2. ``hf.drivers("youth_arrivals_per_capita")`` warm latency from the shipped model's stored part
   and ``format_country("VNM")``;
3. ``hf.explain(countries="VNM")`` warm time (the forecaster's explanation) with the refits
   stored in the shipped model, and with refits at call time (another seed);
4. new markets: the drivers model vs the forecaster's new-market model on the same
   leave-countries-out folds (``drivers.compare_new_markets``).
"""

from __future__ import annotations

import argparse
import statistics
import time


def main(argv=None) -> int:
    import pandas as pd

    import hallyu_forecast as hf
    from hallyu_forecast.drivers import compare_new_markets, run

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-compare", action="store_true", help="skip the new-market comparison (~30 s)")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    panel = hf.load_panel()

    t0 = time.perf_counter()
    result = run(panel=panel)  # a custom panel argument forces a fresh fit (not the stored result)
    fit_s = time.perf_counter() - t0
    print(result.format())
    for target, t in result.meta["timings"].items():
        print(f"  {target}: CV {t['cv_s']:.1f}s, fit with refits {t['fit_s']:.1f}s, decomposition {t['decompose_s']:.1f}s")
    print(f"drivers fit for {len(result.targets)} targets: {fit_s:.1f}s")

    hf.drivers("youth_arrivals_per_capita")  # warm-up: imports, shipped bundle
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        stored = hf.drivers("youth_arrivals_per_capita")
        text = stored.format_country("VNM")
        times.append(time.perf_counter() - t0)
    print(f"\n{text}\ndrivers explanation of one country from the stored part: {statistics.median(times):.2f}s warm")

    hf.explain(countries="VNM")  # warm-up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        stored = hf.explain(countries="VNM")
        times.append(time.perf_counter() - t0)
    print(f"explain --country VNM (forecaster, 20 refits stored at training time: {stored.meta['refits_stored']}): "
          f"{statistics.median(times):.1f}s warm")
    t0 = time.perf_counter()
    hf.explain(countries="VNM", random_state=1)
    print(f"explain --country VNM with 20 refits at call time (another seed): {time.perf_counter() - t0:.1f}s")

    if not args.no_compare:
        t0 = time.perf_counter()
        table = compare_new_markets(panel=panel)
        print("\nNew markets, leave-countries-out (RMSE; ratio = drivers / model, 95% country bootstrap)")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(f"comparison: {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
