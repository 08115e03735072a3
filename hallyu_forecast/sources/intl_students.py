"""International students in Korea by nationality (Ministry of Justice D-2/D-4 visa holders), annual.

Raw file: ``international_students_data.csv`` from the kdata R package (kjayhan/kdata), a tidy copy of
the Ministry of Justice file "법무부_47(외국인 유학생) 월별 외국인 유학생 국적(지역)별 현황" on
data.go.kr: the monthly STOCK of registered foreign students by nationality and visa, 2022-01 …
2023-12 plus 2024-01. kdata recodes the visa as "Degree" (D-2, degree programmes) or "Language"
(D-4, Korean-language trainees).

Output: one row per (iso3, year), variables ``students_degree`` (D-2), ``students_language`` (D-4)
and ``students_total`` = their sum; unit persons, as the ANNUAL MEAN of the 12 monthly stocks.

Quirks handled, and how
-----------------------
1. **Absent cells are zeros.** The country × visa × month grid is not complete: the publisher omits
   zero cells. For each complete year, every country that appears anywhere in the file gets all 12
   months × 2 visas, absent cells filled with 0, before averaging. Countries never listed are not
   output (unknown, not zero).
2. **Only complete years.** A year is used only if the file has all 12 months (2022, 2023). 2024 has
   only January: a one-month "annual mean" would mix seasonality with level, so it is excluded.
3. **Split rows.** Some (country, month, visa) combinations appear in two rows (e.g. Vietnam
   "Language" 46,544 + 2 in 2023-12): kdata collapsed several original visa sub-codes into one label.
   The rows are additive parts and are summed (this reproduces the published totals: December 2023 =
   226,507; Vietnam 2023-12 = 80,343).
4. **Synonyms.** Several Korean names map to one ISO3 and are summed: 한국계중국인 (ethnic-Korean
   Chinese nationals) → CHN; 영국외지민/영국속령지시민/영국해외영토시민 (British overseas
   nationals/territories citizens) → GBR; spelling variants (러시아연방/러시아(연방), 터키/튀르키예,
   태국/타이, 마케도니아/북마케도니아, …).
5. **Non-country categories are dropped deliberately:** 무국적 (stateless), 미등록국가 (unregistered
   country), 홍콩거주난민 (refugees resident in Hong Kong) and 국적불명 (unknown nationality) — the rows
   whose ``iso3c`` is missing (~7 students a month). Any OTHER row with a missing ``iso3c`` raises
   :class:`DataError`.
6. **Two country mappings must agree.** The file's own ``iso3c`` is checked against
   :func:`hallyu_forecast.countries.to_iso3` of ``country_kr``; any disagreement raises
   :class:`DataError`. The package mapping is used as the key.

Caveats: only two annual observations per country; visa stock, not enrolment (differs from
KEDI/Ministry of Education statistics). D-4 (language trainees) is the more Hallyu-sensitive part.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FILE = "international_students_data.csv"
_SOURCE_NAME = "intl_students"
_COLUMNS = ["year", "month", "country_kr", "visa", "no_int_student", "iso3c", "country"]
_VISAS = {"Degree": "students_degree", "Language": "students_language"}
#: Categories without a nationality (rows with a missing ``iso3c``), dropped on purpose.
NONCOUNTRY_CATEGORIES: tuple[str, ...] = ("무국적", "미등록국가", "홍콩거주난민", "국적불명")


def _country_data_dir(folder: Path) -> Path | None:
    parent = Path(folder).parent
    return parent if (parent / "countrycode").is_dir() else None


def _integer_column(raw: pd.DataFrame, column: str, path: Path) -> pd.Series:
    values = pd.to_numeric(raw[column], errors="coerce")
    bad = values.isna() | (values < 0) | (values % 1 != 0)
    if bad.any():
        line = int(bad.to_numpy().nonzero()[0][0]) + 2  # 1-based, after the header line
        raise DataError(
            f"{path}: column `{column}` has {int(bad.sum())} missing, non-numeric, negative or fractional "
            f"value(s), first on line {line}; the file may be truncated or corrupt. Restore the original file."
        )
    return values.astype("int64")


def _monthly(folder: Path, include_noncountry: bool = False) -> pd.DataFrame:
    """Tidy monthly stocks: iso3, year, month, visa ('Degree'/'Language'), students (float).

    Split rows and synonyms are summed. Only cells present in the file are returned (absent = 0).
    With ``include_noncountry=True`` the stateless/unknown categories are kept, with iso3 missing.
    """

    path = Path(folder) / FILE
    raw = read_csv(path, columns=_COLUMNS, dtype={"country_kr": str, "iso3c": str, "visa": str})
    year = _integer_column(raw, "year", path)
    month = _integer_column(raw, "month", path)
    if not month.between(1, 12).all():
        raise DataError(f"{path}: column `month` holds values outside 1-12. Restore the original file.")
    students = _integer_column(raw, "no_int_student", path).astype("float64")
    visa = raw["visa"].astype(str).str.strip()
    unknown_visa = sorted(set(visa) - set(_VISAS))
    if unknown_visa:
        raise DataError(
            f"{path}: column `visa` holds {unknown_visa}; expected {sorted(_VISAS)} (kdata's recode of D-2/D-4). "
            "Update the loader if the publisher added a visa type."
        )
    name = raw["country_kr"].astype(str).str.strip()
    file_iso = raw["iso3c"].astype(object).where(raw["iso3c"].notna(), None)
    no_code = file_iso.isna()
    stray = sorted(set(name[no_code]) - set(NONCOUNTRY_CATEGORIES))
    if stray:
        raise DataError(
            f"{path}: rows with a missing `iso3c` must be one of the non-country categories "
            f"{list(NONCOUNTRY_CATEGORIES)}; found {stray}. Map them in "
            "hallyu_forecast/data/country_aliases.csv and update NONCOUNTRY_CATEGORIES if they are not countries."
        )
    has_code = ~no_code
    names = pd.Series(pd.unique(name[has_code]), dtype=object)
    mapped = dict(zip(names, to_iso3(names, source=_SOURCE_NAME, data_dir=_country_data_dir(folder))))
    iso3 = name.map(mapped).where(has_code, None)
    disagree = has_code & (iso3.astype(object) != file_iso.astype(object))
    if disagree.any():
        pairs = (
            pd.DataFrame({"country_kr": name[disagree], "file_iso3c": file_iso[disagree], "to_iso3": iso3[disagree]})
            .drop_duplicates()
            .head(10)
            .to_dict("records")
        )
        raise DataError(
            f"{path}: the file's `iso3c` disagrees with hallyu_forecast.countries.to_iso3 for {pairs}. "
            "Fix the alias in hallyu_forecast/data/country_aliases.csv or check the file."
        )
    frame = pd.DataFrame({"iso3": iso3, "year": year, "month": month, "visa": visa, "students": students})
    if not include_noncountry:
        frame = frame[has_code]
    return (
        frame.groupby(["iso3", "year", "month", "visa"], as_index=False, dropna=False)["students"]
        .sum()
        .sort_values(["year", "month", "iso3", "visa"])
        .reset_index(drop=True)
    )


def load(folder: Path) -> pd.DataFrame:
    """Annual mean stocks per (iso3, year) for complete years; see the module docstring."""
    monthly = _monthly(folder)
    months = monthly.groupby("year")["month"].nunique()
    complete = sorted(months[months == 12].index)
    countries = sorted(monthly["iso3"].unique())
    grid = pd.MultiIndex.from_product(
        [countries, complete, range(1, 13), list(_VISAS)], names=["iso3", "year", "month", "visa"]
    )
    stocks = (
        monthly.set_index(["iso3", "year", "month", "visa"])["students"]
        .reindex(grid, fill_value=0.0)  # absent cells are zeros (publisher omits them)
    )
    annual = stocks.groupby(["iso3", "year", "visa"]).mean().unstack("visa").rename(columns=_VISAS)
    out = annual.reindex(columns=list(_VISAS.values())).astype("float64")
    out["students_total"] = out["students_degree"] + out["students_language"]
    return out.reset_index().rename_axis(columns=None).sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="intl_students",
    title="International students in Korea by nationality (D-2 degree and D-4 language visa holders)",
    publisher="Ministry of Justice of Korea (법무부), via data.go.kr; tidied by the kdata R package",
    license="Public data (data.go.kr); kdata repository MIT (Copyright (c) 2024 kdata authors)",
    citation=(
        "Ministry of Justice, 법무부_47(외국인 유학생) 월별 외국인 유학생 국적(지역)별 현황, Public Data Portal "
        "https://www.data.go.kr/data/15100039/fileData.do (downloaded 2024-03-23), as tidied in kjayhan/kdata "
        "data-raw/education/international_students_data.csv (commit 46aca5a)."
    ),
    homepage="https://www.data.go.kr/data/15100039/fileData.do",
    files=(
        RawFile(
            FILE,
            sha256="74385aa65b8550e93ec843d230dd5bda8c481c3758304a2ccef3d1d2cfaa0c43",
            url=(
                "https://raw.githubusercontent.com/kjayhan/kdata/46aca5ab429aa1ac563e64400629258ac94a0387/"
                "data-raw/education/international_students_data.csv"
            ),
        ),
    ),
    variables=(
        Variable(
            "students_degree",
            "persons (annual mean of monthly stocks)",
            "Registered foreign students in Korea on D-2 (degree programme) visas, by nationality; mean of the "
            "12 end-of-month stocks of the year (absent cells = 0). Complete years only (2022-2023)",
            "target",
        ),
        Variable(
            "students_language",
            "persons (annual mean of monthly stocks)",
            "Registered foreign Korean-language trainees in Korea on D-4 visas, by nationality; mean of the 12 "
            "monthly stocks (absent cells = 0). The Hallyu-sensitive part. Complete years only (2022-2023)",
            "target",
        ),
        Variable(
            "students_total",
            "persons (annual mean of monthly stocks)",
            "students_degree + students_language (D-2 + D-4 visa holders), annual mean of monthly stocks",
            "target",
        ),
    ),
    loader=load,
    static=False,
    notes=(
        "Stock of registered D-2/D-4 visa holders (Ministry of Justice), not enrolments. Annual value = mean "
        "of the 12 monthly stocks; the publisher omits zero cells, so absent country-visa-months are zeros for "
        "every country listed anywhere in the file. Only complete years (2022, 2023); 2024 has only January "
        "and is excluded. Duplicate (country, month, visa) rows are additive parts of kdata's visa recode and "
        "are summed; synonyms are summed (한국계중국인 -> CHN; British overseas categories -> GBR). Rows with "
        "missing iso3c (무국적, 미등록국가, 홍콩거주난민, 국적불명: stateless/unknown, ~7 persons a month) are "
        "dropped deliberately; any other missing iso3c raises. The file's iso3c is checked against "
        "countries.to_iso3(country_kr) and must agree. Only two years: not a forecasting target on its own."
    ),
)
