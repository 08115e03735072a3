"""The analysts' report: one self-contained, offline HTML page built around the drivers answer.

Python computes one data structure, :class:`ReportData` (:func:`build_report_data`), from the
drivers result (:func:`hallyu_forecast.drivers`), the forecaster's explanation
(:func:`hallyu_forecast.explanation`), the forecasts (:func:`hallyu_forecast.predict`) and the
backtest; the layout lives in the jinja2 template ``hallyu_forecast/templates/report.html.j2``
(autoescaped). Charts that are simpler by hand stay hand-written SVG (:mod:`hallyu_forecast._charts`).

Page, in order:

1. **Brief** (first screen, :mod:`hallyu_forecast.report_brief`): three plain answers with their
   intervals and limits (why levels differ, both codings of trade; what the levers did, causal, in
   percent, n treated; what comes next), then "what this cannot say"; the data-vintage line.
2. **Why levels differ** (drivers): split of the cross-country spread by role and group, the levers,
   country decompositions as factors.
3. **What the measures agree on**: one robustness table across targets.
4. **What comes next**: one forecast map per year behind a select (only measured, in-domain places
   coloured; covariate-only and extrapolated places grey, hatched, with the reason), how the
   forecaster uses the levers (binary/few-level levers as categories), the country sections.
5. Optional **What Korea's policy levers did** (``effects``) and the **Hallyu intensity index** map
   (``index``), rendered only when their data are given.
6. **Methods** (every target defined) and a **Glossary**.

Country sections are collapsed ``<details>`` elements; a small inline script builds a country's
section (charts included) from the embedded JSON when it is opened, so the page loads light.
Every string from data, specs or user files is escaped: in HTML by jinja2's autoescape and
:func:`hallyu_forecast._charts.esc`, in the embedded JSON by :func:`json_for_script` (``<``, ``>``,
``&`` and U+2028/9 as ``\\uXXXX``), and the script writes data with ``textContent`` only.
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from hallyu_forecast import _charts as ch
from hallyu_forecast import report_brief as rb
from hallyu_forecast import tracking
from hallyu_forecast.causal.event_study import CausalError
from hallyu_forecast.causal.scenarios import simulate
from hallyu_forecast.config import load_config
from hallyu_forecast.drivers import drivers as fit_drivers
from hallyu_forecast.drivers_model import DriversResult, _labels, _target_info
from hallyu_forecast.errors import ConfigError, HallyuError, ModelError
from hallyu_forecast.evaluation import backtest
from hallyu_forecast.explanation import Explanation, explain
from hallyu_forecast.features import TargetSpec, inverse_target, load_feature_specs
from hallyu_forecast.inference import predict, resolve_model
from hallyu_forecast.monthly import load_monthly
from hallyu_forecast.panel import load_countries, panel_metadata
from hallyu_forecast.report_index import index_section
from hallyu_forecast.report_parts import (
    _num,
    drivers_measures,
    forecast_map,
    legend_roles,
    lp_interval,
    pct_tick,
    target_definitions,
)
from hallyu_forecast.training import with_params

GROUP_LABELS = {
    "cultural_policy": "Cultural policy (centres, visas, aid)",
    "diplomatic": "Diplomacy and trade",
    "economic": "Economy",
    "political": "Political openness",
    "digital": "Digital access",
    "geography_culture": "Geography and culture",
    "regime": "Regime shocks (COVID, disputes)",
    "target_history": "Own history (momentum)",
}
LEVERS = ("cultural_centres", "fta_korea_in_force", "fta_in_force", "visa_openness", "diplomatic_ties_years",
          "log_trade_per_capita")
BRIEF_COUNTRIES = ("VNM", "JPN", "USA", "FRA", "BRA")
HEADLINE_TARGETS = ("youth_arrivals_per_capita",)
TINY_LOG = 0.01  # contributions below 1% of the forecast are grouped into "other" in the waterfall
MAX_STEPS = 5
COVID_LABEL = "COVID recovery rule (2020-22 origins)"
CATEGORY_LEVELS = 4  # a lever with at most this many distinct values is drawn as categories
NEW_MARKET_LABEL = "answered without travel history (covariates-only model)"
CAVEAT = ("These are associations across countries, not causal effects: they say which conditions go with "
          "high Hallyu levels, not what a policy change would cause.")
FORECAST_CAVEAT = ("Year-to-year forecasts are essentially persistence plus drift: the last observed level moved "
                   "by the pooled median change and by a small run-rate term (the last quarter against the same "
                   "quarter a year earlier), which makes them slightly more accurate than persistence + median "
                   "drift (the backtest under Methods). Nothing in the annual covariates predicts year-to-year changes, so the "
                   "forecasts cannot separate drivers of change; the learned adjustments below are shown with "
                   "their real, small size.")


def _role_label(role: str) -> str:
    """Words for a role; a group mixing roles ("government_support/local_conditions") reads "mixed: ..."."""
    if "/" in str(role):
        return "mixed: " + " / ".join(ch.ROLE_LABELS.get(r, r).lower() for r in str(role).split("/"))
    return ch.ROLE_LABELS.get(role, str(role).replace("_", " "))


def _group_label(group: str) -> str:
    return GROUP_LABELS.get(group, str(group).replace("_", " ").capitalize())


def clean_label(text: str) -> str:
    """Feature words for readers: the data dictionary's description without source codes."""
    text = re.sub(r":\s*(WDI|Gapminder|V-Dem|OWID)\b.*$", "", str(text))
    text = re.sub(r"\s+", " ", text).strip().rstrip(".;,")
    return text[:1].upper() + text[1:] if text else text


def feature_labels(names) -> dict[str, str]:
    """Feature name -> words from the data dictionary (``hf.load_dictionary()``), else the name."""
    return dict(_feature_labels(tuple(names)))


@functools.lru_cache(maxsize=8)
def _feature_labels(names: tuple) -> tuple:
    names = list(names)
    out = {n: n.replace("_", " ") for n in names}
    try:
        words = _labels()
    except Exception:  # pragma: no cover - custom specs without dictionary entries
        words = {}
    out.update({n: clean_label(words[n]) for n in names if n in words})
    out.update({"last_observed_level": "Last observed level (anchor)", "covid_recovery_adjustment": COVID_LABEL})
    return tuple(out.items())


def json_for_script(value) -> str:
    """JSON safe inside ``<script>``: ``</script>``, ``<!--`` and ``&`` cannot end or alter the element."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _fold(text: str) -> str:
    """Lower-case ASCII fold for search ("Türkiye" -> "turkiye", "Côte d’Ivoire" -> "cote d'ivoire")."""
    text = unicodedata.normalize("NFKD", str(text)).replace("\u2019", "'")
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def pct(v, digits: int = 1) -> str:
    return ch.pct(v, digits) if _num(v) is not None else "n/a"


def interval(lo, hi, fmt=pct) -> str:
    return f"[{fmt(lo)}\u2013{fmt(hi)}]"


def factor(v) -> str:
    v = _num(v)
    if v is None:
        return "n/a"
    return f"\u00d7{v:,.0f}" if v >= 100 else (f"\u00d7{v:.1f}" if v >= 10 else f"\u00d7{v:.2f}")


def natural(v) -> str:
    v = _num(v)
    if v is None:
        return "n/a"
    if abs(v) >= 100 or (abs(v) >= 10 and float(v).is_integer()):
        return f"{v:,.0f}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"


def log_points(c: float) -> str:
    """Signed log points with the implied percent change: "+0.0006 log points (+0.06%)"."""
    c = float(c)
    if c == 0:
        return "0 log points (unused)"
    p = 100 * (math.exp(c) - 1)
    # two significant digits for tiny values (+0.00058), two decimals otherwise (+0.47)
    decimals = 2 if abs(c) >= 0.01 else 1 - math.floor(math.log10(abs(c)))
    lp = f"{c:+.{decimals}f}"
    pp = f"{p:+.{2 if abs(c) >= 0.01 else 1}g}%" if abs(p) < 1 else f"{p:+.0f}%"
    return f"{lp} log points ({pp})".replace("-", "\u2212")


# ---------------------------------------------------------------------------- data model
@dataclass
class ReportData:
    """Everything the template renders (JSON-able except the pre-drawn SVG strings).

    Attributes
    ----------
    title, generated : str
    vintage : str
        Data vintage ("arrivals through 2022-12"), shown next to the generated date.
    target : dict
        The forecaster's target: name, description, unit, transform.
    brief : dict or None
        ``DriversResult.brief()`` of the headline target plus formatted strings (``text``).
    drivers : dict or None
        Headline drivers tables (split, groups, levers, accuracy, country factors) and charts.
    robustness : list of dict
        One row per drivers target.
    forecast : dict
        Forecast years, origin, counts, map SVG, places not drawn, lever charts.
    countries : list of dict
        Per-country payload embedded as JSON (sections built on demand).
    methods : dict
    causal, index : dict or None
        Optional sections (``effects`` of the causal analysis, the ``hallyu_index`` map).
    charts : list of str
        Names of the charts drawn at load (``svg[data-chart]``).
    """

    title: str
    generated: str
    vintage: str
    target: dict
    brief: dict | None
    drivers: dict | None
    robustness: list[dict]
    forecast: dict
    countries: list[dict]
    methods: dict
    causal: dict | None = None
    index: dict | None = None
    charts: list[str] = field(default_factory=list)

    def payload(self) -> dict:
        """The JSON embedded in the page (what the inline script reads)."""
        return _round({"countries": self.countries, "unit": self.target.get("unit", ""),
                       "drivers_unit": (self.drivers or {}).get("unit", "")})


def _round(value, digits: int = 4):
    """Floats to ``digits`` significant digits (the embedded JSON stays small)."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v, digits) for v in value]
    return value


def _normalise_forecasts(forecasts) -> pd.DataFrame | None:
    if forecasts is None:
        return None
    if not isinstance(forecasts, pd.DataFrame):
        raise ConfigError(f"`forecasts` must be a DataFrame from hallyu_forecast.predict(). Got "
                          f"{type(forecasts).__name__}.")
    f = forecasts.rename(columns={"lower_80": "lower", "upper_80": "upper"}).copy()
    need = {"iso3", "origin", "target_year", "prediction"}
    missing = sorted(need - set(f.columns))
    if missing:
        raise ConfigError(f"`forecasts` lacks column(s) {missing}; pass the output of hallyu_forecast.predict().")
    for c in ("lower", "upper"):
        if c not in f:
            f[c] = np.nan
    latest = f.groupby("iso3")["origin"].transform("max")
    return f[f["origin"] == latest].sort_values(["iso3", "target_year"]).reset_index(drop=True)


def _normalise_history(history) -> pd.DataFrame:
    if history is None:
        return pd.DataFrame(columns=["iso3", "year", "y"])
    if not isinstance(history, pd.DataFrame) or not {"iso3", "year", "y"} <= set(history.columns):
        raise ConfigError("`history` must be a DataFrame with columns iso3, year, y (observed target, model scale).")
    return history[["iso3", "year", "y"]].dropna().sort_values(["iso3", "year"]).reset_index(drop=True)


class _Inv:
    """Model scale -> natural units of the forecaster's target."""

    def __init__(self, target: dict):
        self.spec = TargetSpec(name=target["name"], description=target.get("description", ""),
                               transform=target.get("transform", "log"))
        self.log = self.spec.transform == "log"

    def __call__(self, v) -> float | None:
        v = _num(v)
        return None if v is None else _num(inverse_target([v], self.spec)[0])


def _names() -> tuple[dict[str, str], dict[str, set[str]]]:
    """ISO3 -> display name, and ISO3 -> every other name (countries table, aliases, English names)."""
    from importlib import resources

    names, other = {}, {}
    try:
        for r in load_countries().itertuples():
            names[r.iso3] = str(r.name)
            other.setdefault(r.iso3, set()).update({str(r.name), str(getattr(r, "name_ko", "") or "")})
    except Exception:  # pragma: no cover - embedded table missing
        pass
    for fname in ("country_aliases.csv", "report_search_names.csv"):
        try:
            with resources.files("hallyu_forecast.data").joinpath(fname).open(encoding="utf-8") as fh:
                for r in pd.read_csv(fh, keep_default_na=False).itertuples():
                    other.setdefault(str(r.iso3), set()).add(str(r.alias))
        except FileNotFoundError:  # pragma: no cover
            pass
    return names, other


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


# ---------------------------------------------------------------------------- forecasts
def _term_maps(ex) -> tuple[dict, dict]:
    t = ex.terms.drop_duplicates("term")
    return dict(zip(t["term"], t["group"].astype(str))), dict(zip(t["term"], t["role"].astype(str)))


def forecast_size(ex, iso3: str, history: pd.DataFrame | None = None, _maps: tuple | None = None) -> dict:
    """The forecaster's explanation of one country at its real size.

    Returns a dict with ``steps`` (label, role, log, text: contributions in log points and percent
    of the forecast, the tiny ones grouped into "other"), ``start`` (the last observed level or the
    new-market model's average, model scale), ``prediction`` and ``text`` (the sentence printed by
    ``hallyu-forecast explain`` and shown in the report).
    """
    iso3 = str(iso3).upper()
    i = ex._pick_row(iso3, None)
    row = ex.rows.loc[i]
    contrib = ex.contributions.loc[i]
    contrib = contrib[contrib != 0]
    group_of, role_of = _maps[:2] if _maps else _term_maps(ex)
    pred = float(row["prediction"])
    origin, target_year = int(row["origin"]), int(row["target_year"])
    if _maps and len(_maps) > 2:
        last = _maps[2].get((iso3, origin))
    else:
        history = ex.history if history is None else history
        h = history[(history["iso3"] == iso3) & (history["year"] == origin)] if history is not None else []
        last = float(h["y"].iloc[0]) if len(h) else None
    if row["model"] == "history" and last is not None:
        start, start_label = float(last), f"Last observed ({origin})"
    else:
        start, start_label = float(row["base_value"]), "Average of the new-market model"
    by_group: dict[tuple[str, str], float] = {}
    covid = 0.0
    for term, value in contrib.items():
        if term == "last_observed_level" or not value:
            continue
        if term == "covid_recovery_adjustment":
            covid += float(value)
            continue
        key = (group_of[term], role_of[term])
        by_group[key] = by_group.get(key, 0.0) + float(value)
    learned = sum(by_group.values())
    steps = [{"label": _group_label(g), "role": r, "log": v} for (g, r), v in by_group.items()]
    if covid:
        steps.append({"label": COVID_LABEL, "role": "regime", "log": covid})
    rest = pred - start - learned - covid
    if row["model"] == "history":
        steps.insert(0, {"label": "Persistence + pooled drift", "role": "history", "log": rest})
    steps.sort(key=lambda s: -abs(s["log"]))
    big = [s for s in steps if abs(s["log"]) >= TINY_LOG][:MAX_STEPS]
    small = [s for s in steps if s not in big]
    if small:
        big.append({"label": f"Other ({len(small)} group{'s' if len(small) > 1 else ''}, each below 1%)",
                    "role": "other", "log": float(sum(s["log"] for s in small))})
    for s in big:
        s["text"] = log_points(s["log"])
    roles = {}
    for (g, r), v in by_group.items():
        roles[r] = roles.get(r, 0.0) + v
    role_text = ", ".join(f"{ch.ROLE_LABELS.get(r, r)} {log_points(v)}"
                          for r, v in sorted(roles.items(), key=lambda kv: -abs(kv[1])))
    text = (f"{row['name']} ({iso3}), forecast for {target_year} from data up to {origin} "
            f"[{str(row['model']).replace('_', '-')} model]: "
            + (f"the forecast moves {log_points(pred - start)} from the last observed level; "
               f"persistence + pooled drift (+ run-rate momentum) {log_points(rest)}" if row["model"] == "history"
               else f"the forecast is {log_points(pred - start)} from the new-market model's average")
            + (f"; COVID recovery rule {log_points(covid)}" if covid else "")
            + (f"; learned adjustments: {role_text}" if role_text else "") + ". "
            + ("Year-to-year forecasts are essentially persistence + drift and cannot separate drivers of "
               "change; `hallyu-forecast drivers` explains why levels differ between countries."
               if row["model"] == "history" else
               "Associations across countries, not causal effects."))
    return {"steps": big, "start": start, "start_label": start_label, "prediction": pred, "origin": origin,
            "target_year": target_year, "model": str(row["model"]), "text": text}


def _domain_status(forecasts: pd.DataFrame | None, drivers, target: str | None) -> dict[str, str]:
    """ISO3 -> "in" / "extrapolated: ..." / "excluded: ...", from predict()'s ``domain`` column, else the
    drivers result's domain table, else population (places without it are excluded)."""
    out: dict[str, str] = {}
    if drivers is not None and target is not None and "domain" in drivers.to_frames():
        d = drivers.to_frames()["domain"]
        d = d[d["target"] == target]
        for r in d.itertuples():
            out[r.iso3] = "in" if r.status == "in" else f"{r.status}: {r.reason}"
    if forecasts is not None:
        if "domain" in forecasts:
            for iso3, dom in forecasts.drop_duplicates("iso3").set_index("iso3")["domain"].items():
                out[iso3] = str(dom)
        elif "prediction_arrivals" in forecasts:
            nopop = forecasts.groupby("iso3")["prediction_arrivals"].apply(lambda s: s.isna().all())
            for iso3 in nopop[nopop].index:
                out[iso3] = "excluded: no population figure"
    return out


def _forecast_section(ex, forecasts: pd.DataFrame | None, inv: _Inv, unit: str, names: dict[str, str],
                      domain: dict[str, str], charts: list[str]) -> dict:
    if forecasts is None:
        latest = ex.rows.loc[ex.rows.groupby("iso3")["origin"].idxmax()]
        forecasts = pd.DataFrame({"iso3": latest["iso3"], "origin": latest["origin"],
                                  "target_year": latest["target_year"], "prediction": latest["prediction"],
                                  "lower": latest.get("lower_80", np.nan), "upper": latest.get("upper_80", np.nan),
                                  "model": latest["model"]})
    f = forecasts[~forecasts["iso3"].map(lambda i: domain.get(i, "in").startswith("excluded"))]
    first = f[f["target_year"] == f.groupby("iso3")["target_year"].transform("min")]
    years = sorted(int(y) for y in f["target_year"].unique())
    origin = int(f["origin"].max()) if len(f) else None
    map_year = int(first["target_year"].max()) if len(first) else None
    model_of = dict(zip(ex.rows["iso3"], ex.rows["model"]))
    if "model" in first:
        model_of.update(dict(zip(first["iso3"], first["model"])))
    values, tips = {}, {}
    for r in first.itertuples():
        v = _num(r.prediction)
        if v is None:
            continue
        values[r.iso3] = v
        which = ("history model (persistence + drift)" if model_of.get(r.iso3) == "history"
                 else "new-market model (covariates only, no travel history)")
        dom = domain.get(r.iso3, "in")
        tips[r.iso3] = (f"{names.get(r.iso3, r.iso3)} ({r.iso3}): {natural(inv(v))} {unit} in {int(r.target_year)}, "
                        f"80% interval {natural(inv(r.lower))}\u2013{natural(inv(r.upper))}; {which}"
                        + ("" if dom == "in" else f"; {dom}"))
    svg, missing, maps = "", [], []
    if values:
        ticks = None
        if inv.log:
            lo, hi = min(values.values()), max(values.values())
            ticks = [math.log(10.0 ** k) for k in range(-3, 8) if math.exp(lo) <= 10.0 ** k <= math.exp(hi)] or None
        for k, year in enumerate(years):
            name = "map-forecast" if k == 0 else f"map-forecast-{year}"
            m_svg, m_missing, n_col, n_grey = forecast_map(name, f[f["target_year"] == year], year, inv, unit, names,
                                                            domain, model_of, ticks)
            charts.append(name)
            maps.append({"year": year, "svg": m_svg, "name": name, "n_coloured": n_col, "n_grey": n_grey})
            if k == 0:
                svg, missing = m_svg, m_missing
    # the headline names only answers inside the applicability domain (not extrapolations such as Guam's)
    top = sorted((i for i in values if domain.get(i, "in") == "in"), key=values.get, reverse=True)[:3]
    n_hist = sum(1 for i in values if model_of.get(i) == "history")
    return {"years": years, "origin": origin, "map_year": map_year, "svg_map": svg, "maps": maps, "n": len(values),
            "n_history": n_hist, "n_new": len(values) - n_hist,
            "top": [{"iso3": i, "name": names.get(i, i), "value": natural(inv(values[i]))} for i in top],
            "not_drawn": [{"iso3": m, "name": names.get(m, m)} for m in missing],
            "excluded": sorted(i for i, d in domain.items() if d.startswith("excluded")),
            "extrapolated": sorted(i for i, d in domain.items() if d.startswith("extrapolated")),
            "frame": f}


def _lever_charts(ex, labels: dict[str, str], charts: list[str], unused: list[str] | None = None) -> list[str]:
    """How the forecaster's learned adjustment uses each policy lever; few-level levers as categories.
    A lever the adjustment never uses (every contribution 0) gets no chart (an empty chart says
    nothing); its label is appended to ``unused``."""
    terms = set(ex.terms.loc[ex.terms["kind"] == "feature", "term"])
    present = [t for t in LEVERS if t in terms]
    if not present:
        imp = ex.importance(by="term")
        present = imp[imp["role"] == "government_support"]["item"].tolist()[:4]
    rows = ex.rows
    # one dot per country (its latest explained origin): the page stays light and each country counts once
    keep = (rows["origin"] == rows.groupby("iso3")["origin"].transform("max")).to_numpy()
    out = []
    for term in present:
        x = ex.values[term].to_numpy(float)[keep]
        y = ex.contributions[term].to_numpy(float)[keep]
        iso = rows["iso3"].to_numpy()[keep]
        origin = rows["origin"].to_numpy()[keep]
        tips = [f"{i} {int(o)}: value {ch.fmt(a)}, contribution {log_points(b) if np.isfinite(b) else 'n/a'}"
                for i, o, a, b in zip(iso, origin, x, y)]
        label = labels.get(term, term)
        if not np.any(np.abs(y[np.isfinite(y)]) > 0):
            if unused is not None:
                unused.append(label)
            continue
        size = float(np.nanmean(np.abs(y))) if len(y) else 0.0
        title = f"{label}: mean |contribution| {log_points(size)}"
        name = f"lever-{term}"
        levels = sorted(v for v in set(x[np.isfinite(x)].tolist()))
        if 0 < len(levels) <= CATEGORY_LEVELS:
            groups = [{"label": ch.fmt(v, 0) if float(v).is_integer() else ch.fmt(v),
                       "values": [b for a, b in zip(x, y) if a == v],
                       "tooltips": [t for a, t in zip(x, tips) if a == v]} for v in levels]
            svg = ch.strip_chart(name, title, "One dot per country-year, by the lever's value; bar: median. "
                                 "Associational, not causal.", groups, "contribution (% of the forecast)",
                                 colour=ch.ROLE_COLORS["government_support"], y_fmt=pct_tick)
        else:
            svg = ch.scatter_chart(name, title, "One dot per country-year: value (x) and contribution (y). "
                                   "Associational, not causal.", x, y, tips, label, "contribution (% of the forecast)",
                                   colour=ch.ROLE_COLORS["government_support"], width=430, height=300,
                                   y_fmt=pct_tick)
        charts.append(name)
        out.append(svg)
    return out


def _country_payload(ex, f: pd.DataFrame, history: pd.DataFrame, inv: _Inv, unit: str, names: dict[str, str],
                     other: dict[str, set[str]], domain: dict[str, str], drivers, dtarget: str | None,
                     dunit: str) -> list[dict]:
    explained = set(ex.countries())
    codes = sorted(set(f["iso3"]) | {i for i in explained if not domain.get(i, "in").startswith("excluded")})
    out = []
    by_iso = {k: g for k, g in f.groupby("iso3")}
    hist_by = {k: g for k, g in history.groupby("iso3")}
    maps = _term_maps(ex) + ({(i, int(y)): float(v) for i, y, v in zip(history["iso3"], history["year"], history["y"])},)
    dcountries = {}
    if drivers is not None and dtarget is not None:
        dc = drivers.to_frames()["countries"]
        dcountries = {k: g for k, g in dc[dc["target"] == dtarget].groupby("iso3")}
    for iso3 in codes:
        name = names.get(iso3) or str(ex.rows.loc[ex.rows["iso3"] == iso3, "name"].iloc[0]) \
            if iso3 in explained else names.get(iso3, iso3)
        search = sorted({_fold(n) for n in {name, iso3} | other.get(iso3, set()) if n})
        item = {"iso3": iso3, "name": name, "search": " | ".join(search), "domain": domain.get(iso3, "in")}
        g = by_iso.get(iso3)
        if g is not None and len(g):
            item["model"] = str(g["model"].iloc[0]) if "model" in g else ""
            item["origin"] = int(g["origin"].iloc[0])
            item["forecast"] = [[int(r.target_year), inv(r.prediction), inv(r.lower), inv(r.upper),
                                 f"{int(r.target_year)}: {natural(inv(r.prediction))} {unit} (80% interval "
                                 f"{natural(inv(r.lower))}\u2013{natural(inv(r.upper))})"] for r in g.itertuples()]
        h = hist_by.get(iso3)
        if h is not None and len(h):
            item["history"] = [[int(r.year), inv(r.y)] for r in h.itertuples()]  # tooltip composed by the script
        if iso3 in explained:
            size = forecast_size(ex, iso3, history, _maps=maps)
            item["explain"] = {"text": size["text"], "start": inv(size["start"]), "start_label": size["start_label"],
                               "prediction": inv(size["prediction"]), "target_year": size["target_year"],
                               "steps": [{"label": s["label"], "role": s["role"], "log": s["log"], "text": s["text"]}
                                         for s in size["steps"]]}
            item.setdefault("model", size["model"])
        if drivers is not None and dtarget is not None:
            rows = dcountries.get(iso3)
            if rows is not None and len(rows):
                observed = rows.loc[rows["observed"], "year"]
                rows = rows[rows["year"] == (observed.max() if len(observed) else rows["year"].max())]
                fac = _country_factors(rows.reset_index(drop=True), dunit, None, inv)
                item["drivers"] = {"sentence": fac["sentence"], "year": fac["year"], "observed": fac["observed"],
                                   "factor": fac["factor_value"],
                                   "roles": [[r["label"], r["value"], r.get("lo"), r.get("hi"),
                                              f"{r['factor']} {r['interval']}".strip(), r["role"]]
                                             for r in fac["roles"]]}
        out.append(item)
    return out


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


# ---------------------------------------------------------------------------------- main
def build_report_data(explanation, forecasts: pd.DataFrame | None = None, backtest=None,
                      history: pd.DataFrame | None = None, title: str | None = None, drivers=None,
                      effects: pd.DataFrame | None = None, event_study: pd.DataFrame | None = None,
                      index: pd.DataFrame | None = None, drivers_target: str | None = None,
                      scenarios: pd.DataFrame | None = None, panel: pd.DataFrame | None = None,
                      vintage: str | None = None) -> ReportData:
    """Compute the one data structure the report template renders.

    Parameters
    ----------
    explanation : Explanation
        The forecaster's explanation (:func:`hallyu_forecast.explanation`).
    forecasts : DataFrame, optional
        :func:`hallyu_forecast.predict` output (several horizons welcome).
    backtest : BacktestResult or DataFrame, optional
    history : DataFrame, optional
        Observed target (iso3, year, y on the model scale); default the explanation's.
    title : str, optional
    drivers : DriversResult, optional
        :func:`hallyu_forecast.drivers` output: the brief, the drivers and robustness sections.
    effects, event_study : DataFrame, optional
        The causal analysis (see :func:`_causal_section` for the columns).
    index : DataFrame, optional
        iso3, year, hallyu_index.
    scenarios : DataFrame, optional
        Worked what-if scenarios (:func:`worked_scenarios`), shown in the causal section.
    drivers_target : str, optional
        Headline drivers target (default ``youth_arrivals_per_capita`` when present).
    panel : DataFrame, optional
        The panel (country profiles' measures and levers, unknown opening dates on the brief).
    vintage : str, optional
        Data-vintage words ("arrivals through 2022-12"); default from the packaged monthly arrivals.

    Returns
    -------
    ReportData
    """

    if not isinstance(explanation, Explanation):
        raise ConfigError(f"`explanation` must be an Explanation from hallyu_forecast.explanation(). Got "
                          f"{type(explanation).__name__}.")
    if drivers is not None and not hasattr(drivers, "brief"):
        raise ConfigError(f"`drivers` must be a DriversResult from hallyu_forecast.drivers(). Got "
                          f"{type(drivers).__name__}.")
    ex = explanation
    charts: list[str] = []
    raw_forecasts = forecasts if isinstance(forecasts, pd.DataFrame) else None
    forecasts = _normalise_forecasts(forecasts)
    history = _normalise_history(history if history is not None else ex.history)

    target = dict(ex.target)
    try:
        target["unit"] = _target_info(load_feature_specs().targets[target["name"]])["unit"]
    except Exception:  # custom specs: fall back to the description
        target["unit"] = str(target.get("description", target["name"])).replace("log of ", "")
    inv = _Inv(target)
    names, other = _names()
    names.update({i: n for i, n in zip(ex.rows["iso3"], ex.rows["name"].astype(str))})
    dtarget = _headline(drivers, drivers_target) if drivers is not None else None
    domain = _domain_status(forecasts, drivers, dtarget)
    fc = _forecast_section(ex, forecasts, inv, target["unit"], names, domain, charts)
    labels = feature_labels(ex.terms["term"])
    fc["lever_charts"] = _lever_charts(ex, labels, charts, unused=fc.setdefault("levers_unused", []))
    fc["caveat"] = FORECAST_CAVEAT
    fc["shrinkage"] = ex.meta.get("shrinkage")
    dsec = brief = None
    robust, robust_text = [], ""
    if drivers is not None:
        dsec = _drivers_section(drivers, dtarget, charts, history, inv, same_target=dtarget == target["name"])
        dsec["measures"] = drivers_measures(drivers, dtarget, charts, clean_label, log_points)
        robust, robust_text = _robustness(drivers)
    causal = _causal_section(effects, event_study, drivers, dtarget, charts)
    if causal is not None:
        causal["scenarios"] = _scenario_rows(scenarios, inv)
    if vintage is None:
        vintage = _vintage(ex, fc.get("origin"))
    if drivers is not None:
        brief = _brief(drivers, dtarget, {k: fc[k] for k in ("years", "origin", "top", "n", "n_history", "n_new")},
                       causal is not None)
        brief["levels"] = rb.levels_answer(drivers, dtarget)
        brief["levers"] = rb.levers_answer(effects, dtarget, brief["unit"], panel)
    else:
        brief = None
    nxt = rb.next_answer(raw_forecasts, names, target["unit"], inv=lambda v: inv(v) if inv(v) is not None else np.nan)
    if brief is not None:
        brief["next"] = nxt
        brief["cannot"] = rb.cannot_say(brief["levels"], brief["levers"], nxt, vintage)
    countries = _country_payload(ex, fc.pop("frame"), history, inv, target["unit"], names, other, domain, drivers,
                                 dtarget, dsec["unit"] if dsec else "")
    profiles = rb.country_profiles(panel)
    for item in countries:  # every measure and lever the panel has for the country (issue 19)
        if item["iso3"] in profiles:
            item["profile"] = profiles[item["iso3"]]
    meta = ex.meta
    methods = {
        "target": {k: str(target.get(k, "")) for k in ("name", "description", "measures", "does_not_measure")},
        "forecaster": {"model": str(meta.get("model", "")), "shrinkage": _num(meta.get("shrinkage")),
                       "drift": _num(meta.get("drift")), "horizon": ex.horizon,
                       "drift_factor": math.exp(_num(meta.get("drift")) or 0.0),
                       "origins": [min(meta.get("origins") or [ex.latest_origin]),
                                   max(meta.get("origins") or [ex.latest_origin])],
                       "n_refits": meta.get("n_refits", 0), "gap": _num(meta.get("max_additivity_gap")) or 0.0},
        "targets": target_definitions(drivers, target),
        "drivers": ({"definition": dsec["definition"], "folds": drivers.meta.get("folds"),
                     "n_refits": drivers.meta.get("n_refits"), "dropped": dsec["dropped"],
                     "skipped": drivers.meta.get("skipped", {})} if dsec else None),
        "backtest": _backtest_table(backtest),
        "sources": _sources(meta.get("panel") == "embedded"),
    }
    return ReportData(
        title=title or "What drives Hallyu? Why levels differ between countries, and what comes next",
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), vintage=vintage, target=target,
        brief=brief,
        drivers=dsec, robustness=robust, forecast={**fc, "robust_text": robust_text}, countries=countries,
        methods=methods, causal=causal, index=_index_section(index, names, charts, panel), charts=charts)


def _vintage(ex, origin) -> str:
    """The data's vintage: the packaged monthly arrivals' last month (embedded panel), else the last origin."""
    monthly = None
    if ex.meta.get("panel") == "embedded":
        try:
            monthly = load_monthly()
        except Exception:  # pragma: no cover - monthly table missing: fall back to the origin year
            monthly = None
    return rb.data_vintage(monthly, origin)


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("hallyu_forecast", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = pct
    env.globals["glossary"] = rb.GLOSSARY
    return env


def render_html(data: ReportData) -> str:
    """The page for ``data`` (jinja2, autoescaped; the SVG charts are already escaped by _charts)."""
    from markupsafe import Markup

    env = _environment()
    return env.get_template("report.html.j2").render(d=data, svg=Markup, payload=Markup(json_for_script(data.payload())),
                                                   map_defs=Markup(ch.map_defs()))


_LAST_RENDER: dict = {}


def render_report(explanation, out_path, forecasts: pd.DataFrame | None = None, backtest=None,
                  history: pd.DataFrame | None = None, title: str | None = None, drivers=None,
                  effects: pd.DataFrame | None = None, event_study: pd.DataFrame | None = None,
                  index: pd.DataFrame | None = None, scenarios: pd.DataFrame | None = None,
                  panel: pd.DataFrame | None = None) -> Path:
    """Write the self-contained HTML report to ``out_path`` (see :func:`build_report_data`).

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import hallyu_forecast as hf                                           # doctest: +SKIP
    >>> render_report(hf.explanation(), "report.html", drivers=hf.drivers())   # doctest: +SKIP
    """
    started = time.perf_counter()
    data = build_report_data(explanation, forecasts=forecasts, backtest=backtest, history=history, title=title,
                             drivers=drivers, effects=effects, event_study=event_study, index=index,
                             scenarios=scenarios, panel=panel)
    doc = render_html(data)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    _LAST_RENDER.update({"seconds": time.perf_counter() - started, "charts": list(data.charts), "bytes": len(doc),
                         "data": data})
    return out


def chart_names(explanation, **kwargs) -> list[str]:
    """Names of the charts drawn at load (``data-chart`` values) for ``explanation``."""
    return list(build_report_data(explanation, **kwargs).charts)


def _quick_backtest(bundle, progress: Callable[[str], None]):
    """The bundle's experiment backtested (pre-COVID origins, no new-market/COVID extras), or None."""

    meta = getattr(bundle, "meta", None) or {}
    try:
        cfg = load_config(meta.get("experiment") or None)
        params = {k[len("model."):]: v for k, v in (meta.get("config") or {}).items() if k.startswith("model.")}
        cfg = with_params(cfg, params)
        return backtest(cfg, panel=bundle.load_panel(), new_market=False, covid=False, bootstrap_reps=200)
    except HallyuError as exc:
        progress(f"backtest skipped: {exc}")
        return None


def _drivers_for(bundle, drivers, n_refits: int, say: Callable[[str], None]):
    """A DriversResult: the one given (object or saved folder), the model's stored drivers part, or a new fit."""

    if isinstance(drivers, DriversResult):
        return drivers
    if drivers is not None:
        return DriversResult.load(drivers)
    t0 = time.perf_counter()
    try:
        result = fit_drivers(model=bundle, n_refits=n_refits)
        say(f"drivers (stored with the model) in {time.perf_counter() - t0:.1f}s")
    except ModelError:  # the model has no drivers part: fit it now
        result = fit_drivers(n_refits=n_refits)
        say(f"drivers fitted in {time.perf_counter() - t0:.1f}s (the model has no drivers part; retrain to store it)")
    return result


def build_report(out: str | Path = "report.html", model=None, track: bool = False,
                 progress: Callable[[str], None] | None = None, n_refits: int = 20,
                 backtest_result=None, run_backtest: bool = True, drivers=None, effects=None) -> Path:
    """Explain ``model`` (default: the shipped one), run the drivers analysis, forecast its horizons,
    backtest its experiment (unless ``backtest_result`` is given or ``run_backtest`` is false) and
    render the report.

    ``drivers`` may be a DriversResult or a folder written by ``DriversResult.save``; ``effects`` the
    result of ``hf.effects()`` (the causal section; not computed here because it is slow). The Hallyu
    index map is drawn when the panel has a ``hallyu_index`` column. With
    ``track=True`` (CLI ``--track``) the HTML and the explanation tables are logged to MLflow and
    the run is announced through ``progress``; by default nothing is tracked. This is
    ``hallyu-forecast report --out report.html``.
    """

    say = progress or (lambda _text: None)
    bundle = resolve_model(model)
    horizons = sorted(int(h) for h in bundle.forecaster.horizons_)
    forecasts = predict(horizon=horizons, model=bundle)
    start = time.perf_counter()
    # the report shows each country's latest forecast only: explain those origins, not the whole history
    ex = explain(model=bundle, n_refits=n_refits, years=sorted(int(o) for o in forecasts["origin"].unique()))
    say(f"explained {len(ex.rows)} country-years in {time.perf_counter() - start:.1f}s")
    result = _drivers_for(bundle, drivers, n_refits, say)
    if backtest_result is None and run_backtest:
        t0 = time.perf_counter()
        backtest_result = _quick_backtest(bundle, say)
        if backtest_result is not None:
            say(f"backtest done in {time.perf_counter() - t0:.1f}s")
    index = panel = None
    try:  # the direct measures' Hallyu index, when the panel has it (optional section)
        panel = bundle.load_panel()
        if "hallyu_index" in panel.columns:
            index = panel[["iso3", "year", "hallyu_index"]]
    except Exception:  # pragma: no cover - a bundle without its panel: the section is skipped
        index = None
    if effects is None:  # the causal estimates kept with the model at training time (None if absent)
        effects = bundle.effects
    scenarios = None
    if effects is not None:
        t0 = time.perf_counter()
        scenarios = worked_scenarios(bundle)
        say(f"worked what-if scenarios ({scenarios['name'].nunique() if len(scenarios) else 0}) in "
            f"{time.perf_counter() - t0:.1f}s")
    path = render_report(ex, out, forecasts=forecasts, backtest=backtest_result, drivers=result, index=index,
                         effects=effects, scenarios=scenarios, panel=panel)
    say(f"rendered {path} ({_LAST_RENDER.get('bytes', 0) / 1024:,.0f} KiB, {len(_LAST_RENDER.get('charts', []))} "
        f"charts at load) in {_LAST_RENDER.get('seconds', 0):.1f}s")
    if track:
        import tempfile

        import mlflow

        with tracking.run("report", load_config()) as active:
            mlflow.log_artifact(str(path), "report")
            with tempfile.TemporaryDirectory() as tmp:
                ex.save(Path(tmp) / "explanation")
                mlflow.log_artifacts(str(Path(tmp) / "explanation"), "explanation")
                result.save(Path(tmp) / "drivers")
                mlflow.log_artifacts(str(Path(tmp) / "drivers"), "drivers")
            say(f"logged to MLflow {mlflow.get_tracking_uri()} (run {getattr(getattr(active, 'info', None), 'run_id', '')})")
    return path
