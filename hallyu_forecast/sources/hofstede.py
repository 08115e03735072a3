"""Hofstede's six cultural dimensions (2015-08-16 release) and the Kogut-Singh distance to Korea.

Time-invariant country scores (most from IBM surveys of the 1970s, updated by replications; LTO and
IVR from the World Values Survey). Scores are on Hofstede's index scale, mostly 0-100 with a few
values outside (e.g. Greece UAI 112, Malaysia PDI 104); they are kept unchanged.

File: ``;``-separated, CRLF line ends, missing values written ``#NULL!``.

Choices, all deliberate:

- ``ctr`` is Hofstede's own code, NOT ISO3 (GER = Germany, AUL = Australia, CHI = China,
  TAI = Taiwan, HOK = Hong Kong, MAC = North Macedonia (not Macao), MNG = Montenegro (not Mongolia),
  MAL = Malaysia, SAL = El Salvador, SLV = Slovenia, NIG = Nigeria, BEN = Belgium Flemish (not
  Benin), ...). It is mapped with the hand table :data:`CTR_TO_ISO3`; every mapping is cross-checked
  at load time against the ``country`` name via ``to_iso3(kind="name")`` and a disagreement raises
  :class:`DataError`. A code not in the table (and not in :data:`DROPPED_ROWS`) also raises.
- Regional aggregates AFE (Africa East), AFW (Africa West), ARA (Arab countries) are dropped; they
  are not spread to member countries (membership is undocumented).
- Sub-national rows are dropped in favour of the national row: BEF (Belgium French) and BEN
  (Belgium Netherl[ands], i.e. Flemish) -> BEL "Belgium" (the national row, all six scores);
  CAF (Canada French) -> CAN; GEE (Germany East) -> GER; SWF / SWG (Switzerland French / German) ->
  SWI. For South Africa the national row SAF (only LTO and IVR) is kept; SAW ("South Africa
  white", the IBM white-only sample, PDI/IDV/MAS/UAI only) is dropped because it does not represent
  the population, so ZAF has NaN pdi/idv/mas/uai and NaN distance.
- ``hofstede_distance_kor`` is the Kogut-Singh (1988) index
  ``KS_j = (1/n_j) * sum_d (I_dj - I_d,KOR)^2 / V_d`` over the ``n_j`` dimensions (of the six) that
  both country j and Korea have, where ``V_d`` is the sample variance (ddof = 1) of dimension d
  across all national rows kept. NaN when ``n_j < 4`` (e.g. countries with only LTO/IVR). KOR = 0.
- KOR is kept (distance 0, its own scores) because the scores themselves are useful covariates.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FILE = "6-dimensions-for-website-2015-08-16.csv"
DIMENSIONS = ("pdi", "idv", "mas", "uai", "ltowvs", "ivr")
MIN_DIMENSIONS = 4

#: Hofstede ``ctr`` code -> ISO3, for every national row of the 2015-08-16 file.
CTR_TO_ISO3: dict[str, str] = {
    "ALB": "ALB", "ALG": "DZA", "AND": "AND", "ARG": "ARG", "ARM": "ARM", "AUL": "AUS",
    "AUT": "AUT", "AZE": "AZE", "BAN": "BGD", "BLR": "BLR", "BEL": "BEL", "BOS": "BIH",
    "BRA": "BRA", "BUL": "BGR", "BUF": "BFA", "CAN": "CAN", "CHL": "CHL", "CHI": "CHN",
    "COL": "COL", "COS": "CRI", "CRO": "HRV", "CYP": "CYP", "CZE": "CZE", "DEN": "DNK",
    "ECA": "ECU", "EGY": "EGY", "ETH": "ETH", "SAL": "SLV", "EST": "EST", "FIN": "FIN",
    "FRA": "FRA", "GEO": "GEO", "GER": "DEU", "GHA": "GHA", "GBR": "GBR", "GRE": "GRC",
    "GUA": "GTM", "HOK": "HKG", "HUN": "HUN", "ICE": "ISL", "IND": "IND", "IDO": "IDN",
    "IRA": "IRN", "IRQ": "IRQ", "IRE": "IRL", "ISR": "ISR", "ITA": "ITA", "JAM": "JAM",
    "JPN": "JPN", "JOR": "JOR", "KOR": "KOR", "KYR": "KGZ", "LAT": "LVA", "LIT": "LTU",
    "LUX": "LUX", "MAC": "MKD", "MAL": "MYS", "MLI": "MLI", "MLT": "MLT", "MEX": "MEX",
    "MOL": "MDA", "MNG": "MNE", "MOR": "MAR", "NET": "NLD", "NZL": "NZL", "NIG": "NGA",
    "NOR": "NOR", "PAK": "PAK", "PAN": "PAN", "PER": "PER", "PHI": "PHL", "POL": "POL",
    "POR": "PRT", "PUE": "PRI", "ROM": "ROU", "RUS": "RUS", "RWA": "RWA", "SAU": "SAU",
    "SER": "SRB", "SIN": "SGP", "SLK": "SVK", "SLV": "SVN", "SAF": "ZAF", "SPA": "ESP",
    "SUR": "SUR", "SWE": "SWE", "SWI": "CHE", "TAI": "TWN", "TAN": "TZA", "THA": "THA",
    "TRI": "TTO", "TUR": "TUR", "USA": "USA", "UGA": "UGA", "UKR": "UKR", "URU": "URY",
    "VEN": "VEN", "VIE": "VNM", "ZAM": "ZMB", "ZIM": "ZWE",
}

#: Rows dropped on purpose: regional aggregates and sub-national samples.
DROPPED_ROWS: dict[str, str] = {
    "AFE": "regional aggregate (Africa East)",
    "AFW": "regional aggregate (Africa West)",
    "ARA": "regional aggregate (Arab countries)",
    "BEF": "sub-national (Belgium French); national row BEL kept",
    "BEN": "sub-national (Belgium Flemish, 'Belgium Netherl'); national row BEL kept",
    "CAF": "sub-national (Canada French); national row CAN kept",
    "GEE": "sub-national (Germany East); national row GER kept",
    "SWF": "sub-national (Switzerland French); national row SWI kept",
    "SWG": "sub-national (Switzerland German); national row SWI kept",
    "SAW": "sub-sample (South Africa white); national row SAF kept",
}


def kogut_singh(scores: pd.DataFrame, reference: str, min_dims: int = MIN_DIMENSIONS) -> pd.Series:
    """Kogut-Singh index of each row of ``scores`` (index = iso3, columns = dimensions) to ``reference``.

    Uses the dimensions both rows have, each squared difference divided by the dimension's sample
    variance across all rows, averaged over the dimensions used. NaN with fewer than ``min_dims``.
    """
    ref = scores.loc[reference]
    var = scores.var(axis=0, ddof=1)
    terms = (scores - ref) ** 2 / var
    used = terms.notna().sum(axis=1)
    out = terms.sum(axis=1, min_count=1) / used
    return out.where(used >= min_dims).astype("float64")


def load(folder: Path) -> pd.DataFrame:
    path = Path(folder) / FILE
    raw = read_csv(path, columns=("ctr", "country", *DIMENSIONS), sep=";", na_values=["#NULL!"],
                   keep_default_na=False, dtype={"ctr": "string", "country": "string"}, keys=("ctr",))
    raw["ctr"] = raw["ctr"].str.strip()
    raw["country"] = raw["country"].str.strip()
    for dim in DIMENSIONS:
        values = pd.to_numeric(raw[dim], errors="coerce")
        bad = values.isna() & raw[dim].notna()
        if bad.any():
            raise DataError(f"{path}: column `{dim}` has non-numeric value(s) "
                            f"{sorted(raw.loc[bad, dim].astype(str).unique())[:5]}; expected numbers "
                            "or '#NULL!'. Check the separator (';') or restore the original file.")
        raw[dim] = values.astype("float64")

    unknown = sorted(set(raw["ctr"].dropna()) - set(CTR_TO_ISO3) - set(DROPPED_ROWS))
    if unknown:
        rows = raw.loc[raw["ctr"].isin(unknown), ["ctr", "country"]].to_dict("records")
        raise DataError(f"{path}: unknown Hofstede code(s) {rows}. Add them to CTR_TO_ISO3 or "
                        "DROPPED_ROWS in hallyu_forecast/sources/hofstede.py.")
    national = raw.loc[raw["ctr"].isin(list(CTR_TO_ISO3))].copy()
    if national["ctr"].duplicated().any():
        raise DataError(f"{path}: duplicated code(s) "
                        f"{sorted(national.loc[national['ctr'].duplicated(), 'ctr'].unique())}.")
    national["iso3"] = national["ctr"].map(CTR_TO_ISO3)
    _cross_check(national, path)

    scores = national.set_index("iso3")[list(DIMENSIONS)]
    if "KOR" not in scores.index or scores.loc["KOR"].isna().any():
        raise DataError(f"{path}: the Korea row (ctr KOR) is missing or incomplete; restore the original file.")
    out = scores.copy()
    out["hofstede_distance_kor"] = kogut_singh(scores, "KOR")
    return out.reset_index().sort_values("iso3").reset_index(drop=True)


def _cross_check(national: pd.DataFrame, path: Path) -> None:
    """The hand map must agree with what the country name resolves to."""

    by_name = to_iso3(national["country"], source="hofstede", kind="name")
    disagree = national.loc[by_name.to_numpy() != national["iso3"].to_numpy(), ["ctr", "country", "iso3"]]
    if not disagree.empty:
        detail = [f"{r.ctr} {r.country!r}: code->{r.iso3}, name->{n}"
                  for r, n in zip(disagree.itertuples(), by_name[disagree.index])]
        raise DataError(f"{path}: Hofstede code and country name disagree: {detail}. Fix CTR_TO_ISO3 "
                        "in hallyu_forecast/sources/hofstede.py or the alias table.")


SOURCE = Source(
    name="hofstede",
    title="Hofstede 6-D model of national culture: country scores (2015-08-16)",
    publisher="Geert Hofstede / Hofstede Centre",
    license="Free for research and education with citation (no open licence stated)",
    citation=("Hofstede, G., Hofstede, G.J. & Minkov, M. (2010). Cultures and Organizations: Software "
              "of the Mind, 3rd ed. McGraw-Hill. Data: 6-dimensions-for-website-2015-08-16."),
    homepage="https://geerthofstede.com/research-and-vsm/dimension-data-matrix/",
    files=(
        RawFile(FILE,
                sha256="06f5c212ee5357984d85e15b3ff78bbdd574a0880093dfd935b70eb833a2b4dd",
                url=("https://raw.githubusercontent.com/HoaMacDanh/GEO/"
                     "3ad286625ed353afd142ef3cbc7e29890f8dcb22/6-dimensions-for-website-2015-08-16.csv")),
    ),
    variables=(
        Variable("pdi", "index (about 0-100)", "Hofstede power distance", "local_conditions"),
        Variable("idv", "index (about 0-100)", "Hofstede individualism (vs collectivism)", "local_conditions"),
        Variable("mas", "index (about 0-100)", "Hofstede masculinity (vs femininity)", "local_conditions"),
        Variable("uai", "index (about 0-100)", "Hofstede uncertainty avoidance", "local_conditions"),
        Variable("ltowvs", "index (about 0-100)",
                 "Hofstede long-term orientation, World Values Survey based", "local_conditions"),
        Variable("ivr", "index (about 0-100)", "Hofstede indulgence (vs restraint)", "local_conditions"),
        Variable("hofstede_distance_kor", "index (variance units, >= 0)",
                 "Kogut-Singh cultural distance to Korea: mean over the dimensions both have (>= 4) of "
                 "(I_d - I_d,KOR)^2 / Var_d, Var_d = sample variance across countries; KOR = 0",
                 "local_conditions"),
    ),
    loader=load,
    static=True,
    notes=("Hofstede ctr codes are not ISO3; hand-mapped (CTR_TO_ISO3) and cross-checked against names. "
           "Regional rows AFE/AFW/ARA dropped. Sub-national rows BEF/BEN (Belgium French/Flemish), CAF, "
           "GEE, SWF/SWG dropped for the national rows BEL, CAN, GER, SWI; SAW (South Africa white "
           "sample) dropped for the national SAF row (LTO/IVR only). Scores outside 0-100 kept. "
           "Kogut-Singh distance needs >= 4 shared dimensions, else NaN."),
)
