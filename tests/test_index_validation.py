"""The Hallyu index's evidence rule and its validation against measures it never sees (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast import index as ix
from hallyu_forecast import index_validation as iv
from hallyu_forecast.errors import ConfigError

PANEL = hf.load_panel()


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return hf.hallyu_index()


def test_published_values_meet_the_stated_rule_and_single_indicators_say_so(table):
    pub = table[table["hallyu_index_published"]]
    assert len(pub) > 0
    assert (pub["hallyu_index_sd"] <= ix.MAX_PUBLISHED_SD).all()
    assert pub["indicators"].map(lambda s: any(c in s for c in ix.CONTENT_INDICATORS)).all()
    one = pub[pub["hallyu_index_n"] == 1]
    assert (one["evidence"].str.startswith("published (one indicator: ")).all()
    rest = table[~table["hallyu_index_published"]]
    assert rest["evidence"].str.startswith("not enough evidence: ").all()
    mobility_only = table[~table["indicators"].str.contains("kpop_chart|kdrama_top10")]
    assert not mobility_only["hallyu_index_published"].any()
    assert (table["hallyu_index_lo"] <= table["hallyu_index"]).all()
    assert (table["hallyu_index"] <= table["hallyu_index_hi"]).all()


def test_the_panel_column_holds_published_values_only(table):
    merged = PANEL.merge(table[["iso3", "year", "hallyu_index_published"]], on=["iso3", "year"], how="left",
                         suffixes=("", "_now"))
    shown = merged["hallyu_index"].notna()
    assert shown.any()
    assert merged.loc[shown, "hallyu_index_published_now"].astype(bool).all()
    assert (merged.loc[shown, "hallyu_index_published"] == 1).all()


def test_a_country_without_indicators_gets_no_value():
    panel = PANEL.copy()
    cols = ["arrivals_0_30", "uis_students_to_kor", "students_language", "kpop_chart_entries", "kdrama_top10_share"]
    panel.loc[panel["iso3"] == "FRA", cols] = np.nan
    assert "FRA" not in set(ix.hallyu_index(panel)["iso3"])
    assert "FRA" not in set(ix.country_index(panel)["iso3"])


def test_the_anchors_never_enter_the_index():
    # Validation can fail only if the validating measures are not inputs: changing them changes nothing.
    panel = PANEL.copy()
    for col in ["kf_fan_club_members", *iv.KOFICE_2023_ITEMS]:
        panel[col] = np.random.default_rng(0).permutation(panel[col].to_numpy())
    pd.testing.assert_frame_equal(ix.country_index(panel), ix.country_index(PANEL))


def test_validation_agrees_with_a_synthetic_anchor_and_disagrees_with_its_opposite(monkeypatch):
    country = ix.country_index(PANEL).set_index("iso3")
    pub = country.loc[country["hallyu_index_published"], "factor_mean"]
    noise = np.random.default_rng(1).normal(scale=0.3, size=len(pub))
    synthetic_good = pd.Series(pub.to_numpy() + noise, index=pub.index)
    synthetic_bad = -synthetic_good
    monkeypatch.setattr(iv, "anchors", lambda panel: {"synthetic_good": ("test", synthetic_good),
                                                      "synthetic_bad": ("test", synthetic_bad)})
    summary = iv.summary(iv.validate_index(PANEL)).set_index("anchor")
    assert summary.loc["synthetic_good", "verdict"] == "agrees" and summary.loc["synthetic_good", "lo90"] > 0.5
    assert summary.loc["synthetic_bad", "verdict"] == "DISAGREES"


def test_validation_table_on_the_shipped_data_has_every_anchor_with_n_and_intervals():
    table = iv.validate_index(PANEL)
    anchors = set(table["anchor"])
    assert {"kf_fans_per_capita", "kofice2023:content_hours", "kofice2025:overall_favorability_mean"} <= anchors
    assert {f"leave_out:{n}" for n in ix.INDICATORS} <= set(table["measure"])
    few = table[table["n"] < iv.MIN_N]
    assert few["lo90"].isna().all() and (few["verdict"] == "too few countries").all()
    ok = table.dropna(subset=["lo90"])
    assert ((ok["lo90"] <= ok["spearman"] + 1e-9) & (ok["spearman"] <= ok["hi90"] + 1e-9)).all()
    assert set(table["region"]) == {"all", "Asia", "elsewhere"}


def test_kofice_2025_package_data_has_one_url_per_fact():
    from importlib import resources

    with (resources.files("hallyu_forecast") / "data" / iv.KOFICE_2025_FILE).open("rb") as fh:
        raw = pd.read_csv(fh)
    assert raw["source_url"].str.startswith("https://github.com/MinjeongKim0114/kculture_bottleneck/blob/").all()
    assert raw["iso3"].str.fullmatch(r"[A-Z]{3}").all() and raw["iso3"].nunique() >= 25
    assert (raw["ref_year"] == 2025).all()


def test_invariance_table_has_a_verdict_per_indicator():
    inv = iv.invariance(PANEL, draws=100)
    assert list(inv["indicator"]) == list(ix.INDICATORS)
    assert inv["verdict"].str.match(r"^(invariant|not invariant|not testable)").all()


def test_unknown_indicator_and_year_without_data_are_one_line_errors(capsys):
    from hallyu_forecast.cli import main

    with pytest.raises(ConfigError, match=r"^`exclude` must name Hallyu index indicators, .* Got \['fans'\]\.$"):
        ix.hallyu_index(PANEL, exclude=("fans",))
    assert main(["index", "--exclude", "fans"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Got ['fans']" in err
    assert main(["index", "--level", "country", "--year", "2019"]) == 2
    assert "`year` cannot be combined with level='country'" in capsys.readouterr().err


def test_cli_prints_not_enough_evidence_instead_of_a_number(capsys):
    from hallyu_forecast.cli import main

    assert main(["index", "--year", "2023"]) == 0
    out = capsys.readouterr().out
    assert "not enough evidence" in out and "0 of" in out.splitlines()[-1]
    assert main(["index", "--validate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("answer (country index vs each independent measure")
    assert "kofice2025:music_favorability_mean" in out and "invariance" in out


def test_the_shipped_structure_is_the_one_bic_prefers():
    # If new data make another structure fit better, this fails and the choice must be revisited (not silently kept).
    table = ix.structures(PANEL).set_index("structure")
    assert table["adopted"].sum() == 1 and table.loc["content + mobility (shipped)", "adopted"]


def test_index_draws_vary_only_published_values_and_keep_a_country_together():
    from hallyu_forecast.index_draws import index_draws

    draws = index_draws(PANEL, n_draws=3, seed=1)
    shown = PANEL["hallyu_index"].notna()
    for d in draws:
        assert d["hallyu_index"].notna().equals(shown)
        assert d.drop(columns="hallyu_index").equals(PANEL.drop(columns="hallyu_index"))
    assert not np.allclose(draws[0].loc[shown, "hallyu_index"], draws[1].loc[shown, "hallyu_index"])
    # one error per country and draw: a country's published years move in the same direction
    moved = (draws[0]["hallyu_index"] - PANEL["hallyu_index"])[shown].groupby(PANEL.loc[shown, "iso3"])
    assert (moved.apply(lambda s: (np.sign(s) == np.sign(s.iloc[0])).all())).all()
    with pytest.raises(ConfigError, match=r"^`n_draws` must be an integer greater than 1\. Got 1\.$"):
        index_draws(PANEL, n_draws=1)


def test_drivers_on_index_draws_widen_the_interval():
    from hallyu_forecast.index_draws import drivers_on_index_draws

    table = drivers_on_index_draws(PANEL, n_draws=3, n_refits=3).set_index(["variant", "role"])
    row = table.loc[("as_specified", "local_conditions")]
    assert row["pooled_hi"] - row["pooled_lo"] >= 0.9 * (row["hi"] - row["lo"])  # within-draw widths vary a little
    assert row["n_draws"] == 3
