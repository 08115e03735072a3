"""Issue 20: no silent wrong answers and no late failures. Each case checks the message it prints.

Levers (0/1 only, units stated), paths checked before work (panel folder, bundle folder, tracking
server, corrupt or incomplete panels), units from the target's spec (a brought target gets no
youth-arrivals line), --json with --csv writes both, the what-if basis and the effects reasons,
train's progress lines on stderr. The fan-club target is synthetic (made here).
"""

from __future__ import annotations

import json
import shutil
import sys
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast import cli, commands
from hallyu_forecast.bundle import load_bundle, save_bundle
from hallyu_forecast.causal.scenarios import _causal_label, check_change_values
from hallyu_forecast.config import load_config
from hallyu_forecast.errors import ConfigError, DataError, InputTypeError, ModelError, PreflightError
from hallyu_forecast.features import TargetSpec, default_specs_dir
from hallyu_forecast.inference import resolve_model
from hallyu_forecast.target_units import ARRIVALS_COLUMNS, target_units
from hallyu_forecast.training import train

sys.path.insert(0, str(Path(__file__).parent))
from test_byo_target import EXPERIMENT, TARGET_ENTRY, _synthetic_fans_csv  # noqa: E402


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture()
def no_work(monkeypatch):
    """The commands' functions replaced: a check that fails must fail before any of them runs."""
    ran = []
    for name in ("_train", "_predict", "_drivers"):
        monkeypatch.setattr(commands, name, lambda args: ran.append(args.command) or 0)
    return ran


# ------------------------------------------------------------------------------------ levers
@pytest.mark.parametrize("setting", ["wh_agreement=0.5", "kcc_present=0.3", "fta_in_force=0.5"])
def test_binary_levers_take_only_0_or_1(capsys, setting):
    column, value = setting.split("=")
    code, out, err = run(capsys, "whatif", "--country", "VNM", "--set", setting)
    assert code == 2 and out == ""
    assert one_error_line(err) == (f"error: `{column}` is a 0/1 lever (1 = in place, 0 = not): set it to 0 or 1. "
                                   f"Got {value}.")


def test_non_numeric_lever_values_name_the_argument(capsys):
    with pytest.raises(InputTypeError, match=r"^`changes\['wh_agreement'\]` must be a number"):
        check_change_values({"wh_agreement": "yes"})
    with pytest.raises(InputTypeError, match=r"^`changes` must be a dict of panel column -> number"):
        check_change_values([("wh_agreement", 1)])
    code, _, err = run(capsys, "whatif", "--country", "VNM", "--set", "wh_agreement=yes")
    assert code == 2
    assert one_error_line(err) == ("error: `--set wh_agreement=yes` must look like COLUMN=NUMBER, e.g. "
                                   "--set kcc_present=1.")


def test_continuous_lever_states_its_unit_and_basis_is_association(capsys):
    code, out, err = run(capsys, "whatif", "--country", "BRA", "--set", "kor_visa_openness=0", "--horizon", "1")
    assert code == 0, err
    assert "\nchanges: kor_visa_openness=0 (ordinal 0-3)\n" in out
    assert "\nbasis: association (predictive model re-run with kor_visa_openness=0)\n" in out
    assert "effect_pct: the effect in percent of the target, 100 * (exp(effect) - 1)." in out


def test_causal_basis_says_when_pre_trends_fail(capsys):
    assert _causal_label("no detectable effect (interval includes 0); pre-trends rejected") == \
        "causal (pre-trends fail)"
    assert _causal_label("positive effect, not credible: pre-trends rejected") == "causal (pre-trends fail)"
    assert _causal_label("positive effect, not credible: placebo treatment also significant") == \
        "causal (not credible)"
    assert _causal_label("no detectable effect (interval includes 0)") == "causal"
    # the shipped effects: working holiday on youth arrivals fails its pre-trend test (README, p = 0.04)
    verdict = hf.simulate("VNM", {"wh_agreement": 1}, horizon=1, rank=False).forecast["basis"].iloc[0]
    code, out, err = run(capsys, "whatif", "--country", "VNM", "--set", "wh_agreement=1", "--horizon", "1")
    assert code == 0, err
    assert f"\nbasis: {verdict}\n" in out
    assert "pre-trends rejected" in verdict and verdict.startswith("causal (pre-trends fail) (wh_agreement: ")
    assert "\nchanges: wh_agreement=1 (0/1 lever: 1 = in place, 0 = not)\n" in out


def test_effects_prints_why_not_estimable_and_percent(capsys):
    code, out, err = run(capsys, "effects", "--lever", "oda", "--target", "youth_arrivals_per_capita", "--no-track")
    assert code == 0, err
    assert ("\nnot estimable: oda x youth_arrivals_per_capita: Korean ODA exists for 2019 only, so it is a country "
            "constant") in out
    header = out.splitlines()[0].split()
    assert header[:8] == ["lever", "target", "estimate", "ci_lo", "ci_hi", "estimate_pct", "ci_lo_pct", "ci_hi_pct"]
    assert "*_pct: the same in percent of the target, 100 * (exp(x) - 1)." in out


# ------------------------------------------------------------------- paths, before any work
@pytest.mark.parametrize("state", ["missing", "empty"])
def test_panel_dir_empty_or_missing_is_an_error_not_a_fallback(capsys, monkeypatch, no_work, tmp_path, state):
    folder = tmp_path / "panel"
    if state == "empty":
        folder.mkdir()
    monkeypatch.setenv("HALLYU_PANEL_DIR", str(folder))
    code, _, err = run(capsys, "predict", "--country", "VNM")
    assert code == 2 and no_work == []
    what = "does not exist" if state == "missing" else "is empty"
    assert one_error_line(err).startswith(f"error: HALLYU_PANEL_DIR={folder} {what}. Build a panel there with "
                                          "`hallyu-forecast data build`")
    assert err.rstrip().endswith("or unset HALLYU_PANEL_DIR to use the embedded panel.")
    with pytest.raises(DataError, match=rf"^HALLYU_PANEL_DIR={folder} {what}"):
        hf.load_panel()
    with pytest.raises(DataError, match=rf"^HALLYU_PANEL_DIR={folder} {what}"):
        hf.load_countries()


def test_panel_dir_without_one_of_its_files_names_it(monkeypatch, tmp_path):
    (tmp_path / "panel.parquet").write_bytes(b"PAR1")
    monkeypatch.setenv("HALLYU_PANEL_DIR", str(tmp_path))
    with pytest.raises(DataError, match=rf"^HALLYU_PANEL_DIR={tmp_path} has panel.parquet but no dictionary.csv"):
        hf.load_dictionary()


def _panel_folder(tmp_path: Path, frame: pd.DataFrame | None = None, raw: bytes | None = None) -> Path:
    """A panel folder like `data build` writes, from the embedded files (the panel replaced)."""
    folder = tmp_path / "panel"
    folder.mkdir()
    data = resources.files("hallyu_forecast.data")
    for name in ("panel_meta.json", "dictionary.csv", "countries.csv", "monthly.parquet"):
        shutil.copyfile(str(data / name), folder / name)
    if raw is not None:
        (folder / "panel.parquet").write_bytes(raw)
    else:
        frame.to_parquet(folder / "panel.parquet")
    return folder


def test_corrupt_panel_names_the_file(capsys, monkeypatch, no_work, tmp_path):
    folder = _panel_folder(tmp_path, raw=b"not a parquet file")
    monkeypatch.setenv("HALLYU_PANEL_DIR", str(folder))
    with pytest.raises(DataError, match=rf"^Panel file {folder}/panel.parquet cannot be read as Parquet \("):
        hf.load_panel()
    code, _, err = run(capsys, "predict")
    assert code == 2 and no_work == []  # found by the up-front check (no PAR1 magic bytes)
    assert one_error_line(err) == (f"error: The panel of HALLYU_PANEL_DIR {folder}/panel.parquet is not a Parquet "
                                   "file (no PAR1 header/footer). Give a panel.parquet written by "
                                   "`hallyu-forecast data build`.")


def test_damaged_panel_with_parquet_magic_bytes_names_the_file(capsys, monkeypatch, tmp_path):
    folder = _panel_folder(tmp_path, raw=b"PAR1" + b"\0" * 64 + b"PAR1")  # passes the magic-byte check
    monkeypatch.setenv("HALLYU_PANEL_DIR", str(folder))
    code, _, err = run(capsys, "predict", "--country", "VNM")
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f"error: Panel file {folder}/panel.parquet cannot be read as Parquet (")
    assert line.endswith("Rebuild it with `hallyu-forecast data build`, or reinstall the package for the embedded "
                         "panel.")


def test_panel_missing_a_column_names_it_and_the_fix(capsys, monkeypatch, tmp_path):
    panel = hf.load_panel().drop(columns=["population"])
    with pytest.raises(DataError, match=r"^The panel has no column `population` \(needed by target "
                                        r"`youth_arrivals_per_capita` \(denominator\)\)\. Rebuild the panel with "
                                        r"`hallyu-forecast data build`"):
        hf.build_features(panel=panel, specs=hf.load_feature_specs(), origins=[2018], horizons=[1])
    with pytest.raises(ConfigError, match=r"feature `log_population` names unknown panel column `population`"):
        hf.build_features(panel=panel, origins=[2018], horizons=[1])  # specs read against this panel's columns
    folder = _panel_folder(tmp_path, frame=panel)
    monkeypatch.setenv("HALLYU_PANEL_DIR", str(folder))
    code, _, err = run(capsys, "predict", "--country", "VNM")
    assert code == 2
    assert one_error_line(err).startswith("error: The panel has no column `population` (needed by target "
                                          "`youth_arrivals_per_capita` (denominator)).")
    code, _, err = run(capsys, "data", "describe", "--panel", str(folder / "panel.parquet"))
    assert code == 2
    assert one_error_line(err) == ("error: The panel has no column `population`, which its data dictionary lists. "
                                   "Rebuild the panel with `hallyu-forecast data build` (it writes both files).")


def test_train_out_into_a_non_model_folder_fails_before_training(capsys, no_work, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("mine\n")
    code, _, err = run(capsys, "train", "--no-track", "--out", str(folder))
    assert code == 2 and no_work == []
    assert one_error_line(err) == (f"error: --out {folder} exists and holds files but no model bundle (meta.json); "
                                   "it would be refused after training. Choose a new or empty folder, or an existing "
                                   "bundle to replace.")
    (folder / "todo.txt").unlink()  # an empty folder and an existing bundle are fine
    assert run(capsys, "train", "--no-track", "--out", str(folder))[0] == 0
    save_bundle(resolve_model(None), folder / "bundle")
    assert run(capsys, "train", "--no-track", "--out", str(folder / "bundle"))[0] == 0
    assert no_work == ["train", "train"]


def test_a_bundle_can_be_saved_into_an_empty_folder_not_into_other_files(tmp_path):
    (tmp_path / "empty").mkdir()
    bundle = resolve_model(None)
    assert load_bundle(save_bundle(bundle, tmp_path / "empty")).target == bundle.target
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "todo.txt").write_text("mine\n")
    with pytest.raises(ModelError, match=r"exists and is not a model bundle; choose another folder"):
        save_bundle(bundle, tmp_path / "other")
    assert (tmp_path / "other" / "todo.txt").read_text() == "mine\n"


def test_unreachable_tracking_server_fails_fast_before_training(capsys, monkeypatch, no_work, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # port 9 (discard): nothing listens
    code, _, err = run(capsys, "train", "--no-backtest")
    assert code == 2 and no_work == []
    line = one_error_line(err)
    assert line.startswith("error: MLFLOW_TRACKING_URI `http://127.0.0.1:9`: cannot connect to 127.0.0.1:9 (")
    assert line.endswith("Start the tracking server, point MLFLOW_TRACKING_URI at a running one, or pass --no-track.")
    # the Python API checks too, before loading the panel or fitting anything
    with pytest.raises(PreflightError, match=r"cannot connect to 127\.0\.0\.1:9"):
        train(load_config("default"), run_backtest=False, track=True)


# ------------------------------------------------------------------------- units, formats
@pytest.fixture(scope="module")
def fans_model(tmp_path_factory) -> Path:
    """A bring-your-own target (synthetic fan-club counts) trained without backtest, tracking or drivers."""
    root = tmp_path_factory.mktemp("byo")
    shutil.copytree(default_specs_dir(), root / "my_features")
    (root / "my_features" / "fans.csv").write_text(_synthetic_fans_csv(), encoding="utf-8")
    with open(root / "my_features" / "targets.toml", "a", encoding="utf-8") as fh:
        fh.write(TARGET_ENTRY)
    (root / "my_experiment.toml").write_text(EXPERIMENT, encoding="utf-8")
    bundle, _, _ = train(load_config(root / "my_experiment.toml"), run_backtest=False, track=False, drivers=False)
    return save_bundle(bundle, root / "fans_model")


def test_units_come_from_the_targets_spec():
    fans = target_units(TargetSpec(name="fans", description="Korea Foundation fan-club members per country",
                                   file="fans.csv"))
    assert fans.natural_columns == ()
    assert fans.legend() == ("prediction/lower/upper: log of Korea Foundation fan-club members per country (target "
                             "`fans`), 80% interval; prediction_natural (--json/--csv): exp(prediction), in Korea "
                             "Foundation fan-club members per country.")
    specs = hf.load_feature_specs()
    youth = target_units(specs.targets["youth_arrivals_per_capita"])
    assert youth.natural_columns == ARRIVALS_COLUMNS
    assert youth.legend().endswith("*_arrivals: persons (arrivals_0_30; population known at the origin).")
    assert target_units(specs.targets["kpop_chart_share"]).natural_columns == ()  # a share: no persons


def test_predict_for_a_brought_target_prints_its_own_units(capsys, fans_model, tmp_path):
    code, out, err = run(capsys, "predict", "--model", str(fans_model), "--country", "JPN")
    assert code == 0, err
    assert "youth" not in out and "_arrivals" not in out and "NaN" not in out
    assert "\nprediction/lower/upper: log of Korea Foundation fan-club members per country (target `fans`)" in out
    code, out, err = run(capsys, "predict", "--model", str(fans_model), "--country", "JPN", "--json",
                         "--csv", str(tmp_path / "fans.csv"))
    assert code == 0, err
    rows = json.loads(out)
    assert not any(c in rows[0] for c in ARRIVALS_COLUMNS) and "prediction_natural" in rows[0]
    assert not any(c in pd.read_csv(tmp_path / "fans.csv").columns for c in ARRIVALS_COLUMNS)


def test_predict_and_drivers_json_with_csv_write_both(capsys, tmp_path):
    code, out, err = run(capsys, "predict", "--country", "MEX", "--json", "--csv", str(tmp_path / "p.csv"))
    assert code == 0, err
    assert json.loads(out)[0]["iso3"] == "MEX"  # stdout is the JSON alone
    assert err.strip() == f"Wrote 1 forecasts to {tmp_path / 'p.csv'}"
    assert list(pd.read_csv(tmp_path / "p.csv")["iso3"]) == ["MEX"]
    code, out, err = run(capsys, "drivers", "--country", "VNM", "--json", "--csv", str(tmp_path / "d.csv"))
    assert code == 0, err
    assert set(json.loads(out)["countries"]) == {"VNM"}
    table = pd.read_csv(tmp_path / "d.csv")
    assert len(table) > 0 and set(table["iso3"]) == {"VNM"}
    assert err.strip() == f"Wrote {len(table)} decomposition rows to {tmp_path / 'd.csv'}"
    help_text = cli.build_parser()._subparsers._group_actions[0].choices["drivers"].format_help()
    assert "with --json both are written" in " ".join(help_text.split())


def test_train_progress_lines_go_to_stderr(capsys, monkeypatch):
    def fake_train(cfg, progress, **kwargs):
        progress("backtest origin 2015 (fake)")
        return None, None, None

    monkeypatch.setattr(commands, "train", fake_train)
    code, out, err = run(capsys, "train", "--no-track", "--no-backtest")
    assert code == 0
    assert "backtest origin 2015 (fake)" in err and "backtest origin 2015 (fake)" not in out
    assert "train finished in" in out
