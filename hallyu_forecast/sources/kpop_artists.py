"""K-pop group and idol lists (dbkpop.com) and the reviewed Korean-artist classifier for chart artists.

Raw files (``kpop_artists/`` of the mirror): dbkpop.com lists scraped by two public repositories —
groups and idols as of 2023 (mattx0601/Modern-Kpop-Analysis) and as of 2021 plus 3,772 music videos
(hweebaak/kpopdata). This source has no panel variables of its own: it feeds the classifier used by
:mod:`hallyu_forecast.sources.spotify_charts`, and is registered so that its files are checksummed,
pulled and cited like every other source.

The classifier
--------------
Deciding which chart artists are Korean cannot be automated safely: single stage names collide with
Western and Asian artists ("Juju", "LEA", "Lena", "Sigma", "KYLE", "MIN", "Seventeen" the Indonesian
band). Three automatic *rules* propose candidates, by exact match of the name as Spotify prints it
(case, spaces and punctuation ignored):

- ``group_list``: a dbkpop group name (2021 or 2023 list, incl. 2021's "Short" names);
- ``idol_list``: a dbkpop idol stage name (2021 or 2023 list);
- ``mv_list``: an artist credited on a dbkpop music video (soloists, sub-units);

and one manual rule, ``allow_list``: a Korean artist that no list holds (soloists such as Gaho or
Yoon Mirae, sub-units such as "Red Velvet - IRENE & SEULGI", TOMORROW X TOGETHER).

The decision is the reviewed table ``hallyu_forecast/data/korean_artists.csv`` (artist as printed,
korean yes/no, rule, reason): an artist is Korean if and only if the table says ``yes``. Rows with
``no`` are the exclusion list (collisions). Every chart artist that an automatic rule matches must
be in the table: :func:`classify_artists` raises :class:`DataError` otherwise, so a new chart vintage
cannot silently change the measure. The table is plain CSV and editable; ``HALLYU_KOREAN_ARTISTS``
may point at an edited copy.
"""

from __future__ import annotations

import os
import re
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Iterable

import pandas as pd

from hallyu_forecast.errors import DataError
from hallyu_forecast.sources._base import RawFile, Source
from hallyu_forecast.sources._io import read_csv

REVIEWED_FILE = "korean_artists.csv"
REVIEWED_COLUMNS = ("artist", "korean", "rule", "reason")
RULES = ("group_list", "idol_list", "mv_list", "allow_list")
AUTOMATIC_RULES = RULES[:3]

_GROUP_FILES = {
    "dbkpop_boy_groups_2021.csv": ("Name", "Short"),
    "dbkpop_girl_groups_2021.csv": ("Name", "Short"),
    "dbkpop_boy_groups_2023.csv": ("Name",),
    "dbkpop_girl_groups_2023.csv": ("Name",),
}
# The 2023 idol file has its first two headers swapped (PROVENANCE): "Full Name" holds the stage name.
_IDOL_FILES = {"dbkpop_idols_2021.csv": "Stage Name", "dbkpop_idols_2023.csv": "Full Name"}
_MV_FILE = "dbkpop_music_videos_2021.csv"


def name_key(name: object) -> str:
    """Normalise an artist name for matching: NFKC, case-folded, without spaces and punctuation.

    Examples
    --------
    >>> name_key("Girls' Generation") == name_key("GIRLS GENERATION")
    True
    """
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return re.sub(r"[\s.,'’`\-_]+", "", text)


def rule_names(folder: str | Path) -> dict[str, frozenset[str]]:
    """Name keys proposed by each automatic rule, read from the dbkpop lists in ``folder``."""
    folder = Path(folder)
    groups: set[str] = set()
    for file, columns in _GROUP_FILES.items():
        frame = read_csv(folder / file, columns=columns, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        for column in columns:
            groups |= {name_key(v) for v in frame[column] if str(v).strip()}
    idols: set[str] = set()
    for file, column in _IDOL_FILES.items():
        frame = read_csv(folder / file, columns=[column], encoding="utf-8-sig", dtype=str, keep_default_na=False)
        idols |= {name_key(v) for v in frame[column] if str(v).strip()}
    videos = read_csv(folder / _MV_FILE, columns=["Artist"], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    mv = {name_key(v) for v in videos["Artist"] if str(v).strip()}
    return {"group_list": frozenset(groups), "idol_list": frozenset(idols), "mv_list": frozenset(mv)}


def reviewed_path() -> Path | None:
    """The edited copy named by ``HALLYU_KOREAN_ARTISTS``, or None for the packaged table."""
    env = os.environ.get("HALLYU_KOREAN_ARTISTS")
    return Path(env).expanduser() if env else None


def load_reviewed(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate the reviewed artist table (default: the packaged ``korean_artists.csv``).

    Raises
    ------
    DataError
        Naming the file and line of a duplicated artist, a ``korean`` value other than yes/no,
        an unknown rule or an empty reason.
    """
    path = Path(path) if path is not None else reviewed_path()
    if path is None:
        with resources.files("hallyu_forecast.data").joinpath(REVIEWED_FILE).open("rb") as fh:
            table = pd.read_csv(fh, dtype=str, keep_default_na=False, encoding="utf-8")
        where = f"hallyu_forecast/data/{REVIEWED_FILE}"
    else:
        table = read_csv(path, columns=REVIEWED_COLUMNS, dtype=str, keep_default_na=False)
        where = str(path)
    return validate_reviewed(table, where, key="artist", yes_no="korean", rules=RULES)


def validate_reviewed(table: pd.DataFrame, where: str, key: str, yes_no: str,
                      rules: Iterable[str] | None = None) -> pd.DataFrame:
    """Shared checks of a reviewed yes/no table (artists, Netflix titles); lines are 1-based file lines."""
    missing = [c for c in (key, yes_no, "reason") if c not in table.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}. Restore the header "
                        f"({', '.join(table.columns)}) of the reviewed table.")
    table = table.copy()
    table[key] = table[key].astype(str).str.strip()
    line = pd.Series(range(2, len(table) + 2), index=table.index)  # header is line 1
    dup = table[key].duplicated(keep="first")
    if dup.any():
        first = table.index[dup][0]
        name = table.at[first, key]
        earlier = int(line[table[key] == name].iloc[0])
        raise DataError(f"{where}, line {int(line[first])}: {key} {name!r} is listed twice (first on line "
                        f"{earlier}). Keep one row per {key} and delete the other.")
    value = table[yes_no].astype(str).str.strip().str.lower()
    bad = ~value.isin(["yes", "no"])
    if bad.any():
        first = table.index[bad][0]
        raise DataError(f"{where}, line {int(line[first])}: `{yes_no}` must be yes or no. "
                        f"Got {table.at[first, yes_no]!r} for {table.at[first, key]!r}.")
    table[yes_no] = value == "yes"
    if rules is not None:
        rules = tuple(rules)
        badrule = ~table["rule"].isin(rules)
        if badrule.any():
            first = table.index[badrule][0]
            raise DataError(f"{where}, line {int(line[first])}: `rule` must be one of {', '.join(rules)}. "
                            f"Got {table.at[first, 'rule']!r}.")
    empty = table["reason"].astype(str).str.strip() == ""
    if empty.any():
        first = table.index[empty][0]
        raise DataError(f"{where}, line {int(line[first])}: `reason` is empty for {table.at[first, key]!r}; "
                        "say why the entry is (not) Korean.")
    return table.reset_index(drop=True)


def matched_rules(artists: Iterable[str], folder: str | Path) -> pd.DataFrame:
    """Which automatic rules match each artist: columns artist, group_list, idol_list, mv_list (bool)."""
    names = rule_names(folder)
    artists = list(dict.fromkeys(artists))
    keys = [name_key(a) for a in artists]
    out = pd.DataFrame({"artist": artists})
    for rule in AUTOMATIC_RULES:
        out[rule] = [k in names[rule] for k in keys]
    return out


def classify_artists(artists: Iterable[str], folder: str | Path,
                     reviewed: pd.DataFrame | None = None, where: str = "") -> pd.DataFrame:
    """Classify chart artists as Korean with the reviewed table.

    Parameters
    ----------
    artists : iterable of str
        Artist names as the chart prints them.
    folder : path
        The ``kpop_artists`` folder of the mirror (dbkpop lists).
    reviewed : DataFrame, optional
        Output of :func:`load_reviewed` (default: the packaged table).
    where : str
        Quoted in errors (the chart file the artists come from).

    Returns
    -------
    DataFrame
        artist, korean (bool), rule (the table's rule, or "" if unmatched and unlisted) and the
        three automatic-rule flags.

    Raises
    ------
    DataError
        If an artist matched by an automatic rule is missing from the reviewed table.
    """
    table = reviewed if reviewed is not None else load_reviewed()
    flags = matched_rules(artists, folder)
    decision = dict(zip(table["artist"], table["korean"]))
    rule = dict(zip(table["artist"], table["rule"]))
    any_rule = flags[list(AUTOMATIC_RULES)].any(axis=1)
    unreviewed = flags.loc[any_rule & ~flags["artist"].isin(decision), "artist"].tolist()
    if unreviewed:
        source = f" in {where}" if where else ""
        raise DataError(
            f"Chart artist(s){source} matched by the dbkpop lists but not reviewed: {unreviewed[:20]}"
            f"{' ...' if len(unreviewed) > 20 else ''}. Add one row each to hallyu_forecast/data/{REVIEWED_FILE} "
            "(artist,korean,rule,reason) after checking who they are."
        )
    flags["korean"] = flags["artist"].map(decision).fillna(False).astype(bool)
    flags["rule"] = flags["artist"].map(rule).fillna("")
    return flags[["artist", "korean", "rule", *AUTOMATIC_RULES]]


def load(folder: Path) -> pd.DataFrame:
    """Validate the lists (and the reviewed table); no panel variables (see the module docstring)."""
    names = rule_names(folder)
    if not all(names.values()):
        raise DataError(f"{folder}: a dbkpop list is empty; restore the original files.")
    load_reviewed()
    return pd.DataFrame({"iso3": pd.Series([], dtype=object)})


def _raw(path: str, sha: str, repo: str, commit: str, original: str) -> RawFile:
    return RawFile(path, sha256=sha, url=f"https://raw.githubusercontent.com/{repo}/{commit}/{original}")


_M = ("mattx0601/Modern-Kpop-Analysis", "e60576e06b295b44e45bf354c36514b3a515ace8")
_H = ("hweebaak/kpopdata", "f1e66a345d7cd6fbe3a4119bb4ff90ac22a59865")

SOURCE = Source(
    name="kpop_artists",
    title="K-pop groups, idols and music videos (dbkpop.com lists) for classifying chart artists",
    publisher="dbkpop.com (Kpop database), scraped by mattx0601/Modern-Kpop-Analysis (2023) and hweebaak/kpopdata (2021)",
    license="2023 lists: MIT (Copyright (c) 2023 Matthew Xu); 2021 lists: no licence stated",
    citation=(
        "dbkpop.com, Kpop database: lists of K-pop groups, idols and music videos; copies in "
        "mattx0601/Modern-Kpop-Analysis (commit e60576e, 2023-11-19) and hweebaak/kpopdata (commit f1e66a3, "
        "2021-12-08)."
    ),
    homepage="https://dbkpop.com",
    files=(
        _raw("dbkpop_boy_groups_2021.csv", "9d30684ca4cad31170411d2152afd38787123c1a91538be443e8653ff10cb02b", *_H,
             "kpop_idols_boy_groups.csv"),
        _raw("dbkpop_boy_groups_2023.csv", "18be0bb8442f3d7ac7918652af5e763b47ec6ee3cb9b549f0d0f9b9be7106d91", *_M,
             "kpop_boy_groups.csv"),
        _raw("dbkpop_girl_groups_2021.csv", "037046d201aa96b1f333b7631fbb15ec591277ac8c2200c143d9cea364f5c95f", *_H,
             "kpop_idols_girl_groups.csv"),
        _raw("dbkpop_girl_groups_2023.csv", "5f93a8743cbcf02e150b1ca6273e7449b74d93ced2d2a2092018ed7859676fd4", *_M,
             "kpop_girl_groups.csv"),
        _raw("dbkpop_idols_2021.csv", "7f31877864bceeccf20bae367157d9e894403dcbea7ae281b2fcc13bae5abcdf", *_H,
             "kpop_idols.csv"),
        _raw("dbkpop_idols_2023.csv", "528810b7cc190df93537b09cdee69066ab11bd2b63f32fb63b6dca0b18c65a0d", *_M,
             "kpop_artists.csv"),
        _raw("dbkpop_music_videos_2021.csv", "f9beba3259f96a78135a8491b8196a1726a4191a23578e3ba9d9dc099403bfd1", *_H,
             "kpop_music_videos.csv"),
    ),
    variables=(),
    loader=load,
    static=True,
    notes=(
        "No panel variables: the lists propose candidate Korean artists (group names, idol stage names, "
        "music-video artists); the decision is the reviewed table hallyu_forecast/data/korean_artists.csv "
        "(allow-list of soloists/sub-units missing from the lists, exclusions for name collisions)."
    ),
)
