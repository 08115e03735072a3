"""Target sources: KTO visitor arrivals, MoJ international students, UIS student flows.

Facts checked here are quoted in each source's PROVENANCE.md in the raw-data mirror.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from hallyu_forecast.errors import DataError, UnknownCountryError
from hallyu_forecast.sources import get_source
from hallyu_forecast.sources import intl_students, kto_arrivals
from hallyu_forecast.sources._io import read_csv
from helpers import copy_source


# ----------------------------------------------------------------------------- helpers
def _replace_text(path: Path, old: str, new: str, count: int = -1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.fixture(scope="module")
def kto(raw_dir: Path) -> pd.DataFrame:
    return get_source("kto_arrivals").load(raw_dir)


@pytest.fixture(scope="module")
def students(raw_dir: Path) -> pd.DataFrame:
    return get_source("intl_students").load(raw_dir)


@pytest.fixture(scope="module")
def uis(raw_dir: Path) -> pd.DataFrame:
    return get_source("uis_student_flows").load(raw_dir)


def _value(frame: pd.DataFrame, iso3: str, year: int, column: str) -> float:
    row = frame[(frame["iso3"] == iso3) & (frame["year"] == year)]
    assert len(row) == 1, f"expected one row for {iso3} {year}, got {len(row)}"
    return float(row[column].iloc[0])


@pytest.mark.parametrize("name", ["kto_arrivals", "intl_students", "uis_student_flows"])
def test_checksums_match_mirror(raw_dir: Path, name: str) -> None:
    for f in get_source(name).files:
        digest = hashlib.sha256((raw_dir / name / f.path).read_bytes()).hexdigest()
        assert digest == f.sha256, f"{name}/{f.path}: checksum changed"
        assert f.url and f.url.startswith("https://raw.githubusercontent.com/")


# ----------------------------------------------------------------------------- KTO arrivals
def test_kto_shape_and_units(kto: pd.DataFrame) -> None:
    assert list(kto.columns) == [
        "iso3", "year", "arrivals_0_20", "arrivals_21_30", "arrivals_0_30",
        "arrivals_age_sum", "arrivals_total", "arrivals_months",
    ]
    assert not kto.duplicated(["iso3", "year"]).any()
    assert kto["year"].min() == 2010
    assert kto["year"].max() <= 2023
    assert kto["iso3"].nunique() >= 30
    full = kto[kto["arrivals_months"] == 12]
    assert (full["arrivals_0_30"] == full["arrivals_0_20"] + full["arrivals_21_30"]).all()
    assert (full["arrivals_age_sum"] >= full["arrivals_0_30"]).all()
    with_total = full[full["arrivals_total"].notna()]
    assert set(with_total["year"]) <= set(range(2010, 2018))
    assert (with_total["arrivals_age_sum"] <= with_total["arrivals_total"]).all()
    # official Total is missing only for years not covered by tourists.csv
    assert full.loc[full["year"] <= 2017, "arrivals_total"].notna().all()
    assert full.loc[full["year"] >= 2018, "arrivals_total"].isna().all()


def test_kto_china_2017_total(kto: pd.DataFrame) -> None:
    if "CHN" not in set(kto["iso3"]):
        pytest.skip("CHN is not in this development extract; China 2017 = 4,169,353 cannot be checked")
    assert _value(kto, "CHN", 2017, "arrivals_total") == 4_169_353
    # THAAD fall 2016 -> 2017 is real, not a data error
    assert _value(kto, "CHN", 2017, "arrivals_total") < 0.6 * _value(kto, "CHN", 2016, "arrivals_total")


def test_kto_all_nationalities_2017_in_raw_total_row(raw_dir: Path) -> None:
    raw = read_csv(raw_dir / "kto_arrivals" / "tourists.csv", columns=["country", "age", "month", "visitors"])
    rows = raw[(raw["country"] == "Total") & (raw["age"] == "Total") & raw["month"].str.endswith("/2017")]
    assert len(rows) == 12
    assert rows["visitors"].sum() == 13_335_758


def test_kto_month_recovery_matches_entrance(raw_dir: Path) -> None:
    folder = raw_dir / "kto_arrivals"
    tourists = kto_arrivals._tourists_monthly(folder)
    entrance = kto_arrivals._entrance_monthly(folder)
    keys = ["iso3", "year", "month", "age"]
    checked = 0
    for iso3 in ("CHN", "JPN", "USA"):
        a = tourists[(tourists["iso3"] == iso3) & (tourists["year"] == 2017) & (tourists["month"] >= 7)
                     & (tourists["age"] != "Total")]
        b = entrance[(entrance["iso3"] == iso3) & (entrance["year"] == 2017)]
        if a.empty or b.empty:
            continue
        merged = a.merge(b, on=keys, suffixes=("_t", "_e"), validate="one_to_one")
        assert len(merged) == 6 * 6  # six months x six age groups
        assert (merged["visitors_t"] == merged["visitors_e"]).all(), iso3
        # a shifted month mapping would not match
        shifted = a.assign(month=a["month"] + 1).merge(b, on=keys, suffixes=("_t", "_e"))
        assert not (shifted["visitors_t"] == shifted["visitors_e"]).all()
        checked += 1
    if checked == 0:
        pytest.skip("none of CHN/JPN/USA is in both files of this extract")


def test_kto_every_country_has_twelve_months(raw_dir: Path, kto: pd.DataFrame) -> None:
    folder = raw_dir / "kto_arrivals"
    tourists = kto_arrivals._tourists_monthly(folder)
    entrance = kto_arrivals._entrance_monthly(folder)
    t_months = tourists.groupby(["iso3", "year"])["month"].nunique()
    assert (t_months == 12).all()
    e_months = entrance.groupby(["iso3", "year"])["month"].nunique()
    first_year = entrance["year"].min()
    assert (e_months[e_months.index.get_level_values("year") > first_year] == 12).all()
    # annual output: 12 months for every year 2010-2022 a country covers, except entrance.rda's
    # first (half) year for countries absent from tourists.csv; those rows are NaN, not collapses
    core = kto[kto["year"].between(2010, 2022)]
    partial = core[core["arrivals_months"] < 12]
    assert set(partial["year"]) <= {2017}
    assert not set(partial["iso3"]) & set(tourists["iso3"])
    assert partial.drop(columns=["iso3", "year", "arrivals_months"]).isna().all().all()
    for _, years in core.groupby("iso3")["year"]:
        assert list(years) == list(range(years.min(), years.max() + 1))


def test_kto_turkiye_merged(raw_dir: Path, kto: pd.DataFrame) -> None:
    entrance = kto_arrivals._entrance_monthly(raw_dir / "kto_arrivals")
    tur = entrance[entrance["iso3"] == "TUR"]
    assert set(tur["country"]) == {"터키", "튀르키예"}
    assert set(tur.loc[tur["country"] == "튀르키예", "year"]) == {2022}
    rows = kto[kto["iso3"] == "TUR"].set_index("year")
    assert rows.loc[2021, "arrivals_months"] == 12
    assert rows.loc[2022, "arrivals_months"] == 12
    assert rows.loc[2022, "arrivals_age_sum"] > 0


def test_kto_no_aggregates(raw_dir: Path, kto: pd.DataFrame) -> None:
    from hallyu_forecast.countries import known_iso3

    assert set(kto["iso3"]) <= known_iso3(raw_dir)
    entrance = kto_arrivals._entrance_monthly(raw_dir / "kto_arrivals")
    assert not {"GCC", "아시아 기타", "미주 기타", "구주 기타", "대양주 기타", "아프리카 기타"} & set(entrance["country"])
    tourists = kto_arrivals._tourists_monthly(raw_dir / "kto_arrivals")
    assert "Total" not in set(tourists["country"])
    # Itary and South Africa Union resolve
    assert {"ITA", "ZAF"} <= set(tourists["iso3"])


def test_kto_truncated_tourists(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "kto_arrivals")
    data = (folder / "tourists.csv").read_bytes()
    (folder / "tourists.csv").write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(DataError, match="truncated"):
        get_source("kto_arrivals").load(tmp_path)


def test_kto_truncated_at_line_boundary(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "kto_arrivals")
    data = (folder / "tourists.csv").read_bytes()
    cut = data[: int(len(data) * 0.6)]
    (folder / "tourists.csv").write_bytes(cut[: cut.rfind(b"\n") + 1])  # parses, but a month block is cut
    with pytest.raises(DataError, match="not a complete country x age x month table.*truncated"):
        get_source("kto_arrivals").load(tmp_path)


def test_kto_renamed_visitors_column(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "kto_arrivals")
    _replace_text(folder / "tourists.csv", '"visitors"', '"visits"', 1)
    with pytest.raises(DataError, match=r"tourists\.csv.*\['visitors'\] not found"):
        get_source("kto_arrivals").load(tmp_path)


def test_kto_garbage_entrance(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "kto_arrivals")
    (folder / "entrance.rda").write_bytes(b"this is not an R data file\x00\x01\x02" * 200)
    with pytest.raises(DataError, match=r"entrance\.rda.*could not be read as an R data file"):
        get_source("kto_arrivals").load(tmp_path)


def test_kto_unknown_country(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "kto_arrivals")
    _replace_text(folder / "tourists.csv", '"Ukraine"', '"Freedonia"')
    with pytest.raises(UnknownCountryError, match=r"kto_arrivals: 'Freedonia'"):
        get_source("kto_arrivals").load(tmp_path)


def test_kto_empty_and_wrong_encoding(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "kto_arrivals")
    text = (folder / "tourists.csv").read_text(encoding="utf-8")
    (folder / "tourists.csv").write_bytes(text.encode("utf-16"))
    with pytest.raises(DataError, match="not valid utf-8"):
        get_source("kto_arrivals").load(tmp_path)
    (folder / "tourists.csv").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        get_source("kto_arrivals").load(tmp_path)


def test_kto_overlap_disagreement_raises(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "kto_arrivals")
    raw = pd.read_csv(folder / "tourists.csv")
    country = raw.loc[raw["country"] != "Total", "country"].iloc[0]
    hit = (raw["country"] == country) & (raw["month"] == "1/1/2017") & (raw["age"] == "0-20")
    raw.loc[hit, "visitors"] = raw.loc[hit, "visitors"] * 3 + 1000
    raw.to_csv(folder / "tourists.csv", index=False)
    with pytest.raises(DataError, match="disagree by more than 0.5%"):
        get_source("kto_arrivals").load(tmp_path)


def test_kto_renumbered_ids_raise(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "kto_arrivals")
    raw = pd.read_csv(folder / "tourists.csv")
    raw["id"] = range(1, len(raw) + 1)  # ids no longer the original KOSIS row numbers
    raw.to_csv(folder / "tourists.csv", index=False)
    with pytest.raises(DataError, match="implies year"):
        get_source("kto_arrivals").load(tmp_path)


# ----------------------------------------------------------------------------- international students
def test_students_monthly_scale(raw_dir: Path) -> None:
    folder = raw_dir / "intl_students"
    monthly = intl_students._monthly(folder, include_noncountry=True)
    dec = monthly[(monthly["year"] == 2023) & (monthly["month"] == 12)]
    assert dec["students"].sum() == 226_507
    by_country = dec.groupby("iso3")["students"].sum()
    assert by_country["VNM"] == 80_343
    assert by_country["CHN"] == 70_888
    assert by_country["MNG"] == 13_802
    assert by_country["UZB"] == 12_530
    assert by_country["MMR"] == 5_064
    countries_only = intl_students._monthly(folder)
    assert countries_only["iso3"].notna().all()
    dec_c = countries_only[(countries_only["year"] == 2023) & (countries_only["month"] == 12)]
    assert 226_400 < dec_c["students"].sum() < 226_507  # stateless/unknown (a handful) dropped


def test_students_annual(students: pd.DataFrame, raw_dir: Path) -> None:
    assert set(students["year"]) == {2022, 2023}  # 2024 has only January: excluded
    assert not students.duplicated(["iso3", "year"]).any()
    assert students["iso3"].nunique() == 183
    assert (students["students_total"] == students["students_degree"] + students["students_language"]).all()
    assert (students[["students_degree", "students_language"]] >= 0).all().all()
    raw = pd.read_csv(raw_dir / "intl_students" / "international_students_data.csv")
    vnm = raw[(raw["iso3c"] == "VNM") & (raw["year"] == 2023)]
    assert _value(students, "VNM", 2023, "students_total") == pytest.approx(vnm["no_int_student"].sum() / 12)
    # absent cells are zeros: a country missing some months is averaged over 12, not over its months
    raw22 = raw[(raw["year"] == 2022) & raw["iso3c"].notna()]
    months = raw22.groupby("iso3c")["month"].nunique()
    sparse = months[months < 12].index[0]
    expected = raw22.loc[raw22["iso3c"] == sparse, "no_int_student"].sum() / 12
    assert _value(students, sparse, 2022, "students_total") == pytest.approx(expected)
    # ethnic-Korean Chinese (한국계중국인) are counted in CHN
    chn = raw[(raw["iso3c"] == "CHN") & (raw["year"] == 2023)]
    assert _value(students, "CHN", 2023, "students_total") == pytest.approx(chn["no_int_student"].sum() / 12)


def test_students_unexpected_missing_iso3_raises(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "intl_students")
    _replace_text(folder / "international_students_data.csv", ",가나,Language,24,GHA,", ",가나,Language,24,,", 1)
    with pytest.raises(DataError, match="missing `iso3c`.*가나"):
        get_source("intl_students").load(tmp_path)


def test_students_iso3_disagreement_raises(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "intl_students")
    _replace_text(folder / "international_students_data.csv", ",가나,Language,24,GHA,", ",가나,Language,24,GAB,", 1)
    with pytest.raises(DataError, match="disagrees with hallyu_forecast.countries.to_iso3"):
        get_source("intl_students").load(tmp_path)


def test_students_bad_files(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "intl_students")
    path = folder / "international_students_data.csv"
    original = path.read_bytes()
    _replace_text(path, "no_int_student", "students", 1)
    with pytest.raises(DataError, match=r"\['no_int_student'\] not found"):
        get_source("intl_students").load(tmp_path)
    cut = original[: int(len(original) * 0.5)]
    path.write_bytes(cut[: cut.rfind(b",")])  # cut right after a year/month field
    with pytest.raises(DataError, match="truncated"):
        get_source("intl_students").load(tmp_path)
    path.write_bytes(original.decode("utf-8").encode("utf-16"))
    with pytest.raises(DataError, match="not valid utf-8"):
        get_source("intl_students").load(tmp_path)


# ----------------------------------------------------------------------------- UIS student flows
def test_uis_spot_values(uis: pd.DataFrame) -> None:
    assert _value(uis, "CHN", 2019, "uis_students_to_kor") == 55_670
    assert _value(uis, "VNM", 2019, "uis_students_to_kor") == 13_176
    assert _value(uis, "UZB", 2019, "uis_students_to_kor") == 5_215
    assert _value(uis, "MNG", 2019, "uis_students_to_kor") == 4_551
    assert _value(uis, "JPN", 2019, "uis_students_to_kor") == 1_661
    assert _value(uis, "MNG", 2019, "uis_kor_rank") == 1


def test_uis_coverage_and_censoring(uis: pd.DataFrame) -> None:
    assert not uis.duplicated(["iso3", "year"]).any()
    assert uis["year"].min() == 1998 and uis["year"].max() == 2019
    per_year = uis.groupby("year").size()
    assert per_year.min() >= 13
    assert uis["uis_students_to_kor"].notna().all()  # rows only where observed; censored = absent
    ranks = uis["uis_kor_rank"].dropna()
    assert ranks.between(1, 25).all() and (ranks % 1 == 0).all()
    # United States: Korea not in its own top 10, filled from Korea's top-10 origins, rank unknown
    assert _value(uis, "USA", 2019, "uis_students_to_kor") == 1_026
    assert pd.isna(_value(uis, "USA", 2019, "uis_kor_rank"))


def test_uis_no_aggregates(uis: pd.DataFrame, raw_dir: Path) -> None:
    from hallyu_forecast.countries import known_iso3

    assert set(uis["iso3"]) <= known_iso3(raw_dir)
    assert "KOR" not in set(uis["iso3"])


def test_uis_files_disagree_raises(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "uis_student_flows")
    _replace_text(folder / "popular-origins-by-destination.csv",
                  "2019,Republic of Korea,China,55670", "2019,Republic of Korea,China,55000", 1)
    with pytest.raises(DataError, match="disagree on students to Korea"):
        get_source("uis_student_flows").load(tmp_path)


def test_uis_renamed_column_raises(raw_dir: Path, tmp_path: Path) -> None:
    folder = copy_source(raw_dir, tmp_path, "uis_student_flows")
    _replace_text(folder / "popular-destinations-by-origin.csv", "dest_country_lumped", "destination", 1)
    with pytest.raises(DataError, match=r"\['dest_country_lumped'\] not found"):
        get_source("uis_student_flows").load(tmp_path)
