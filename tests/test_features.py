"""Features: declared in TOML, leakage-safe (property tests), with clear spec errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hallyu_forecast as hf
from hallyu_forecast.errors import ConfigError, DataError
from hallyu_forecast.features import build_features, default_specs_dir, load_feature_specs

PANEL = hf.load_panel()
SPECS = load_feature_specs()
NUMERIC = [c for c in PANEL.columns if c not in ("iso3", "year")]
COUNTRIES = sorted(PANEL["iso3"].unique())
KEYS = ["iso3", "origin", "horizon"]


def _at_origin(fm, origin):
    frame = fm.frame[fm.frame["origin"] == origin].drop(columns=["y"])
    return frame.sort_values(KEYS).reset_index(drop=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    origin=st.integers(2008, 2021),
    column=st.sampled_from(NUMERIC),
    country=st.sampled_from(COUNTRIES + ["ALL"]),
    value=st.one_of(st.floats(-1e6, 1e9, allow_nan=False), st.just(np.nan), st.just(0.0)),
)
def test_future_panel_values_never_change_features_at_origin(origin, column, country, value):
    """Changing any panel value for years > t never changes the features (or y_origin) at origin t."""
    before = _at_origin(build_features(PANEL, SPECS, origins=[origin]), origin)
    changed = PANEL.copy()
    rows = changed["year"] > origin
    if country != "ALL":
        rows &= changed["iso3"] == country
    changed.loc[rows, column] = value
    after = _at_origin(build_features(changed, SPECS, origins=[origin]), origin)
    pd.testing.assert_frame_equal(before, after)


def test_future_targets_change_only_y():
    origin = 2016
    changed = PANEL.copy()
    changed.loc[changed["year"] > origin, "arrivals_0_30"] *= 3
    a = build_features(PANEL, SPECS, origins=[origin])
    b = build_features(changed, SPECS, origins=[origin])
    pd.testing.assert_frame_equal(_at_origin(a, origin), _at_origin(b, origin))
    assert not np.allclose(a.frame["y"].dropna(), b.frame["y"].dropna())


def test_held_out_targets_never_change_training_features():
    have = PANEL.loc[PANEL["arrivals_0_30"].notna(), "iso3"].unique()
    held_out = set(have[::4])
    train = sorted(set(have) - held_out)
    changed = PANEL.copy()
    changed.loc[changed["iso3"].isin(held_out), "arrivals_0_30"] *= 5
    a = build_features(PANEL, SPECS, origins=range(2012, 2020), countries=train, reference_countries=train)
    b = build_features(changed, SPECS, origins=range(2012, 2020), countries=train, reference_countries=train)
    pd.testing.assert_frame_equal(a.frame, b.frame)


def test_feature_groups_and_roles():
    fm = build_features(PANEL, SPECS, origins=[2018], horizons=[1])
    table = fm.feature_table()
    assert set(table["role"]) == {"government_support", "local_conditions", "regime", "history"}
    assert set(table["group"]) == {"economic", "political", "diplomatic", "cultural_policy", "digital",
                                   "geography_culture", "regime", "target_history", "monthly"}
    assert (table["why"].str.len() > 10).all()
    assert not fm.frame.duplicated(KEYS).any()


def test_default_target_is_log_youth_arrivals_per_100k():
    fm = build_features(PANEL, SPECS, origins=[2018], horizons=[1], countries=["JPN"])
    row = PANEL[(PANEL["iso3"] == "JPN") & (PANEL["year"].isin([2018, 2019]))].set_index("year")
    expected = np.log(row["arrivals_0_30"] / row["population"] * 1e5)
    assert fm.frame["y_origin"].iloc[0] == pytest.approx(expected[2018])
    assert fm.frame["y"].iloc[0] == pytest.approx(expected[2019])


def test_unknown_country_and_bad_horizon():
    with pytest.raises(ConfigError, match=r"Unknown country code\(s\) \['XXX'\]"):
        build_features(PANEL, SPECS, countries=["XXX"])
    with pytest.raises(ConfigError, match=r"`horizons` must be integers greater than 0. Got \[0\]."):
        build_features(PANEL, SPECS, horizons=[0])
    with pytest.raises(ConfigError, match=r"`origins` must be years within the panel \(1995-\d{4}\). Got \[1990\]."):
        build_features(PANEL, SPECS, origins=[1990])


# ------------------------------------------------------------------------------ spec errors
@pytest.fixture()
def spec_dir(tmp_path):
    folder = tmp_path / "features"
    shutil.copytree(default_specs_dir(), folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unknown_column_names_file_and_line(spec_dir):
    _edit(spec_dir / "economic.toml", '"gdp_pc_ppp_2021"', '"gdp_per_head"')
    with pytest.raises(ConfigError, match=r"economic.toml:\d+: feature `log_gdp_pc_ppp` names unknown panel column `gdp_per_head`"):
        load_feature_specs(spec_dir, PANEL.columns)


def test_unknown_transform(spec_dir):
    _edit(spec_dir / "digital.toml", 'transform = "level"', 'transform = "sqrt"')
    with pytest.raises(ConfigError, match=r"digital.toml:\d+: feature `internet_users` has unknown transform `sqrt`"):
        load_feature_specs(spec_dir, PANEL.columns)


def test_feature_in_two_groups(spec_dir):
    with open(spec_dir / "political.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[[feature]]\nname = "internet_users"\ncolumns = ["internet_users_pct"]\ntransform = "level"\n'
                 'role = "local_conditions"\nwhy = "Declared twice on purpose."\n')
    with pytest.raises(ConfigError, match=r"political.toml:\d+: feature `internet_users` is already declared in group `digital`"):
        load_feature_specs(spec_dir, PANEL.columns)


def test_role_outside_allowed_set(spec_dir):
    _edit(spec_dir / "diplomatic.toml", 'role = "government_support"', 'role = "soft_power"')
    with pytest.raises(ConfigError, match=r"has role `soft_power`; role must be one of government_support, local_conditions, regime, history"):
        load_feature_specs(spec_dir, PANEL.columns)


def test_negative_lag_rejected(spec_dir):
    _edit(spec_dir / "economic.toml", 'transform = "log"', 'transform = "log"\nlag = -1')
    with pytest.raises(ConfigError, match=r"`lag` and `delay` must be >= 0"):
        load_feature_specs(spec_dir, PANEL.columns)


def test_adding_a_feature_is_one_edit(spec_dir):
    with open(spec_dir / "economic.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[[feature]]\nname = "log_gni_pc"\ncolumns = ["gni_pc_usd"]\ntransform = "log"\n'
                 'role = "local_conditions"\nwhy = "Income measured by GNI (Atlas method)."\n')
    fm = build_features(PANEL, load_feature_specs(spec_dir, PANEL.columns), origins=[2018], horizons=[1])
    assert fm.groups["log_gni_pc"] == "economic"
    assert fm.frame["log_gni_pc"].notna().sum() > 100


# --------------------------------------------------------------------------- user targets
def _user_target(spec_dir: Path, csv_text: str) -> None:
    (spec_dir / "fans.csv").write_text(csv_text, encoding="utf-8")
    with open(spec_dir / "targets.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[target.fans]\ndescription = "synthetic fan-club members"\nfile = "fans.csv"\ntransform = "log"\n')


def test_bring_your_own_target(spec_dir):
    rows = "\n".join(f"{c},{y},{100 + y - 2010 + i}" for i, c in enumerate(["JPN", "USA", "FRA"]) for y in range(2010, 2020))
    _user_target(spec_dir, "iso3,year,value\n" + rows + "\n")
    fm = build_features(PANEL, load_feature_specs(spec_dir, PANEL.columns), target="fans", origins=[2015], horizons=[1])
    jpn = fm.frame.set_index("iso3").loc["JPN"]
    assert jpn["y"] == pytest.approx(np.log(106))
    assert jpn["target_last"] == pytest.approx(np.log(105))


def test_user_target_logit_range(spec_dir):
    (spec_dir / "share.csv").write_text("iso3,year,value\nJPN,2015,0.2\nFRA,2015,1.0\n", encoding="utf-8")
    with open(spec_dir / "targets.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[target.share]\ndescription = "synthetic share"\nfile = "share.csv"\ntransform = "logit"\n')
    with pytest.raises(DataError, match=r"share.csv: `value` outside \(0, 1\), which the target's transform `logit` "
                                        r"cannot take at lines \[3\]"):
        build_features(PANEL, load_feature_specs(spec_dir, PANEL.columns), target="share", origins=[2015])


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("iso3,year,value\nJPN,2015,1\nXYZ,2015,2\n", r"fans.csv: unknown country code\(s\) 'XYZ' \(line 3\)"),
        ("iso3,year,value\nJPN,2015,1\nJPN,2015,2\n", r"fans.csv: duplicate \(iso3, year\) rows at lines \[2, 3\]"),
        ("iso3,year,value\nJPN,2015,many\n", r"fans.csv: non-numeric `value` at lines \[2\]"),
        ("iso3,yr,value\nJPN,2015,1\n", r"fans.csv: expected column\(s\) \['year'\] not found"),
        ("iso3,year,value\nJPN,2015,1\nJPN,2031,2\n", r"fans.csv: year after 20\d\d \(the current year\) at lines \[3\]"),
        ("iso3,year,value\nKOR,2015,1\n", r"fans.csv: KOR \(Korea\) is the destination, not an origin country at lines \[2\]"),
        ("iso3,year,value\nJPN,2015,1\nFRA,2015,0\nUSA,2015,-3\n",
         r"fans.csv: `value` <= 0, which the target's transform `log` cannot take at lines \[3, 4\]"),
        ("iso3,year,value\nJPN,2015,1\nFRA,2015,\n", r"fans.csv: blank `value` at lines \[3\]"),
        ("iso3,year,value\nJPN,2015,1\n\nFRA,2015,2\n", r"fans.csv: blank `iso3` at lines \[3\]"),
        ("iso3,year,value\nJPN,2015.5,1\n", r"fans.csv: `year` is not a whole number at lines \[2\]"),
    ],
)
def test_user_target_errors(spec_dir, csv_text, message):
    _user_target(spec_dir, csv_text)
    with pytest.raises(DataError, match=message):
        build_features(PANEL, load_feature_specs(spec_dir, PANEL.columns), target="fans", origins=[2015])
