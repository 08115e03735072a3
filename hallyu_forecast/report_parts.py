"""Parts of the analysts' report added for issue 19 (kept out of report.py, which is long enough):
the forecast map of one year (only measured, in-domain places coloured), the drivers answer for
every measure (shown by a selector), every target's definition, and small formatters.
"""

from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from hallyu_forecast import _charts as ch
from hallyu_forecast import report_brief as rb
from hallyu_forecast.features import load_feature_specs


def pct(v, digits: int = 1) -> str:
    """A share in percent ("12.3%"), "n/a" when missing."""
    return ch.pct(v, digits) if _num(v) is not None else "n/a"


def interval(lo, hi, fmt=pct) -> str:
    return f"[{fmt(lo)}\u2013{fmt(hi)}]"


def _num(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def natural(v) -> str:
    """Natural units ("n/a" when missing), as the rest of the report prints them."""
    v = _num(v)
    return "n/a" if v is None else rb.natural(v)


def lp_interval(lo, hi) -> str:
    """An interval of log points with its percent: "[0.566-0.997 log points (+76% to +171%)]"."""
    p = lambda v: rb.signed_pct(100 * (math.exp(float(v)) - 1), 0)  # noqa: E731
    return f"[{float(lo):.3f}\u2013{float(hi):.3f} log points ({p(lo)} to {p(hi)})]"


def legend_roles(roles) -> list[str]:
    """Legend entries for the roles drawn, plus "mixed" (neutral grey) when a group spans roles."""
    roles = set(roles)
    return [r for r in ch.ROLE_COLORS if r in roles] + (["mixed"] if roles - set(ch.ROLE_COLORS) else [])


def drivers_measures(drivers, headline: str, charts: list[str], clean_label: Callable[[str], str],
                     log_points: Callable[[float], str]) -> list[dict]:
    """The drivers answer for every other measure the drivers model covers (shown one at a time by a
    selector): split by role under both trade codings, the strongest associations, accuracy.
    ``clean_label`` and ``log_points`` are the report's formatters (hallyu_forecast.report, which
    imports this module, so they are passed in rather than imported)."""
    frames = drivers.to_frames()
    brief = drivers.brief()["targets"]
    level = int(round(100 * float(drivers.meta.get("level") or 0.9)))
    out = []
    for k, t in enumerate(drivers.targets):
        if t == headline:
            continue
        unit = drivers.meta.get("targets", {}).get(t, {}).get("unit", t)
        b = brief[t]
        answer = rb.levels_answer(drivers, t)
        spec = frames["split"]
        spec = spec[(spec["target"] == t) & (spec["variant"] == "as_specified")]
        items = [{"label": ch.ROLE_LABELS.get(r.role, r.role), "value": float(r.share), "lo": float(r.lo),
                  "hi": float(r.hi), "colour": ch.ROLE_COLORS.get(r.role, ch.NEUTRAL), "annotation": pct(r.share),
                  "tooltip": f"{ch.ROLE_LABELS.get(r.role, r.role)}: {pct(r.share)} of the spread, {level}% interval "
                             f"{interval(r.lo, r.hi)}"} for r in spec.itertuples()]
        name = f"drivers-split-{k}"
        svg_split = ch.hbar_chart(name, f"{unit}: share of the differences between countries by role",
                                  f"Covariance share; whiskers: {level}% interval over refits on 80% of countries",
                                  items, "share of the spread", tick_fmt=lambda v: ch.pct(v)) if items else ""
        if items:
            charts.append(name)
        lv = frames["levers"]
        lv = lv[lv["target"] == t].sort_values("importance", ascending=False).head(8)
        l_items = [{"label": clean_label(r.label), "value": float(r.importance), "lo": float(r.lo), "hi": float(r.hi),
                    "colour": ch.ROLE_COLORS.get(r.role, ch.NEUTRAL), "annotation": f"{r.importance:.2f}",
                    "tooltip": f"{clean_label(r.label)} ({ch.ROLE_LABELS.get(r.role, r.role)}): mean |contribution| "
                               f"{log_points(r.importance)}, interval {lp_interval(r.lo, r.hi)}"}
                   for r in lv.itertuples()]
        lname = f"drivers-levers-{k}"
        svg_levers = ch.hbar_chart(lname, f"{unit}: largest associations", "Mean |SHAP| per country-year (log "
                                   "points; +0.10 = about 10%), interval over refits", l_items,
                                   "mean |contribution| (log points)",
                                   legend_roles=legend_roles(lv["role"])) if l_items else ""
        if l_items:
            charts.append(lname)
        beats = b["ratio_vs_global_mean"][2] < 1 and b["ratio_vs_continent_year_mean"][2] < 1
        out.append({"target": t, "unit": unit, "answer": answer, "svg_split": svg_split, "svg_levers": svg_levers,
                    "accuracy": f"error {b['ratio_vs_global_mean'][0]:.2f} "
                                f"{interval(*b['ratio_vs_global_mean'][1:], lambda v: f'{v:.2f}')} times the global "
                                f"mean's and {b['ratio_vs_continent_year_mean'][0]:.2f} "
                                f"{interval(*b['ratio_vs_continent_year_mean'][1:], lambda v: f'{v:.2f}')} times the "
                                "continent × year mean's on held-out countries"
                                + ("" if beats else " (an interval reaches 1: treat this split with caution)")})
    return out


def pct_tick(v: float) -> str:
    """A log-point axis tick in percent of the forecast (+0.001 -> "+0.1%"), never in scientific notation."""
    p = 100 * (math.exp(float(v)) - 1)
    if abs(p) < 1e-9:
        return "0%"
    digits = max(0, min(4, 1 - math.floor(math.log10(abs(p)))))
    return f"{p:+.{digits}f}%".replace("-", "\u2212")


#: why a forecast is drawn grey, not coloured (the map colours only measured, in-domain answers)
GREY_NEW_MARKET = "not coloured: covariate-only new-market model (no travel history; ranges of about \u00d720)"
GREY_LABEL = "grey, hatched: covariate-only guess or extrapolation (hover or focus for the reason)"


def forecast_map(name: str, rows: pd.DataFrame, year: int, inv: Callable, unit: str, names: dict[str, str],
                  domain: dict[str, str], model_of: dict[str, str], ticks) -> tuple[str, list[str], int, int]:
    """One year's forecast map: measured (history model), in-domain places coloured; covariate-only and
    extrapolated places grey and hatched with the reason in their tooltip; places not answered absent."""
    values, tips, greyed = {}, {}, {}
    for r in rows.itertuples():
        v = _num(r.prediction)
        if v is None:
            continue
        model = str(getattr(r, "model", "") or model_of.get(r.iso3, ""))
        which = ("history model (persistence + drift)" if model == "history"
                 else "new-market model (covariates only, no travel history)")
        dom = domain.get(r.iso3, "in")
        tip = (f"{names.get(r.iso3, r.iso3)} ({r.iso3}): {natural(inv(v))} {unit} in {year}, "
               f"80% interval {natural(inv(r.lower))}\u2013{natural(inv(r.upper))}; {which}")
        reasons = ([] if model == "history" else [GREY_NEW_MARKET]) + ([] if dom == "in" else [f"not coloured: {dom}"])
        if reasons:
            greyed[r.iso3] = tip + "; " + "; ".join(reasons)
        else:
            values[r.iso3], tips[r.iso3] = v, tip
    svg, missing = ch.world_map(
        name, f"Forecast {unit} in {year}", "Coloured: measured places (travel history) inside the models' range. "
        "Grey and hatched: covariate-only guesses and extrapolations, not to be read as forecasts. Hover or focus a "
        "country for value, 80% interval, model and reason", values,
        {k: f"{names.get(k, k)} ({k})" for k in ch.world_geometry()}, ch.VIRIDIS, unit,
        value_fmt=lambda v: natural(inv(v)), tooltips=tips, greyed=greyed, greyed_label=GREY_LABEL,
        missing_label="no forecast", legend_ticks=ticks,
        domain=(min(values.values()), max(values.values())) if values else None)
    missing = sorted(set(missing) | {i for i in greyed if i not in ch.world_geometry()})
    return svg, missing, len(values), len(greyed)


def target_definitions(drivers, target: dict) -> list[dict]:
    """Every target the report shows (the forecaster's and each drivers measure): name, unit, definition."""
    names = [target["name"]] + [t for t in (drivers.targets if drivers is not None else []) if t != target["name"]]
    try:
        specs = load_feature_specs().targets
    except Exception:  # custom specs: the forecaster's own description only
        specs = {}
    out = []
    for n in names:
        spec = specs.get(n)
        unit = (drivers.meta.get("targets", {}).get(n, {}).get("unit") if drivers is not None else None) or \
            (target.get("unit") if n == target["name"] else n)
        desc = str(getattr(spec, "description", "") or (target.get("description", "") if n == target["name"] else ""))
        out.append({"name": n, "unit": unit, "description": desc,
                    "measures": str(getattr(spec, "measures", "") or ""),
                    "does_not_measure": str(getattr(spec, "does_not_measure", "") or "")})
    return out
