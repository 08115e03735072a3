"""The package version, in one place (below every layer, so any module may read it)."""

__version__ = "0.1.0"
