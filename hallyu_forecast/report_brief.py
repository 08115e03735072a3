"""The report's one-screen brief and its plain words: three answers, their limits, a glossary.

The brief answers a minister's three questions, each with its interval and its limits:

1. **Why levels differ** (:func:`levels_answer`): the drivers model's split of the cross-country
   spread into Korean government support and local conditions, under BOTH role codings of trade
   (trade as a local condition, the packaged specs; trade as a government lever, the drivers
   model's ``trade_as_government_support`` variant).
2. **What the levers did** (:func:`levers_answer`): the causal estimates per lever (``hf.effects()``,
   the table the ``effects`` CLI prints), in percent with percent intervals, with "we cannot rule
   out effects between ... and ..." sentences, the number of treated countries, and the note that
   countries with unknown opening dates are left out.
3. **What comes next** (:func:`next_answer`): the forecast headline from ``hf.predict()`` output,
   only from measured, in-domain places.

Every number is formatted here from the same objects the CLI prints (``DriversResult.format()``
for shares, ``EffectsResult.table``'s ``*_pct`` columns, ``predict()``'s ``prediction_natural``),
with the CLI's own rounding, so ``tests/test_report.py`` can compare the page with the CLI.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hallyu_forecast.drivers_model import (
    ROLE_LABELS as DRIVER_ROLE_LABELS,
)

#: the levers the brief answers for (a minister's question: centres, working-holiday visas, FTAs, trade)
BRIEF_LEVERS = ("kcc", "working_holiday", "fta", "trade_intensity")
LEVER_WORDS = {"kcc": "Korean Cultural Centres", "working_holiday": "Working-holiday visa agreements",
               "fta": "Free-trade agreements with Korea", "trade_intensity": "Trade with Korea",
               "diplomatic_ties_years": "Years of diplomatic ties", "oda": "Korean development aid (2019)"}
#: what one unit of the lever is (the estimate's meaning)
LEVER_UNIT = {"kcc": "in the first 7 years after a centre opens",
              "working_holiday": "in the first 7 years after an agreement starts",
              "fta": "in the first 7 years after entry into force",
              "trade_intensity": "per 1 log-point rise in trade with Korea per person (trade ×2.7)",
              "diplomatic_ties_years": "per year of ties", "oda": "per log point of aid"}
#: event levers whose panel has an "onset unknown" flag (those countries are left out of the estimate)
UNKNOWN_ONSET = {"kcc": "kcc_onset_unknown", "working_holiday": "wh_onset_unknown"}
MINUS = "\u2212"

#: human labels for the panel columns a what-if scenario changes (value -> words)
CHANGE_WORDS = {
    "kcc_present": lambda v: "Korean Cultural Centre opens" if v else "Korean Cultural Centre closes",
    "wh_agreement": lambda v: "working-holiday agreement starts" if v else "working-holiday agreement ends",
    "fta_korea_in_force": lambda v: "FTA with Korea enters into force" if v else "FTA with Korea ends",
    "kor_trade_usd": lambda v: f"trade with Korea US${v / 1e9:,.0f}bn a year" if v >= 1e9
    else f"trade with Korea US${v / 1e6:,.0f}m a year",
}

#: every term of jargon the report uses, defined once (the glossary section)
GLOSSARY = (
    ("Drivers model", "A LightGBM model of the level of each measure (log scale, relative to each year's average "
     "country), fitted on country features only. It says which conditions go with high levels; it is not causal."),
    ("Covariance share", "How much of the spread between countries a group of features accounts for: "
     "Cov(group's contribution, fitted level) / Var(fitted level) across countries. Shares sum to 100%; a negative "
     "share means that group narrows the differences."),
    ("Korean government support", "Features Korea's government can change: cultural centres, working-holiday "
     "agreements, FTAs, aid, visa openness, diplomatic ties (and trade in the variant that counts it as a lever)."),
    ("Local conditions", "Features of the country itself: income, population, internet access, distance, religion, "
     "language, political openness (and trade with Korea in the packaged coding)."),
    ("Trade as a local condition / as a government lever", "Trade with Korea is contestable: promoted by trade "
     "policy but mostly an outcome of income, size and distance. The brief shows the split both ways."),
    ("SHAP", "SHapley Additive exPlanations: a model's prediction split into one signed contribution per feature; "
     "the contributions add up exactly to the prediction."),
    ("Mean |contribution|", "The average size of a feature's SHAP contribution over country-years, ignoring sign: "
     "how much the model leans on it."),
    ("Log points", "Differences on the natural-log scale. +0.10 log points is ×1.105, i.e. +10.5%; the report "
     "shows the percent next to every log-point figure: percent = 100 × (exp(x) − 1)."),
    ("Factor (×1.10)", "A country's level divided by the average country's (geometric mean of the year); ×1.10 "
     "means 10% above."),
    ("RMSE", "Root mean squared error of predictions on held-out data (log points); smaller is better."),
    ("Grouped cross-validation", "Accuracy measured on whole countries left out of the fit (all their years "
     "together), so a country is never predicted from its own past."),
    ("Global mean (baseline)", "Predicting every country at the average of the training countries."),
    ("Continent × year mean (baseline)", "Predicting every country at the average of its continent in that year."),
    ("Interval", "The range the estimate falls in at the stated level (80%, 90% or 95%); drivers shares: "
     "refits on 80% of countries; causal effects: bootstrap or double-ML standard errors; forecasts: "
     "backtest errors."),
    ("Event study", "A causal estimate comparing countries before and after a lever starts (a centre opens, an "
     "agreement starts) with countries where it has not yet started."),
    ("Pre-trends", "Whether treated countries were already diverging before the lever started; if so (p < 0.05) "
     "the event-study estimate is not a clean causal answer."),
    ("Placebo test", "The same estimate with random onset dates or a fake treatment; an estimate that does not "
     "stand out from its placebos is not credible."),
    ("Double ML", "Double machine learning: a causal estimate for a continuous lever (trade) after removing "
     "what income, population, internet, urbanisation and democracy predict."),
    ("Treated countries", "Countries where the lever started during the data period with a known date."),
    ("History model", "The forecaster for places with travel history: last observed level, moved by the pooled "
     "median change (drift), a small run-rate term and a learned adjustment."),
    ("New market (covariate-only model)", "The forecaster for places without travel history: a level guessed "
     "from covariates alone; ranges of about ×20, shown grey on the maps."),
    ("persistence_median_drift", "The benchmark forecast: last observed level plus the pooled median yearly change."),
    ("Applicability domain", "Whether a place's covariates lie inside the range the models were trained on. "
     "\"Extrapolated\" answers (covariates outside the range or mostly missing) are shown grey."),
    ("COVID recovery rule", "For forecasts from 2020-22 data: the gap to the pre-COVID level closes at the rate "
     "seen in the monthly arrivals."),
    ("Hallyu intensity index", "Direct measures (travel, students, K-pop and K-drama shares, fan clubs) combined "
     "into one score per country-year."),
)


def share_text(value: float) -> str:
    """A share as the ``drivers`` CLI prints it (``format(v, '.1%')``): 0.0179 -> "1.8%"."""
    return f"{float(value):.1%}"


def share_interval(lo: float, hi: float) -> str:
    """The ``drivers`` CLI's interval: "[0.7%, 2.8%]"."""
    return f"[{float(lo):.1%}, {float(hi):.1%}]"


def signed_pct(value: float, digits: int = 1) -> str:
    """A percent change with its sign and a true minus: -0.687 -> "−0.7%"."""
    return f"{float(value):+.{digits}f}%".replace("-", MINUS)


def parse_signed_pct(text: str) -> float:
    """Inverse of :func:`signed_pct` (for tests comparing the page with the CLI)."""
    return float(str(text).replace(MINUS, "-").replace("%", "").replace("+", "").strip())


def change_words(column: str, value: float) -> str:
    """Words for a what-if change: ``kcc_present=1`` -> "Korean Cultural Centre opens"."""
    if column in CHANGE_WORDS:
        return CHANGE_WORDS[column](float(value))
    return f"{column.replace('_', ' ')} set to {value:g}"


def largest_remainder(values: list[float], digits: int = 1) -> list[float]:
    """Round percentages (already ×100) so that they still sum to their rounded total (Hare rounding)."""
    scale = 10 ** digits
    raw = [v * scale for v in values]
    floors = [math.floor(r) for r in raw]
    total = round(sum(raw))
    order = sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)
    for i in order[:max(0, total - sum(floors))]:
        floors[i] += 1
    return [f / scale for f in floors]


# ------------------------------------------------------------------------ (a) levels
def levels_answer(drivers, target: str) -> dict:
    """Why levels differ, both codings of trade (numbers as ``hallyu-forecast drivers`` prints them)."""
    frames = drivers.to_frames()
    split = frames["split"]
    split = split[split["target"] == target]
    unit = drivers.meta.get("targets", {}).get(target, {}).get("unit", target)
    b = drivers.brief()["targets"][target]
    names = {"as_specified": "trade counted as a local condition",
             "trade_as_government_support": "trade counted as a government lever"}
    variants = []
    for variant in ("as_specified", "trade_as_government_support"):
        s = split[split["variant"] == variant].set_index("role")
        if not {"government_support", "local_conditions"} <= set(s.index):
            continue
        gov, loc = s.loc["government_support"], s.loc["local_conditions"]
        item = {"variant": variant, "label": names[variant],
                "gov": share_text(gov["share"]), "gov_ci": share_interval(gov["lo"], gov["hi"]),
                "local": share_text(loc["share"]), "local_ci": share_interval(loc["lo"], loc["hi"]),
                "values": {"gov": [float(gov["share"]), float(gov["lo"]), float(gov["hi"])],
                           "local": [float(loc["share"]), float(loc["lo"]), float(loc["hi"])]}}
        item["edge"] = _edge_note(gov, "government support")
        variants.append(item)
    level = int(round(100 * float(drivers.meta.get("level") or 0.9)))
    lead = {"local conditions > government support": "go mostly with local conditions, not with Korean government "
                                                     "support",
            "government support > local conditions": "go mostly with Korean government support, not with local "
                                                     "conditions"}.get(b["ranking"], "cannot be attributed more to "
                                                                                    "local conditions or to "
                                                                                    "government support")
    limits = (f"These are associations across {b['n_countries']} countries, not effects of policy: they say which "
              "conditions go with high levels, not what changing a lever would do.")
    return {"target": target, "unit": unit, "n_countries": int(b["n_countries"]), "level": level,
            "variants": variants, "limits": limits, "lead": lead, "role_label": DRIVER_ROLE_LABELS}


def _edge_note(row, what: str) -> str:
    """Explain an estimate lying at the edge of its own interval (the cause: the point is the fit on all
    countries, the interval comes from refits on 80% of them, whose distribution is skewed)."""
    share, lo, hi = float(row["share"]), float(row["lo"]), float(row["hi"])
    width = hi - lo
    if width <= 0 or not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    if share - lo < 0.1 * width or hi - share < 0.1 * width:
        side = "larger" if share - lo < 0.1 * width else "smaller"
        return (f"The {what} share sits at the edge of its interval: the point is the fit on all countries, the "
                f"interval comes from refits on 80% of them, most of which give a {side} share. Read the interval.")
    return ""


# ------------------------------------------------------------------------ (b) levers
def effects_table(effects) -> pd.DataFrame | None:
    """The causal table the ``effects`` CLI prints (``EffectsResult.table``), or the frame given."""
    if effects is None:
        return None
    if hasattr(effects, "table"):
        return effects.table
    return effects if isinstance(effects, pd.DataFrame) else None


def unknown_onsets(panel: pd.DataFrame | None) -> dict[str, int]:
    """Lever -> number of countries with the lever but an unknown opening date (left out of its estimate)."""
    out = {}
    if panel is None:
        return out
    for lever, col in UNKNOWN_ONSET.items():
        if col in panel.columns:
            out[lever] = int((panel.groupby("iso3")[col].max().fillna(0) > 0).sum())
    return out


def levers_answer(effects, target: str, unit: str, panel: pd.DataFrame | None = None) -> dict | None:
    """What the levers did, per lever, in percent (the ``effects`` CLI's ``*_pct`` columns, 1 decimal)."""
    table = effects_table(effects)
    if table is None or not {"estimate_pct", "ci_lo_pct", "ci_hi_pct"} <= set(table.columns):
        return None
    t = table[table["target"] == target]
    unknown = unknown_onsets(panel)
    rows = []
    for lever in BRIEF_LEVERS:
        r = t[t["lever"] == lever]
        if r.empty:
            continue
        r = r.iloc[0]
        name = LEVER_WORDS.get(lever, lever)
        verdict = str(r.get("verdict", ""))
        n = int(r["n_treated"]) if np.isfinite(float(r.get("n_treated", np.nan))) else 0
        item = {"lever": lever, "label": name, "verdict": verdict, "n_treated": n, "method": str(r.get("method", "")),
                "unknown": unknown.get(lever)}
        if not np.isfinite(float(r["estimate_pct"])):
            why = str(r.get("assumptions", "")).removeprefix("not estimable: ")
            item.update(estimate="", lo="", hi="", sentence=f"{name}: not estimable ({why}).")
            rows.append(item)
            continue
        est, lo, hi = (signed_pct(r[c]) for c in ("estimate_pct", "ci_lo_pct", "ci_hi_pct"))
        item.update(estimate=est, lo=lo, hi=hi, values=[float(r["estimate_pct"]), float(r["ci_lo_pct"]),
                                                        float(r["ci_hi_pct"])])
        treated = f"{n} treated countries" if lever != "trade_intensity" else f"{n} countries"
        when = LEVER_UNIT.get(lever, "")
        if float(r["ci_lo_pct"]) <= 0 <= float(r["ci_hi_pct"]):
            head = f"{name}: no detectable effect ({est} {when})"
        else:
            head = f"{name}: {est} {when}"
        sentence = f"{head}; we cannot rule out effects between {lo} and {hi} ({treated}"
        if lever in UNKNOWN_ONSET:
            k = unknown.get(lever)
            sentence += ("; countries with unknown opening dates are left out"
                         + (f": {k} {'country' if k == 1 else 'countries'}" if k is not None else ""))
        sentence += ")."
        if "pre-trends rejected" in verdict:
            sentence += " Pre-trends fail: the treated countries were already diverging, so not a clean causal answer."
        if "not credible" in verdict:
            sentence += " Not credible: " + verdict.split("not credible:", 1)[1].strip() + "."
        item["sentence"] = sentence
        rows.append(item)
    if not rows:
        return None
    limits = ("Event studies compare countries before and after the lever started with countries not yet treated; "
              "they cover only the few countries where it started during the data period with a known date, and "
              "the COVID years 2020-22 are left out. A wide interval that includes 0 means the data cannot tell a "
              "small effect from none, not that the lever does nothing.")
    return {"target": target, "unit": unit, "rows": rows, "limits": limits}


# ------------------------------------------------------------------------ (c) next
def next_answer(forecasts: pd.DataFrame | None, names: dict[str, str], unit: str, top: int = 3,
                inv=math.exp) -> dict | None:
    """The forecast headline from ``predict()`` output: measured (history model), in-domain places only.
    ``inv`` maps the model scale of ``lower``/``upper`` to natural units (the target's inverse transform)."""
    if forecasts is None or forecasts.empty or "prediction_natural" not in forecasts:
        return None
    f = forecasts
    latest = f.groupby("iso3")["origin"].transform("max")
    f = f[f["origin"] == latest]
    first_year = int(f["target_year"].min())
    trusted = f["domain"].astype(str).eq("in") if "domain" in f else pd.Series(True, index=f.index)
    if "model" in f:
        trusted &= f["model"].astype(str).eq("history")
    y1 = f[(f["target_year"] == first_year) & trusted].sort_values("prediction_natural", ascending=False)
    lower = "lower" if "lower" in f else "lower_80"
    upper = "upper" if "upper" in f else "upper_80"
    leaders = [{"iso3": r.iso3, "name": names.get(r.iso3, r.iso3), "value": natural(r.prediction_natural),
                "lo": natural(inv(getattr(r, lower))) if np.isfinite(getattr(r, lower)) else "n/a",
                "hi": natural(inv(getattr(r, upper))) if np.isfinite(getattr(r, upper)) else "n/a",
                "raw": float(r.prediction_natural)} for r in y1.head(top).itertuples()]
    places = f.drop_duplicates("iso3")
    n_all = len(places)
    trusted_places = int(trusted[places.index].sum())
    years = sorted(int(y) for y in f["target_year"].unique())
    return {"years": years, "origin": int(f["origin"].max()), "first_year": first_year, "leaders": leaders,
            "n_places": n_all, "n_trusted": trusted_places, "n_grey": n_all - trusted_places, "unit": unit,
            "limits": ("Forecasts are persistence plus drift: the last observed level moved by the pooled median "
                       "change and a small run-rate term. They cannot say which driver will move a country. "
                       f"{n_all - trusted_places} of {n_all} places are covariate-only guesses or extrapolations "
                       "(grey on the maps).")}


def natural(v) -> str:
    """Natural units the way the report prints them (1,234 / 56.7 / 3.21)."""
    v = float(v)
    if not math.isfinite(v):
        return "n/a"
    if abs(v) >= 100 or (abs(v) >= 10 and v.is_integer()):
        return f"{v:,.0f}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"


def cannot_say(levels: dict | None, levers: dict | None, nxt: dict | None, vintage: str) -> list[str]:
    """The brief's "what this cannot say" list."""
    out = []
    if levels:
        out.append("Why levels differ is an association across countries: it does not say what a policy change "
                   "would cause.")
    if levers:
        out.append("What the levers did is estimated only where a lever started during the data with a known "
                   "date; it cannot speak for countries or periods without such a start, and wide intervals "
                   "cannot tell a small effect from none.")
    else:
        out.append("No causal estimates were supplied: the page cannot say what the levers did.")
    if nxt:
        out.append("What comes next cannot separate drivers of change, and says nothing reliable about places "
                   "without travel history (grey on the maps).")
    if vintage:
        out.append(f"Nothing after the data's vintage ({vintage}).")
    return out


def data_vintage(monthly: pd.DataFrame | None, panel_year: int | None = None) -> str:
    """"arrivals through 2022-12" from the monthly arrivals (last month with a value), else the panel's year."""
    if monthly is not None and len(monthly) and {"year", "month"} <= set(monthly.columns):
        m = monthly
        col = next((c for c in ("arrivals_0_30", "arrivals_total") if c in m.columns), None)
        if col is not None:
            m = m[m[col].notna()]
        if len(m):
            last = m.sort_values(["year", "month"]).iloc[-1]
            return f"arrivals through {int(last['year'])}-{int(last['month']):02d}"
    if panel_year is not None:
        return f"data through {int(panel_year)}"
    return ""


# ------------------------------------------------------------------ country profiles
#: (label, unit, panel column, divisor: "pop" = per 100k inhabitants, a number = multiply, lo/hi columns)
PROFILE_MEASURES = (
    ("Youth visitors to Korea", "per 100k inhabitants", "arrivals_0_30", "pop", None),
    ("All visitors to Korea", "per 100k inhabitants", "arrivals_total", "pop", None),
    ("Degree students in Korea", "per 100k inhabitants", "students_degree", "pop", None),
    ("Korean-language students in Korea", "per 100k inhabitants", "students_language", "pop", None),
    ("K-pop share of Spotify chart entries", "%", "kpop_chart_share", 100.0, None),
    ("K-drama share of Netflix TV top-10 slots", "%", "kdrama_top10_share", 100.0, None),
    ("Korea Foundation fan-club members", "per 100k inhabitants", "kf_fan_club_members", "pop", None),
    ("Hallyu intensity index", "points (0-100)", "hallyu_index", 1.0, ("hallyu_index_lo", "hallyu_index_hi")),
)
#: (label, present column, onset-year column, onset-unknown column)
PROFILE_LEVERS = (
    ("Korean Cultural Centre", "kcc_present", "kcc_onset_year", "kcc_onset_unknown"),
    ("Working-holiday agreement", "wh_agreement", "wh_onset_year", "wh_onset_unknown"),
    ("FTA with Korea in force", "fta_korea_in_force", "fta_korea_onset_year", None),
)


def _r(v) -> float | None:
    v = float(v)
    return float(f"{v:.3g}") if math.isfinite(v) else None


def country_profiles(panel: pd.DataFrame | None) -> dict[str, dict]:
    """ISO3 -> every measure the panel has for the country (label, unit, years, values, interval) and
    the levers it has with their dates; a measure without any value is listed as "no data"."""
    if panel is None or not {"iso3", "year"} <= set(panel.columns):
        return {}
    out = {}
    pop = panel["population"] if "population" in panel else pd.Series(np.nan, index=panel.index)
    for iso3, g in panel.groupby("iso3", sort=True):
        g = g.sort_values("year")
        p = pop.loc[g.index]
        measures = []
        for label, unit, col, scale, band in PROFILE_MEASURES:
            if col not in g:
                continue
            v = g[col].astype(float)
            if scale == "pop":
                v = (v / p * 1e5).where((v > 0) & (p > 0))
            else:
                v = v * scale
            ok = v.notna()
            if not ok.any():
                measures.append([label, unit, [], [], None, None])
                continue
            years = g.loc[ok, "year"].astype(int).tolist()
            lo = hi = None
            if band and set(band) <= set(g.columns):
                lo = [_r(x) for x in g.loc[ok, band[0]] * scale]
                hi = [_r(x) for x in g.loc[ok, band[1]] * scale]
            measures.append([label, unit, years, [_r(x) for x in v[ok]], lo, hi])
        levers = []
        last = g.iloc[-1]
        for label, present, onset, unknown in PROFILE_LEVERS:
            if present not in g:
                continue
            has = float(last.get(present, 0) or 0) > 0
            year = float(last.get(onset, 0) or 0) if onset in g else 0.0
            unk = bool(float(last.get(unknown, 0) or 0) > 0) if unknown and unknown in g else False
            if not has:
                text = "none (as of the latest data)"
            elif year > 0:
                text = f"since {int(year)}"
            else:
                text = ("yes, opening date unknown (left out of the causal estimate)" if unk
                        else "yes, date not recorded")
            levers.append([label, text])
        out[str(iso3)] = {"measures": measures, "levers": levers,
                          "years": [int(g["year"].min()), int(g["year"].max())]}
    return out
