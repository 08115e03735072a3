"""Loaders of the mostly time-invariant sources: cepii, hofstede, religion, countrycode."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources import get_source
from hallyu_forecast.sources.cepii import haversine_km
from hallyu_forecast.sources.countrycode import country_table
from hallyu_forecast.sources.hofstede import CTR_TO_ISO3, DROPPED_ROWS, kogut_singh
from helpers import copy_source

HOFSTEDE_FILE = "6-dimensions-for-website-2015-08-16.csv"


@pytest.fixture(scope="module")
def cepii(raw_dir: Path) -> pd.DataFrame:
    return get_source("cepii").load(raw_dir).set_index("iso3")


@pytest.fixture(scope="module")
def hofstede(raw_dir: Path) -> pd.DataFrame:
    return get_source("hofstede").load(raw_dir).set_index("iso3")


@pytest.fixture(scope="module")
def religion(raw_dir: Path) -> pd.DataFrame:
    return get_source("religion").load(raw_dir)


@pytest.fixture(scope="module")
def countrycode(raw_dir: Path) -> pd.DataFrame:
    return get_source("countrycode").load(raw_dir)


# ----------------------------------------------------------------------------------- cepii


def test_cepii_distances_match_provenance(cepii):
    assert cepii.loc["JPN", "dist_seoul_km"] == pytest.approx(1156.7, abs=0.05)
    assert cepii.loc["USA", "dist_seoul_km"] == pytest.approx(11065.7, abs=0.05)
    assert cepii.loc["FRA", "dist_seoul_km"] == pytest.approx(8981.5, abs=0.05)
    assert cepii["dist_seoul_km"].min() == pytest.approx(197.9361)  # PRK; KOR itself is dropped
    assert cepii["dist_seoul_km"].max() == pytest.approx(19629.5, abs=0.05)
    assert cepii.loc["PRK", "contig_kor"] == 1 and cepii["contig_kor"].sum() == 1


def test_cepii_codes(cepii):
    assert cepii.index.is_unique
    assert cepii.index.str.fullmatch(r"[A-Z]{3}").all()
    for new, old in {"ROU": "ROM", "COD": "ZAR", "TLS": "TMP", "SRB": "YUG", "PSE": "PAL"}.items():
        assert new in cepii.index
        assert old not in cepii.index
    assert "ANT" not in cepii.index and "KOR" not in cepii.index
    assert {"TWN", "HKG", "MAC", "CHN"} <= set(cepii.index)
    # 224 destinations + ATF (geo only) - KOR - ANT
    assert len(cepii) == 223


def test_cepii_geography(cepii):
    assert cepii.loc["USA", "english_official"] == 1 and cepii.loc["JPN", "english_official"] == 0
    assert cepii.loc["AFG", "landlocked"] == 1 and cepii.loc["JPN", "landlocked"] == 0
    assert cepii.loc["USA", "capital_lat"] == pytest.approx(38.867)  # Washington, not New York
    assert cepii["capital_lat"].between(-90, 90).all() and cepii["capital_lon"].between(-180, 180).all()
    assert (cepii["area_km2"] > 0).all()
    # ATF is only in geo_cepii: great-circle distance but no CEPII dist (kept separate on purpose)
    assert math.isnan(cepii.loc["ATF", "dist_seoul_km"])
    assert cepii.loc["ATF", "great_circle_seoul_km"] > 0
    # capital-to-Seoul great circle is close to CEPII's city distance where capital == largest city
    assert cepii.loc["JPN", "great_circle_seoul_km"] == pytest.approx(1156.7, rel=0.01)
    assert math.isnan(cepii.loc["MAC", "distw_seoul_km"])  # CEPII "." -> NaN


def test_haversine_known_distance():
    # Seoul (37.5, 127.0) to itself is 0; a quarter of the equator is pi/2 * R
    assert haversine_km(37.5, 127.0, 37.5, 127.0) == pytest.approx(0.0)
    assert haversine_km(0, 0, 0, 90) == pytest.approx(math.pi / 2 * 6371.0)


def test_cepii_truncated_rda(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "cepii")
    data = (folder / "dist_cepii.rda").read_bytes()
    (folder / "dist_cepii.rda").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match=r"dist_cepii\.rda.*truncated or corrupt"):
        get_source("cepii").load(tmp_path)


def test_cepii_empty_rda(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "cepii")
    (folder / "geo_cepii.rda").write_bytes(b"")
    with pytest.raises(DataError, match=r"geo_cepii\.rda"):
        get_source("cepii").load(tmp_path)


def test_cepii_missing_file(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "cepii")
    (folder / "geo_cepii.rda").unlink()
    with pytest.raises(DataError, match=r"missing raw file.*geo_cepii\.rda"):
        get_source("cepii").load(tmp_path)


# -------------------------------------------------------------------------------- hofstede


def test_hofstede_korea_row(hofstede):
    kor = hofstede.loc["KOR"]
    assert kor[["pdi", "idv", "mas", "uai", "ltowvs", "ivr"]].tolist() == [60, 18, 39, 85, 100, 29]
    assert kor["hofstede_distance_kor"] == 0


def test_hofstede_codes_mapped(hofstede):
    assert hofstede.index.is_unique and len(hofstede) == 100  # 110 rows - 3 regional - 7 sub-national
    # Hofstede codes that are not ISO3
    assert hofstede.loc["DEU", "pdi"] == 35  # GER
    assert hofstede.loc["AUS", "idv"] == 90  # AUL
    assert hofstede.loc["ROU", "pdi"] == 90  # ROM
    assert hofstede.loc["MYS", "pdi"] == 104  # MAL, not Mali
    assert hofstede.loc["SVN", "pdi"] == 71 and hofstede.loc["SLV", "pdi"] == 66  # SLV=Slovenia, SAL=El Salvador
    assert hofstede.loc["MNE", "ltowvs"] == 75  # MNG = Montenegro, not Mongolia
    assert hofstede.loc["MKD", "ltowvs"] == 62  # MAC = Macedonia, not Macao
    assert "MNG" not in hofstede.index and "MAC" not in hofstede.index and "BEN" not in hofstede.index
    # China, Taiwan and Hong Kong are distinct
    assert hofstede.loc[["CHN", "TWN", "HKG"], "pdi"].tolist() == [80, 58, 68]
    # national rows chosen over sub-national ones
    assert hofstede.loc["BEL", "pdi"] == 65 and hofstede.loc["CAN", "pdi"] == 39
    assert hofstede.loc["CHE", "pdi"] == 34
    assert math.isnan(hofstede.loc["ZAF", "pdi"]) and hofstede.loc["ZAF", "ltowvs"] == 34


def test_hofstede_distance(hofstede):
    d = hofstede["hofstede_distance_kor"]
    assert 0 < d["JPN"] < np.inf
    assert d["TWN"] < d["JPN"] < d["USA"]
    assert (d.dropna() >= 0).all()
    # countries with only LTO/IVR have no distance (fewer than 4 dimensions)
    assert math.isnan(d["ALB"]) and math.isnan(d["DZA"])
    assert d.notna().sum() == 69


def test_kogut_singh_by_hand():
    scores = pd.DataFrame({"a": [0.0, 2.0, 4.0], "b": [1.0, 3.0, np.nan]}, index=["KOR", "X", "Y"])
    var_a, var_b = np.var([0, 2, 4], ddof=1), np.var([1, 3], ddof=1)  # 4 and 2
    out = kogut_singh(scores, "KOR", min_dims=1)
    assert out["KOR"] == 0
    assert out["X"] == pytest.approx((4 / var_a + 4 / var_b) / 2)
    assert out["Y"] == pytest.approx(16 / var_a)  # only the shared dimension counts
    assert math.isnan(kogut_singh(scores, "KOR", min_dims=2)["Y"])


def test_hofstede_hand_map_is_complete(raw_dir):
    raw = pd.read_csv(raw_dir / "hofstede" / HOFSTEDE_FILE, sep=";")
    assert set(raw["ctr"]) == set(CTR_TO_ISO3) | set(DROPPED_ROWS)
    assert len(set(CTR_TO_ISO3.values())) == len(CTR_TO_ISO3)


def test_hofstede_renamed_column(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "hofstede")
    path = folder / HOFSTEDE_FILE
    path.write_bytes(path.read_bytes().replace(b"ltowvs", b"lto", 1))
    with pytest.raises(DataError, match=r"6-dimensions.*\['ltowvs'\] not found"):
        get_source("hofstede").load(tmp_path)


def test_hofstede_wrong_separator(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "hofstede")
    path = folder / HOFSTEDE_FILE
    path.write_bytes(path.read_bytes().replace(b";", b","))
    with pytest.raises(DataError, match=r"6-dimensions.*not found"):
        get_source("hofstede").load(tmp_path)


def test_hofstede_wrong_encoding(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "hofstede")
    path = folder / HOFSTEDE_FILE
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(DataError, match=r"6-dimensions.*not valid utf-8"):
        get_source("hofstede").load(tmp_path)


def test_hofstede_empty_file(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "hofstede")
    (folder / HOFSTEDE_FILE).write_bytes(b"")
    with pytest.raises(DataError, match=r"6-dimensions.*empty"):
        get_source("hofstede").load(tmp_path)


def test_hofstede_header_only(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "hofstede")
    (folder / HOFSTEDE_FILE).write_bytes(b"ctr;country;pdi;idv;mas;uai;ltowvs;ivr\r\n")
    with pytest.raises(DataError, match=r"no data rows"):
        get_source("hofstede").load(tmp_path)


def test_hofstede_unknown_code(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "hofstede")
    path = folder / HOFSTEDE_FILE
    path.write_bytes(path.read_bytes() + b"XYZ;Atlantis;1;2;3;4;5;6\r\n")
    with pytest.raises(DataError, match=r"unknown Hofstede code.*XYZ"):
        get_source("hofstede").load(tmp_path)


def test_hofstede_code_name_disagreement(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "hofstede")
    path = folder / HOFSTEDE_FILE
    path.write_bytes(path.read_bytes().replace(b"CHI;China", b"CHI;Chile"))
    with pytest.raises(DataError, match=r"code and country name disagree.*CHI"):
        get_source("hofstede").load(tmp_path)


# -------------------------------------------------------------------------------- religion


def test_religion_korea_2010(religion):
    kor = religion.set_index(["iso3", "year"]).loc[("KOR", 2010)]
    assert kor["christian_share"] == pytest.approx(13_973_291 / 48_875_000)


def test_religion_shape_and_units(religion):
    assert sorted(religion["year"].unique()) == [1990, 1995, 2000, 2005, 2010]
    assert not religion.duplicated(["iso3", "year"]).any()
    shares = religion[["christian_share", "muslim_share", "buddhist_share", "hindu_share", "nonreligious_share"]]
    assert shares.notna().all().all()
    assert ((shares >= 0) & (shares <= 1)).all().all()
    assert len(religion) == 928 - 6  # 1990-2010 rows less the six dropped 1990 rows
    assert religion.query("year == 2010")["iso3"].nunique() == 194


def test_religion_special_states(religion):
    idx = religion.set_index(["iso3", "year"])
    assert ("SRB", 1990) not in idx.index and ("SRB", 1995) in idx.index  # SFRY dropped
    assert ("RUS", 1990) not in idx.index  # USSR dropped
    assert ("CZE", 1990) not in idx.index and ("CZE", 1995) in idx.index
    assert ("DEU", 1990) in idx.index and ("YEM", 1990) in idx.index
    assert ("MNE", 2010) in idx.index and ("XKX", 2010) in idx.index
    assert ("PLW", 2010) in idx.index and "PSE" not in set(religion["iso3"])  # COW 'PAL' is Palau
    assert idx.loc[("CHN", 2010), "christian_share"] != idx.loc[("TWN", 2010), "christian_share"]
    assert idx.loc[("NPL", 2010), "hindu_share"] > 0.8


def test_religion_renamed_column(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "religion")
    path = folder / "WRP_national.csv"
    path.write_bytes(path.read_bytes().replace(b"total muslims", b"islmgen", 1))
    with pytest.raises(DataError, match=r"WRP_national\.csv.*\['total muslims'\] not found"):
        get_source("religion").load(tmp_path)


def test_religion_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "religion")
    path = folder / "WRP_national.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut mid-row: last row has missing cells
    with pytest.raises(DataError, match=r"WRP_national\.csv.*(missing or non-numeric|truncated)"):
        get_source("religion").load(tmp_path)


def test_religion_empty(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "religion")
    (folder / "WRP_national.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"WRP_national\.csv.*empty"):
        get_source("religion").load(tmp_path)


# ----------------------------------------------------------------------------- countrycode


def test_countrycode_continent_ids(countrycode):
    cc = countrycode.set_index("iso3")["continent_id"]
    assert cc.index.is_unique and len(cc) == 250  # 249 ISO3 rows + Kosovo (XKX)
    assert cc["KOR"] == 3 and cc["FRA"] == 4 and cc["USA"] == 2 and cc["NGA"] == 1 and cc["AUS"] == 5
    assert cc["XKX"] == 4
    assert math.isnan(cc["ATA"])
    assert set(cc.dropna().unique()) == {1, 2, 3, 4, 5}


def test_country_table(raw_dir):
    table = country_table(raw_dir / "countrycode").set_index("iso3")
    assert list(table.columns) == ["name", "name_ko", "continent", "region"]
    assert table.loc["KOR", "name"] == "South Korea" and table.loc["KOR", "name_ko"] == "대한민국"
    assert table.loc["KOR", "region"] == "East Asia & Pacific"
    assert len({table.loc[c, "name_ko"] for c in ("CHN", "TWN", "HKG")}) == 3
    assert table["name_ko"].notna().all()
    assert table.loc["FSM", "name_ko"] == "미크로네시아"


def test_all_static_keys_known_to_country_table(raw_dir, cepii, hofstede, religion):
    known = set(country_table(raw_dir / "countrycode")["iso3"])
    for frame in (cepii.reset_index(), hofstede.reset_index(), religion):
        assert set(frame["iso3"]) <= known


def test_countrycode_truncated_rda(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "countrycode")
    data = (folder / "codelist.rda").read_bytes()
    (folder / "codelist.rda").write_bytes(data[:1000])
    with pytest.raises(DataError, match=r"codelist\.rda.*truncated or corrupt"):
        country_table(folder)


def test_countrycode_not_an_rda(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "countrycode")
    (folder / "codelist.rda").write_text("iso3c,continent\nKOR,Asia\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"codelist\.rda"):
        get_source("countrycode").load(tmp_path)
