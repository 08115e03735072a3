"""Argument types of the public functions, checked from their annotations before they run.

``import hallyu_forecast as hf`` hands out every public function through :func:`checked`, so a
value of the wrong type (``hf.hallyu_index("x")``, ``hf.predict(horizon="2")``) raises
:class:`~hallyu_forecast.errors.InputTypeError` naming the argument ("`panel` must be a pandas
DataFrame. Got NoneType None."), instead of a TypeError, KeyError or IndexError from deep inside.
Values of the right type are still checked by the functions themselves (years, horizons,
country names ...).

Only annotations this module understands are enforced (``str``, ``int``, ``float``, ``bool``,
``Path``, ``pd.DataFrame``, ``dict``, ``Callable``, ``Iterable[...]``/``list[...]``/``tuple[...]``
and ``None``); a parameter whose annotation names anything else, or that has none, is passed
through unchecked. Standard library only: importing this module imports nothing heavy.

Examples
--------
>>> def f(panel: "pd.DataFrame", n: "int | None" = None): return n
>>> checked(f)(None)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
InputTypeError: `panel` must be a pandas DataFrame. Got NoneType None.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import os
import sys
from collections.abc import Iterable, Mapping

from hallyu_forecast.errors import InputTypeError

_SIMPLE = {
    "str": ("a string", lambda v: isinstance(v, str)),
    "int": ("an integer", lambda v: isinstance(v, numbers.Integral) and not _is_bool(v)),
    "float": ("a number", lambda v: isinstance(v, numbers.Real) and not _is_bool(v)),
    "bool": ("True or False", lambda v: _is_bool(v)),
    "Path": ("a path", lambda v: isinstance(v, (str, os.PathLike))),
    "pd.DataFrame": ("a pandas DataFrame", lambda v: _is_frame(v)),
    "DataFrame": ("a pandas DataFrame", lambda v: _is_frame(v)),
    "dict": ("a dict", lambda v: isinstance(v, Mapping)),
    "Mapping": ("a dict", lambda v: isinstance(v, Mapping)),
    "Callable": ("a function", callable),
}
_SEQUENCES = ("Iterable", "list", "tuple", "Sequence")
#: Checked by the functions themselves with a more helpful message (the country resolver says
#: "write e.g. 'JPN'"), so not here.
OWN_CHECKS = frozenset({"countries", "country"})


def _is_bool(value) -> bool:
    return type(value).__name__ in ("bool", "bool_")


def _is_frame(value) -> bool:
    pandas = sys.modules.get("pandas")  # not imported yet: nothing can be a DataFrame
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _split(text: str, sep: str) -> list[str]:
    """Split at top-level ``sep`` (not inside brackets)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == sep and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return [p for p in parts if p]


def _checker(annotation: str, namespace: Mapping | None = None):
    """(words, predicate) for an annotation string, or None when it names a type not handled here.

    Names not built in (``Specs``, ``ExperimentConfig``, ``EffectsResult`` ...) are looked up in
    ``namespace`` (the function's module globals) and checked with ``isinstance`` when they are classes.
    """
    namespace = namespace or {}
    alternatives = _split(annotation.strip().strip("'\""), "|")
    words, tests = [], []
    for alt in alternatives:
        base, _, inner = alt.partition("[")
        base = base.strip()
        if alt == "None":
            words.append("None")
            tests.append(lambda v: v is None)
        elif base in _SIMPLE:
            words.append(_SIMPLE[base][0])
            tests.append(_SIMPLE[base][1])
        elif base in _SEQUENCES:
            item = _checker(inner[:-1], namespace) if inner and base != "tuple" else None
            if inner and base != "tuple" and item is None:
                return None
            if base == "tuple" and inner and "..." not in inner:
                return None
            if base == "tuple" and inner:
                item = _checker(inner[:-1].split(",")[0], namespace)
                if item is None:
                    return None
            label = f"a list of {item[0].removeprefix('a ').removeprefix('an ')}s" if item else "a list"
            words.append(label)

            def seq(v, item=item):
                if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, Iterable) or _is_frame(v):
                    return False
                if item is None or not isinstance(v, (list, tuple, set, frozenset)):
                    return True  # do not consume generators or arrays here
                return all(item[1](x) for x in v)

            tests.append(seq)
        elif not inner and inspect.isclass(namespace.get(base)):
            words.append(f"a {base}")
            tests.append(lambda v, cls=namespace[base]: isinstance(v, cls))
        else:
            return None
    if not tests:
        return None
    text = ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]
    return text, lambda v: any(t(v) for t in tests)


def checked(func):
    """``func`` with its annotated argument types checked first (InputTypeError naming the argument)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return func
    checks = {}
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.annotation is param.empty \
                or name in OWN_CHECKS:
            continue
        found = _checker(str(param.annotation), getattr(func, "__globals__", {}))
        if found is not None:
            checks[name] = found
    if not checks:
        return func

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:  # a missing or unknown argument
            raise InputTypeError(f"{func.__name__}(): {exc}. See help(hallyu_forecast.{func.__name__}).") from None
        for name, value in bound.arguments.items():
            if name in checks:
                words, test = checks[name]
                if not test(value):
                    shown = repr(value)
                    shown = shown if len(shown) <= 60 else shown[:57] + "..."
                    raise InputTypeError(f"`{name}` must be {words}. Got {type(value).__name__} {shown}.")
        return func(*args, **kwargs)

    wrapper.__wrapped_checked__ = True
    return wrapper
