"""The panel: rebuilt from raw it equals the shipped default; keys, coverage and targets hold."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast.errors import DataError
from hallyu_forecast.index import INDEX_COLUMNS
from hallyu_forecast.panel import load_countries, load_dictionary, panel_metadata
from hallyu_forecast.panel_build import build_panel
from hallyu_forecast.schema import validate_panel


@pytest.fixture(scope="module")
def rebuilt(raw_dir):
    return build_panel(raw_dir)


@pytest.fixture(scope="module")
def panel():
    return hf.load_panel()


def test_rebuilding_from_raw_reproduces_the_shipped_panel(rebuilt, panel):
    # Floats are compared to 1e-9 relative, not bit for bit: trigonometric results (the haversine
    # great_circle_seoul_km) and iterative fits differ in the last digits between libm builds and
    # CPUs (6.8% of rows on another machine), which is not a change of data.
    # The Hallyu index columns come from an EM fit that stops at a tolerance of 1e-7: another machine may
    # stop one iteration earlier or later, so they are compared to 1e-5 (still far below a change of data).
    index_cols = [c for c in INDEX_COLUMNS if c in panel]
    pd.testing.assert_frame_equal(rebuilt.frame.drop(columns=index_cols), panel.drop(columns=index_cols),
                                  check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(rebuilt.frame[index_cols], panel[index_cols], check_exact=False, rtol=1e-5, atol=1e-5)
    pd.testing.assert_frame_equal(rebuilt.dictionary, load_dictionary(), check_dtype=False)
    pd.testing.assert_frame_equal(rebuilt.countries.fillna(""), load_countries().fillna(""), check_dtype=False)
    shipped = panel_metadata()
    assert json.loads(json.dumps(rebuilt.meta, sort_keys=True)) == shipped


def test_shipped_checksums_match_the_registry(panel):
    from hallyu_forecast.sources import get_source

    for name, info in panel_metadata()["sources"].items():
        assert info["files"] == {f.path: f.sha256 for f in get_source(name).files}, name


def test_keys_are_unique_and_grid_complete(panel):
    assert not panel.duplicated(["iso3", "year"]).any()
    counts = panel.groupby("iso3")["year"].agg(["min", "max", "count"])
    assert (counts["min"] == 1995).all()
    assert (counts["count"] == counts["max"] - 1994).all()


def test_coverage_at_least_180_countries_with_covariates(panel):
    covariates = ["gdp_pc_ppp_2021", "population", "internet_users_pct", "urban_pct"]
    have = panel.dropna(subset=covariates).groupby("iso3").size()
    assert len(have) >= 180


def test_every_kto_country_has_targets_for_every_covered_year(raw_dir, panel):
    from hallyu_forecast.sources import get_source

    kto = get_source("kto_arrivals").load(raw_dir)
    complete = kto[kto["arrivals_months"] == 12]
    merged = complete.merge(panel, on=["iso3", "year"], how="left", suffixes=("_raw", ""))
    assert len(merged) == len(complete)
    assert merged["arrivals_0_30"].notna().all()
    assert merged["population"].notna().all(), merged.loc[merged["population"].isna(), ["iso3", "year"]]
    # countries present in both files are complete for 2010-2022
    both = kto.groupby("iso3")["year"].agg(["min", "max"])
    both = both[(both["min"] == 2010) & (both["max"] == 2022)].index
    assert len(both) >= 35
    grid = panel[panel["iso3"].isin(both) & panel["year"].between(2010, 2022)]
    assert grid["arrivals_0_30"].notna().all()


def test_taiwan_has_population_and_income(panel):
    twn = panel[panel["iso3"] == "TWN"].set_index("year")
    assert twn.loc[2005:2024, "population"].notna().all()
    assert twn.loc[2010, "population"] == 23_224_049
    assert twn.loc[2010:2022, "gdp_pc_ppp_2021"].notna().all()
    # rescaled v31 series, not Gapminder's newest file (whose TWN values drift upward)
    growth = twn.loc[2024, "gdp_pc_ppp_2021"] / twn.loc[2019, "gdp_pc_ppp_2021"]
    assert 1.1 < growth < 1.3


def test_covid_years_are_kept_as_data(panel):
    chn = panel[panel["iso3"] == "CHN"].set_index("year")["arrivals_0_30"]
    assert chn.loc[2021] < 0.05 * chn.loc[2019]


def test_dictionary_documents_every_column(panel):
    dictionary = load_dictionary()
    assert list(dictionary["name"]) == list(panel.columns)
    assert set(dictionary["role"]) <= {"target", "government_support", "local_conditions", "regime", "key", "context"}
    assert (dictionary["unit"].str.len() > 0).all()
    assert (dictionary["description"].str.len() > 0).all()


def test_schema_rejects_duplicate_country_years(panel):
    bad = pd.concat([panel, panel.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match="The panel failed validation"):
        validate_panel(bad, load_dictionary())


def test_schema_rejects_out_of_range_values(panel):
    bad = panel.copy()
    bad.loc[bad.index[0], "polyarchy"] = 1.5
    with pytest.raises(DataError, match=r"polyarchy: less_than_or_equal_to\(1\)"):
        validate_panel(bad, load_dictionary())


def test_korea_is_in_the_panel_for_relative_features_but_has_no_target(panel):
    kor = panel[panel["iso3"] == "KOR"]
    assert len(kor) > 0
    assert kor["arrivals_0_30"].isna().all()
    assert kor["gdp_pc_ppp_2021"].notna().sum() > 20


def test_missing_data_dir_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"Source `countrycode`: missing raw file\(s\)"):
        build_panel(tmp_path, allow_changed_files=True)


def test_changed_raw_file_is_refused_unless_allowed(raw_dir, tmp_path):
    import shutil

    for child in raw_dir.iterdir():
        if child.is_dir():
            (tmp_path / child.name).symlink_to(child)
    (tmp_path / "hofstede").unlink()
    shutil.copytree(raw_dir / "hofstede", tmp_path / "hofstede")
    target = next((tmp_path / "hofstede").glob("*.csv"))
    target.write_bytes(target.read_bytes() + b"\n")
    from hallyu_forecast.errors import ChecksumError

    with pytest.raises(ChecksumError, match="Raw files differ from the registered vintage"):
        build_panel(tmp_path)
    assert np.isfinite(build_panel(tmp_path, allow_changed_files=True).frame["pdi"]).any()
