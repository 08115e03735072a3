"""Exception types raised by hallyu_forecast.

Every error names the problem *and* the fix, in the style
"`horizon` must be 1, 2 or 3. Got 4." so that users can act on it without reading code.
"""

from __future__ import annotations


class HallyuError(Exception):
    """Base class of every error raised on purpose by hallyu_forecast."""


class DataError(HallyuError, ValueError):
    """A raw file, source or panel is missing, corrupt, or not in the expected shape."""


class UnknownCountryError(DataError):
    """One or more country names or codes could not be mapped to ISO3.

    Parameters
    ----------
    unresolved : dict[str, list[str]]
        Source name -> sorted list of the values that could not be resolved.
    """

    def __init__(self, unresolved: dict[str, list[str]]):
        self.unresolved = {k: sorted(set(v)) for k, v in unresolved.items()}
        lines = [
            f"  {source}: {', '.join(values)}"
            for source, values in sorted(self.unresolved.items())
        ]
        super().__init__(
            "Could not map these country names/codes to ISO3:\n"
            + "\n".join(lines)
            + "\nAdd each one to hallyu_forecast/data/country_aliases.csv "
            "(alias,iso3; iso3 = AGGREGATE for regions and groups)."
        )


class ChecksumError(DataError):
    """A downloaded or mirrored raw file does not have the expected SHA-256."""


class ConfigError(HallyuError, ValueError):
    """An experiment config, feature spec or target spec is invalid."""


class ModelError(HallyuError, ValueError):
    """A model is missing, cannot be loaded, or cannot answer the request."""


class PreflightError(ConfigError):
    """An output path, tracking URI, storage URL or input file is unusable (checked before work starts)."""


class InputTypeError(HallyuError, TypeError):
    """An argument has the wrong type (e.g. ``predict(392)`` instead of ``predict('JPN')``)."""


class DuplicateRowError(DataError):
    """A raw file holds two rows for the same keys with different values."""


class HallyuWarning(UserWarning):
    """A warning of hallyu_forecast itself (e.g. identical duplicate rows dropped): shown even when the
    CLI hides third-party warnings."""


class DomainError(ModelError):
    """A place is outside the applicability domain of the model (see hallyu_forecast.domain)."""
