"""The report's forecast part: each country's forecast at its real size (:func:`forecast_size`), the
forecast maps and counts, how the forecaster uses the levers, and the per-country payload embedded as JSON."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hallyu_forecast import _charts as ch
from hallyu_forecast.report_format import (
    CATEGORY_LEVELS,
    COVID_LABEL,
    LEVERS,
    MAX_STEPS,
    TINY_LOG,
    _fold,
    _group_label,
    _Inv,
    log_points,
    natural,
)
from hallyu_forecast.report_parts import (
    _num,
    forecast_map,
    pct_tick,
)
from hallyu_forecast.report_sections import _country_factors


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
