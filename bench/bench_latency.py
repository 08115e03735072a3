"""The interactive latencies of issue 16 against their goals, on the shipped model.

    python bench/bench_latency.py            # prints one line per call: first, warm median, goal

- ``import hallyu_forecast`` (a fresh interpreter: heavy libraries stay lazy);
- ``hf.predict()`` warm (goal < 50 ms) and its first call in the process;
- ``hf.predict(origin="2022-06")`` (an in-year origin from the monthly data; goal < 0.5 s);
- ``hf.explain(countries="VNM")`` (goal < 2 s; the first call includes loading the stored refits);
- ``hallyu-forecast report`` as a user runs it, a fresh process (goal < 20 s).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_seconds  # noqa: E402 - the benches' shared helper


def _row(name: str, first: float | None, warm: float | None, goal: float) -> None:
    shown = warm if warm is not None else first
    verdict = "met" if shown < goal else f"MISSED by {shown - goal:.2f} s"
    print(f"{name:<44}{'' if first is None else f'{first:8.3f}':>9}{'' if warm is None else f'{warm:8.3f}':>9}"
          f"{goal:>8.2f}  {verdict}")


def _fresh(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    print(f"{'call':<44}{'first s':>9}{'warm s':>9}{'goal s':>8}")
    base = _fresh("pass")
    _row("import hallyu_forecast (fresh interpreter)", _fresh("import hallyu_forecast") - base, None, 1.0)

    import hallyu_forecast as hf

    start = time.perf_counter()
    hf.predict()
    first = time.perf_counter() - start
    _row("predict() (all countries, horizon 1)", first, median_seconds(hf.predict, 20), 0.05)

    def in_year():
        hf.predict(["JPN", "THA"], origin="2022-06", horizon=[1, 2])

    start = time.perf_counter()
    in_year()
    first = time.perf_counter() - start
    _row("predict(origin='2022-06'), 2 countries", first, median_seconds(in_year, 5), 0.5)

    def explain():
        hf.explain(countries="VNM")

    start = time.perf_counter()
    explain()
    first = time.perf_counter() - start
    _row("explain(countries='VNM')", first, median_seconds(explain, 3), 2.0)

    exe = Path(sys.executable).with_name("hallyu-forecast")
    cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "hallyu_forecast.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        start = time.perf_counter()
        subprocess.run(cli + ["report", "--out", str(out)], check=True, cwd=tmp, capture_output=True)
        seconds = time.perf_counter() - start
        size = out.stat().st_size / 1e6
    _row(f"hallyu-forecast report ({size:.2f} MB, fresh process)", seconds, None, 20.0)


if __name__ == "__main__":
    main()
