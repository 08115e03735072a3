"""Korean artists in national Spotify weekly charts, per market and year (2016-2020).

Raw files: ``top_artists_YYYY.json`` (2016-2020) from TTigre/SpotifyPreferenceMaps (commit 21204c2), one
JSON object per year ``{country code: {artist: chart entries}}``, where the count is the number of
weekly top-100 entries of the artist in the market that year. Every market-year sums to 100 x the
weeks covered, except a few small markets whose weekly chart had fewer than 100 positions (Cyprus
2016-2018, South Africa 2018): there ``spotify_chart_weeks`` is a lower bound.

Output per (iso3, year):

- ``spotify_chart_entries``: all chart entries (100 x weeks);
- ``spotify_chart_weeks``: weeks covered (entries / 100; see above): about 2 in 2016, 52-53 in 2017-2019,
  about 40 in 2020 (to early October), fewer where a market entered mid-year (India 2019, Russia
  and Ukraine 2020);
- ``kpop_chart_entries``: entries of artists classified Korean by the reviewed table
  (:mod:`hallyu_forecast.sources.kpop_artists`);
- ``kpop_chart_share``: ``kpop_chart_entries / spotify_chart_entries``.

Quirks handled
--------------
- Country codes are lower-case ISO 3166-1 alpha-2 (``gb`` = United Kingdom), resolved by
  :func:`hallyu_forecast.countries.to_iso3` with ``kind="iso2"``; ``global`` (the worldwide chart) is an
  aggregate and dropped on purpose. Any other unknown code raises, naming the file, line and fix.
- A market absent in a year is missing (Spotify not yet launched there), never zero.
- Only one artist per track is counted (the first credited artist, as inferred from the sums):
  features by Korean artists on Western tracks are not counted, and vice versa.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from hallyu_forecast.countries import to_iso3
from hallyu_forecast.errors import DataError, UnknownCountryError
from hallyu_forecast.sources._base import RawFile, Source, Variable
from hallyu_forecast.sources.kpop_artists import classify_artists, load_reviewed

YEARS = tuple(range(2016, 2021))
_REPO = "TTigre/SpotifyPreferenceMaps"
_COMMIT = "21204c29aa5e768a7449a9288a7aa08146939e61"
_SHA = {
    2016: "15bfa835703c2c93235d529e063d313c6c5e815594ce25313cae07fa67e96c1b",
    2017: "70e7ec0d76868526c6d55a8dcbaec27e075f81f45cf64948fe0e4c83e7ad3842",
    2018: "916da9c6454b895b190ec8c560775d114a3fcc03bfc90706015f589f0fe42425",
    2019: "91f934515ecec2556caca1d037882eac67a3f3e8f2571912737e11284203df87",
    2020: "f6b23764107f1e40af92f0944b9c4168fa86541b8ea5ffd7a69b50a8a1822189",
}


def file_name(year: int) -> str:
    return f"top_artists_{year}.json"


def _line_of(text: str, key: str) -> int:
    """1-based line of the first occurrence of the JSON key ``"key"`` (1 if not found)."""
    pos = text.find(json.dumps(key) + ":")
    return text.count("\n", 0, pos) + 1 if pos >= 0 else 1


def _country_data_dir(folder: Path) -> Path | None:
    parent = Path(folder).parent
    return parent if (parent / "countrycode").is_dir() else None


def read_year(path: Path) -> dict[str, dict[str, int]]:
    """Parse one chart file; raise :class:`DataError` naming file, line and fix on corrupt input."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 ({exc.reason}). Restore the original file.") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}); the file may be truncated. "
                        "Restore the original file.") from exc
    if not isinstance(doc, dict) or not doc:
        raise DataError(f"{path}: expected a JSON object {{country code: {{artist: count}}}}. Restore the original file.")
    for code, artists in doc.items():
        if not isinstance(artists, dict) or not artists:
            raise DataError(f"{path}, line {_line_of(text, code)}: market {code!r} must map artists to counts. "
                            "Restore the original file.")
        for artist, count in artists.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise DataError(f"{path}, line {_line_of(text, artist)}: count of {artist!r} in market {code!r} must "
                                f"be a whole number >= 0. Got {count!r}. Restore the original file.")
    return doc


def resolve_markets(codes: list[str], path: Path, text: str | None = None) -> dict[str, str | None]:
    """Map chart market codes to ISO3 (``global`` -> None); unknown codes raise naming the line."""

    mapped = {}
    for code in codes:
        try:
            mapped[code] = to_iso3([code], source="spotify_charts", kind="iso2",
                                   data_dir=_country_data_dir(Path(path).parent)).iloc[0]
        except UnknownCountryError:
            text = text if text is not None else Path(path).read_text(encoding="utf-8")
            raise DataError(
                f"{path}, line {_line_of(text, code)}: unknown market code {code!r} (expected a lower-case ISO "
                "3166-1 alpha-2 code or 'global'). Restore the original file, or map the code in "
                "hallyu_forecast/data/country_aliases.csv (alias,iso3,kind=iso2)."
            ) from None
        if mapped[code] is not None and not isinstance(mapped[code], str):
            mapped[code] = None
    return mapped


def chart_entries(folder: Path) -> pd.DataFrame:
    """Long table of every chart file: iso3, year, artist, entries, korean, rule (global dropped)."""

    folder = Path(folder)
    reviewed = load_reviewed()
    kpop_dir = folder.parent / "kpop_artists"
    frames = []
    for year in YEARS:
        path = folder / file_name(year)
        doc = read_year(path)
        markets = resolve_markets(list(doc), path)
        seen: dict[str, str] = {}
        year_frames = []
        for code, artists in doc.items():
            iso3 = markets[code]
            if iso3 is None:
                continue  # the worldwide chart: an aggregate, dropped on purpose
            if iso3 in seen:
                raise DataError(f"{path}: market codes {seen[iso3]!r} and {code!r} both resolve to {iso3}. "
                                "Keep one market per country.")
            seen[iso3] = code
            year_frames.append(pd.DataFrame({"iso3": iso3, "year": year, "artist": list(artists),
                                             "entries": list(artists.values())}))
        classified = classify_artists({a for v in doc.values() for a in v}, kpop_dir, reviewed, where=str(path))
        frames.append(pd.concat(year_frames, ignore_index=True)
                      .merge(classified[["artist", "korean", "rule"]], on="artist", how="left"))
    return pd.concat(frames, ignore_index=True)


def load(folder: Path) -> pd.DataFrame:
    """Korean share of chart entries per (iso3, year); see the module docstring."""
    long = chart_entries(folder)
    long["kpop"] = long["entries"].where(long["korean"], 0)
    out = long.groupby(["iso3", "year"], as_index=False).agg(
        spotify_chart_entries=("entries", "sum"), kpop_chart_entries=("kpop", "sum"))
    out["spotify_chart_entries"] = out["spotify_chart_entries"].astype("float64")
    out["kpop_chart_entries"] = out["kpop_chart_entries"].astype("float64")
    out["spotify_chart_weeks"] = out["spotify_chart_entries"] / 100.0
    out["kpop_chart_share"] = out["kpop_chart_entries"] / out["spotify_chart_entries"]
    return out[["iso3", "year", "spotify_chart_entries", "spotify_chart_weeks", "kpop_chart_entries", "kpop_chart_share"]]


SOURCE = Source(
    name="spotify_charts",
    title="Korean artists in national Spotify weekly top-100 charts, per market and year (2016-2020)",
    publisher="Spotify (Spotify Charts, spotifycharts.com); yearly artist counts compiled by TTigre/SpotifyPreferenceMaps",
    license="No license stated in the repository; chart data belongs to Spotify (cite Spotify Charts and the repository)",
    citation=(
        "Spotify Charts, weekly regional top 200 (spotifycharts.com), artist appearances in the top 100 per market "
        "and year as compiled in TTigre/SpotifyPreferenceMaps, data/top_artists_YYYY.json, commit 21204c2 (2020-12-07)."
    ),
    homepage="https://github.com/TTigre/SpotifyPreferenceMaps",
    files=tuple(
        RawFile(file_name(y), sha256=_SHA[y],
                url=f"https://raw.githubusercontent.com/{_REPO}/{_COMMIT}/data/{file_name(y)}")
        for y in YEARS
    ),
    variables=(
        Variable("spotify_chart_entries", "chart entries",
                 "Spotify weekly top-100 entries of the market in the year (100 x weeks covered); missing before "
                 "Spotify launched in the market", "context"),
        Variable("spotify_chart_weeks", "weeks",
                 "Weeks of Spotify charts covered in the year (entries / 100): ~2 in 2016, ~40 in 2020 (to early "
                 "October), fewer in a market's launch year", "context"),
        Variable("kpop_chart_entries", "chart entries",
                 "Weekly top-100 entries by artists classified Korean (reviewed table hallyu_forecast/data/"
                 "korean_artists.csv); one (first-credited) artist per entry", "target"),
        Variable("kpop_chart_share", "share 0-1",
                 "Korean artists' share of Spotify weekly top-100 entries (kpop_chart_entries / "
                 "spotify_chart_entries): a direct K-pop consumption measure", "target"),
    ),
    loader=load,
    static=False,
    notes=(
        "Direct music-consumption signal. Markets enter as Spotify launched (absent = missing, not zero); Korea "
        "itself is absent (Spotify launched there in 2021). 2016 covers ~2 weeks and 2020 ~40: use the share, "
        "with spotify_chart_weeks beside it. One credited artist per entry, so features are under-counted. "
        "'global' is the worldwide chart, dropped on purpose."
    ),
)
