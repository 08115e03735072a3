"""The HTML report opened in a real headless browser (Debian's chromium; CI installs it).

The report's inline script records, on ``<body>``, how many ``svg[data-chart]`` rendered with a
non-empty box (``data-charts-rendered``), which expected charts failed (``data-charts-failed``)
and any script error (``data-js-errors``); ``--dump-dom`` returns the DOM after scripts ran.
The expected chart names are computed here from the synthetic explanation, so a missing chart
fails the test. Two negative controls prove the checks can fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hallyu_forecast.features import build_features
from hallyu_forecast.report import render_report

from test_explain import explain, synthetic_model, synthetic_panel, synthetic_specs

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0"]


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("No headless browser: install Debian's chromium (`apt-get install -y chromium`; .ci/run does).")


def run_browser(html: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{time.monotonic_ns()}"
    cmd = [_browser(), *FLAGS, f"--user-data-dir={profile}", *args, html.resolve().as_uri()]
    env = {**os.environ, "HOME": str(tmp)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)


def dom_state(html: Path, tmp: Path) -> tuple[dict[str, str], list[str], str]:
    """(body data-* attributes, data-chart names in the DOM, browser stderr) after scripts ran."""
    done = run_browser(html, tmp, "--dump-dom", "--virtual-time-budget=5000")
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body, "no <body> in the dumped DOM"
    attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', body.group(1)))
    charts = re.findall(r'<svg class="chart" data-chart="([^"]+)"', done.stdout)
    return attrs, charts, done.stderr


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]


def expected_charts(ex) -> set[str]:
    """Every chart the report must contain for the synthetic explanation (computed independently)."""
    names = {"map-intensity", "map-gov-share", "shares-over-time", "dependence-cultural_centres",
             "shares-history-with-own"}
    for model in ("history", "new_market"):
        names |= {f"shares-{model}", f"importance-{model}", f"features-{model}", f"country-shares-{model}"}
    for iso3 in ex.countries():
        names |= {f"waterfall-{iso3}", f"forecast-{iso3}"}
    return names


class SyntheticBacktest:
    """Stands in for a BacktestResult: only ``summary()`` is used by the report."""

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({"horizon": [1, 2, 3], "n": [30, 28, 26], "rmse_forecaster": [0.1, 0.2, 0.3],
                             "rmse_persistence": [0.2, 0.3, 0.4], "ratio_vs_persistence": [0.5, 0.67, 0.75],
                             "ratio_vs_persistence_lo": [0.4, 0.6, 0.7], "ratio_vs_persistence_hi": [0.6, 0.7, 0.8],
                             "coverage_80": [0.8, 0.82, 0.79]})


@pytest.fixture(scope="module")
def synthetic_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    specs = synthetic_specs(tmp / "specs")
    panel = synthetic_panel(n=12, n_new=2)
    model = synthetic_model(panel, specs)
    ex = explain(model, panel=panel, specs=specs, n_refits=3)
    fm = build_features(panel, specs=specs, origins=[2021])
    forecasts = model.predict(fm)
    synthetic_backtest = SyntheticBacktest()
    start = time.perf_counter()
    path = render_report(ex, tmp / "report.html", forecasts=forecasts, backtest=synthetic_backtest)
    seconds = time.perf_counter() - start
    return ex, path, seconds, tmp


def test_report_renders_every_chart_without_errors(synthetic_report):
    ex, path, seconds, tmp = synthetic_report
    assert seconds < 20
    attrs, charts, stderr = dom_state(path, tmp)
    want = expected_charts(ex)
    assert set(charts) == want, f"missing {sorted(want - set(charts))}, unexpected {sorted(set(charts) - want)}"
    assert len(charts) == len(want)  # no duplicates
    assert attrs.get("data-charts-rendered") == str(len(want))
    assert attrs.get("data-charts-expected") == str(len(want))
    assert attrs.get("data-charts-failed") == ""
    assert attrs.get("data-js-errors") == ""
    assert console_errors(stderr) == []


def test_report_screenshot_is_not_blank(synthetic_report):
    _, path, _, tmp = synthetic_report
    shot = tmp / "report.png"
    done = run_browser(path, tmp, f"--screenshot={shot}", "--window-size=1100,2400")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 40_000  # a blank page is ~7 KB; charts and text make it much larger


def test_report_is_self_contained(synthetic_report):
    ex, path, _, _ = synthetic_report
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<link" not in text and "@import" not in text and "url(http" not in text
    for section in ("global", "by-country", "maps", "levers", "countries", "methods"):
        assert f"id='{section}'" in text
    for iso3 in ex.countries():  # one click from the index to each country
        assert f"href='#c-{iso3}'" in text and f"id='c-{iso3}'" in text
    assert "associational, not causal" in text
    assert "<th>forecaster</th>" in text and "0.50 (0.40-0.60)" in text  # the backtest tables
    assert "80% interval coverage" in text
    assert "@media print" in text


def test_a_missing_chart_or_a_script_error_is_detected(synthetic_report):
    ex, path, _, tmp = synthetic_report
    text = path.read_text(encoding="utf-8")
    broken = tmp / "broken.html"
    # drop one chart from its figure, and add a failing script
    gone = re.sub(r'(<figure class="fig" data-expect-chart="map-intensity">)<svg .*?</svg>', r"\1", text, count=1,
                  flags=re.S)
    assert gone != text
    broken.write_text(gone.replace("</main>", "</main><script>notDefinedAnywhere();</script>"), encoding="utf-8")
    attrs, charts, stderr = dom_state(broken, tmp)
    assert "map-intensity" not in charts
    assert "missing:map-intensity" in attrs.get("data-charts-failed", "")
    assert int(attrs["data-charts-rendered"]) == len(expected_charts(ex)) - 1
    assert "notDefinedAnywhere" in attrs.get("data-js-errors", "")
    assert console_errors(stderr), "chromium should log the uncaught error on stderr"


def test_search_and_sorting_work_in_the_browser(synthetic_report):
    ex, path, _, tmp = synthetic_report
    probe = """<script>document.addEventListener('DOMContentLoaded', function () {
      var box = document.getElementById('country-search');
      box.value = 'XAB'; box.dispatchEvent(new Event('input'));
      var shown = Array.prototype.filter.call(document.querySelectorAll('.index li'),
        function (li) { return li.style.display !== 'none'; });
      document.body.setAttribute('data-test-shown', shown.map(function (li) { return li.textContent; }).join(','));
      var th = document.querySelectorAll('table.glance th')[4];  /* government-support share */
      th.click(); th.click();  /* second click: descending */
      var v = Array.prototype.map.call(document.querySelectorAll('table.glance tbody tr'),
        function (tr) { return parseFloat(tr.cells[4].getAttribute('data-v')); });
      var sorted = v.every(function (x, i) { return i === 0 || v[i - 1] >= x; });
      document.body.setAttribute('data-test-sorted', String(sorted && v.length > 2));
    });</script>"""
    page = tmp / "probe.html"
    page.write_text(path.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    attrs, _, _ = dom_state(page, tmp)
    assert attrs.get("data-test-shown") == "XAB"
    assert attrs.get("data-test-sorted") == "true"
    assert attrs.get("data-js-errors") == ""


def test_report_without_forecasts_or_backtest(synthetic_report, tmp_path):
    ex = synthetic_report[0]
    path = render_report(ex, tmp_path / "sub" / "plain.html")
    text = path.read_text(encoding="utf-8")
    assert "No backtest supplied" in text
    table = render_report(ex, tmp_path / "table.html", backtest=pd.DataFrame({"model": ["a"], "rmse": [0.25]}))
    assert "<td class='num'>0.250</td>" in table.read_text(encoding="utf-8")
    assert len(re.findall(r'<svg class="chart" data-chart=', text)) == len(expected_charts(ex))


def test_render_report_rejects_bad_input(synthetic_report, tmp_path):
    from hallyu_forecast.errors import ConfigError

    ex = synthetic_report[0]
    with pytest.raises(ConfigError, match=r"^`explanation` must be an Explanation from hallyu_forecast.explanation\(\). "
                                          r"Got DataFrame.$"):
        render_report(pd.DataFrame(), tmp_path / "x.html")
    with pytest.raises(ConfigError, match=r"^`forecasts` lacks column\(s\) \['prediction'\]; pass the output of "
                                          r"hallyu_forecast.predict\(\).$"):
        render_report(ex, tmp_path / "x.html", forecasts=pd.DataFrame({"iso3": ["XAA"], "origin": [2021],
                                                                        "target_year": [2022]}))
    with pytest.raises(ConfigError, match=r"^`history` must be a DataFrame with columns iso3, year, y"):
        render_report(ex, tmp_path / "x.html", history=pd.DataFrame({"iso3": ["XAA"]}))
    assert np.isfinite(ex.rows["prediction"]).all()


def test_world_outlines_ship_with_the_package():
    from hallyu_forecast import _charts as ch

    geo = ch.world_geometry()
    assert len(geo) >= 170
    assert {"USA", "JPN", "MEX", "FRA", "BRA", "IDN", "ZAF", "TWN"} <= set(geo)
    assert all(d.startswith("M") and d.endswith("Z") for d in geo.values())
    svg, missing = ch.world_map("m", "t", "s", {"JPN": 1.0, "MEX": 0.0, "XAA": 0.5}, {}, ch.VIRIDIS, "legend")
    assert '<use href="#geo-JPN" fill="#fde725"/>' in svg and '<use href="#geo-MEX" fill="#440154"/>' in svg
    assert missing == ["XAA"]


def test_build_report_with_the_shipped_model(tmp_path):
    from hallyu_forecast.report import build_report

    start = time.perf_counter()
    path = build_report(out=tmp_path / "report.html", track=False, n_refits=2)
    seconds = time.perf_counter() - start
    assert seconds < 40, f"build_report took {seconds:.1f}s"
    attrs, charts, stderr = dom_state(path, tmp_path)
    assert int(attrs["data-charts-rendered"]) == len(charts) == int(attrs["data-charts-expected"]) > 400
    assert attrs["data-charts-failed"] == "" and attrs["data-js-errors"] == ""
    assert console_errors(stderr) == []
    assert {"waterfall-JPN", "forecast-MEX", "map-intensity", "dependence-cultural_centres"} <= set(charts)
    text = path.read_text(encoding="utf-8")
    assert "World Development Indicators" in text  # sources and citations of the embedded panel
    assert "vs persistence" in text and "interval coverage" in text  # the backtest of the shipped experiment
