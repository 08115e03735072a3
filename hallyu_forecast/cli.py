"""Command-line interface: ``hallyu-forecast <command>``.

Commands
--------
data pull | build | describe | verify     raw data and the panel
train | backtest | tune                   models (MLflow-tracked)
predict | explain | report                forecasts and explanations
effects | whatif                          causal effects of policy levers, scenarios
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hallyu_forecast.errors import HallyuError


def _print_table(frame, max_rows: int = 500) -> None:
    import pandas as pd

    with pd.option_context("display.max_rows", max_rows, "display.max_columns", 50, "display.width", 200):
        print(frame.to_string(index=False))


# ---------------------------------------------------------------------------------- data
def _data_pull(args) -> int:
    from hallyu_forecast.fetch import pull

    results = pull(args.source or None, dest=args.dest, base_url=args.base_url, progress=print)
    unavailable = [r for r in results if r.status == "unavailable"]
    print(f"{len(results) - len(unavailable)} file(s) present, {len(unavailable)} without a download URL.")
    return 0


def _data_build(args) -> int:
    from hallyu_forecast.panel import build_panel, write_panel

    start = time.perf_counter()
    data = build_panel(args.data_dir, progress=print, allow_changed_files=args.allow_changed_files)
    dest = write_panel(data, args.out)
    print(f"Wrote {dest}/panel.parquet ({(dest / 'panel.parquet').stat().st_size / 1024:.0f} KiB) "
          f"in {time.perf_counter() - start:.1f}s total.")
    return 0


def _data_describe(args) -> int:
    from hallyu_forecast.panel import describe, load_dictionary, load_panel, panel_metadata

    if args.panel:
        import pandas as pd

        frame = load_panel(args.panel)
        dictionary = pd.read_csv(Path(args.panel).with_name("dictionary.csv"), keep_default_na=False)
    else:
        frame, dictionary = load_panel(), load_dictionary()
    tables = describe(frame, dictionary)
    if args.source:
        tables["variables"] = tables["variables"][tables["variables"]["source"].isin(args.source)]
    if args.json:
        out = {k: v.to_dict("records") for k, v in tables.items()}
        if not args.panel:
            meta = panel_metadata()
            out["panel"] = {k: meta[k] for k in ("first_year", "last_year", "n_countries", "n_rows", "vintage")}
        print(json.dumps(out, indent=1, ensure_ascii=False, default=str))
        return 0
    print(f"Panel: {len(frame)} rows, {frame['iso3'].nunique()} countries, "
          f"{frame['year'].min()}-{frame['year'].max()}, {frame.shape[1] - 2} variables\n")
    print("Coverage per source")
    _print_table(tables["sources"])
    print("\nCoverage per variable")
    _print_table(tables["variables"])
    return 0


def _data_verify(args) -> int:
    from hallyu_forecast.fetch import verify

    found = verify(args.data_dir)
    print(f"All {sum(len(v) for v in found.values())} raw files match their registered checksums.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hallyu-forecast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="raw data and the panel")
    dsub = data.add_subparsers(dest="data_command", required=True)
    p = dsub.add_parser("pull", help="download raw files into the cache, verifying checksums")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
    p.add_argument("--dest", help="target folder (default: HALLYU_CACHE_DIR or ~/.cache/hallyu_forecast/raw)")
    p.add_argument("--base-url", help="mirror base URL serving <source>/<file> (default: canonical URLs)")
    p.set_defaults(func=_data_pull)
    p = dsub.add_parser("build", help="rebuild the panel from raw files")
    p.add_argument("--data-dir", help="raw data mirror (default: HALLYU_DATA_DIR, then the cache)")
    p.add_argument("--out", help="output folder (default: the package's embedded data folder)")
    p.add_argument("--allow-changed-files", action="store_true",
                   help="build even if raw files differ from the registered checksums")
    p.set_defaults(func=_data_build)
    p = dsub.add_parser("describe", help="coverage per source and per variable")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--source", action="append", help="only variables of this source (repeatable)")
    p.add_argument("--panel", help="a panel.parquet written by `data build --out` (default: embedded)")
    p.set_defaults(func=_data_describe)
    p = dsub.add_parser("verify", help="check raw files against registered checksums")
    p.add_argument("--data-dir")
    p.set_defaults(func=_data_verify)

    _register_model_commands(sub)
    from hallyu_forecast.causal import commands as causal_commands  # effects, whatif

    causal_commands.register(sub)
    return parser


def _register_model_commands(sub) -> None:
    """Model commands live in hallyu_forecast.commands (imports there stay inside functions)."""
    from hallyu_forecast import commands

    commands.register(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HallyuError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
