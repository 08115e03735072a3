"""Every public function answers a bad argument with a HallyuError naming it (issue 20).

The walk calls each function of ``hallyu_forecast.__all__`` (and ``hf.drivers``) once per parameter
and bad value: values of a type the parameter's annotation excludes (a number for a string, a string
for a number, None for a required DataFrame, a bare object for anything), everything else at valid,
cheap settings. A raw TypeError, ValueError, IndexError, KeyError or AttributeError from inside
fails the test, and so does a call that accepts the bad value. Values of the right type but out of
range (years, horizons, names) are listed explicitly below.
"""

from __future__ import annotations

import inspect

import pytest

import hallyu_forecast as hf
from hallyu_forecast import drivers as drivers_module
from hallyu_forecast.argcheck import OWN_CHECKS, _checker
from hallyu_forecast.errors import HallyuError, InputTypeError

# valid values for required parameters (the bad value replaces one of them at a time)
REQUIRED = {
    "hallyu_index": lambda: {"panel": hf.load_panel()},
    "simulate": lambda: {"country": "VNM", "changes": {"wh_agreement": 1}, "rank": False},
    "rank_levers": lambda: {"country": "VNM"},
    "to_iso3": lambda: {"values": ["Japan"], "source": "test"},
    "render_report": lambda: {"explanation": None, "out_path": "report.html"},
}
CANDIDATES = [object(), 392, "nope", None, 1.5, ["x", 3], True]


def _public_functions():
    out = {name: getattr(hf, name) for name in hf.__all__ if inspect.isfunction(getattr(hf, name))}
    out["drivers"] = drivers_module.run  # hf.drivers(...) is the callable module: its signature is run's
    return out


def _cases():
    for name, func in sorted(_public_functions().items()):
        for pname, param in inspect.signature(func).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            check = None
            if param.annotation is not param.empty and pname not in OWN_CHECKS:
                check = _checker(str(param.annotation), func.__globals__)
            bad = [v for v in CANDIDATES if check is not None and not check[1](v)] if check else [object()]
            for value in bad:
                yield pytest.param(name, pname, value, id=f"{name}-{pname}-{type(value).__name__}")


def test_the_walk_covers_every_public_function():
    names = {case.values[0] for case in _cases()}
    with_params = {n for n, f in _public_functions().items() if inspect.signature(f).parameters}
    assert names == with_params and {"load_dictionary", "load_countries"} <= set(_public_functions()) - names
    assert len(list(_cases())) > 100  # every parameter of ~20 functions, several values each


@pytest.mark.parametrize("name,param,value", list(_cases()))
def test_bad_argument_raises_a_hallyu_error(name, param, value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # render_report's out_path and any stray output land here
    func = getattr(hf, name)
    kwargs = REQUIRED.get(name, dict)()
    kwargs[param] = value
    with pytest.raises(HallyuError) as info:
        func(**kwargs)
    if isinstance(info.value, InputTypeError) and "must be" in str(info.value) and str(info.value).startswith("`"):
        assert str(info.value).startswith(f"`{param}") or param in str(info.value), str(info.value)


def test_the_three_cases_of_the_issue():
    with pytest.raises(InputTypeError, match=r"^`changes\['wh_agreement'\]` must be a number \(0 or 1 for a 0/1 "
                                             r"lever such as wh_agreement\)\. Got str 'yes'\.$"):
        hf.simulate("VNM", {"wh_agreement": "yes"})
    with pytest.raises(HallyuError, match=r"^`year` must be a year of VNM's decomposition for "
                                          r"`youth_arrivals_per_capita` \(\d{4}-\d{4}\)\. Got 1800\.$"):
        hf.drivers().format_country("VNM", year=1800)
    # hf.hallyu_index(None) is the embedded panel since issue 17; a wrong type still names the argument
    with pytest.raises(InputTypeError, match=r"^`panel` must be a pandas DataFrame or None\. Got str 'x'\.$"):
        hf.hallyu_index("x")


# right type, wrong value: each names the argument (or the thing that is wrong) in its message
VALUE_CASES = {
    "predict horizon 7": (lambda: hf.predict("VNM", horizon=7), r"`horizon` must be 1, 2 or 3\. Got 7"),
    "predict origin 1800": (lambda: hf.predict("VNM", origin=1800), r"`origin` must be a year with target data"),
    "predict origin month 13": (lambda: hf.predict("VNM", origin="2022-13"), r"month of `origin` must be"),
    "predict no countries": (lambda: hf.predict([]), r"`countries` is empty"),
    "predict list with a number": (lambda: hf.predict(["MEX", 392]), r"`countries` must hold strings"),
    "explain years 1800": (lambda: hf.explain(countries="VNM", years=[1800]), r"`years` must be origin years"),
    "explain level 2": (lambda: hf.explain(countries="VNM", level=2.0), r"`level` must be between 0 and 1"),
    "simulate horizon 0": (lambda: hf.simulate("VNM", {"wh_agreement": 1}, horizon=0, rank=False),
                           r"`horizon` must be 1, 2 or 3"),
    "simulate nan": (lambda: hf.simulate("VNM", {"wh_agreement": float("nan")}, rank=False),
                     r"`changes\['wh_agreement'\]` must be a number"),
    "simulate half a lever": (lambda: hf.simulate("VNM", {"wh_agreement": 0.5}, rank=False),
                              r"`wh_agreement` is a 0/1 lever"),
    "drivers folds 0": (lambda: hf.drivers(folds=0), r"`folds` must be an integer >= 2\. Got 0"),
    "drivers unknown target": (lambda: hf.drivers(target="nope"), r"Unknown target \['nope'\]"),
    "format_country year as text": (lambda: hf.drivers().format_country("VNM", year="2019"), r"`year` must be"),
    "format_country target 3": (lambda: hf.drivers().format_country("VNM", target=3), r"`target` must be"),
    "effects unknown lever": (lambda: hf.effects(levers="nope"), r"unknown lever\(s\) \['nope'\]"),
    "load_panel missing": (lambda: hf.load_panel("/nonexistent/panel.parquet"), r"Panel file .* not found"),
    "build_features horizon 0": (lambda: hf.build_features(horizons=[0]), r"`horizons` must be integers"),
    "backtest unknown experiment": (lambda: hf.backtest("nope"), r"Experiment `nope` not found"),
    "to_iso3 unknown kind": (lambda: hf.to_iso3(["Japan"], "t", kind="x"), r"`kind` must be one of"),
}


@pytest.mark.parametrize("case", sorted(VALUE_CASES))
def test_bad_value_raises_a_hallyu_error_naming_it(case):
    call, pattern = VALUE_CASES[case]
    with pytest.raises(HallyuError, match=pattern):
        call()
