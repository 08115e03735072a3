"""The parts of a model bundle beyond the forecaster: the drivers model and explain()'s refits.

Both are written in their libraries' own formats plus JSON (LightGBM text, JSON state, parquet
tables, xz-compressed JSON for the refits), never pickled. :mod:`hallyu_forecast.bundle` calls
:func:`save_bundle_drivers` / :func:`load_bundle_drivers` when it saves or loads a bundle.
"""

from __future__ import annotations

import json
import lzma
import shutil
from pathlib import Path

import lightgbm as lgb

from hallyu_forecast.drivers_model import DriversModel
from hallyu_forecast.drivers_result import DriversResult
from hallyu_forecast.errors import ModelError
from hallyu_forecast.model_base import json_default

#: explain()'s refits, fitted once at training time (:func:`hallyu_forecast.explain_attribution.fit_refits`)
REFITS_FILE = "explain_refits.json.xz"


def save_drivers(obj, folder: str | Path, refits: bool = False) -> Path:
    """Write the drivers part of a model to ``folder/drivers`` (LightGBM text, JSON, parquet; no pickle).

    Parameters
    ----------
    obj : DriversResult, dict target -> DriversModel, or DriversModel
        A :class:`DriversResult` from :func:`drivers` keeps its tables (every interval already
        computed from the refits, so answering for a country needs no refit) and its fitted models.
    folder : path
        The bundle folder; ``drivers/`` is created in it (replaced if present).
    refits : bool
        Also store the refit models (xz-compressed LightGBM text, about 45 KB each) so that new
        rows can get intervals later; the tables already hold the intervals of every explained row.
    """
    if isinstance(obj, DriversResult):
        models = getattr(obj, "models", {}) or {}
    elif isinstance(obj, dict):
        models = obj
    else:
        models = {obj.target_: obj}
    root = Path(folder) / "drivers"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for target, model in models.items():
        model._check_fitted()
        sub = root / target
        sub.mkdir()
        model.model_.booster_.save_model(str(sub / "model.txt"))
        if refits and model.refits_:
            text = json.dumps([b.model_to_string() for b, _ in model.refits_])
            (sub / "refits.json.xz").write_bytes(lzma.compress(text.encode("utf-8")))
        state = {"params": model.get_params(), "features_": model.features_, "roles_": model.roles_,
                 "groups_": model.groups_, "year_means_": {str(k): v for k, v in model.year_means_.items()},
                 "refit_countries_": [c for _, c in model.refits_], "countries_": model.countries_,
                 "dropped_": model.dropped_, "n_rows_": model.n_rows_, "n_countries_": model.n_countries_,
                 "target_": model.target_}
        (sub / "state.json").write_text(json.dumps(state, indent=1, default=json_default) + "\n", encoding="utf-8")
    if isinstance(obj, DriversResult):
        obj.save(root / "result")
    index = {"targets": sorted(models), "result": isinstance(obj, DriversResult)}
    (root / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    return root


class _BoosterModel:
    """Minimal stand-in for a fitted LGBMRegressor around a loaded Booster (predict + booster_)."""

    def __init__(self, booster):
        self.booster_ = booster

    def predict(self, X):
        return self.booster_.predict(X)


def has_drivers(folder: str | Path) -> bool:
    """Whether the bundle folder holds a drivers part."""
    return (Path(folder) / "drivers" / "index.json").is_file()


def load_drivers(folder: str | Path) -> DriversResult:
    """Read the drivers part written by :func:`save_drivers`.

    Returns
    -------
    DriversResult
        Its tables (empty when only models were saved) and ``.models`` (target -> DriversModel;
        ``refits_`` is empty unless they were saved).

    Raises
    ------
    ModelError
        When ``folder`` has no ``drivers/`` part (a model trained before the drivers model existed).
    """
    root = Path(folder) / "drivers"
    if not (root / "index.json").is_file():
        raise ModelError(f"The model at {folder} has no drivers part (drivers/index.json). Retrain it with "
                         "`hallyu-forecast train` (which fits the drivers model), or call hf.drivers() without "
                         "`model=` to fit it now.")
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))
    models = {}
    for target in index["targets"]:
        sub = root / target
        state = json.loads((sub / "state.json").read_text(encoding="utf-8"))
        params = state["params"]
        if isinstance(params.get("exclude_years"), list):
            params["exclude_years"] = tuple(params["exclude_years"])
        model = DriversModel(**params)
        model.model_ = _BoosterModel(lgb.Booster(model_file=str(sub / "model.txt")))
        model.refits_ = []
        if (sub / "refits.json.xz").is_file():
            texts = json.loads(lzma.decompress((sub / "refits.json.xz").read_bytes()).decode("utf-8"))
            model.refits_ = [(lgb.Booster(model_str=t), c) for t, c in zip(texts, state["refit_countries_"])]
        model.year_means_ = {int(k): float(v) for k, v in state["year_means_"].items()}
        for key in ("features_", "roles_", "groups_", "countries_", "dropped_", "n_rows_", "n_countries_", "target_"):
            setattr(model, key, state[key])
        models[target] = model
    if index.get("result") and (root / "result" / "result.json").is_file():
        result = DriversResult.load(root / "result")
    else:
        result = DriversResult(targets=sorted(models), frames={}, meta={})
    result.models = models
    return result


def save_bundle_drivers(bundle, path: str | Path) -> None:
    """Hook of :func:`hallyu_forecast.bundle.save_bundle` for the parts issue 8 adds to a bundle.

    Writes ``bundle.drivers`` (``drivers/``) and ``bundle.explain_refits`` (the forecaster
    explanation's refits, ``explain_refits.json.xz``) when the bundle has them.
    """
    found = getattr(bundle, "drivers", None)
    if found is not None:
        save_drivers(found, path)
    refits = getattr(bundle, "explain_refits", None)
    if refits:
        save_refits(refits, path)


def load_bundle_drivers(bundle, path: str | Path):
    """Hook of :func:`hallyu_forecast.bundle.load_bundle`: attach ``drivers`` and ``explain_refits`` (or None)."""

    bundle.drivers = load_drivers(path) if has_drivers(path) else None
    bundle.explain_refits = load_refits(path)
    return bundle


def save_refits(refits: dict, folder: str | Path) -> Path:
    """Write :func:`fit_refits`' output to ``folder/explain_refits.json.xz`` (xz-compressed JSON)."""
    path = Path(folder) / REFITS_FILE
    plain = {"settings": refits["settings"],
             "refits": [{k: v for k, v in r.items() if not k.startswith("_")} for r in refits["refits"]]}
    path.write_bytes(lzma.compress(json.dumps(plain).encode("utf-8")))
    return path


def load_refits(folder: str | Path) -> dict | None:
    """Read the stored refits of a bundle folder (None when it has none)."""
    path = Path(folder) / REFITS_FILE
    if not path.is_file():
        return None
    return json.loads(lzma.decompress(path.read_bytes()).decode("utf-8"))
