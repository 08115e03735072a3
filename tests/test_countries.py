"""Country harmonisation: every spelling the raw files use maps to one ISO3; nothing is dropped silently."""

from __future__ import annotations

import pandas as pd
import pytest

from hallyu_forecast.countries import known_iso3, to_iso3
from hallyu_forecast.errors import DataError, UnknownCountryError

CASES = {
    "Itary": "ITA",
    "South Africa Union": "ZAF",
    "USA": "USA",
    "United States": "USA",
    "Hong Kong": "HKG",
    "Taiwan": "TWN",
    "Türkiye": "TUR",
    "터키": "TUR",
    "튀르키예": "TUR",
    "미국": "USA",
    "일본": "JPN",
    "중국": "CHN",
    "홍콩": "HKG",
    "대만": "TWN",
    "Viet Nam": "VNM",
    "Republic of Korea": "KOR",
    "Korea, Rep.": "KOR",
    "Democratic People's Republic of Korea": "PRK",
    "Russian Federation": "RUS",
    "Iran (Islamic Republic of)": "IRN",
    "Lao People's Democratic Republic": "LAO",
    "Congo": "COG",
    "Democratic Republic of the Congo": "COD",
    "Czechia": "CZE",
    "Eswatini": "SWZ",
    "Kosovo": "XKX",
    "Macao": "MAC",
}


def test_names_in_all_spellings(raw_dir):
    got = to_iso3(list(CASES), source="test").tolist()
    assert dict(zip(CASES, got)) == CASES


@pytest.mark.parametrize("name", ["World", "아시아 기타", "구주 기타", "GCC", "Total", "Other countries", "무국적"])
def test_aggregates_and_noncountries_are_never_countries(raw_dir, name):
    assert pd.isna(to_iso3([name], source="test").iloc[0])


@pytest.mark.parametrize(("code", "iso3"), [("ROM", "ROU"), ("ZAR", "COD"), ("TMP", "TLS"), ("PAL", "PSE"), ("KOR", "KOR")])
def test_legacy_codes(raw_dir, code, iso3):
    assert to_iso3([code], source="cepii", kind="iso3").iloc[0] == iso3


def test_numeric_and_polity_codes(raw_dir):
    assert to_iso3([732, "2", 710.0], source="t", kind="cown").tolist() == ["KOR", "USA", "CHN"]
    assert to_iso3(["ROK", "TAW", "UKG"], source="t", kind="p5c").tolist() == ["KOR", "TWN", "GBR"]
    assert to_iso3([410, 158], source="t", kind="iso3n").tolist() == ["KOR", "TWN"]


def test_unresolved_values_are_all_listed_with_their_source(raw_dir):
    with pytest.raises(UnknownCountryError) as info:
        to_iso3(["Narnia", "Japan", "Atlantis", "Narnia"], source="kto_arrivals")
    assert info.value.unresolved == {"kto_arrivals": ["'Atlantis' (no match)", "'Narnia' (no match)"]}
    assert "kto_arrivals: 'Atlantis' (no match), 'Narnia' (no match)" in str(info.value)
    assert "country_aliases.csv" in str(info.value)


def test_index_is_preserved(raw_dir):
    s = pd.Series(["Japan", "Itary"], index=[10, 20])
    assert to_iso3(s, source="t").to_dict() == {10: "JPN", 20: "ITA"}


def test_unknown_kind(raw_dir):
    with pytest.raises(DataError, match=r"`kind` must be one of"):
        to_iso3(["Japan"], source="t", kind="fips")


def test_known_iso3_includes_taiwan_and_kosovo(raw_dir):
    known = known_iso3()
    assert {"TWN", "XKX", "HKG", "KOR"} <= known
