"""KOFICE overseas Hallyu survey figures per country (compiled from press; validation only).

Raw file: ``kofice_survey_from_press.csv`` (39 rows, hand-compiled from public pages, each with its URL; see
the mirror's PROVENANCE.md). Used: the 2024 survey (reference year 2023) figures that the press printed for
the top and bottom countries only — ``content_favorability_share`` (% who like Korean content),
``monthly_korean_content_hours`` (hours of Korean content a month), ``image_of_korea_improved_share`` and
``interest_increased_vs_last_year_share``. The categorical Hallyu Status Index stages and the 2009 early
index are not used. Respondents are people who already use Korean content, so levels are not population
shares. Validation of the Hallyu index only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FILE = "kofice_survey_from_press.csv"
_COLUMNS = ["ref_year", "iso3c", "measure", "value", "source_url"]
MEASURES = {
    "content_favorability_share": "kofice_favorability_pct",
    "monthly_korean_content_hours": "kofice_content_hours",
    "image_of_korea_improved_share": "kofice_image_improved_pct",
    "interest_increased_vs_last_year_share": "kofice_interest_increased_pct",
}


def load(folder: Path) -> pd.DataFrame:
    """One row per (iso3, year) with the four numeric survey measures (missing where not printed)."""
    path = Path(folder) / FILE
    raw = read_csv(path, columns=_COLUMNS, dtype=str, keep_default_na=False)
    rows = raw[raw["measure"].isin(list(MEASURES)) & (raw["iso3c"].str.strip() != "")].copy()
    value = pd.to_numeric(rows["value"], errors="coerce")
    year = pd.to_numeric(rows["ref_year"], errors="coerce")
    bad = value.isna() | year.isna() | (value < 0)
    if bad.any():
        line = int(rows.index[bad][0]) + 2
        raise DataError(f"{path}, line {line}: `ref_year` and `value` must be numbers >= 0 for {sorted(MEASURES)}. "
                        "Fix the row or restore the original file.")
    long = pd.DataFrame({"iso3": rows["iso3c"].str.strip(), "year": year.astype("int64"),
                         "measure": rows["measure"].map(MEASURES), "value": value.astype("float64")})
    dup = long.duplicated(["iso3", "year", "measure"], keep="first")
    if dup.any():
        line = int(long.index[dup][0]) + 2
        raise DataError(f"{path}, line {line}: a second figure for the same country, year and measure; keep one.")
    wide = long.pivot(index=["iso3", "year"], columns="measure", values="value").reset_index().rename_axis(columns=None)
    for column in MEASURES.values():
        if column not in wide:
            wide[column] = float("nan")
    return wide[["iso3", "year", *MEASURES.values()]]


SOURCE = Source(
    name="kofice_survey",
    title="KOFICE overseas Hallyu survey (해외한류실태조사): per-country figures printed in the press",
    publisher="Ministry of Culture, Sports and Tourism and KOFICE (한국국제문화교류진흥원), as reported by news sites; compilation: hallyu_forecast",
    license="Facts from news and official pages; compilation CC0 (hallyu_forecast mirror)",
    citation=(
        "MCST & KOFICE, 2024 해외한류실태조사 (Global Hallyu Trends survey, reference year 2023), figures as printed by "
        "edaily.co.kr and cm.asiae.co.kr (2024-04); hallyu_forecast (2026) compilation kofice_survey_from_press.csv."
    ),
    homepage="https://hallyuresearch.kofice.or.kr",
    files=(RawFile(FILE, sha256="6a9b1cd67c0e5cfa6be54ecdc376d0b4dd02cf33b2fc5704bfa6859954618a75", url=None),),
    variables=(
        Variable("kofice_favorability_pct", "% of respondents",
                 "KOFICE survey: share of respondents (users of Korean content) who like Korean content; top countries "
                 "only, reference year 2023. Validation only", "context"),
        Variable("kofice_content_hours", "hours per month",
                 "KOFICE survey: hours of Korean content consumed per month per respondent; top and bottom countries, "
                 "reference year 2023. Validation only", "context"),
        Variable("kofice_image_improved_pct", "% of respondents",
                 "KOFICE survey: share whose image of Korea improved after contact with Korean content; top and bottom "
                 "countries, reference year 2023. Validation only", "context"),
        Variable("kofice_interest_increased_pct", "% of respondents",
                 "KOFICE survey: share whose interest in Korean content increased over the last year; top countries, "
                 "reference year 2023. Validation only", "context"),
    ),
    loader=load,
    static=False,
    notes="Not a panel: the press prints only extreme countries of each edition. Validation of the Hallyu index only.",
)
