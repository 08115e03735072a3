"""Units of a forecast target, read from its spec (``targets.toml``), for built-in and brought targets.

``predict()`` returns the forecast on the model scale (``prediction``, ``lower``, ``upper``), its
back-transform (``prediction_natural``) and, where the spec defines how, persons
(``*_arrivals``: a count of arrivals divided by population, times ``scale``, multiplied back).
This module says in words what each of those means for a given target, and which natural-unit
columns exist at all, so that no surface prints the youth-arrivals unit line (or empty
``*_arrivals`` columns) for a target that is not youth arrivals.

Examples
--------
>>> from hallyu_forecast.features import TargetSpec
>>> units = target_units(TargetSpec(name="fans", description="Korea Foundation fan-club members", file="f.csv"))
>>> units.natural_columns
()
>>> units.legend()
'prediction/lower/upper: log of Korea Foundation fan-club members (target `fans`), 80% interval; prediction_natural (--json/--csv): exp(prediction), in Korea Foundation fan-club members.'
"""

from __future__ import annotations

from dataclasses import dataclass

from hallyu_forecast.features import TargetSpec

#: Columns of persons that ``predict()`` fills only for an arrivals count per population.
ARRIVALS_COLUMNS = ("prediction_arrivals", "lower_arrivals", "upper_arrivals")
_PREFIX = {"log": "log of ", "logit": "logit of "}


@dataclass(frozen=True)
class TargetUnits:
    """What the numbers of one target mean.

    Attributes
    ----------
    target : str
    model_scale : str
        Unit of ``prediction``/``lower``/``upper`` ("log of ... per 100,000 population").
    natural : str
        Unit of ``prediction_natural`` (the back-transform).
    natural_columns : tuple of str
        The ``*_arrivals`` columns the spec defines (empty unless the target is an arrivals count
        divided by a denominator).
    persons : str
        Unit of those columns ("" when there are none).
    """

    target: str
    model_scale: str
    natural: str
    natural_columns: tuple[str, ...]
    persons: str = ""

    def legend(self) -> str:
        """One line for the CLI: the unit of every number column it prints."""
        text = f"prediction/lower/upper: {self.model_scale} (target `{self.target}`), 80% interval; "
        text += f"prediction_natural (--json/--csv): {self.natural}."
        if self.natural_columns:
            text += f" *_arrivals: {self.persons}."
        return text


def _strip(description: str, transform: str) -> str:
    prefix = _PREFIX.get(transform, "")
    text = description.strip()
    return text[len(prefix):] if prefix and text.lower().startswith(prefix) else text


def target_units(spec: TargetSpec) -> TargetUnits:
    """The units of ``spec``'s forecasts (see :class:`TargetUnits`)."""
    inner = _strip(spec.description or spec.name, spec.transform)
    if spec.transform == "log":
        model_scale, natural = f"log of {inner}", f"exp(prediction), in {inner}"
    elif spec.transform == "logit":
        model_scale, natural = f"logit of {inner}", f"the share itself (0-1), {inner}"
    else:
        model_scale, natural = inner, f"the same as prediction ({inner})"
    arrivals = bool(spec.numerator and spec.numerator.startswith("arrivals") and spec.denominator and not spec.file)
    if arrivals:
        persons = f"persons ({spec.numerator}; {spec.denominator} known at the origin)"
        return TargetUnits(spec.name, model_scale, natural, ARRIVALS_COLUMNS, persons)
    return TargetUnits(spec.name, model_scale, natural, ())
