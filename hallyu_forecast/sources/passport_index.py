"""Passport Index: Korea's visa policy toward each passport and the Korean passport's access, 2019-2025.

Source: Ilya Ilyankou's passport-index-dataset (GitHub ``ilyankou/passport-index-dataset``,
commit ``a46dbc8``), tidy ISO3 files (columns Passport, Destination, Code/Requirement), built
from passportindex.org. One snapshot per calendar year, the earliest in that year:
2019-11-23 (the only 2019 snapshot), 2020-02-07, 2021-01-25, 2022-01-05, 2023-01-11,
2024-01-05 and 2025-01-02. ``year`` is the snapshot's calendar year, so a value describes the
policy in force at (mostly) the start of that year — for 2019, in November. The HEAD file of
2025-01-12 is declared (it is the repository's current file) but not used: 2025 already has
the 2025-01-02 snapshot.

Variables (per partner ``iso3`` x ``year``):

- ``kor_visa_openness`` (Destination == "KOR": Korea's entry rule for holders of the
  partner's passport), harmonised across the changing code schemes to an ordinal scale:
  3 = visa-free (2019 code 3; 2020 "VF"; 2021+ "visa free"; or an integer number of
  visa-free days), 2 = visa on arrival (2019 code 2; "VOA"; "visa on arrival"),
  1 = electronic pre-authorisation (2019 code 1 = eTA; "ETA"; "e-visa"; "eta"),
  0 = visa required or no admission (2019 code 0; "VR"; "visa required"; "no admission").
  **The 2020-02-07 snapshot swaps the "VOA" and "ETA" labels** ("VOA" for USA, Canada,
  Australia, New Zealand, India, Sri Lanka — all electronic-authorisation countries — and
  "ETA" for ~50 visa-on-arrival countries; cross-tabulated against 2019-11-23, 8,262 of
  8,383 "ETA" cells had code 2 and 718 of 719 "VOA" cells code 1), so for that snapshot
  "VOA" -> 1 and "ETA" -> 2.
  K-ETA, Korea's electronic travel authorisation for visa-exempt nationals (2021 on), was
  coded "e-visa" until 2025-01-12, when the dataset split it into "eta"; both map to 1, so
  from 2022 most formerly visa-free passports score 1 (e.g. 172 passports in 2024).
- ``kor_covid_entry_ban``: 1 if the snapshot codes Korea's rule as "covid ban" (2021: 180
  passports, 2022: 151), else 0. For those cells ``kor_visa_openness`` is NaN (the
  underlying visa rule is not observed). The 2019/2020 schemes had no covid code: 0.
- ``kor_passport_access`` (Passport == "KOR": rule the partner applies to Korean passport
  holders), same ordinal scale; NaN where the partner had a "covid ban" on Korean holders.

The ``-1`` code (same country) is dropped, as are Korea's own rows. Files are read with
``keep_default_na=False`` so that no code is turned into NaN. An unknown code raises
:class:`DataError` (a new code scheme must be mapped deliberately).
Caveat: snapshots are scraped summaries of rules, not legal texts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

_BASE = "https://raw.githubusercontent.com/ilyankou/passport-index-dataset/a46dbc872002e01f6465a69071a7ed5b6dc8fc7b/"
_FILE = "passport-index-tidy-iso3_{}.csv"

#: Snapshot date -> sha256 of the mirrored file. The first snapshot of each year is used.
SNAPSHOTS: dict[str, str] = {
    "2019-11-23": "67aa36d9945350c86d11a173eed2d09b341f6730d6055e374c4cc6cf42296b60",
    "2020-02-07": "057d36f8d5f758a39dd7b0d9e56f90ce9d61af45157167c8e3a08c881d1b7bb7",
    "2021-01-25": "422d3dbc2bc605d3b3fdfd77d1cdfbe2b3e12db5e6f10b5a1928dada0b441d8b",
    "2022-01-05": "19a2233e480a394718e1438485c33e10d14d3482d401b30b207d2820ce38e43b",
    "2023-01-11": "693dacedae8ea390d9b26fcead662bd4f30c6ad359523a5bd0e2cbac2287d256",
    "2024-01-05": "308d6bdea59a8dd2f49371e7b5d26690a1bfe953d6e63a0b7e7319175e7bc1e3",
    "2025-01-02": "e888cc6f02e7e6606d12432fd08789eefd8752a4c1c58cfe7875e3ee4735a0ea",
}
HEAD_DATE = "2025-01-12"
HEAD_SHA256 = "8fda21d4075ea39cee1d76a50104fa4b0870cccdbc6fbdfbe98986e18d798b33"

#: Code (lower-cased) -> ordinal openness. "covid ban" -> NaN (flagged separately).
ORDINAL: dict[str, float] = {
    # 2019-11-23 numeric scheme
    "3": 3.0,
    "2": 2.0,
    "1": 1.0,
    "0": 0.0,
    # 2020-02-07 scheme
    "vf": 3.0,
    "voa": 2.0,
    "eta": 1.0,
    "vr": 0.0,
    # 2021+ scheme
    "visa free": 3.0,
    "visa on arrival": 2.0,
    "e-visa": 1.0,
    "visa required": 0.0,
    "no admission": 0.0,
    "covid ban": np.nan,
}
#: Per-snapshot corrections. The 2020-02-07 file swaps the VOA and ETA labels: "VOA" is
#: given for USA, CAN, AUS, NZL, IND, LKA (electronic-authorisation countries) and "ETA" for
#: ~50 visa-on-arrival countries; against 2019-11-23, 8,262 of 8,383 "ETA" cells were code 2
#: (visa on arrival) and 718 of 719 "VOA" cells code 1 (eTA). The labels are swapped back.
OVERRIDES: dict[str, dict[str, float]] = {"2020-02-07": {"voa": 1.0, "eta": 2.0}}
SELF = "-1"
COVID = "covid ban"
VARIABLES = ("kor_visa_openness", "kor_covid_entry_ban", "kor_passport_access")


def _country_data_dir(folder: Path) -> Path | None:
    """Mirror holding countrycode/ and kdiplo/ for ``to_iso3``: the source's parent if it has them."""
    parent = Path(folder).parent
    return parent if (parent / "countrycode").is_dir() else None


def _ordinal(codes: pd.Series, year: int, path: Path, date: str) -> pd.Series:
    """Map one snapshot's codes to the ordinal scale; integer day counts (2020+) are visa-free."""
    known = codes.isin(list(ORDINAL))
    days = codes.str.fullmatch(r"\d+") & (year >= 2020)
    unknown = sorted(codes[~known & ~days].unique())
    if unknown:
        raise DataError(
            f"{path}: unknown visa requirement code(s) {unknown[:20]}. The dataset's code scheme may "
            "have changed: map the new codes in passport_index.ORDINAL, or restore the original file."
        )
    out = codes.map({**ORDINAL, **OVERRIDES.get(date, {})}).astype("float64")
    # Day counts are visa-free stays; in 2019 the digits are the ordinal itself (3/2/1/0).
    return out.where(~days, 3.0)


def _snapshot(folder: Path, date: str) -> pd.DataFrame:
    path = folder / _FILE.format(date)
    raw = read_csv(path, keep_default_na=False, dtype=str)
    value_col = "Code" if "Code" in raw.columns else "Requirement"
    if value_col not in raw.columns or "Passport" not in raw.columns or "Destination" not in raw.columns:
        raise DataError(
            f"{path}: expected columns ['Passport', 'Destination'] and 'Code' or 'Requirement'; the file "
            f"has {list(raw.columns)[:10]}. The publisher may have renamed a column: update the loader, "
            "or restore the original file."
        )
    codes = raw[value_col].fillna("").astype(str).str.strip().str.lower()
    if (codes == "").any():
        raise DataError(
            f"{path}: column `{value_col}` is empty in {int((codes == '').sum())} row(s) although the "
            "original file has no gaps; the file looks truncated or damaged. Re-download it with "
            "`hallyu-forecast data pull` or restore it from the mirror (HALLYU_DATA_DIR)."
        )
    # Each file is a full passport x destination grid (2019 omits the self pairs).
    per_passport = raw.groupby("Passport").size()
    n_dest = raw["Destination"].nunique()
    short = per_passport[per_passport < n_dest - 1]
    if not short.empty:
        raise DataError(
            f"{path}: passport(s) {list(short.index)[:10]} have fewer than {n_dest - 1} destination rows; the "
            "file is not a complete passport x destination grid and looks truncated. Re-download it with "
            "`hallyu-forecast data pull` or restore it from the mirror (HALLYU_DATA_DIR)."
        )
    year = int(date[:4])
    frame = pd.DataFrame(
        {"passport": raw["Passport"].str.strip(), "destination": raw["Destination"].str.strip(), "code": codes}
    )
    frame = frame[frame["code"] != SELF]
    frame = frame[(frame["destination"] == "KOR") | (frame["passport"] == "KOR")]
    frame = frame[frame["passport"] != frame["destination"]]
    if not (frame["destination"] == "KOR").any() or not (frame["passport"] == "KOR").any():
        raise DataError(
            f"{path}: no rows with Destination or Passport 'KOR'; the file looks truncated or uses "
            "another code scheme. Restore the original file."
        )
    frame["ordinal"] = _ordinal(frame["code"], year, path, date)
    inbound = frame[frame["destination"] == "KOR"]
    outbound = frame[frame["passport"] == "KOR"]
    policy = pd.DataFrame(
        {
            "code": inbound["passport"].to_numpy(),
            "kor_visa_openness": inbound["ordinal"].to_numpy(),
            "kor_covid_entry_ban": (inbound["code"] == COVID).astype("float64").to_numpy(),
        }
    )
    access = pd.DataFrame(
        {"code": outbound["destination"].to_numpy(), "kor_passport_access": outbound["ordinal"].to_numpy()}
    )
    out = policy.merge(access, on="code", how="outer")
    out["year"] = year
    return out


def load(folder: Path) -> pd.DataFrame:
    """Return iso3, year (2019-2025) and the three Korea visa-policy variables."""
    folder = Path(folder)
    frames = [_snapshot(folder, date) for date in SNAPSHOTS]
    out = pd.concat(frames, ignore_index=True)
    out["iso3"] = to_iso3(out["code"], source="passport_index", kind="iso3", data_dir=_country_data_dir(folder))
    out = out[out["iso3"].notna() & (out["iso3"] != "KOR")]
    dup = out.duplicated(["iso3", "year"], keep=False)
    if dup.any():
        raise DataError(
            f"{folder}: passport codes {sorted(out.loc[dup, 'code'].unique())} map to the same ISO3 in one "
            "snapshot; map them deliberately in passport_index.load."
        )
    out["iso3"] = out["iso3"].astype(str)
    out["year"] = out["year"].astype("int64")
    return out[["iso3", "year", *VARIABLES]].sort_values(["iso3", "year"]).reset_index(drop=True)


SOURCE = Source(
    name="passport_index",
    title="Passport Index dataset (visa requirements, passport x destination), tidy ISO3 snapshots",
    publisher="Ilya Ilyankou (data from passportindex.org)",
    license="MIT",
    citation=(
        "Ilyankou, Ilya (2025). Passport Index dataset. "
        "https://github.com/ilyankou/passport-index-dataset (commit a46dbc8); data from https://www.passportindex.org"
    ),
    homepage="https://github.com/ilyankou/passport-index-dataset",
    files=tuple(
        RawFile(_FILE.format(date), sha256=sha, url=f"{_BASE}legacy/{date}/passport-index-tidy-iso3.csv")
        for date, sha in SNAPSHOTS.items()
    )
    + (RawFile(_FILE.format(HEAD_DATE), sha256=HEAD_SHA256, url=f"{_BASE}passport-index-tidy-iso3.csv"),),
    variables=(
        Variable(
            "kor_visa_openness",
            "ordinal 0-3",
            "Korea's entry rule for holders of the partner's passport at the year's first snapshot: "
            "3 visa-free (incl. visa-free day counts), 2 visa on arrival, 1 eTA/e-visa (incl. K-ETA), "
            "0 visa required or no admission; NaN when coded 'covid ban'",
            "government_support",
        ),
        Variable(
            "kor_covid_entry_ban",
            "1/0",
            "1 if Korea's entry rule for the partner's passport holders is coded 'covid ban' in the "
            "year's first snapshot (2021-2022), else 0",
            "government_support",
        ),
        Variable(
            "kor_passport_access",
            "ordinal 0-3",
            "The partner's entry rule for Korean passport holders, same scale as kor_visa_openness; "
            "NaN when coded 'covid ban'",
            "government_support",
        ),
    ),
    loader=load,
    notes=(
        "First snapshot of each calendar year: 2019-11-23, 2020-02-07, 2021-01-25, 2022-01-05, 2023-01-11, "
        "2024-01-05, 2025-01-02 (2025 also has the 2025-01-12 HEAD file, declared but unused). year = "
        "snapshot year. Code schemes (2019 numeric 3/2/1/0; 2020 days/VF/VOA/ETA/VR; 2021+ words) are "
        "harmonised to 3 visa-free, 2 visa on arrival, 1 eTA/e-visa, 0 visa required/no admission; the "
        "2020-02-07 file's swapped VOA/ETA labels are swapped back (VOA->1, ETA->2). K-ETA "
        "was coded 'e-visa' until 2025-01-12 ('eta' after): both = 1. 'covid ban' -> openness NaN and "
        "kor_covid_entry_ban = 1 (2019/2020 schemes had no covid code). -1 (same country) dropped."
    ),
)
