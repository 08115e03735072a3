"""A content-addressed cache for train's panel-only stages: the drivers model and the causal effects.

Why: the drivers model (cross-validation, 25 refits and TreeSHAP per measure) and the causal
estimates (event studies with bootstraps and permutations, double ML) depend only on the panel,
the feature/target specs, the package's code and the numerical libraries. Recomputing them on
every ``train`` costs about 40 s of CPU for a result that cannot change while those inputs do
not. So ``train`` looks them up by a key that hashes exactly those inputs:

- the panel's content (every cell, the column names and dtypes);
- the package's installed files that can change a result: every ``*.py`` module and the
  ``data/*.csv|parquet|json`` files (the shipped model folder ``data/model`` is left out: it is
  an output, not an input);
- the default specs folder (``*.toml`` and the target CSVs they name), which the drivers model
  and the causal estimates read;
- the versions of numpy, pandas, scipy, scikit-learn, lightgbm and doubleml.

Any change to any of them gives a new key, so a stale result is never served. Two places are
searched, in order: the shipped model folder (when the key it was trained with, stored in its
``meta.json`` as ``stages_key``, is the current key: a fresh clone then reuses the figures the
repository ships) and the user cache (``HALLYU_STAGE_CACHE_DIR``, default
``$XDG_CACHE_HOME/hallyu_forecast/train_stages`` or ``~/.cache/...``). ``train --recompute``
ignores both. Entries hold only LightGBM text, JSON and parquet (the formats of the model
bundle): nothing is unpickled.

Examples
--------
>>> from hallyu_forecast.panel import load_panel
>>> from hallyu_forecast.stage_cache import stages_key
>>> len(stages_key(load_panel()))
64
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

from hallyu_forecast.bundle import DEFAULT_MODEL_DIR, spec_files, verify_bundle
from hallyu_forecast.bundle_parts import has_drivers, load_drivers, save_drivers
from hallyu_forecast.causal.effects import EFFECTS_FILE, EffectsResult
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.features import default_specs_dir, load_feature_specs

PACKAGE_DIR = Path(__file__).resolve().parent
#: libraries whose version can change a drivers or effects figure
LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "doubleml")
KEY_FILE = "key.json"
#: bump when the entry layout changes
CACHE_FORMAT = 1


def cache_dir() -> Path:
    """The user cache of train stages: ``HALLYU_STAGE_CACHE_DIR`` or ``<XDG cache>/hallyu_forecast/train_stages``."""
    env = os.environ.get("HALLYU_STAGE_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hallyu_forecast" / "train_stages"


def _panel_digest(panel: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in panel.dtypes.items()]).encode("utf-8"))
    # hash_pandas_object hashes values, not memory layout: equal frames give equal digests
    digest.update(pd.util.hash_pandas_object(panel, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _input_files() -> list[tuple[str, Path]]:
    """The files whose bytes enter the key, as (stable name, path), sorted by name."""
    files = [(f"pkg/{p.relative_to(PACKAGE_DIR).as_posix()}", p) for p in PACKAGE_DIR.rglob("*.py")
             if "__pycache__" not in p.parts]
    files += [(f"pkg/data/{p.name}", p) for pattern in ("*.csv", "*.parquet", "*.json")
              for p in (PACKAGE_DIR / "data").glob(pattern)]
    specs_dir = default_specs_dir()
    files += [(f"specs/{p.name}", p) for p in specs_dir.glob("*.toml")]
    files += [(f"specs/{rel}", p) for rel, p in spec_files(load_feature_specs(specs_dir)).items()]
    return sorted(set(files))


def _versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def stages_key(panel: pd.DataFrame) -> str:
    """SHA-256 (hex) of everything train's drivers and effects stages depend on (see the module docstring)."""
    digest = hashlib.sha256()
    digest.update(f"format {CACHE_FORMAT}\n".encode())
    digest.update(f"panel {_panel_digest(panel)}\n".encode())
    for name, path in _input_files():
        digest.update(f"file {name} {hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    digest.update(json.dumps(_versions(), sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


@dataclass
class Found:
    """Stage results found for a key: the drivers result, the effects, and where they came from."""

    drivers: object
    effects: EffectsResult
    source: str


def _load_entry(folder: Path) -> tuple[object, EffectsResult]:
    if not has_drivers(folder) or not (folder / EFFECTS_FILE).is_file():
        raise ConfigError(f"{folder} lacks drivers/ or {EFFECTS_FILE}")
    return load_drivers(folder), EffectsResult.load(folder)


def shipped_key(model_dir: Path = DEFAULT_MODEL_DIR) -> str | None:
    """The stages key the shipped model was trained with (None when it has none)."""
    try:
        meta = json.loads((Path(model_dir) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = meta.get("stages_key") if isinstance(meta, dict) else None
    return key if isinstance(key, str) else None


def lookup(key: str, say=lambda _text: None, model_dir: Path = DEFAULT_MODEL_DIR) -> Found | None:
    """The drivers and effects stored under ``key``: shipped model first, then the user cache; else None.

    An unreadable entry is reported through ``say`` and treated as absent (it is then recomputed and
    overwritten), never served.
    """
    if shipped_key(model_dir) == key:
        try:
            verify_bundle(model_dir)  # checksums: a modified shipped file is not reused
            drivers, effects = _load_entry(Path(model_dir))
            return Found(drivers, effects, f"the shipped model ({model_dir})")
        except Exception as exc:  # noqa: BLE001 - any damage means "recompute", reported below
            say(f"shipped model's stored drivers/effects unreadable ({type(exc).__name__}: {exc}); recomputing")
    entry = cache_dir() / key
    if (entry / KEY_FILE).is_file():
        try:
            drivers, effects = _load_entry(entry)
            return Found(drivers, effects, f"the stage cache ({entry})")
        except Exception as exc:  # noqa: BLE001 - as above
            say(f"stage cache entry {entry} unreadable ({type(exc).__name__}: {exc}); recomputing it")
    return None


def store(key: str, drivers_result, effects: EffectsResult, say=lambda _text: None) -> Path | None:
    """Write an entry for ``key`` (atomically: a half-written entry is never visible). Returns its folder.

    A cache that cannot be written (read-only home, full disk) costs only the speed-up: it is
    reported through ``say`` and train goes on.
    """
    root = cache_dir()
    entry = root / key
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}_", dir=root))
        save_drivers(drivers_result, tmp)
        effects.save(tmp)
        (tmp / KEY_FILE).write_text(json.dumps({"key": key, "format": CACHE_FORMAT, "versions": _versions()},
                                               indent=1) + "\n", encoding="utf-8")
        if entry.exists():
            shutil.rmtree(entry)  # an unreadable entry of the same key, being replaced
        os.replace(tmp, entry)
        return entry
    except OSError as exc:
        say(f"stage cache not written ({exc}); the next train recomputes drivers and effects")
        return None
