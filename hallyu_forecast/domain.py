"""Applicability domain: which places a model may answer for, and which answers are extrapolations.

One rule, used by :func:`hallyu_forecast.predict`, :func:`hallyu_forecast.explain` and
:func:`hallyu_forecast.drivers`. For each place, at the year answered (the forecast origin), over
the model's non-history covariates:

1. **excluded** (no row in the output): the place has no population figure up to that year
   (Antarctica, Bouvet Island, Heard & McDonald Islands, ...: a per-capita target means nothing
   there), or fewer than ``MIN_OBSERVED_EXCLUDE`` (50%) of the covariates are observed (the US
   Minor Outlying Islands, the Vatican, ...: the answer would be the model's average, not an
   answer about the place).
2. **extrapolated** (answered, flagged): fewer than ``MIN_OBSERVED_IN`` (75%) of the covariates
   are observed ("mostly missing covariates"), or more than ``MAX_OUT_OF_RANGE`` (4) covariates
   lie outside the range of the reference rows (the countries with an observed target that year),
   padded by ``RANGE_PAD`` (10%) of that range on each side (North Korea, Burundi, South Sudan...).
   A tree model answers such places with the value of its outermost leaves.
3. **in** otherwise, and always for populated places whose target is observed (the training
   countries: they are answered from their own history, whatever their covariates).

4. **excluded** (refused) for a travel target: places whose residents have no plausible way to
   travel to Korea, listed in ``hallyu_forecast/data/no_travel.csv`` (one row per documented fact,
   with its source and URL; North Korea). Applied by :func:`refuse_no_travel` when the target is
   built from arrivals, whatever the covariates say.

Event-like covariates (cultural centres, agreements) are 0 where nothing happened, so they count
as observed everywhere; the thresholds were set with that in mind (an uninhabited island
typically has 18-26% of the covariates observed, a small territory 34-47%, a sovereign country 79-100%).
Asked about an excluded or extrapolated place *alone*, the callers raise
:class:`~hallyu_forecast.errors.DomainError`; in a list, excluded places are dropped and
extrapolated ones are flagged in the ``domain`` column ("in", "extrapolated: <reason>").
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from hallyu_forecast.errors import DataError, DomainError

MIN_OBSERVED_EXCLUDE = 0.5
MIN_OBSERVED_IN = 0.75
MAX_OUT_OF_RANGE = 4
RANGE_PAD = 0.1
STATUSES = ("in", "extrapolated", "excluded")
DOMAIN_COLUMNS = ["iso3", "status", "reason", "domain", "observed_share", "n_out_of_range"]
NO_TRAVEL_FILE = Path(__file__).parent / "data" / "no_travel.csv"
NO_TRAVEL_COLUMNS = ["iso3", "fact", "source", "url"]


def applicability(frame: pd.DataFrame, features: Iterable[str], reference: pd.DataFrame | None = None,
                  population_known: Iterable[str] | None = None,
                  observed_target: Iterable[str] | None = None) -> pd.DataFrame:
    """Classify each row of ``frame`` as "in", "extrapolated" or "excluded" (see the module docstring).

    Parameters
    ----------
    frame : DataFrame
        One row per place: ``iso3`` and the covariate columns ``features``.
    features : iterable of str
        The model's non-history covariates.
    reference : DataFrame, optional
        Rows defining the covariate range (e.g. countries with an observed target); default ``frame``.
    population_known : iterable of str, optional
        ISO3 codes with a population figure; default: every row counts as populated.
    observed_target : iterable of str, optional
        ISO3 codes whose target is observed (they are the model's training data, answered from
        their own history): always "in" when populated.

    Returns
    -------
    DataFrame
        iso3, status, reason ("" when in), domain ("in", "extrapolated: <reason>" or
        "excluded: <reason>"), observed_share, n_out_of_range; same order as ``frame``.

    Examples
    --------
    >>> import pandas as pd
    >>> synthetic = pd.DataFrame({"iso3": ["AAA", "BBB"], "x": [1.0, None], "z": [2.0, None]})
    >>> applicability(synthetic, ["x", "z"])["status"].tolist()
    ['in', 'excluded']
    """
    features = list(features)
    # numpy throughout: explain() applies the rule once per origin, and pandas overhead dominated
    X = np.asarray(frame[features].to_numpy(dtype="float64", na_value=np.nan)) if features else \
        np.empty((len(frame), 0))
    ref = X if reference is None else np.asarray(reference[features].to_numpy(dtype="float64", na_value=np.nan))
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no range, never "outside"
        lo = np.nanmin(ref, axis=0) if len(ref) else np.full(len(features), np.nan)
        hi = np.nanmax(ref, axis=0) if len(ref) else np.full(len(features), np.nan)
        pad = RANGE_PAD * (hi - lo)
        outside = (X < lo - pad) | (X > hi + pad)  # NaN compares False
    observed = (~np.isnan(X)).mean(axis=1) if features else np.ones(len(X))
    n_out = outside.sum(axis=1)
    populated = np.ones(len(frame), bool) if population_known is None else \
        frame["iso3"].isin(set(population_known)).to_numpy()
    own = np.zeros(len(frame), bool) if observed_target is None else \
        frame["iso3"].isin(set(observed_target)).to_numpy()
    n = len(features)
    k = np.rint(observed * n).astype(int)
    excluded_pop = ~populated
    excluded_cov = populated & ~own & (observed < MIN_OBSERVED_EXCLUDE)
    sparse = populated & ~own & ~excluded_cov & (observed < MIN_OBSERVED_IN)
    far = populated & ~own & ~excluded_cov & ~sparse & (n_out > MAX_OUT_OF_RANGE)
    status = np.select([excluded_pop, excluded_cov, sparse, far], ["excluded", "excluded", "extrapolated",
                                                                 "extrapolated"], "in").astype(object)
    reason = np.full(len(frame), "", dtype=object)
    reason[excluded_pop] = "no population data"
    for i in np.flatnonzero(excluded_cov):  # loops only over the (few) flagged rows
        reason[i] = f"too few observed covariates ({k[i]} of {n})"
    for i in np.flatnonzero(sparse):
        reason[i] = f"mostly missing covariates ({k[i]} of {n} observed)"
    for i in np.flatnonzero(far):
        names = [f for f, o in zip(features, outside[i]) if o]
        reason[i] = (f"{int(n_out[i])} covariates outside the training range ({', '.join(names[:4])}"
                     + (", ..." if len(names) > 4 else "") + ")")
    out = pd.DataFrame({"iso3": frame["iso3"].to_numpy(), "status": status, "reason": reason})
    out["domain"] = [s if s == "in" else f"{s}: {r}" for s, r in zip(status, reason)]
    out["observed_share"] = observed
    out["n_out_of_range"] = n_out.astype(int)
    return out


def populated(panel: pd.DataFrame, year: int | None = None) -> set[str]:
    """ISO3 codes with a population figure in the panel (up to ``year`` if given)."""
    rows = panel if year is None else panel[panel["year"] <= year]
    return set(rows.loc[rows["population"].notna(), "iso3"]) if "population" in rows else set(rows["iso3"])


def check_alone(domain: pd.DataFrame, asked: list[str] | None, what: str = "forecast") -> None:
    """Raise :class:`DomainError` when the places asked for are all outside the domain.

    ``asked=None`` (every place) never raises: excluded places are simply dropped. Asked by
    name, a list where *every* place is excluded or extrapolated raises, naming each one and why.
    """
    if asked is None:
        return
    sub = domain[domain["iso3"].isin(asked)].drop_duplicates("iso3", keep="last")
    bad = sub[sub["status"] != "in"]
    if len(sub) and len(bad) == len(sub):
        detail = "; ".join(f"{r.iso3}: {r.domain}" for r in bad.itertuples())
        fix = ("Choose another country (uninhabited places, places with too few observed covariates and, for "
               "a travel target, places with no plausible travel to Korea are never answered)") \
            if (bad["status"] == "excluded").all() else \
            ("Ask together with in-domain countries to get the answer flagged as an extrapolation, or choose "
             "another country")
        raise DomainError(f"No {what} for {', '.join(bad['iso3'])}: outside the applicability domain ({detail}). "
                          f"{fix}; the rule is documented in hallyu_forecast.domain.")


def drop_excluded(out: pd.DataFrame, domain: pd.DataFrame) -> pd.DataFrame:
    """Drop excluded places from ``out`` and add its ``domain`` column (by iso3)."""
    status = domain.set_index("iso3")["status"]
    label = domain.set_index("iso3")["domain"]
    keep = out["iso3"].map(status).fillna("in") != "excluded"
    out = out[keep.to_numpy()].copy()
    out["domain"] = out["iso3"].map(label).fillna("in").to_numpy()
    return out


def frame_domain(frame: pd.DataFrame, roles: dict[str, str], panel: pd.DataFrame,
                 origins: Iterable[int] | None = None) -> pd.DataFrame:
    """The rule applied to a feature frame (``build_features`` rows), one row per (iso3, origin).

    Covariates: every non-``history`` feature. Reference rows and "observed target": the rows
    with a known target at the same origin (``y_origin``), i.e. what the forecaster learned from.
    Used by :func:`hallyu_forecast.predict` and :func:`hallyu_forecast.explain`.
    """
    features = [f for f, r in roles.items() if r != "history" and f in frame.columns]
    first = frame[frame["horizon"] == frame["horizon"].min()]
    wanted = sorted(set(first["origin"])) if origins is None else sorted(set(int(o) for o in origins))
    parts = []
    for origin in wanted:
        at = first[first["origin"] == origin].reset_index(drop=True)
        ref = at[at["y_origin"].notna()]
        dom = applicability(at, features, reference=ref if len(ref) else None,
                            population_known=populated(panel, origin),
                            observed_target=set(ref["iso3"]))
        dom.insert(1, "origin", origin)
        parts.append(dom)
    if not parts:
        return pd.DataFrame(columns=["iso3", "origin"] + DOMAIN_COLUMNS[1:])
    return pd.concat(parts, ignore_index=True)


def load_no_travel(path: str | Path | None = None) -> pd.DataFrame:
    """Places with no plausible travel to Korea: one row per documented fact (iso3, fact, source, url).

    Package data (``hallyu_forecast/data/no_travel.csv``); every row must name its fact, its source
    and an http(s) URL, so that no refusal rests on an undocumented claim.
    """
    where = NO_TRAVEL_FILE if path is None else Path(path)
    table = pd.read_csv(where, dtype=str, keep_default_na=False)
    complete = set(NO_TRAVEL_COLUMNS) <= set(table.columns)
    if not complete or table[NO_TRAVEL_COLUMNS].eq("").any(axis=None) or not table["url"].str.match(r"https?://").all():
        raise DataError(f"{where}: every row needs {NO_TRAVEL_COLUMNS} filled in, with an http(s) URL. "
                        f"Got columns {list(table.columns)}.")
    return table[NO_TRAVEL_COLUMNS]


def refuse_no_travel(domain: pd.DataFrame, travel: bool, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """``domain`` with the places of :func:`load_no_travel` marked excluded when ``travel`` is true.

    ``travel``: whether the target is built from arrivals in Korea (a Hallyu measure of another
    kind, e.g. K-pop chart shares, is not refused for this reason).
    """
    if not travel or domain.empty:
        return domain
    facts = (load_no_travel() if table is None else table).groupby("iso3")["fact"].size()
    hit = domain["iso3"].isin(facts.index).to_numpy()
    if not hit.any():
        return domain
    out = domain.copy()
    reason = out["iso3"].map(lambda c: f"no plausible travel to Korea (its residents cannot travel there: "
                             f"{int(facts.get(c, 0))} documented facts with sources in "
                             "hallyu_forecast/data/no_travel.csv)")
    out.loc[hit, "status"] = "excluded"
    out.loc[hit, "reason"] = reason[hit]
    out.loc[hit, "domain"] = "excluded: " + reason[hit]
    return out
