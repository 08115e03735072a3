"""Model bundles: LightGBM text + JSON, checksums, and no pickle ever loaded."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast.bundle import DEFAULT_MODEL_DIR, load_bundle, save_bundle
from hallyu_forecast.errors import ModelError
from hallyu_forecast.forecaster import HallyuForecaster


class _Malicious:
    """Unpickling this object creates a folder (``os.mkdir``): proof that a pickle was loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture(scope="module")
def shipped():
    return load_bundle()


def test_shipped_model_has_no_pickle_and_only_text_formats():
    names = sorted(p.name for p in DEFAULT_MODEL_DIR.iterdir() if p.is_file())
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib"))]
    assert "forecaster.json" in names and any(n.startswith("lgbm_history_h") for n in names)
    for name in names:
        if name.endswith(".txt"):
            assert (DEFAULT_MODEL_DIR / name).read_text().startswith("tree")


def test_round_trip_gives_identical_forecasts(shipped, tmp_path):
    save_bundle(shipped, tmp_path / "copy")
    again = load_bundle(tmp_path / "copy")
    panel = hf.load_panel()
    a = shipped.forecaster.predict(shipped.features(panel, origins=[2017, 2021]))
    b = again.forecaster.predict(again.features(panel, origins=[2017, 2021]))
    pd.testing.assert_frame_equal(a, b)
    assert again.forecaster.get_params() == shipped.forecaster.get_params()


def test_to_dict_is_plain_json(shipped):
    state = shipped.forecaster.to_dict()
    text = json.dumps(state)  # raises on anything that is not JSON
    back = HallyuForecaster.from_dict(json.loads(text))
    assert back.half_widths_ == shipped.forecaster.half_widths_
    assert back.nm_model_.features_ == shipped.forecaster.nm_model_.features_


def test_malicious_pickle_in_old_format_folder_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps({"target": "x", "features": []}))
    (folder / "forecaster.pkl").write_bytes(pickle.dumps(_Malicious(marker)))
    with pytest.raises(ModelError, match=r"holds a pickle, forecaster.pkl, which is never loaded"):
        load_bundle(folder)
    with pytest.raises(ModelError):
        hf.predict("JPN", model=str(folder))
    assert not marker.exists()


def test_pickle_dropped_into_a_valid_bundle_is_ignored(shipped, tmp_path):
    marker = tmp_path / "pwned"
    folder = save_bundle(shipped, tmp_path / "model")
    (folder / "forecaster.pkl").write_bytes(pickle.dumps(_Malicious(marker)))
    load_bundle(folder)
    assert not marker.exists()


def test_tampered_booster_is_refused(shipped, tmp_path):
    folder = save_bundle(shipped, tmp_path / "model")
    booster = folder / "lgbm_history_h1.txt"
    booster.write_text(booster.read_text().replace("leaf_value=", "leaf_value=9", 1))
    with pytest.raises(ModelError, match=r"file `lgbm_history_h1.txt` was modified .*SHA-256 mismatch"):
        load_bundle(folder)


def test_missing_file_and_garbage_meta_are_clear_errors(shipped, tmp_path):
    folder = save_bundle(shipped, tmp_path / "model")
    (folder / "lgbm_new_market_h2.txt").unlink()
    with pytest.raises(ModelError, match=r"file `lgbm_new_market_h2.txt` of the model is missing"):
        load_bundle(folder)
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "meta.json").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ModelError, match=r"meta.json is not valid JSON"):
        load_bundle(folder)


def test_garbage_booster_text_is_a_model_error(shipped):
    state = shipped.forecaster.to_dict()
    state["boosters"]["history/1"] = "not a model"
    with pytest.raises(ModelError, match=r"history booster h1 is not a LightGBM text model"):
        HallyuForecaster.from_dict(state)
    with pytest.raises(ModelError, match=r"Not a serialised HallyuForecaster"):
        HallyuForecaster.from_dict({"class": "Other"})


def test_meta_listing_a_file_outside_the_folder_is_refused(shipped, tmp_path):
    folder = save_bundle(shipped, tmp_path / "model")
    meta = json.loads((folder / "meta.json").read_text())
    meta["files"]["../outside.txt"] = "0" * 64
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"outside the model folder"):
        load_bundle(folder)
