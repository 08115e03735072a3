"""Command-line interface: ``hallyu-forecast <command>``.

Commands
--------
data pull | build | describe | verify     raw data and the panel
train | backtest | tune                   models (MLflow-tracked)
predict | explain | report                forecasts and explanations
index                                    the Hallyu intensity index (0-100, 80% band)
episodes                                 shock episodes in the monthly arrivals
effects | whatif                          causal effects of policy levers, scenarios
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

from hallyu_forecast import commands, index, index_validation
from hallyu_forecast.causal import commands as causal_commands
from hallyu_forecast.episodes import episode_summary, find_episodes
from hallyu_forecast.errors import HallyuError
from hallyu_forecast.fetch import pull, verify
from hallyu_forecast.index_draws import drivers_on_index_draws
from hallyu_forecast.logs import set_progress, set_verbose
from hallyu_forecast.monthly import build_monthly, write_monthly
from hallyu_forecast.panel import _embedded, describe, load_dictionary, load_panel, panel_metadata, write_panel
from hallyu_forecast.panel_build import build_panel
from hallyu_forecast.preflight import check_cli_args, resolve_countries


def _print_table(frame, max_rows: int = 500) -> None:

    with pd.option_context("display.max_rows", max_rows, "display.max_columns", 50, "display.width", 200):
        print(frame.to_string(index=False))


# ---------------------------------------------------------------------------------- data
def _data_pull(args) -> int:
    results = pull(args.source or None, dest=args.dest, base_url=args.base_url, progress=print)
    unavailable = [r for r in results if r.status == "unavailable"]
    print(f"{len(results) - len(unavailable)} file(s) present, {len(unavailable)} without a download URL.")
    return 0


def _data_build(args) -> int:
    start = time.perf_counter()
    data = build_panel(args.data_dir, progress=print, allow_changed_files=args.allow_changed_files)
    dest = write_panel(data, args.out, progress=print)

    # the monthly arrivals panel (hf.load_monthly()) ships next to the annual one, from the same loader
    write_monthly(build_monthly(args.data_dir), dest)
    print(f"Wrote {dest}/panel.parquet ({(dest / 'panel.parquet').stat().st_size / 1024:.0f} KiB) "
          f"in {time.perf_counter() - start:.1f}s total.")

    if Path(str(_embedded("panel.parquet"))).resolve() != (dest / "panel.parquet").resolve():
        print(f"Use it with HALLYU_PANEL_DIR={dest} (or hf.load_panel('{dest}')); the embedded panel is unchanged.")
    return 0


def _data_describe(args) -> int:
    if args.panel:

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
    p.add_argument("--out", help="output folder (default: HALLYU_PANEL_DIR or ~/.local/share/hallyu_forecast/panel; "
                                 "the embedded panel only with an explicit --out hallyu_forecast/data)")
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
    _register_index_command(sub)
    _register_episodes_command(sub)

    causal_commands.register(sub)
    return parser


def _register_model_commands(sub) -> None:
    """Model commands live in hallyu_forecast.commands (imports there stay inside functions)."""

    commands.register(sub)


#: Global flags, accepted anywhere on the command line (before or after the command).
GLOBAL_FLAGS = {"--debug": "debug", "-v": "verbose", "--verbose": "verbose"}


def _split_global_flags(argv: list[str]) -> tuple[dict[str, bool], list[str]]:
    """Take ``--debug`` and ``-v/--verbose`` out of ``argv`` wherever they are (``train --debug`` and
    ``--debug train`` both work; no sub-command defines them)."""
    flags = {"debug": False, "verbose": False}
    rest = []
    for i, token in enumerate(argv):
        if token == "--":
            rest.extend(argv[i:])
            break
        if token in GLOBAL_FLAGS:
            flags[GLOBAL_FLAGS[token]] = True
        else:
            rest.append(token)
    return flags, rest


def _add_global_flags(parser: argparse.ArgumentParser) -> None:
    # documented in --help; the values are read by _split_global_flags before parsing
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show third-party warnings and INFO lines (hidden by default)")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 600 else text[:597] + "..."


def _index_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The printed index: a number only where published, "not enough evidence" elsewhere."""
    pub = table["hallyu_index_published"].astype(bool)
    band = [f"[{lo:.1f}, {hi:.1f}]" for lo, hi in zip(table["hallyu_index_lo"], table["hallyu_index_hi"])]
    out = pd.DataFrame({"iso3": table["iso3"]})
    if "year" in table:
        out["year"] = table["year"]
    else:
        out["years"] = table["years"]
    out["index"] = [f"{v:.1f}" if p else "-" for v, p in zip(table["hallyu_index"], pub)]
    out["80% band"] = [b if p else "-" for b, p in zip(band, pub)]
    out["n"] = table["hallyu_index_n"].astype(int)
    out["indicators"] = table["indicators"]
    out["evidence"] = table["evidence"]
    return out


def _index(args) -> int:
    panel = load_panel(args.panel) if args.panel else load_panel()
    if args.drivers:
        out = {f"drivers of the index's cross-country spread, {args.draws} draws of the index (Rubin's rules, 90%)":
               drivers_on_index_draws(panel, n_draws=args.draws)}
    elif args.validate:
        table = index_validation.validate_index(panel)
        out = {"answer (country index vs each independent measure, all countries)": index_validation.summary(table),
               "validation (every measure x anchor x region; Spearman, bootstrap 90% interval)":
                   table.drop(columns=["anchor_description", "countries"]),
               "invariance (Asia vs elsewhere, bootstrap 90%)": index_validation.invariance(panel),
               "loadings": index.loadings(panel),
               "structures compared (BIC on the indicators only; lowest adopted)": index.structures(panel)}
    else:
        level = "country" if args.level == "country" else "year"
        table = index.index_table(panel, args.year, args.country, level=level, exclude=tuple(args.exclude or ()))
        out = {"index": table if args.json else _index_rows(table)}
    if args.json:
        print(json.dumps({k: v.to_dict("records") for k, v in out.items()}, indent=1, default=str))
        return 0
    with pd.option_context("display.max_rows", 1000, "display.width", 250, "display.precision", 3,
                           "display.max_colwidth", 90):
        for name, frame in out.items():
            print(f"{name}:\n{frame.to_string(index=False)}\n")
    if not (args.validate or args.drivers):
        shown = out["index"]
        print(f"{(shown['index'] != '-').sum()} of {len(shown)} rows published; 'not enough evidence' where the "
              f"posterior sd exceeds {index.MAX_PUBLISHED_SD} or no content indicator is observed "
              "(`hallyu-forecast index --validate` for the validation table).")
    return 0


def _register_index_command(sub) -> None:
    """`index`: the Hallyu intensity index (hallyu_forecast.index)."""
    p = sub.add_parser("index", help="the Hallyu intensity index per country-year (0-100, 80%% band)")
    p.add_argument("--year", type=int, help="one year (default: every year)")
    p.add_argument("--country", action="append", help="ISO3 code or English name (repeatable)")
    p.add_argument("--level", choices=["year", "country"], default="year",
                   help="country-year values (default) or one value per country from all its years")
    p.add_argument("--exclude", action="append", metavar="INDICATOR",
                   help=f"leave an indicator out (repeatable): one of {', '.join(index.INDICATORS)}")
    p.add_argument("--validate", action="store_true",
                   help="agreement with KF fan clubs and KOFICE surveys (never used by the index), invariance, loadings")
    p.add_argument("--drivers", action="store_true",
                   help="local vs government shares of the index, refitted on draws of the index (its uncertainty)")
    p.add_argument("--draws", type=int, default=20, help="draws of the index for --drivers (default 20)")
    p.add_argument("--panel", help="a panel.parquet written by `data build --out` (default: embedded)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_index)


def _episodes(args) -> int:
    table = find_episodes(column=args.column)
    if args.country:
        table = table[table["iso3"].isin(resolve_countries(args.country, table["iso3"]))]
    cols = ["episode", "iso3", "event", "reference_year", "onset", "trough", "end", "months", "depth", "status"]
    if args.json:
        print(json.dumps(table[cols].to_dict("records"), indent=1, default=str))
        return 0
    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.precision", 3):
        print(table[cols].to_string(index=False))
        print(f"\n{episode_summary(table).to_string(index=False)}")
    return 0


def _register_episodes_command(sub) -> None:
    """`episodes`: shock episodes found in the monthly arrivals (hallyu_forecast.episodes)."""
    p = sub.add_parser("episodes", help="shock episodes in the monthly arrivals: onset, trough, end, depth")
    p.add_argument("--country", action="append",
                   help="ISO3 code or English name of a country with an episode (repeatable)")
    p.add_argument("--column", default="arrivals_0_30", help="monthly series (default arrivals_0_30)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_episodes)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI. Errors print one line on stderr (exit 2 for bad input or data, 1 for a bug);
    ``--debug`` also prints the traceback."""
    import traceback

    flags, argv = _split_global_flags(list(sys.argv[1:] if argv is None else argv))
    set_verbose(flags["verbose"])  # before any third-party import, so their loggers start quiet

    # step lines go to stderr so that `predict --json` and friends keep a clean stdout
    set_progress(lambda text: print(text, file=sys.stderr, flush=True))
    parser = build_parser()
    _add_global_flags(parser)
    args = parser.parse_args(argv)
    try:
        check_cli_args(args)  # paths, URIs, input files: fail before minutes of work
        return int(args.func(args) or 0)
    except HallyuError as exc:
        if flags["debug"]:
            traceback.print_exc()
        message = str(exc) if "\n" in str(exc).strip() else _one_line(exc)  # keep listed items readable
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head` closed the pipe: the reader has what it wanted, not an error
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit; avoid a 2nd error
        except OSError:  # pragma: no cover
            pass
        return 0
    except Exception as exc:  # a bug or an unforeseen environment problem: one line, not 40
        if flags["debug"]:
            traceback.print_exc()
            print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        else:
            print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)} "
                  "(run with --debug for the traceback)", file=sys.stderr)
        return 1
    finally:
        set_progress(None)  # main() may run inside a Python process (tests, notebooks): leave it silent


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
