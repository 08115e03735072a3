"""Defensive readers for raw files: every failure names the file and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from hallyu_forecast.errors import DataError


def _fail(path: Path, problem: str, fix: str = "") -> DataError:
    fix = fix or (
        "Re-download it with `hallyu-forecast data pull` or restore it from the mirror "
        "(HALLYU_DATA_DIR)."
    )
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


def read_csv(path: Path, columns: Iterable[str] = (), **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` with clear errors for missing, empty, corrupt or mis-encoded files."""
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
    return require_rows(frame, path)


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
