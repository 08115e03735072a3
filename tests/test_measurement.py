"""The measurement model behind the Hallyu index (hallyu_forecast.measurement), on synthetic data made here.

Tolerances are statistical (sampling error of a fit on 1,500 synthetic rows), far above any
cross-machine float difference.
"""

from __future__ import annotations

import numpy as np
import pytest

from hallyu_forecast.errors import ConfigError, DataError
from hallyu_forecast.measurement import FactorModel, log_likelihood

LOADINGS = np.array([[0.9, 0.0], [0.7, 0.0], [0.6, 0.0], [0.0, 0.8], [0.0, 0.6], [0.0, 0.5]])
PHI = np.array([[1.0, 0.4], [0.4, 1.0]])
NOISE = np.array([0.2, 0.3, 0.25, 0.25, 0.2, 0.3])


def _synthetic(n: int = 1500, seed: int = 7, missing: float = 0.3, sampling: bool = False):
    rng = np.random.default_rng(seed)
    f = rng.multivariate_normal([0, 0], PHI, size=n)
    s = rng.uniform(0.0, 0.5, size=(n, 6)) if sampling else np.zeros((n, 6))
    x = f @ LOADINGS.T + rng.normal(size=(n, 6)) * np.sqrt(NOISE + s)
    x[rng.random(x.shape) < missing] = np.nan
    return x, s, f


def test_recovers_known_loadings_correlation_and_latent_values():
    x, s, f = _synthetic(sampling=True)
    model = FactorModel(mask=LOADINGS != 0).fit(x, s)
    np.testing.assert_allclose(model.loadings_, LOADINGS, atol=0.08)
    assert model.factor_corr_[0, 1] == pytest.approx(0.4, abs=0.08)
    np.testing.assert_allclose(model.noise_, NOISE, atol=0.1)
    mean, cov = model.posterior(x, s)
    for k in range(2):
        assert np.corrcoef(mean[:, k], f[:, k])[0, 1] > 0.7
        sd = np.sqrt(cov[:, k, k])
        covered = np.abs(f[:, k] - mean[:, k]) <= 1.2816 * sd
        assert 0.75 <= covered.mean() <= 0.85  # the 80% band covers ~80% of the true values


def test_fit_is_at_least_as_likely_as_the_truth():
    x, s, _ = _synthetic(n=800, seed=3)
    model = FactorModel(mask=LOADINGS != 0).fit(x)
    assert model.log_likelihood_ >= log_likelihood(x, s, LOADINGS, NOISE, PHI) - 1e-6


def test_a_pure_noise_indicator_gets_a_near_zero_loading():
    x, _, _ = _synthetic(n=1500, seed=11, missing=0.1)
    rng = np.random.default_rng(12)
    noise_column = rng.normal(size=(len(x), 1))
    mask = np.vstack([LOADINGS != 0, [[True, False]]])
    model = FactorModel(mask=mask).fit(np.hstack([x, noise_column]))
    assert abs(model.loadings_[6, 0]) < 0.08
    assert model.noise_[6] == pytest.approx(1.0, abs=0.12)


def test_rows_without_indicators_get_the_prior_and_noisier_rows_wider_bands():
    x, _, _ = _synthetic(n=600, seed=5)
    model = FactorModel(mask=LOADINGS != 0).fit(x)
    probe = np.array([[np.nan] * 6, [1.0] + [np.nan] * 5, [1.0] + [np.nan] * 5, [1.0, 1.0, 1.0, np.nan, np.nan, np.nan]])
    known = np.zeros_like(probe)
    known[2, 0] = 2.0  # the same value, observed with a large known sampling variance
    mean, cov = model.posterior(probe, known)
    np.testing.assert_allclose(mean[0], 0.0)
    np.testing.assert_allclose(cov[0], model.factor_corr_)
    assert cov[2, 0, 0] > cov[1, 0, 0] > cov[3, 0, 0]
    assert abs(mean[2, 0]) < abs(mean[1, 0])  # a noisier observation moves the estimate less


def test_the_prior_keeps_an_indicator_that_the_factor_explains_perfectly_off_zero_noise():
    # An indicator measured without error of its own (here: two identical columns) drives maximum likelihood to
    # the noise floor (a Heywood case); under the inverse-gamma prior (a, b) the M-step is a posterior mode, at
    # least 2b / (n + 2a) above zero.
    rng = np.random.default_rng(2)
    f = rng.normal(size=(40, 1))
    x = np.hstack([f, f, 0.6 * f + rng.normal(size=(40, 1)) * 0.6])
    free = FactorModel(mask=np.ones((3, 1), bool)).fit(x)
    held = FactorModel(mask=np.ones((3, 1), bool), noise_prior=(2.0, 0.3)).fit(x)
    assert free.noise_[:2].max() <= 2e-3
    assert held.noise_[:2].min() >= 0.6 / (40 + 4) - 1e-9


@pytest.mark.parametrize(("kwargs", "data", "error", "message"), [
    ({"mask": np.ones((3, 1), bool), "max_iter": 0}, np.zeros((5, 3)), ConfigError,
     r"^`max_iter` must be an integer greater than 0\. Got 0\.$"),
    ({"mask": np.ones(3, bool)}, np.zeros((5, 3)), ConfigError, r"^`mask` must be a 2-D boolean array"),
    ({"mask": np.array([[True], [False]])}, np.zeros((5, 2)), ConfigError, r"^Every indicator needs a free loading"),
    ({"mask": np.ones((3, 1), bool)}, np.zeros((5, 2)), ConfigError, r"^`x` must have 3 columns .* Got 2\.$"),
    ({"mask": np.ones((2, 1), bool)}, np.array([[1.0, np.inf]] * 5), DataError, r"^`x` contains infinite values"),
    ({"mask": np.ones((2, 1), bool)}, np.array([[1.0, np.nan]] * 2 + [[1.0, 2.0]] * 2), DataError,
     r"observed in fewer than 3 rows"),
])
def test_bad_input_gets_one_clear_message(kwargs, data, error, message):
    with pytest.raises(error, match=message):
        FactorModel(**kwargs).fit(data)


def test_negative_known_variances_and_unfitted_scoring_are_refused():
    model = FactorModel(mask=np.ones((2, 1), bool))
    with pytest.raises(ConfigError, match=r"^This FactorModel is not fitted yet"):
        model.posterior(np.zeros((2, 2)))
    with pytest.raises(DataError, match=r"^`noise` \(known error variances\) must be >= 0"):
        model.fit(np.random.default_rng(0).normal(size=(10, 2)), -np.ones((10, 2)))
