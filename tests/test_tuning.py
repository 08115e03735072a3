"""Tuning: time-ordered folds, a persistent study that resumes, best parameters that feed training."""

from __future__ import annotations

import dataclasses
import json

import pytest

from hallyu_forecast.config import load_config
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.tuning import read_params, tune


@pytest.fixture()
def small_cfg():
    cfg = load_config()
    split = dataclasses.replace(cfg.split, origins=(2015, 2016, 2017))
    return dataclasses.replace(cfg, split=split)


def test_study_persists_and_resumes(small_cfg, tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    out = tmp_path / "best.json"
    study, path = tune(small_cfg, n_trials=2, storage=storage, out=out, track=False)
    assert len(study.trials) == 2
    study, _ = tune(small_cfg, n_trials=1, storage=storage, out=out, track=False)
    assert len(study.trials) == 3  # same study resumed from the database
    params = read_params(path)
    assert set(params) == set(small_cfg.tuning.space)
    assert json.loads(path.read_text())["best_rmse"] == pytest.approx(study.best_value)
    from hallyu_forecast.training import with_params

    assert with_params(small_cfg, params).make_forecaster().get_params()["num_leaves"] == params["num_leaves"]


def test_trials_never_train_on_future_targets(small_cfg, tmp_path, monkeypatch):
    from hallyu_forecast import forecaster

    seen = []
    original = forecaster.HallyuForecaster.fit

    def spy(self, fm, y=None):
        seen.append(int(fm.frame.loc[fm.frame["y"].notna(), "target_year"].max()))
        return original(self, fm, y)

    monkeypatch.setattr(forecaster.HallyuForecaster, "fit", spy)
    tune(small_cfg, n_trials=1, storage=f"sqlite:///{tmp_path / 's.db'}", out=tmp_path / "b.json", track=False)
    assert seen == [2015, 2016, 2017]


def test_bad_n_trials(small_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"^`n_trials` must be an integer greater than 0. Got 0.$"):
        tune(small_cfg, n_trials=0, storage=f"sqlite:///{tmp_path / 's.db'}", track=False)


def test_unknown_tuned_parameter(small_cfg):
    from hallyu_forecast.training import with_params

    with pytest.raises(ConfigError, match=r"Unknown model parameter\(s\) \['depth'\]"):
        with_params(small_cfg, {"depth": 3})


def test_missing_params_file(tmp_path):
    with pytest.raises(ConfigError, match=r"not found; run `hallyu-forecast tune` first"):
        read_params(tmp_path / "nope.json")


def test_n_jobs_must_be_a_positive_integer(small_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"`n_jobs` must be an integer greater than 0. Got 0."):
        tune(small_cfg, n_trials=1, storage=f"sqlite:///{tmp_path / 's.db'}", track=False, n_jobs=0)


def test_unreachable_postgres_is_a_config_error_without_password(small_cfg, tmp_path):
    url = "postgresql://hf:secret@127.0.0.1:9/optuna"
    with pytest.raises(ConfigError, match=r"Could not open the Optuna study `s` in postgresql://hf:\*\*\*@127.0.0.1:9"
                                          r"/optuna .*Check that the database is reachable") as info:
        tune(small_cfg, n_trials=1, storage=url, study_name="s", track=False)
    assert "secret" not in str(info.value)


@pytest.mark.slow
def test_two_local_worker_processes_share_the_study(small_cfg, tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study, path = tune(small_cfg, n_trials=3, storage=storage, out=tmp_path / "b.json", track=False, n_jobs=2)
    assert sorted(t.number for t in study.trials) == [0, 1, 2]
    assert sorted(json.loads(path.read_text())["worker_trials"]) == [0, 1, 2]
