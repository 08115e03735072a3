"""Reporters Without Borders (RSF), World Press Freedom Index: score and rank.

File ``sysdata.rda`` (R package "rsf" by P. Baumgartner, commit aad222b): RSF's yearly index CSVs
read with ``readr::read_delim(delim=";")`` and stored as data frames ``rsf2002 … rsf2025`` (no
2011 edition) plus ``m49``. Read with the ``rdata`` package and a forced latin-1 encoding (pyreadr
fails on its strings).

Variables (``iso3`` × ``year``; index editions 2013–2025 → years 2012–2024):

- ``rsf_score``: press freedom score 0–100, higher = freer, as RSF publishes it today.
- ``rsf_rank``: rank among the countries rated that edition (1 = freest; 179–180 countries).

Choices:

- **Year = index edition − 1.** An RSF index published in year Y (spring) assesses roughly the
  calendar year Y−1, so edition 2025 is stored as year 2024.
- **Lost decimal point (PROVENANCE caveat 1).** From 2012 on the scores lost their decimal comma
  when read (KOR 2013: 7552 = 75.52; KOR 2020: 763 = 76.30, a trailing zero also lost). Fix
  (petzi53's ``data-raw/rwb.R``): ×100 if < 100, ×10 if < 1,000, ÷10 if > 10,000, then ÷100.
  This is unambiguous because no fixed 2013+ score is below 10 (minimum 11.1). The fix is verified
  in the tests: scores decrease with rank in every edition, each edition's ``Score N-1`` column
  matches the previous edition's score, and KOR is 64.87 (edition 2024) and 64.06 (edition 2025).
  The loader raises if a fixed score leaves 0–100 or the rank order is violated.
- **Editions before 2013 are excluded.** 2002–2012 use an older scale (lower = freer, open-ended) and
  are not comparable. A second methodology break occurs with edition 2022 (year 2021): 2013–2021
  scores (years 2012–2020) and 2022+ scores (years 2021+) are on different methods — treat the break
  as a level shift.
- **Codes**: ``ISO`` is ISO3 except RSF's own codes in :data:`RSF_CODES`: XKO → XKX (Kosovo);
  CTU (Northern Cyprus, not recognised as a state) and XCD/CSS (OECS, the Organisation of Eastern
  Caribbean States rated as one unit) are dropped on purpose.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_rda_all

FILE = "sysdata.rda"
FIRST_EDITION = 2013
LAST_EDITION = 2025
ROLE = "local_conditions"
#: RSF's non-ISO codes; None = dropped on purpose.
RSF_CODES: dict[str, str | None] = {
    "XKO": "XKX",  # Kosovo
    "CTU": None,  # Northern Cyprus (Turkish Republic of Northern Cyprus), not a recognised state
    "XCD": None,  # OECS (Organisation of Eastern Caribbean States), a group rated as one unit
    "CSS": None,  # OECS under its code from edition 2023
}
SCORE_COLUMNS = ("Score N", "Score", "Score 2025")
RANK_COLUMNS = ("Rank N", "Rank")


def _fix() -> str:
    return "Restore the original file with `hallyu-forecast data pull` or from the mirror (HALLYU_DATA_DIR)."


def fix_score(raw: pd.Series) -> pd.Series:
    """Restore the decimal point RSF scores lost (2012+ editions); see the module docstring."""
    x = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy()
    fixed = np.where(x < 100, x * 100, np.where(x < 1000, x * 10, np.where(x > 10000, x / 10, x))) / 100
    return pd.Series(fixed, index=raw.index, dtype="float64")


def _pick(frame: pd.DataFrame, options: tuple[str, ...], path: Path, obj: str) -> str:
    for col in options:
        if col in frame.columns:
            return col
    raise DataError(f"{path}: data frame `{obj}` has none of the columns {list(options)}; it has "
                    f"{list(frame.columns)[:20]}. {_fix()}")


def _edition(objects: dict, edition: int, path: Path) -> pd.DataFrame:
    obj = f"rsf{edition}"
    if obj not in objects:
        raise DataError(f"{path}: no data frame `{obj}`; it holds {sorted(objects)[:30]}. {_fix()}")
    frame = objects[obj]
    if not isinstance(frame, pd.DataFrame) or frame.empty or "ISO" not in frame.columns:
        raise DataError(f"{path}: `{obj}` is not a data frame with an `ISO` column. {_fix()}")
    score_col = _pick(frame, SCORE_COLUMNS, path, obj)
    rank_col = _pick(frame, RANK_COLUMNS, path, obj)
    score = fix_score(frame[score_col])
    rank = pd.to_numeric(frame[rank_col], errors="coerce").astype("float64")
    if score.isna().any() or rank.isna().any() or not score.between(0, 100).all():
        raise DataError(f"{path}: `{obj}` has empty scores/ranks or scores outside 0-100 after the decimal fix. {_fix()}")
    ordered = score.to_numpy()[np.argsort(rank.to_numpy(), kind="stable")]
    if (np.diff(ordered) > 1e-9).any():
        raise DataError(f"{path}: in `{obj}` a better rank has a lower score after the decimal fix; the "
                        f"score column is damaged or its format changed (see rsf.fix_score). {_fix()}")
    return pd.DataFrame({"code": frame["ISO"].astype(str).str.strip().to_numpy(),
                         "year": edition - 1, "rsf_score": score.to_numpy(), "rsf_rank": rank.to_numpy()})


def load(folder: Path) -> pd.DataFrame:
    """RSF score and rank per ``iso3, year`` (years 2012–2024 = editions 2013–2025)."""
    path = Path(folder) / FILE
    with warnings.catch_warnings():  # rdata warns about R classes (tbl_df, col_spec) it converts generically
        warnings.simplefilter("ignore", UserWarning)
        objects = read_rda_all(path, latin1=True)
    frame = pd.concat([_edition(objects, e, path) for e in range(FIRST_EDITION, LAST_EDITION + 1)],
                      ignore_index=True)
    special = frame["code"].isin(list(RSF_CODES))
    iso3 = pd.Series(None, index=frame.index, dtype=object)
    iso3[special] = frame.loc[special, "code"].map(RSF_CODES)
    if (~special).any():
        iso3[~special] = to_iso3(frame.loc[~special, "code"], source="rsf", kind="iso3")
    frame["iso3"] = iso3
    frame = frame[frame["iso3"].notna()]
    dup = frame.duplicated(["iso3", "year"])
    if dup.any():
        raise DataError(f"{path}: duplicate country-years after mapping to ISO3, e.g. "
                        f"{frame.loc[dup, ['iso3', 'year']].head(5).to_dict('records')}; review rsf.RSF_CODES.")
    frame["year"] = frame["year"].astype("int64")
    return frame[["iso3", "year", "rsf_score", "rsf_rank"]].sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="rsf",
    title="World Press Freedom Index (editions 2013-2025)",
    publisher="Reporters sans frontieres (RSF)",
    license="No formal data license stated; RSF publishes the index openly (cite RSF)",
    citation="Reporters Without Borders (RSF), World Press Freedom Index, editions 2013-2025. https://rsf.org/en/index",
    homepage="https://rsf.org/en/index",
    files=(
        RawFile(FILE, "294a872dbd6b3d3ce32cd5130126dd6522b10bd8d1bf06b00de0a186d0d2b7b7",
                "https://raw.githubusercontent.com/petzi53/rsf/aad222b057e491e040253915d6a6b16d4d958449/R/sysdata.rda"),
    ),
    variables=(
        Variable("rsf_score", "score 0-100 (higher = freer)",
                 "World Press Freedom Index score, editions 2013-2025 stored as year = edition - 1 (2012-2024); "
                 "decimal point restored; methodology break between years 2020 and 2021 (edition 2022)", ROLE),
        Variable("rsf_rank", "rank (1 = freest, of 179-180)",
                 "World Press Freedom Index rank, year = edition - 1 (2012-2024)", ROLE),
    ),
    loader=load,
    static=False,
    notes=(
        "RSF's yearly CSVs (https://rsf.org/sites/default/files/import_classement/<YEAR>.csv) as stored in "
        "the R package petzi53/rsf (R/sysdata.rda). Year = index edition - 1 (an edition assesses the "
        "previous year). Scores lost their decimal point when read: fixed with x100 if <100, x10 if <1000, "
        "/10 if >10000, then /100 (verified: scores fall with rank in every edition, Score N-1 columns match "
        "the previous edition, KOR 64.87 in edition 2024 and 64.06 in 2025). Editions before 2013 (old "
        "lower-is-freer scale) are excluded; methodology break at edition 2022. XKO -> XKX; Northern Cyprus "
        "(CTU) and OECS (XCD/CSS) dropped."
    ),
)
