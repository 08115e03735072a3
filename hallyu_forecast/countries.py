"""Country harmonisation: every country name or code in every source → ISO 3166-1 alpha-3.

This is the only place where country identities are decided. Resolution order for a value:

1. the package's alias table ``data/country_aliases.csv`` (hand-curated: misspellings such as
   "Itary", legacy codes such as ROM/ZAR/TMP, Korean names such as 터키/튀르키예, and the
   markers ``AGGREGATE`` (World, regions, income groups, "아시아 기타", GCC), ``DEFUNCT``
   (states that no longer exist) and ``NONCOUNTRY`` (stateless, unknown));
2. exact codes or names in the countrycode concordance (``countrycode/codelist.rda``:
   English, ISO, UN, COW, CLDR names incl. Korean) and kdiplo's Korean-name table
   (``kdiplo/iso3c_data.csv``);
3. the countrycode English regular expressions (one unambiguous match required).

Aggregates, defunct states and non-countries resolve to ``None``: callers drop those rows on
purpose. Anything else that does not resolve raises :class:`UnknownCountryError` listing
every unresolved value with its source, so nothing is dropped silently.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable

import pandas as pd

from hallyu_forecast.errors import DataError, UnknownCountryError
from hallyu_forecast.sources import resolve_data_dir
from hallyu_forecast.sources._io import read_csv, read_rda

MARKERS = frozenset({"AGGREGATE", "DEFUNCT", "NONCOUNTRY"})
KINDS = ("name", "iso3", "cown", "cowc", "p5c", "vdem", "iso3n", "iso2")
_CODE_COLUMNS = {"cown": "cown", "cowc": "cowc", "p5c": "p5c", "vdem": "vdem", "iso3n": "iso3n", "iso2": "iso2c"}
_NAME_COLUMNS = (
    "country.name.en",
    "iso.name.en",
    "un.name.en",
    "cldr.name.en",
    "cow.name",
    "p4.name",
    "vdem.name",
    "cldr.name.ko",
    "cldr.short.ko",
    "cldr.variant.ko",
    "country.name.de",
    "country.name.fr",
)


def _key(value: object) -> str:
    """Normalise a name for exact lookups: NFKC, case-folded, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    return re.sub(r"[\s.,'’`\-_()]+", "", text)


def _code_key(value: object) -> str:
    """Normalise a code: numeric codes lose a trailing '.0' (COW codes read as floats)."""
    text = str(value).strip()
    if re.fullmatch(r"-?\d+\.0+", text):
        text = text.split(".")[0]
    return text


@dataclass(frozen=True)
class _Resolver:
    aliases: dict[tuple[str, str], str]  # (kind or "any", key) -> iso3 or marker
    names: dict[str, set[str]]  # name key -> iso3 candidates (or {""} for rows without ISO3)
    regexes: tuple[tuple[re.Pattern, str], ...]  # (pattern, iso3 or "")
    codes: dict[str, dict[str, str]]  # kind -> code -> iso3
    iso3: frozenset[str]

    def resolve(self, value: object, kind: str) -> tuple[str | None, str | None]:
        """Return (iso3 or marker, None) or (None, reason) when unresolved."""
        if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
            return None, "empty value"
        raw = str(value).strip()
        for k in (kind, "any"):
            hit = self.aliases.get((k, _key(raw)))
            if hit:
                return hit, None
        if kind == "iso3":
            code = raw.upper()
            return (code, None) if code in self.iso3 else (None, "not an ISO3 code")
        if kind == "iso2":
            # Spotify prints lower-case alpha-2 codes ("gb"), Netflix upper-case ("GB").
            raw = raw.upper()
        if kind in _CODE_COLUMNS:
            hit = self.codes[kind].get(_code_key(raw))
            return (hit, None) if hit else (None, f"no {kind} code match")
        # kind == "name"
        if re.fullmatch(r"[A-Z]{3}", raw) and raw in self.iso3:
            return raw, None
        cands = self.names.get(_key(raw))
        if cands:
            real = {c for c in cands if c}
            if len(real) == 1:
                return real.pop(), None
            if not real:
                return None, "historical entity without ISO3"
            return None, f"ambiguous name ({', '.join(sorted(real))})"
        low = unicodedata.normalize("NFKC", raw).lower()
        matches = {iso for pattern, iso in self.regexes if pattern.search(low)}
        real = {m for m in matches if m}
        if len(real) == 1:
            return real.pop(), None
        if len(real) > 1:
            return None, f"ambiguous name ({', '.join(sorted(real))})"
        if matches:
            return None, "historical entity without ISO3"
        return None, "no match"


def _read_aliases() -> pd.DataFrame:
    with resources.files("hallyu_forecast.data").joinpath("country_aliases.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return table


@functools.lru_cache(maxsize=4)
def _resolver(data_dir: Path) -> _Resolver:
    codelist = read_rda(data_dir / "countrycode" / "codelist.rda", "codelist", columns=["iso3c", "country.name.en.regex"])
    iso_col = codelist["iso3c"].where(codelist["iso3c"].notna(), "")
    iso3 = set(codelist["iso3c"].dropna())

    aliases: dict[tuple[str, str], str] = {}
    for row in _read_aliases().itertuples(index=False):
        target = row.iso3.strip()
        kind = (row.kind or "").strip() or "any"
        aliases[(kind, _key(row.alias))] = target
        if target not in MARKERS:
            iso3.add(target)

    names: dict[str, set[str]] = {}
    for col in _NAME_COLUMNS:
        if col not in codelist:
            continue
        for name, code in zip(codelist[col], iso_col):
            if isinstance(name, str) and name:
                names.setdefault(_key(name), set()).add(code)
    korean = read_csv(data_dir / "kdiplo" / "iso3c_data.csv", columns=["country_kr", "iso3c"])
    for name, code in zip(korean["country_kr"], korean["iso3c"]):
        names.setdefault(_key(name), set()).add(code)
        iso3.add(code)

    regexes = tuple(
        (re.compile(pattern, re.IGNORECASE), code)
        for pattern, code in zip(codelist["country.name.en.regex"], iso_col)
        if isinstance(pattern, str)
    )
    codes: dict[str, dict[str, str]] = {}
    for kind, col in _CODE_COLUMNS.items():
        mapping: dict[str, str] = {}
        for code, iso in zip(codelist[col], iso_col):
            if pd.notna(code) and iso:
                mapping[_code_key(code)] = iso
        codes[kind] = mapping
    return _Resolver(aliases, names, regexes, codes, frozenset(iso3))


def to_iso3(
    values: Iterable,
    source: str,
    kind: str = "name",
    data_dir: str | Path | None = None,
) -> pd.Series:
    """Map country names or codes to ISO3.

    Parameters
    ----------
    values : iterable
        Names (English in any common spelling, or Korean) or codes.
    source : str
        Name of the source the values come from; quoted in errors.
    kind : {"name", "iso3", "cown", "cowc", "p5c", "vdem", "iso3n", "iso2"}
        What the values are (``iso2``: ISO 3166-1 alpha-2, either case).
    data_dir : path, optional
        Raw data mirror holding ``countrycode/`` and ``kdiplo/`` (default: ``HALLYU_DATA_DIR``).

    Returns
    -------
    pandas.Series
        Aligned with ``values`` (same index if ``values`` is a Series): an ISO3 string, or
        a missing value (NaN) for recognised aggregates, defunct states and non-countries.

    Raises
    ------
    UnknownCountryError
        Listing every value that could not be resolved, with the source.

    Examples
    --------
    >>> to_iso3(["Itary", "터키", "Hong Kong", "아시아 기타"], source="kto_arrivals").tolist()  # doctest: +SKIP
    ['ITA', 'TUR', 'HKG', nan]
    """
    if kind not in KINDS:
        raise DataError(f"`kind` must be one of {KINDS}. Got {kind!r}.")

    resolver = _resolver(resolve_data_dir(data_dir))
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    out: dict[object, str | None] = {}
    unresolved: list[str] = []
    for value in pd.unique(series.astype(object)):
        hit, reason = resolver.resolve(value, kind)
        if hit is None:
            unresolved.append(f"{value!r} ({reason})")
        out[value] = None if hit in MARKERS else hit
    if unresolved:
        raise UnknownCountryError({source: unresolved})
    return series.astype(object).map(out).astype(object)


def known_iso3(data_dir: str | Path | None = None) -> frozenset[str]:
    """Every ISO3 code the resolver knows (countries and territories)."""

    return _resolver(resolve_data_dir(data_dir)).iso3
