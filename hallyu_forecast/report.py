"""The analysts' report: one self-contained, offline HTML page built around the drivers answer.

Python computes one data structure, :class:`ReportData` (:func:`build_report_data`), from the
drivers result (:func:`hallyu_forecast.drivers`), the forecaster's explanation
(:func:`hallyu_forecast.explanation`), the forecasts (:func:`hallyu_forecast.predict`) and the
backtest; the layout lives in the jinja2 template ``hallyu_forecast/templates/report.html.j2``
(autoescaped). Charts that are simpler by hand stay hand-written SVG (:mod:`hallyu_forecast._charts`).
The words and formatters live in :mod:`~hallyu_forecast.report_format`, the evidence sections in
:mod:`~hallyu_forecast.report_sections`, the forecast part in :mod:`~hallyu_forecast.report_forecast`;
this module assembles them (:func:`build_report_data`) and renders the page.

Page, in order:

1. **Brief** (first screen, :mod:`hallyu_forecast.report_brief`): three plain answers with their
   intervals and limits (why levels differ, both codings of trade; what the levers did, causal, in
   percent, n treated; what comes next), then "what this cannot say"; the data-vintage line.
2. **Why levels differ** (drivers): split of the cross-country spread by role and group, the levers,
   country decompositions as factors.
3. **What the measures agree on**: one robustness table across targets.
4. **What comes next**: one forecast map per year behind a select (only measured, in-domain places
   coloured; covariate-only and extrapolated places grey, hatched, with the reason), how the
   forecaster uses the levers (binary/few-level levers as categories), the country sections.
5. Optional **What Korea's policy levers did** (``effects``) and the **Hallyu intensity index** map
   (``index``), rendered only when their data are given.
6. **Methods** (every target defined) and a **Glossary**.

Country sections are collapsed ``<details>`` elements; a small inline script builds a country's
section (charts included) from the embedded JSON when it is opened, so the page loads light.
Every string from data, specs or user files is escaped: in HTML by jinja2's autoescape and
:func:`hallyu_forecast._charts.esc`, in the embedded JSON by :func:`json_for_script` (``<``, ``>``,
``&`` and U+2028/9 as ``\\uXXXX``), and the script writes data with ``textContent`` only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from hallyu_forecast import _charts as ch
from hallyu_forecast import report_brief as rb
from hallyu_forecast import tracking
from hallyu_forecast.config import load_config
from hallyu_forecast.drivers import drivers as fit_drivers
from hallyu_forecast.drivers_result import (
    DriversResult,
    _target_info,
)
from hallyu_forecast.errors import ConfigError, HallyuError, ModelError
from hallyu_forecast.evaluation import backtest
from hallyu_forecast.explanation import explain
from hallyu_forecast.explanation_result import Explanation
from hallyu_forecast.features import load_feature_specs
from hallyu_forecast.inference import predict, resolve_model
from hallyu_forecast.monthly import load_monthly
from hallyu_forecast.report_forecast import _country_payload, _domain_status, _forecast_section, _lever_charts
from hallyu_forecast.report_format import (
    FORECAST_CAVEAT,
    _Inv,
    _names,
    _round,
    clean_label,
    feature_labels,
    json_for_script,
    log_points,
)
from hallyu_forecast.report_parts import (
    _num,
    drivers_measures,
    pct,
    target_definitions,
)
from hallyu_forecast.report_sections import (
    _backtest_table,
    _brief,
    _causal_section,
    _drivers_section,
    _headline,
    _index_section,
    _robustness,
    _scenario_rows,
    _sources,
    worked_scenarios,
)
from hallyu_forecast.training import with_params


# ---------------------------------------------------------------------------- data model
@dataclass
class ReportData:
    """Everything the template renders (JSON-able except the pre-drawn SVG strings).

    Attributes
    ----------
    title, generated : str
    vintage : str
        Data vintage ("arrivals through 2022-12"), shown next to the generated date.
    target : dict
        The forecaster's target: name, description, unit, transform.
    brief : dict or None
        ``DriversResult.brief()`` of the headline target plus formatted strings (``text``).
    drivers : dict or None
        Headline drivers tables (split, groups, levers, accuracy, country factors) and charts.
    robustness : list of dict
        One row per drivers target.
    forecast : dict
        Forecast years, origin, counts, map SVG, places not drawn, lever charts.
    countries : list of dict
        Per-country payload embedded as JSON (sections built on demand).
    methods : dict
    causal, index : dict or None
        Optional sections (``effects`` of the causal analysis, the ``hallyu_index`` map).
    charts : list of str
        Names of the charts drawn at load (``svg[data-chart]``).
    """

    title: str
    generated: str
    vintage: str
    target: dict
    brief: dict | None
    drivers: dict | None
    robustness: list[dict]
    forecast: dict
    countries: list[dict]
    methods: dict
    causal: dict | None = None
    index: dict | None = None
    charts: list[str] = field(default_factory=list)

    def payload(self) -> dict:
        """The JSON embedded in the page (what the inline script reads)."""
        return _round({"countries": self.countries, "unit": self.target.get("unit", ""),
                       "drivers_unit": (self.drivers or {}).get("unit", "")})


def _normalise_forecasts(forecasts) -> pd.DataFrame | None:
    if forecasts is None:
        return None
    if not isinstance(forecasts, pd.DataFrame):
        raise ConfigError(f"`forecasts` must be a DataFrame from hallyu_forecast.predict(). Got "
                          f"{type(forecasts).__name__}.")
    f = forecasts.rename(columns={"lower_80": "lower", "upper_80": "upper"}).copy()
    need = {"iso3", "origin", "target_year", "prediction"}
    missing = sorted(need - set(f.columns))
    if missing:
        raise ConfigError(f"`forecasts` lacks column(s) {missing}; pass the output of hallyu_forecast.predict().")
    for c in ("lower", "upper"):
        if c not in f:
            f[c] = np.nan
    latest = f.groupby("iso3")["origin"].transform("max")
    return f[f["origin"] == latest].sort_values(["iso3", "target_year"]).reset_index(drop=True)


def _normalise_history(history) -> pd.DataFrame:
    if history is None:
        return pd.DataFrame(columns=["iso3", "year", "y"])
    if not isinstance(history, pd.DataFrame) or not {"iso3", "year", "y"} <= set(history.columns):
        raise ConfigError("`history` must be a DataFrame with columns iso3, year, y (observed target, model scale).")
    return history[["iso3", "year", "y"]].dropna().sort_values(["iso3", "year"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------- main
def build_report_data(explanation, forecasts: pd.DataFrame | None = None, backtest=None,
                      history: pd.DataFrame | None = None, title: str | None = None, drivers=None,
                      effects: pd.DataFrame | None = None, event_study: pd.DataFrame | None = None,
                      index: pd.DataFrame | None = None, drivers_target: str | None = None,
                      scenarios: pd.DataFrame | None = None, panel: pd.DataFrame | None = None,
                      vintage: str | None = None) -> ReportData:
    """Compute the one data structure the report template renders.

    Parameters
    ----------
    explanation : Explanation
        The forecaster's explanation (:func:`hallyu_forecast.explanation`).
    forecasts : DataFrame, optional
        :func:`hallyu_forecast.predict` output (several horizons welcome).
    backtest : BacktestResult or DataFrame, optional
    history : DataFrame, optional
        Observed target (iso3, year, y on the model scale); default the explanation's.
    title : str, optional
    drivers : DriversResult, optional
        :func:`hallyu_forecast.drivers` output: the brief, the drivers and robustness sections.
    effects, event_study : DataFrame, optional
        The causal analysis (see :func:`_causal_section` for the columns).
    index : DataFrame, optional
        iso3, year, hallyu_index.
    scenarios : DataFrame, optional
        Worked what-if scenarios (:func:`worked_scenarios`), shown in the causal section.
    drivers_target : str, optional
        Headline drivers target (default ``youth_arrivals_per_capita`` when present).
    panel : DataFrame, optional
        The panel (country profiles' measures and levers, unknown opening dates on the brief).
    vintage : str, optional
        Data-vintage words ("arrivals through 2022-12"); default from the packaged monthly arrivals.

    Returns
    -------
    ReportData
    """

    if not isinstance(explanation, Explanation):
        raise ConfigError(f"`explanation` must be an Explanation from hallyu_forecast.explanation(). Got "
                          f"{type(explanation).__name__}.")
    if drivers is not None and not hasattr(drivers, "brief"):
        raise ConfigError(f"`drivers` must be a DriversResult from hallyu_forecast.drivers(). Got "
                          f"{type(drivers).__name__}.")
    ex = explanation
    charts: list[str] = []
    raw_forecasts = forecasts if isinstance(forecasts, pd.DataFrame) else None
    forecasts = _normalise_forecasts(forecasts)
    history = _normalise_history(history if history is not None else ex.history)

    target = dict(ex.target)
    try:
        target["unit"] = _target_info(load_feature_specs().targets[target["name"]])["unit"]
    except Exception:  # custom specs: fall back to the description
        target["unit"] = str(target.get("description", target["name"])).replace("log of ", "")
    inv = _Inv(target)
    names, other = _names()
    names.update({i: n for i, n in zip(ex.rows["iso3"], ex.rows["name"].astype(str))})
    dtarget = _headline(drivers, drivers_target) if drivers is not None else None
    domain = _domain_status(forecasts, drivers, dtarget)
    fc = _forecast_section(ex, forecasts, inv, target["unit"], names, domain, charts)
    labels = feature_labels(ex.terms["term"])
    fc["lever_charts"] = _lever_charts(ex, labels, charts, unused=fc.setdefault("levers_unused", []))
    fc["caveat"] = FORECAST_CAVEAT
    fc["shrinkage"] = ex.meta.get("shrinkage")
    dsec = brief = None
    robust, robust_text = [], ""
    if drivers is not None:
        dsec = _drivers_section(drivers, dtarget, charts, history, inv, same_target=dtarget == target["name"])
        dsec["measures"] = drivers_measures(drivers, dtarget, charts, clean_label, log_points)
        robust, robust_text = _robustness(drivers)
    causal = _causal_section(effects, event_study, drivers, dtarget, charts)
    if causal is not None:
        causal["scenarios"] = _scenario_rows(scenarios, inv)
    if vintage is None:
        vintage = _vintage(ex, fc.get("origin"))
    if drivers is not None:
        brief = _brief(drivers, dtarget, {k: fc[k] for k in ("years", "origin", "top", "n", "n_history", "n_new")},
                       causal is not None)
        brief["levels"] = rb.levels_answer(drivers, dtarget)
        brief["levers"] = rb.levers_answer(effects, dtarget, brief["unit"], panel)
    else:
        brief = None
    nxt = rb.next_answer(raw_forecasts, names, target["unit"], inv=lambda v: inv(v) if inv(v) is not None else np.nan)
    if brief is not None:
        brief["next"] = nxt
        brief["cannot"] = rb.cannot_say(brief["levels"], brief["levers"], nxt, vintage)
    countries = _country_payload(ex, fc.pop("frame"), history, inv, target["unit"], names, other, domain, drivers,
                                 dtarget, dsec["unit"] if dsec else "")
    profiles = rb.country_profiles(panel)
    for item in countries:  # every measure and lever the panel has for the country (issue 19)
        if item["iso3"] in profiles:
            item["profile"] = profiles[item["iso3"]]
    meta = ex.meta
    methods = {
        "target": {k: str(target.get(k, "")) for k in ("name", "description", "measures", "does_not_measure")},
        "forecaster": {"model": str(meta.get("model", "")), "shrinkage": _num(meta.get("shrinkage")),
                       "drift": _num(meta.get("drift")), "horizon": ex.horizon,
                       "drift_factor": math.exp(_num(meta.get("drift")) or 0.0),
                       "origins": [min(meta.get("origins") or [ex.latest_origin]),
                                   max(meta.get("origins") or [ex.latest_origin])],
                       "n_refits": meta.get("n_refits", 0), "gap": _num(meta.get("max_additivity_gap")) or 0.0},
        "targets": target_definitions(drivers, target),
        "drivers": ({"definition": dsec["definition"], "folds": drivers.meta.get("folds"),
                     "n_refits": drivers.meta.get("n_refits"), "dropped": dsec["dropped"],
                     "skipped": drivers.meta.get("skipped", {})} if dsec else None),
        "backtest": _backtest_table(backtest),
        "sources": _sources(meta.get("panel") == "embedded"),
    }
    return ReportData(
        title=title or "What drives Hallyu? Why levels differ between countries, and what comes next",
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), vintage=vintage, target=target,
        brief=brief,
        drivers=dsec, robustness=robust, forecast={**fc, "robust_text": robust_text}, countries=countries,
        methods=methods, causal=causal, index=_index_section(index, names, charts, panel), charts=charts)


def _vintage(ex, origin) -> str:
    """The data's vintage: the packaged monthly arrivals' last month (embedded panel), else the last origin."""
    monthly = None
    if ex.meta.get("panel") == "embedded":
        try:
            monthly = load_monthly()
        except Exception:  # pragma: no cover - monthly table missing: fall back to the origin year
            monthly = None
    return rb.data_vintage(monthly, origin)


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("hallyu_forecast", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = pct
    env.globals["glossary"] = rb.GLOSSARY
    return env


def render_html(data: ReportData) -> str:
    """The page for ``data`` (jinja2, autoescaped; the SVG charts are already escaped by _charts)."""
    from markupsafe import Markup

    env = _environment()
    return env.get_template("report.html.j2").render(d=data, svg=Markup, payload=Markup(json_for_script(data.payload())),
                                                   map_defs=Markup(ch.map_defs()))


_LAST_RENDER: dict = {}


def render_report(explanation, out_path, forecasts: pd.DataFrame | None = None, backtest=None,
                  history: pd.DataFrame | None = None, title: str | None = None, drivers=None,
                  effects: pd.DataFrame | None = None, event_study: pd.DataFrame | None = None,
                  index: pd.DataFrame | None = None, scenarios: pd.DataFrame | None = None,
                  panel: pd.DataFrame | None = None) -> Path:
    """Write the self-contained HTML report to ``out_path`` (see :func:`build_report_data`).

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import hallyu_forecast as hf                                           # doctest: +SKIP
    >>> render_report(hf.explanation(), "report.html", drivers=hf.drivers())   # doctest: +SKIP
    """
    started = time.perf_counter()
    data = build_report_data(explanation, forecasts=forecasts, backtest=backtest, history=history, title=title,
                             drivers=drivers, effects=effects, event_study=event_study, index=index,
                             scenarios=scenarios, panel=panel)
    doc = render_html(data)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    _LAST_RENDER.update({"seconds": time.perf_counter() - started, "charts": list(data.charts), "bytes": len(doc),
                         "data": data})
    return out


def chart_names(explanation, **kwargs) -> list[str]:
    """Names of the charts drawn at load (``data-chart`` values) for ``explanation``."""
    return list(build_report_data(explanation, **kwargs).charts)


def _quick_backtest(bundle, progress: Callable[[str], None]):
    """The bundle's experiment backtested (pre-COVID origins, no new-market/COVID extras), or None."""

    meta = getattr(bundle, "meta", None) or {}
    try:
        cfg = load_config(meta.get("experiment") or None)
        params = {k[len("model."):]: v for k, v in (meta.get("config") or {}).items() if k.startswith("model.")}
        cfg = with_params(cfg, params)
        return backtest(cfg, panel=bundle.load_panel(), new_market=False, covid=False, bootstrap_reps=200)
    except HallyuError as exc:
        progress(f"backtest skipped: {exc}")
        return None


def _drivers_for(bundle, drivers, n_refits: int, say: Callable[[str], None]):
    """A DriversResult: the one given (object or saved folder), the model's stored drivers part, or a new fit."""

    if isinstance(drivers, DriversResult):
        return drivers
    if drivers is not None:
        return DriversResult.load(drivers)
    t0 = time.perf_counter()
    try:
        result = fit_drivers(model=bundle, n_refits=n_refits)
        say(f"drivers (stored with the model) in {time.perf_counter() - t0:.1f}s")
    except ModelError:  # the model has no drivers part: fit it now
        result = fit_drivers(n_refits=n_refits)
        say(f"drivers fitted in {time.perf_counter() - t0:.1f}s (the model has no drivers part; retrain to store it)")
    return result


def build_report(out: str | Path = "report.html", model=None, track: bool = False,
                 progress: Callable[[str], None] | None = None, n_refits: int = 20,
                 backtest_result=None, run_backtest: bool = True, drivers=None, effects=None) -> Path:
    """Explain ``model`` (default: the shipped one), run the drivers analysis, forecast its horizons,
    backtest its experiment (unless ``backtest_result`` is given or ``run_backtest`` is false) and
    render the report.

    ``drivers`` may be a DriversResult or a folder written by ``DriversResult.save``; ``effects`` the
    result of ``hf.effects()`` (the causal section; not computed here because it is slow). The Hallyu
    index map is drawn when the panel has a ``hallyu_index`` column. With
    ``track=True`` (CLI ``--track``) the HTML and the explanation tables are logged to MLflow and
    the run is announced through ``progress``; by default nothing is tracked. This is
    ``hallyu-forecast report --out report.html``.
    """

    say = progress or (lambda _text: None)
    bundle = resolve_model(model)
    horizons = sorted(int(h) for h in bundle.forecaster.horizons_)
    forecasts = predict(horizon=horizons, model=bundle)
    start = time.perf_counter()
    # the report shows each country's latest forecast only: explain those origins, not the whole history
    ex = explain(model=bundle, n_refits=n_refits, years=sorted(int(o) for o in forecasts["origin"].unique()))
    say(f"explained {len(ex.rows)} country-years in {time.perf_counter() - start:.1f}s")
    result = _drivers_for(bundle, drivers, n_refits, say)
    if backtest_result is None and run_backtest:
        t0 = time.perf_counter()
        backtest_result = _quick_backtest(bundle, say)
        if backtest_result is not None:
            say(f"backtest done in {time.perf_counter() - t0:.1f}s")
    index = panel = None
    try:  # the direct measures' Hallyu index, when the panel has it (optional section)
        panel = bundle.load_panel()
        if "hallyu_index" in panel.columns:
            index = panel[["iso3", "year", "hallyu_index"]]
    except Exception:  # pragma: no cover - a bundle without its panel: the section is skipped
        index = None
    if effects is None:  # the causal estimates kept with the model at training time (None if absent)
        effects = bundle.effects
    scenarios = None
    if effects is not None:
        t0 = time.perf_counter()
        scenarios = worked_scenarios(bundle)
        say(f"worked what-if scenarios ({scenarios['name'].nunique() if len(scenarios) else 0}) in "
            f"{time.perf_counter() - t0:.1f}s")
    path = render_report(ex, out, forecasts=forecasts, backtest=backtest_result, drivers=result, index=index,
                         effects=effects, scenarios=scenarios, panel=panel)
    say(f"rendered {path} ({_LAST_RENDER.get('bytes', 0) / 1024:,.0f} KiB, {len(_LAST_RENDER.get('charts', []))} "
        f"charts at load) in {_LAST_RENDER.get('seconds', 0):.1f}s")
    if track:
        import tempfile

        import mlflow

        with tracking.run("report", load_config()) as active:
            mlflow.log_artifact(str(path), "report")
            with tempfile.TemporaryDirectory() as tmp:
                ex.save(Path(tmp) / "explanation")
                mlflow.log_artifacts(str(Path(tmp) / "explanation"), "explanation")
                result.save(Path(tmp) / "drivers")
                mlflow.log_artifacts(str(Path(tmp) / "drivers"), "drivers")
            say(f"logged to MLflow {mlflow.get_tracking_uri()} (run {getattr(getattr(active, 'info', None), 'run_id', '')})")
    return path
