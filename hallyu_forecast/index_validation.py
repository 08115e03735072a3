"""Validation of the Hallyu index against measures it never sees, and its measurement-invariance check.

The anchors are what people *do and say* about Korean content, measured outside the index:

- ``kf_fans_per_capita``: Korea Foundation Hallyu fan-club members per person (panel column
  ``kf_fan_club_members`` / ``population``; every year a country has, averaged);
- ``kofice2023:<item>``: the KOFICE survey of 2024 (reference year 2023) items in the panel
  (favourability %, monthly hours of Korean content, image improved %, interest increased %); the press
  printed only the extreme countries of each item;
- ``kofice2025:<item>``: the KOFICE survey of 2026 (reference year 2025), per-country statistics volume,
  compiled in ``hallyu_forecast/data/kofice_survey_2026_from_repo.csv`` (see its ``.md``), when present;
- ``image2019`` / ``image2025``: the national image survey's positive image of Korea (general populations);
- ``twitter2020`` / ``twitter2021``: K-pop tweet volume ranks (see :data:`PAGE_ANCHORS` for their limits).
  Fan clubs add the 2022 figures of ``kf_hallyu_fans_2022_from_pages.csv``.

Each row of :func:`validate_index` gives the Spearman rank correlation of the country-level index (published
values) with the anchor, a bootstrap 90% interval (countries resampled, 2,000 draws, fixed seed), n and
the countries, overall and for Asia / elsewhere, and the same for the mobility factor and every single
indicator (where does agreement come from?). A leave-one-indicator-out block refits the model without
each indicator and correlates the index with the indicator left out. Rows with n < 5 carry no interval
("too few"): three points always have a rank correlation, but it means nothing.

The survey respondents are people who already use Korean content (not general populations), so the
survey items measure how much the users like it, not how many people use it; a disagreement with a
per-capita consumption index is therefore possible even when both are right. The table says so.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from hallyu_forecast import index as ix
from hallyu_forecast.panel import load_panel

BOOTSTRAP_DRAWS = 2000
MIN_N = 5
SEED = 20260
KOFICE_2023_ITEMS = {
    "kofice_favorability_pct": "favourability of Korean content (%)",
    "kofice_content_hours": "hours of Korean content per month",
    "kofice_image_improved_pct": "image of Korea improved (%)",
    "kofice_interest_increased_pct": "interest increased vs last year (%)",
}
#: Facts compiled from public pages (hallyu_forecast/data/*_from_pages.csv, one row per fact with its URL):
#: anchor name -> (file, measure, years or None for all, sign, description). Ranks (1 = most) get sign -1 so
#: that a positive correlation always means agreement; ranks are of *volumes*, not per capita (large
#: countries rank high), and only the top countries are printed (a truncated sample): both weaken them.
PAGE_ANCHORS = {
    "image2019:korea_image_positive_pct": (
        "korea_image_surveys_from_pages.csv", "korea_image_positive_pct", (2019,), 1,
        "national image survey 2019 (general population, MCST/KOCIS), positive image of Korea (%)"),
    "image2025:korea_image_positive_pct": (
        "korea_image_surveys_from_pages.csv", "korea_image_positive_pct", (2025,), 1,
        "national image survey 2025, positive image of Korea (%)"),
    "twitter2020:kpop_tweet_volume_rank": (
        "kpop_twitter_ranks_from_pages.csv", "kpop_tweet_volume_rank_jul_jun", (2020,), -1,
        "K-pop tweet volume, country rank Jul 2019-Jun 2020 (top 20 printed; volume, not per capita)"),
    "twitter2021:kpop_tweet_volume_rank": (
        "kpop_twitter_ranks_from_pages.csv", "kpop_tweet_volume_rank_jul_jun", (2021,), -1,
        "K-pop tweet volume, country rank Jul 2020-Jun 2021 (top 20 printed; volume, not per capita)"),
}
KF_FANS_2022_FILE = "kf_hallyu_fans_2022_from_pages.csv"
KOFICE_2025_FILE = "kofice_survey_2026_from_repo.csv"
KOFICE_2025_ITEMS = {
    "overall_favorability_mean": "overall favourability (1-5)",
    "drama_favorability_mean": "drama favourability (1-5)",
    "music_favorability_mean": "music favourability (1-5)",
    "own_interest_change_mean": "own interest change vs last year (1-5)",
    "perception_change_mean": "perception of Korea changed (1-5)",
    "korea_tourism_experience_pct": "visited Korea as a tourist (%)",
}


def kofice_2025(min_confidence: float = 0.5) -> pd.DataFrame:
    """The KOFICE 2026 survey figures (reference year 2025) in package data; empty if not shipped.

    Rows with an OCR confidence below ``min_confidence`` are left out (the extraction is a third party's).
    Columns: iso3, measure, value.
    """
    table = _package_csv(KOFICE_2025_FILE)
    if table is None:
        return pd.DataFrame(columns=["iso3", "measure", "value"])
    table = table[pd.to_numeric(table["ocr_confidence"], errors="coerce") >= min_confidence]
    table = table[table["measure"].isin(KOFICE_2025_ITEMS)]
    # A duplicate country x measure (two OCR readings) is averaged: neither reading is preferred.
    return table.groupby(["iso3", "measure"], as_index=False)["value"].mean()


def _package_csv(name: str) -> pd.DataFrame | None:
    path = resources.files("hallyu_forecast") / "data" / name
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        return pd.read_csv(fh)


def anchors(panel: pd.DataFrame) -> dict[str, tuple[str, pd.Series]]:
    """Every independent measure as ``name -> (description, one value per country)``."""
    out: dict[str, tuple[str, pd.Series]] = {}
    members = panel[["iso3", "year", "kf_fan_club_members"]].dropna()
    extra = _package_csv(KF_FANS_2022_FILE)
    if extra is not None:
        extra = extra[extra["measure"] == "hallyu_fan_club_members"].rename(columns={"value": "kf_fan_club_members"})
        members = pd.concat([members, extra[["iso3", "year", "kf_fan_club_members"]]])
    members = members.merge(panel[["iso3", "year", "population"]], on=["iso3", "year"], how="left")
    fans = (members["kf_fan_club_members"] / members["population"]).groupby(members["iso3"]).mean().dropna()
    out["kf_fans_per_capita"] = ("Korea Foundation fan-club members per person (mean of the years reported)", fans)
    for col, label in KOFICE_2023_ITEMS.items():
        if col in panel:
            latest = panel.dropna(subset=[col]).sort_values("year").groupby("iso3")[col].last()
            out[f"kofice2023:{col.removeprefix('kofice_')}"] = (f"KOFICE 2024 survey, {label}", latest)
    for name, (file, measure, years, sign, label) in PAGE_ANCHORS.items():
        facts = _package_csv(file)
        if facts is None:
            continue
        facts = facts[(facts["measure"] == measure) & (facts["year"].isin(years) if years else True)]
        values = sign * pd.to_numeric(facts["value"], errors="coerce").groupby(facts["iso3"]).mean().dropna()
        if len(values):
            out[name] = (label, values)
    survey = kofice_2025()
    for measure, label in KOFICE_2025_ITEMS.items():
        values = survey[survey["measure"] == measure].set_index("iso3")["value"]
        if len(values):
            out[f"kofice2025:{measure}"] = (f"KOFICE 2026 survey, {label}", values)
    return out


def _spearman_ci(a: pd.Series, b: pd.Series, rng: np.random.Generator) -> dict:
    both = pd.concat([a, b], axis=1, join="inner").dropna()
    n = len(both)
    row = {"n": n, "countries": ", ".join(sorted(both.index)), "spearman": np.nan, "lo90": np.nan, "hi90": np.nan}
    if n < 3:
        return row
    x, y = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
    row["spearman"] = float(spearmanr(x, y)[0])
    if n < MIN_N:
        return row
    draws = rng.integers(0, n, size=(BOOTSTRAP_DRAWS, n))
    rx = pd.DataFrame(x[draws]).rank(axis=1).to_numpy(copy=True)
    ry = pd.DataFrame(y[draws]).rank(axis=1).to_numpy(copy=True)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx ** 2).sum(axis=1) * (ry ** 2).sum(axis=1))
    rho = np.where(den > 0, (rx * ry).sum(axis=1) / np.where(den > 0, den, 1), np.nan)
    row["lo90"], row["hi90"] = (float(v) for v in np.nanquantile(rho, [0.05, 0.95]))
    return row


def _verdict(row: dict) -> str:
    if row["n"] < MIN_N:
        return "too few countries"
    if row["lo90"] > 0:
        return "agrees"
    if row["hi90"] < 0:
        return "DISAGREES"
    return "inconclusive (interval includes 0)" if row["spearman"] > 0 else "no agreement (negative, interval includes 0)"


def validate_index(panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """The validation table (see the module docstring): one row per measure x anchor x region.

    Columns: measure (``hallyu_index``, ``mobility_factor``, ``indicator:<name>``, ``leave_out:<name>``),
    anchor, anchor_description, region (all / Asia / elsewhere), n, spearman, lo90, hi90, verdict,
    countries.
    """
    panel = load_panel() if panel is None else panel
    rng = np.random.default_rng(SEED)
    country = ix.country_index(panel).set_index("iso3")
    fitted, values, _ = ix.fit(panel)
    asia = panel.groupby("iso3")["continent_id"].first() == ix.ASIA_CONTINENT_ID
    means = values.groupby("iso3")[list(ix.INDICATORS)].mean()
    measures = {"hallyu_index": country["hallyu_index"].where(country["hallyu_index_published"]).dropna(),
                "mobility_factor": country["mobility_index"]}
    for name in ix.INDICATORS:
        measures[f"indicator:{name}"] = means[name].dropna()
    rows = []
    for anchor, (label, target) in anchors(panel).items():
        for measure, series in measures.items():
            for region, keep in (("all", None), ("Asia", True), ("elsewhere", False)):
                t = target if keep is None else target[target.index.map(asia).fillna(False) == keep]
                row = _spearman_ci(series, t, rng)
                if region != "all" and row["n"] < 3:
                    continue
                rows.append({"measure": measure, "anchor": anchor, "anchor_description": label, "region": region,
                             **row})
    for name in ix.INDICATORS:
        try:
            left = ix.country_index(panel, exclude=(name,)).set_index("iso3")["hallyu_index"]
        except Exception as exc:  # noqa: BLE001 - a content indicator cannot be left out alone; say why
            rows.append({"measure": f"leave_out:{name}", "anchor": name, "anchor_description": str(exc),
                         "region": "all", "n": 0, "countries": "", "spearman": np.nan, "lo90": np.nan,
                         "hi90": np.nan})
            continue
        rows.append({"measure": f"leave_out:{name}", "anchor": name,
                     "anchor_description": f"index refitted without {name} vs {name} (country means)",
                     "region": "all", **_spearman_ci(left, means[name], rng)})
    table = pd.DataFrame(rows)
    table["verdict"] = [_verdict(r) for r in table.to_dict("records")]
    cols = ["measure", "anchor", "region", "n", "spearman", "lo90", "hi90", "verdict", "anchor_description",
            "countries"]
    return table[cols]


validation = validate_index  # the name the CLI and older code use


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The index rows of the validation table, overall: the one-line answer per anchor."""
    keep = (table["measure"] == "hallyu_index") & (table["region"] == "all")
    return table.loc[keep, ["anchor", "n", "spearman", "lo90", "hi90", "verdict"]].reset_index(drop=True)


def invariance(panel: pd.DataFrame | None = None, draws: int = 500) -> pd.DataFrame:
    """Does each indicator relate to its factor the same way in Asia and elsewhere?

    For each indicator, the country means are regressed on the factor score from the model refitted
    *without* that indicator (so the indicator does not explain itself), an Asia dummy and their product.
    ``intercept_shift`` is the Asia dummy's coefficient (at the average factor score), ``slope_shift`` the
    product's; bootstrap 90% intervals resample countries. An interval that excludes 0 means the
    indicator is not invariant: at the same latent level it reads higher (or lower) in Asia.

    Caveat: the factor score is estimated, so the slope is attenuated and a region with a higher latent
    mean can show a spurious intercept shift; the table is a screen, not a proof.
    """
    panel = load_panel() if panel is None else panel
    rng = np.random.default_rng(SEED)
    values = ix.indicators(panel)
    means = values.groupby("iso3")[list(ix.INDICATORS)].mean()
    asia = (panel.groupby("iso3")["continent_id"].first() == ix.ASIA_CONTINENT_ID).astype(float)
    rows = []
    for name in ix.INDICATORS:
        factor = ix.FACTOR_OF[name]
        try:
            other = ix.country_index(panel, exclude=(name,)).set_index("iso3")
        except Exception:  # noqa: BLE001 - a content factor needs a content indicator left
            rows.append({"indicator": name, "factor": factor, "n": 0, "verdict": "not testable (only content "
                         "indicator of its factor once left out)"})
            continue
        score = other["factor_mean"] if factor == "content" else other["mobility_mean"]
        d = pd.concat([means[name], score.rename("z"), asia.rename("asia")], axis=1, join="inner").dropna()
        y = d[name].to_numpy()
        zc = d["z"].to_numpy() - d["z"].mean()
        X = np.column_stack([np.ones(len(d)), zc, d["asia"], zc * d["asia"]])
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        boot = []
        for _ in range(draws):
            i = rng.integers(0, len(d), len(d))
            if X[i, 2].min() == X[i, 2].max():
                continue
            boot.append(np.linalg.lstsq(X[i], y[i], rcond=None)[0])
        b = np.array(boot)
        lo, hi = np.quantile(b, 0.05, axis=0), np.quantile(b, 0.95, axis=0)
        fails = [lab for lab, k in (("intercept", 2), ("slope", 3)) if lo[k] > 0 or hi[k] < 0]
        rows.append({"indicator": name, "factor": factor, "n": len(d), "n_asia": int(d["asia"].sum()),
                     "intercept_shift": beta[2], "intercept_lo90": lo[2], "intercept_hi90": hi[2],
                     "slope_shift": beta[3], "slope_lo90": lo[3], "slope_hi90": hi[3],
                     "verdict": "invariant" if not fails else f"not invariant ({' and '.join(fails)} differ in Asia)"})
    return pd.DataFrame(rows)

