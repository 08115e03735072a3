"""The Hallyu intensity index: a measurement model of Korean-content consumption, with its evidence.

Indicators (panel-derived, each normalised to its audience, then standardised over all observed
country-years outside Korea); each observation also carries its *sampling* variance:

====================== ======== ======================================================= ===========================
name                   factor   transform (audience)                                    sampling variance
====================== ======== ======================================================= ===========================
``kpop_chart``         content  logit of the Korean-artist share of a market's Spotify  1/(k+0.5) + 1/(n-k+0.5)
                                weekly chart entries, (k + 0.5) / (n + 1); 2016-2020
``kdrama_top10``       content  logit of the K-drama share of the Netflix Top-10 slots  same, n = 10 x weeks
                                (lower bound), same smoothing; 2021-07..2022-11
``youth_arrivals``     mobility log(arrivals aged 0-30 per 100k people); 1995-2019     1 / arrivals (Poisson)
                                (2020-2022 dropped: COVID travel bans, not interest)
``mobile_students``    mobility log(tertiary students in Korea per 100k people),        1 / students
                                UNESCO; 1998-2019
``language_students``  mobility log(Korean-language students in Korea per 100k); 2022- 1 / students
====================== ======== ======================================================= ===========================

**Model** (:class:`hallyu_forecast.measurement.FactorModel`): two correlated factors, confirmatory. The
*content* factor is what the index reports: consumption of Korean music and drama where people live.
The *mobility* factor is Korea-bound travel and study (counted at Korea's border and universities;
it also moves with distance, visas, fares and scholarships). The two-factor structure was chosen over one
common factor and over a language-students cross-loading by BIC on the indicators alone (1249.8 vs
1284.9 and 1255.0 on the shipped panel, :func:`structures`), never by agreement with the validation anchors. Because the
factors correlate (about 0.5), a country seen only through mobility indicators gets a content estimate
shrunk towards the middle with a wide interval: the data say how much travel tells about consumption.

The indicators rarely co-occur within one year (Spotify 2016-2020, Netflix 2022, language students
2022-2023, arrivals to 2019), so loadings are fitted on the **country cross-section** (each country's
mean of each standardised indicator over its years, with the sampling variance of that mean), where
every pair of indicators overlaps. Two scores follow:

- **country level** (:func:`country_index`): from the country means: the index's main answer;
- **country-year** (:func:`hallyu_index`): from the indicators observed that year, each with the
  indicator's own noise plus its sampling variance, so a single year's band is wider.

The index is ``100 * Phi(m)`` (the percentile of the country on the latent content scale), with the 80%
band ``100 * Phi(m -+ 1.2816 s)`` from the posterior mean ``m`` and standard deviation ``s``.

**Publication rule** (stated before looking at the anchors): a value is published only if its posterior
sd is at most :data:`MAX_PUBLISHED_SD` (0.5; the indicators removed at least three quarters of the
prior variance) *and* at least one content indicator is observed. Otherwise ``published`` is False and
``evidence`` says "not enough evidence: ..."; the number is kept (for research) but the CLI and the
report print "not enough evidence" instead. A published value resting on one indicator says so
(``evidence`` = "published (one indicator: ...)").

**Invariance** (:func:`invariance`): for each indicator, the country means are regressed on the
factor score from the *other* indicators and an Asia dummy (and their interaction); a bootstrap over
countries gives intervals of the intercept and slope shifts. An indicator whose shift interval excludes
zero is reported as non-invariant; see the README for what was done with each.

Validation (:func:`validation`): the independent measures (Korea Foundation fan-club members per
capita, every KOFICE survey item and wave in the panel or package data) are never used by the model;
the table gives their Spearman rank correlation with the country index, with a bootstrap 90% interval and
n, overall and for Asia / elsewhere, plus each factor and single indicator, and a leave-one-indicator-out
block. Korea has no index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.errors import ConfigError, DataError
from hallyu_forecast.measurement import FactorModel
from hallyu_forecast.panel import load_panel
from hallyu_forecast.preflight import resolve_countries

INDICATORS: tuple[str, ...] = ("youth_arrivals", "mobile_students", "language_students", "kpop_chart", "kdrama_top10")
FACTORS: tuple[str, ...] = ("content", "mobility")
#: Which factor each indicator measures (the confirmatory mask).
FACTOR_OF: dict[str, str] = {"youth_arrivals": "mobility", "mobile_students": "mobility",
                             "language_students": "mobility", "kpop_chart": "content", "kdrama_top10": "content"}
CONTENT_INDICATORS = tuple(n for n in INDICATORS if FACTOR_OF[n] == "content")
BITS = {name: 1 << i for i, name in enumerate(INDICATORS)}
Z80 = 1.2815515655446004
#: Largest posterior sd (latent scale, 1 = the cross-country sd) of a published value.
MAX_PUBLISHED_SD = 0.5
ASIA_CONTINENT_ID = 3
#: Inverse-gamma prior (a, b) on each indicator's own noise (see FactorModel): avoids Heywood cases.
NOISE_PRIOR = (2.0, 0.3)
INDEX_COLUMNS = ("hallyu_index", "hallyu_index_lo", "hallyu_index_hi", "hallyu_index_sd", "hallyu_index_n",
                 "hallyu_index_basis", "hallyu_index_published")
#: Dictionary rows (name, unit, description, role) of the index columns, added by the panel build.
INDEX_VARIABLES = (
    ("hallyu_index", "index 0-100",
     "Hallyu (Korean-content consumption) index: 100 x Phi(posterior mean of the content factor of a two-factor "
     "model) over the indicators observed that year (K-pop chart share, K-drama top-10 share; youth arrivals, "
     "mobile and language students per capita through the mobility factor); published values only "
     "(see hallyu_index_published); hallyu_forecast.index", "target"),
    ("hallyu_index_lo", "index 0-100", "Lower end of the 80% band of hallyu_index (posterior of the factor)", "context"),
    ("hallyu_index_hi", "index 0-100", "Upper end of the 80% band of hallyu_index (posterior of the factor)", "context"),
    ("hallyu_index_sd", "latent sd", "Posterior sd of the content factor (1 = cross-country sd); draws of the index "
     "are 100 x Phi(N(m, sd))", "context"),
    ("hallyu_index_n", "indicators", "Number of indicators hallyu_index rests on for the country-year", "context"),
    ("hallyu_index_basis", "bitmask",
     "Indicators hallyu_index rests on: 1 youth_arrivals, 2 mobile_students, 4 language_students, 8 kpop_chart, "
     "16 kdrama_top10 (sum of bits)", "context"),
    ("hallyu_index_published", "0/1", "1 if the value meets the publication rule (posterior sd <= 0.5 and a content "
     "indicator observed); hallyu_index is empty otherwise", "context"),
)
METHOD = ("two-factor confirmatory model (content: K-pop chart, K-drama top-10; mobility: youth arrivals, mobile "
          "and language students), EM with missing indicators and known sampling variances; 100*Phi(posterior mean)")
ASSUMPTIONS = ("loadings fitted on country means; indicators independent given the factors; sampling errors "
               "binomial/Poisson; arrivals 2020-2022 excluded (COVID); same loadings in every region (see invariance)")


# ----------------------------------------------------------------------------------------------
# indicators


def _logit_share(k: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    # (k + 0.5) / (n + 1): zero shares (no Korean entry all year) stay finite and rank below one entry.
    p = (k + 0.5) / (n + 1.0)
    value = np.log(p / (1 - p))
    var = 1.0 / (k + 0.5) + 1.0 / (n - k + 0.5)     # delta method for the empirical logit
    return value, var.where(value.notna())


def _log_rate(num: pd.Series, pop: pd.Series) -> tuple[pd.Series, pd.Series]:
    rate = num / pop * 1e5
    ok = rate > 0
    return np.log(rate.where(ok)), (1.0 / num).where(ok)


def _need(panel: pd.DataFrame) -> None:
    if not isinstance(panel, pd.DataFrame):
        raise ConfigError(f"`panel` must be a DataFrame (hf.load_panel()). Got {type(panel).__name__}.")
    need = ["iso3", "year", "arrivals_0_30", "population", "uis_students_to_kor", "students_language",
            "kpop_chart_entries", "spotify_chart_entries", "kdrama_top10_share", "netflix_top10_weeks"]
    missing = [c for c in need if c not in panel]
    if missing:
        raise DataError(f"The panel lacks column(s) {missing} needed by the Hallyu index; rebuild it with "
                        "`hallyu-forecast data build`.")


def indicator_table(panel: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transformed (unstandardised) indicators and their sampling variances per country-year.

    Korea and rows without any indicator are dropped. Returns ``(values, variances)``, both with iso3 and
    year and one column per indicator, aligned row by row.
    """
    _need(panel)
    pop = panel["population"]
    vals = pd.DataFrame({"iso3": panel["iso3"], "year": panel["year"]})
    var = vals.copy()
    youth, youth_v = _log_rate(panel["arrivals_0_30"], pop)
    covid = panel["year"].isin(COVID_YEARS)
    vals["youth_arrivals"], var["youth_arrivals"] = youth.where(~covid), youth_v.where(~covid)
    vals["mobile_students"], var["mobile_students"] = _log_rate(panel["uis_students_to_kor"], pop)
    vals["language_students"], var["language_students"] = _log_rate(panel["students_language"], pop)
    vals["kpop_chart"], var["kpop_chart"] = _logit_share(panel["kpop_chart_entries"], panel["spotify_chart_entries"])
    slots = panel["netflix_top10_weeks"] * 10.0
    vals["kdrama_top10"], var["kdrama_top10"] = _logit_share(panel["kdrama_top10_share"] * slots, slots)
    keep = (vals["iso3"] != "KOR") & vals[list(INDICATORS)].notna().any(axis=1)
    return vals[keep].reset_index(drop=True), var[keep].reset_index(drop=True)


def indicators(panel: pd.DataFrame) -> pd.DataFrame:
    """Raw (transformed, unstandardised) indicators per country-year; Korea and empty rows dropped."""
    return indicator_table(panel)[0]


# ----------------------------------------------------------------------------------------------
# the fitted index


@dataclass(frozen=True)
class IndexModel:
    """The fitted measurement model and the standardisation of its indicators."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    model: FactorModel

    def standardise(self, values: pd.DataFrame, variances: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x = (values[list(self.names)].to_numpy(dtype="float64") - self.mean) / self.scale
        s = variances[list(self.names)].to_numpy(dtype="float64") / self.scale ** 2
        return x, s


def _mask(names: tuple[str, ...]) -> np.ndarray:
    return np.array([[FACTOR_OF[n] == f for f in FACTORS] for n in names], dtype=bool)


def _country_means(x: np.ndarray, s: np.ndarray, iso3: np.ndarray) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    xs = pd.DataFrame(x).groupby(iso3)
    mean = xs.mean()
    n = xs.count().to_numpy(dtype="float64")
    # Sampling variance of a mean of independent yearly errors: mean variance / number of years.
    smean = pd.DataFrame(s).groupby(iso3).mean().to_numpy() / np.where(n > 0, n, np.nan)
    return mean.index, mean.to_numpy(), smean


def fit(panel: pd.DataFrame | None = None, exclude: tuple[str, ...] = ()) -> tuple[IndexModel, pd.DataFrame,
                                                                                     pd.DataFrame]:
    """Fit the measurement model on the country cross-section; returns it, the values and the variances."""
    panel = load_panel() if panel is None else panel
    unknown = [e for e in exclude if e not in INDICATORS]
    if unknown:
        raise ConfigError(f"`exclude` must name Hallyu index indicators, one of {list(INDICATORS)}. Got {unknown}.")
    names = tuple(n for n in INDICATORS if n not in exclude)
    if not any(FACTOR_OF[n] == "content" for n in names):
        raise ConfigError("At least one content indicator (kpop_chart, kdrama_top10) must stay in the index.")
    values, variances = indicator_table(panel)
    keep = values[list(names)].notna().any(axis=1)
    values, variances = values[keep].reset_index(drop=True), variances[keep].reset_index(drop=True)
    raw = values[list(names)]
    mean = raw.mean().to_numpy()
    scale = raw.std(ddof=0).to_numpy()
    x = (raw.to_numpy(dtype="float64") - mean) / scale
    s = variances[list(names)].to_numpy(dtype="float64") / scale ** 2
    _, cx, cs = _country_means(x, s, values["iso3"].to_numpy())
    mask = _mask(names)
    factors = [f for f in FACTORS if mask[:, FACTORS.index(f)].any()]
    mask = mask[:, [FACTORS.index(f) for f in factors]]
    model = FactorModel(mask=mask, max_iter=5000, tol=1e-7, noise_prior=NOISE_PRIOR).fit(cx, cs)
    return IndexModel(names, mean, scale, model), values, variances


#: The structures compared by :func:`structures` (indicator -> factors it may load on).
STRUCTURES: dict[str, dict[str, tuple[str, ...]]] = {
    "one common factor": {n: ("content",) for n in INDICATORS},
    "content + mobility (shipped)": {n: (FACTOR_OF[n],) for n in INDICATORS},
    "content + mobility, language students on both": {
        **{n: (FACTOR_OF[n],) for n in INDICATORS}, "language_students": ("content", "mobility")},
}


def structures(panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """Log-likelihood, free parameters and BIC of each candidate structure (:data:`STRUCTURES`).

    The comparison uses the indicators only (never the validation anchors); the lowest BIC was adopted.
    """
    fitted, values, variances = fit(panel)
    x, s = fitted.standardise(values, variances)
    iso3, cx, cs = _country_means(x, s, values["iso3"].to_numpy())
    rows = []
    for name, spec in STRUCTURES.items():
        used = [f for f in FACTORS if any(f in spec[n] for n in fitted.names)]
        mask = np.array([[f in spec[n] for f in used] for n in fitted.names], dtype=bool)
        model = FactorModel(mask=mask, max_iter=5000, tol=1e-7, noise_prior=NOISE_PRIOR).fit(cx, cs)
        k = int(mask.sum()) + len(fitted.names) + len(used) * (len(used) - 1) // 2
        rows.append({"structure": name, "log_likelihood": model.log_likelihood_, "parameters": k,
                     "countries": len(iso3), "bic": -2 * model.log_likelihood_ + k * np.log(len(iso3))})
    out = pd.DataFrame(rows)
    out["adopted"] = out["bic"] == out["bic"].min()
    return out


def _scores(fitted: IndexModel, x: np.ndarray, s: np.ndarray) -> pd.DataFrame:
    m, cov = fitted.model.posterior(x, s)
    sd = np.sqrt(cov[:, :, :].diagonal(axis1=1, axis2=2))
    seen = ~np.isnan(x)
    bits = np.array([BITS[n] for n in fitted.names])
    content = np.array([FACTOR_OF[n] == "content" for n in fitted.names])
    c = 0  # the content factor is always first (FACTORS order) and always present (see fit)
    has_content = (seen & content).any(axis=1)
    published = (sd[:, c] <= MAX_PUBLISHED_SD) & has_content
    out = pd.DataFrame({
        "hallyu_index": 100 * norm.cdf(m[:, c]),
        "hallyu_index_lo": 100 * norm.cdf(m[:, c] - Z80 * sd[:, c]),
        "hallyu_index_hi": 100 * norm.cdf(m[:, c] + Z80 * sd[:, c]),
        "hallyu_index_sd": sd[:, c],
        "hallyu_index_n": seen.sum(axis=1).astype("float64"),
        "hallyu_index_basis": (seen * bits).sum(axis=1).astype("float64"),
        "hallyu_index_published": published,
        "factor_mean": m[:, c],
        "factor_sd": sd[:, c],
    })
    if m.shape[1] > 1:
        out["mobility_index"] = 100 * norm.cdf(m[:, 1])
        out["mobility_mean"] = m[:, 1]
        out["mobility_sd"] = sd[:, 1]
    names = np.array(fitted.names)
    out["indicators"] = [", ".join(names[row]) for row in seen]
    out["evidence"] = [_evidence(p, row, sdv, names, content) for p, row, sdv in zip(published, seen, sd[:, c])]
    return out


def _evidence(published: bool, seen: np.ndarray, sd: float, names: np.ndarray, content: np.ndarray) -> str:
    if published:
        return f"published (one indicator: {names[seen][0]})" if seen.sum() == 1 else "published"
    if not (seen & content).any():
        return "not enough evidence: no content indicator (K-pop chart, K-drama top 10)"
    return f"not enough evidence: posterior sd {sd:.2f} > {MAX_PUBLISHED_SD}"


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    out["method"] = METHOD
    out["assumptions"] = ASSUMPTIONS
    return out


def hallyu_index(panel: pd.DataFrame | None = None, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """The index per country-year, with its 80% band, the indicators it rests on and its evidence flag.

    Parameters
    ----------
    panel : DataFrame, optional
        The country-year panel (default: the embedded one, ``hf.load_panel()``).
    exclude : tuple of str
        Indicators to leave out (leave-one-indicator-out validation); one of :data:`INDICATORS`.

    Returns
    -------
    DataFrame
        iso3, year, hallyu_index (0-100), hallyu_index_lo / _hi (80% band), hallyu_index_sd (latent sd),
        hallyu_index_n, hallyu_index_basis (bitmask), hallyu_index_published (the rule in the module
        docstring), indicators (names), evidence ("published", "published (one indicator: ...)" or "not
        enough evidence: <why>"), factor_mean, factor_sd, mobility_index, mobility_sd, method, assumptions.

    Examples
    --------
    >>> import hallyu_forecast as hf
    >>> table = hf.hallyu_index()
    >>> table.query("year == 2019 and hallyu_index_published").nlargest(3, "hallyu_index")  # doctest: +SKIP
    """
    fitted, values, variances = fit(panel, exclude)
    x, s = fitted.standardise(values, variances)
    out = pd.concat([values[["iso3", "year"]], _scores(fitted, x, s)], axis=1)
    out = out[out["hallyu_index_n"] > 0].reset_index(drop=True)
    return _finish(out)


def country_index(panel: pd.DataFrame | None = None, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """One value per country from its mean indicators over all its years (the fitting cross-section).

    The same columns as :func:`hallyu_index` without ``year``, plus ``years`` (the years covered).
    """
    fitted, values, variances = fit(panel, exclude)
    x, s = fitted.standardise(values, variances)
    iso3, cx, cs = _country_means(x, s, values["iso3"].to_numpy())
    out = _scores(fitted, cx, cs)
    span = values.groupby("iso3")["year"].agg(["min", "max"]).reindex(iso3)
    out.insert(0, "iso3", iso3)
    out.insert(1, "years", [f"{a}-{b}" if a != b else str(a) for a, b in zip(span["min"], span["max"])])
    return _finish(out)


def loadings(panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """The fitted loadings, noise variances and coverage of each indicator (standardised scale)."""
    fitted, values, _ = fit(panel)
    counts = values[list(fitted.names)].notna()
    model = fitted.model
    factors = [f for f in FACTORS if any(FACTOR_OF[n] == f for n in fitted.names)]
    return pd.DataFrame({
        "indicator": fitted.names,
        "factor": [FACTOR_OF[n] for n in fitted.names],
        "loading": [model.loadings_[j, factors.index(FACTOR_OF[n])] for j, n in enumerate(fitted.names)],
        "noise_variance": model.noise_,
        "country_years": counts.sum().to_numpy(),
        "countries": counts.groupby(values["iso3"]).any().sum().to_numpy(),
        "factor_correlation": float(model.factor_corr_[0, 1]) if model.factor_corr_.shape[0] > 1 else np.nan,
    })


def add_index(panel: pd.DataFrame) -> pd.DataFrame:
    """Return ``panel`` with the index columns (:data:`INDEX_COLUMNS`) merged on (iso3, year).

    ``hallyu_index`` holds published values only (the measure the drivers model may learn from); the band,
    sd, basis and flag are kept for every scored row.
    """
    scores = hallyu_index(panel)[["iso3", "year", *INDEX_COLUMNS]].copy()
    scores["hallyu_index"] = scores["hallyu_index"].where(scores["hallyu_index_published"])
    scores["hallyu_index_published"] = scores["hallyu_index_published"].astype("float64")
    out = panel.drop(columns=[c for c in INDEX_COLUMNS if c in panel]).merge(scores, on=["iso3", "year"], how="left")
    return out


def index_table(panel: pd.DataFrame | None = None, year: int | None = None, countries=None,
                level: str = "year", exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """The index for one year and/or some countries, ranked (the CLI's ``index`` command).

    ``level="country"`` gives the country-level index (all years pooled) instead.

    Raises
    ------
    ConfigError
        For a year without any index value, an unknown country, or an unknown ``level``.
    """
    panel = load_panel() if panel is None else panel
    if level not in ("year", "country"):
        raise ConfigError(f"`level` must be one of ['year', 'country']. Got {level!r}.")
    if level == "country":
        if year is not None:
            raise ConfigError("`year` cannot be combined with level='country' (the country level pools all years).")
        table = country_index(panel, exclude)
    else:
        table = hallyu_index(panel, exclude)
    if year is not None:
        years = sorted(int(y) for y in table["year"].unique())
        if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or int(year) not in years:
            gaps = sorted(set(range(years[0], years[-1] + 1)) - set(years))
            gap = f", none in {', '.join(map(str, gaps))}" if gaps else ""
            raise ConfigError(f"`year` must be a year with a Hallyu index ({years[0]}-{years[-1]}{gap}). "
                              f"Got {year!r}.")
        table = table[table["year"] == int(year)]
    if countries:
        codes = resolve_countries(countries, panel["iso3"])
        table = table[table["iso3"].isin(codes)]
    keys = ["hallyu_index_published", "hallyu_index"] if level == "country" else ["year", "hallyu_index_published",
                                                                                  "hallyu_index"]
    return table.sort_values(keys, ascending=[True] * (len(keys) - 2) + [False, False]).reset_index(drop=True)
