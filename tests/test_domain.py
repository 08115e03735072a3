"""Applicability domain (issue 8): one rule, used by predict() and explain()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast.domain import applicability, check_alone, load_no_travel, refuse_no_travel
from hallyu_forecast.errors import DataError, DomainError

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
    assert out.loc["FAR", "status"] == "extrapolated"
    assert "5 covariates outside the training range" in out.loc["FAR", "reason"]
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


def test_predict_drops_uninhabited_and_refused_and_flags_south_sudan(everything):
    assert not everything["iso3"].isin(UNINHABITED + ["VAT", "PRK"]).any()  # PRK: no plausible travel
    ssd = everything[everything["iso3"] == "SSD"]
    assert len(ssd) == 1 and ssd["domain"].iloc[0].startswith("extrapolated: ")
    history = everything[everything["model"] == "history"]
    assert (history["domain"] == "in").all()
    assert everything.loc[everything["iso3"] == "VNM", "domain"].iloc[0] == "in"


@pytest.mark.parametrize("country, match", [("ATA", "excluded: no population data"),
                                            ("UMI", "excluded: no population data"),
                                            ("SSD", "extrapolated: .* covariates outside the training range"),
                                            ("PRK", r"excluded: no plausible travel to Korea \(its residents cannot "
                                                    r"travel there: 3 documented facts")])
def test_predict_alone_out_of_domain(country, match):
    with pytest.raises(DomainError, match=f"No forecast for {country}: outside the applicability domain .*{match}"):
        hf.predict(country)


def test_predict_flagged_with_others():
    out = hf.predict(["SSD", "JPN"])
    assert out.set_index("iso3")["domain"]["JPN"] == "in"
    assert out.set_index("iso3")["domain"]["SSD"].startswith("extrapolated")


def test_refused_and_excluded_places_are_dropped_from_a_list():
    out = hf.predict(["PRK", "ATA", "JPN"], horizon=[1, 2])
    assert out["iso3"].tolist() == ["JPN", "JPN"]


def test_refusal_is_one_line_in_the_cli(capsys):
    from hallyu_forecast.cli import main as cli_main

    assert cli_main(["predict", "--country", "North Korea"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no plausible travel to Korea" in err[0]


def test_every_no_travel_fact_has_a_source_and_url():
    table = load_no_travel()
    assert list(table.columns) == ["iso3", "fact", "source", "url"]
    assert set(table["iso3"]) == {"PRK"} and len(table) == 3
    assert table["url"].str.match(r"https://").all() and (table["fact"].str.len() > 40).all()


def test_no_travel_table_without_a_url_is_refused(tmp_path):
    bad = tmp_path / "no_travel.csv"
    bad.write_text("iso3,fact,source,url\nXXX,synthetic fact,synthetic source,\n")
    with pytest.raises(DataError, match="every row needs .* with an http\\(s\\) URL"):
        load_no_travel(bad)


def test_refusal_applies_to_travel_targets_only():
    domain = pd.DataFrame({"iso3": ["PRK", "JPN"], "status": ["extrapolated", "in"], "reason": ["x", ""],
                           "domain": ["extrapolated: x", "in"]})
    travel = refuse_no_travel(domain, travel=True).set_index("iso3")
    assert travel.loc["PRK", "status"] == "excluded" and travel.loc["JPN", "domain"] == "in"
    assert travel.loc["PRK", "domain"].startswith("excluded: no plausible travel to Korea")
    pd.testing.assert_frame_equal(refuse_no_travel(domain, travel=False), domain)  # e.g. K-pop chart shares


def test_explain_refuses_north_korea_as_predict_does():
    with pytest.raises(DomainError, match="No explanation for PRK: .*no plausible travel to Korea"):
        hf.explain(countries="PRK", years=2019, n_refits=0)


def test_explain_alone_out_of_domain():
    with pytest.raises(DomainError, match="No explanation for HMD"):
        hf.explain(countries="HMD", years=2019, n_refits=0)
