"""The Hallyu intensity index: one number per country-year, 0-100, from whatever indicators a country has.

Indicators (each a panel-derived column, transformed to be roughly normal, then standardised over all
observed country-years outside Korea):

====================== ============================================================ ==========
name                   transform                                                    years
====================== ============================================================ ==========
``youth_arrivals``     log(arrivals_0_30 / population x 1e5); 2020-2022 dropped     1995-2019
                       (COVID travel bans, not interest)
``mobile_students``    log(uis_students_to_kor / population x 1e5)                 1998-2019
``language_students``  log(students_language / population x 1e5)                  2022-2023
``kpop_chart``         logit of the K-pop chart share, (k + 0.5) / (n + 1)          2016-2020
``kdrama_top10``       logit of the K-drama top-10 share (lower bound), same        2022
                       smoothing with n = 10 x weeks
====================== ============================================================ ==========

Model: a one-factor measurement model (factor analysis) ``x_j = w_j z + e_j``, ``z ~ N(0, 1)``,
``e_j ~ N(0, psi_j)``, fitted by EM with missing indicators. The indicators rarely co-occur within one
year (Spotify 2016-2020, Netflix 2022, language students 2022-2023, arrivals to 2019), so the loadings are
fitted on the **country cross-section** (each country's mean of each standardised indicator over its
years), where every pair of indicators overlaps; each country-year is then scored with the indicators
observed *that year*: posterior mean ``m = v * sum_j w_j x_j / psi_j`` and variance
``v = 1 / (1 + sum_j w_j^2 / psi_j)`` over the observed ``j``. The index is ``100 * Phi(m)`` (the
percentile of the country-year on the latent Hallyu scale); the 80% band ``100 * Phi(m -+ 1.2816 sqrt(v))``
widens when fewer (or noisier) indicators are observed. ``psi`` is the noise of a country *mean*, so the
band of a single year is somewhat optimistic.

Each country-year records its basis: ``hallyu_index_n`` (number of indicators) and
``hallyu_index_basis`` (bitmask: 1 youth_arrivals, 2 mobile_students, 4 language_students,
8 kpop_chart, 16 kdrama_top10); :func:`hallyu_index` returns the names as text. Korea has no index.

Everything is a pure, deterministic function of the panel, computed inside the panel build.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hallyu_forecast.conventions import COVID_YEARS
from hallyu_forecast.errors import ConfigError, DataError
from hallyu_forecast.preflight import resolve_countries

INDICATORS: tuple[str, ...] = ("youth_arrivals", "mobile_students", "language_students", "kpop_chart", "kdrama_top10")
BITS = {name: 1 << i for i, name in enumerate(INDICATORS)}
Z80 = 1.2815515655446004
INDEX_COLUMNS = ("hallyu_index", "hallyu_index_lo", "hallyu_index_hi", "hallyu_index_n", "hallyu_index_basis")
#: Dictionary rows (name, unit, description, role) of the index columns, added by the panel build.
INDEX_VARIABLES = (
    ("hallyu_index", "index 0-100",
     "Hallyu intensity index: 100 x Phi(posterior mean of a one-factor model) over the indicators observed that "
     "year (youth arrivals, mobile students, language students per capita; K-pop chart share; K-drama top-10 "
     "share); hallyu_forecast.index", "target"),
    ("hallyu_index_lo", "index 0-100", "Lower end of the 80% band of hallyu_index (posterior of the factor)", "context"),
    ("hallyu_index_hi", "index 0-100", "Upper end of the 80% band of hallyu_index (posterior of the factor)", "context"),
    ("hallyu_index_n", "indicators", "Number of indicators hallyu_index rests on for the country-year", "context"),
    ("hallyu_index_basis", "bitmask",
     "Indicators hallyu_index rests on: 1 youth_arrivals, 2 mobile_students, 4 language_students, 8 kpop_chart, "
     "16 kdrama_top10 (sum of bits)", "context"),
)


def _logit_share(k: pd.Series, n: pd.Series) -> pd.Series:
    # (k + 0.5) / (n + 1): zero shares (no Korean entry all year) stay finite and rank below one entry.
    p = (k + 0.5) / (n + 1.0)
    return np.log(p / (1 - p))


def _log_rate(num: pd.Series, pop: pd.Series) -> pd.Series:
    rate = num / pop * 1e5
    return np.log(rate.where(rate > 0))


def indicators(panel: pd.DataFrame) -> pd.DataFrame:
    """Raw (transformed, unstandardised) indicators per country-year; Korea and empty rows dropped."""
    need = ["arrivals_0_30", "population", "uis_students_to_kor", "students_language", "kpop_chart_entries",
            "spotify_chart_entries", "kdrama_top10_share", "netflix_top10_weeks"]
    missing = [c for c in need if c not in panel]
    if missing:
        raise DataError(f"The panel lacks column(s) {missing} needed by the Hallyu index; rebuild it with "
                        "`hallyu-forecast data build`.")
    pop = panel["population"]
    out = pd.DataFrame({"iso3": panel["iso3"], "year": panel["year"]})
    youth = _log_rate(panel["arrivals_0_30"], pop)
    out["youth_arrivals"] = youth.where(~panel["year"].isin(COVID_YEARS))
    out["mobile_students"] = _log_rate(panel["uis_students_to_kor"], pop)
    out["language_students"] = _log_rate(panel["students_language"], pop)
    out["kpop_chart"] = _logit_share(panel["kpop_chart_entries"], panel["spotify_chart_entries"])
    slots = panel["netflix_top10_weeks"] * 10.0
    out["kdrama_top10"] = _logit_share(panel["kdrama_top10_share"] * slots, slots)
    out = out[out["iso3"] != "KOR"]
    return out[out[list(INDICATORS)].notna().any(axis=1)].reset_index(drop=True)


@dataclass(frozen=True)
class FactorModel:
    """A fitted one-factor model on standardised indicators."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    loadings: np.ndarray
    noise: np.ndarray
    n_iter: int

    def standardise(self, frame: pd.DataFrame) -> np.ndarray:
        return (frame[list(self.names)].to_numpy(dtype="float64") - self.mean) / self.scale

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the factor for rows of standardised indicators (NaN = missing)."""
        seen = ~np.isnan(x)
        prec = 1.0 + (seen * (self.loadings ** 2 / self.noise)).sum(axis=1)
        var = 1.0 / prec
        mean = var * np.where(seen, np.nan_to_num(x) * self.loadings / self.noise, 0.0).sum(axis=1)
        return mean, var


def fit_factor(x: np.ndarray, max_iter: int = 500, tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray, int]:
    """EM for ``x_j = w_j z + e_j`` with missing values (NaN); returns loadings, noise variances, iterations.

    The sign is fixed so that the loadings sum to a positive number (higher = more Hallyu).
    """
    seen = ~np.isnan(x)
    if (seen.sum(axis=0) < 3).any():
        raise DataError("Each Hallyu index indicator needs at least 3 countries to fit the factor model.")
    w = np.full(x.shape[1], 0.7)
    psi = np.full(x.shape[1], 0.5)
    x0 = np.nan_to_num(x)
    for it in range(1, max_iter + 1):
        prec = 1.0 + (seen * (w ** 2 / psi)).sum(axis=1)
        var = 1.0 / prec
        m = var * (seen * x0 * w / psi).sum(axis=1)
        ez2 = var + m ** 2
        w_new = (seen * x0 * m[:, None]).sum(axis=0) / (seen * ez2[:, None]).sum(axis=0)
        resid = seen * (x0 ** 2 - 2 * w_new * x0 * m[:, None] + w_new ** 2 * ez2[:, None])
        psi_new = np.maximum(resid.sum(axis=0) / seen.sum(axis=0), 1e-3)  # floor: avoid a Heywood case
        done = np.max(np.abs(w_new - w)) < tol and np.max(np.abs(psi_new - psi)) < tol
        w, psi = w_new, psi_new
        if done:
            break
    if w.sum() < 0:
        w = -w
    return w, psi, it


def fit(panel: pd.DataFrame, exclude: tuple[str, ...] = ()) -> tuple[FactorModel, pd.DataFrame]:
    """Fit the measurement model (optionally without some indicators); returns it and the indicator table."""
    names = tuple(n for n in INDICATORS if n not in exclude)
    raw = indicators(panel)
    raw = raw[raw[list(names)].notna().any(axis=1)].reset_index(drop=True)
    values = raw[list(names)]
    mean = values.mean().to_numpy()
    scale = values.std(ddof=0).to_numpy()
    z = (values - mean) / scale
    by_country = z.groupby(raw["iso3"]).mean()
    w, psi, n_iter = fit_factor(by_country.to_numpy(dtype="float64"))
    return FactorModel(names, mean, scale, w, psi, n_iter), raw


def _scores(model: FactorModel, x: np.ndarray) -> pd.DataFrame:
    from scipy.stats import norm

    m, v = model.posterior(x)
    sd = np.sqrt(v)
    seen = ~np.isnan(x)
    bits = np.array([BITS[n] for n in model.names])
    return pd.DataFrame({
        "hallyu_index": 100 * norm.cdf(m),
        "hallyu_index_lo": 100 * norm.cdf(m - Z80 * sd),
        "hallyu_index_hi": 100 * norm.cdf(m + Z80 * sd),
        "hallyu_index_n": seen.sum(axis=1).astype("float64"),
        "hallyu_index_basis": (seen * bits).sum(axis=1).astype("float64"),
        "factor_mean": m,
        "factor_sd": sd,
    })


def hallyu_index(panel: pd.DataFrame, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """The index per country-year, with its 80% band and the indicators it rests on.

    Parameters
    ----------
    panel : DataFrame
        The country-year panel (``hf.load_panel()``).
    exclude : tuple of str
        Indicators to leave out (leave-one-indicator-out validation).

    Returns
    -------
    DataFrame
        iso3, year, hallyu_index (0-100), hallyu_index_lo / _hi (80% band), hallyu_index_n,
        hallyu_index_basis (bitmask), indicators (names, comma-separated), factor_mean, factor_sd,
        method and assumptions.

    Examples
    --------
    >>> import hallyu_forecast as hf
    >>> from hallyu_forecast.index import hallyu_index
    >>> hallyu_index(hf.load_panel()).query("year == 2019").nlargest(3, "hallyu_index")  # doctest: +SKIP
    """
    model, raw = fit(panel, exclude)
    out = pd.concat([raw[["iso3", "year"]], _scores(model, model.standardise(raw))], axis=1)
    out = out[out["hallyu_index_n"] > 0].reset_index(drop=True)
    out["indicators"] = [", ".join(n for n in model.names if int(b) & BITS[n]) for b in out["hallyu_index_basis"]]
    out["method"] = "one-factor model (EM, missing indicators) on standardised indicators; 100*Phi(posterior mean)"
    out["assumptions"] = ("one common Hallyu factor; loadings fitted on country means; indicators independent given "
                          "the factor; arrivals 2020-2022 excluded (COVID)")
    return out


def loadings(panel: pd.DataFrame) -> pd.DataFrame:
    """The fitted loadings and noise variances of each indicator (standardised scale)."""
    model, raw = fit(panel)
    counts = raw[list(model.names)].notna()
    return pd.DataFrame({
        "indicator": model.names, "loading": model.loadings, "noise_variance": model.noise,
        "country_years": counts.sum().to_numpy(), "countries": counts.groupby(raw["iso3"]).any().sum().to_numpy(),
    })


def add_index(panel: pd.DataFrame) -> pd.DataFrame:
    """Return ``panel`` with the index columns (:data:`INDEX_COLUMNS`) merged on (iso3, year)."""
    scores = hallyu_index(panel)[["iso3", "year", *INDEX_COLUMNS]]
    out = panel.drop(columns=[c for c in INDEX_COLUMNS if c in panel]).merge(scores, on=["iso3", "year"], how="left")
    return out


def country_index(panel: pd.DataFrame, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    """One score per country from its mean indicators over all its years (the fitting cross-section)."""
    model, raw = fit(panel, exclude)
    z = pd.DataFrame(model.standardise(raw), columns=model.names).groupby(raw["iso3"].to_numpy()).mean()
    scores = _scores(model, z.to_numpy(dtype="float64"))
    scores.insert(0, "iso3", z.index)
    return scores


def validation(panel: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlations of the index with external figures and with each left-out indicator.

    Rows: ``kf_fan_club_members_per_capita`` and the KOFICE survey measures (country index vs the
    country's figure, latest year), and ``leave_out:<indicator>`` (index refitted without the indicator
    vs that indicator, over the country-years where it is observed).
    """
    from scipy.stats import spearmanr

    rows = []
    country = country_index(panel).set_index("iso3")["hallyu_index"]
    ext = panel[["iso3", "year", "population"]].copy()
    ext["kf_fan_club_members_per_capita"] = panel["kf_fan_club_members"] / panel["population"]
    for col in ["kofice_favorability_pct", "kofice_content_hours", "kofice_image_improved_pct",
                "kofice_interest_increased_pct"]:
        ext[col] = panel[col]
    for col in ["kf_fan_club_members_per_capita", "kofice_favorability_pct", "kofice_content_hours",
                "kofice_image_improved_pct", "kofice_interest_increased_pct"]:
        latest = ext.dropna(subset=[col]).sort_values("year").groupby("iso3")[col].last()
        both = pd.concat([country, latest], axis=1, join="inner").dropna()
        rho, p = spearmanr(both.iloc[:, 0], both.iloc[:, 1]) if len(both) >= 3 else (np.nan, np.nan)
        rows.append({"comparison": col, "n": len(both), "spearman": rho, "p_value": p,
                     "countries": ", ".join(both.index)})
    raw = indicators(panel)
    for k in INDICATORS:
        idx = hallyu_index(panel, exclude=(k,))
        both = raw[["iso3", "year", k]].merge(idx[["iso3", "year", "hallyu_index"]], on=["iso3", "year"]).dropna()
        rho, p = spearmanr(both[k], both["hallyu_index"]) if len(both) >= 3 else (np.nan, np.nan)
        rows.append({"comparison": f"leave_out:{k}", "n": len(both), "spearman": rho, "p_value": p,
                     "countries": str(both["iso3"].nunique())})
    return pd.DataFrame(rows)


def index_table(panel: pd.DataFrame, year: int | None = None, countries=None) -> pd.DataFrame:
    """The index for one year and/or some countries, ranked (the CLI's ``index`` command).

    Raises
    ------
    ConfigError
        For a year without any index value, or an unknown country.
    """

    table = hallyu_index(panel)
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
    return table.sort_values(["year", "hallyu_index"], ascending=[True, False]).reset_index(drop=True)
