"""Pandera schemas: the panel (unique country-year keys, types, ranges) and feature matrices."""

from __future__ import annotations

import pandas as pd

from hallyu_forecast.errors import DataError

# Ranges by unit. Units are declared per variable in each source; a unit not listed here is
# only checked to be numeric. Kept in one place so that a new source gets the same checks.
_UNIT_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "persons": (0, None),
    "persons per year": (0, None),
    "km": (0, 25_000),
    "share 0-1": (0, 1),
    "index 0-1": (0, 1),
    "0/1": (0, 1),
}


def _bounds(unit: str) -> tuple[float | None, float | None]:
    unit = unit.lower()
    for key, bounds in _UNIT_BOUNDS.items():
        if unit == key or unit.startswith(key + " ") or unit.startswith(key + ","):
            return bounds
    if unit.startswith("% of") and "growth" not in unit and "change" not in unit:
        return (0, None)
    return (None, None)


def panel_schema(dictionary: pd.DataFrame, first_year: int, last_year: int):
    """Build the pandera schema of the panel from its data dictionary."""
    import pandera.pandas as pa

    columns: dict[str, pa.Column] = {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$"), nullable=False),
        "year": pa.Column("int64", pa.Check.in_range(first_year, last_year), nullable=False),
    }
    for row in dictionary.itertuples(index=False):
        if row.name in ("iso3", "year"):
            continue
        low, high = _bounds(row.unit)
        checks = []
        if low is not None:
            checks.append(pa.Check.ge(low))
        if high is not None:
            checks.append(pa.Check.le(high))
        columns[row.name] = pa.Column("float64", checks, nullable=True)
    return pa.DataFrameSchema(
        columns,
        unique=["iso3", "year"],
        strict=True,
        ordered=True,
        name="hallyu_panel",
    )


def validate_panel(frame: pd.DataFrame, dictionary: pd.DataFrame) -> pd.DataFrame:
    """Validate the panel; raise :class:`DataError` listing every failure."""
    import pandera.errors

    first, last = int(frame["year"].min()), int(frame["year"].max())
    try:
        return panel_schema(dictionary, first, last).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        summary = (
            cases.groupby(["column", "check"], dropna=False)["failure_case"]
            .agg(lambda s: list(s.astype(str).unique()[:5]))
            .reset_index()
        )
        lines = [f"  {r.column}: {r.check} fails for {r.failure_case}" for r in summary.itertuples()]
        raise DataError("The panel failed validation:\n" + "\n".join(lines)) from None


def check_unique_keys(frame: pd.DataFrame, keys: list[str], what: str) -> None:
    """Raise :class:`DataError` naming duplicate key rows (e.g. of a feature matrix)."""
    dup = frame.duplicated(keys, keep=False)
    if dup.any():
        sample = frame.loc[dup, keys].drop_duplicates().head(5).to_dict("records")
        raise DataError(f"{what} has duplicate {keys} rows, e.g. {sample}. Each key must appear once.")
