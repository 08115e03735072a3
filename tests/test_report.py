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


@pytest.fixture(scope="module")
def synthetic_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    specs = synthetic_specs(tmp / "specs")
    panel = synthetic_panel(n=12, n_new=2)
    model = synthetic_model(panel, specs)
    ex = explain(model, panel=panel, specs=specs, n_refits=3)
    fm = build_features(panel, specs=specs, origins=[2021])
    forecasts = model.predict(fm)
    synthetic_backtest = pd.DataFrame({"horizon": [1, 2, 3], "rmse_forecaster": [0.1, 0.2, 0.3],
                                       "rmse_persistence": [0.2, 0.3, 0.4]})
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
    assert "rmse forecaster" in text  # the backtest table
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


def test_report_without_forecasts_or_backtest(synthetic_report, tmp_path):
    ex = synthetic_report[0]
    path = render_report(ex, tmp_path / "sub" / "plain.html")
    text = path.read_text(encoding="utf-8")
    assert "No backtest supplied" in text
    assert len(re.findall(r'<svg class="chart" data-chart=', text)) == len(expected_charts(ex))


def test_render_report_rejects_bad_input(synthetic_report, tmp_path):
    from hallyu_forecast.errors import ConfigError

    ex = synthetic_report[0]
    with pytest.raises(ConfigError, match=r"^`explanation` must be an Explanation from hallyu_forecast.explain\(\). "
                                          r"Got DataFrame.$"):
        render_report(pd.DataFrame(), tmp_path / "x.html")
    with pytest.raises(ConfigError, match=r"^`forecasts` lacks column\(s\) \['prediction'\]; pass the output of "
                                          r"hallyu_forecast.predict\(\).$"):
        render_report(ex, tmp_path / "x.html", forecasts=pd.DataFrame({"iso3": ["XAA"], "origin": [2021],
                                                                        "target_year": [2022]}))
    with pytest.raises(ConfigError, match=r"^`history` must be a DataFrame with columns iso3, year, y"):
        render_report(ex, tmp_path / "x.html", history=pd.DataFrame({"iso3": ["XAA"]}))
    assert np.isfinite(ex.rows["prediction"]).all()
