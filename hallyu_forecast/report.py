"""One self-contained, offline HTML report rendering an :class:`~hallyu_forecast.explanation.Explanation`.

``render_report(explanation, out_path, forecasts=None, backtest=None, history=None)`` writes a
single HTML file: no CDN, no web fonts, no external script. Charts are inline SVG drawn in
Python (:mod:`hallyu_forecast._charts`), so the file also reads well printed; a small inline
script adds a country search, sortable tables and a self-check that records how many charts
rendered (``<body data-charts-rendered>``) and any script error (``data-js-errors``).

Sections: key findings; what drives Hallyu globally; government support vs local conditions
by country (ranked) and over time; world maps of predicted intensity and of the
government-support share; policy levers (dependence plots); one section per country
(waterfall of grouped contributions, top features, forecast with intervals against its
history); methods, data sources and backtest accuracy.

``build_report`` is the one-call pipeline behind ``hallyu-forecast report``: explain the
(default) model, forecast horizons 1-3, render, and optionally log to MLflow.
"""

from __future__ import annotations

import html
import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from hallyu_forecast import _charts as ch
from hallyu_forecast.errors import ConfigError

GROUP_LABELS = {
    "cultural_policy": "Cultural policy (centres, visas, aid)",
    "diplomatic": "Diplomacy and trade",
    "economic": "Economy",
    "political": "Political openness",
    "digital": "Digital access",
    "geography_culture": "Geography and culture",
    "regime": "Regime shocks (COVID, disputes)",
    "target_history": "Own history (last level, momentum)",
}
LEVERS = (
    ("cultural_centres", "Korean Cultural Centres"),
    ("fta_in_force", "Free-trade agreement with Korea in force"),
    ("visa_openness", "Visa openness for Korea (0 = visa required ... 3 = visa-free)"),
    ("diplomatic_ties_years", "Years of diplomatic relations with Seoul"),
    ("log_trade_per_capita", "Trade with Korea per capita (log)"),
)
NEW_MARKET_COLOR = "#56B4E9"  # Okabe-Ito sky blue: new-market rows in dependence plots
_SHORT_UNITS = {"youth_arrivals_per_capita": "youth arrivals per 100k",
                "total_arrivals_per_capita": "arrivals per 100k",
                "language_students_per_capita": "language students per 100k",
                "mobile_students_per_capita": "mobile students per 100k",
                "youth_share": "share of arrivals aged 0-30"}


def _group_label(group: str) -> str:
    return GROUP_LABELS.get(group, group.replace("_", " ").capitalize())


_TERM_LABELS = {"last_observed_level": "last observed level (anchor)",
                "covid_recovery_adjustment": "COVID recovery rule (2020-22 origins)"}


def _term_label(term: str) -> str:
    return _TERM_LABELS.get(term, term.replace("_", " "))


def _e(text) -> str:
    return html.escape(str(text), quote=True)


# ------------------------------------------------------------------------------- context
class _Ctx:
    """Everything the sections need, normalised once."""

    def __init__(self, ex, forecasts, backtest, history):
        from hallyu_forecast.features import TargetSpec

        self.ex = ex
        self.spec = TargetSpec(name=ex.target["name"], description=ex.target.get("description", ""),
                               transform=ex.target.get("transform", "log"))
        self.unit = _SHORT_UNITS.get(ex.target["name"]) or ex.target.get("description", "").replace("log of ", "")
        self.log = self.spec.transform == "log"
        self.names = ex.rows.drop_duplicates("iso3").set_index("iso3")["name"].astype(str).to_dict()
        self.model_of = ex.rows.drop_duplicates("iso3", keep="last").set_index("iso3")["model"].astype(str).to_dict()
        self.latest = ex.rows.loc[ex.rows.groupby("iso3")["origin"].idxmax()].set_index("iso3")
        self.forecasts = _normalise_forecasts(forecasts)
        self.history = _normalise_history(history if history is not None else ex.history)
        self.backtest = backtest
        self.role_of = dict(zip(ex.terms["term"], ex.terms["role"]))
        self.group_of = dict(zip(ex.terms["term"], ex.terms["group"]))
        self.group_role = dict(zip(ex.terms["group"], ex.terms["role"]))
        self.why = dict(zip(ex.terms["term"], ex.terms["why"]))
        self.country_shares = ex.country_shares(with_history=False)
        self.models = [m for m in ("history", "new_market") if (ex.rows["model"] == m).any()]
        self.charts: list[str] = []

    def natural(self, v: float) -> float:
        from hallyu_forecast.features import inverse_target

        return float(inverse_target([v], self.spec)[0])

    def nat_fmt(self, v: float) -> str:
        if v is None or not math.isfinite(v):
            return "n/a"
        n = self.natural(v)
        if self.spec.transform == "logit":
            return ch.pct(n, 1)
        return f"{n:,.0f}" if abs(n) >= 100 else (f"{n:,.1f}" if abs(n) >= 10 else f"{n:,.2f}")

    def tick_fmt(self, v: float) -> str:
        """Natural-scale label of a model-scale tick (1, 2, 5, 10, ... on a log axis)."""
        if v is None or not math.isfinite(v):
            return ""
        n = self.natural(v)
        if self.spec.transform == "logit":
            return ch.pct(n, 0)
        return f"{n:,.2f}".rstrip("0").rstrip(".") if abs(n) < 10 else f"{n:,.0f}"

    def contribution_text(self, c: float) -> str:
        """Signed contribution (log points, with the implied % change for a log target)."""
        if c != 0 and abs(c) < 0.005:
            text = f"{c:+.2g}".replace("-", "\u2212")
            return f"{text} ({100 * (math.exp(c) - 1):+.2g}%)".replace("-", "\u2212") if self.log else text
        if self.log:
            return f"{ch.signed(c)} ({ch.signed(100 * (math.exp(c) - 1), 0)}%)"
        return ch.signed(c)

    def chart(self, svg: str, name: str) -> str:
        """Wrap a chart; the figure declares which chart it expects (checked by the inline script)."""
        self.charts.append(name)
        return f'<figure class="fig" data-expect-chart="{_e(name)}">{svg}</figure>'


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
    for c in ("lower", "upper", "lower_95", "upper_95"):
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


# ------------------------------------------------------------------------------ sections
def _section_findings(c: _Ctx) -> str:
    ex = c.ex
    items = []
    if "history" in c.models:
        s = ex.shares(with_history=False, model="history").set_index("role")
        n = int(s["n_countries"].iloc[0])
        g, l = s.loc["government_support"], s.loc["local_conditions"]
        items.append(f"For the {n} countries with travel history, <b>local conditions</b> account for "
                     f"{ch.pct(l.share)} (range {ch.pct(l.lower)}&ndash;{ch.pct(l.upper)}) of the forecast's movement "
                     f"away from the country's own trend, and <b>Korean government support</b> for {ch.pct(g.share)} "
                     f"({ch.pct(g.lower)}&ndash;{ch.pct(g.upper)}); regime shocks take the rest.")
        h = ex.shares(with_history=True, model="history").set_index("role").loc["history"]
        items.append(f"Counting the country's own history, the <b>last observed level and momentum</b> explain "
                     f"{ch.pct(h.share)} of the forecast: Hallyu travel is highly persistent from year to year.")
        w = ex.meta.get("shrinkage")
        if w is not None and w < 0.5:
            items.append(f"The history model gives its learned adjustments a weight of {w:.2f} (chosen on "
                         "time-ordered calibration folds): its forecasts stay close to persistence plus the pooled "
                         "drift, so feature contributions for these countries are small in absolute terms.")
    if "new_market" in c.models:
        s = ex.shares(with_history=False, model="new_market").set_index("role")
        items.append(f"For {int(s['n_countries'].iloc[0])} countries without travel data (covariates-only model), "
                     f"government support accounts for {ch.pct(s.loc['government_support', 'share'])} and local "
                     f"conditions for {ch.pct(s.loc['local_conditions', 'share'])} of the predicted level.")
    gs = c.country_shares[c.country_shares["role"] == "government_support"]
    hist = gs[gs["model"] == "history"] if "history" in c.models else gs
    if len(hist):
        top = hist.sort_values("share", ascending=False).head(3)
        items.append("Highest government-support share: " + ", ".join(
            f'<a href="#c-{r.iso3}">{_e(r.name)}</a> ({ch.pct(r.share)})' for r in top.itertuples()) + ".")
    items.append("SHAP attributions describe how the model uses the data; they are <b>associations, not causal "
                 "effects</b> of policy.")
    return "<ul class='findings'>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _section_global(c: _Ctx) -> str:
    ex = c.ex
    out = []
    level = int(round(ex.level * 100))
    for model in c.models:
        s = ex.shares(with_history=False, model=model)
        n = int(s["n_countries"].iloc[0])
        top = s.sort_values("share", ascending=False).iloc[0]
        who = f"{n} countries with travel history" if model == "history" else f"{n} new markets (no travel data)"
        items = [{"label": ch.ROLE_LABELS[r.role], "value": r.share, "lo": r.lower, "hi": r.upper,
                  "colour": ch.ROLE_COLORS[r.role], "annotation": ch.pct(r.share),
                  "tooltip": f"{ch.ROLE_LABELS[r.role]}: {ch.pct(r.share, 1)} ({level}% refit interval "
                             f"{ch.pct(r.lower, 1)}-{ch.pct(r.upper, 1)})"} for r in s.itertuples()]
        name = f"shares-{model}"
        out.append(c.chart(ch.hbar_chart(
            name, f"{ch.ROLE_LABELS[top.role]} drive{'s' if top.role != 'local_conditions' else ''} most of the "
                  f"forecast for {who} ({ch.pct(top.share)})",
            f"Share of the sum of |SHAP| per role, own history excluded; whiskers: {level}% range over model refits",
            items, "share of the explained movement", tick_fmt=lambda t: ch.pct(t)), name))
        if model == "history":
            s2 = ex.shares(with_history=True, model=model)
            items = [{"label": ch.ROLE_LABELS[r.role], "value": r.share, "lo": r.lower, "hi": r.upper,
                      "colour": ch.ROLE_COLORS[r.role], "annotation": ch.pct(r.share)} for r in s2.itertuples()]
            hshare = float(s2.set_index("role").loc["history", "share"])
            out.append(c.chart(ch.hbar_chart(
                "shares-history-with-own", f"With the country's own history counted, it explains {ch.pct(hshare)} "
                                           "of the forecast",
                "The forecast starts from the last observed level; history = that anchor plus momentum features",
                items, "share of the explained forecast", tick_fmt=lambda t: ch.pct(t)), "shares-history-with-own"))
        imp = ex.importance(by="group", model=model)
        own = imp[imp["item"] == "target_history"]
        imp = imp[(imp["item"] != "target_history") & (imp["mean_abs"] > 0)]
        if len(imp):
            items = [{"label": _group_label(r.item), "value": r.mean_abs, "lo": r.lower, "hi": r.upper,
                      "colour": ch.ROLE_COLORS.get(r.role, ch.NEUTRAL), "annotation": f"{r.mean_abs:.3g}",
                      "tooltip": f"{_group_label(r.item)}: mean |contribution| {r.mean_abs:.3f} "
                                 f"(mean signed {r.mean_signed:+.3f})"} for r in imp.itertuples()]
            sub = "Mean over country-years of the summed |SHAP| of each group's features (log points), as learned " \
                  "by the trees (the last-level anchor and the COVID rule are not learned: see the shares above)"
            if len(own) and float(own["mean_abs"].iloc[0]) > 0:
                sub += f"; own-history features (not shown) {own['mean_abs'].iloc[0]:.3g}"
            name = f"importance-{model}"
            out.append(c.chart(ch.hbar_chart(
                name, f"{_group_label(imp.iloc[0]['item'])} moves the forecast most "
                      f"({'history model' if model == 'history' else 'new-market model'})",
                sub, items, "mean |contribution| (log points)", legend_roles=[r for r in ch.ROLE_COLORS
                                                                            if r in set(imp["role"])]), name))
        terms = ex.importance(by="term", model=model)
        terms = terms[terms["role"] != "history"].head(12)
        if len(terms):
            items = [{"label": _term_label(r.item), "value": r.mean_abs, "colour": ch.ROLE_COLORS.get(r.role),
                      "annotation": f"{r.mean_abs:.3g}", "tooltip": f"{r.item}: {c.why.get(r.item, '')}"}
                     for r in terms.itertuples()]
            name = f"features-{model}"
            out.append(c.chart(ch.hbar_chart(
                name, f"Top features: {_term_label(terms.iloc[0]['item'])} leads "
                      f"({'history model' if model == 'history' else 'new-market model'})",
                "Mean |SHAP| per country-year, own-history features excluded; hover a bar for the rationale",
                items, "mean |contribution| (log points)",
                legend_roles=[r for r in ch.ROLE_COLORS if r in set(terms["role"])]), name))
    return "".join(out)


def _section_by_country(c: _Ctx) -> str:
    ex = c.ex
    out = []
    level = int(round(ex.level * 100))
    for model in c.models:
        cs = c.country_shares[c.country_shares["model"] == model]
        wide = cs.pivot(index="iso3", columns="role", values="share").fillna(0.0)
        gov = cs[cs["role"] == "government_support"].set_index("iso3")
        order = wide.sort_values("government_support", ascending=False).index
        rows = [{"label": c.names.get(i, i), "href": f"#c-{i}", "shares": wide.loc[i].to_dict(),
                 "interval": (gov.loc[i, "lower"], gov.loc[i, "upper"]),
                 "value_label": ch.pct(wide.loc[i, "government_support"]),
                 "note": f"government support {level}% refit range {ch.pct(gov.loc[i, 'lower'])}-"
                         f"{ch.pct(gov.loc[i, 'upper'])}"} for i in order]
        top = rows[0]["label"] if rows else ""
        who = "countries with travel history" if model == "history" else "new markets (covariates-only model)"
        name = f"country-shares-{model}"
        svg = ch.stacked_share_chart(
            name, f"Government support matters most for {top} among {who}",
            f"Ranked by government-support share (own history excluded; black line: {level}% refit range)",
            rows, list(ch.ROLE_COLORS)[:3])
        out.append(f'<div class="scroll">{c.chart(svg, name)}</div>' if len(rows) > 60 else c.chart(svg, name))
    model = c.models[0]
    ys = ex.year_shares(with_history=False, model=model)
    if ys["origin"].nunique() >= 2:
        series = []
        for role in ch.ROLE_COLORS:
            if role == "history":
                continue
            r = ys[ys["role"] == role].sort_values("origin")
            series.append({"x": r["origin"].tolist(), "y": r["share"].tolist(), "lo": r["lower"].tolist(),
                           "hi": r["upper"].tolist(), "colour": ch.ROLE_COLORS[role], "label": ch.ROLE_LABELS[role],
                           "points": True, "band_label": f"{level}% refit range"})
        g = ys[ys["role"] == "government_support"].sort_values("origin")
        first, last = g.iloc[0], g.iloc[-1]
        out.append(c.chart(ch.line_chart(
            "shares-over-time", f"Government-support share: {ch.pct(first.share)} in {int(first.origin)}, "
                                f"{ch.pct(last.share)} in {int(last.origin)}",
            f"Mean share per origin year over the countries explained that year ({model.replace('_', '-')} model; "
            f"bands: {level}% refit range)", series, "origin year (data year of the forecast)",
            "share of explained movement", y_fmt=lambda t: ch.pct(t), y_range=(0.0, 1.0)), "shares-over-time"))
    return "".join(out)


def _section_maps(c: _Ctx) -> str:
    ex = c.ex
    if c.forecasts is not None:
        f = c.forecasts
        h = f[f["target_year"] - f["origin"] == ex.horizon]
        if h.empty:
            h = f[f["target_year"] == f.groupby("iso3")["target_year"].transform("min")]
        values = dict(zip(h["iso3"], h["prediction"].astype(float)))
        year = int(h["target_year"].max()) if len(h) else c.ex.latest_origin + ex.horizon
    else:
        values = c.latest["prediction"].astype(float).to_dict()
        year = int(c.latest["target_year"].max())
    finite = {k: v for k, v in values.items() if math.isfinite(v)}
    top = sorted(finite, key=finite.get, reverse=True)[:3]
    labels = {k: f"{c.names.get(k, k)} ({k})" for k in set(finite) | set(ch.world_geometry())}
    try:
        from hallyu_forecast.panel import load_countries

        labels.update({r.iso3: f"{r.name} ({r.iso3})" for r in load_countries().itertuples()
                       if r.iso3 not in c.names})
    except Exception:  # pragma: no cover - the embedded country table is optional here
        pass
    hrefs = {k: f"#c-{k}" for k in c.names}
    svg1, miss1 = ch.world_map("map-intensity", f"Predicted {c.unit} in {year}: highest in "
                               + ", ".join(c.names.get(k, k) for k in top),
                               "Forecast at each country's latest origin; click a country for its section",
                               finite, labels, ch.VIRIDIS, c.unit, value_fmt=c.tick_fmt, hrefs=hrefs,
                               legend_ticks=_natural_ticks(c, min(finite.values()), max(finite.values()),
                                                           decades=True) if finite else None)
    gov = c.country_shares[c.country_shares["role"] == "government_support"].set_index("iso3")["share"].to_dict()
    topg = sorted(gov, key=gov.get, reverse=True)[:3]
    svg2, miss2 = ch.world_map("map-gov-share", "Share of the forecast explained by Korean government support: "
                               "highest in " + ", ".join(c.names.get(k, k) for k in topg),
                               "Own history excluded; each country under its own model (history or new-market)",
                               gov, labels, ch.BLUES, "government-support share", value_fmt=lambda v: ch.pct(v),
                               domain=(0.0, max(0.05, max(gov.values()) if gov else 1.0)), hrefs=hrefs)
    missing = sorted(set(miss1) | set(miss2))
    note = ""
    if missing:
        note = ("<p class='note'>Not drawn (no outline in the map file): "
                + ", ".join(f'<a href="#c-{m}">{_e(c.names.get(m, m))}</a>' for m in missing) + ".</p>")
    return c.chart(svg1, "map-intensity") + c.chart(svg2, "map-gov-share") + note


def policy_levers(ex) -> list[tuple[str, str]]:
    """The policy levers drawn as dependence plots: the known levers present in the explanation,
    else the five most important government-support features."""
    terms = set(ex.terms.loc[ex.terms["kind"] == "feature", "term"])
    present = [(t, label) for t, label in LEVERS if t in terms]
    if present:
        return present
    imp = ex.importance(by="term")
    gov = imp[imp["role"] == "government_support"]["item"].tolist()[:5]
    return [(t, _term_label(t)) for t in gov]


def _association(x: np.ndarray, y: np.ndarray) -> str:
    """Plain-words direction of a dependence plot (Spearman correlation of value and contribution)."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or float(np.abs(y).mean()) < 1e-4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return "hardly used"
    rho = float(pd.Series(x).corr(pd.Series(y), method="spearman"))
    if not math.isfinite(rho):
        return "hardly used"
    if rho > 0.3:
        return "higher values, higher forecasts"
    if rho < -0.3:
        return "higher values, lower forecasts"
    return "no simple direction"


def _section_levers(c: _Ctx) -> str:
    ex = c.ex
    out = []
    # history-model rows at every origin; new markets at their latest origin only (keeps the file small)
    rows = ex.rows
    keep = ((rows["model"] == "history") | (rows["origin"] == rows.groupby("iso3")["origin"].transform("max")))
    keep = keep.to_numpy()
    for term, label in policy_levers(ex):
        x = ex.values[term].to_numpy(float)[keep]
        y = ex.contributions[term].to_numpy(float)[keep]
        model = rows["model"].to_numpy()[keep]
        iso = rows["iso3"].to_numpy()[keep]
        origin = rows["origin"].to_numpy()[keep]
        parts = []
        for m, who in (("history", "countries with travel history"), ("new_market", "new markets")):
            sel = model == m
            if sel.any():
                parts.append(f"{_association(x[sel], y[sel])} for {who}")
        takeaway = "; ".join(parts)
        tips = [f"{i} {int(o)}: {ch.fmt(a)}, {b:+.3f}" for i, o, a, b in zip(iso, origin, x, y)]
        name = f"dependence-{term}"
        svg = ch.scatter_chart(name, f"{label}: {takeaway}",
                               "Dark: history model (all origins); light: new-market model (latest origin). "
                               "Hover: country, origin, value, contribution. Associational, not causal.",
                               x, y, tips, _term_label(term), "contribution (log points)",
                               colour=ch.ROLE_COLORS["government_support"], width=430, height=300,
                               point_colours=[ch.ROLE_COLORS["government_support"] if m == "history"
                                              else NEW_MARKET_COLOR for m in model])
        out.append(c.chart(svg, name))
    if not out:
        return "<p>No government-support feature in this model.</p>"
    return "<div class='grid'>" + "".join(out) + "</div>"


def _country_forecast_chart(c: _Ctx, iso3: str) -> str:
    ex = c.ex
    name = c.names.get(iso3, iso3)
    hist = c.history[c.history["iso3"] == iso3]
    series = []
    if len(hist):
        series.append({"x": hist["year"].tolist(), "y": hist["y"].tolist(), "colour": "#222222",
                       "label": "observed", "points": len(hist) <= 3})
    rows = ex.rows[(ex.rows["iso3"] == iso3)].sort_values("target_year")
    if len(rows) > 1:
        series.append({"x": rows["target_year"].tolist(), "y": rows["prediction"].tolist(), "colour": "#999999",
                       "label": f"model, {ex.horizon} year(s) ahead from each origin", "dashed": True,
                       "points": False})
    f = c.forecasts[c.forecasts["iso3"] == iso3] if c.forecasts is not None else pd.DataFrame()
    if len(f):
        fx, fy, lo, hi = f["target_year"].tolist(), f["prediction"].tolist(), f["lower"].tolist(), f["upper"].tolist()
        origin = int(f["origin"].iloc[0])
    else:
        r = c.latest.loc[iso3]
        fx, fy = [int(r["target_year"])], [float(r["prediction"])]
        lo, hi = [float(r.get("lower_80", np.nan))], [float(r.get("upper_80", np.nan))]
        origin = int(r["origin"])
    anchor = hist[hist["year"] == origin]
    if len(anchor):  # connect the forecast to the last observation
        fx, fy = [origin] + fx, [float(anchor["y"].iloc[0])] + fy
        lo, hi = [float(anchor["y"].iloc[0])] + lo, [float(anchor["y"].iloc[0])] + hi
    series.append({"x": fx, "y": fy, "lo": lo, "hi": hi, "colour": ch.ROLE_COLORS["government_support"],
                   "label": "forecast (band: 80% interval)", "points": True, "band_label": "80% prediction interval"})
    values = [v for s in series for k in ("y", "lo", "hi") for v in (s.get(k) or []) if v is not None
              and math.isfinite(v)]
    ticks = _natural_ticks(c, min(values), max(values)) if values else None
    end = fy[-1] if fy else float("nan")
    title = f"{name}: forecast {c.nat_fmt(end)} {c.unit} in {fx[-1]}" if fy else f"{name}: no forecast"
    if len(hist) >= 2:
        peak = hist.loc[hist["y"].idxmax()]
        title += f" (peak so far {c.nat_fmt(float(peak['y']))} in {int(peak['year'])})"
    return ch.line_chart(f"forecast-{iso3}", title, "Observed history, model fit and forecast with its interval",
                         series, "year", c.unit + (" (log scale)" if c.log else ""), width=860, height=300,
                         y_fmt=c.tick_fmt, y_ticks=ticks, vline=origin, vline_label=f"origin {origin}")


def _natural_ticks(c: _Ctx, lo: float, hi: float, decades: bool = False) -> list[float] | None:
    """Model-scale positions of round natural values (1, 2, 5, 10, ...) for a log target."""
    if not c.log:
        return None
    a, b = math.exp(lo), math.exp(hi)
    if decades:
        ticks = [math.log(10.0 ** k) for k in range(-3, 8) if a <= 10.0 ** k <= b]
        if len(ticks) >= 3:
            return ticks
    cands = sorted({m * 10 ** k for k in range(-3, 8) for m in (1, 2, 5)})
    ticks = [math.log(t) for t in cands if a <= t <= b]
    if len(ticks) < 3:
        cands = sorted({m * 10 ** k for k in range(-3, 8) for m in (1, 1.5, 2, 3, 5, 7)})
        ticks = [math.log(t) for t in cands if a <= t <= b]
    return ticks if len(ticks) >= 2 else None


def _section_country(c: _Ctx, iso3: str) -> str:
    ex = c.ex
    table = ex.country_table(iso3)
    a = table.attrs
    name = c.names.get(iso3, iso3)
    steps = [{"label": _group_label(r.group), "value": r.contribution, "colour": ch.ROLE_COLORS.get(r.role),
              "role": r.role, "tooltip": f"{_group_label(r.group)}: {c.contribution_text(r.contribution)}; "
                                         f"top: {r.top_features}"} for r in table.itertuples()]
    direction = "above" if a["prediction"] >= a["base_value"] else "below"
    lead = table.iloc[0] if len(table) else None
    title = (f"{name} is {direction} the average mainly because of "
             f"{_group_label(lead.group).lower()} ({c.contribution_text(lead.contribution)})"
             if lead is not None else f"{name}: no contribution")
    wf = ch.waterfall_chart(
        f"waterfall-{iso3}", title,
        f"Forecast for {a['target_year']} from data up to {a['origin']} ({a['model'].replace('_', '-')} model), "
        f"contributions in log points", a["base_value"], steps, a["prediction"],
        "model scale (log)" if c.log else "model scale", base_label="Average forecast (base value)",
        final_label=f"Forecast {a['target_year']}: {c.nat_fmt(a['prediction'])}",
        value_fmt=lambda v: ch.signed(v, 3), show_legend=False)
    i = ex._pick_row(iso3, None)
    contrib = ex.contributions.loc[i]
    contrib = contrib[contrib != 0]
    top = contrib.reindex(contrib.abs().sort_values(ascending=False).index)[:8]
    rows = []
    for term, value in top.items():
        role = c.role_of[term]
        v = ex.values.loc[i, term]
        rows.append(f"<tr title='{_e(c.why.get(term, ''))}'><td><span class='chip' style='background:"
                    f"{ch.ROLE_COLORS.get(role)}'></span>{_e(_term_label(term))}</td>"
                    f"<td>{_e(_group_label(c.group_of[term]))}"
                    f"</td><td class='num'>{_e(ch.fmt(v) if pd.notna(v) else 'missing')}</td>"
                    f"<td class='num'>{_e(c.contribution_text(value))}</td></tr>")
    shares = c.country_shares[c.country_shares["iso3"] == iso3].set_index("role")
    level = int(round(ex.level * 100))
    share_text = "; ".join(f"{ch.ROLE_LABELS[r]} {ch.pct(shares.loc[r, 'share'])} "
                           f"({ch.pct(shares.loc[r, 'lower'])}&ndash;{ch.pct(shares.loc[r, 'upper'])})"
                           for r in ("government_support", "local_conditions", "regime") if r in shares.index)
    latest = c.latest.loc[iso3]
    interval = ""
    if pd.notna(latest.get("lower_80", np.nan)):
        interval = (f", 80% interval {c.nat_fmt(float(latest['lower_80']))}&ndash;"
                    f"{c.nat_fmt(float(latest['upper_80']))}")
    note = " COVID origin: the forecast is anchored on 2019 with a recovery path." if bool(
        latest.get("covid_adjusted", False)) else ""
    model_text = ("history model (forecasts the change from the last observed value)" if a["model"] == "history"
                  else "new-market model (no travel data: predicts the level from covariates only)")
    return (f"<section class='country' id='c-{iso3}' data-iso3='{iso3}'><h3>{_e(name)} <small>{iso3}</small></h3>"
            f"<p class='lede'>Forecast for {a['target_year']}: <b>{c.nat_fmt(a['prediction'])}</b> {_e(c.unit)}"
            f"{interval}. Shares of the explained movement (own history excluded, mean over origins, {level}% "
            f"refit range): {share_text}. Answered by the {model_text}.{note}</p>"
            + c.chart(wf, f"waterfall-{iso3}")
            + "<table class='features'><thead><tr><th>feature</th><th>group</th><th>value</th>"
              "<th>contribution</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
            + c.chart(_country_forecast_chart(c, iso3), f"forecast-{iso3}")
            + "<p class='back'><a href='#countries'>&uarr; all countries</a></p></section>")


def _glance_table(c: _Ctx) -> str:
    cs = c.country_shares.pivot(index="iso3", columns="role", values="share")
    rows = []
    for iso3 in sorted(c.names, key=lambda k: c.names[k]):
        r = c.latest.loc[iso3]
        rows.append(f"<tr><td><a href='#c-{iso3}'>{_e(c.names[iso3])}</a></td><td>{iso3}</td>"
                    f"<td>{_e(str(r['model']).replace('_', '-'))}</td>"
                    f"<td class='num' data-v='{float(r['prediction']):.6f}'>"
                    f"{c.nat_fmt(float(r['prediction']))}</td>"
                    f"<td class='num' data-v='{cs.loc[iso3, 'government_support']:.6f}'>"
                    f"{ch.pct(cs.loc[iso3, 'government_support'])}</td>"
                    f"<td class='num' data-v='{cs.loc[iso3, 'local_conditions']:.6f}'>"
                    f"{ch.pct(cs.loc[iso3, 'local_conditions'])}</td>"
                    f"<td class='num' data-v='{cs.loc[iso3, 'regime']:.6f}'>{ch.pct(cs.loc[iso3, 'regime'])}</td></tr>")
    return ("<table class='sortable glance'><thead><tr><th>country</th><th>ISO3</th><th>model</th>"
            f"<th>forecast ({_e(c.unit)})</th><th>government support</th><th>local conditions</th><th>regime</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _section_methods(c: _Ctx) -> str:
    ex = c.ex
    t = ex.target
    meta = ex.meta
    level = int(round(ex.level * 100))
    parts = [f"<h3>Target</h3><p><b>{_e(t.get('description', t['name']))}</b>. Measures: {_e(t.get('measures', ''))} "
             f"Does not measure: {_e(t.get('does_not_measure', ''))}</p>"]
    parts.append(
        "<h3>Attribution</h3><p>Each forecast is split with SHAP (TreeExplainer, path-dependent TreeSHAP on the "
        "LightGBM model of the horizon) into additive contributions of every feature; features are summed into "
        "groups and roles declared in the feature specs. The history model forecasts a change from the last observed "
        "value, so the last observed level (relative to its training average) enters as an explicit term of the own-"
        "history group, and for COVID origins the rule-based recovery adjustment (published forecast minus the tree "
        "forecast) enters the regime group: <i>base value + contributions = published forecast</i> for every "
        f"row (checked to 1e-6; largest gap {meta.get('max_additivity_gap', 0):.1e}). Contributions are in log "
        "points of the target (+0.10 &asymp; +10%).</p>"
        "<p><b>Shares.</b> For each country-year, a role's magnitude is the sum of |contribution| of its terms; its "
        "share is that magnitude over the sum across roles (with or without the own-history role). A country's share "
        "is the mean over its explained origins; the global share is the mean over countries (each counts once). "
        f"Shares come with a {level}% range over {meta.get('n_refits', 0)} refits of the model "
        f"({_e(meta.get('uncertainty', ''))}: 80% of countries drawn without replacement, new seed each time), "
        "widened to include the point estimate.</p>"
        "<p class='caveat'><b>Caveat.</b> SHAP values show how the model uses the data. They are associational, not "
        "causal: a large government-support share does not mean that opening a cultural centre would cause the "
        "predicted change; policies are also placed where interest already exists.</p>")
    parts.append(f"<h3>Model</h3><p>{_e(meta.get('model', ''))}; target mode {_e(meta.get('target_mode', ''))}, "
                 f"weight of the tree output {meta.get('shrinkage', float('nan')):.2f}, pooled drift "
                 f"{meta.get('drift', float('nan')):+.3f} per year; horizon {ex.horizon}; origins "
                 f"{min(meta.get('origins', [0]))}-{max(meta.get('origins', [0]))}; SHAP "
                 f"{_e(meta.get('shap_version', ''))}, LightGBM {_e(meta.get('lightgbm_version', ''))}.</p>")
    parts.append("<h3>Backtest accuracy</h3>" + _backtest_html(c.backtest))
    parts.append("<h3>Data sources</h3>" + _sources_html(meta.get("panel") == "embedded"))
    parts.append("<h3>Map</h3><p>Country outlines: <i>pygal_maps_world</i> (Kozea, LGPL-3.0+), simplified; small "
                 "islands and countries absent from that file are listed under the maps.</p>")
    return "".join(parts)


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(str(col).replace('_', ' '))}</th>" for col in table.columns)
    body = []
    for r in table.itertuples(index=False):
        cells = []
        for v in r:
            if isinstance(v, (float, np.floating)):
                cells.append(f"<td class='num'>{'' if not math.isfinite(v) else f'{v:.3f}'}</td>")
            elif isinstance(v, (int, np.integer)):
                cells.append(f"<td class='num'>{v}</td>")
            else:
                cells.append(f"<td>{_e(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class='scroll-x'><table class='sortable'><thead><tr>{head}</tr></thead><tbody>"
            + "".join(body) + "</tbody></table></div>")


def _backtest_html(backtest) -> str:
    """Accuracy tables from a BacktestResult (``summary()``) or any DataFrame (rendered as is)."""
    if backtest is None:
        return ("<p>No backtest supplied. Run <code>hallyu-forecast backtest</code> and pass its result to "
                "<code>render_report(..., backtest=result)</code>.</p>")
    if isinstance(backtest, pd.DataFrame):
        return _html_table(backtest.reset_index(drop=True))
    if not hasattr(backtest, "summary"):
        raise ConfigError(f"`backtest` must be a BacktestResult or a DataFrame. Got {type(backtest).__name__}.")
    s = backtest.summary()
    s = s.reset_index() if "horizon" not in s.columns else s.copy()
    s.columns.name = None
    rmse = s[["horizon", "n"] + [c for c in s.columns if c.startswith("rmse_")]]
    rmse = rmse.rename(columns={c: c[len("rmse_"):] for c in rmse.columns if c.startswith("rmse_")})
    ratios = pd.DataFrame({"horizon": s["horizon"]})
    for col in [c for c in s.columns if c.startswith("ratio_vs_") and not c.endswith(("_lo", "_hi"))]:
        lo, hi = s.get(f"{col}_lo"), s.get(f"{col}_hi")
        ratios[col.replace("ratio_vs_", "vs ")] = [
            f"{r:.2f}" + (f" ({a:.2f}-{b:.2f})" if lo is not None and np.isfinite(a) else "")
            for r, a, b in zip(s[col], lo if lo is not None else s[col], hi if hi is not None else s[col])]
    for col in [c for c in s.columns if c.startswith("coverage_")]:
        ratios[f"{col.replace('coverage_', '')}% interval coverage"] = [ch.pct(v) for v in s[col]]
    return ("<p>RMSE on the model scale (log points), rolling-origin backtest (lower is better):</p>"
            + _html_table(rmse)
            + "<p>RMSE of the forecaster divided by each baseline's (below 1: the forecaster is better; in brackets "
              "a country-bootstrap interval), and the share of outcomes inside the prediction intervals:</p>"
            + _html_table(ratios))


def _sources_html(embedded: bool) -> str:
    if not embedded:
        return "<p>The explanation used a custom panel: its sources are not recorded here.</p>"
    try:
        from hallyu_forecast.panel import panel_metadata

        meta = panel_metadata()
    except Exception:  # pragma: no cover - embedded metadata missing
        return "<p>Panel metadata unavailable.</p>"
    rows = []
    for name, s in sorted(meta.get("sources", {}).items()):
        rows.append(f"<tr><td>{_e(name)}</td><td>{_e(s.get('title', ''))}</td><td>{_e(s.get('publisher', ''))}</td>"
                    f"<td>{_e(meta.get('vintage', {}).get(name, ''))}</td><td>{_e(s.get('license', ''))}</td>"
                    f"<td class='cite'>{_e(s.get('citation', ''))}</td></tr>")
    return (f"<p>Panel {meta.get('first_year')}-{meta.get('last_year')}, {meta.get('n_countries')} countries, "
            f"package version {_e(meta.get('package_version', ''))}.</p><div class='scroll-x'><table class='sources'>"
            "<thead><tr><th>source</th><th>title</th><th>publisher</th><th>years</th><th>licence</th>"
            "<th>citation</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")


# ---------------------------------------------------------------------------------- page
_CSS = """
:root{--ink:#1a1a1a;--muted:#5a5a5a;--line:#e2e2e2;--bg:#fff;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;
 color:var(--ink);background:var(--bg)}
header.top{background:#0b2740;color:#fff;padding:28px 32px 20px}
header.top h1{margin:0 0 6px;font-size:26px}
header.top p{margin:2px 0;color:#cfe0ee}
main{max-width:1000px;margin:0 auto;padding:8px 24px 48px}
h2{margin:40px 0 8px;padding-top:8px;border-top:3px solid var(--ink);font-size:21px}
h3{margin:26px 0 6px;font-size:17px}
h3 small{color:var(--muted);font-weight:400}
a{color:var(--accent)}
nav.toc{background:#f5f7f9;border:1px solid var(--line);border-radius:6px;padding:12px 18px;margin:18px 0}
nav.toc ol{margin:4px 0;padding-left:20px;columns:2}
.findings li{margin:6px 0}
figure.fig{margin:12px 0 22px;overflow-x:auto}
svg.chart{max-width:100%;height:auto;display:block}
svg.chart .mark:hover rect{opacity:.8}
svg.chart .country:hover use{stroke:#111;stroke-width:2.5}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:8px}
.scroll{max-height:640px;overflow-y:auto;border:1px solid var(--line);border-radius:4px;margin:12px 0}
.scroll figure.fig{margin:0}
.scroll-x{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0 16px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f7f9}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer}
table.sortable th::after{content:' \\2195';color:#aaa}
.chip{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.cite{font-size:12px;color:var(--muted)}
.note,.back{font-size:13px;color:var(--muted)}
.caveat{background:#fff6e5;border-left:4px solid #E69F00;padding:8px 12px}
.lede{margin:4px 0 8px}
.index{columns:4;font-size:13px;margin:6px 0 12px;padding-left:18px}
.index li{break-inside:avoid}
#country-search{padding:6px 10px;font-size:14px;width:280px;border:1px solid #bbb;border-radius:4px}
section.country{border-top:1px solid var(--line);margin-top:18px}
@media print{
 header.top{background:none;color:#000;padding:0}
 header.top p{color:#333}
 nav.toc,#country-search,.back{display:none}
 .scroll{max-height:none;overflow:visible;border:none}
 main{max-width:none;padding:0}
 section.country,figure.fig{break-inside:avoid}
 h2:not(#global){break-before:page}
 a{color:inherit;text-decoration:none}
}
"""

_HEAD_JS = """
window.__hallyuErrors=[];
window.addEventListener('error',function(e){window.__hallyuErrors.push(String(e.message||e));
 if(document.body){document.body.setAttribute('data-js-errors',window.__hallyuErrors.join(' | '));}});
"""

_BODY_JS = """
(function(){
 function check(){
  var charts=document.querySelectorAll('svg[data-chart]'),ok=0,bad=[];
  for(var i=0;i<charts.length;i++){var s=charts[i],b=s.getBoundingClientRect();
   if(s.childElementCount>1&&b.width>0&&b.height>0){ok++;}else{bad.push(s.getAttribute('data-chart'));}}
  var want=document.querySelectorAll('[data-expect-chart]');
  for(var j=0;j<want.length;j++){var n=want[j].getAttribute('data-expect-chart');
   if(!want[j].querySelector('svg[data-chart="'+n+'"]')){bad.push('missing:'+n);}}
  document.body.setAttribute('data-charts-rendered',String(ok));
  document.body.setAttribute('data-charts-expected',String(want.length));
  document.body.setAttribute('data-charts-failed',bad.join(','));
  document.body.setAttribute('data-js-errors',window.__hallyuErrors.join(' | '));
 }
 function search(){
  var box=document.getElementById('country-search');if(!box){return;}
  box.addEventListener('input',function(){var q=box.value.toLowerCase();
   var items=document.querySelectorAll('.index li');
   for(var i=0;i<items.length;i++){var t=items[i].textContent.toLowerCase();
    items[i].style.display=(t.indexOf(q)>=0)?'':'none';}});
 }
 function sortable(){
  var tables=document.querySelectorAll('table.sortable');
  for(var t=0;t<tables.length;t++){(function(table){
   var heads=table.querySelectorAll('th');
   for(var h=0;h<heads.length;h++){(function(idx,th){th.addEventListener('click',function(){
    var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
    var dir=th.getAttribute('data-dir')==='asc'?-1:1;th.setAttribute('data-dir',dir===1?'asc':'desc');
    rows.sort(function(a,b){var x=a.cells[idx],y=b.cells[idx];
     var vx=x.getAttribute('data-v'),vy=y.getAttribute('data-v');
     var nx=vx!==null?parseFloat(vx):parseFloat(x.textContent),ny=vy!==null?parseFloat(vy):parseFloat(y.textContent);
     if(!isNaN(nx)&&!isNaN(ny)){return dir*(nx-ny);}
     return dir*x.textContent.localeCompare(y.textContent);});
    for(var r=0;r<rows.length;r++){body.appendChild(rows[r]);}
   });})(h,heads[h]);}
  })(tables[t]);}
 }
 function ready(){try{search();sortable();}catch(e){window.__hallyuErrors.push(String(e));}check();}
 if(document.readyState==='loading'){document.addEventListener('DOMContentLoaded',ready);}else{ready();}
})();
"""


def render_report(explanation, out_path, forecasts: pd.DataFrame | None = None, backtest=None,
                  history: pd.DataFrame | None = None, title: str | None = None) -> Path:
    """Write one self-contained HTML report of ``explanation`` to ``out_path``.

    Parameters
    ----------
    explanation : Explanation
        From :func:`hallyu_forecast.explanation`.
    out_path : path
        The HTML file to write (parent folders are created).
    forecasts : DataFrame, optional
        Output of :func:`hallyu_forecast.predict` (several horizons welcome): drawn with their
        intervals in each country's section and on the intensity map. Default: the explained
        forecasts (one horizon).
    backtest : BacktestResult or DataFrame, optional
        Accuracy table of the methods section (``BacktestResult.summary()``).
    history : DataFrame, optional
        Observed target (iso3, year, y on the model scale); default the explanation's.
    title : str, optional

    Returns
    -------
    Path
        The written file.
    """
    from hallyu_forecast.explanation import Explanation

    if not isinstance(explanation, Explanation):
        raise ConfigError(f"`explanation` must be an Explanation from hallyu_forecast.explanation(). Got "
                          f"{type(explanation).__name__}.")
    started = time.perf_counter()
    c = _Ctx(explanation, forecasts, backtest, history)
    ex = explanation
    countries = sorted(c.names, key=lambda k: c.names[k])
    title = title or "What drives Hallyu? Forecasts and their explanation"
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    body = [_section_findings(c)]
    body.append("<h2 id='global'>1. What drives Hallyu globally</h2>"
                "<p>How much each kind of driver moves the forecast, averaged over countries. Colours are the same in "
                "every chart: <span class='chip' style='background:#0072B2'></span>Korean government support, "
                "<span class='chip' style='background:#E69F00'></span>local conditions, "
                "<span class='chip' style='background:#CC79A7'></span>regime shocks, "
                "<span class='chip' style='background:#8C8C8C'></span>own history.</p>")
    body.append(_section_global(c))
    body.append("<h2 id='by-country'>2. Government support vs local conditions, by country and over time</h2>")
    body.append(_section_by_country(c))
    body.append("<h2 id='maps'>3. World maps</h2>")
    body.append(_section_maps(c))
    body.append("<h2 id='levers'>4. Policy levers</h2><p>Each dot is a country-year: the feature's value (x) and its "
                "contribution to the forecast (y). Hover a dot for the country. These are the model's associations, "
                "not estimates of what a policy change would cause.</p>")
    body.append(_section_levers(c))
    body.append("<h2 id='countries'>5. Countries</h2><p>At a glance (click a header to sort), then one section per "
                "country.</p>" + _glance_table(c))
    body.append("<input id='country-search' type='search' placeholder='Find a country...' aria-label='Find a "
                "country'><ol class='index'>" + "".join(f"<li><a href='#c-{i}'>{_e(c.names[i])}</a></li>"
                                                        for i in countries) + "</ol>")
    body.extend(_section_country(c, iso3) for iso3 in countries)
    body.append("<h2 id='methods'>6. Methods, data and accuracy</h2>")
    body.append(_section_methods(c))

    toc = ("<nav class='toc'><b>Contents</b><ol><li><a href='#global'>What drives Hallyu globally</a></li>"
           "<li><a href='#by-country'>Government support vs local conditions</a></li>"
           "<li><a href='#maps'>World maps</a></li><li><a href='#levers'>Policy levers</a></li>"
           "<li><a href='#countries'>Countries</a></li><li><a href='#methods'>Methods, data and accuracy</a></li>"
           "</ol></nav>")
    origins = ex.meta.get("origins") or [ex.latest_origin]
    head = (f"<header class='top'><h1>{_e(title)}</h1><p>Target: {_e(ex.target.get('description', ''))}.</p>"
            f"<p>{len(countries)} countries; forecasts {ex.horizon} year(s) ahead from origins {min(origins)}-"
            f"{max(origins)}; generated {generated}.</p></header>")
    doc = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
           "<meta name='viewport' content='width=device-width, initial-scale=1'>"
           f"<meta name='hallyu-charts' content='{len(c.charts)}'>"
           f"<title>{_e(title)}</title><style>{_CSS}</style><script>{_HEAD_JS}</script></head><body>"
           + ch.map_defs() + head + "<main>" + toc + "".join(body) + "</main>"
           f"<script>{_BODY_JS}</script></body></html>")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    _LAST_RENDER.update({"seconds": time.perf_counter() - started, "charts": list(c.charts), "bytes": len(doc)})
    return out


_LAST_RENDER: dict = {}


def chart_names(explanation) -> list[str]:
    """Names of every chart :func:`render_report` draws for ``explanation`` (``data-chart`` values)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        render_report(explanation, Path(tmp) / "r.html")
    return list(_LAST_RENDER["charts"])


def _quick_backtest(bundle, progress: Callable[[str], None]):
    """The bundle's experiment backtested (pre-COVID origins, no new-market/COVID extras), or None."""
    from hallyu_forecast.config import load_config
    from hallyu_forecast.errors import HallyuError
    from hallyu_forecast.evaluation import backtest
    from hallyu_forecast.training import with_params

    meta = getattr(bundle, "meta", None) or {}
    try:
        cfg = load_config(meta.get("experiment") or None)
        params = {k[len("model."):]: v for k, v in (meta.get("config") or {}).items() if k.startswith("model.")}
        cfg = with_params(cfg, params)
        return backtest(cfg, panel=bundle.load_panel(), new_market=False, covid=False, bootstrap_reps=200)
    except HallyuError as exc:
        progress(f"backtest skipped: {exc}")
        return None


def build_report(out: str | Path = "report.html", model=None, track: bool = True,
                 progress: Callable[[str], None] | None = None, n_refits: int = 20,
                 backtest_result=None, run_backtest: bool = True) -> Path:
    """Explain ``model`` (default: the shipped one), forecast horizons 1-3, backtest its experiment
    (unless ``backtest_result`` is given or ``run_backtest`` is false) and render the report.

    With ``track=True`` the HTML and the explanation tables are logged to MLflow (run kind
    ``report``). This is ``hallyu-forecast report --out report.html``.
    """
    from hallyu_forecast.explanation import explain

    say = progress or (lambda _text: None)
    start = time.perf_counter()
    ex = explain(model=model, n_refits=n_refits)
    say(f"explained {len(ex.rows)} country-years in {time.perf_counter() - start:.1f}s")
    forecasts = None
    if model is None or isinstance(model, (str, Path)) or type(model).__name__ == "ModelBundle":
        from hallyu_forecast.inference import predict, resolve_model

        bundle = resolve_model(model)
        horizons = sorted(int(h) for h in bundle.forecaster.horizons_)
        forecasts = predict(horizon=horizons, model=bundle)
        if backtest_result is None and run_backtest:
            t0 = time.perf_counter()
            backtest_result = _quick_backtest(bundle, say)
            if backtest_result is not None:
                say(f"backtest done in {time.perf_counter() - t0:.1f}s")
    path = render_report(ex, out, forecasts=forecasts, backtest=backtest_result)
    say(f"rendered {path} ({_LAST_RENDER.get('bytes', 0) / 1024:,.0f} KiB, {len(_LAST_RENDER.get('charts', []))} "
        f"charts) in {_LAST_RENDER.get('seconds', 0):.1f}s")
    if track:
        import tempfile

        import mlflow

        from hallyu_forecast import tracking
        from hallyu_forecast.config import load_config

        with tracking.run("report", load_config()):
            mlflow.log_artifact(str(path), "report")
            with tempfile.TemporaryDirectory() as tmp:
                ex.save(Path(tmp) / "explanation")
                mlflow.log_artifacts(str(Path(tmp) / "explanation"), "explanation")
            mlflow.log_metrics({f"share_{r.role}_{'with' if wh else 'without'}_history": float(r.share)
                                for wh in (True, False) for r in ex.shares(with_history=wh).itertuples()})
    return path
