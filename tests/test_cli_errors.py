"""Every failure case of issue 9 answers with one line on stderr and exit 2, before any work starts.

Each test runs the real CLI (``main([...])``) and checks the exact message, the exit code, that no
traceback is printed, and (through ``_no_work``) that the command's function never ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import hallyu_forecast as hf
from hallyu_forecast import cli, commands, preflight
from hallyu_forecast.errors import InputTypeError, PreflightError


@pytest.fixture()
def no_work(monkeypatch):
    """Replace the commands' functions: a preflight failure must happen before any of them runs."""
    ran = []

    def fake(args):
        ran.append(args.command)
        return 0

    for name in ("_train", "_backtest", "_tune", "_predict", "_explain", "_report"):
        monkeypatch.setattr(commands, name, fake)
    monkeypatch.setattr(cli, "_data_describe", fake)
    monkeypatch.setattr(cli, "_data_build", fake)
    return ran


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err: str, pattern: str) -> None:
    import re

    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.search(pattern, lines[0]), lines[0]


def test_unwritable_mlflow_tracking_uri(capsys, monkeypatch, no_work, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/missing/mlflow.db")
    code, _, err = run(capsys, "train", "--no-backtest")
    assert code == 2 and no_work == []
    assert_one_line(err, rf"^error: MLFLOW_TRACKING_URI `sqlite:///{tmp_path}/missing/mlflow.db`: the folder "
                         rf"{tmp_path}/missing does not exist\. Create the folder or point the URL at a writable")


def test_tracking_uri_in_a_folder_nobody_can_write(capsys, monkeypatch, no_work, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////proc/mlflow.db")  # /proc refuses files, even to root
    code, _, err = run(capsys, "backtest")
    assert code == 2 and no_work == []
    assert_one_line(err, r"^error: MLFLOW_TRACKING_URI `sqlite:////proc/mlflow\.db`: cannot write in /proc \(")


def test_unknown_tracking_scheme_and_malformed_http_url(capsys, monkeypatch, no_work, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "notascheme://x")
    code, _, err = run(capsys, "train")
    assert code == 2
    assert_one_line(err, r"^error: MLFLOW_TRACKING_URI `notascheme://x` has an unknown scheme `notascheme`\. Use e\.g\.")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://:5000")
    code, _, err = run(capsys, "report", "--out", str(tmp_path / "r.html"))
    assert code == 2 and no_work == []
    assert_one_line(err, r"^error: MLFLOW_TRACKING_URI `http://:5000` has no host name\.")


def test_tracking_is_not_checked_with_no_track(capsys, monkeypatch, no_work, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "notascheme://x")
    code, _, err = run(capsys, "backtest", "--no-track")
    assert code == 0 and no_work == ["backtest"] and err == ""


def test_report_out_read_only_file(capsys, no_work, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    target = tmp_path / "report.html"
    target.write_text("old")
    target.chmod(0o444)
    code, _, err = run(capsys, "report", "--out", str(target))
    assert code == 2 and no_work == []
    assert_one_line(err, rf"^error: --out {target} exists and is read-only\. Make it writable \(chmod u\+w {target}\) "
                         "or choose another path\\.$")
    assert target.read_text() == "old"


def test_report_out_is_a_directory(capsys, no_work, tmp_path):
    code, _, err = run(capsys, "report", "--no-track", "--out", str(tmp_path))
    assert code == 2 and no_work == []
    assert_one_line(err, rf"^error: --out {tmp_path} is a folder, not a file: give a file path inside it, "
                         rf"e.g. {tmp_path}/report.html\.$")


def test_predict_csv_into_missing_folder(capsys, no_work, tmp_path):
    target = tmp_path / "nope" / "forecasts.csv"
    code, _, err = run(capsys, "predict", "--csv", str(target))
    assert code == 2 and no_work == []
    assert_one_line(err, rf"^error: --csv {target}: the folder {target.parent} does not exist\. Create it first "
                         rf"\(mkdir -p {target.parent}\) or choose another path\.$")


def test_tune_storage_not_a_url(capsys, no_work, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "tune", "--no-track", "--storage", "notaurl://x")
    assert code == 2 and no_work == []
    assert_one_line(err, r"^error: Optuna storage `notaurl://x` has an unknown scheme `notaurl`\. Use sqlite:///optuna\.db, "
                         r"postgresql://user:password@host:5432/db or mysql://user:password@host/db\.$")


@pytest.mark.parametrize("url, message", [
    ("sqlite:///nodir/optuna.db", r"the folder nodir does not exist"),
    ("postgresql://user@/hallyu", r"has no host name"),
    ("postgresql://user@localhost:5432", r"names no database"),
    ("optuna.db", r"is not a URL"),
])
def test_tune_storage_other_mistakes(capsys, no_work, tmp_path, monkeypatch, url, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "tune", "--no-track", "--storage", url)
    assert code == 2 and no_work == []
    assert_one_line(err, message)


def test_valid_storage_urls_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite:///optuna.db", f"sqlite:///{tmp_path}/o.db", "postgresql://u:p@127.0.0.1:5432/hallyu",
                "postgresql+psycopg2://u@db.example.org/x", "mysql://u@localhost/db"):
        assert preflight.check_storage_url(url) == url


def test_describe_panel_not_parquet(capsys, no_work, tmp_path):
    bogus = tmp_path / "panel.parquet"
    bogus.write_text("iso3,year\nJPN,2010\n")
    code, _, err = run(capsys, "data", "describe", "--panel", str(bogus))
    assert code == 2 and no_work == []
    assert_one_line(err, rf"^error: --panel {bogus} is not a Parquet file \(no PAR1 header/footer\)\. Give a "
                         r"panel\.parquet written by `hallyu-forecast data build`\.$")


def test_describe_panel_missing_and_without_dictionary(capsys, no_work, tmp_path):
    code, _, err = run(capsys, "data", "describe", "--panel", str(tmp_path / "none.parquet"))
    assert code == 2
    assert_one_line(err, rf"^error: --panel {tmp_path}/none\.parquet does not exist\. Check the path\.$")
    import pandas as pd

    pd.DataFrame({"iso3": ["JPN"], "year": [2010]}).to_parquet(tmp_path / "p.parquet")
    code, _, err = run(capsys, "data", "describe", "--panel", str(tmp_path / "p.parquet"))
    assert code == 2 and no_work == []
    assert_one_line(err, rf"^error: The data dictionary next to --panel \(written by `data build`\) "
                         rf"{tmp_path}/dictionary\.csv does not exist\.")


def test_predict_with_a_number_is_a_type_error():
    with pytest.raises(InputTypeError, match=r"^`countries` must be an ISO3 code or English name \(a string\), or a "
                                             r"list of them\. Got int 392; write e\.g\. 'JPN' or \['JPN', 'MEX'\]\.$"):
        hf.predict(392)
    with pytest.raises(TypeError, match=r"`countries` must hold strings .* Got int 392"):
        hf.predict(["MEX", 392])


def test_unexpected_exception_is_one_line_and_debug_shows_the_traceback(capsys, monkeypatch):
    def boom(args):
        raise ZeroDivisionError("division by zero in a helper")

    monkeypatch.setattr(cli, "_data_verify", boom)
    code, _, err = run(capsys, "data", "verify", "--data-dir", ".")
    assert code == 1
    assert_one_line(err, r"^error: unexpected ZeroDivisionError: division by zero in a helper "
                         r"\(run with --debug for the traceback\)$")
    code, _, err = run(capsys, "data", "verify", "--data-dir", ".", "--debug")
    assert code == 1
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError" in err


def test_debug_shows_the_traceback_of_a_hallyu_error(capsys, no_work, tmp_path):
    code, _, err = run(capsys, "--debug", "predict", "--csv", str(tmp_path / "x" / "y.csv"))
    assert code == 2
    assert "Traceback (most recent call last)" in err and "PreflightError" in err
    assert err.strip().splitlines()[-1].startswith("error: --csv ")


def test_output_checks_accept_good_paths(tmp_path):
    assert preflight.check_output_file(tmp_path / "a.csv", what="--csv") == tmp_path / "a.csv"
    assert preflight.check_output_file(tmp_path / "new" / "r.html", create_parent=True)
    assert preflight.check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    (tmp_path / "file").write_text("x")
    with pytest.raises(PreflightError, match=r"is a file, not a folder"):
        preflight.check_output_dir(tmp_path / "file")


def test_cli_error_in_a_real_process_has_no_traceback(tmp_path):
    """The installed entry point (a fresh interpreter) prints one line and exits 2."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.run([sys.executable, "-m", "hallyu_forecast.cli", "tune", "--storage", "notaurl://x"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: Optuna storage `notaurl://x` has an unknown scheme `notaurl`. Use sqlite:///optuna.db, "
        "postgresql://user:password@host:5432/db or mysql://user:password@host/db."]
    assert not Path(tmp_path / "optuna.db").exists()


def test_model_folder_that_does_not_exist(capsys, no_work, tmp_path):
    code, _, err = run(capsys, "explain", "--country", "VNM", "--model", str(tmp_path / "nope"))
    assert code == 2 and no_work == []
    assert_one_line(err, rf"^error: --model {tmp_path}/nope: no such folder\. Give a bundle folder \(written by "
                         r"`train --out`\) or an MLflow model URI such as runs:/<run_id>/model")
