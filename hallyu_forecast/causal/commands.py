"""CLI commands ``effects`` and ``whatif`` (registered by hallyu_forecast.cli; heavy imports stay inside)."""

from __future__ import annotations

import json

from hallyu_forecast.causal.api import effects
from hallyu_forecast.causal.scenarios import describe_change, parse_changes, simulate


def _print(frame) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 40, "display.max_colwidth", 60):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _effects(args) -> int:
    res = effects(levers=args.lever, targets=args.target, seed=args.seed, track=not args.no_track)
    if args.json:
        print(res.to_json())
        return 0
    cols = ["lever", "target", "estimate", "ci_lo", "ci_hi", "estimate_pct", "ci_lo_pct", "ci_hi_pct", "n_treated",
            "n_control", "pretrend_p", "placebo_p", "verdict"]
    _print(res.table[cols])
    print("\nestimate, ci_lo, ci_hi: log points of the target (95% interval); *_pct: the same in percent of the "
          "target, 100 * (exp(x) - 1).")
    for row in res.table.itertuples(index=False):
        if str(row.verdict).startswith("not estimable"):  # the reason is kept in `assumptions`
            why = str(row.assumptions).removeprefix("not estimable: ")
            print(f"not estimable: {row.lever} x {row.target}: {why}")
    print(f"methods: {'; '.join(sorted(set(res.table['method'])))}")
    for note in res.notes:
        print(f"note: {note}")
    print(f"({res.seconds:.1f} s, seed {res.seed})")
    return 0


def _whatif(args) -> int:
    scen = simulate(args.country, parse_changes(args.set), horizon=args.horizon, seed=args.seed)
    if args.json:
        out = {k: json.loads(v.to_json(orient="records")) for k, v in scen.to_frames().items()}
        print(json.dumps({"country": scen.country, "changes": scen.changes, "units": scen.units, **out}, indent=1))
        return 0
    frame = scen.forecast
    _print(frame[["iso3", "horizon", "target_year", "baseline", "baseline_lower", "baseline_upper", "scenario",
                  "scenario_lower", "scenario_upper", "effect", "effect_lo", "effect_hi", "effect_pct"]])
    print(f"changes: {'; '.join(describe_change(c, v, scen.units.get(c, '')) for c, v in scen.changes.items())}")
    print("baseline/scenario/effect: log points of the model's target (80% intervals; effect 95%); effect_pct: "
          "the effect in percent of the target, 100 * (exp(effect) - 1).")
    print(f"basis: {frame['basis'].iloc[0]}")
    print("\nlevers ranked for this country (largest credible effect, i.e. 95% lower bound, first):")
    _print(scen.levers[["rank", "lever", "estimate", "ci_lo", "ci_hi", "estimate_pct", "credible", "verdict"]])
    print("estimate, ci_lo, ci_hi: log points (95%); estimate_pct: percent.")
    return 0


def register(sub) -> None:
    """Add ``effects`` and ``whatif`` to the CLI's sub-parser."""
    p = sub.add_parser("effects", help="causal effects of Korea's policy levers (event studies, double ML)")
    p.add_argument("--lever", action="append", help="kcc, working_holiday, fta, trade_intensity, "
                   "diplomatic_ties_years, oda (repeatable); default all")
    p.add_argument("--target", action="append", help="target name (repeatable); default the arrivals and students targets")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-track", action="store_true", help="do not log the run to MLflow")
    p.set_defaults(func=_effects)
    p = sub.add_parser("whatif", help="forecast with and without a policy change (scenario)")
    p.add_argument("--country", required=True, help="ISO3 code or English name")
    p.add_argument("--set", action="append", required=True, metavar="COLUMN=VALUE",
                   help="panel column and its new value, e.g. kcc_present=1 (repeatable)")
    p.add_argument("--horizon", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_whatif)
