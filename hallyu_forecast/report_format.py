"""Words, numbers and names of the analysts' report: labels, formatters and the constants every section shares
(the formatters print "n/a" for a missing value, never raise)."""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata

import pandas as pd

from hallyu_forecast import _charts as ch
from hallyu_forecast.drivers_result import (
    _labels,
)
from hallyu_forecast.features import TargetSpec, inverse_target
from hallyu_forecast.panel import load_countries
from hallyu_forecast.report_parts import _num

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


def _round(value, digits: int = 4):
    """Floats to ``digits`` significant digits (the embedded JSON stays small)."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v, digits) for v in value]
    return value


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
