"""Experiment configs: loading, validation, exact error messages."""

from __future__ import annotations

import re
import shutil

import pytest

from hallyu_forecast.config import BacktestSplit, ExperimentConfig, default_experiments_dir, list_experiments, load_config
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.features import default_specs_dir
from hallyu_forecast.forecaster import HallyuForecaster

MINIMAL = """
name = "tmp"
[backtest]
origins = [2014, 2015]
horizons = [1, 2]
"""


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_experiments_load():
    names = list_experiments()
    for expected in ("default", "covariates_only", "government_support_only", "local_conditions_only",
                     "youth_share", "total_arrivals_per_capita", "mobile_students_per_capita"):
        assert expected in names
    for name in names:
        cfg = load_config(name)
        assert isinstance(cfg, ExperimentConfig) and cfg.split.shuffle is False
        assert isinstance(cfg.make_forecaster(), HallyuForecaster)
    cfg = load_config("covariates_only")
    assert "history" not in cfg.roles and cfg.model["target_mode"] == "level"


def test_default_config():
    cfg = load_config()
    assert cfg == load_config("default") == load_config(default_experiments_dir() / "default.toml")
    assert cfg.split.origins == (2013, 2014, 2015, 2016, 2017, 2018) and cfg.split.horizons == (1, 2, 3)
    assert cfg.exclude_covid_targets is True and cfg.interval_levels == (0.8, 0.95)
    model = cfg.make_forecaster()
    assert model.interval_levels == (0.8, 0.95) and model.exclude_covid_targets is True
    assert model.target_mode == "change_over_drift"
    assert cfg.to_dict()["horizons"] == "1,2,3"


def test_minimal_config_defaults(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.split == BacktestSplit(origins=(2014, 2015), horizons=(1, 2))
    assert cfg.exclude_covid_targets is True and cfg.roles is None and cfg.features_path is None


def test_shuffle_rejected_exact_message(tmp_path):
    with pytest.raises(ConfigError) as err:
        BacktestSplit(origins=(2015,), shuffle=True)
    assert str(err.value) == "`shuffle` must be false: time-ordered folds only. Got true."
    path = write(tmp_path, MINIMAL.replace("horizons = [1, 2]", "horizons = [1, 2]\nshuffle = true"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: `shuffle` must be false: time-ordered folds only. Got true."


def test_horizon_outside_1_3_rejected(tmp_path):
    with pytest.raises(ConfigError) as err:
        BacktestSplit(origins=(2015,), horizons=(1, 4))
    assert str(err.value) == "`horizon` must be 1, 2 or 3. Got 4."
    path = write(tmp_path, MINIMAL.replace("horizons = [1, 2]", "horizons = [0]"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: `horizon` must be 1, 2 or 3. Got 0."


def test_split_validation_messages():
    with pytest.raises(ConfigError, match=re.escape("`origins` must not repeat a year. Got [2015, 2015].")):
        BacktestSplit(origins=(2015, 2015))
    with pytest.raises(ConfigError, match=re.escape(
            "`window` must be a whole number of years >= 1 when `expanding = false`. Got None.")):
        BacktestSplit(origins=(2015,), expanding=False)
    split = BacktestSplit(origins=(2016, 2014), expanding=False, window=3)
    assert split.origins == (2014, 2016)


@pytest.mark.parametrize("text, key, where", [
    ("colour = 1\n" + MINIMAL, "colour", "the top level"),
    (MINIMAL + "fold = 3\n", "fold", "[backtest]"),
    (MINIMAL + "[model]\nlearning_rat = 0.1\n", "learning_rat", "[model]"),
    (MINIMAL + "[intervals]\nlevel = [0.9]\n", "level", "[intervals]"),
    (MINIMAL + "[features]\nrole = ['history']\n", "role", "[features]"),
    (MINIMAL + "[tuning.space]\nnum_leafs = { low = 2, high = 8 }\n", "num_leafs", "[tuning.space]"),
])
def test_unknown_key_names_key_and_file(tmp_path, text, key, where):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: unknown key `{key}` in {where}; allowed keys are")):
        load_config(path)


def test_invalid_model_value(tmp_path):
    path = write(tmp_path, MINIMAL + "[model]\ntarget_mode = 'diff'\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: `target_mode` must be 'level', 'change' or 'change_over_drift'. Got 'diff'."


def test_bad_role_and_baseline(tmp_path):
    path = write(tmp_path, MINIMAL + "[features]\nroles = ['culture']\n")
    with pytest.raises(ConfigError, match=re.escape("[features] roles must be among")):
        load_config(path)
    path = write(tmp_path, MINIMAL + "[evaluation]\nbaselines = ['naive']\n")
    with pytest.raises(ConfigError, match=re.escape("[evaluation] baselines must be among")):
        load_config(path)


def test_missing_experiment_and_backtest(tmp_path):
    with pytest.raises(ConfigError, match=re.escape("Experiment `nope` not found")):
        load_config("nope")
    path = write(tmp_path, 'name = "x"\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}: missing [backtest] table")):
        load_config(path)


def test_features_path_relative_to_config(tmp_path):
    specs = tmp_path / "my_specs"
    shutil.copytree(default_specs_dir(), specs)
    sub = tmp_path / "experiments"
    sub.mkdir()
    path = write(sub, MINIMAL + '[features]\npath = "../my_specs"\nroles = ["history"]\n')
    cfg = load_config(path)
    assert cfg.features_path == str(specs.resolve())
    loaded = cfg.specs()
    assert loaded.folder == str(specs.resolve())
    assert {f.role for f in loaded.features} == {"history"}


def test_tuning_space_suggest():
    optuna = pytest.importorskip("optuna")
    cfg = load_config()
    fixed = {name: (spec["choices"][0] if "choices" in spec else spec["low"]) for name, spec in cfg.tuning.space.items()}
    params = cfg.tuning.suggest(optuna.trial.FixedTrial(fixed))
    assert params.keys() == cfg.tuning.space.keys()
    HallyuForecaster(**params)._check_params()
