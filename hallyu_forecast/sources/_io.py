"""Defensive readers for raw files: every failure names the file and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from hallyu_forecast.errors import DataError, DuplicateRowError, HallyuWarning
from hallyu_forecast.sources._registry import SOURCE_NAMES, get_source


def restore_hint(source: str, raw) -> str:
    """How to get a good copy of raw file ``raw`` of ``source`` back, matched to where it can be had:
    a download URL or ZIP (``data pull``), or a hand compilation from public pages (the mirror only)."""
    if raw is not None and raw.downloadable:
        how = "extracted from its ZIP download" if not raw.url else "from its public URL"
        return (f"Re-download it with `hallyu-forecast data pull --source {source}` ({how}) or restore it "
                "from the mirror (HALLYU_DATA_DIR).")
    if raw is not None and raw.from_pages:
        home = get_source(source).homepage if source else ""
        return ("It is compiled by hand from public pages (each row cites its page URL) and has no download: "
                "copy it from a hallyu_forecast data mirror (HALLYU_DATA_DIR, or `data pull --base-url "
                f"<mirror>`){f'; the facts can be checked at {home}' if home else ''}.")
    return ("It has no public download URL: copy it from the mirror (HALLYU_DATA_DIR, or `data pull "
            "--base-url <mirror>`).")


def lookup_raw_file(path: Path):
    """``(source, RawFile)`` of a file inside a source folder of a data directory, or ``(None, None)``."""

    path = Path(path)
    for parent in path.parents:
        if parent.name in SOURCE_NAMES:
            rel = path.relative_to(parent).as_posix()
            for raw in get_source(parent.name).files:
                if raw.path == rel:
                    return parent.name, raw
            return parent.name, None
    return None, None


def _fail(path: Path, problem: str, fix: str = "") -> DataError:
    if not fix:
        source, raw = lookup_raw_file(path)
        fix = restore_hint(source, raw) if source else "Restore it from the mirror (HALLYU_DATA_DIR)."
    return DataError(f"{path}: {problem} {fix}")


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> pd.DataFrame:
    """Raise a :class:`DataError` naming every expected column the file lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _fail(
            path,
            f"expected column(s) {missing} not found; the file has {list(frame.columns)[:30]}.",
            "The publisher may have renamed a column: update the loader's column map, "
            "or restore the original file.",
        )
    return frame


def require_rows(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    if frame.empty:
        raise _fail(path, "the file has no data rows (empty source).")
    return frame


def _line_offset(kwargs: dict) -> int | None:
    """File line of data row 0 for simple layouts (header on the first line after ``skiprows``)."""
    skip = kwargs.get("skiprows", 0) or 0
    header = kwargs.get("header", "infer")
    if not isinstance(skip, int) or header not in ("infer", 0):
        return None
    return skip + 2


def _show(value) -> str:
    value = value.item() if hasattr(value, "item") else value  # numpy scalars print as plain numbers
    return repr(value) if isinstance(value, str) else str(value)


def check_duplicate_rows(frame: pd.DataFrame, keys: Iterable[str], path: Path,
                         line_offset: int | None = None) -> pd.DataFrame:
    """Rows of a raw file that share ``keys``: identical copies are dropped with a counted warning;
    copies that disagree on any value raise a :class:`DuplicateRowError` naming the file, the keys,
    the columns that differ and both values (with file lines when known).

    ``frame`` keeps the index ``read_csv`` gave it (filtering is fine), so that index label +
    ``line_offset`` is the file line.

    Run on the rows as read, before a loader aggregates or de-duplicates them, so that a second,
    conflicting row (e.g. Japan 2010 polity2 = -10 next to 10) cannot be dropped silently.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"code": ["JPN", "JPN"], "year": [2010, 2010], "score": [10, -10]})
    >>> check_duplicate_rows(frame, ["code", "year"], Path("p.csv"))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DuplicateRowError: p.csv: 1 key(s) appear in rows with different values ...
    """
    import warnings

    keys = list(keys)
    dup = frame.duplicated(keys, keep=False)
    if not dup.any():
        return frame
    rows = frame[dup]
    # identical copies: the same values in every column (NaN equal to NaN)
    canon = rows.astype(str)
    exact = canon.duplicated(keep="first")
    distinct = canon[~exact]
    conflicts = distinct[distinct.duplicated(keys, keep=False)]
    if len(conflicts):
        groups = conflicts.groupby(keys, sort=False).groups
        first_key = next(iter(groups))
        first_key = first_key if isinstance(first_key, tuple) else (first_key,)
        index = list(groups[next(iter(groups))])[:2]
        a, b = frame.loc[index[0]], frame.loc[index[1]]
        differ = [c for c in frame.columns if c not in keys and str(a[c]) != str(b[c])]
        where = ", ".join(f"{k}={v}" for k, v in zip(keys, first_key))
        values = "; ".join(f"{c} = {_show(a[c])} vs {_show(b[c])}" for c in differ[:5])
        lines = ""
        if line_offset is not None:
            pos = [int(i) + line_offset for i in index]  # index labels are the rows as read (0-based)
            lines = f" (lines {pos[0]} and {pos[1]})"
        more = f" ({len(groups)} such keys in all)" if len(groups) > 1 else ""
        raise DuplicateRowError(
            f"{path}: conflicting duplicate rows for {where}{lines}: {values}{more}. "
            f"Each ({', '.join(keys)}) must appear once: remove the wrong row, or restore the original file."
        )
    n = int(exact.sum())
    warnings.warn(f"{path}: dropped {n} identical duplicate row(s) (same {', '.join(keys)} and values).",
                  HallyuWarning, stacklevel=3)
    return frame.drop(index=rows.index[exact.to_numpy()])


def read_csv(path: Path, columns: Iterable[str] = (), keys: Iterable[str] = (), **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` with clear errors for missing, empty, corrupt or mis-encoded files.

    ``keys``: columns that identify a row; duplicates are checked by :func:`check_duplicate_rows`.
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found.")
    kwargs.setdefault("encoding", "utf-8")
    try:
        frame = pd.read_csv(path, **kwargs)
    except UnicodeDecodeError as exc:
        raise _fail(
            path,
            f"is not valid {kwargs['encoding']} text ({exc.reason} at byte {exc.start}).",
            "Re-save it as UTF-8 or restore the original file.",
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise _fail(path, "the file is empty.") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise _fail(path, f"could not be parsed as CSV ({exc}); it may be truncated or corrupt.") from exc
    require_columns(frame, columns, path)
    require_rows(frame, path)
    if keys:
        frame = check_duplicate_rows(frame, keys, path, _line_offset(kwargs))
    return frame


def read_rda(path: Path, obj: str, columns: Iterable[str] = (), latin1: bool = False) -> pd.DataFrame:
    """Read one data.frame ``obj`` from an R ``.rda`` file.

    ``latin1=True`` uses the ``rdata`` package, which (unlike pyreadr) can force a string
    encoding; RSF's file needs it.
    """
    path = Path(path)
    objects = read_rda_all(path, latin1=latin1)
    if obj not in objects:
        raise _fail(path, f"has no object `{obj}`; it holds {sorted(objects)}.",
                    "Restore the original file.")
    frame = objects[obj]
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    require_columns(frame, columns, path)
    return require_rows(frame, path)


def read_rda_all(path: Path, latin1: bool = False) -> dict:
    """Read every object of an ``.rda`` file (for files holding one frame per year)."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found.")
    try:
        if latin1:
            import rdata

            parsed = rdata.parser.parse_file(path, extension="rda")
            return rdata.conversion.convert(parsed, default_encoding="latin1", force_default_encoding=True)
        import pyreadr

        return dict(pyreadr.read_r(str(path)))
    except Exception as exc:
        raise _fail(path, f"could not be read as an R data file ({type(exc).__name__}: {exc}); "
                    "it may be truncated or corrupt.") from exc


def read_excel(path: Path, sheet: str, columns: Iterable[str] = (), **kwargs) -> pd.DataFrame:
    """Read one sheet of an ``.xlsx`` workbook with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found.")
    try:
        frame = pd.read_excel(path, sheet_name=sheet, engine="openpyxl", **kwargs)
    except ValueError as exc:
        if "Worksheet" in str(exc) or "sheet" in str(exc).lower():
            raise _fail(path, f"has no sheet {sheet!r} ({exc}).",
                        "The publisher may have renamed the sheet: update the loader.") from exc
        raise _fail(path, f"could not be read as .xlsx ({exc}).") from exc
    except Exception as exc:  # zipfile.BadZipFile, KeyError, ... on truncated workbooks
        raise _fail(path, f"could not be read as .xlsx ({type(exc).__name__}: {exc}); "
                    "it may be truncated or corrupt.") from exc
    require_columns(frame, columns, path)
    return require_rows(frame, path)
