"""Issue 10: direct Hallyu measures (Spotify, Netflix), the Korean-artist classifier and the Hallyu index."""

from __future__ import annotations

import json
import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.errors import DataError, UnknownCountryError
from helpers import copy_source


def _with_copy(raw_dir, tmp_path, name):
    """A mirror in tmp_path: ``name`` copied (writable), countrycode/kdiplo/kpop_artists symlinked."""
    for other in ("countrycode", "kdiplo", "kpop_artists"):
        if other != name:
            (tmp_path / other).symlink_to(raw_dir / other)
    return copy_source(raw_dir, tmp_path, name)


# ------------------------------------------------------------------------------ country codes
def test_alpha2_codes_resolve_in_either_case_and_global_is_an_aggregate(raw_dir):
    from hallyu_forecast.countries import to_iso3

    out = to_iso3(["gb", "GB", "kr", "tw", "global", "XK"], source="test", kind="iso2", data_dir=raw_dir)
    assert out.tolist()[:4] == ["GBR", "GBR", "KOR", "TWN"]
    assert pd.isna(out.iloc[4])
    assert out.iloc[5] == "XKX"
    with pytest.raises(UnknownCountryError, match="'zz'"):
        to_iso3(["zz"], source="test", kind="iso2", data_dir=raw_dir)


# ------------------------------------------------------------------------------ Spotify
@pytest.fixture(scope="module")
def spotify(raw_dir):
    from hallyu_forecast.sources import get_source

    return get_source("spotify_charts").load(raw_dir)


def test_spotify_shares_match_the_provenance_orientation(spotify):
    y2020 = spotify[spotify["year"] == 2020].set_index("iso3")["kpop_chart_share"]
    assert 0.12 < y2020["VNM"] < 0.17
    assert 0.08 < y2020["THA"] < 0.12
    assert y2020["USA"] < 0.01
    assert y2020["DEU"] < 0.005  # the exclusion list keeps German rappers Juju, LEA, Jerome out
    assert "KOR" not in set(spotify["iso3"])
    weeks = spotify.set_index(["iso3", "year"])["spotify_chart_weeks"]
    assert weeks[("USA", 2016)] <= 3 and weeks[("USA", 2019)] == 53 and 38 <= weeks[("USA", 2020)] <= 42
    assert ("IND", 2018) not in weeks.index  # Spotify launched in India in 2019: missing, not zero


def test_naive_list_matching_would_inflate_germany(raw_dir):
    from hallyu_forecast.sources.kpop_artists import AUTOMATIC_RULES, classify_artists
    from hallyu_forecast.sources.spotify_charts import read_year

    de = read_year(raw_dir / "spotify_charts" / "top_artists_2020.json")["de"]
    flags = classify_artists(list(de), raw_dir / "kpop_artists")
    counts = flags["artist"].map(de)
    naive = counts[flags[list(AUTOMATIC_RULES)].any(axis=1)].sum() / sum(de.values())
    reviewed = counts[flags["korean"]].sum() / sum(de.values())
    assert naive > 0.02 and reviewed < 0.005


def test_every_artist_a_rule_matches_is_in_the_reviewed_table(raw_dir):
    from hallyu_forecast.sources.kpop_artists import AUTOMATIC_RULES, load_reviewed, matched_rules
    from hallyu_forecast.sources.spotify_charts import YEARS, file_name, read_year

    artists = set()
    for year in YEARS:
        for code, chart in read_year(raw_dir / "spotify_charts" / file_name(year)).items():
            if code != "global":
                artists |= set(chart)
    flags = matched_rules(sorted(artists), raw_dir / "kpop_artists")
    matched = set(flags.loc[flags[list(AUTOMATIC_RULES)].any(axis=1), "artist"])
    table = load_reviewed()
    assert matched <= set(table["artist"])
    assert {"Juju", "LEA", "Lena", "Sigma", "Jerome", "LEX"} <= set(table.loc[~table["korean"], "artist"])
    assert {"IU", "ZICO", "Crush", "HEIZE", "DEAN", "Agust D", "j-hope", "PSY", "Epik High", "Jung Kook",
            "ROSÉ"} <= set(table.loc[table["korean"], "artist"])


def test_unknown_market_code_names_file_line_and_fix(raw_dir, tmp_path):
    from hallyu_forecast.sources import spotify_charts

    folder = _with_copy(raw_dir, tmp_path, "spotify_charts")
    path = folder / "top_artists_2019.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"gb":', '"zz":', 1), encoding="utf-8")
    with pytest.raises(DataError, match=r"top_artists_2019\.json, line \d+: unknown market code 'zz'.*country_aliases"):
        spotify_charts.load(folder)


def test_corrupt_chart_counts_and_json_are_clear_errors(raw_dir, tmp_path):
    from hallyu_forecast.sources.spotify_charts import read_year

    folder = _with_copy(raw_dir, tmp_path, "spotify_charts")
    path = folder / "top_artists_2018.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["de"]["Capital Bra"] = "many"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    with pytest.raises(DataError, match=r"line \d+: count of 'Capital Bra' in market 'de' must be a whole number"):
        read_year(path)
    path.write_text(path.read_text(encoding="utf-8")[:5000], encoding="utf-8")
    with pytest.raises(DataError, match=r"not valid JSON.*truncated"):
        read_year(path)


# ------------------------------------------------------------------------------ reviewed tables
def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_artist_table_rejects_a_duplicated_artist(tmp_path):
    from hallyu_forecast.sources.kpop_artists import load_reviewed

    path = _write(tmp_path / "artists.csv", "artist,korean,rule,reason\nIU,yes,idol_list,soloist\n"
                                            "BTS,yes,group_list,group\nIU,yes,mv_list,again\n")
    with pytest.raises(DataError, match=r"artists\.csv, line 4: artist 'IU' is listed twice \(first on line 2\)"):
        load_reviewed(path)


def test_artist_table_rejects_an_invalid_yes_no(tmp_path):
    from hallyu_forecast.sources.kpop_artists import load_reviewed

    path = _write(tmp_path / "artists.csv", "artist,korean,rule,reason\nIU,yes,idol_list,soloist\n"
                                            "Juju,maybe,idol_list,collision\n")
    with pytest.raises(DataError, match=r"line 3: `korean` must be yes or no\. Got 'maybe' for 'Juju'"):
        load_reviewed(path)


def test_unreviewed_rule_match_is_refused(raw_dir, tmp_path):
    from hallyu_forecast.sources.kpop_artists import classify_artists, load_reviewed

    path = _write(tmp_path / "artists.csv", "artist,korean,rule,reason\nBTS,yes,group_list,group\n")
    with pytest.raises(DataError, match=r"matched by the dbkpop lists but not reviewed: \['Juju'\]"):
        classify_artists(["BTS", "Juju", "Ed Sheeran"], raw_dir / "kpop_artists", load_reviewed(path))


def test_edited_artist_table_via_environment_changes_the_measure(raw_dir, tmp_path, monkeypatch):
    from hallyu_forecast.sources.kpop_artists import load_reviewed

    from importlib import resources

    with resources.files("hallyu_forecast.data").joinpath("korean_artists.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    table.loc[table["artist"] == "Juju", "korean"] = "yes"
    table.to_csv(tmp_path / "edited.csv", index=False)
    monkeypatch.setenv("HALLYU_KOREAN_ARTISTS", str(tmp_path / "edited.csv"))
    assert bool(load_reviewed().set_index("artist").at["Juju", "korean"])


def test_title_list_rejects_duplicates(tmp_path):
    from hallyu_forecast.sources.netflix_top10 import load_reviewed

    path = _write(tmp_path / "titles.csv", "title,korean,reason\nSquid Game,yes,Korean\nDAHMER,no,US\n"
                                           "Squid Game,no,again\n")
    with pytest.raises(DataError, match=r"titles\.csv, line 4: title 'Squid Game' is listed twice"):
        load_reviewed(path)
    path = _write(tmp_path / "titles.csv", "title,korean,reason\nStart-Up,yes,Korean\nStartUp,yes,Korean\n")
    with pytest.raises(DataError, match=r"line 3: title 'StartUp' is the same title as an earlier row"):
        load_reviewed(path)


# ------------------------------------------------------------------------------ Netflix
def test_netflix_unknown_country_code_names_row(raw_dir, tmp_path):
    from hallyu_forecast.sources.netflix_top10 import read_chart

    folder = tmp_path / "netflix_top10"
    folder.mkdir()
    synthetic = pd.DataFrame({  # synthetic two-row chart
        "country_name": ["Argentina", "Nowhere"], "country_iso2": ["AR", "QQ"], "week": ["2022-01-02"] * 2,
        "category": ["TV"] * 2, "weekly_rank": [1, 1], "show_title": ["A", "B"], "season_title": ["", ""],
        "cumulative_weeks_in_top_10": [1, 1]})
    synthetic.to_excel(folder / "all-weeks-countries.xlsx", index=False)
    with pytest.raises(DataError, match=r"all-weeks-countries\.xlsx, row 3: unknown country_iso2 'QQ'"):
        read_chart(folder)
    synthetic.rename(columns={"show_title": "title"}).iloc[:1].to_excel(folder / "all-weeks-countries.xlsx", index=False)
    with pytest.raises(DataError, match=r"expected column\(s\) \['show_title'\] not found"):
        read_chart(folder)


@pytest.fixture(scope="module")
def netflix(raw_dir):
    from hallyu_forecast.sources import get_source

    return get_source("netflix_top10").load(raw_dir).set_index("iso3")


def test_netflix_share_is_a_bounded_lower_bound(netflix):
    assert len(netflix) == 94 and set(netflix["year"]) == {2022}
    total = netflix["kdrama_top10_share"] + netflix["kdrama_top10_unclassified_share"]
    assert (total <= 1).all() and (netflix["kdrama_top10_share"] >= 0).all()
    assert netflix["kdrama_top10_share"].idxmax() == "KOR"
    assert netflix.at["VNM", "kdrama_top10_share"] > 0.5 > 0.05 > netflix.at["GBR", "kdrama_top10_share"]
    assert (netflix["netflix_top10_weeks"] <= 72).all()


def test_reviewed_titles_override_the_lookups(raw_dir):
    from hallyu_forecast.sources.netflix_top10 import classify_titles, load_reviewed

    reviewed = load_reviewed()
    out = classify_titles(pd.Series(["Squid Game", "The Good Doctor", "Some Unknown Title 123"]),
                          raw_dir / "netflix_top10", reviewed).set_index("title")
    assert out.at["Squid Game", "status"] == "korean" and out.at["Squid Game", "decided_by"] == "reviewed"
    assert out.at["The Good Doctor", "status"] == "not_korean"
    assert out.at["Some Unknown Title 123", "status"] == "unclassified"


def test_validation_sources_load(raw_dir):
    from hallyu_forecast.sources import get_source

    kf = get_source("kf_hallyu_fans").load(raw_dir)
    assert kf.set_index(["iso3", "year"]).at[("THA", 2021), "kf_fan_club_members"] == 14_800_000
    kofice = get_source("kofice_survey").load(raw_dir).set_index("iso3")
    assert kofice.at["JPN", "kofice_content_hours"] == 4.4 and set(kofice["year"]) == {2023}


# ------------------------------------------------------------------------------ the index
def _synthetic_panel(seed=0, n=80):
    """Synthetic panel: a true factor per country drives every indicator; indicators masked at random."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    rows = []
    for i in range(n):
        for year in range(2015, 2024):
            pop = 1e7
            u = rng.normal(size=5) * 0.5
            row = {"iso3": f"S{i:02d}"[:3] if i < 10 else f"{chr(65 + i // 26)}{chr(65 + i % 26)}X",
                   "year": year, "population": pop,
                   "arrivals_0_30": np.exp(3 + z[i] + u[0]) * pop / 1e5,
                   "uis_students_to_kor": np.exp(1 + 0.8 * z[i] + u[1]) * pop / 1e5,
                   "students_language": np.exp(0.5 + z[i] + u[2]) * pop / 1e5,
                   "spotify_chart_entries": 5200.0,
                   "kpop_chart_entries": np.round(5200 / (1 + np.exp(-(-4 + z[i] + u[3])))),
                   "netflix_top10_weeks": 72.0,
                   "kdrama_top10_share": 1 / (1 + np.exp(-(-2 + z[i] + u[4])))}
            # availability like the real data: arrivals to 2019, Spotify 2016-2020, Netflix 2022, language 2022-23
            if year > 2019 or rng.random() < 0.3:
                row["arrivals_0_30"] = np.nan
            if year > 2019 or rng.random() < 0.5:
                row["uis_students_to_kor"] = np.nan
            if year < 2022:
                row["students_language"] = np.nan
            if not 2016 <= year <= 2020:
                row["kpop_chart_entries"] = row["spotify_chart_entries"] = np.nan
            if year != 2022:
                row["kdrama_top10_share"] = row["netflix_top10_weeks"] = np.nan
            rows.append(row)
    return pd.DataFrame(rows), pd.Series(z, index=[r["iso3"] for r in rows[::9]])


def test_index_recovers_a_synthetic_factor_and_widens_with_fewer_indicators():
    from scipy.stats import spearmanr

    from hallyu_forecast.index import country_index, hallyu_index

    panel, z = _synthetic_panel()
    index = hallyu_index(panel)
    assert index["hallyu_index"].between(0, 100).all()
    assert (index["hallyu_index_lo"] <= index["hallyu_index"]).all()
    assert (index["hallyu_index"] <= index["hallyu_index_hi"]).all()
    sd = index.groupby("hallyu_index_n")["factor_sd"].median()
    assert sd.index.min() == 1 and sd.is_monotonic_decreasing and sd.iloc[0] > sd.iloc[-1] * 1.3
    country = country_index(panel).set_index("iso3")["hallyu_index"]
    assert spearmanr(country, z[country.index]).statistic > 0.9
    one = index[index["hallyu_index_n"] == 1].iloc[0]
    assert one["indicators"] and "," not in one["indicators"]


def test_index_is_deterministic_and_drops_korea():
    from hallyu_forecast.index import hallyu_index

    panel, _ = _synthetic_panel(seed=1, n=30)
    panel.loc[panel["iso3"] == panel["iso3"].iloc[0], "iso3"] = "KOR"
    a, b = hallyu_index(panel), hallyu_index(panel)
    pd.testing.assert_frame_equal(a, b)
    assert "KOR" not in set(a["iso3"])


def test_index_needs_the_measure_columns():
    from hallyu_forecast.index import hallyu_index

    with pytest.raises(DataError, match=r"lacks column\(s\) \['kpop_chart_entries'"):
        hallyu_index(pd.DataFrame({"iso3": ["FRA"], "year": [2019], "arrivals_0_30": [1.0], "population": [1.0],
                                   "uis_students_to_kor": [1.0], "students_language": [1.0]}))


def test_embedded_panel_has_the_measures_and_the_index():
    import hallyu_forecast as hf

    panel = hf.load_panel()
    for column in ("kpop_chart_share", "spotify_chart_weeks", "kdrama_top10_share", "kdrama_top10_unclassified_share",
                   "hallyu_index", "hallyu_index_lo", "hallyu_index_hi", "hallyu_index_n", "hallyu_index_basis"):
        assert column in panel and panel[column].notna().any(), column
    rows = panel.dropna(subset=["hallyu_index"])
    assert rows["hallyu_index"].between(0, 100).all() and (rows["hallyu_index_n"] >= 1).all()
    assert panel.loc[panel["iso3"] == "KOR", "hallyu_index"].isna().all()
    names = set(hf.load_dictionary()["name"])
    assert {"hallyu_index", "kpop_chart_share", "kdrama_top10_share", "kf_fan_club_members"} <= names


def test_cli_index_prints_a_year_and_refuses_a_year_without_index(capsys):
    from hallyu_forecast.cli import main

    assert main(["index", "--year", "2019", "--country", "THA", "--country", "France", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["index"]
    assert [r["iso3"] for r in rows] == ["THA", "FRA"] and rows[0]["hallyu_index"] > rows[1]["hallyu_index"]
    assert main(["index", "--year", "2021"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`year` must be a year with a Hallyu index (1998-2023, none in 2021). Got 2021." in err
    assert main(["index", "--country", "Atlantis"]) == 2
    assert "Unknown country 'Atlantis'" in capsys.readouterr().err
