"""Applicability domain (issue 8): one rule, used by predict() and explain()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast.domain import applicability, check_alone
from hallyu_forecast.errors import DomainError

UNINHABITED = ["ATA", "BVT", "HMD", "UMI"]


def test_rule_on_synthetic_rows():
    rng = np.random.default_rng(0)
    feats = [f"f{i}" for i in range(8)]
    ref = pd.DataFrame(rng.uniform(0, 1, size=(20, 8)), columns=feats)
    ref.insert(0, "iso3", [f"R{i:02d}" for i in range(20)])  # synthetic reference countries
    rows = pd.DataFrame({"iso3": ["INN", "FAR", "GAP", "EMP", "NOP", "OWN"]})
    values = np.full((6, 8), 0.5)
    values[1, :5] = 5.0           # FAR: five covariates far outside the range
    values[2, :3] = np.nan        # GAP: 5 of 8 observed (62%) -> mostly missing
    values[3, :6] = np.nan        # EMP: 2 of 8 observed -> too few
    values[5, :6] = 9.0           # OWN: out of range but its target is observed
    rows[feats] = values
    out = applicability(rows, feats, reference=ref, population_known={"INN", "FAR", "GAP", "EMP", "OWN"},
                        observed_target={"OWN"}).set_index("iso3")
    assert out.loc["INN", "domain"] == "in"
    assert out.loc["FAR", "status"] == "extrapolated" and "5 covariates outside the training range" in out.loc["FAR", "reason"]
    assert out.loc["GAP", "domain"] == "extrapolated: mostly missing covariates (5 of 8 observed)"
    assert out.loc["EMP", "domain"] == "excluded: too few observed covariates (2 of 8)"
    assert out.loc["NOP", "domain"] == "excluded: no population data"
    assert out.loc["OWN", "status"] == "in"
    with pytest.raises(DomainError, match="No forecast for NOP: outside the applicability domain"):
        check_alone(out.reset_index(), ["NOP"])
    check_alone(out.reset_index(), ["NOP", "INN"])  # with an in-domain country: no error
    check_alone(out.reset_index(), None)


@pytest.fixture(scope="module")
def everything():
    return hf.predict()


def test_predict_drops_uninhabited_and_flags_prk(everything):
    assert not everything["iso3"].isin(UNINHABITED + ["VAT"]).any()
    prk = everything[everything["iso3"] == "PRK"]
    assert len(prk) == 1 and prk["domain"].iloc[0].startswith("extrapolated: ")
    history = everything[everything["model"] == "history"]
    assert (history["domain"] == "in").all()
    assert everything.loc[everything["iso3"] == "VNM", "domain"].iloc[0] == "in"


@pytest.mark.parametrize("country, match", [("ATA", "excluded: no population data"),
                                            ("UMI", "excluded: no population data"),
                                            ("PRK", "extrapolated: .* covariates outside the training range")])
def test_predict_alone_out_of_domain(country, match):
    with pytest.raises(DomainError, match=f"No forecast for {country}: outside the applicability domain .*{match}"):
        hf.predict(country)


def test_predict_flagged_with_others():
    out = hf.predict(["PRK", "JPN"])
    assert out.set_index("iso3")["domain"]["JPN"] == "in"
    assert out.set_index("iso3")["domain"]["PRK"].startswith("extrapolated")


def test_explain_alone_out_of_domain():
    with pytest.raises(DomainError, match="No explanation for HMD"):
        hf.explain(countries="HMD", years=2019, n_refits=0)
