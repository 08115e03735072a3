"""Benchmark the data layer and feature building; prints timings, goals and ratios.

Run:  HALLYU_DATA_DIR=../shared/data/raw python bench/bench_data.py [--repeat 3]

Side by side:
- full panel build from raw  vs  the floor: reading every raw file with pandas/pyreadr, no processing
- load_panel() (embedded)    vs  a bare pandas.read_parquet of the same file
- build_features (origins 2012-2022, horizons 1-3)  vs  goal 5 s
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path

from _timing import median_seconds  # bench/_timing.py (the script's folder is on sys.path)


def read_all_raw(root: Path) -> None:
    import pandas as pd
    import pyreadr

    for path in sorted(root.rglob("*")):
        if path.suffix == ".csv":
            pd.read_csv(path, encoding_errors="replace", sep=";" if "hofstede" in path.parts else ",",
                        skiprows=4 if path.name.startswith("API_") else 0)
        elif path.suffix == ".rda" and path.parent.name != "rsf":
            pyreadr.read_r(str(path))
        elif path.suffix == ".xlsx":
            pd.read_excel(path, sheet_name=None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import pandas as pd

    import hallyu_forecast as hf
    from hallyu_forecast.features import build_features, load_feature_specs
    from hallyu_forecast.panel import _embedded
    from hallyu_forecast.panel_build import build_panel
    from hallyu_forecast.sources import resolve_data_dir

    root = resolve_data_dir()
    rows = []
    t_build = median_seconds(lambda: build_panel(root), args.repeat)
    t_floor = median_seconds(lambda: read_all_raw(root), args.repeat)
    rows.append(("panel build from raw", t_build, 30.0, "read all raw files (no processing)", t_floor))
    t_load = median_seconds(hf.load_panel, max(args.repeat, 5))
    t_parquet = median_seconds(lambda: pd.read_parquet(str(_embedded("panel.parquet"))), max(args.repeat, 5))
    rows.append(("load_panel() embedded", t_load, 1.0, "pandas.read_parquet", t_parquet))
    panel = hf.load_panel()
    specs = load_feature_specs()
    t_feat = median_seconds(lambda: build_features(panel, specs, origins=range(2012, 2023), horizons=(1, 2, 3)),
                            args.repeat)
    rows.append(("build_features 2012-2022 x h1-3", t_feat, 5.0, "-", float("nan")))

    print(f"{'step':<34}{'seconds':>9}{'goal':>7}{'vs goal':>9}   {'baseline':<38}{'seconds':>9}{'ratio':>7}")
    for name, t, goal, base, tb in rows:
        ratio = t / tb if tb == tb else float("nan")
        print(f"{name:<34}{t:>9.3f}{goal:>7.1f}{t / goal:>9.2f}   {base:<38}{tb:>9.3f}{ratio:>7.2f}")
    fm = build_features(panel, specs, origins=range(2012, 2023), horizons=(1, 2, 3))
    counts = fm.feature_table().groupby(["role", "group"]).size()
    print(f"\nfeature matrix: {fm.frame.shape[0]} rows x {len(fm.features)} features")
    print(counts.to_string())
    print(f"\nembedded panel: {Path(str(_embedded('panel.parquet'))).stat().st_size / 1024:.0f} KiB; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
