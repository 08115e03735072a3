"""Local-conditions sources: wdi, gapminder, owid, vdem, freedomhouse, polity5, rsf.

Spot checks use numbers quoted in each source's PROVENANCE.md; bad-input tests damage copies of
the raw files in tmp_path (never the mirror).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.errors import DataError, UnknownCountryError
from hallyu_forecast.sources import get_source
from hallyu_forecast.sources import wdi as wdi_mod
from helpers import copy_source

SOURCES = ("wdi", "gapminder", "owid", "vdem", "freedomhouse", "polity5", "rsf")


# --------------------------------------------------------------------------- helpers / fixtures
@pytest.fixture(scope="module")
def loaded(raw_dir: Path) -> dict[str, pd.DataFrame]:
    return {name: get_source(name).load(raw_dir) for name in SOURCES}


def truncate(path: Path, fraction: float = 0.5, at_line: bool = False) -> None:
    data = path.read_bytes()
    cut = int(len(data) * fraction)
    if at_line:
        cut = data.rindex(b"\n", 0, cut) + 1
    path.write_bytes(data[:cut])


def replace_text(path: Path, old: str, new: str, count: int = -1, encoding: str = "utf-8") -> None:
    text = path.read_text(encoding=encoding)
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding=encoding, newline="")


def value(frame: pd.DataFrame, iso3: str, year: int, column: str) -> float:
    row = frame[(frame["iso3"] == iso3) & (frame["year"] == year)]
    assert len(row) == 1, (iso3, year)
    return float(row[column].iloc[0])


# --------------------------------------------------------------------------- all sources
@pytest.mark.parametrize("name", SOURCES)
def test_contract(loaded, name):
    frame = loaded[name]
    source = get_source(name)
    assert list(frame.columns) == ["iso3", "year", *[v.name for v in source.variables]]
    assert not frame.duplicated(["iso3", "year"]).any()
    assert frame["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert frame["year"].dtype == "int64" and frame["year"].min() >= 1990 and frame["year"].max() <= 2024
    assert all(frame[v.name].dtype == "float64" for v in source.variables)
    assert all(v.role == "local_conditions" for v in source.variables)
    assert all(len(f.sha256) == 64 for f in source.files)
    assert not source.static


@pytest.mark.parametrize("name", SOURCES)
def test_declared_checksums_match_mirror(raw_dir, name):
    import hashlib

    for f in get_source(name).files:
        assert hashlib.sha256((raw_dir / name / f.path).read_bytes()).hexdigest() == f.sha256, f.path


# --------------------------------------------------------------------------- wdi
def test_wdi_coverage_and_values(loaded, raw_dir):
    d = loaded["wdi"]
    # 217 economies have a WB region; CHI (Channel Islands, no ISO3) is dropped on purpose.
    meta = pd.read_csv(raw_dir / "wdi" / wdi_mod.METADATA_COUNTRY, encoding="utf-8-sig")
    assert meta["Region"].notna().sum() == 217
    assert d["iso3"].nunique() == 216 and "CHI" not in set(d["iso3"])
    assert {"XKX", "KOR", "HKG", "MAC"} <= set(d["iso3"]) and "TWN" not in set(d["iso3"])
    assert not set(d["iso3"]) & {"WLD", "EAS", "HIC", "INX", "EUU"}
    # PROVENANCE: population covers all economies; GDP PPP 184 economies in 2024; GDP pc 214 (incl. CHI).
    assert d.loc[(d["year"] == 2023), "population_wdi"].notna().sum() == 216
    assert d.loc[(d["year"] == 2024), "gdp_pc_ppp"].notna().sum() == 184
    assert d.loc[d["gdp_pc_usd"].notna(), "iso3"].nunique() == 213
    assert value(d, "KOR", 2023, "population_wdi") == 51_712_619
    assert value(d, "KOR", 2023, "gdp_pc_ppp") == pytest.approx(50414.2083391764)
    assert d["urban_pct"].dropna().between(0, 100).all()
    assert d["internet_pct"].dropna().between(0, 100).all()


def test_wdi_country_metadata(raw_dir):
    meta = wdi_mod.country_metadata(raw_dir / "wdi")
    assert list(meta.columns) == ["iso3", "wb_region", "income_group"]
    assert len(meta) == 216 and meta["iso3"].is_unique
    row = meta.set_index("iso3").loc["KOR"]
    assert row["wb_region"] == "East Asia & Pacific" and row["income_group"] == "High income"
    assert pd.isna(meta.set_index("iso3").loc["VEN", "income_group"])  # unclassified
    counts = meta["income_group"].value_counts()
    assert counts["High income"] == 84 and counts["Low income"] == 26  # 85 High incl. CHI


POP_FILE = wdi_mod.api_file("SP.POP.TOTL", "391465")
GDP_FILE = wdi_mod.api_file("NY.GDP.MKTP.CD", "391573")


def test_wdi_altered_indicator_code(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "wdi")
    replace_text(folder / POP_FILE, '"SP.POP.TOTL"', '"SP.POP.TOTX"', encoding="utf-8-sig")
    with pytest.raises(DataError, match=r"`Indicator Code` is \['SP.POP.TOTX'\], expected \['SP.POP.TOTL'\]"):
        get_source("wdi").load(tmp_path)


def test_wdi_swapped_file(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "wdi")
    shutil.copyfile(folder / GDP_FILE, folder / POP_FILE)
    with pytest.raises(DataError, match=r"expected \['SP.POP.TOTL'\] \(variable `population_wdi`\).*swapped"):
        get_source("wdi").load(tmp_path)


def test_wdi_truncated_file(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "wdi")
    truncate(folder / POP_FILE, 0.5, at_line=True)
    with pytest.raises(DataError, match=r"API_SP.POP.TOTL.*economies .* missing; the file looks truncated"):
        get_source("wdi").load(tmp_path)


@pytest.mark.parametrize(
    "at_line, message",
    [
        (True, r"Metadata_Country.*codes \['LBN', .* have no row; the metadata file looks truncated"),
        (False, r"Metadata_Country.*could not be parsed as CSV .*EOF inside string"),
    ],
)
def test_wdi_truncated_metadata(raw_dir, tmp_path, at_line, message):
    folder = copy_source(raw_dir, tmp_path, "wdi")
    truncate(folder / wdi_mod.METADATA_COUNTRY, 0.5, at_line=at_line)
    with pytest.raises(DataError, match=message):
        get_source("wdi").load(tmp_path)


def test_wdi_renamed_column(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "wdi")
    replace_text(folder / POP_FILE, '"Country Code"', '"CountryCode"', count=1, encoding="utf-8-sig")
    with pytest.raises(DataError, match=r"expected column\(s\) \['Country Code'\] not found"):
        get_source("wdi").load(tmp_path)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_wdi_wrong_encoding(raw_dir, tmp_path, encoding):
    folder = copy_source(raw_dir, tmp_path, "wdi")
    path = folder / wdi_mod.METADATA_COUNTRY
    text = path.read_text(encoding="utf-8-sig")
    assert "Curaçao" in text  # a non-ASCII character, so cp1252 bytes are invalid UTF-8
    path.write_bytes(text.encode(encoding))
    with pytest.raises(DataError, match=r"Metadata_Country.*is not valid utf-8-sig text"):
        get_source("wdi").load(tmp_path)


# --------------------------------------------------------------------------- gapminder
def test_gapminder_values(loaded):
    d = loaded["gapminder"]
    assert value(d, "TWN", 2010, "population_gm") == 23_224_049
    assert value(d, "TWN", 2019, "gdp_pc_ppp_2017") == pytest.approx(51_310.5, abs=0.05)
    assert value(d, "TWN", 2024, "gdp_pc_ppp_2017") == pytest.approx(61_377.6, abs=0.05)
    assert value(d, "TWN", 2024, "gdp_pc_ppp_gm2021") == pytest.approx(79_564.8, abs=0.05)
    assert value(d, "TWN", 2010, "internet_pct_gm") == pytest.approx(71.50)
    assert value(d, "TWN", 2019, "pop_65_pct_gm") == pytest.approx(15.08, abs=0.005)
    assert d["year"].max() == 2024  # projections to 2100 are not emitted
    assert d.loc[d["internet_pct_gm"].notna(), "year"].max() == 2019
    assert d["internet_pct_gm"].dropna().between(0, 100).all()
    twn = d[(d["iso3"] == "TWN") & d["year"].between(2005, 2024)]
    assert twn["population_gm"].notna().sum() == 20
    # Non-ISO geo ids: kos -> XKX (age files), hos -> VAT, gbg -> GGY, gbm -> IMN.
    assert {"XKX", "VAT", "GGY", "IMN", "CUW", "BLM"} <= set(d["iso3"])
    assert d.loc[d["iso3"] == "XKX", "pop_65_pct_gm"].notna().all()
    # KOR HEAD/v31 ratio is flat (pure base change), unlike TWN (PROVENANCE caveat 1).
    kor = d[d["iso3"] == "KOR"].set_index("year")
    ratio = (kor["gdp_pc_ppp_gm2021"] / kor["gdp_pc_ppp_2017"]).loc[2005:2023]
    assert ratio.max() - ratio.min() < 0.01


def test_gapminder_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "gapminder")
    truncate(folder / "ddf--datapoints--pop--by--country--time.csv", 0.5)
    with pytest.raises(DataError, match=r"pop--by--country--time.csv: .*incomplete last line.*truncated"):
        get_source("gapminder").load(tmp_path)


def test_gapminder_renamed_column(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "gapminder")
    replace_text(folder / "ddf--datapoints--pop--by--country--time.csv", "country,time,pop", "country,time,population", 1)
    with pytest.raises(DataError, match=r"expected column\(s\) \['pop'\] not found"):
        get_source("gapminder").load(tmp_path)


def test_gapminder_unknown_geo(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "gapminder")
    path = folder / "ddf--datapoints--pop--by--country--time.csv"
    path.write_bytes(path.read_bytes() + b"atlantis,2000,5\n")
    with pytest.raises(UnknownCountryError, match=r"gapminder: 'atlantis'"):
        get_source("gapminder").load(tmp_path)


# --------------------------------------------------------------------------- owid
def test_owid_values(loaded):
    d = loaded["owid"]
    assert value(d, "KOR", 2022, "mobile_subs") == 76_992_104  # PROVENANCE example, absolute count
    assert "XKX" in set(d["iso3"])  # OWID_KOS
    assert not d["iso3"].str.startswith("OWID").any()
    # Faroe Islands: empty-Code "Faeroe Islands" rows combined with the FRO rows.
    assert value(d, "FRO", 2000, "mobile_subs") == 16_971 and value(d, "FRO", 2000, "internet_users_n") == 15_038
    assert d.loc[d["broadband_per100"].notna(), "year"].agg(["min", "max"]).tolist() == [1998, 2021]
    assert d.loc[d["tertiary_enrol_pct"].notna(), "year"].max() <= 2015
    assert d.loc[d["trade_pct_gdp"].notna(), "year"].max() == 2024
    assert d["broadband_per100"].dropna().between(0, 100).all()


def test_owid_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "owid")
    truncate(folder / "trade-as-share-of-gdp.csv", 0.5)
    with pytest.raises(DataError, match=r"trade-as-share-of-gdp.csv: no rows for Zimbabwe .*truncated"):
        get_source("owid").load(tmp_path)


def test_owid_renamed_column(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "owid")
    replace_text(folder / "trade-as-share-of-gdp.csv", "Trade (% of GDP)", "Trade share", 1)
    with pytest.raises(DataError, match=r"expected column\(s\) \['Trade \(% of GDP\)'\] not found"):
        get_source("owid").load(tmp_path)


# --------------------------------------------------------------------------- vdem
def test_vdem_values(loaded):
    d = loaded["vdem"]
    assert value(d, "KOR", 2023, "polyarchy") == pytest.approx(0.703)
    assert value(d, "KOR", 2023, "polyarchy_v15") == pytest.approx(0.733)  # separate release, not spliced
    assert value(d, "KOR", 2024, "polyarchy_v15") == pytest.approx(0.729)
    assert np.isnan(value(d, "KOR", 2024, "polyarchy"))  # v14 ends in 2023
    assert d.loc[d["polyarchy"].notna(), "year"].max() == 2023
    # PROVENANCE per-year counts 175/178/179 minus SML, ZZB (and PSG from 2007).
    counts = d[d["polyarchy"].notna()].groupby("year").size()
    assert (counts[1995], counts[2010], counts[2023]) == (173, 175, 176)
    assert "TWN" in set(d["iso3"]) and "PSE" in set(d["iso3"])
    assert set(d["regime_row"].dropna().unique()) <= {0.0, 1.0, 2.0, 3.0}
    for col in ("polyarchy", "libdem", "freexp_altinf", "civlib", "corruption", "polyarchy_v15"):
        assert d[col].dropna().between(0, 1).all(), col


def test_vdem_palestine_is_west_bank(loaded, raw_dir):
    import pyreadr

    lite = pyreadr.read_r(str(raw_dir / "vdem" / "vdemlite.rda"))["vdemlite"]
    wb = lite[(lite["country_text_id"] == "PSE") & (lite["year"] == 2020)]["v2x_polyarchy"].iloc[0]
    assert value(loaded["vdem"], "PSE", 2020, "polyarchy") == pytest.approx(wb)


def test_vdem_truncated_rda(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "vdem")
    truncate(folder / "vdemlite.rda", 0.5)
    with pytest.raises(DataError, match=r"vdemlite.rda: could not be read as an R data file"):
        get_source("vdem").load(tmp_path)


# --------------------------------------------------------------------------- freedomhouse
def test_freedomhouse_values(loaded):
    d = loaded["freedomhouse"]
    assert value(d, "KOR", 2012, "fh_total") == 86  # edition 2013 => year 2012
    assert value(d, "KOR", 2024, "fh_total") == 81  # edition 2025
    assert value(d, "KOR", 2012, "fh_pr") == 1 and value(d, "KOR", 2012, "fh_cl") == 2
    assert value(d, "KOR", 2024, "fh_pr") == 2  # 2024 ratings from the All_data file
    assert value(d, "PRK", 2023, "fh_status") == 0 and value(d, "KOR", 2023, "fh_status") == 2
    assert d.loc[d["fh_total"].notna(), "year"].agg(["min", "max"]).tolist() == [2012, 2024]
    assert d[d["fh_total"].notna()].groupby("year").size().eq(196).all()  # 195 countries + Hong Kong
    assert d.loc[d["iso3"] == "SRB", "year"].min() == 1992  # FRY from 1992
    assert d["fh_pr"].dropna().between(1, 7).all() and d["fh_cl"].dropna().between(1, 7).all()
    assert set(d["fh_status"].dropna().unique()) <= {0.0, 1.0, 2.0}
    assert "TWN" in set(d["iso3"]) and "HKG" in set(d["iso3"])


def test_freedomhouse_garbage_xlsx(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "freedomhouse")
    (folder / "All_data_FIW_2013-2024.xlsx").write_bytes(b"this is not a workbook\n" * 100)
    with pytest.raises(DataError, match=r"All_data_FIW_2013-2024.xlsx: could not be read as .xlsx"):
        get_source("freedomhouse").load(tmp_path)


def test_freedomhouse_truncated_xlsx(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "freedomhouse")
    truncate(folder / "Country_and_Territory_Ratings_and_Statuses_FIW_1973-2024.xlsx", 0.5)
    with pytest.raises(DataError, match=r"FIW_1973-2024.xlsx: could not be read as .xlsx"):
        get_source("freedomhouse").load(tmp_path)


def test_freedomhouse_bad_cell_and_sheet(raw_dir, tmp_path):
    import openpyxl

    folder = copy_source(raw_dir, tmp_path, "freedomhouse")
    path = folder / "Country_and_Territory_Ratings_and_Statuses_FIW_1973-2024.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["Country Ratings, Statuses "]
    sheet.cell(row=4, column=sheet.max_column - 2).value = "X"  # Afghanistan, PR of the last year
    book.save(path)
    with pytest.raises(DataError, match=r"unexpected PR value\(s\) \['X'\]"):
        get_source("freedomhouse").load(tmp_path)
    book["Country Ratings, Statuses "].title = "Country Ratings, Statuses"  # trailing space removed
    book.save(path)
    with pytest.raises(DataError, match=r"has no sheet 'Country Ratings, Statuses '"):
        get_source("freedomhouse").load(tmp_path)


# --------------------------------------------------------------------------- polity5
def test_polity5_values(loaded):
    d = loaded["polity5"]
    assert value(d, "KOR", 2018, "polity2") == 8 and value(d, "TWN", 2018, "polity2") == 10
    assert value(d, "PRK", 2018, "polity2") == -10
    assert d.loc[d["iso3"] != "USA", "year"].max() == 2018  # Polity5 ends in 2018
    assert d[d["year"] == 2018].shape[0] == 167
    assert d["polity2"].dropna().between(-10, 10).all()
    assert {"SRB", "XKX", "SDN", "SSD", "ETH", "RUS", "CZE"} <= set(d["iso3"])
    assert d.loc[d["iso3"] == "CZE", "year"].min() == 1993  # Czechoslovakia (Polity CZE) is not Czechia


def test_polity5_truncated(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "polity5")
    truncate(folder / "p5v2018.csv", 0.5)
    with pytest.raises(DataError, match=r"p5v2018.csv: .*(truncated|damaged)"):
        get_source("polity5").load(tmp_path)


def test_polity5_renamed_column(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "polity5")
    replace_text(folder / "p5v2018.csv", ",polity2,", ",polity_2,", 1)
    with pytest.raises(DataError, match=r"expected column\(s\) \['polity2'\] not found"):
        get_source("polity5").load(tmp_path)


# --------------------------------------------------------------------------- rsf
def test_rsf_values(loaded):
    d = loaded["rsf"]
    assert value(d, "KOR", 2023, "rsf_score") == pytest.approx(64.87)  # index 2024
    assert value(d, "KOR", 2024, "rsf_score") == pytest.approx(64.06)  # index 2025
    assert value(d, "KOR", 2012, "rsf_score") == pytest.approx(75.52)  # index 2013: 7552
    assert value(d, "KOR", 2019, "rsf_score") == pytest.approx(76.30)  # index 2020: 763
    assert value(d, "KOR", 2023, "rsf_rank") == 62
    assert d["year"].agg(["min", "max"]).tolist() == [2012, 2024]
    assert d["rsf_score"].between(10, 100).all()
    assert "XKX" in set(d["iso3"]) and not set(d["iso3"]) & {"XKO", "CTU", "XCD", "CSS"}
    assert "TWN" in set(d["iso3"]) and "HKG" in set(d["iso3"])


def test_rsf_decimal_fix_matches_previous_year_column(raw_dir):
    import warnings

    import rdata

    from hallyu_forecast.sources.rsf import fix_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        objects = rdata.conversion.convert(
            rdata.parser.parse_file(raw_dir / "rsf" / "sysdata.rda", extension="rda"),
            default_encoding="latin1", force_default_encoding=True,
        )
    prev = objects["rsf2024"].set_index("ISO")["Score"]
    cur = objects["rsf2025"].set_index("ISO")["Score N-1"]
    both = pd.concat([fix_score(prev), fix_score(cur)], axis=1, keys=["a", "b"]).dropna()
    assert len(both) == 180 and np.allclose(both["a"], both["b"], atol=0.006)
    assert fix_score(pd.Series([7552.0, 763.0, 76.0, 65487.0])).tolist() == pytest.approx([75.52, 76.3, 76.0, 65.487])


def test_rsf_truncated_rda(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "rsf")
    truncate(folder / "sysdata.rda", 0.5)
    with pytest.raises(DataError, match=r"sysdata.rda: could not be read as an R data file"):
        get_source("rsf").load(tmp_path)


def test_missing_file_named(raw_dir, tmp_path):
    folder = copy_source(raw_dir, tmp_path, "polity5")
    (folder / "p5v2018.csv").unlink()
    with pytest.raises(DataError, match=r"Source `polity5`: missing raw file\(s\) \['p5v2018.csv'\]"):
        get_source("polity5").load(tmp_path)
