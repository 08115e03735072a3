"""Korea's Working Holiday (WH) agreements per partner country-year, 1990-2025.

Source: ``working_holiday_from_pages.csv``, compiled by hand from public pages (facts of the
Ministry of Foreign Affairs' Working Holiday Info Center as reported by news sites and wikis;
every row cites its page). Long format: one row per fact (``fact_type`` agreement_signed,
programme_started, mou_signed, joint_statement_signed, in_force, listed_partner_as_of,
n_partners_as_of). The file exists only in the mirror (url=None).

Variables (per partner ``iso3`` x ``year``, 1990-2025, for the 25 partners named in the two files;
other countries have no agreement, which the panel builder fills with 0):

- ``wh_agreement``: 1 from the first year with any dated fact showing an agreement, MOU,
  joint statement, programme or partner listing for that country, else 0.
- ``wh_years``: ``year`` - that first year when ``wh_agreement`` is 1 (0 in the first year), else 0.

Choices for the first file (the dated file below takes precedence wherever it has a date):

- Exact start years are known only for Canada (agreement 1996), Japan (programme 2000-04),
  Ireland (MOU 2009-12) and Austria (joint statement / in force 2012). For every other partner
  the first year is the date of the earliest list that names it ("listed_partner_as_of": a
  listed partner has an agreement by that date at the latest): 2012 for the partners of the
  2012-09-16 list (Australia, New Zealand, France, Germany, Sweden, Denmark, Hong Kong,
  Taiwan, Czechia, Italy, United Kingdom), 2021 for those first named in the 2021-11-03 list
  (Netherlands, Belgium, Israel, Chile, Portugal, Hungary, Spain, Poland, Argentina). These
  are upper bounds on the start year, so ``wh_years`` understates the age of older
  agreements (Australia's is the oldest but counts from 2012). The 2012 list's order looks
  chronological (it matches "Denmark = 9th" and "Austria = 15th") but the page does not say
  so; the order is not used.
- Denmark's MOU row has no year (and is ignored); Denmark counts from its 2012 listing.
- The United Kingdom (Youth Mobility Scheme) is on the 2012 list but not the 2021 list, which
  lists WH agreements only; no termination is recorded, so it stays 1 after 2021.
- The aggregate row ("(all)", n_partners_as_of: 24 partners as of 2023-02-28) is skipped on
  purpose: it names no country. The 24th partner of 2023 is not identified in the pages.
- Agreements are treated as permanent once they exist (no terminations are recorded).

**Dated onsets for causal use** (``working_holiday_dates_from_pages.csv``, one dated fact per row
with its URL; added for the event studies of :mod:`hallyu_forecast.causal`):

- ``wh_onset_year``: the year of the *signing* (earliest dated ``agreement_signed``,
  ``mou_signed`` or ``joint_statement_signed`` fact in the dated file). Signing is the one
  date known for every dated partner (entry into force is known for only 13 of 25), it is
  the public announcement that starts the word of mouth, and the first quota follows within
  months (median gap signing -> entry into force in the file: about 6 months). A signing in
  the last quarter (October-December) moves the onset to the next year, because almost none of
  that year can be treated (Canada 1995-10 -> 1996, the first quota year; Japan 1998-10 -> 1999,
  the entry into force; France 2008-10 -> 2009; Hong Kong and Taiwan 2010-11 -> 2011;
  Ireland 2009-12 -> 2010; Czechia 2011-12 -> 2012; Spain 2017-12 -> 2018; Argentina 2018-11
  -> 2019). A signing known only to the year counts in that year.
- ``wh_onset_year`` is 0 where there is no dated onset (the never-treated convention of
  Callaway & Sant'Anna's ``did``; the panel builder fills absent countries with 0 anyway).
- ``wh_onset_unknown``: 1 for partners known only from "as of" partner lists (an upper bound,
  not an onset; ``wh_onset_year`` = 0), 0 otherwise (dated partners and non-partners). Such
  partners must not enter an event study as treated, nor as controls: the event studies drop them. New Zealand's only date (1994-04, one community
  paper marked doubtful, contradicting "Australia 1995 was the first partner") is not used:
  New Zealand is unknown-onset. Denmark's 2010 MOU (year only) counts (onset 2010).
- ``wh_agreement``/``wh_years`` (used by the features) now start at the earliest year of any
  dated fact in either file, i.e. the dated onset where one exists and the partner-list upper
  bound otherwise (so Australia counts from 1995, no longer 2012).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources._io import read_csv

FILE = "working_holiday_from_pages.csv"
DATES_FILE = "working_holiday_dates_from_pages.csv"
YEARS = range(1990, 2026)
VARIABLES = ("wh_agreement", "wh_years", "wh_onset_year", "wh_onset_unknown")
#: Fact types in the dated file that are a signing (the onset, see the module docstring).
SIGNING_FACTS = ("agreement_signed", "mou_signed", "joint_statement_signed")
#: Partners whose only dated fact is not credible (iso3 -> why); they stay unknown-onset.
DOUBTFUL_ONSETS = {"NZL": "only date is 1994-04 from one community paper, contradicting Australia 1995 as first partner"}
#: A signing in this month or later moves the onset to the next year.
LATE_MONTH = 10
#: Fact types that show an agreement exists (the year is an upper bound on its start).
AGREEMENT_FACTS = (
    "agreement_signed",
    "programme_started",
    "mou_signed",
    "joint_statement_signed",
    "in_force",
    "listed_partner_as_of",
)
#: Fact types deliberately ignored (no country).
AGGREGATE_FACTS = ("n_partners_as_of",)


def first_years(folder: Path) -> pd.Series:
    """First year with an agreement fact, per partner ISO3."""
    path = Path(folder) / FILE
    raw = read_csv(path, columns=["country", "iso3c", "fact_type", "year", "source_url"])
    if raw["fact_type"].isna().any() or raw["source_url"].isna().any():
        raise DataError(
            f"{path}: columns `fact_type`/`source_url` are empty in some rows although every fact in the "
            "original file has both; the file looks truncated or damaged. Restore it from the mirror "
            "(HALLYU_DATA_DIR)."
        )
    unknown = sorted(set(raw["fact_type"]) - set(AGREEMENT_FACTS) - set(AGGREGATE_FACTS))
    if unknown:
        raise DataError(
            f"{path}: unknown fact_type value(s) {unknown}; add them to working_holiday.AGREEMENT_FACTS "
            "or AGGREGATE_FACTS deliberately."
        )
    facts = raw[raw["fact_type"].isin(AGREEMENT_FACTS)]
    if facts["iso3c"].isna().any():
        raise DataError(
            f"{path}: agreement facts without `iso3c` for "
            f"{sorted(facts.loc[facts['iso3c'].isna(), 'country'].astype(str))}; "
            "fill in the ISO3 code."
        )
    years = pd.to_numeric(facts["year"], errors="coerce")
    facts = facts.assign(year=years).dropna(subset=["year"])  # Denmark's undated MOU row
    first = facts.groupby(facts["iso3c"].str.strip())["year"].min().astype("int64")
    first.index.name = "iso3"
    return first


def dated_facts(folder: Path) -> pd.DataFrame:
    """Rows of the dated file with a year: iso3, fact_type, date, year, source_url."""
    path = Path(folder) / DATES_FILE
    raw = read_csv(path, columns=["country", "iso3c", "fact_type", "date", "year", "source_url"])
    if raw["iso3c"].isna().any() or raw["source_url"].isna().any() or raw["fact_type"].isna().any():
        raise DataError(
            f"{path}: columns `iso3c`/`fact_type`/`source_url` are empty in some rows although every fact in "
            "the original file has them; the file looks truncated or damaged. Restore it from the mirror "
            "(HALLYU_DATA_DIR)."
        )
    unknown = sorted(set(raw["fact_type"]) - set(AGREEMENT_FACTS))
    if unknown:
        raise DataError(
            f"{path}: unknown fact_type value(s) {unknown}; add them to working_holiday.AGREEMENT_FACTS "
            "deliberately."
        )
    out = raw.assign(iso3=raw["iso3c"].str.strip(), year=pd.to_numeric(raw["year"], errors="coerce"))
    # Undated rows (Denmark's and Latvia's entry into force) say so in their note; they are not facts
    # with a year and are dropped.
    return out.dropna(subset=["year"])[["iso3", "fact_type", "date", "year", "source_url"]]


def onset_years(folder: Path) -> pd.DataFrame:
    """Dated onset per partner: iso3, signed (date string), onset_year (see the module docstring)."""
    facts = dated_facts(folder)
    signed = facts[facts["fact_type"].isin(SIGNING_FACTS) & ~facts["iso3"].isin(list(DOUBTFUL_ONSETS))].copy()
    month = pd.to_numeric(signed["date"].astype(str).str.slice(5, 7), errors="coerce")
    # Sort so that the earliest (year, month) wins; a year-only row sorts after dated rows of the same year
    # (the dated row is more precise about the same event).
    signed = signed.assign(month=month.fillna(13)).sort_values(["iso3", "year", "month"])
    first = signed.groupby("iso3").first()
    late = first["month"].between(LATE_MONTH, 12)
    out = pd.DataFrame(
        {"signed": first["date"].astype(str), "onset_year": (first["year"] + late.astype(int)).astype("int64")}
    )
    out.index.name = "iso3"
    return out.reset_index()


def load(folder: Path) -> pd.DataFrame:
    """Return iso3, year (1990-2025), wh_agreement, wh_years, wh_onset_year, wh_onset_unknown per partner."""
    first = first_years(folder)
    onsets = onset_years(folder).set_index("iso3")["onset_year"]
    dated = dated_facts(folder)
    dated = dated[~dated["iso3"].isin(list(DOUBTFUL_ONSETS))]
    dated_first = dated.groupby("iso3")["year"].min()
    first = pd.concat([first, dated_first, onsets]).groupby(level=0).min().astype("int64")
    first.index.name = "iso3"
    grid = pd.MultiIndex.from_product([sorted(first.index), list(YEARS)], names=["iso3", "year"]).to_frame(
        index=False
    )
    start = grid["iso3"].map(first)
    active = grid["year"] >= start
    grid["wh_agreement"] = active.astype("float64")
    grid["wh_years"] = (grid["year"] - start).where(active, 0).astype("float64")
    onset = grid["iso3"].map(onsets)
    grid["wh_onset_year"] = onset.fillna(0).astype("float64")
    grid["wh_onset_unknown"] = onset.isna().astype("float64")
    grid["iso3"] = grid["iso3"].astype(str)
    grid["year"] = grid["year"].astype("int64")
    return grid[["iso3", "year", *VARIABLES]]


SOURCE = Source(
    name="working_holiday",
    title="Korea's Working Holiday agreements (compiled from public pages)",
    publisher="Facts: Ministry of Foreign Affairs of Korea, Working Holiday Info Center (as reported by "
    "news sites and wikis); compilation: hallyu_forecast",
    license="Facts from public pages; compilation CC0 (hallyu_forecast mirror)",
    citation=(
        "hallyu_forecast (2026). Korea Working Holiday agreements compiled from public pages; each row "
        "cites its source page (working_holiday_from_pages.csv). Authoritative list: https://whic.mofa.go.kr"
    ),
    homepage="https://whic.mofa.go.kr",
    files=(
        RawFile(FILE, sha256="877211b479f69fd4cef4be8e816ccd7ad704450273c97fe7f3762c8191cbc63b", url=None),
        RawFile(DATES_FILE, sha256="1e2cf131edb4b658a9496c88847e99c262a8b9e7cb65e6f8e11a060e2497c414", url=None),
    ),
    variables=(
        Variable(
            "wh_agreement",
            "1/0",
            "1 from the first year a Working Holiday agreement/MOU/programme with Korea is documented "
            "(or the partner is named on a dated partner list: 2012-09-16, 2021-11-03)",
            "government_support",
        ),
        Variable(
            "wh_years",
            "years",
            "Years since the first documented year of the Working Holiday agreement (0 without one); "
            "a lower bound where the start year is only bounded by a partner list",
            "government_support",
        ),
        Variable(
            "wh_onset_year",
            "year",
            "Dated onset of the Working Holiday agreement for causal use: signing year (a signing in "
            "October-December counts from the next year); 0 = no dated onset (never treated or unknown)",
            "government_support",
        ),
        Variable(
            "wh_onset_unknown",
            "1/0",
            "1 for a Working Holiday partner known only from an 'as of' partner list (onset unknown: "
            "excluded from event studies), 0 otherwise",
            "government_support",
        ),
    ),
    loader=load,
    notes=(
        "Compiled by hand from public pages (files exist only in the mirror; url=None). wh_agreement starts at "
        "the earliest dated fact of either file (dated signing/entry into force from "
        "working_holiday_dates_from_pages.csv first; else the first 'as of' partner list, an upper bound). "
        "wh_onset_year (causal onset) = signing year, Oct-Dec signings count from the next year; 0 = none. "
        "wh_onset_unknown = 1 for NZL (only a doubtful 1994 date). UK (YMS) kept at 1 after 2021. Aggregate "
        "row (24 partners as of 2023-02-28) skipped. Rows for the 25 partners, 1990-2025; others = 0 in the panel."
    ),
)
