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

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable

import pandas as pd

from hallyu_forecast.errors import ConfigError, DataError, InputTypeError, UnknownCountryError
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


# --------------------------------------------------------------------------------------------
# The user-facing country resolver (CLI, API, report): one place, package data only (works offline).
#
# Sources, all shipped in hallyu_forecast/data: ``countries.csv`` (the panel's table: iso3, name,
# name_ko), ``country_names.csv`` (ISO2 and the English names of the countrycode concordance, written
# by :func:`write_name_table` from the raw mirror), ``country_aliases.csv`` (the names the raw files
# use) and ``report_search_names.csv`` (common English short forms, one URL each).

#: English-name columns of the countrycode concordance copied into ``country_names.csv``.
NAME_TABLE_COLUMNS = ("country.name.en", "iso.name.en", "un.name.en", "cldr.name.en", "cldr.short.en",
                      "cldr.variant.en", "cow.name", "p4.name", "vdem.name")
NAME_TABLE_FILE = "country_names.csv"


def _fold(value: object) -> str:
    """Key of a user-typed name: accents and case ignored, no spaces or punctuation ("Türkiye" -> "turkiye")."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", str(value)))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[\s.,'’`\-_()&/]+", "", text).replace("saint", "st")


def _short_forms(name: str) -> set[str]:
    """Short forms a reader would type for a long name: "Congo (the)" and "Congo - Kinshasa" -> "Congo",
    "Myanmar (Burma)" -> "Myanmar". Shared short forms ("Congo", "Korea") become ambiguous."""
    out = set()
    bare = re.sub(r"\s*\([^)]*\)", "", name).strip()
    if bare and bare != name:
        out.add(bare)
    if " - " in name:
        out.add(name.split(" - ")[0].strip())
    return out


def name_table(data_dir: str | Path | None = None, countries: Iterable[str] | None = None) -> pd.DataFrame:
    """ISO2 and English names per ISO3 from the countrycode concordance (what ``country_names.csv`` holds).

    Parameters
    ----------
    data_dir : path, optional
        Raw data mirror holding ``countrycode/`` (default: ``HALLYU_DATA_DIR``).
    countries : iterable of str, optional
        ISO3 codes to keep (default: those of the packaged ``countries.csv``).

    Returns
    -------
    DataFrame
        iso3, kind (``iso2`` or the concordance column), name; sorted, without duplicates.
    """
    root = resolve_data_dir(data_dir)
    codelist = read_rda(root / "countrycode" / "codelist.rda", "codelist",
                       columns=["iso3c", "iso2c", *NAME_TABLE_COLUMNS])
    keep = set(countries) if countries is not None else set(_package_table("countries.csv")["iso3"])
    rows = []
    for rec in codelist.to_dict("records"):
        iso3 = rec["iso3c"]
        if not isinstance(iso3, str) or iso3 not in keep:
            continue
        for kind in ("iso2c", *NAME_TABLE_COLUMNS):
            value = rec.get(kind)
            if isinstance(value, str) and value.strip():
                rows.append((iso3, "iso2" if kind == "iso2c" else kind, value.strip()))
    table = pd.DataFrame(rows, columns=["iso3", "kind", "name"]).drop_duplicates(["iso3", "name"])
    return table.sort_values(["iso3", "kind", "name"]).reset_index(drop=True)


def write_name_table(data_dir: str | Path | None = None, dest: str | Path | None = None) -> Path:
    """Write :func:`name_table` to ``dest`` (default the package's ``data/country_names.csv``)."""
    path = Path(dest) if dest is not None else Path(__file__).parent / "data" / NAME_TABLE_FILE
    name_table(data_dir).to_csv(path, index=False, lineterminator="\n")
    return path


def _package_table(name: str) -> pd.DataFrame:
    with resources.files("hallyu_forecast.data").joinpath(name).open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@dataclass(frozen=True)
class CountryIndex:
    """Every name and code the resolver knows: folded key -> ISO3 candidates, and ISO3 -> display name."""

    keys: dict[str, frozenset[str]]
    display: dict[str, str]
    names: dict[str, frozenset[str]]  # iso3 -> every name (for the report's search)


@functools.lru_cache(maxsize=1)
def country_index() -> CountryIndex:
    """The resolver's tables, built once per process from package data (no raw mirror needed)."""
    table = _package_table("countries.csv")
    display = dict(zip(table["iso3"], table["name"]))
    names: dict[str, set[str]] = {}
    codes: dict[str, set[str]] = {}

    def add(iso3: str, name: str) -> None:
        if iso3 and name and iso3 not in MARKERS:
            names.setdefault(iso3, set()).add(name)

    for row in table.itertuples(index=False):
        add(row.iso3, row.name)
        add(row.iso3, row.name_ko)
    try:
        extra = _package_table(NAME_TABLE_FILE)
    except FileNotFoundError:  # pragma: no cover - a broken install
        extra = pd.DataFrame(columns=["iso3", "kind", "name"])
    for row in extra.itertuples(index=False):
        if row.kind == "iso2":
            codes.setdefault(_fold(row.name), set()).add(row.iso3)
        else:
            add(row.iso3, row.name)
    aliases = _package_table("country_aliases.csv")
    for row in aliases.itertuples(index=False):
        if row.kind.strip() in ("", "name"):  # iso3/iso2 rows are legacy codes of one source, not names
            add(row.iso3.strip(), row.alias)
    for row in _package_table("report_search_names.csv").itertuples(index=False):
        add(row.iso3.strip(), row.alias)

    keys: dict[str, set[str]] = {}
    for iso3, items in names.items():
        keys.setdefault(_fold(iso3), set()).add(iso3)
        for name in items:
            keys.setdefault(_fold(name), set()).add(iso3)
    for iso3, items in names.items():
        for name in items:
            for short in _short_forms(name):
                keys.setdefault(_fold(short), set()).add(iso3)
    for key, isos in codes.items():  # ISO2 only where no name or ISO3 has the same key
        keys.setdefault(key, set()).update(isos)
    return CountryIndex({k: frozenset(v) for k, v in keys.items() if k},
                        display, {k: frozenset(v) for k, v in names.items()})


def _label(iso3: str, display: dict[str, str]) -> str:
    return f"{iso3} ({display[iso3]})" if iso3 in display else iso3


def resolve_country(value: object, codes: Iterable[str] | None = None, what: str = "`countries`") -> str:
    """One country name or code -> ISO3.

    Accepts ISO3 and ISO2 codes, English names in common spellings and short forms ("Myanmar",
    "Hong Kong", "DR Congo", "UK", "Türkiye", "Viet Nam"), the names the raw files use, and Korean
    names; case and accents are ignored.

    Parameters
    ----------
    value : str
        What the user typed.
    codes : iterable of str, optional
        ISO3 codes allowed (e.g. the countries of the panel in use; codes in it are accepted as
        typed, so synthetic panels work); default every country of the package's table.
    what : str
        How the argument is named in messages.

    Returns
    -------
    str

    Raises
    ------
    InputTypeError
        ``value`` is not a string.
    ConfigError
        Unknown (with close names when there are some), ambiguous (listing the candidates,
        e.g. "Congo": COD, COG), or a known country that is not in ``codes``.
    """
    if not isinstance(value, str):
        raise InputTypeError(f"{what} must be an ISO3 code or English name (a string). Got "
                             f"{type(value).__name__} {value!r}; write e.g. 'JPN'.")
    index = country_index()
    allowed = set(codes) if codes is not None else set(index.display)
    text = value.strip()
    if text.upper() in allowed:
        return text.upper()
    hits = index.keys.get(_fold(text), frozenset())
    if len(hits) > 1:
        listed = ", ".join(_label(c, index.display) for c in sorted(hits))
        raise ConfigError(f"Country {value!r} is ambiguous: it may mean {listed}. Give the ISO3 code.")
    if len(hits) == 1:
        (iso3,) = hits
        if iso3 in allowed:
            return iso3
        raise ConfigError(f"{_label(iso3, index.display)} (from {value!r}) has no data in the panel in use; "
                          "see hallyu_forecast.load_countries().")
    raise ConfigError(f"Unknown country {value!r}. Use ISO3 codes such as 'MEX' or English names of countries "
                      f"in the panel; see hallyu_forecast.load_countries().{_suggest(text, index)}")


def _suggest(text: str, index: CountryIndex) -> str:
    key = _fold(text)
    if len(key) < 4:
        return ""
    close = difflib.get_close_matches(key, [k for k in index.keys if len(k) >= 4], n=3, cutoff=0.8)
    isos = sorted({c for k in close for c in index.keys[k]})
    return f" Did you mean {', '.join(_label(c, index.display) for c in isos)}?" if isos else ""


def resolve_countries(countries, codes: Iterable[str] | None = None, destination: str | None = "KOR",
                      what: str = "`countries`") -> list[str]:
    """ISO3 codes, in the order given without repeats, from names or codes (see :func:`resolve_country`).

    ``countries`` is one string or an iterable of strings. ``destination`` (Korea) is refused as an
    origin; an empty selection is an error. Every unknown value is named in one message.

    Examples
    --------
    >>> resolve_countries(["Viet Nam", "jp", "Türkiye", "DR Congo"])
    ['VNM', 'JPN', 'TUR', 'COD']
    """
    if countries is None:
        raise ConfigError(f"{what} is None: name at least one country (an ISO3 code or English name).")
    if isinstance(countries, str):
        values = [countries]
    elif isinstance(countries, (bytes, int, float, bool)) or not isinstance(countries, Iterable):
        raise InputTypeError(f"{what} must be an ISO3 code or English name (a string), or a list of them. "
                             f"Got {type(countries).__name__} {countries!r}; write e.g. 'JPN' or ['JPN', 'MEX'].")
    else:
        values = list(countries)
    allowed = None if codes is None else set(codes)
    if destination and allowed is not None:
        allowed.add(destination)
    out, unknown = [], []
    for value in values:
        try:
            out.append(resolve_country(value, allowed, what))
        except ConfigError as exc:
            if not str(exc).startswith("Unknown country"):
                raise
            unknown.append(value)
    if unknown:
        if len(unknown) == 1:
            resolve_country(unknown[0], allowed, what)  # raises with its suggestion
        raise ConfigError(f"Unknown country {', '.join(repr(u) for u in unknown)}. Use ISO3 codes such as 'MEX' or "
                          "English names of countries in the panel; see hallyu_forecast.load_countries().")
    if destination and destination in out:
        raise ConfigError(f"Korea is the destination, not an origin country: remove '{destination}'.")
    if not out:
        raise ConfigError(f"{what} is empty: name at least one country, or pass None for all.")
    return list(dict.fromkeys(out))
