"""The report's evidence sections computed from the drivers result, the causal estimates, the index and the
backtest (each returns the dict its template block renders, or None when its data are absent)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from hallyu_forecast import _charts as ch
from hallyu_forecast import report_brief as rb
from hallyu_forecast.causal.event_study import CausalError
from hallyu_forecast.causal.scenarios import simulate
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.panel import panel_metadata
from hallyu_forecast.report_format import (
    BRIEF_COUNTRIES,
    HEADLINE_TARGETS,
    _group_label,
    _Inv,
    _role_label,
    clean_label,
    factor,
    log_points,
    natural,
)
from hallyu_forecast.report_index import index_section
from hallyu_forecast.report_parts import (
    _num,
    interval,
    legend_roles,
    lp_interval,
    pct,
)


# ------------------------------------------------------------------------------ drivers
def _headline(drivers, prefer: str | None) -> str:
    for t in ([prefer] if prefer else []) + list(HEADLINE_TARGETS):
        if t in drivers.targets:
            return t
    return drivers.targets[0]


def _split_rows(split: pd.DataFrame) -> list[dict]:
    return [{"role": r.role, "label": ch.ROLE_LABELS.get(r.role, r.role), "share": float(r.share),
             "lo": float(r.lo), "hi": float(r.hi), "text": f"{pct(r.share)} {interval(r.lo, r.hi)}"}
            for r in split.itertuples()]


def _drivers_section(drivers, target: str, charts: list[str], history: pd.DataFrame, inv: _Inv,
                     same_target: bool) -> dict:
    frames = drivers.to_frames()
    unit = drivers.meta.get("targets", {}).get(target, {}).get("unit", target)
    level = int(round(100 * float(drivers.meta.get("level") or 0.9)))
    split = frames["split"]
    split = split[(split["target"] == target)]
    spec = split[split["variant"] == "as_specified"]
    variants = []
    for variant, s in split.groupby("variant", sort=False):
        variants.append({"variant": variant.replace("_", " "), "rows": _split_rows(s)})
    items = [{"label": ch.ROLE_LABELS.get(r.role, r.role), "value": float(r.share), "lo": float(r.lo),
              "hi": float(r.hi), "colour": ch.ROLE_COLORS.get(r.role, ch.NEUTRAL), "annotation": pct(r.share),
              "tooltip": f"{ch.ROLE_LABELS.get(r.role, r.role)}: {pct(r.share)} of the spread, {level}% interval "
                         f"{interval(r.lo, r.hi)}"} for r in spec.itertuples()]
    top = spec.sort_values("share", ascending=False).iloc[0]
    svg_split = ch.hbar_chart("drivers-split", f"{ch.ROLE_LABELS.get(top.role, top.role)} account for most of the "
                              f"differences between countries ({pct(top.share)})",
                              f"Share of the cross-country spread of {unit} (log scale) attributed to each role; "
                              f"whiskers: {level}% interval over refits on 80% of countries",
                              items, "share of the spread", tick_fmt=lambda t: ch.pct(t))
    charts.append("drivers-split")
    groups = frames["groups"]
    groups = groups[(groups["target"] == target) & (groups["variant"] == "as_specified")]
    groups = groups.sort_values("share", ascending=False)
    # shown rounded so that they still sum to the rounded total (no "100.2%" beside "-0.2%")
    rounded = rb.largest_remainder([100 * float(v) for v in groups["share"]], 1)
    g_items = [{"label": _group_label(r.group), "value": float(r.share), "lo": float(r.lo), "hi": float(r.hi),
                "colour": ch.ROLE_COLORS.get(r.role, ch.NEUTRAL), "annotation": f"{rounded[k]:.1f}%",
                "tooltip": f"{_group_label(r.group)} ({_role_label(r.role)}): {pct(r.share)} "
                           f"{interval(r.lo, r.hi)}"} for k, r in enumerate(groups.itertuples())]
    svg_groups = ""
    if g_items:
        svg_groups = ch.hbar_chart("drivers-groups", f"By group: {g_items[0]['label']} leads", "Same decomposition, "
                                   "by feature group (labels rounded so that they sum to the total)", g_items,
                                   "share of the spread", tick_fmt=lambda t: ch.pct(t),
                                   legend_roles=legend_roles(groups["role"]))
        charts.append("drivers-groups")
    levers = frames["levers"]
    levers = levers[levers["target"] == target].sort_values("importance", ascending=False).head(12)
    l_items = [{"label": clean_label(r.label), "value": float(r.importance), "lo": float(r.lo), "hi": float(r.hi),
                "colour": ch.ROLE_COLORS.get(r.role, ch.NEUTRAL), "annotation": f"{r.importance:.2f}",
                "tooltip": f"{clean_label(r.label)} ({ch.ROLE_LABELS.get(r.role, r.role)}): mean |contribution| "
                           f"{log_points(r.importance)}, interval {lp_interval(r.lo, r.hi)}"
                           + ("; ranked above the next" if r.rank_stated else "; not separable from the next")}
               for r in levers.itertuples()]
    svg_levers = ""
    if l_items:
        svg_levers = ch.hbar_chart("drivers-levers", f"Largest association: {l_items[0]['label']}",
                                   f"Mean |SHAP| per country-year (log points), {level}% interval over refits; "
                                   "a rank is stated only where intervals separate", l_items,
                                   "mean |contribution| (log points)",
                                   legend_roles=legend_roles(levers["role"]))
        charts.append("drivers-levers")
    stated = [clean_label(r.label) for r in levers.itertuples() if r.rank_stated]
    acc = frames["accuracy"]
    acc = acc[acc["target"] == target]
    acc_rows = [{"model": r.model.replace("_", " "), "rmse": f"{r.rmse:.3f}",
                 "rmse_ci": interval(r.rmse_lo, r.rmse_hi, lambda v: f"{v:.3f}"),
                 "ratio": "" if r.model == "drivers" else f"{r.ratio:.2f} {interval(r.ratio_lo, r.ratio_hi, lambda v: f'{v:.2f}')}",
                 "n": int(r.n_countries)} for r in acc.itertuples()]
    countries = []
    for iso3 in BRIEF_COUNTRIES:
        try:
            rows = drivers.country(iso3, target)
        except Exception:  # not answered for this target (absent or excluded)
            continue
        countries.append(_country_factors(rows, unit, history if same_target else None, inv))
    return {"target": target, "unit": unit, "level": level, "variants": variants, "svg_split": svg_split,
            "svg_groups": svg_groups, "svg_levers": svg_levers, "levers_stated": stated, "accuracy": acc_rows,
            "countries": countries, "definition": drivers.brief().get("definition", ""),
            "dropped": frames.get("dropped", pd.DataFrame()).query("target == @target").to_dict("records")
            if "dropped" in frames else []}


def _country_factors(rows: pd.DataFrame, unit: str, history: pd.DataFrame | None, inv: _Inv) -> dict:
    """One country's level as factors of the average country's (the drivers decomposition)."""
    first = rows.iloc[0]
    iso3, year = str(first["iso3"]), int(first["year"])
    level = None
    if history is not None and bool(first["observed"]):
        h = history[(history["iso3"] == iso3) & (history["year"] == year)]
        level = inv(h["y"].iloc[0]) if len(h) else None
    roles = []
    for r in rows.itertuples():
        if r.role == "unexplained":
            if _num(r.contribution_log) is not None:
                roles.append({"role": r.role, "label": "unexplained", "factor": factor(r.factor_role),
                              "interval": "", "value": float(r.factor_role)})
            continue
        roles.append({"role": r.role, "label": ch.ROLE_LABELS.get(r.role, r.role), "factor": factor(r.factor_role),
                      "interval": interval(r.factor_lo, r.factor_hi, factor), "value": float(r.factor_role),
                      "lo": float(r.factor_lo), "hi": float(r.factor_hi)})
    dom = str(first.get("domain", "in")) if "domain" in rows else "in"
    return {"iso3": iso3, "year": year, "observed": bool(first["observed"]), "factor": factor(first["factor"]),
            "factor_value": float(first["factor"]), "level": natural(level) if level is not None else None,
            "unit": unit, "roles": roles, "domain": dom, "sentence": _factor_sentence(first, roles, unit, dom)}


def _factor_sentence(first, roles: list[dict], unit: str, dom: str) -> str:
    """ "VNM 2019: x3.6 the average country's youth visitors per 100k inhabitants; government support x1.07
    [0.95-1.12]; ..." (the wording of ``DriversResult.format_country``)."""
    parts = [f"{first['iso3']} {int(first['year'])}: {factor(first['factor'])} the average country's {unit}"
             + ("" if first["observed"] else " (fitted: no observed value)")]
    parts += [f"{r['label']} {r['factor']}" + (f" {r['interval']}" if r["interval"] else "") for r in roles]
    text = "; ".join(parts)
    return text if dom == "in" else f"{text} ({dom})"


def _robustness(drivers) -> tuple[list[dict], str]:
    brief = drivers.brief()["targets"]
    frames = drivers.to_frames()
    split = frames["split"]
    rows = []
    for t in drivers.targets:
        b = brief[t]
        alt = split[(split["target"] == t) & (split["variant"] == "trade_as_government_support")
                    & (split["role"] == "government_support")]
        rows.append({
            "target": t, "unit": drivers.meta.get("targets", {}).get(t, {}).get("unit", t),
            "n_countries": b["n_countries"],
            "ratio_global": f"{b['ratio_vs_global_mean'][0]:.2f} {interval(*b['ratio_vs_global_mean'][1:], lambda v: f'{v:.2f}')}",
            "ratio_cy": f"{b['ratio_vs_continent_year_mean'][0]:.2f} "
                        f"{interval(*b['ratio_vs_continent_year_mean'][1:], lambda v: f'{v:.2f}')}",
            "beats_baselines": b["ratio_vs_global_mean"][2] < 1 and b["ratio_vs_continent_year_mean"][2] < 1,
            "gov": f"{pct(b['split']['government_support'][0])} {interval(*b['split']['government_support'][1:])}",
            "local": f"{pct(b['split']['local_conditions'][0])} {interval(*b['split']['local_conditions'][1:])}",
            "gov_trade": (f"{pct(alt['share'].iloc[0])} {interval(alt['lo'].iloc[0], alt['hi'].iloc[0])}"
                          if len(alt) else "n/a"),
            "ranking": b["ranking"],
            "levers": "; ".join(clean_label(x["label"]) for x in b["top_levers"]),
        })
    rankings = [r["ranking"] for r in rows]
    common = max(set(rankings), key=rankings.count)
    agree = [r["unit"] for r in rows if r["ranking"] == common]
    disagree = [f"{r['unit']} ({r['ranking']})" for r in rows if r["ranking"] != common]
    beats = [r["unit"] for r in rows if not r["beats_baselines"]]
    text = (f"{len(agree)} of {len(rows)} measures agree: {common}" + (f" ({', '.join(agree)})" if agree else "")
            + "." + (f" They do not agree for {', '.join(disagree)}." if disagree else "")
            + (f" For {', '.join(beats)} the drivers model does not clearly beat both baselines (an interval "
               "reaches 1), so treat its split with more caution." if beats else ""))
    return rows, text


def _brief(drivers, target: str, forecast: dict, causal: bool) -> dict:
    b = drivers.brief()
    t = b["targets"][target]
    unit = drivers.meta.get("targets", {}).get(target, {}).get("unit", target)
    level = int(round(100 * float(b.get("level") or 0.9)))
    s = t["split"]
    text = {
        "gov": pct(s["government_support"][0]), "gov_ci": interval(*s["government_support"][1:]),
        "local": pct(s["local_conditions"][0]), "local_ci": interval(*s["local_conditions"][1:]),
        "ratio_global": f"{t['ratio_vs_global_mean'][0]:.2f}",
        "ratio_global_ci": interval(*t["ratio_vs_global_mean"][1:], lambda v: f"{v:.2f}"),
        "ratio_cy": f"{t['ratio_vs_continent_year_mean'][0]:.2f}",
        "ratio_cy_ci": interval(*t["ratio_vs_continent_year_mean"][1:], lambda v: f"{v:.2f}"),
        "rmse": f"{t['rmse']:.2f}", "rmse_global": f"{t['rmse_global_mean']:.2f}",
        "accuracy_pct": pct(1 - t["ratio_vs_global_mean"][0], 0),
        "ranking": {"indistinguishable": "the two cannot be ranked (their intervals overlap)",
                    "local conditions > government support": "local conditions clearly outweigh government support",
                    "government support > local conditions": "government support clearly outweighs local conditions"}
        .get(t["ranking"], t["ranking"]),
        "levers": [clean_label(x["label"]) for x in t["top_levers"]],
        "levers_stated": any(x["rank_stated"] for x in t["top_levers"]),
    }
    return {"target": target, "unit": unit, "level": level, "numbers": t, "text": text, "causal": causal,
            "forecast": forecast}


# ------------------------------------------------------------------------------ optional
EFFECTS_COLUMNS = ("lever", "target", "estimate", "lo", "hi", "method", "assumptions")


EVENT_COLUMNS = ("lever", "target", "event_time", "estimate", "lo", "hi")


# hf.effects() names (causal subpackage): intervals as ci_lo/ci_hi and event-study bands as band_lo/band_hi
_CAUSAL_RENAME = {"ci_lo": "lo", "ci_hi": "hi", "band_lo": "lo", "band_hi": "hi"}


# causal lever -> the drivers model's feature(s) for the side-by-side SHAP column
CAUSAL_FEATURES = {"kcc": ("cultural_centres", "years_since_cultural_centre"), "fta": ("fta_korea_in_force",),
                   "trade_intensity": ("log_trade_per_capita",), "oda": ("log_oda_2019_per_capita",),
                   "diplomatic_ties_years": ("diplomatic_ties_years",)}


CAUSAL_LEVER_LABELS = {"kcc": "Korean Cultural Centre opens", "working_holiday": "working-holiday agreement starts",
                       "fta": "Korea FTA enters into force", "trade_intensity": "trade with Korea (log per capita)",
                       "diplomatic_ties_years": "years of diplomatic ties", "oda": "Korean aid (ODA 2019)"}


CAUSAL_TARGET_LABELS = {"youth_arrivals_per_capita": "youth visitors per 100k",
                        "total_arrivals_per_capita": "all visitors per 100k",
                        "mobile_students_per_capita": "degree students per 100k",
                        "kpop_chart_share": "K-pop chart share (logit)"}


def _pct_of(row, column: str) -> str:
    """An effect in percent (the table's ``*_pct`` column when present, else 100 * (exp(log points) - 1))."""
    name = {"estimate": "estimate_pct", "lo": "ci_lo_pct", "hi": "ci_hi_pct"}[column]
    v = _num(getattr(row, name, None))
    if v is None:
        v = 100 * (math.exp(float(getattr(row, column))) - 1)
    return rb.signed_pct(v)


def _p(value) -> str:
    v = _num(value)
    return "" if v is None else f"{v:.2f}"


def _causal_section(effects, event_study, drivers, target: str | None, charts: list[str]) -> dict | None:
    """Rendered only when ``effects`` is given.

    ``effects`` columns: lever, target, estimate, lo, hi (log points, interval at the stated level),
    method, assumptions (optional: unit, n_treated). ``event_study`` (optional) columns: lever, target,
    event_time (years since onset), estimate, lo, hi. The causal estimate is shown next to the drivers
    model's mean |SHAP| of the same feature (when the lever is one of its features).
    """
    if effects is None:
        return None
    if hasattr(effects, "to_frames"):  # the EffectsResult of hf.effects()
        frames = effects.to_frames()
        effects, event_study = frames["effects"], frames.get("event_time") if event_study is None else event_study
    if isinstance(effects, pd.DataFrame):
        effects = effects.rename(columns={k: v for k, v in _CAUSAL_RENAME.items() if v not in effects.columns})
    if isinstance(event_study, pd.DataFrame):
        event_study = event_study.rename(columns={k: v for k, v in _CAUSAL_RENAME.items()
                                                  if v not in event_study.columns})
    if not isinstance(effects, pd.DataFrame) or not set(EFFECTS_COLUMNS) <= set(effects.columns):
        raise ConfigError(f"`effects` must be a DataFrame with columns {list(EFFECTS_COLUMNS)} "
                          "(the output of hallyu_forecast.effects()).")
    shap = {}
    if drivers is not None:
        lv = drivers.to_frames()["levers"]
        shap = {(r.target, r.feature): f"{r.importance:.3f} {interval(r.lo, r.hi, lambda v: f'{v:.3f}')}"
                for r in lv.itertuples()}

    def shap_of(target, lever) -> str:
        for feature in (lever,) + CAUSAL_FEATURES.get(lever, ()):
            if (target, feature) in shap:
                return shap[(target, feature)] + ("" if feature == lever else f" ({feature})")
        return "not a drivers feature"

    rows = [{"lever": CAUSAL_LEVER_LABELS.get(str(r.lever), str(r.lever)),
             "target": CAUSAL_TARGET_LABELS.get(str(r.target), str(r.target)),
             "estimate": _pct_of(r, "estimate") if _num(r.estimate) is not None else "not estimable",
             "ci": f"[{_pct_of(r, 'lo')}, {_pct_of(r, 'hi')}]" if _num(r.lo) is not None else "",
             "n_treated": str(int(r.n_treated)) if _num(getattr(r, "n_treated", None)) else "",
             "pretrend": _p(getattr(r, "pretrend_p", None)), "placebo": _p(getattr(r, "placebo_p", None)),
             "verdict": str(getattr(r, "verdict", "") or ""), "shap": shap_of(r.target, r.lever)}
            for r in effects.itertuples()]
    # method and assumptions once per lever (they repeat on every target's row); not-estimable rows
    # carry their reason in `assumptions`, shown with the row's lever and measure
    methods, seen = [], set()
    for r in effects.itertuples():
        lever = CAUSAL_LEVER_LABELS.get(str(r.lever), str(r.lever))
        if _num(r.estimate) is None:
            methods.append({"lever": f"{lever}, {CAUSAL_TARGET_LABELS.get(str(r.target), str(r.target))}",
                            "method": "not estimable", "assumptions": str(r.assumptions)})
        elif lever not in seen:
            seen.add(lever)
            methods.append({"lever": lever, "method": str(r.method), "assumptions": str(r.assumptions)})
    plots = []
    if event_study is not None and len(event_study):
        if not set(EVENT_COLUMNS) <= set(event_study.columns):
            raise ConfigError(f"`event_study` must be a DataFrame with columns {list(EVENT_COLUMNS)}.")
        for k, ((lever, tgt), g) in enumerate(event_study.groupby(["lever", "target"], sort=True)):
            g = g.dropna(subset=["estimate"]).sort_values("event_time")
            if g.empty:
                continue
            name = f"event-{k}"
            plots.append(ch.line_chart(
                name, f"{CAUSAL_LEVER_LABELS.get(lever, lever)}: effect on "
                      f"{CAUSAL_TARGET_LABELS.get(tgt, tgt)} by years since onset",
                "Band: 95% simultaneous band; -1 = reference year; effect in percent of the measure",
                [{"x": g["event_time"].astype(int).tolist(), "y": g["estimate"].astype(float).tolist(),
                  "lo": g["lo"].astype(float).tolist(), "hi": g["hi"].astype(float).tolist(),
                  "colour": ch.ROLE_COLORS["government_support"], "label": "estimate", "points": True}],
                "years since onset", "effect (% change)", width=640, height=280, vline=0, vline_label="onset",
                y_fmt=lambda v: rb.signed_pct(100 * (math.exp(v) - 1), 0)))
            charts.append(name)
    return {"rows": rows, "plots": plots, "methods": methods}


#: The report's worked what-if scenarios: (country, changes). Chosen to show each kind of answer: an
#: event lever with a causal estimate, two levers at once, and a continuous lever (double ML).
WORKED_SCENARIOS = (("MYS", {"kcc_present": 1}), ("MEX", {"wh_agreement": 1, "fta_korea_in_force": 1}),
                    ("MEX", {"kor_trade_usd": 4.0e10}))


def worked_scenarios(model=None, scenarios=WORKED_SCENARIOS, horizon: int = 3) -> pd.DataFrame:
    """Forecasts with and without a few policy changes (:func:`hallyu_forecast.simulate`), one row per
    scenario x year: name, iso3, target_year, baseline(_lower/_upper, 80%), scenario(_lower/_upper),
    effect, effect_lo, effect_hi (95%, log points; NaN when associational), basis.

    A scenario that no longer applies (the country has meanwhile been treated) is skipped, not failed.
    """

    parts = []
    for iso3, changes in scenarios:
        try:
            s = simulate(iso3, changes, horizon=horizon, model=model, rank=False)
        except CausalError:
            continue
        label = f"{iso3}: " + " and ".join(rb.change_words(k, v) for k, v in changes.items())
        parts.append(s.forecast.assign(name=label))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _scenario_rows(scenarios: pd.DataFrame | None, inv) -> list[dict]:
    """Rows of the worked-scenarios table, in natural units (the target's inverse transform)."""
    if scenarios is None or scenarios.empty:
        return []
    nat = lambda v: natural(inv(v))  # noqa: E731
    sp = lambda v: rb.signed_pct(100 * (np.exp(v) - 1))  # noqa: E731
    rows = []
    for r in scenarios.itertuples():
        effect = (f"{sp(r.effect)} [{sp(r.effect_lo)}, {sp(r.effect_hi)}]" if np.isfinite(r.effect_lo) else
                  f"{sp(r.effect)} (no interval: associational)")
        rows.append({"scenario": str(r.name), "year": int(r.target_year),
                     "baseline": f"{nat(r.baseline)} [{nat(r.baseline_lower)}\u2013{nat(r.baseline_upper)}]",
                     "with": f"{nat(r.scenario)} [{nat(r.scenario_lower)}\u2013{nat(r.scenario_upper)}]",
                     "effect": effect, "basis": _basis_label(str(r.basis)), "basis_detail": str(r.basis)})
    return rows


def _basis_label(basis: str) -> str:
    """The real basis of a what-if row in short: "causal", "causal (pre-trends fail)", "causal (not credible)"
    or "association" (one per change, deduplicated; the full text stays in ``basis_detail``)."""
    tags = []
    for part in re.split(r"; (?=causal|association)", basis):  # verdicts inside a part contain "; " too
        m = re.match(r"^(causal(?: \((?:pre-trends fail|not credible)\))?|association)", part)
        tag = m.group(1) if m else part
        if tag not in tags:
            tags.append(tag)
    return "; ".join(tags)


def _index_section(index, names: dict[str, str], charts: list[str], panel: pd.DataFrame | None = None) -> dict | None:
    """The index section: the full one (ranked table, bands, basis, validation) when ``panel`` has the index
    inputs, else a map of the given ``index`` frame (columns iso3, year, hallyu_index), or nothing."""
    if index is None and panel is not None and "hallyu_index_published" in panel.columns:
        return index_section(panel, names, charts)
    if index is None:
        return None
    if not isinstance(index, pd.DataFrame) or not {"iso3", "year", "hallyu_index"} <= set(index.columns):
        raise ConfigError("`index` must be a DataFrame with columns iso3, year, hallyu_index "
                          "(the panel's `hallyu_index` column).")
    if panel is not None and "hallyu_index_published" in panel.columns:
        return index_section(panel, names, charts)
    d = index.dropna(subset=["hallyu_index"])
    if d.empty:
        return None
    year = int(d["year"].max())
    d = d[d["year"] == year]
    values = dict(zip(d["iso3"], d["hallyu_index"].astype(float)))
    svg, missing = ch.world_map("map-index", f"Hallyu index, {year}", "Percentile 0-100; grey: no data", values,
                                {k: f"{names.get(k, k)} ({k})" for k in ch.world_geometry()}, ch.VIRIDIS,
                                "Hallyu index (percentile, 0-100)", value_fmt=lambda v: f"{v:.0f} of 100")
    charts.append("map-index")
    return {"year": year, "svg": svg, "n": len(values), "not_drawn": [names.get(m, m) for m in missing],
            "rows": [], "validation": [], "invariance": [], "caveats": []}


# ------------------------------------------------------------------------------- methods
def _backtest_table(backtest) -> dict | None:
    if backtest is None:
        return None
    if isinstance(backtest, pd.DataFrame):
        s = backtest.reset_index(drop=True)
        return {"columns": [str(c).replace("_", " ") for c in s.columns],
                "rows": [[f"{v:.3f}" if isinstance(v, (float, np.floating)) else str(v) for v in r]
                         for r in s.itertuples(index=False)]}
    if not hasattr(backtest, "summary"):
        raise ConfigError(f"`backtest` must be a BacktestResult or a DataFrame. Got {type(backtest).__name__}.")
    s = backtest.summary()
    s = s.reset_index() if "horizon" not in s.columns else s.copy()
    cols = ["horizon", "n"] + [c for c in s.columns if c.startswith("rmse_")]
    ratio_cols = [c for c in s.columns if c.startswith("ratio_vs_") and not c.endswith(("_lo", "_hi"))]
    cov = [c for c in s.columns if c.startswith("coverage_")]
    columns = [c.replace("rmse_", "RMSE ") for c in cols] + [c.replace("ratio_vs_", "vs ") for c in ratio_cols] \
        + [f"{c.replace('coverage_', '')}% interval coverage" for c in cov]
    rows = []
    for _, r in s.iterrows():
        cells = [str(int(r["horizon"])), str(int(r["n"]))] + [f"{r[c]:.3f}" for c in cols[2:]]
        for c in ratio_cols:
            lo, hi = r.get(f"{c}_lo"), r.get(f"{c}_hi")
            cells.append(f"{r[c]:.2f}" + (f" ({lo:.2f}-{hi:.2f})" if _num(lo) is not None else ""))
        cells += [pct(r[c], 0) for c in cov]
        rows.append(cells)
    return {"columns": columns, "rows": rows}


def _sources(embedded: bool) -> list[dict]:
    if not embedded:
        return []
    try:
        meta = panel_metadata()
    except Exception:  # pragma: no cover - embedded metadata missing
        return []
    return [{"name": n, "title": s.get("title", ""), "publisher": s.get("publisher", ""),
             "years": str(meta.get("vintage", {}).get(n, "")), "license": s.get("license", ""),
             "citation": s.get("citation", "")} for n, s in sorted(meta.get("sources", {}).items())]
