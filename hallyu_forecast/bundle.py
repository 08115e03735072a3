"""A fitted model with everything needed to forecast from panel rows: the one on-disk format.

The shipped default model (``hallyu_forecast/data/model``) and the artifacts of the MLflow
pyfunc model are both bundles, so ``predict()`` and ``mlflow.pyfunc.load_model(...)`` run the
same code path: panel rows -> :func:`build_features` -> forecaster. This module is the only
place that reads or writes a bundle.

Layout of a bundle folder (nothing is pickled: loading a bundle never executes code)::

    forecaster.json          parameters and fitted state of the HallyuForecaster (conformal
                             scores and half-widths, drift, shrinkage, calibration rows, levels,
                             feature names, new-market model) as JSON
    lgbm_history_h<h>.txt    LightGBM booster of horizon h, LightGBM's own text format
    lgbm_new_market_h<h>.txt LightGBM booster of the new-market model of horizon h
    features/*.toml          the feature and target specs it was trained with
    features/<file>.csv      every file a target spec references (``[target.x] file = ...``)
    meta.json                experiment, target, selected features, training origins, data
                             vintage, library versions, and the SHA-256 of every other file
                             (verified on load: an edited or truncated file is refused)
    panel.parquet            (optional) the panel it was trained on; absent = the embedded panel
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd

from hallyu_forecast.bundle_parts import load_bundle_drivers, save_bundle_drivers
from hallyu_forecast.causal.effects import EffectsResult
from hallyu_forecast.errors import ConfigError, ModelError
from hallyu_forecast.features import Specs, build_features, load_feature_specs
from hallyu_forecast.forecaster import HallyuForecaster
from hallyu_forecast.panel import load_panel, panel_stamp

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
    drivers: object | None = None  # hallyu_forecast.drivers.DriversResult kept with the model (issue 8)
    explain_refits: dict | None = None  # explain()'s interval refits, fitted once at training time
    effects: object | None = None  # hallyu_forecast.causal.effects.EffectsResult on the training panel

    def load_panel(self) -> pd.DataFrame:
        """The bundle's own panel, else the default panel, read once while its file is unchanged
        (``predict`` answers from features cached per panel object; do not modify it in place)."""
        if self.panel is not None:
            return self.panel
        stamp = panel_stamp()
        cached = self.__dict__.get("_default_panel")
        if cached is None or cached[0] != stamp:
            cached = (stamp, load_panel())
            self.__dict__["_default_panel"] = cached
        return cached[1]

    def features(self, panel: pd.DataFrame, origins, horizons=None, countries=None):
        """Design matrix for this model (its specs and target) from ``panel``."""

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


BUNDLE_FORMAT = 2  # 1 was the pickle format (forecaster.pkl), no longer read
FORECASTER_FILE = "forecaster.json"
_BOOSTER_PREFIX = "lgbm_"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def spec_files(specs) -> dict[str, Path]:
    """Every file the target specs of ``specs`` reference: ``{path relative to the specs folder: file}``.

    A bundle must carry these files (a bring-your-own-target CSV) so that the model answers on
    another machine. Raises :class:`ConfigError` for a missing file or one outside the folder.
    """
    folder = Path(specs.folder).resolve()
    out: dict[str, Path] = {}
    for name, target in specs.targets.items():
        if not target.file:
            continue
        path = Path(target.file)
        full = (path if path.is_absolute() else folder / path).resolve()
        if not full.is_file():
            raise ConfigError(f"{folder / 'targets.toml'}: target `{name}`: file `{target.file}` not found "
                              f"(looked for {full}); put the CSV in the features folder.")
        try:
            rel = full.relative_to(folder)
        except ValueError:
            raise ConfigError(f"{folder / 'targets.toml'}: target `{name}`: file `{target.file}` is outside the "
                              f"features folder {folder}; copy it there and write `file = \"{full.name}\"` so that "
                              "saved models can carry it.") from None
        if path.is_absolute():
            raise ConfigError(f"{folder / 'targets.toml'}: target `{name}`: write the file as a path relative to "
                              f"the features folder (`file = \"{rel.as_posix()}\"`), not {target.file}.")
        out[rel.as_posix()] = full
    return out


def save_bundle(bundle: ModelBundle, path: str | Path, include_panel: bool = False) -> Path:
    """Write ``bundle`` to the folder ``path`` (created; an existing bundle there is replaced).

    Boosters go to LightGBM text files, everything else to JSON (see the module docstring); the
    SHA-256 of every file is recorded in ``meta.json``.
    """
    path = Path(path)
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()  # an empty folder (e.g. made by the user for it) is as good as a new one
    elif path.exists():
        if not (path / "meta.json").is_file():
            raise ModelError(f"{path} exists and is not a model bundle; choose another folder.")
        shutil.rmtree(path)
    (path / "features").mkdir(parents=True)
    state = bundle.forecaster.to_dict()
    boosters = state.pop("boosters")
    names = {}
    for key, text in sorted(boosters.items()):
        kind, horizon = key.split("/")
        names[key] = f"{_BOOSTER_PREFIX}{kind}_h{horizon}.txt"
        (path / names[key]).write_text(text, encoding="utf-8")
    state["booster_files"] = names
    (path / FORECASTER_FILE).write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for toml in sorted(Path(bundle.specs.folder).glob("*.toml")):
        shutil.copy2(toml, path / "features" / toml.name)
    for rel, source in spec_files(bundle.specs).items():
        (path / "features" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, path / "features" / rel)
    if include_panel and bundle.panel is not None:
        bundle.panel.to_parquet(path / "panel.parquet", index=False, compression="zstd")
    # extra bundle content, written before the checksums are taken: the drivers part (issue 8)

    save_bundle_drivers(bundle, path)
    if bundle.effects is not None:  # the causal estimates (issue 11), computed once at training time
        bundle.effects.save(path)
    meta = dict(bundle.meta)
    meta.update({"target": bundle.target, "features": [f.name for f in bundle.specs.features],
                 "versions": versions(), "format": BUNDLE_FORMAT,
                 "files": {p.relative_to(path).as_posix(): _sha256(p)
                           for p in sorted(path.rglob("*")) if p.is_file() and p.name != "meta.json"}})
    (path / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path


def _read_meta(path: Path) -> dict:
    if not (path / "meta.json").is_file():
        raise ModelError(f"No model bundle at {path} (meta.json expected). "
                         "Train one with `hallyu-forecast train`, or pass an MLflow model URI.")
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path / 'meta.json'} is not valid JSON ({exc}); the model folder is damaged. "
                         "Retrain it with `hallyu-forecast train`.") from None
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT or not isinstance(meta.get("files"), dict):
        old = (path / "forecaster.pkl").exists()
        raise ModelError(f"{path} is not a model bundle of format {BUNDLE_FORMAT}"
                         + (" (it holds a pickle, forecaster.pkl, which is never loaded: pickles can run code)"
                            if old else "") + ". Retrain it with `hallyu-forecast train`.")
    return meta


def verify_bundle(path: str | Path) -> dict:
    """Check every file listed in ``meta.json`` exists with its SHA-256; return the metadata.

    Raises :class:`ModelError` naming the first missing or modified file.
    """
    path = Path(path)
    meta = _read_meta(path)
    root = path.resolve()
    for rel, digest in sorted(meta["files"].items()):
        file = (path / rel).resolve()
        if root not in file.parents:
            raise ModelError(f"{path / 'meta.json'} lists `{rel}`, outside the model folder; the folder was "
                             "tampered with. Retrain it with `hallyu-forecast train`.")
        if not file.is_file():
            raise ModelError(f"{path}: file `{rel}` of the model is missing. Copy the whole model folder, "
                             "or retrain it with `hallyu-forecast train`.")
        if _sha256(file) != digest:
            raise ModelError(f"{path}: file `{rel}` was modified after the model was saved (SHA-256 mismatch). "
                             "Restore the original folder, or retrain it with `hallyu-forecast train`.")
    if FORECASTER_FILE not in meta["files"]:
        raise ModelError(f"{path}: {FORECASTER_FILE} is not listed in meta.json. Retrain it with `hallyu-forecast train`.")
    return meta


def load_bundle(path: str | Path | None = None) -> ModelBundle:
    """Read a bundle folder (default: the model shipped with the package).

    Only JSON, LightGBM text and parquet files are read, after their checksums are verified;
    nothing is unpickled or executed.
    """

    path = Path(path) if path is not None else DEFAULT_MODEL_DIR
    meta = verify_bundle(path)
    try:
        state = json.loads((path / FORECASTER_FILE).read_text(encoding="utf-8"))
        names = state.pop("booster_files")
        if not isinstance(names, dict) or any(n not in meta["files"] or "/" in n for n in names.values()):
            raise ModelError(f"{path / FORECASTER_FILE}: booster files not listed in meta.json.")
        state["boosters"] = {key: (path / name).read_text(encoding="utf-8") for key, name in names.items()}
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, TypeError) as exc:
        raise ModelError(f"{path / FORECASTER_FILE} is damaged ({type(exc).__name__}: {str(exc)[:120]}). "
                         "Retrain the model with `hallyu-forecast train`.") from None
    forecaster = HallyuForecaster.from_dict(state)
    panel = pd.read_parquet(path / "panel.parquet") if "panel.parquet" in meta["files"] else None
    columns = panel.columns if panel is not None else None
    specs = load_feature_specs(path / "features", panel_columns=columns)
    wanted = set(meta["features"])
    specs = Specs(tuple(f for f in specs.features if f.name in wanted), specs.targets, specs.folder)
    # extra bundle content: the drivers part and explain()'s stored refits (issue 8), or None

    bundle = ModelBundle(forecaster=forecaster, specs=specs, target=meta["target"], meta=meta, panel=panel)
    if (path / "effects.json").is_file():
        bundle.effects = EffectsResult.load(path)
    return load_bundle_drivers(bundle, path)
