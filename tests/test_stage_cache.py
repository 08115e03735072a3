"""train's stage cache: the key sees every input, a hit returns what was stored, damage is recomputed."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from hallyu_forecast import stage_cache, training
from hallyu_forecast.bundle import DEFAULT_MODEL_DIR
from hallyu_forecast.bundle_parts import load_drivers
from hallyu_forecast.causal.effects import EffectsResult
from hallyu_forecast.features import default_specs_dir


def _tiny_panel() -> pd.DataFrame:
    # synthetic, for the key only: three rows of the panel's shape
    return pd.DataFrame({"iso3": ["VNM", "THA", "FRA"], "year": [2019, 2019, 2019],
                         "gdp_pc": [3.5e3, 7.8e3, 4.1e4]})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLYU_STAGE_CACHE_DIR", str(tmp_path / "stages"))
    return tmp_path / "stages"


@pytest.fixture(scope="module")
def shipped():
    return load_drivers(DEFAULT_MODEL_DIR), EffectsResult.load(DEFAULT_MODEL_DIR)


def test_key_is_stable_for_equal_panels_and_sees_every_cell_and_dtype():
    panel = _tiny_panel()
    key = stage_cache.stages_key(panel)
    assert len(key) == 64 and stage_cache.stages_key(panel.copy()) == key
    changed = panel.copy()
    changed.loc[2, "gdp_pc"] = 4.1e4 + 1e-9
    assert stage_cache.stages_key(changed) != key
    assert stage_cache.stages_key(panel.astype({"year": "float64"})) != key
    assert stage_cache.stages_key(panel.rename(columns={"gdp_pc": "gdp"})) != key
    assert stage_cache.stages_key(panel.iloc[::-1]) != key  # row order reaches the estimators' folds


def test_key_changes_with_a_spec_file_and_with_a_library_version(tmp_path, monkeypatch):
    panel = _tiny_panel()
    key = stage_cache.stages_key(panel)
    specs = tmp_path / "features"
    shutil.copytree(default_specs_dir(), specs)
    monkeypatch.setattr(stage_cache, "default_specs_dir", lambda: specs)
    assert stage_cache.stages_key(panel) == key  # same bytes, same key
    toml = specs / "economic.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n# an analyst's edit\n", encoding="utf-8")
    assert stage_cache.stages_key(panel) != key
    monkeypatch.setattr(stage_cache, "default_specs_dir", default_specs_dir)
    monkeypatch.setattr(stage_cache, "_versions", lambda: {"lightgbm": "0.0-other"})
    assert stage_cache.stages_key(panel) != key


def test_store_then_lookup_returns_equal_tables(cache, shipped, tmp_path):
    drivers, effects = shipped
    entry = stage_cache.store("k" * 64, drivers, effects)
    assert entry == cache / ("k" * 64) and (entry / stage_cache.KEY_FILE).is_file()
    found = stage_cache.lookup("k" * 64, model_dir=tmp_path / "no_model")
    assert found is not None and "stage cache" in found.source
    pd.testing.assert_frame_equal(found.effects.table, effects.table)
    assert sorted(found.drivers.frames) == sorted(drivers.frames)
    for name, frame in drivers.frames.items():
        pd.testing.assert_frame_equal(found.drivers.frames[name], frame)
    assert found.drivers.targets == drivers.targets
    assert stage_cache.lookup("x" * 64, model_dir=tmp_path / "no_model") is None
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no half-written entry left


def test_a_damaged_entry_is_reported_and_not_served(cache, shipped, tmp_path):
    entry = stage_cache.store("d" * 64, *shipped)
    (entry / "effects.json").write_text("{not json", encoding="utf-8")
    said = []
    assert stage_cache.lookup("d" * 64, said.append, model_dir=tmp_path / "no_model") is None
    assert len(said) == 1 and "unreadable" in said[0] and "recomputing" in said[0]
    assert stage_cache.store("d" * 64, *shipped) == entry  # the recomputed result replaces it
    assert stage_cache.lookup("d" * 64, model_dir=tmp_path / "no_model") is not None


def test_the_shipped_model_is_used_only_when_its_key_matches(cache, shipped, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    key = stage_cache.shipped_key(model)
    assert key is None or len(key) == 64
    doc = json.loads((model / "meta.json").read_text(encoding="utf-8"))
    doc["stages_key"] = "s" * 64
    (model / "meta.json").write_text(json.dumps(doc), encoding="utf-8")
    found = stage_cache.lookup("s" * 64, model_dir=model)
    assert found is not None and "shipped model" in found.source
    pd.testing.assert_frame_equal(found.effects.table, shipped[1].table)
    assert stage_cache.lookup("t" * 64, model_dir=model) is None
    # a modified shipped file fails the bundle checksum: reported, not served
    (model / "effects.json").write_text((model / "effects.json").read_text(encoding="utf-8") + " ", encoding="utf-8")
    said = []
    assert stage_cache.lookup("s" * 64, said.append, model_dir=model) is None
    assert "SHA-256" in said[0]


def test_an_unwritable_cache_costs_only_the_speedup(tmp_path, monkeypatch, shipped):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("HALLYU_STAGE_CACHE_DIR", str(blocker / "stages"))
    said = []
    assert stage_cache.store("w" * 64, *shipped, say=said.append) is None
    assert "stage cache not written" in said[0]


class _Bundle:
    def __init__(self):
        self.meta, self.drivers, self.effects = {}, None, None


def test_train_stages_reuse_a_hit_and_recompute_ignores_it(cache, shipped, monkeypatch):
    monkeypatch.setenv("HALLYU_JOBS", "1")  # no worker processes start in this test
    panel = _tiny_panel()
    key = stage_cache.stages_key(panel)
    stage_cache.store(key, *shipped)
    said = []
    stages = training._Stages(panel, said.append, enabled=True)
    bundle = _Bundle()
    stages.collect(bundle)
    assert bundle.meta["stages_key"] == key and "reused from the stage cache" in said[-1]
    pd.testing.assert_frame_equal(bundle.effects.table, shipped[1].table)
    again = training._Stages(panel, said.append, enabled=True, recompute=True)
    assert again.found is None and again.key == key
    again.close()
