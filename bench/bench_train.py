"""Time ``hallyu-forecast train`` (the README's main job) against a one-model baseline, side by side.

    python bench/bench_train.py              # one run of each; --repeat 3 for medians

Runs, each as its own ``hallyu-forecast`` process in a scratch folder (so that ``mlruns/`` lands
there), in this order:

- ``baseline``: ``train --no-backtest --no-drivers --no-track``: imports, the panel and one
  forecaster fit, the floor any train pays;
- ``cold``: ``train --recompute`` (tracked in MLflow as the README runs it): backtest, final fit,
  explain()'s refits, the drivers model and the causal effects all computed;
- ``warm``: ``train`` again: the drivers model and the causal effects come from the stage cache
  (same panel, specs, code and library versions), everything else is computed.

Prints wall and CPU seconds, peak memory, ratios against the baseline and the 30 s goal, and
checks that the three runs report the same figures: the backtest report (stdout) of ``cold`` and
``warm`` must be identical, and their drivers tables and effects, saved with ``--out``, equal to
each other and to the shipped model's. It also says whether a fresh clone's first ``train`` can
reuse the shipped model's drivers and effects (its stored ``stages_key`` equals today's key).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

GOAL_S = 30.0


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("hallyu-forecast")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "hallyu_forecast.cli"]


def run(args: list[str], cwd: Path, env: dict) -> dict:
    """Run one CLI process; its wall time, CPU time (with its worker processes) and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(_cli() + args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    usage = _children_usage()
    if proc.returncode != 0:
        sys.exit(f"bench_train: `hallyu-forecast {' '.join(args)}` failed (exit {proc.returncode}):\n{err[-2000:]}")
    timing = next((line for line in err.splitlines() if line.lstrip().startswith("time:")), "")
    return {"wall": wall, "cpu": usage[0], "rss_mb": usage[1], "stdout": out, "time_line": timing.strip()}


_last_children = [0.0]


def _children_usage() -> tuple[float, float]:
    """CPU seconds of the children since the last call, and the peak RSS (MB) of the largest child so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru.ru_utime + ru.ru_stime
    spent, _last_children[0] = cpu - _last_children[0], cpu
    return spent, ru.ru_maxrss / 1024  # ru_maxrss: KiB on Linux; the largest child so far


def _backtest_text(stdout: str) -> str:
    # the report printed by train, without the lines naming run ids, URIs and timings
    keep = [line for line in stdout.splitlines()
            if not line.startswith(("MLflow", "Registered", "Tracking", "Browse", "train finished", "Tables", "Saved"))]
    return "\n".join(keep)


def _max_diff(a: pd.DataFrame, b: pd.DataFrame) -> float:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return float("inf")
    num = a.select_dtypes("number").columns
    other = [c for c in a.columns if c not in num]
    if not a[other].astype(str).equals(b[other].astype(str)):
        return float("inf")
    diff = (a[num].astype(float) - b[num].astype(float)).abs()
    both_nan = a[num].isna() & b[num].isna()
    return float(diff.where(~both_nan, 0.0).max().max()) if len(num) else 0.0


def compare(folder_a: Path, folder_b: Path) -> dict[str, float]:
    """Largest absolute difference of the effects table and of each drivers table between two model folders."""
    from hallyu_forecast.bundle_parts import load_drivers
    from hallyu_forecast.causal.effects import EffectsResult

    out = {"effects": _max_diff(EffectsResult.load(folder_a).table, EffectsResult.load(folder_b).table)}
    da, db = load_drivers(folder_a), load_drivers(folder_b)
    for name in sorted(set(da.frames) | set(db.frames)):
        if name not in da.frames or name not in db.frames:
            out[f"drivers/{name}"] = float("inf")
        else:
            out[f"drivers/{name}"] = _max_diff(da.frames[name].reset_index(drop=True),
                                               db.frames[name].reset_index(drop=True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind (medians are printed)")
    args = parser.parse_args()
    if args.repeat < 1:
        sys.exit(f"bench_train: `--repeat` must be an integer greater than 0. Got {args.repeat}.")

    from hallyu_forecast.bundle import DEFAULT_MODEL_DIR
    from hallyu_forecast.panel import load_panel
    from hallyu_forecast.stage_cache import shipped_key, stages_key

    scratch = Path(tempfile.mkdtemp(prefix="bench_train_"))
    env = dict(os.environ, HALLYU_STAGE_CACHE_DIR=str(scratch / "stage_cache"))
    results: dict[str, list[dict]] = {"baseline": [], "cold": [], "warm": []}
    try:
        for i in range(args.repeat):
            results["baseline"].append(run(["train", "--no-backtest", "--no-drivers", "--no-track"], scratch, env))
            results["cold"].append(run(["train", "--recompute", "--out", f"cold{i}"], scratch, env))
            results["warm"].append(run(["train", "--out", f"warm{i}"], scratch, env))
        cpus = os.cpu_count()
        print(f"hallyu-forecast train, {args.repeat} run(s) of each, {cpus} cores "
              f"(HALLYU_JOBS={os.environ.get('HALLYU_JOBS', 'unset')})\n")
        base = statistics.median(r["wall"] for r in results["baseline"])
        print(f"{'run':<9}{'wall s':>8}{'cpu s':>8}{'peak MB':>9}{'x baseline':>12}{'vs 30 s goal':>14}")
        for name, runs in results.items():
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            rss = max(r["rss_mb"] for r in runs)
            goal = "" if name == "baseline" else (f"{wall / GOAL_S:.2f} " + ("met" if wall < GOAL_S else "MISSED"))
            print(f"{name:<9}{wall:>8.1f}{cpu:>8.1f}{rss:>9.0f}{wall / base:>12.2f}{goal:>14}")
        print("\nwhere the time went (train's own line, last run of each):")
        for name in ("cold", "warm"):
            print(f"  {name}: {results[name][-1]['time_line']}")

        print("\nsame figures?")
        same_bt = all(_backtest_text(r["stdout"]) == _backtest_text(results["cold"][0]["stdout"])
                      for r in results["cold"] + results["warm"])
        print(f"  backtest report, cold vs warm runs: {'identical' if same_bt else 'DIFFERENT'}")
        if not same_bt:
            import difflib

            first = _backtest_text(results["cold"][0]["stdout"]).splitlines()
            for r in results["cold"] + results["warm"]:
                lines = list(difflib.unified_diff(first, _backtest_text(r["stdout"]).splitlines(), lineterm="", n=0))
                print("\n".join("    " + line for line in lines[2:12]))
        for label, (a, b) in {"cold vs warm": (scratch / "cold0", scratch / "warm0"),
                              "cold vs shipped model": (scratch / "cold0", DEFAULT_MODEL_DIR)}.items():
            diffs = compare(a, b)
            worst = max(diffs.values())
            print(f"  drivers tables and effects, {label}: largest absolute difference {worst:.3g} "
                  f"({len(diffs)} tables)" + ("" if worst < 1e-9 else
                                              "; differing: " + ", ".join(k for k, v in diffs.items() if v >= 1e-9)))
        key, shipped = stages_key(load_panel()), shipped_key()
        print(f"\nfresh clone: the shipped model's stages_key {'matches' if key == shipped else 'does NOT match'} "
              f"today's ({(shipped or 'none')[:12]} vs {key[:12]}); a first `train` there "
              + ("reuses its drivers and effects (the warm figure)" if key == shipped else
                 "computes them (the cold figure); retrain the default with `train --save-default` to ship a match"))
        meta = json.loads((DEFAULT_MODEL_DIR / "meta.json").read_text(encoding="utf-8"))
        print(f"shipped model trained with {meta.get('versions', {})}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
