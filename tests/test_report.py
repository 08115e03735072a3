"""The HTML report, checked in a real headless browser (Debian's chromium; CI installs it).

Two reports: one from a synthetic explanation and a synthetic drivers result (escaping, the
waterfall's "other" group, the binary lever as categories, optional sections), and one from the
shipped model with a real (small) drivers fit (search, tooltips, the brief's numbers, weight,
phone width). The page's inline script records on ``<body>`` how many charts rendered and any
script error; probes injected before ``</body>`` record what the tests read back from
``--dump-dom``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_explain import explain, synthetic_model, synthetic_panel, synthetic_specs

from hallyu_forecast import _charts as ch
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.features import build_features
from hallyu_forecast.report import build_report_data, render_report
from hallyu_forecast.report_brief import parse_signed_pct
from hallyu_forecast.report_forecast import forecast_size
from hallyu_forecast.report_format import MAX_STEPS, TINY_LOG, json_for_script
from hallyu_forecast.report_sections import worked_scenarios

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0"]
EVIL = "</script><script>window.__pwned=1</script><b>x</b>"


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("No headless browser: install Debian's chromium (`apt-get install -y chromium`; .ci/run does).")


def run_browser(html: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{time.monotonic_ns()}"  # fresh profile each run
    cmd = [_browser(), *FLAGS, f"--user-data-dir={profile}", *args, html.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp)})


def dom_state(html: Path, tmp: Path, *args: str) -> tuple[dict[str, str], str, str]:
    """(body data-* attributes, dumped DOM, browser stderr) after scripts ran."""
    done = run_browser(html, tmp, "--dump-dom", "--virtual-time-budget=5000", *args)
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body, "no <body> in the dumped DOM"
    return dict(re.findall(r'(data-[a-z0-9-]+)="([^"]*)"', body.group(1))), done.stdout, done.stderr


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]


def with_probe(path: Path, script: str, name: str) -> Path:
    """A copy of the report with ``script`` run after the page's own DOMContentLoaded handler."""
    page = path.parent / name
    probe = "<script>document.addEventListener('DOMContentLoaded', function () {try {" + script + \
            "} catch (e) {document.body.setAttribute('data-probe-error', String(e));}});</script>"
    page.write_text(path.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    return page


PROBE_LOAD = "document.body.setAttribute('data-dom-nodes', String(document.getElementsByTagName('*').length));"
PROBE_OPEN_ALL = """
var dets = document.querySelectorAll('details.country');
for (var i = 0; i < dets.length; i++) { window.__hallyuOpen(dets[i].getAttribute('data-iso3')); }
var pts = document.querySelectorAll('circle.forecast-point');
var empty = Array.prototype.filter.call(pts, function (c) {
  var t = c.querySelector('title'); return !t || !t.textContent.trim(); });
document.body.setAttribute('data-forecast-points', String(pts.length));
document.body.setAttribute('data-empty-tooltips', String(empty.length));
var all = document.querySelectorAll('svg[data-chart] circle, svg[data-chart] rect.bar');
var emptyAll = Array.prototype.filter.call(all, function (c) {
  var t = c.querySelector('title'); return !t || !t.textContent.trim(); });
document.body.setAttribute('data-empty-marks', String(emptyAll.length));
document.body.setAttribute('data-marks', String(all.length));
"""


# --------------------------------------------------------------------------- synthetic
def synthetic_drivers(ex):
    """A DriversResult with the contract's frames, made up for the synthetic countries (synthetic)."""
    from hallyu_forecast.drivers import DriversResult

    codes = ex.countries()
    roles = ("government_support", "local_conditions", "regime")
    frames = {"accuracy": pd.DataFrame({
        "target": "synthetic_arrivals_per_capita", "model": ["drivers", "global_mean", "continent_year_mean"],
        "rmse": [0.8, 1.2, 1.1], "rmse_lo": [0.6, 1.0, 0.9], "rmse_hi": [1.0, 1.4, 1.3],
        "ratio": [np.nan, 0.667, 0.727], "ratio_lo": [np.nan, 0.55, 0.6], "ratio_hi": [np.nan, 0.8, 0.85],
        "n_countries": len(codes), "n_rows": 10 * len(codes), "folds": 5})}
    frames["split"] = pd.DataFrame({"target": "synthetic_arrivals_per_capita", "variant": "as_specified",
                                    "role": roles, "share": [0.62, 0.38, 0.0], "lo": [0.51, 0.27, 0.0],
                                    "hi": [0.73, 0.49, 0.0], "definition": "synthetic", "rank_stated": False})
    frames["groups"] = pd.DataFrame({"target": "synthetic_arrivals_per_capita", "variant": "as_specified",
                                     "group": ["cultural_policy", "economic"], "role": roles[:2],
                                     "share": [0.62, 0.38], "lo": [0.51, 0.27], "hi": [0.73, 0.49]})
    rows = []
    for k, iso3 in enumerate(codes):
        for role, c in zip(roles + ("unexplained",), (0.1 * k - 1, 0.05 * k, 0.0, 0.01)):
            rows.append({"target": "synthetic_arrivals_per_capita", "iso3": iso3, "year": 2019, "observed": True,
                         "level_log_rel": 0.15 * k - 0.99, "fitted_log_rel": 0.15 * k - 1.0, "base_log": 0.0,
                         "factor": math.exp(0.15 * k - 0.99), "role": role, "contribution_log": c,
                         "factor_role": math.exp(c), "factor_lo": math.exp(c - 0.1), "factor_hi": math.exp(c + 0.1),
                         "domain": "in"})
    frames["countries"] = pd.DataFrame(rows)
    frames["levers"] = pd.DataFrame({"target": "synthetic_arrivals_per_capita",
                                     "feature": ["cultural_centres", "synthetic_income"],
                                     "label": ["Korean Cultural Centres", "Synthetic income"], "role": roles[:2],
                                     "group": ["cultural_policy", "economic"], "importance": [0.4, 0.2],
                                     "lo": [0.3, 0.1], "hi": [0.5, 0.3], "rank": [1, 2], "rank_stated": [True, False]})
    frames["domain"] = pd.DataFrame({"target": "synthetic_arrivals_per_capita", "iso3": codes, "status": "in",
                                     "reason": "", "domain": "in", "observed_share": 1.0, "n_out_of_range": 0})
    frames["dropped"] = pd.DataFrame(columns=["target", "feature", "reason"])
    return DriversResult(targets=["synthetic_arrivals_per_capita"], frames=frames,
                         meta={"level": 0.9, "folds": 5, "n_refits": 3,
                               "targets": {"synthetic_arrivals_per_capita": {"unit": "synthetic arrivals per 100k"}}})


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    specs = synthetic_specs(tmp / "specs")
    panel = synthetic_panel(n=12, n_new=2)
    # a binary lever: the synthetic centres as 0/1 (drawn as categories, not a scatter)
    panel["synthetic_centres"] = (panel["synthetic_centres"] > 0).astype(float)
    model = synthetic_model(panel, specs)
    ex = explain(model, panel=panel, specs=specs, n_refits=3)
    first = ex.countries()[0]
    ex.rows.loc[ex.rows["iso3"] == first, "name"] = EVIL  # hostile strings from data...
    ex.target["description"] = "log of <script>alert('desc')</script> arrivals"  # ...and from a spec
    forecasts = model.predict(build_features(panel, specs=specs, origins=[2021]))
    drivers = synthetic_drivers(ex)
    return ex, forecasts, drivers, tmp, first


def test_line_chart_keeps_point_tooltips_with_custom_ticks():
    svg = ch.line_chart("c", "t", "s", [{"x": [2020, 2021, 2022], "y": [1.0, 2.0, 3.0], "colour": "#000",
                                         "label": "forecast", "points": True}], "year", "y",
                        y_fmt=lambda v: f"{v:.1f} units", y_ticks=[1.0, 3.0])
    tips = re.findall(r"<circle [^>]*><title>([^<]*)</title>", svg)
    assert tips == ["forecast 2020: 1.0 units", "forecast 2021: 2.0 units", "forecast 2022: 3.0 units"]
    assert ">2.0 units<" not in svg.split("<circle")[0]  # the unlabelled tick stays unlabelled on the axis


def test_json_for_script_cannot_close_the_script():
    text = json_for_script({"name": EVIL, "amp": "a&b", "sep": "\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text)["name"] == EVIL


def test_waterfall_groups_tiny_contributions_and_adds_up(synthetic):
    ex = synthetic[0]
    for iso3 in ex.countries():
        size = forecast_size(ex, iso3)
        steps = size["steps"]
        assert len(steps) <= MAX_STEPS + 1
        assert all(abs(s["log"]) >= TINY_LOG for s in steps if s["role"] != "other")
        assert math.isclose(sum(s["log"] for s in steps), size["prediction"] - size["start"], abs_tol=1e-9)
        assert "log points" in size["text"] and "%" in size["text"]


def test_report_escapes_hostile_strings(synthetic):
    ex, forecasts, drivers, tmp, first = synthetic
    path = render_report(ex, tmp / "evil.html", forecasts=forecasts, drivers=drivers)
    text = path.read_text(encoding="utf-8")
    assert "<script>window.__pwned" not in text and "<script>alert(" not in text
    assert text.count("<script") == 3  # the page's own three: error hook, JSON data, page script
    page = with_probe(path, f"window.__hallyuOpen('{first}'); document.body.setAttribute('data-pwned', "
                            "String(window.__pwned === undefined ? 'no' : 'yes'));"
                            f"document.body.setAttribute('data-summary', document.querySelector('#c-{first} summary')"
                            ".textContent.indexOf('<\\/script>') >= 0 ? 'text' : 'lost');", "evil-probe.html")
    attrs, dom, stderr = dom_state(page, tmp)
    assert attrs.get("data-pwned") == "no"
    assert attrs.get("data-summary") == "text"  # the name is shown as text, not parsed
    assert attrs.get("data-js-errors") == "" and "data-probe-error" not in attrs
    assert console_errors(stderr) == []


def test_synthetic_report_sections_and_levers(synthetic):
    ex, forecasts, drivers, tmp, _ = synthetic
    effects = pd.DataFrame({"lever": ["cultural_centres"], "target": ["synthetic_arrivals_per_capita"],
                            "estimate": [0.12], "lo": [0.02], "hi": [0.22], "method": ["synthetic DiD"],
                            "assumptions": ["parallel trends (synthetic)"]})
    events = pd.DataFrame({"lever": "cultural_centres", "target": "synthetic_arrivals_per_capita",
                           "event_time": [-2, -1, 0, 1, 2], "estimate": [0.0, 0.0, 0.05, 0.1, 0.12],
                           "lo": [-0.05, -0.04, 0.0, 0.03, 0.04], "hi": [0.05, 0.04, 0.1, 0.17, 0.2]})
    index = pd.DataFrame({"iso3": ["JPN", "VNM"], "year": [2022, 2022], "hallyu_index": [0.8, 0.6]})
    data = build_report_data(ex, forecasts=forecasts, drivers=drivers, effects=effects, event_study=events,
                             index=index)
    # hf.effects()'s own column names (ci_lo/ci_hi, band_lo/band_hi, verdict) are accepted as they are
    named = build_report_data(ex, forecasts=forecasts, drivers=drivers,
                              effects=effects.rename(columns={"lo": "ci_lo", "hi": "ci_hi"}).assign(verdict="positive"),
                              event_study=events.rename(columns={"lo": "band_lo", "hi": "band_hi"}))
    assert named.causal["rows"][0]["verdict"] == "positive" and "event-0" in named.charts
    assert {"drivers-split", "drivers-levers", "map-forecast", "event-0", "map-index"} <= set(data.charts)
    assert data.causal["rows"][0]["shap"].startswith("0.400")  # causal next to the drivers model's SHAP
    robust = data.robustness[0]  # one row per drivers target, from the drivers object
    assert robust["gov"] == "62.0% [51.0%\u201373.0%]" and robust["local"] == "38.0% [27.0%\u201349.0%]"
    assert robust["ratio_global"] == "0.67 [0.55\u20130.80]" and robust["ranking"] == "government support > local conditions"
    path = render_report(ex, tmp / "full.html", forecasts=forecasts, drivers=drivers, effects=effects,
                         event_study=events, index=index)
    text = path.read_text(encoding="utf-8")
    order = [text.index(f'id="{s}"') for s in ("brief", "drivers", "robustness", "next", "causal", "index",
                                               "countries", "methods")]
    assert order == sorted(order)
    lever = re.search(r'<svg class="chart" data-chart="lever-cultural_centres".*?</svg>', text, re.S).group(0)
    assert "0 (n=" in lever and "1 (n=" in lever  # binary lever drawn as two categories
    assert "Cultural Centres" in lever and "cultural_centres:" not in lever  # words, not the column name
    plain = render_report(ex, tmp / "plain.html", forecasts=forecasts).read_text(encoding="utf-8")
    assert 'id="causal"' not in plain and 'id="index"' not in plain and 'id="drivers"' not in plain
    assert "No drivers result was supplied" in plain


def test_render_report_rejects_bad_input(synthetic, tmp_path):
    ex, forecasts, drivers, _, _ = synthetic
    with pytest.raises(ConfigError, match=r"^`explanation` must be an Explanation from hallyu_forecast.explanation\(\). "
                                          r"Got DataFrame.$"):
        render_report(pd.DataFrame(), tmp_path / "x.html")
    with pytest.raises(ConfigError, match=r"^`forecasts` lacks column\(s\) \['prediction'\]"):
        render_report(ex, tmp_path / "x.html", forecasts=pd.DataFrame({"iso3": ["XAA"], "origin": [2021],
                                                                        "target_year": [2022]}))
    with pytest.raises(ConfigError, match=r"^`drivers` must be a DriversResult from hallyu_forecast.drivers\(\). "
                                          r"Got dict.$"):
        render_report(ex, tmp_path / "x.html", drivers={})
    with pytest.raises(ConfigError, match=r"^`effects` must be a DataFrame with columns \['lever'"):
        render_report(ex, tmp_path / "x.html", effects=pd.DataFrame({"lever": ["x"]}))
    with pytest.raises(ConfigError, match=r"^`index` must be a DataFrame with columns iso3, year, hallyu_index"):
        render_report(ex, tmp_path / "x.html", index=pd.DataFrame({"iso3": ["JPN"]}))


# ------------------------------------------------------------------------ shipped model
@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    import hallyu_forecast as hf
    from hallyu_forecast.errors import ModelError
    from hallyu_forecast.inference import resolve_model

    tmp = tmp_path_factory.mktemp("shipped")
    forecasts = hf.predict(horizon=[1, 2, 3])
    ex = explain(n_refits=2, years=sorted(int(o) for o in forecasts["origin"].unique()))  # what build_report does
    try:  # the drivers part stored with the shipped model (fast, every measure); else a small fit
        drivers = hf.drivers(model=resolve_model())
    except ModelError:
        drivers = hf.drivers(n_refits=4, bootstrap_reps=100)
    bundle = resolve_model()
    scenarios = worked_scenarios(bundle)  # what build_report shows: the what-if rows and their basis
    start = time.perf_counter()
    path = render_report(ex, tmp / "report.html", forecasts=forecasts, drivers=drivers, effects=bundle.effects,
                         scenarios=scenarios, panel=bundle.load_panel())
    return ex, drivers, path, time.perf_counter() - start, tmp


@pytest.fixture(scope="module")
def loaded(shipped):
    """The shipped report after load (DOM node count recorded before anything is opened)."""
    path, tmp = shipped[2], shipped[4]
    return dom_state(with_probe(path, PROBE_LOAD, "load.html"), tmp)


@pytest.fixture(scope="module")
def probed(shipped):
    """Search probes (four queries, then Enter), then every country opened."""
    path, tmp = shipped[2], shipped[4]
    return dom_state(with_probe(path, PROBE_SEARCH + PROBE_OPEN_ALL, "probed.html"), tmp)


PROBE_SEARCH = """
var out = ['VNM', 'usa', 'turkiye', 'ivory'].map(function (q) { return q + '=' + window.__hallyuSearch(q)[0]; });
document.body.setAttribute('data-search', out.join(','));
var box = document.getElementById('country-search');
box.value = 'ivory'; box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
var det = document.getElementById('c-CIV');
document.body.setAttribute('data-enter', String(det.open && !!det.querySelector('svg[data-chart]')));
"""


def test_shipped_report_is_light_and_self_contained(shipped, loaded):
    ex, drivers, path, seconds, tmp = shipped  # render time: bench/bench_report.py
    text = path.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) < 1_500_000  # was 3.9 MB
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<link" not in text and "@import" not in text and "url(http" not in text
    assert "@media print" in text and "break-inside:avoid" in text
    vnm = re.search(r'<g class="country" data-iso3="VNM"><title>([^<]*)</title>(.*?)</g>', text).group(1, 2)
    assert "youth visitors per 100k" in vnm[0] and "80% interval" in vnm[0] and "history model" in vnm[0]
    assert "hatch" not in vnm[1]  # answered from travel history: not hatched
    new = re.search(r'<g class="country" data-iso3="NGA"><title>([^<]*)</title>(.*?)</g>', text).group(1, 2)
    assert "new-market model" in new[0] and 'fill="url(#hatch-map-forecast)"' in new[1]
    for gone in ("ATA", "BVT", "HMD"):  # uninhabited: neither mapped nor listed
        assert f'id="c-{gone}"' not in text and f'data-iso3="{gone}"' not in text
    attrs, _, stderr = loaded
    assert int(attrs["data-dom-nodes"]) < 8000  # was 58,000
    assert attrs["data-charts-failed"] == "" and attrs["data-js-errors"] == ""
    assert int(attrs["data-charts-rendered"]) >= int(attrs["data-charts-expected"]) > 0
    assert console_errors(stderr) == []


def _brief_dom(loaded) -> str:
    dom = loaded[1]
    return dom[dom.index('id="brief"'):dom.index('id="drivers"')]


def test_brief_numbers_equal_the_drivers_cli(shipped, loaded, capsys):
    """Every share on the brief is the string `hallyu-forecast drivers` prints (same object, same rounding)."""
    from hallyu_forecast.cli import main

    brief = _brief_dom(loaded)
    shown = dict(re.findall(r'data-brief="([a-z_]+)">([^<]*)<', brief))
    assert main(["drivers"]) == 0  # the shipped model's stored drivers result, as the report uses
    out = capsys.readouterr().out
    block = out[out.index("youth_arrivals_per_capita:"):]
    block = block[:block.index("\n\n")]
    for variant, suffix in (("as_specified", ""), ("trade_as_government_support", "_trade")):
        part = block[block.index(f"spread of levels by role ({variant}):"):]
        for role, key in (("government support", "gov"), ("local conditions", "local")):
            m = re.search(rf"{role}\s+([\d.\-]+%) (\[[^\]]+\])", part)
            assert m, f"{role} not in the CLI's {variant} block"
            assert shown[key + suffix] == m.group(1) and shown[key + suffix + "_ci"] == m.group(2), (variant, role)
    b = shipped[1].brief()["targets"]["youth_arrivals_per_capita"]
    assert re.search(rf"youth_arrivals_per_capita: {shown['n_countries']} countries", out)
    assert shown["ratio_global"] == f"{b['ratio_vs_global_mean'][0]:.2f}"
    assert shown["ratio_cy"] == f"{b['ratio_vs_continent_year_mean'][0]:.2f}"
    assert "not effects of policy" in brief and "2023" in brief  # the limits, and forecasts labelled with years


def test_brief_lever_effects_equal_the_effects_cli(shipped, loaded, capsys, monkeypatch):
    """Each lever sentence's percent, interval and n treated are what `hallyu-forecast effects` prints.

    The CLI recomputes the estimates (minutes); here it is handed the estimates stored with the
    shipped model (what the report renders), so its own table-printing path is what is compared."""
    import hallyu_forecast.causal.commands as causal_commands
    from hallyu_forecast.cli import main
    from hallyu_forecast.inference import resolve_model

    monkeypatch.setattr(causal_commands, "effects", lambda **kw: resolve_model().effects)
    assert main(["effects", "--no-track"]) == 0
    printed = {}
    for line in capsys.readouterr().out.splitlines():
        tok = line.split()
        if len(tok) > 9 and tok[1] == "youth_arrivals_per_capita":
            printed[tok[0]] = tok
    items = re.findall(r'<li data-lever="([a-z_]+)" data-estimate="([^"]*)" data-lo="([^"]*)" data-hi="([^"]*)" '
                       r'data-n="(\d+)">([^<]*)</li>', _brief_dom(loaded))
    assert {i[0] for i in items} == {"kcc", "working_holiday", "fta", "trade_intensity"}
    for lever, est, lo, hi, n, sentence in items:
        tok = printed[lever]
        cli = dict(zip(("estimate_pct", "ci_lo_pct", "ci_hi_pct"), map(float, tok[5:8])))
        # the CLI prints 3 decimals, the brief 1: they agree to the brief's rounding (0.05) plus the CLI's (0.0005)
        for shown, key in ((est, "estimate_pct"), (lo, "ci_lo_pct"), (hi, "ci_hi_pct")):
            assert abs(parse_signed_pct(shown) - cli[key]) <= 0.0505, (lever, key, shown, cli[key])
        assert n == tok[8]
        assert f"we cannot rule out effects between {lo} and {hi}" in sentence and "%" in sentence
        if lever in ("kcc", "working_holiday"):
            assert "unknown opening dates are left out" in sentence


def test_brief_forecast_equals_the_predict_cli(loaded, capsys):
    from hallyu_forecast.cli import main
    from hallyu_forecast.report_brief import natural

    assert main(["predict", "--horizon", "1", "--json"]) == 0
    rows = {r["iso3"]: r for r in json.loads(capsys.readouterr().out)}
    shown = re.findall(r'data-next="([A-Z]{3})">[^<]*? ([\d,.]+)</span> <span class="ci">'
                       r'\[80%: ([\d,.]+)\u2013([\d,.]+)\]', _brief_dom(loaded))
    assert len(shown) == 3
    for iso3, value, lo, hi in shown:
        r = rows[iso3]
        assert r["model"] == "history" and r["domain"] == "in"  # measured and inside the models' range only
        assert value == natural(r["prediction_natural"])
        assert (lo, hi) == (natural(math.exp(r["lower"])), natural(math.exp(r["upper"])))


def test_search_finds_codes_and_other_names_and_enter_opens(probed):
    attrs, _, stderr = probed
    assert attrs.get("data-search") == "VNM=VNM,usa=USA,turkiye=TUR,ivory=CIV"
    assert attrs.get("data-enter") == "true"
    assert "data-probe-error" not in attrs and attrs.get("data-js-errors") == ""
    assert console_errors(stderr) == []


def test_every_forecast_point_has_a_tooltip(probed):
    attrs, dom, stderr = probed
    assert "data-probe-error" not in attrs, attrs.get("data-probe-error")
    assert int(attrs["data-forecast-points"]) > 400  # three years for every forecast place
    assert attrs["data-empty-tooltips"] == "0" and attrs["data-empty-marks"] == "0"
    assert attrs["data-charts-failed"] == "" and attrs["data-js-errors"] == ""
    vnm = dom[dom.index('id="c-VNM"'):]
    vnm = vnm[:vnm.index("</details>")]
    assert "log points" in vnm and "persistence" in vnm.lower()  # the explanation at its real size
    assert 'data-chart="waterfall-VNM"' in vnm and 'data-chart="forecast-VNM"' in vnm
    assert console_errors(stderr) == []


def test_phone_width_has_no_sideways_scrolling(shipped):
    """The report in a 400 px frame (headless chromium's window has a larger minimum width): the page's
    scroll width, with a country opened, reported to the host page by postMessage."""
    _, _, path, _, tmp = shipped
    probe = ("window.__hallyuOpen('VNM'); parent.postMessage({scroll: document.documentElement.scrollWidth, "
             "inner: window.innerWidth}, '*');")
    page = with_probe(path, probe, "phone.html")
    host = tmp / "phone-host.html"
    host.write_text("<!DOCTYPE html><html><body><script>window.addEventListener('message', function (e) {"
                    "document.body.setAttribute('data-scroll-width', String(e.data.scroll));"
                    "document.body.setAttribute('data-inner-width', String(e.data.inner));});</script>"
                    f"<iframe src='{page.name}' width='400' height='900' style='border:0'></iframe></body></html>",
                    encoding="utf-8")
    attrs, _, _ = dom_state(host, tmp)
    assert attrs.get("data-inner-width") == "400"
    assert int(attrs["data-scroll-width"]) <= 400


def _pdf_pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


def test_print_brief_fits_in_two_pages(shipped):
    _, _, path, _, tmp = shipped
    only = tmp / "brief-only.html"
    only.write_text(path.read_text(encoding="utf-8").replace(
        "</style>", "main>section:not(#brief){display:none}</style>"), encoding="utf-8")
    pdf = tmp / "brief.pdf"
    done = run_browser(only, tmp, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert done.returncode == 0 and pdf.is_file(), done.stderr[-2000:]
    assert 1 <= _pdf_pages(pdf) <= 2


def test_report_cli_tracks_only_when_asked(monkeypatch, tmp_path):
    """`report` never starts MLflow (and so never creates ./mlruns) unless --track is given."""
    import hallyu_forecast.commands as commands
    from hallyu_forecast.cli import main

    calls = []

    def fake_build_report(**kwargs):
        calls.append(kwargs)
        out = Path(kwargs["out"])
        out.write_text("<!DOCTYPE html>", encoding="utf-8")
        return out

    # commands imports build_report at module level, so the CLI's name is the one to replace
    monkeypatch.setattr(commands, "build_report", fake_build_report)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--out", "r.html"]) == 0
    assert main(["report", "--out", "r.html", "--no-track"]) == 0
    assert main(["report", "--out", "r.html", "--track", "--no-backtest", "--drivers", "saved"]) == 0
    assert [c["track"] for c in calls] == [False, False, True]
    assert calls[2]["run_backtest"] is False and calls[2]["drivers"] == "saved"
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlflow.db").exists()


def test_explain_cli_prints_the_real_size(capsys):
    """`explain --country VNM` ends with the size line: log points and percent, persistence + drift."""
    from hallyu_forecast.cli import main

    assert main(["explain", "--country", "VNM"]) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if "Vietnam (VNM), forecast for" in x]
    assert len(line) == 1
    assert "log points (" in line[0] and "% of" not in line[0] and "persistence + pooled drift" in line[0]
    assert "essentially persistence + drift and cannot separate drivers of change" in line[0]
    assert re.search(r"Korean government support [+\u2212]0\.\d+ log points \([+\u2212][\d.]+%\)", line[0])


def test_causal_section_with_worked_scenarios_from_the_shipped_model(tmp_path):
    """The causal estimates kept with the shipped model and three worked what-if scenarios are rendered."""
    import re

    from hallyu_forecast.inference import resolve_model
    from hallyu_forecast.report_sections import WORKED_SCENARIOS, worked_scenarios

    bundle = resolve_model()
    assert bundle.effects is not None and len(bundle.effects.table) > 0  # stored by `train --save-default`
    scen = worked_scenarios(bundle)
    assert scen["name"].nunique() == len(WORKED_SCENARIOS)
    # the scenario column is the forecast with the change; the baseline is the forecast without it
    assert np.allclose(scen["scenario"] - scen["baseline"], scen["effect"], atol=1e-9)
    causal = scen[scen["effect_lo"].notna()]
    assert ((causal["effect_lo"] <= causal["effect"]) & (causal["effect"] <= causal["effect_hi"])).all()
    ex = explain(n_refits=2, countries=["MEX", "MYS"])
    path = render_report(ex, tmp_path / "r.html", effects=bundle.effects, scenarios=scen)
    text = path.read_text(encoding="utf-8")
    assert "What Korea's policy levers did" in text and "Worked what-if scenarios" in text
    # rows in words, not column names; each labelled with its real basis (not "causal" for a failed check)
    assert "MEX: working-holiday agreement starts and FTA with Korea enters into force" in text
    assert "MEX: trade with Korea US$40bn a year" in text and "kor_trade_usd = 4e+10" not in text
    rows = re.findall(r"<tr><td>(MEX: trade with Korea[^<]*)</td>.*?<td><b>([^<]*)</b>", text)
    assert rows and all(basis == "causal (not credible)" for _, basis in rows)
    rows = re.findall(r"<tr><td>(MEX: working-holiday[^<]*)</td>.*?<td><b>([^<]*)</b>", text)
    assert rows and all(basis == "causal (pre-trends fail)" for _, basis in rows)
    assert re.search(r"Korean Cultural Centre opens</td><td>youth visitors per 100k", text)
    assert "log points (" not in text.split('id="causal"')[1].split("</table>")[0]  # effects in percent


# ------------------------------------------------------------------ layout and access (issue 19)
PROBE_LAYOUT = r"""
window.__hallyuOpen('VNM');
var unit = JSON.parse(document.getElementById('report-data').textContent).unit;
var bad = {overflow: [], clipped: [], legend: [], unit: [], small: [], focus: []};
var tables = document.querySelectorAll('main table');
for (var i = 0; i < tables.length; i++) {
  var t = tables[i], box = t.parentNode, r = t.getBoundingClientRect(), m = document.querySelector('main').getBoundingClientRect();
  if (r.width === 0) { continue; }
  if (box.scrollWidth > box.clientWidth + 1 || r.right > m.right + 1) { bad.overflow.push((t.closest('section') || {}).id + ':' + Math.round(r.width)); }
}
function checkSvgs(svgs) {
for (var j = 0; j < svgs.length; j++) {
  var sv = svgs[j], sr = sv.getBoundingClientRect();
  if (sr.width === 0) { continue; }
  var scale = sv.getScreenCTM().a, name = sv.getAttribute('data-chart');
  var texts = sv.querySelectorAll('text');
  for (var k = 0; k < texts.length; k++) {
    var tr = texts[k].getBoundingClientRect();
    if (tr.width === 0) { continue; }
    if (tr.left < sr.left - 1 || tr.right > sr.right + 1) { bad.clipped.push(name + ':' + texts[k].textContent.slice(0, 40)); }
    var px = parseFloat(getComputedStyle(texts[k]).fontSize) * scale;
    if (px < 12.95) { bad.small.push(name + ':' + px.toFixed(1) + ':' + texts[k].textContent.slice(0, 20)); }
  }
  var swatches = Array.prototype.filter.call(sv.querySelectorAll('rect'), function (q) {
    return q.getAttribute('width') === '12' && q.getAttribute('height') === '12'; });
  if (swatches.length) {
    var labelled = {};
    swatches.forEach(function (q) { var n = q.nextElementSibling;
      while (n && n.tagName.toLowerCase() === 'rect') { n = n.nextElementSibling; }
      if (!n || n.tagName.toLowerCase() !== 'text' || !n.textContent.trim()) { bad.legend.push(name + ':unlabelled swatch'); }
      labelled[q.getAttribute('fill')] = 1; });
    var marks = sv.querySelectorAll('g.mark rect');
    for (var b = 0; b < marks.length; b++) { var f = marks[b].getAttribute('fill');
      if (!labelled[f]) { bad.legend.push(name + ':colour ' + f + ' not in the legend'); } }
  }
}
}
checkSvgs(document.querySelectorAll('svg[data-chart]'));
var countries = document.querySelectorAll('svg[data-chart^="map-forecast"] g.country');
for (var c = 0; c < countries.length; c++) {
  var tip = countries[c].querySelector('title').textContent;
  if (tip.indexOf('no forecast') < 0 && tip.indexOf(unit) < 0) { bad.unit.push(countries[c].getAttribute('data-iso3')); }
  if (countries[c].getAttribute('tabindex') !== '0' || countries[c].getAttribute('aria-label') !== tip) { bad.focus.push(countries[c].getAttribute('data-iso3')); }
}
var all = document.querySelectorAll('body *');
for (var e = 0; e < all.length; e++) {
  var el = all[e];
  if (el.closest('svg') || ['SCRIPT', 'STYLE', 'TITLE'].indexOf(el.tagName) >= 0) { continue; }
  var own = Array.prototype.some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
  if (!own || el.getClientRects().length === 0) { continue; }
  var size = parseFloat(getComputedStyle(el).fontSize);
  if (size < 12.95) { bad.small.push(el.tagName + ':' + size + ':' + el.textContent.trim().slice(0, 30)); }
}
var first = document.querySelector('svg[data-chart="map-forecast"] g.country[data-iso3="VNM"]');
first.focus();
var tipEl = document.getElementById('tip');
document.body.setAttribute('data-focus-tip', tipEl && tipEl.style.display === 'block' && tipEl.textContent === first.getAttribute('aria-label') ? 'same' : 'missing');
var sel = document.getElementById('map-year');
sel.value = sel.options[sel.options.length - 1].value; sel.dispatchEvent(new Event('change'));
var shown = Array.prototype.filter.call(document.querySelectorAll('figure.map-year'), function (f) { return !f.hidden; });
document.body.setAttribute('data-map-year', shown.length === 1 ? shown[0].getAttribute('data-year') : 'none');
var ms = document.getElementById('drivers-measure');
ms.value = ms.options[ms.options.length - 1].value; ms.dispatchEvent(new Event('change'));
var vis = Array.prototype.filter.call(document.querySelectorAll('.drivers-target'), function (f) { return !f.hidden; });
document.body.setAttribute('data-measure', vis.length === 1 && vis[0].querySelector('svg[data-chart]') ? vis[0].getAttribute('data-target') : 'none');
document.body.setAttribute('data-measure-options', String(ms.options.length));
for (var o = 1; o < ms.options.length; o++) {  // every measure's charts, shown one at a time
  ms.value = ms.options[o].value; ms.dispatchEvent(new Event('change'));
  checkSvgs(document.querySelectorAll('.drivers-target:not([hidden]) svg[data-chart]'));
}
document.body.setAttribute('data-downloads', String(document.querySelectorAll('button.dl').length));
document.body.setAttribute('data-tables', String(document.querySelectorAll('main table').length));
document.body.setAttribute('data-figures', String(document.querySelectorAll('figure svg[data-chart]').length));
for (var key in bad) { document.body.setAttribute('data-bad-' + key, bad[key].slice(0, 12).join(' | ')); }
"""


@pytest.mark.parametrize("width", [1400, 1000])
def test_layout_fits_and_is_accessible(shipped, width):
    """At 1400 and 1000 px: no table overflows sideways, no SVG label is clipped, every legend colour is
    labelled, every forecast-map country names its unit and is keyboard-focusable with the same text,
    no text is below 13 px, the year control switches maps, and every table and chart has a CSV button."""
    path, tmp = shipped[2], shipped[4]
    attrs, _, stderr = dom_state(with_probe(path, PROBE_LAYOUT, f"layout-{width}.html"), tmp,
                                 f"--window-size={width},900")
    assert "data-probe-error" not in attrs, attrs.get("data-probe-error")
    for key in ("overflow", "clipped", "legend", "unit", "small", "focus"):
        assert attrs.get(f"data-bad-{key}") == "", (key, attrs.get(f"data-bad-{key}"))
    assert attrs["data-focus-tip"] == "same"
    assert attrs["data-map-year"] == "2025"
    drivers = shipped[1]
    assert attrs["data-measure-options"] == str(len(drivers.targets)) and attrs["data-measure"] == drivers.targets[-1]
    assert int(attrs["data-downloads"]) == int(attrs["data-tables"]) + int(attrs["data-figures"]) > 10
    assert attrs.get("data-js-errors") == "" and console_errors(stderr) == []


def test_maps_colour_only_measured_in_domain_places(shipped):
    text = shipped[2].read_text(encoding="utf-8")
    assert text.count('data-chart="map-forecast') == 3  # one map per forecast year, a select picks one
    for chart in re.findall(r'<svg class="chart" data-chart="map-forecast[^"]*".*?</svg>', text, re.S):
        prk = re.search(r'<g class="country" data-iso3="PRK"><title>([^<]*)</title>(.*?)</g>', chart).group(1, 2)
        # North Korea is never drawn as a forecast: predict refuses it (no plausible travel, issue 18) -> "no forecast"
        assert prk[0].endswith("no forecast") and 'fill="#c8c8c8"' not in prk[1] or "not coloured" in prk[0]
        assert not re.search(r'fill="#(?!c8c8c8|dcdcdc|f4f7fa|ffffff)[0-9a-f]{6}"', prk[1])
        for iso3, tip, body in re.findall(r'<g class="country" data-iso3="([A-Z]+)"><title>([^<]*)</title>(.*?)</g>',
                                          chart):
            coloured = 'fill="#c8c8c8"' not in body and 'fill="#dcdcdc"' not in body
            if coloured:  # coloured places are answered by the history model inside the domain
                assert "history model" in tip and "not coloured" not in tip, iso3
            if "new-market model" in tip or "extrapolated" in tip:
                assert not coloured and "not coloured" in tip, iso3
        assert "covariate-only guess or extrapolation" in chart  # said in the legend


def test_vintage_glossary_and_methods_text(shipped):
    text = shipped[2].read_text(encoding="utf-8")
    import hallyu_forecast.report_brief as rb
    from hallyu_forecast.monthly import load_monthly

    assert f"<span data-vintage>{rb.data_vintage(load_monthly())}</span>" in text
    assert re.search(r"arrivals through \d{4}-\d{2}</span>; run <code>hallyu-forecast data pull</code>", text)
    glossary = text[text.index('id="glossary"'):]
    for term in ("SHAP", "RMSE", "Log points", "Grouped cross-validation", "Covariance share",
                 "Continent × year mean", "New market", "persistence_median_drift", "Mean |contribution|"):
        assert f"<dt>{term}" in glossary, term
    methods = text[text.index('id="methods"'):text.index('id="glossary"')]
    assert "model bundle." not in methods and "2022–2022" not in methods
    for t in shipped[1].targets:  # every target defined, not only the forecaster's
        assert f"<small>({t})</small></dt><dd>" in methods
    assert "mean |contribution| 0 log points (unused)" not in text  # no empty lever chart
    assert not re.search(r"\d\.?\d*e-0\d", re.sub(r"<script.*?</script>|additivity gap [^ ]+", "", text, flags=re.S))


def test_country_profiles_show_every_measure_and_the_levers(probed):
    """Each opened country lists Korea's levers with their dates and every panel measure with its
    history; measures without a value are named under "No data" (values from the shipped panel)."""
    from hallyu_forecast.panel import load_panel

    attrs, dom, _ = probed
    assert "data-probe-error" not in attrs and attrs.get("data-js-errors") == ""
    vnm = dom[dom.index('id="c-VNM"'):]
    vnm = vnm[:vnm.index("</details>")]
    panel = load_panel()
    onset = int(panel.loc[panel["iso3"] == "VNM", "fta_korea_onset_year"].max())
    assert f"FTA with Korea in force: since {onset}" in vnm and "Korean Cultural Centre: " in vnm
    for measure in ("Youth visitors to Korea", "K-pop share of Spotify chart entries", "Hallyu intensity index"):
        assert f"<title>{measure}</title>" in vnm, measure
    assert "Forecast: history model" in vnm
    nga = dom[dom.index('id="c-NGA"'):]
    nga = nga[:nga.index("</details>")]
    assert "covariate-only new-market model" in nga and "No data: " in nga


def test_index_section_shows_the_validation_and_only_published_values(shipped):
    from hallyu_forecast import index as ix
    from hallyu_forecast import index_validation as iv

    text = shipped[2].read_text(encoding="utf-8")
    section = text[text.index('<section id="index">'):]
    section = section[:section.index("</section>")]
    summary = iv.summary(iv.validate_index())
    for r in summary.dropna(subset=["lo90"]).itertuples(index=False):  # the CLI's numbers, as printed
        assert f"<td>{r.spearman:+.2f}</td><td>{r.lo90:+.2f} to {r.hi90:+.2f}</td><td>{r.verdict}</td>" in section
    country = ix.country_index()
    published = set(country.loc[country["hallyu_index_published"], "iso3"])
    tips = dict(re.findall(r'<g class="country" data-iso3="([A-Z]+)"><title>([^<]*)</title>', section))
    for iso3, tip in tips.items():
        if iso3 in published:
            assert "Hallyu index" in tip and "of 100" in tip and "80% band" in tip, iso3
        elif iso3 in set(country["iso3"]):
            assert "not enough evidence" in tip, iso3
        else:
            assert tip.endswith("no indicator"), iso3
    assert f"{len(published)} countries with a published value" in section
