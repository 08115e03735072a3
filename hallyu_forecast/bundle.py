"""A fitted model with everything needed to forecast from panel rows: the one on-disk format.

The shipped default model (``hallyu_forecast/data/model``) and the artifacts of the MLflow
pyfunc flavour are both bundles, so ``predict()`` and ``mlflow.pyfunc.load_model(...)``
run the same code path: panel rows -> :func:`build_features` -> forecaster.

Layout of a bundle folder::

    forecaster.pkl      the fitted HallyuForecaster (pickle)
    features/*.toml     the feature and target specs it was trained with
    meta.json           experiment, target, selected features, training origins, data vintage,
                        library versions
    panel.parquet       (optional) the panel it was trained on; absent = the embedded panel
"""

from __future__ import annotations

import json
import pickle
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd

from hallyu_forecast.errors import ModelError

DEFAULT_MODEL_DIR = Path(__file__).parent / "data" / "model"
_VERSIONED = ("hallyu_forecast", "lightgbm", "scikit-learn", "pandas", "numpy")


@dataclass
class ModelBundle:
    """A fitted forecaster plus its feature specs, target and provenance."""

    forecaster: object
    specs: object  # hallyu_forecast.features.Specs restricted to the trained features
    target: str
    meta: dict = field(default_factory=dict)
    panel: pd.DataFrame | None = None

    def load_panel(self) -> pd.DataFrame:
        from hallyu_forecast.panel import load_panel

        return self.panel if self.panel is not None else load_panel()

    def features(self, panel: pd.DataFrame, origins, horizons=None, countries=None):
        """Design matrix for this model (its specs and target) from ``panel``."""
        from hallyu_forecast.features import build_features

        horizons = horizons or list(self.forecaster.horizons_)
        return build_features(panel, specs=self.specs, target=self.target, origins=origins,
                              horizons=horizons, countries=countries)


def versions() -> dict[str, str]:
    out = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[name] = "unknown"
    return out


def save_bundle(bundle: ModelBundle, path: str | Path, include_panel: bool = False) -> Path:
    """Write ``bundle`` to the folder ``path`` (created; an existing bundle there is replaced)."""
    path = Path(path)
    if path.exists():
        if not (path / "meta.json").is_file():
            raise ModelError(f"{path} exists and is not a model bundle; choose another folder.")
        shutil.rmtree(path)
    (path / "features").mkdir(parents=True)
    with open(path / "forecaster.pkl", "wb") as fh:
        pickle.dump(bundle.forecaster, fh, protocol=5)
    for toml in sorted(Path(bundle.specs.folder).glob("*.toml")):
        shutil.copy2(toml, path / "features" / toml.name)
    meta = dict(bundle.meta)
    meta.update({"target": bundle.target, "features": [f.name for f in bundle.specs.features],
                 "versions": versions()})
    (path / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    if include_panel and bundle.panel is not None:
        bundle.panel.to_parquet(path / "panel.parquet", index=False, compression="zstd")
    from hallyu_forecast.drivers import save_bundle_drivers  # issue 8: the drivers part, drivers/
    save_bundle_drivers(bundle, path)
    return path


def load_bundle(path: str | Path | None = None) -> ModelBundle:
    """Read a bundle folder (default: the model shipped with the package)."""
    from hallyu_forecast.features import Specs, load_feature_specs

    path = Path(path) if path is not None else DEFAULT_MODEL_DIR
    if not (path / "meta.json").is_file() or not (path / "forecaster.pkl").is_file():
        raise ModelError(f"No model bundle at {path} (meta.json and forecaster.pkl expected). "
                         "Train one with `hallyu-forecast train`, or pass an MLflow model URI.")
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    try:
        with open(path / "forecaster.pkl", "rb") as fh:
            forecaster = pickle.load(fh)
    except Exception as exc:  # unpickling across incompatible library versions fails in many ways
        raise ModelError(f"Could not load the model in {path} ({type(exc).__name__}: {exc}). It was saved with "
                         f"{meta.get('versions')}; you have {versions()}. Retrain it with `hallyu-forecast train`.") from exc
    panel = pd.read_parquet(path / "panel.parquet") if (path / "panel.parquet").is_file() else None
    columns = panel.columns if panel is not None else None
    specs = load_feature_specs(path / "features", panel_columns=columns)
    wanted = set(meta["features"])
    specs = Specs(tuple(f for f in specs.features if f.name in wanted), specs.targets, specs.folder)
    from hallyu_forecast.drivers import load_bundle_drivers  # issue 8: attaches bundle.drivers (or None)
    return load_bundle_drivers(ModelBundle(forecaster=forecaster, specs=specs, target=meta["target"], meta=meta, panel=panel), path)
