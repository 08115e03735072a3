"""The fast placebo statistic equals the obvious cell-by-cell computation (synthetic panels, test only)."""

import numpy as np
import pytest

from hallyu_forecast.causal.event_study import _overall_only, _overall_only_reference


def _synthetic_panel(seed: int, n: int = 40, T: int = 18, missing: float = 0.15):
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2000 + T)
    Y = rng.normal(size=(n, T)).cumsum(axis=1)
    Y[rng.random((n, T)) < missing] = np.nan
    onsets = rng.choice(np.r_[np.zeros(6), years[2:-2]], size=n)
    return Y, onsets.astype(float), years


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("control", ["notyet", "never"])
def test_fast_placebo_statistic_matches_the_reference(seed, control):
    Y, G, years = _synthetic_panel(seed)
    exclude = {2010, 2011} if seed % 2 else set()
    rng = np.random.default_rng(100 + seed)
    for _ in range(5):
        Gp = rng.permutation(G)
        for min_treated in (1, 3, 8):
            fast = _overall_only(Y, Gp, years, control, exclude, 6, min_treated)
            slow = _overall_only_reference(Y, Gp, years, control, exclude, 6, min_treated)
            if np.isnan(slow):
                assert np.isnan(fast)
            else:
                # the same means summed in another order: equal to floating-point rounding
                assert fast == pytest.approx(slow, rel=1e-10, abs=1e-12)


def test_no_estimable_cell_gives_nan():
    Y, G, years = _synthetic_panel(0)
    assert np.isnan(_overall_only(Y, np.zeros_like(G), years, "notyet", set(), 6, 3))
