"""Loaders of Korean-government-support sources: kdiplo, desta, passport_index, kcc,
working_holiday, oda, and the regime events (China's Hallyu ban, Japan trade dispute)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources import get_source
from hallyu_forecast.sources.kcc import IMPUTED_YEARS, opening_years
from helpers import copy_source


def _truncate_mid_line(path: Path, fraction: float = 0.5, into_line: int = 5) -> None:
    """Cut the file `into_line` bytes after the start of a line at about `fraction` of its size."""
    data = path.read_bytes()
    start = data.index(b"\n", int(len(data) * fraction)) + 1
    path.write_bytes(data[: start + into_line])


def _rename_header(path: Path, old: str, new: str, encoding: str = "utf-8") -> None:
    text = path.read_text(encoding=encoding)
    header, rest = text.split("\n", 1)
    assert old in header.split(",")
    path.write_text(",".join(new if c == old else c for c in header.split(",")) + "\n" + rest, encoding=encoding)


def _check_keys(frame: pd.DataFrame, static: bool = False) -> None:
    keys = ["iso3"] if static else ["iso3", "year"]
    assert not frame.duplicated(keys).any()
    assert frame["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert "KOR" not in set(frame["iso3"])


@pytest.fixture(scope="module")
def kdiplo(raw_dir: Path) -> pd.DataFrame:
    return get_source("kdiplo").load(raw_dir)


@pytest.fixture(scope="module")
def desta(raw_dir: Path) -> pd.DataFrame:
    return get_source("desta").load(raw_dir).set_index(["iso3", "year"])


@pytest.fixture(scope="module")
def passport(raw_dir: Path) -> pd.DataFrame:
    return get_source("passport_index").load(raw_dir)


@pytest.fixture(scope="module")
def kcc(raw_dir: Path) -> pd.DataFrame:
    return get_source("kcc").load(raw_dir)


@pytest.fixture(scope="module")
def wh(raw_dir: Path) -> pd.DataFrame:
    return get_source("working_holiday").load(raw_dir).set_index(["iso3", "year"])


@pytest.fixture(scope="module")
def oda(raw_dir: Path) -> pd.DataFrame:
    return get_source("oda").load(raw_dir).set_index("iso3")


@pytest.fixture(scope="module")
def events(raw_dir: Path) -> pd.DataFrame:
    return get_source("events").load(raw_dir).set_index(["iso3", "year"])


# ---------------------------------------------------------------------------------- kdiplo


def test_kdiplo_ties_counts_match_provenance(kdiplo):
    _check_keys(kdiplo)
    ties = kdiplo.groupby("year")["ties_south"].sum()
    # PROVENANCE: South Korea has ties with 139 countries in 1990, 183 in 2000, 191 in 2020, 194 in 2025.
    assert ties[1990] == 139 and ties[2000] == 183 and ties[2020] == 191 and ties[2025] == 194
    assert kdiplo["year"].min() == 1990 and kdiplo["year"].max() == 2025
    assert set(kdiplo["ties_south"].dropna().unique()) <= {0.0, 1.0}
    assert set(kdiplo["ties_north"].dropna().unique()) <= {0.0, 1.0}


def test_kdiplo_ties_years_spells(kdiplo):
    k = kdiplo.set_index(["iso3", "year"])
    # Viet Nam: ties cut in 1975, re-established 1992 -> spell restarts.
    assert k.loc[("VNM", 1991), "ties_south"] == 0 and k.loc[("VNM", 1991), "ties_south_years"] == 0
    assert k.loc[("VNM", 1992), "ties_south_years"] == 0 and k.loc[("VNM", 1993), "ties_south_years"] == 1
    assert k.loc[("CHN", 1992), "ties_south"] == 1 and k.loc[("CHN", 2023), "ties_south_years"] == 31
    # USA: kdiplo's `date` says 1882 (Joseon treaty); the series starts with the ROK in 1948.
    assert k.loc[("USA", 1990), "ties_south_years"] == 42
    assert (kdiplo.loc[kdiplo["ties_south"] == 0, "ties_south_years"] == 0).all()
    assert k.loc[("PRK", 2000), "ties_south"] == 0 and np.isnan(k.loc[("PRK", 2000), "ties_north"])


def test_kdiplo_trade_values(kdiplo):
    k = kdiplo.set_index(["iso3", "year"])
    assert k.loc[("CHN", 2023), "kor_exports_usd"] == pytest.approx(124817700000, rel=1e-6)
    assert k.loc[("CHN", 2023), "kor_imports_usd"] == pytest.approx(142857300000, rel=1e-6)
    both = kdiplo[["kor_exports_usd", "kor_imports_usd"]]
    np.testing.assert_allclose(kdiplo["kor_trade_usd"], both.sum(axis=1, min_count=1))
    assert (both.dropna(how="all").fillna(0) >= 0).all().all()
    assert kdiplo.loc[kdiplo["kor_exports_usd"].notna(), "year"].max() == 2023
    # Legacy KOSIS labels folded into successors (New Hebrides 1991 -> Vanuatu) or dropped.
    assert k.loc[("VUT", 1991), "kor_exports_usd"] == 72000
    assert not {"NHB", "YMD", "FXX", "CTE", "PCZ", "PCI", "NTZ", "ANT", "JTN"} & set(kdiplo["iso3"])
    # KOSIS-only: COW-imputed cells (North Korea 1990-1992) are not used.
    assert np.isnan(k.loc[("PRK", 1990), "kor_exports_usd"])


def test_kdiplo_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "kdiplo")
    _truncate_mid_line(folder / "trade_data.csv")
    with pytest.raises(DataError, match=r"trade_data\.csv: column `updated_at` is empty in 1 row\(s\).*looks truncated"):
        get_source("kdiplo").load(tmp_path)


def test_kdiplo_renamed_column(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "kdiplo")
    _rename_header(folder / "trade_data.csv", "export_kosis", "export_kosis_usd")
    with pytest.raises(DataError, match=r"expected column\(s\) \['export_kosis'\] not found"):
        get_source("kdiplo").load(tmp_path)


def test_kdiplo_wrong_encoding(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "kdiplo")
    path = folder / "diplo_ties_data.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp949", errors="replace"))  # Korean legacy encoding
    with pytest.raises(DataError, match=r"diplo_ties_data\.csv: is not valid utf-8 text"):
        get_source("kdiplo").load(tmp_path)


def test_kdiplo_empty(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "kdiplo")
    (folder / "trade_data.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"trade_data\.csv: the file is empty"):
        get_source("kdiplo").load(tmp_path)


# ----------------------------------------------------------------------------------- desta


def test_desta_grid_and_values(desta):
    _check_keys(desta.reset_index())
    # PROVENANCE: 93 partner countries; + Croatia (EU accession 2013) and Japan (RCEP 2022) for fta_korea_*.
    assert desta.index.get_level_values("iso3").nunique() == 95
    years = desta.index.get_level_values("year")
    assert years.min() == 1990 and years.max() == 2023 and len(desta) == 95 * 34
    # Chile-Korea FTA: signed 2003, in force 2004 (older PTN/GSTP schemes already in force).
    assert desta.loc[("CHL", 2003), "fta_post1990_in_force"] == 0
    assert desta.loc[("CHL", 2004), "fta_post1990_in_force"] == 1
    assert desta.loc[("CHL", 2004), "n_ptas_in_force"] == 3
    # Korea-US: signed 2007, in force 2012.
    assert desta.loc[("USA", 2006), "fta_signed"] == 0 and desta.loc[("USA", 2007), "fta_signed"] == 1
    assert desta.loc[("USA", 2011), "fta_in_force"] == 0 and desta.loc[("USA", 2012), "fta_in_force"] == 1
    # Canada: DESTA's 2017 kept (not 2015); EU: provisional application 2011 kept.
    assert desta.loc[("CAN", 2016), "fta_in_force"] == 0 and desta.loc[("CAN", 2017), "fta_in_force"] == 1
    assert desta.loc[("DEU", 2010), "fta_in_force"] == 0 and desta.loc[("DEU", 2011), "fta_in_force"] == 1
    # Korea-Philippines (2023) has no entry-into-force year: not counted; PTN, GSTP, ASEAN, RCEP are.
    assert desta.loc[("PHL", 2023), "n_ptas_in_force"] == 4
    # China's 2001 accession to the 1975 Bangkok Agreement is not a post-1990 agreement.
    assert desta.loc[("CHN", 2002), "fta_in_force"] == 1 and desta.loc[("CHN", 2002), "fta_post1990_in_force"] == 0
    assert desta.loc[("CHN", 2006), "fta_post1990_in_force"] == 1  # APTA (2005) in force 2006
    assert (desta["fta_in_force"] <= desta["fta_signed"]).all()
    assert (desta["fta_post1990_in_force"] <= desta["fta_in_force"]).all()
    assert ((desta["n_ptas_in_force"] > 0) == (desta["fta_in_force"] == 1)).all()


def test_desta_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "desta")
    _truncate_mid_line(folder / "desta_list_of_treaties_02_02_dyads.csv", fraction=0.9)
    with pytest.raises(DataError, match=r"columns `base_treaty`/`year` are empty in some rows.*looks truncated"):
        get_source("desta").load(tmp_path)


def test_desta_renamed_column(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "desta")
    _rename_header(folder / "desta_list_of_treaties_02_02_dyads.csv", "entryforceyear", "entry_force_year", "utf-8-sig")
    with pytest.raises(DataError, match=r"expected column\(s\) \['entryforceyear'\] not found"):
        get_source("desta").load(tmp_path)


def test_desta_wrong_encoding(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "desta")
    path = folder / "desta_list_of_treaties_02_02_dyads.csv"
    path.write_bytes(path.read_text(encoding="utf-8-sig").encode("utf-16"))
    with pytest.raises(DataError, match=r"is not valid utf-8-sig text"):
        get_source("desta").load(tmp_path)


def test_desta_empty(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "desta")
    (folder / "desta_list_of_treaties_02_02_dyads.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"dyads\.csv: the file is empty"):
        get_source("desta").load(tmp_path)


# -------------------------------------------------------------------------- passport_index


def test_passport_korea_policy(passport):
    _check_keys(passport)
    assert sorted(passport["year"].unique()) == list(range(2019, 2026))
    assert passport.groupby("year").size().eq(198).all()
    by_year = passport.groupby("year")
    # PROVENANCE: KOR as destination 2024-01 -> 172 e-visa (K-ETA), 22 "90" (+1 "180", +1 "30").
    counts_2024 = passport[passport["year"] == 2024]["kor_visa_openness"].value_counts()
    assert counts_2024[1.0] == 172 and counts_2024[3.0] == 24 and counts_2024[0.0] == 2
    # 2021-2022 dominated by "covid ban" (180 and 151 passports); openness NaN there.
    assert by_year["kor_covid_entry_ban"].sum()[2021] == 180 and by_year["kor_covid_entry_ban"].sum()[2022] == 151
    banned = passport["kor_covid_entry_ban"] == 1
    assert passport.loc[banned, "kor_visa_openness"].isna().all()
    assert passport.loc[~banned, "kor_visa_openness"].notna().all()
    # 2025 uses the 2025-01-02 snapshot (136 e-visa), not the 2025-01-12 HEAD file (88 e-visa + 48 eta).
    assert (passport[passport["year"] == 2025]["kor_visa_openness"] == 1).sum() == 136
    # 2019 numeric scheme: 110 visa-free, 88 visa required.
    assert (passport[passport["year"] == 2019]["kor_visa_openness"] == 3).sum() == 110
    for col in ("kor_visa_openness", "kor_passport_access"):
        assert set(passport[col].dropna().unique()) <= {0.0, 1.0, 2.0, 3.0}


def test_passport_access_and_2020_label_swap(passport):
    p = passport.set_index(["iso3", "year"])
    # ESTA: Korean holders need an eTA for the US in every snapshot (2020 file's "VOA" label swapped back).
    assert (p.xs("USA", level="iso3")["kor_passport_access"] == 1).all()
    assert p.loc[("JPN", 2025), "kor_passport_access"] == 3 and p.loc[("JPN", 2025), "kor_visa_openness"] == 3
    access_2020 = passport[passport["year"] == 2020]["kor_passport_access"].value_counts()
    access_2019 = passport[passport["year"] == 2019]["kor_passport_access"].value_counts()
    assert access_2019[2.0] == 49 and access_2019[1.0] == 7
    assert access_2020[2.0] == 50 and access_2020[1.0] == 7


def test_passport_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "passport_index")
    _truncate_mid_line(folder / "passport-index-tidy-iso3_2024-01-05.csv", into_line=3)
    with pytest.raises(DataError, match=r"2024-01-05\.csv: .*looks truncated"):
        get_source("passport_index").load(tmp_path)


def test_passport_renamed_column(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "passport_index")
    _rename_header(folder / "passport-index-tidy-iso3_2023-01-11.csv", "Requirement", "Visa")
    with pytest.raises(DataError, match=r"2023-01-11\.csv: expected columns \['Passport', 'Destination'\] and 'Code' or 'Requirement'"):
        get_source("passport_index").load(tmp_path)


def test_passport_unknown_code(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "passport_index")
    path = folder / "passport-index-tidy-iso3_2024-01-05.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",e-visa\n", ",evisa\n"), encoding="utf-8")
    with pytest.raises(DataError, match=r"unknown visa requirement code\(s\) \['evisa'\]"):
        get_source("passport_index").load(tmp_path)


def test_passport_wrong_encoding_and_empty(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "passport_index")
    path = folder / "passport-index-tidy-iso3_2022-01-05.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(DataError, match=r"2022-01-05\.csv: is not valid utf-8 text"):
        get_source("passport_index").load(tmp_path)
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"2022-01-05\.csv: the file is empty"):
        get_source("passport_index").load(tmp_path)


# ------------------------------------------------------------------------------------- kcc


def test_kcc_values(kcc):
    _check_keys(kcc)
    k = kcc.set_index(["iso3", "year"])
    assert kcc["iso3"].nunique() == 31 and kcc["year"].min() == 1979 and kcc["year"].max() == 2024
    assert k.loc[("JPN", 1979), "kcc_present"] == 1 and k.loc[("JPN", 1979), "kcc_count"] == 1
    assert k.loc[("JPN", 2010), "kcc_count"] == 2  # Osaka imputed 2010
    assert k.loc[("USA", 1979), "kcc_count"] == 1 and k.loc[("USA", 2024), "kcc_count"] == 3
    assert k.loc[("SWE", 2022), "kcc_present"] == 0 and k.loc[("SWE", 2023), "kcc_present"] == 1
    assert k.loc[("HKG", 2024), "kcc_present"] == 1 and k.loc[("CHN", 2024), "kcc_count"] == 2
    assert ((kcc["kcc_count"] > 0) == (kcc["kcc_present"] == 1)).all()
    assert (kcc.groupby("iso3")["kcc_count"].diff().dropna() >= 0).all()  # centres never close


def test_kcc_sums_match_national_totals(raw_dir, kcc):
    """Per-country sums vs the national totals of kcc_counts_from_pages.csv where comparable."""
    totals = kcc.groupby("year")["kcc_count"].sum()
    countries = kcc[kcc["iso3"] != "HKG"].groupby("year")["kcc_present"].sum()  # totals count HK in China
    counts = pd.read_csv(raw_dir / "kcc" / "kcc_counts_from_pages.csv")
    stated = dict(zip(counts["as_of"], counts["n_centres"]))
    # End of year y vs a total dated early in y+1 or late in y with no opening in between.
    assert totals[2010] == stated["2011-01"] == 16 and countries[2010] == 12
    assert totals[2011] == stated["2011-12-27"] == 21
    assert totals[2012] == stated["2012-12-13"] == 24
    assert totals[2015] == stated["2016-01-23"] == 28 and countries[2015] == 24
    assert totals[2019] == stated["2019-11-18"] == stated["2020-03-04"] == 32 and countries[2019] == 27
    assert totals[2023] == stated["2023-05-09"] == 35 and countries[2024] == 30
    # Earlier totals are lower bounds for the sums (unknown KOIS-era years), never exceeded.
    assert totals[1998] <= stated["1998-07-30"] and totals[2008] <= stated["2008"]
    assert totals[2024] <= stated["2024"]


def test_kcc_imputations_documented(raw_dir):
    centres = opening_years(raw_dir / "kcc")
    imputed = centres[centres["imputed"]]
    assert len(imputed) == 12
    assert set(zip(imputed["iso3"], imputed["city"])) == set(IMPUTED_YEARS)
    doc = get_source("kcc").loader.__module__
    import importlib

    text = importlib.import_module(doc).__doc__
    for iso3, city in IMPUTED_YEARS:
        assert city.split()[0] in text


def test_kcc_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "kcc")
    path = folder / "kcc_openings_from_pages.csv"
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b'"First overseas KCC') + 10])  # cut inside a quoted note
    with pytest.raises(DataError, match=r"kcc_openings_from_pages\.csv: could not be parsed as CSV"):
        get_source("kcc").load(tmp_path)


def test_kcc_unknown_year_without_rule(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "kcc")
    path = folder / "kcc_openings_from_pages.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("JPN,Osaka,", "JPN,Kyoto,"), encoding="utf-8")
    with pytest.raises(DataError, match=r"\[\('JPN', 'Kyoto'\)\] have no opening year and no imputation rule"):
        get_source("kcc").load(tmp_path)


def test_kcc_renamed_column_and_empty(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "kcc")
    path = folder / "kcc_openings_from_pages.csv"
    _rename_header(path, "opened_year", "year_opened")
    with pytest.raises(DataError, match=r"expected column\(s\) \['opened_year'\] not found"):
        get_source("kcc").load(tmp_path)
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"kcc_openings_from_pages\.csv: the file is empty"):
        get_source("kcc").load(tmp_path)


def test_kcc_onsets(kcc):
    kcc = kcc.set_index(["iso3", "year"])
    onset = kcc.groupby(level="iso3")["kcc_onset_year"].first()
    unknown = kcc.groupby(level="iso3")["kcc_onset_unknown"].first()
    # First centre's date; October-December openings count from the next year (New York 1979-10, New Delhi 2012-12).
    assert onset[["JPN", "USA", "AUS", "IND", "BRA", "MEX"]].tolist() == [1979, 1980, 2011, 2013, 2014, 2012]
    # First centre with an imputed (upper-bound) year: unknown onset.
    assert unknown[unknown == 1].index.tolist() == ["ARE", "DEU", "EGY", "GBR", "HKG", "ITA", "KAZ", "VNM", "ZAF"]
    assert (onset[unknown == 1] == 0).all()
    share = kcc["kcc_open_share"]
    assert share.between(0, 1).all() and share[("AUS", 2010)] == 0 and share[("AUS", 2012)] == 1
    assert 0 < share[("AUS", 2011)] < 1 and share[("ESP", 2011)] == 0.5  # year-only date: 0.5


def test_desta_korea_ftas(desta):
    onset = desta.groupby(level="iso3")["fta_korea_onset_year"].first()
    expected = {"CHL": 2004, "SGP": 2006, "CHE": 2006, "IDN": 2007, "IND": 2010, "FRA": 2011, "GBR": 2011,
                "HRV": 2013, "PER": 2011, "USA": 2012, "TUR": 2013, "AUS": 2014, "CHN": 2015, "NZL": 2015,
                "COL": 2016, "CAN": 2017, "CRI": 2019, "ISR": 2022, "JPN": 2022, "THA": 2022}
    assert {k: int(onset[k]) for k in expected} == expected
    # Partial-scope schemes only (GSTP/PTN/Bangkok/APTA): no Korea FTA although fta_in_force says 1.
    for iso3 in ("MEX", "EGY", "PAK", "MNG", "BGD"):
        assert onset[iso3] == 0 and desta.loc[(iso3, 2015), "fta_in_force"] == 1
        assert desta.loc[(iso3, 2015), "fta_korea_in_force"] == 0
    assert desta.loc[("PHL", 2023), "fta_korea_onset_year"] == 2007  # ASEAN, not the 2023 bilateral (not in force)
    # Share of year: DESTA gives years only, so the entry year counts 0.5.
    assert desta.loc[("USA", 2011), "fta_korea_in_force"] == 0 and desta.loc[("USA", 2012), "fta_korea_in_force"] == 0.5
    assert desta.loc[("USA", 2013), "fta_korea_in_force"] == 1 and desta.loc[("USA", 2015), "fta_korea_years"] == 3


# ------------------------------------------------------------------------- working_holiday


def test_wh_values(wh):
    _check_keys(wh.reset_index())
    assert wh.index.get_level_values("iso3").nunique() == 25  # + Latvia (2024) from the dated file
    assert wh.loc[("AUT", 2011), "wh_agreement"] == 0 and wh.loc[("AUT", 2012), "wh_agreement"] == 1
    assert wh.loc[("AUT", 2020), "wh_years"] == 8
    # Dated facts first: Canada's MOU 1995, Australia 1995 (no longer the 2012 list), Netherlands 2014.
    assert wh.loc[("CAN", 1994), "wh_agreement"] == 0 and wh.loc[("CAN", 1995), "wh_years"] == 0
    assert wh.loc[("JPN", 2000), "wh_agreement"] == 1 and wh.loc[("IRL", 2009), "wh_agreement"] == 1
    assert wh.loc[("AUS", 2012), "wh_years"] == 17
    assert wh.loc[("NLD", 2013), "wh_agreement"] == 0 and wh.loc[("NLD", 2014), "wh_agreement"] == 1
    assert wh.loc[("GBR", 2025), "wh_agreement"] == 1  # YMS: not on the 2021 list, no termination
    per_year = wh.groupby("year")["wh_agreement"].sum()
    assert per_year[2012] == 15 and per_year[2021] == 24  # 15 partners (2012 list); 23 (2021 list) + GBR
    assert ((wh["wh_years"] > 0) <= (wh["wh_agreement"] == 1)).all()


def test_wh_onsets(wh):
    onset = wh.groupby(level="iso3")["wh_onset_year"].first()
    unknown = wh.groupby(level="iso3")["wh_onset_unknown"].first()
    # Signing year; October-December signings count from the next year (CAN 1995-10 -> 1996, JPN 1998-10 -> 1999).
    assert onset[["AUS", "CAN", "JPN", "FRA", "DEU", "SWE", "HKG", "ESP"]].tolist() == [
        1995, 1996, 1999, 2009, 2009, 2010, 2011, 2018]
    # New Zealand: only a doubtful 1994 date -> unknown onset (0 = no onset, flagged), never treated in 2012.
    assert onset["NZL"] == 0 and unknown["NZL"] == 1
    assert unknown.drop("NZL").eq(0).all() and (onset.drop("NZL") > 0).all()


def test_wh_bad_input(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "working_holiday")
    path = folder / "working_holiday_from_pages.csv"
    original = path.read_text(encoding="utf-8")
    _rename_header(path, "fact_type", "type")
    with pytest.raises(DataError, match=r"expected column\(s\) \['fact_type'\] not found"):
        get_source("working_holiday").load(tmp_path)
    path.write_text(original.replace(",mou_signed,", ",memorandum,"), encoding="utf-8")
    with pytest.raises(DataError, match=r"unknown fact_type value\(s\) \['memorandum'\]"):
        get_source("working_holiday").load(tmp_path)
    path.write_bytes(original.encode("utf-16"))
    with pytest.raises(DataError, match=r"working_holiday_from_pages\.csv: is not valid utf-8 text"):
        get_source("working_holiday").load(tmp_path)
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"working_holiday_from_pages\.csv: the file is empty"):
        get_source("working_holiday").load(tmp_path)


def test_wh_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "working_holiday")
    path = folder / "working_holiday_from_pages.csv"
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"Austria,AUT,in_force") + 25])  # cut after the date field
    with pytest.raises(DataError, match=r"`fact_type`/`source_url` are empty in some rows.*looks truncated"):
        get_source("working_holiday").load(tmp_path)


# ------------------------------------------------------------------------------------- oda


def test_oda_values(oda, raw_dir):
    _check_keys(oda.reset_index(), static=True)
    assert len(oda) == 131  # 130 Korean names + West Bank and Gaza (PSE)
    assert oda.loc["VNM", "oda_2019_disbursed_usd"] == 108875965
    assert oda.loc["VNM", "oda_2019_grant_usd"] == 97317021
    assert oda.loc["VNM", "oda_2019_projects"] == 358
    assert oda.loc["PSE", "oda_2019_disbursed_usd"] == 7773065
    raw = pd.read_excel(raw_dir / "oda" / "korea_total_aid_2019_230709.xlsx", sheet_name="통계양식")
    assert raw["total_usd"].sum() == 2657875504  # PROVENANCE: 2.658 bn US$
    aggregates = raw[raw["country_kr"].astype(str).str.contains("미배분") | raw["country_kr"].astype(str).isin(["387", "831"])]
    assert oda["oda_2019_disbursed_usd"].sum() == raw["total_usd"].sum() - aggregates["total_usd"].sum()
    assert (oda["oda_2019_grant_usd"] <= oda["oda_2019_disbursed_usd"] + 1).all()
    assert (oda >= 0).all().all()


def test_oda_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "oda")
    path = folder / "korea_total_aid_2019_230709.xlsx"
    path.write_bytes(path.read_bytes()[:50_000])
    with pytest.raises(DataError, match=r"korea_total_aid_2019_230709\.xlsx: could not be read as \.xlsx"):
        get_source("oda").load(tmp_path)


def test_oda_renamed_sheet_and_column(raw_dir, tmp_path):
    import openpyxl

    folder = copy_source(raw_dir, tmp_path, "oda")
    path = folder / "korea_total_aid_2019_230709.xlsx"
    book = openpyxl.load_workbook(path)
    book["통계양식"].title = "Sheet1"
    book.save(path)
    with pytest.raises(DataError, match=r"has no sheet '통계양식'"):
        get_source("oda").load(tmp_path)
    book = openpyxl.load_workbook(path)
    sheet = book["Sheet1"]
    sheet.title = "통계양식"
    for cell in sheet[1]:
        if cell.value == "total_usd":
            cell.value = "총지출액[USD]"
    book.save(path)
    with pytest.raises(DataError, match=r"expected column\(s\) \['total_usd'\] not found"):
        get_source("oda").load(tmp_path)


def test_oda_empty(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "oda")
    (folder / "korea_total_aid_2019_230709.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match=r"korea_total_aid_2019_230709\.xlsx: could not be read as \.xlsx"):
        get_source("oda").load(tmp_path)


# ---------------------------------------------------------------------------------- events


def test_events_values(events):
    _check_keys(events.reset_index())
    assert set(events.index.get_level_values("iso3")) == {"CHN", "JPN"}
    assert list(events.xs("CHN").index) == list(range(2010, 2026))
    chn = events.xs("CHN")["china_content_restriction"]
    assert chn[2015] == 0 and chn[2016] == pytest.approx(184 / 366) and (chn.loc[2017:] == 1).all()
    jpn = events.xs("JPN")["japan_trade_dispute"]
    assert jpn[2018] == 0 and jpn[2019] == pytest.approx(184 / 365)
    assert (jpn.loc[2020:2022] == 1).all() and jpn[2023] == pytest.approx(82 / 365) and jpn[2024] == 0
    assert (events.xs("JPN")["china_content_restriction"] == 0).all()
    assert (events.xs("CHN")["japan_trade_dispute"] == 0).all()


def test_events_bad_input(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "events")
    path = folder / "contraflow_events_from_pages.csv"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace(",trade_dispute,", ",dispute,"), encoding="utf-8")
    with pytest.raises(DataError, match=r"no 'trade_dispute' event for JPN"):
        get_source("events").load(tmp_path)
    path.write_text(original.replace("2019-07-01,2023-03-23", "July 2019,2023-03-23"), encoding="utf-8")
    with pytest.raises(DataError, match=r"column `start_date` has an unreadable date 'July 2019'"):
        get_source("events").load(tmp_path)
    _rename_header(path, "event_type", "type")
    with pytest.raises(DataError, match=r"expected column\(s\) \['event_type'\] not found"):
        get_source("events").load(tmp_path)
    path.write_bytes(original.encode("utf-16"))
    with pytest.raises(DataError, match=r"contraflow_events_from_pages\.csv: is not valid utf-8 text"):
        get_source("events").load(tmp_path)
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"contraflow_events_from_pages\.csv: the file is empty"):
        get_source("events").load(tmp_path)
