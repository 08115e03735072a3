"""The report's Hallyu index section: ranked table with intervals, basis, evidence and validation.

Everything here renders results computed by :mod:`hallyu_forecast.index` and
:mod:`hallyu_forecast.index_validation` (the same functions behind ``hallyu-forecast index`` and
``index --validate``); nothing is re-estimated for the page.
"""

from __future__ import annotations

import pandas as pd

from hallyu_forecast import _charts as ch
from hallyu_forecast import index as ix
from hallyu_forecast import index_validation as iv

INDICATOR_LABELS = {
    "kpop_chart": "K-pop chart share",
    "kdrama_top10": "K-drama top-10 share",
    "youth_arrivals": "youth visitors",
    "mobile_students": "degree students",
    "language_students": "language students",
}


def _basis(indicators: str) -> str:
    names = [n.strip() for n in str(indicators).split(",") if n.strip()]
    return "; ".join(INDICATOR_LABELS.get(n, n) for n in names) or "none"


def index_section(panel: pd.DataFrame, names: dict[str, str], charts: list[str]) -> dict | None:
    """Data for the report's index section (``None`` if the panel has no index columns).

    Returns a dict with ``svg`` (map of the published country-level index; countries without a
    published value are grey and say why in their tooltip), ``rows`` (ranked table: country, value,
    80% band, indicators, evidence), ``not_published`` (count), ``validation`` (the summary rows of
    the validation table, with n and interval), ``invariance`` (verdict per indicator) and
    ``caveats`` (plain sentences).
    """
    if "hallyu_index" not in panel.columns:
        return None
    country = ix.country_index(panel)
    pub = country[country["hallyu_index_published"]].sort_values("hallyu_index", ascending=False)
    rest = country[~country["hallyu_index_published"]]
    values = dict(zip(pub["iso3"], pub["hallyu_index"].astype(float)))
    tips, grey = {}, {}
    for r in pub.itertuples(index=False):
        tips[r.iso3] = (f"{names.get(r.iso3, r.iso3)}: Hallyu index {r.hallyu_index:.0f} of 100 "
                        f"(80% band {r.hallyu_index_lo:.0f}-{r.hallyu_index_hi:.0f}; {int(r.hallyu_index_n)} "
                        f"indicator{'s' if r.hallyu_index_n != 1 else ''})")
    for r in rest.itertuples(index=False):
        grey[r.iso3] = f"{names.get(r.iso3, r.iso3)}: not enough evidence ({r.evidence.split(': ', 1)[-1]})"
    svg, missing = ch.world_map(
        "map-index", "Hallyu index by country (all years pooled)",
        "Consumption of Korean music and drama, percentile 0-100; dark grey: not enough evidence; light grey: no indicator",
        values, {k: f"{names.get(k, k)} ({k})" for k in ch.world_geometry()}, ch.VIRIDIS,
        "Hallyu index (percentile, 0-100)", value_fmt=lambda v: f"{v:.0f} of 100", domain=(0.0, 100.0),
        tooltips=tips, greyed=grey, greyed_label="not enough evidence", missing_label="no indicator")
    charts.append("map-index")
    rows = [{"country": names.get(r.iso3, r.iso3), "iso3": r.iso3, "value": f"{r.hallyu_index:.0f}",
             "band": f"{r.hallyu_index_lo:.0f}-{r.hallyu_index_hi:.0f}", "n": int(r.hallyu_index_n),
             "basis": _basis(r.indicators), "evidence": r.evidence}
            for r in pub.itertuples(index=False)]
    table = iv.validate_index(panel)
    summary = iv.summary(table).merge(table[["anchor", "anchor_description"]].drop_duplicates("anchor"), on="anchor")
    validation = [{"anchor": r.anchor_description, "n": int(r.n),
                   "rho": "-" if pd.isna(r.spearman) else f"{r.spearman:+.2f}",
                   "interval": "-" if pd.isna(r.lo90) else f"{r.lo90:+.2f} to {r.hi90:+.2f}",
                   "verdict": r.verdict} for r in summary.itertuples(index=False)]
    inv = iv.invariance(panel)
    invariance = [{"indicator": INDICATOR_LABELS.get(r.indicator, r.indicator), "verdict": r.verdict}
                  for r in inv.itertuples(index=False)]
    agrees = sum(v["verdict"] == "agrees" for v in validation)
    disagrees = sum(v["verdict"] == "DISAGREES" for v in validation)
    caveats = [
        f"The index agrees (90% interval above zero) with {agrees} of {len(validation)} independent measures "
        f"and disagrees with {disagrees}; the agreement is between regions (Asia vs the rest), not within them.",
        "Arrivals and students in Korea inform the index only through a separate mobility factor: on their own "
        "they disagree with what survey respondents say about Korean content.",
        "Some content indicators read higher in Asia at the same level (invariance screen), so compare countries "
        "within a region with care.",
        f"{len(rest)} countries have indicators but not enough evidence for a value "
        f"(posterior sd above {ix.MAX_PUBLISHED_SD} or no content indicator); they are grey on the map.",
    ]
    return {"svg": svg, "rows": rows, "not_published": len(rest), "validation": validation,
            "invariance": invariance, "caveats": caveats, "n": len(rows),
            "not_drawn": [names.get(m, m) for m in missing]}
