"""A confirmatory factor model with missing indicators and known per-observation error variances.

The measurement core of the Hallyu index (:mod:`hallyu_forecast.index`), kept generic so that it can be
tested on synthetic data on its own. Each row ``i`` (a country, or a country-year) has indicators
``x_ij`` (NaN where not observed) on a standardised scale, and

.. math::

    x_{ij} = \\lambda_j^\\top f_i + e_{ij}, \\quad f_i \\sim N(0, \\Phi), \\quad
    e_{ij} \\sim N(0, \\psi_j + s_{ij}),

where ``f_i`` holds ``k`` latent factors with unit variances and correlations ``Phi``, the loading
matrix ``Lambda`` (``p x k``) is zero outside a user-given ``mask`` (a confirmatory structure: which
indicator may measure which factor), ``psi_j`` is the indicator's own noise (what it measures besides
the factors) and ``s_ij`` a *known* sampling variance of the observation (a chart share computed from
few entries is noisier than one from many). The model is fitted by EM (parameter-expanded: the factor
covariance is estimated freely and rescaled to unit variances, which speeds convergence).

Scoring gives, per row, the posterior mean and covariance of ``f_i`` given the observed indicators:
the interval widens with fewer and noisier indicators, and a row with no indicator gets the prior
(``N(0, Phi)``), i.e. no information.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> f = rng.normal(size=(500, 1))
>>> x = f @ np.array([[0.9, 0.7, 0.5]]) + rng.normal(scale=0.5, size=(500, 3))
>>> model = FactorModel(mask=np.ones((3, 1), bool)).fit(x)
>>> np.round(model.loadings_[:, 0], 1)  # doctest: +SKIP
array([0.9, 0.7, 0.5])
"""

from __future__ import annotations

import numpy as np

from hallyu_forecast.errors import ConfigError, DataError

#: Lower bound of an indicator's own noise variance: keeps an indicator that the factor explains
#: almost perfectly in a small sample from taking all the weight (a Heywood case).
MIN_NOISE = 1e-3


def _check_matrix(x: np.ndarray, name: str, p: int | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype="float64")
    if arr.ndim != 2:
        raise ConfigError(f"`{name}` must be a 2-D array (rows x indicators). Got {arr.ndim} dimension(s).")
    if p is not None and arr.shape[1] != p:
        raise ConfigError(f"`{name}` must have {p} columns (one per indicator of the mask). Got {arr.shape[1]}.")
    if np.isinf(arr).any():
        raise DataError(f"`{name}` contains infinite values; use NaN for a missing indicator.")
    return arr


class FactorModel:
    """Confirmatory factor model fitted by EM, with missing values and known error variances.

    Parameters
    ----------
    mask : array of bool, shape (p, k)
        ``mask[j, f]`` is True where indicator ``j`` may load on factor ``f``. Every indicator needs at
        least one free loading and every factor at least one indicator.
    max_iter : int
        EM iterations at most.
    tol : float
        Stop when no loading, noise variance or factor correlation moves by more than ``tol``.
    min_rows : int
        Each indicator must be observed in at least this many rows.
    noise_prior : tuple of float
        ``(a, b)`` of an inverse-gamma prior on each ``psi_j`` (``(0, 0)``: none, maximum likelihood).
        With few rows and two or three indicators per factor, maximum likelihood often drives one
        ``psi_j`` to zero (a Heywood case): that indicator then *defines* the factor and every band
        that rests on it is spuriously narrow. A weak prior (the index uses ``(2, 0.3)``, mode 0.1 on
        the standardised scale) keeps it away from zero; the M-step becomes the posterior mode.

    Attributes
    ----------
    loadings_ : ndarray (p, k)
        Loadings on the standardised scale (zero outside the mask). Signs are fixed so that each factor's
        loadings sum to a positive number.
    noise_ : ndarray (p,)
        Each indicator's own noise variance ``psi_j`` (excluding the known sampling variance).
    factor_corr_ : ndarray (k, k)
        Correlations of the factors.
    n_iter_ : int
        EM iterations run.
    log_likelihood_ : float
        Log-likelihood of the observed values at the solution.
    """

    def __init__(self, mask, max_iter: int = 2000, tol: float = 1e-7, min_rows: int = 3,
                 noise_prior: tuple[float, float] = (0.0, 0.0)) -> None:
        self.mask = mask
        self.max_iter = max_iter
        self.tol = tol
        self.min_rows = min_rows
        self.noise_prior = noise_prior

    def _validate(self, x, noise) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mask = np.asarray(self.mask, dtype=bool)
        if mask.ndim != 2 or mask.shape[0] < 1 or mask.shape[1] < 1:
            raise ConfigError(f"`mask` must be a 2-D boolean array (indicators x factors). Got shape {mask.shape}.")
        if not mask.any(axis=1).all():
            raise ConfigError(f"Every indicator needs a free loading in `mask`; rows {np.flatnonzero(~mask.any(axis=1)).tolist()} "
                              "have none.")
        if not mask.any(axis=0).all():
            raise ConfigError("Every factor needs at least one indicator in `mask`.")
        if not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise ConfigError(f"`max_iter` must be an integer greater than 0. Got {self.max_iter!r}.")
        a, b = self.noise_prior
        if a < 0 or b < 0:
            raise ConfigError(f"`noise_prior` must be two numbers >= 0 (a, b). Got {self.noise_prior!r}.")
        p = mask.shape[0]
        x = _check_matrix(x, "x", p)
        s = np.zeros_like(x) if noise is None else _check_matrix(noise, "noise", p)
        if s.shape != x.shape:
            raise ConfigError(f"`noise` must have the shape of `x` {x.shape}. Got {s.shape}.")
        s = np.where(np.isnan(s), 0.0, s)
        if (s < 0).any():
            raise DataError("`noise` (known error variances) must be >= 0.")
        return mask, x, s

    def fit(self, x, noise=None) -> "FactorModel":
        """Fit the model to ``x`` (rows x indicators, NaN = missing); ``noise`` are known error variances.

        Returns
        -------
        self
        """
        mask, x, s = self._validate(x, noise)
        seen = ~np.isnan(x)
        counts = seen.sum(axis=0)
        if (counts < self.min_rows).any():
            few = np.flatnonzero(counts < self.min_rows).tolist()
            raise DataError(f"Indicator column(s) {few} are observed in fewer than {self.min_rows} rows; "
                            "the factor model cannot estimate their loadings.")
        x0 = np.where(seen, x, 0.0)
        prior_a, prior_b = self.noise_prior
        p, k = mask.shape
        lam = np.where(mask, 0.6, 0.0)
        psi = np.full(p, 0.5)
        phi = np.eye(k)
        for it in range(1, self.max_iter + 1):
            m, cov = _posterior(x0, seen, s, lam, psi, phi)
            eff = cov + m[:, :, None] * m[:, None, :]          # E[f f'] per row
            lam_new = np.zeros_like(lam)
            psi_new = np.empty(p)
            for j in range(p):
                rows = seen[:, j]
                free = mask[j]
                w = 1.0 / (psi[j] + s[rows, j])
                a = (w[:, None, None] * eff[rows][:, free][:, :, free]).sum(axis=0)
                b = (w[:, None] * x0[rows, j][:, None] * m[rows][:, free]).sum(axis=0)
                lam_new[j, free] = np.linalg.solve(a, b)
                l = lam_new[j]
                resid = (x0[rows, j] ** 2 - 2 * x0[rows, j] * (m[rows] @ l)
                         + np.einsum("a,nab,b->n", l, eff[rows], l))
                # The known sampling variance is part of the residual; what is left is the indicator's own
                # (posterior mode under the inverse-gamma prior; plain mean without one).
                own = float(np.sum(resid - s[rows, j]))
                psi_new[j] = max((own + 2 * prior_b) / (rows.sum() + 2 * (prior_a + 1) - 2), MIN_NOISE)
            sf = eff.mean(axis=0)
            sd = np.sqrt(np.diag(sf))
            lam_new = lam_new * sd[None, :]
            phi_new = sf / np.outer(sd, sd)
            delta = max(np.abs(lam_new - lam).max(), np.abs(psi_new - psi).max(), np.abs(phi_new - phi).max())
            lam, psi, phi = lam_new, psi_new, phi_new
            if delta < self.tol:
                break
        signs = np.where(lam.sum(axis=0) < 0, -1.0, 1.0)
        self.loadings_ = lam * signs[None, :]
        self.factor_corr_ = phi * np.outer(signs, signs)
        self.noise_ = psi
        self.n_iter_ = it
        self.log_likelihood_ = log_likelihood(x, s, self.loadings_, psi, self.factor_corr_)
        return self

    def posterior(self, x, noise=None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean (n x k) and covariance (n x k x k) of the factors for rows of indicators.

        Rows without any observed indicator get the prior: mean 0 and covariance ``factor_corr_``.
        """
        if not hasattr(self, "loadings_"):
            raise ConfigError("This FactorModel is not fitted yet: call `fit` first.")
        mask, x, s = self._validate(x, noise)
        seen = ~np.isnan(x)
        return _posterior(np.where(seen, x, 0.0), seen, s, self.loadings_, self.noise_, self.factor_corr_)


def _posterior(x0, seen, s, lam, psi, phi) -> tuple[np.ndarray, np.ndarray]:
    # Precision form: P = (Phi^-1 + L' D^-1 L)^-1, m = P L' D^-1 x, with D the observed rows' noise.
    w = np.where(seen, 1.0 / (psi[None, :] + s), 0.0)            # n x p (0 where missing)
    prec = np.linalg.inv(phi)[None] + np.einsum("ja,nj,jb->nab", lam, w, lam)
    cov = np.linalg.inv(prec)
    m = np.einsum("nab,jb,nj->na", cov, lam, w * x0)
    return m, cov


def log_likelihood(x, s, lam, psi, phi) -> float:
    """Marginal log-likelihood of the observed entries of ``x`` (NaN = missing) under the model."""
    total = 0.0
    seen = ~np.isnan(x)
    for i in range(x.shape[0]):
        o = seen[i]
        if not o.any():
            continue
        lo = lam[o]
        c = lo @ phi @ lo.T + np.diag(psi[o] + s[i, o])
        sign, logdet = np.linalg.slogdet(c)
        xi = x[i, o]
        total += -0.5 * (o.sum() * np.log(2 * np.pi) + logdet + xi @ np.linalg.solve(c, xi))
    return float(total)
