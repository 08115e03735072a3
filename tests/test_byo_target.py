"""The README's bring-your-own-target recipe, run exactly as written, through the CLI.

The target values are synthetic (made here); the panel is the embedded one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import hallyu_forecast as hf
from hallyu_forecast.errors import ModelError
from hallyu_forecast.features import default_specs_dir

pytestmark = pytest.mark.slow

TARGET_ENTRY = '''
[target.fans]
description = "Korea Foundation fan-club members per country"
file = "fans.csv"        # relative to the features folder
transform = "log"
'''

EXPERIMENT = '''name = "fans"
target = "fans"

[features]
path = "my_features"     # relative to this file

[backtest]
origins = [2013, 2014, 2015, 2016, 2017, 2018]
'''


def _synthetic_fans_csv() -> str:
    """Synthetic fan-club counts: a country level plus a common trend plus noise (seeded)."""
    rng = np.random.default_rng(7)
    # JPN (the country the recipe asks about) has its own history; 29 more countries alphabetically
    countries = ["JPN"] + sorted(set(hf.load_panel()["iso3"]) - {"KOR", "JPN"})[:29]
    lines = ["iso3,year,value"]
    for i, iso3 in enumerate(countries):
        level = 5 + (i % 7) * 0.4
        for year in range(2005, 2024):
            value = np.exp(level + 0.08 * (year - 2005) + rng.normal(0, 0.05))
            lines.append(f"{iso3},{year},{value:.1f}")
    return "\n".join(lines) + "\n"


def _cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.run([sys.executable, "-m", "hallyu_forecast.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_readme_recipe_train_and_predict_with_a_csv_target(tmp_path):
    # 1. copy the features folder; 2. add the CSV and the [target.fans] entry
    shutil.copytree(default_specs_dir(), tmp_path / "my_features")
    (tmp_path / "my_features" / "fans.csv").write_text(_synthetic_fans_csv(), encoding="utf-8")
    with open(tmp_path / "my_features" / "targets.toml", "a", encoding="utf-8") as fh:
        fh.write(TARGET_ENTRY)
    # 3. an experiment pointing at the copied folder
    (tmp_path / "my_experiment.toml").write_text(EXPERIMENT, encoding="utf-8")
    # 4. train (tracked in ./mlruns, and saved as a bundle folder)
    train = _cli("train", "--experiment", "my_experiment.toml", "--no-backtest", "--out", "fans_model", cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    run_id = next(ln.split(": ")[1] for ln in train.stdout.splitlines() if ln.startswith("MLflow run id: "))

    # the bundle carries the CSV, with its checksum
    csv = tmp_path / "fans_model" / "features" / "fans.csv"
    meta = json.loads((tmp_path / "fans_model" / "meta.json").read_text())
    assert meta["files"]["features/fans.csv"] == hashlib.sha256(csv.read_bytes()).hexdigest()

    # 5. predict from the bundle folder and from the MLflow run, after the original CSV is gone
    (tmp_path / "my_features" / "fans.csv").unlink()
    answers = []
    for model in ("fans_model", f"runs:/{run_id}/model"):
        out = _cli("predict", "--model", model, "--country", "JPN", "--horizon", "2", "--json", cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-3000:]
        rows = json.loads(out.stdout)
        assert len(rows) == 1 and rows[0]["iso3"] == "JPN" and rows[0]["horizon"] == 2
        assert rows[0]["lower"] < rows[0]["prediction"] < rows[0]["upper"]
        answers.append(rows[0]["prediction"])
    assert answers[0] == pytest.approx(answers[1], rel=1e-12)

    # an edited CSV inside the bundle is refused
    header, first, rest = csv.read_text().split("\n", 2)
    csv.write_text(f"{header}\n{first}9\n{rest}", encoding="utf-8")
    with pytest.raises(ModelError, match=r"file `features/fans.csv` was modified"):
        hf.predict("JPN", model=str(tmp_path / "fans_model"))


def test_a_target_file_outside_the_features_folder_fails_before_training(tmp_path):
    shutil.copytree(default_specs_dir(), tmp_path / "my_features")
    (tmp_path / "fans.csv").write_text(_synthetic_fans_csv(), encoding="utf-8")
    with open(tmp_path / "my_features" / "targets.toml", "a", encoding="utf-8") as fh:
        fh.write(TARGET_ENTRY.replace('"fans.csv"', '"../fans.csv"'))
    (tmp_path / "my_experiment.toml").write_text(EXPERIMENT, encoding="utf-8")
    out = _cli("train", "--experiment", "my_experiment.toml", "--no-backtest", "--no-track", cwd=tmp_path)
    assert out.returncode == 2
    assert "target `fans`: file `../fans.csv` is outside the features folder" in out.stderr
    assert "fitted" not in out.stdout + out.stderr  # progress lines go to stderr
