"""Model commands of the CLI: train, backtest, tune, predict, explain, report."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from hallyu_forecast import tracking
from hallyu_forecast.bundle import DEFAULT_MODEL_DIR, save_bundle
from hallyu_forecast.config import load_config
from hallyu_forecast.countries import resolve_country
from hallyu_forecast.drivers import drivers
from hallyu_forecast.errors import ConfigError, HallyuError
from hallyu_forecast.evaluation import backtest
from hallyu_forecast.explanation import explain
from hallyu_forecast.inference import predict, resolve_model
from hallyu_forecast.logs import step
from hallyu_forecast.report import build_report
from hallyu_forecast.report_forecast import forecast_size
from hallyu_forecast.target_units import ARRIVALS_COLUMNS, target_units
from hallyu_forecast.tracking import registered_version, ui_command
from hallyu_forecast.training import backtest_metrics, train
from hallyu_forecast.tuning import read_params, tune


def _config(args):
    return load_config(args.experiment)


def _train(args) -> int:
    start = time.perf_counter()
    cfg = _config(args)
    params = read_params(args.params) if args.params else None

    if args.alias and not args.register:
        raise ConfigError("`--alias` needs `--register NAME` (an alias points at a registered model version).")
    # progress lines go to stderr (logs.step; the CLI sends them there), as the README says
    bundle, result, uri = train(cfg, params=params, register=args.register, run_backtest=not args.no_backtest,
                                track=not args.no_track, progress=step, drivers=not args.no_drivers,
                                alias=args.alias, recompute=args.recompute)
    if result is not None:
        print()
        print(result.report())
    # the MLflow run first: if saving the folder fails (e.g. another train writing it), its id is known
    if uri:
        import mlflow

        tracking_uri = mlflow.get_tracking_uri()
        print(f"\nMLflow run id: {uri.split('/')[1]}")
        print(f"MLflow model URI: {uri}")
        if args.register:
            version = registered_version(args.register, uri)
            print(f"Registered model URI: models:/{args.register}/{version}"
                  + (f" (alias: models:/{args.register}@{args.alias})" if args.alias else ""))
        print(f"Tracking URI: {tracking_uri}")
        print(f"Browse the runs: {ui_command(tracking_uri)}")
    if args.save_default:
        save_bundle(bundle, DEFAULT_MODEL_DIR)
        print(f"\nSaved as the package's default model: {DEFAULT_MODEL_DIR}")
    if args.out:
        save_bundle(bundle, args.out)
        print(f"\nSaved the model bundle to {args.out}")
    print(f"train finished in {time.perf_counter() - start:.1f}s")
    return 0


def _backtest(args) -> int:
    cfg = _config(args)
    start = time.perf_counter()
    if args.no_track:
        result = backtest(cfg, progress=print)
    else:
        import mlflow

        with tracking.run("backtest", cfg):
            result = backtest(cfg, progress=print)
            mlflow.log_metrics(backtest_metrics(result))
            tracking.log_frames(result.to_frames(), "backtest")
            mlflow.log_text(result.report(), "backtest/report.txt")
    print()
    print(result.report())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in result.to_frames().items():
            frame.to_csv(out / f"{name}.csv", index=False)
        print(f"\nTables written to {out}/")
    print(f"backtest finished in {time.perf_counter() - start:.1f}s")
    return 0


def _tune(args) -> int:
    cfg = _config(args)
    start = time.perf_counter()
    study, path = tune(cfg, n_trials=args.n_trials, storage=args.storage, study_name=args.study_name,
                       timeout=args.timeout, out=args.out, track=not args.no_track, progress=print,
                       seed=args.seed, n_jobs=args.n_jobs)
    print(f"\nBest RMSE {study.best_value:.4f} with {json.dumps(study.best_params)}")
    print(f"Best parameters written to {path}; use them with `hallyu-forecast train --params {path}`.")
    print(f"tune finished in {time.perf_counter() - start:.1f}s ({len(study.trials)} trials in the study)")
    return 0


def _origin_arg(text: str):
    """`--origin`: a year (int) or a year-month 'YYYY-MM' (kept as text, validated by predict())."""
    return int(text) if text.strip().isdigit() else text


def _predict(args) -> int:
    import pandas as pd

    horizons = args.horizon or [1]
    bundle = resolve_model(args.model)  # once: its target's spec gives the units printed below
    units = target_units(bundle.specs.targets[bundle.target])
    out = predict(countries=args.country, horizon=horizons, origin=args.origin, model=bundle, method=args.method)
    # natural-unit (persons) columns only where the target's spec defines the conversion
    out = out.drop(columns=[c for c in ARRIVALS_COLUMNS if c not in units.natural_columns])
    if args.csv:
        out.to_csv(args.csv, index=False)
        # with --json too, stdout is the JSON alone: the confirmation goes to stderr
        print(f"Wrote {len(out)} forecasts to {args.csv}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(out.to_json(orient="records", indent=1, force_ascii=False))
    if args.csv or args.json:
        return 0
    show = out[["iso3", "country", "origin", "target_year", "prediction", "lower", "upper",
                *units.natural_columns, "model"]].copy()
    for col in units.natural_columns:
        show[col] = show[col].round(-1)
    show["domain"] = out["domain"].str.split(" \\(").str[0]  # issue 8: flag extrapolations (reason in --json)
    with pd.option_context("display.width", 200, "display.max_rows", 400, "display.max_columns", 20):
        print(show.to_string(index=False, float_format=lambda v: f"{v:,.3f}" if abs(v) < 1000 else f"{v:,.0f}"))
    notes = sorted(set(out["note"]))
    print(f"\n{units.legend()}")
    for note in notes:
        print(f"note: {note}")
    return 0


def _explain(args) -> int:
    expl = explain(model=args.model, countries=args.country, years=[args.origin] if args.origin else None,
                   horizon=args.horizon)
    for iso3 in expl.countries():
        print(expl.country_table(iso3, as_text=True))
        print("  " + forecast_size(expl, iso3)["text"])  # the explanation at its real size (issue 8 item 4)
        print()
    return 0


def _report(args) -> int:
    start = time.perf_counter()
    # MLflow only when asked (--track): the report must not create ./mlruns silently; --no-track is kept
    path = build_report(out=args.out, model=args.model, track=bool(getattr(args, "track", False)), progress=print,
                        drivers=getattr(args, "drivers", None), run_backtest=not getattr(args, "no_backtest", False))
    size = Path(path).stat().st_size / 1024
    print(f"Wrote {path} ({size:,.0f} KiB) in {time.perf_counter() - start:.1f}s")
    # with --track, build_report announces the MLflow run it logged to (through progress)
    return 0


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS  # `--horizon` exists only to answer with a clear error (levels have no horizon)


def _drivers(args) -> int:
    start = time.perf_counter()
    result = drivers(target=args.target or None, folds=args.folds, n_refits=args.n_refits, model=args.model,
                     horizon=args.horizon)
    # every --country answers in both outputs (names resolved once, before the tables are printed)
    per_country = {}
    known = set(result.frames["countries"]["iso3"]) | set(result.frames["domain"]["iso3"])
    for name in args.country or []:
        iso3 = resolve_country(name, codes=known, what="--country")  # "Viet Nam" -> VNM, the key in --json
        for target in result.targets:
            try:
                text = result.format_country(iso3, target)
                rows = result.country(iso3, target)
            except HallyuError as exc:  # e.g. no value for this target: say so, per target
                if "Unknown country" in str(exc) or "ambiguous" in str(exc) or len(result.targets) == 1:
                    raise
                text, rows = f"{iso3}: {exc}", None
            per_country.setdefault(iso3, {})[target] = {
                "text": text, "rows": [] if rows is None else rows.to_dict("records")}
    if args.out:
        result.save(args.out)
    if args.csv:
        table = result.frames["countries"]
        if per_country:
            table = table[table["iso3"].isin(list(per_country))]
        table.to_csv(args.csv, index=False)
        print(f"Wrote {len(table)} decomposition rows to {args.csv}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        out = result.to_json()
        if per_country:
            out["countries"] = per_country
        print(json.dumps(out, indent=1, default=str))
        return 0
    print(result.format())
    for targets in per_country.values():
        for item in targets.values():
            print(item["text"])
    for name, why in result.meta.get("skipped", {}).items():
        print(f"note: skipped {name}: {why}")
    if args.out:
        print(f"Tables written to {args.out}/")
    print(f"drivers finished in {time.perf_counter() - start:.1f}s")
    return 0


def register(sub) -> None:
    """Add the model commands to the CLI's sub-parser."""
    exp_help = "experiment config (.toml path or a packaged name such as default); default: default"
    p = sub.add_parser("train", help="backtest an experiment, fit the final model, log both to MLflow")
    p.add_argument("--experiment", default=None, help=exp_help)
    p.add_argument("--params", help="JSON file of tuned parameters written by `tune`")
    p.add_argument("--register", metavar="NAME", help="register the model in the MLflow model registry")
    p.add_argument("--alias", help="with --register: point this alias (e.g. champion) at the new version")
    p.add_argument("--no-backtest", action="store_true", help="only fit the final model")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    p.add_argument("--out", help="also save the model bundle to this folder")
    p.add_argument("--save-default", action="store_true", help="replace the model shipped with the package")
    p.add_argument("--no-drivers", action="store_true",
                   help="skip the analyses kept with the model: the drivers model of levels, explain()'s "
                        "refits and the causal effects")
    p.add_argument("--recompute", action="store_true",
                   help="fit the drivers model and the causal effects anew instead of reusing the stage cache "
                        "(they are reused only when panel, specs, code and library versions are unchanged)")
    p.set_defaults(func=_train)

    p = sub.add_parser("backtest", help="rolling-origin backtest against naive baselines")
    p.add_argument("--experiment", default=None, help=exp_help)
    p.add_argument("--out", help="folder for the backtest tables (CSV)")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    p.set_defaults(func=_backtest)

    p = sub.add_parser("tune", help="Optuna search on time-ordered folds (persistent study)")
    p.add_argument("--experiment", default=None, help=exp_help)
    p.add_argument("--n-trials", type=int, default=None, help="trials to run (default: the config's)")
    p.add_argument("--storage", help="Optuna RDB URL (default sqlite:///./optuna.db)")
    p.add_argument("--study-name", help="default hallyu_forecast-<experiment>")
    p.add_argument("--timeout", type=float, help="seconds")
    p.add_argument("--out", help="where to write the best parameters (default tuned/<experiment>.json)")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    p.add_argument("--seed", type=int, help="TPE sampler seed (default: the experiment's); give each worker "
                   "sharing a study its own")
    p.add_argument("--n-jobs", type=int, default=1, help="local worker processes sharing the study (default 1)")
    p.set_defaults(func=_tune)

    p = sub.add_parser("predict", help="forecasts with prediction intervals")
    p.add_argument("--country", action="append", help="ISO3 code or English name (repeatable); default all")
    p.add_argument("--horizon", type=int, action="append", help="1, 2 or 3 (repeatable); default 1")
    p.add_argument("--origin", type=_origin_arg, help="forecast origin year, or a year-month YYYY-MM for an "
                   "in-year nowcast (default: latest year with data)")
    p.add_argument("--model", help="MLflow model URI or bundle folder (default: the shipped model)")
    p.add_argument("--method", help="'annual' (default for a year or December origin) or 'monthly' (the "
                   "nowcast/recovery path; default for an origin inside a year)")
    p.add_argument("--json", action="store_true", help="print the forecasts as JSON records (with --csv: both)")
    p.add_argument("--csv", help="write all columns to this CSV file (with --json: both are written)")
    p.set_defaults(func=_predict)

    p = sub.add_parser("explain", help="grouped SHAP attribution table for countries")
    p.add_argument("--country", action="append", required=True, help="ISO3 code or English name (repeatable)")
    p.add_argument("--horizon", type=int, default=1)
    p.add_argument("--origin", type=int, help="origin year (default: latest year with data)")
    p.add_argument("--model", help="MLflow model URI or bundle folder (default: the shipped model)")
    p.set_defaults(func=_explain)

    p = sub.add_parser("drivers", help="why levels differ: government support vs local conditions, per target")
    p.add_argument("--target", action="append", help="target name (repeatable); default every target with enough "
                   "countries")
    p.add_argument("--country", action="append", help="also print this country's decomposition (repeatable)")
    p.add_argument("--folds", type=int, default=5, help="grouped (by country) CV folds (default 5)")
    p.add_argument("--n-refits", type=int, default=25, help="refits on 80%% of countries for intervals (default 25)")
    p.add_argument("--model", help="bundle folder or MLflow model URI whose stored drivers models to reuse")
    p.add_argument("--horizon", type=int, help=argparse_suppress())
    p.add_argument("--out", help="folder for the result tables (parquet + JSON)")
    p.add_argument("--json", action="store_true", help="machine-readable output (with --csv: both are written)")
    p.add_argument("--csv", help="write the country decompositions (every country, or those of --country) to this "
                   "CSV file; with --json both are written")
    p.set_defaults(func=_drivers)

    p = sub.add_parser("report", help="self-contained HTML report for policy analysts")
    p.add_argument("--out", default="report.html")
    p.add_argument("--model", help="MLflow model URI or bundle folder (default: the shipped model)")
    p.add_argument("--no-track", action="store_true", help="do not log the report to MLflow (the default)")
    p.add_argument("--track", action="store_true", help="log the report, explanation and drivers tables to MLflow")
    p.add_argument("--no-backtest", action="store_true", help="skip the backtest table of the methods section "
                                                              "(about 5-20 s)")
    p.add_argument("--drivers", default=None, help="folder of a saved DriversResult (DriversResult.save) to render "
                                                 "instead of running hf.drivers()")
    p.set_defaults(func=_report)
