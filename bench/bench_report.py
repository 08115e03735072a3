"""Benchmark of the analysts' report: build time, file size and charts drawn at load.

Usage::

    python bench/bench_report.py [--repeat 3]

Prints, for the shipped model, the wall time of ``build_report`` with and without the backtest
(the CLI's ``report`` and ``report --no-backtest``), the file size, and the ratio to the 20 s goal
(issue 8: "the report < 20 s on 2 cores") and to the 1.5 MB size goal (issue 19). Speed targets
live here, not in timed unit tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

GOAL_S = 20.0
GOAL_BYTES = 1_500_000


def main(argv=None) -> int:
    from hallyu_forecast.report import build_report

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting (median reported)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for label, backtest in (("report", True), ("report --no-backtest", False)):
            times = []
            for i in range(args.repeat):
                out = Path(tmp) / f"r{i}.html"
                t0 = time.perf_counter()
                build_report(out, run_backtest=backtest)
                times.append(time.perf_counter() - t0)
            median = statistics.median(times)
            size = out.stat().st_size
            print(f"{label:22s} median {median:5.1f} s over {args.repeat} runs "
                  f"({median / GOAL_S:.2f} x the {GOAL_S:.0f} s goal; {os.cpu_count()} CPUs visible); "
                  f"{size / 1e6:.2f} MB ({size / GOAL_BYTES:.2f} x the {GOAL_BYTES / 1e6:.1f} MB goal)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
