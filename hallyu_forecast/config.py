"""Experiment configs: one TOML file per experiment (``experiments/*.toml``), validated in one place.

An experiment names the target, the features (spec folder, roles, groups), the backtest folds,
the model and its tuning search space, and the interval levels::

    name = "default"
    target = "youth_arrivals_per_capita"
    exclude_covid_targets = true

    [features]            # path relative to this file; default the packaged specs
    roles = ["government_support", "local_conditions", "regime", "history"]

    [backtest]            # one validated BacktestSplit
    origins = [2013, 2014, 2015, 2016, 2017, 2018]
    horizons = [1, 2, 3]
    expanding = true
    shuffle = false

    [model]               # HallyuForecaster keyword arguments
    target_mode = "change_over_drift"

    [intervals]
    levels = [0.8, 0.95]

    [tuning]
    n_trials = 40
    [tuning.space]
    learning_rate = { low = 0.01, high = 0.2, log = true }

Every table and key is checked: an unknown key raises :class:`ConfigError` naming the key and
the file, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hallyu_forecast.conventions import COVID_YEARS, HORIZONS, check_horizons  # noqa: F401 (re-exported)
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.features import ROLES, Specs, build_features, load_feature_specs
from hallyu_forecast.forecaster import HallyuForecaster
from hallyu_forecast.panel import load_panel

BASELINES = ("persistence", "persistence_drift", "persistence_median_drift", "country_mean", "ridge")
DEFAULT_BASELINES = ("persistence", "persistence_drift", "persistence_median_drift", "country_mean", "ridge")
_TOP_KEYS = {"name", "description", "target", "exclude_covid_targets", "seed", "features", "backtest", "model",
             "new_market", "intervals", "tuning", "evaluation"}
_FEATURE_KEYS = {"path", "roles", "groups", "exclude"}
_SPLIT_KEYS = {"origins", "horizons", "expanding", "shuffle", "window"}
_INTERVAL_KEYS = {"levels", "calibration_origins"}
_NEW_MARKET_KEYS = {"enabled", "params"}
_EVAL_KEYS = {"baselines", "bootstrap_reps", "lco_folds", "covid_origins", "persist_by_country"}
_TUNING_KEYS = {"n_trials", "timeout", "metric", "space"}
_SPACE_KEYS = {"low", "high", "log", "step", "choices", "type"}
_LGBM_PARAMS = {"n_estimators", "learning_rate", "num_leaves", "max_depth", "min_child_samples", "subsample",
                "subsample_freq", "colsample_bytree", "reg_lambda", "reg_alpha", "min_split_gain"}


def _toml_bool(value) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)


@dataclass(frozen=True)
class BacktestSplit:
    """Rolling-origin folds, time-ordered (like skforecast's ``TimeSeriesFold``).

    For each origin ``t`` the model is trained on rows whose *target year* is ``<= t`` (and,
    if ``expanding`` is false, ``> t - window``) and predicts ``t + h`` for each horizon.

    Parameters
    ----------
    origins : sequence of int
        Forecast origins (years), strictly increasing after sorting, no duplicates.
    horizons : sequence of int
        Years ahead, each 1, 2 or 3.
    expanding : bool
        Expanding training window (default). If false, ``window`` years of target years are used.
    shuffle : bool
        Must be false: folds are time ordered.
    window : int, optional
        Training window length in target years when ``expanding`` is false.
    """

    origins: tuple[int, ...]
    horizons: tuple[int, ...] = HORIZONS
    expanding: bool = True
    shuffle: bool = False
    window: int | None = None

    def __post_init__(self):
        if self.shuffle is not False:
            raise ConfigError(f"`shuffle` must be false: time-ordered folds only. Got {_toml_bool(self.shuffle)}.")
        if not isinstance(self.expanding, bool):
            raise ConfigError(f"`expanding` must be true or false. Got {self.expanding!r}.")
        origins = list(self.origins) if not isinstance(self.origins, int) else [self.origins]
        if not origins:
            raise ConfigError("`origins` must list at least one year. Got [].")
        bad = [o for o in origins if isinstance(o, bool) or not isinstance(o, int)]
        if bad:
            raise ConfigError(f"`origins` must be whole years. Got {bad[0]!r}.")
        if len(set(origins)) != len(origins):
            raise ConfigError(f"`origins` must not repeat a year. Got {origins}.")
        object.__setattr__(self, "origins", tuple(sorted(int(o) for o in origins)))
        object.__setattr__(self, "horizons", check_horizons(self.horizons))
        if self.expanding:
            if self.window is not None:
                raise ConfigError("`window` is only used with `expanding = false`; remove it or set expanding = false.")
        elif not isinstance(self.window, int) or isinstance(self.window, bool) or self.window < 1:
            raise ConfigError(f"`window` must be a whole number of years >= 1 when `expanding = false`. "
                              f"Got {self.window!r}.")

    def train_mask(self, frame, origin: int):
        """Boolean mask of ``frame`` rows usable for training at ``origin`` (target year <= origin)."""
        mask = frame["target_year"] <= origin
        if not self.expanding:
            mask &= frame["target_year"] > origin - self.window
        return mask

    def test_mask(self, frame, origin: int):
        """Rows forecast at ``origin``: that origin, the split's horizons."""
        return (frame["origin"] == origin) & frame["horizon"].isin(self.horizons)


@dataclass(frozen=True)
class TuningSpace:
    """Optuna search space over :class:`HallyuForecaster` parameters."""

    n_trials: int = 30
    timeout: float | None = None
    metric: str = "rmse"
    space: dict[str, dict[str, Any]] = field(default_factory=dict)

    def suggest(self, trial) -> dict[str, Any]:
        """Draw one parameter set from an ``optuna.Trial``."""
        params = {}
        for name, spec in self.space.items():
            if "choices" in spec:
                params[name] = trial.suggest_categorical(name, list(spec["choices"]))
            elif spec.get("type") == "int" or (isinstance(spec["low"], int) and isinstance(spec["high"], int)
                                               and spec.get("type") != "float"):
                params[name] = trial.suggest_int(name, int(spec["low"]), int(spec["high"]),
                                                 step=int(spec.get("step", 1)), log=bool(spec.get("log", False)))
            else:
                params[name] = trial.suggest_float(name, float(spec["low"]), float(spec["high"]),
                                                   log=bool(spec.get("log", False)), step=spec.get("step"))
        return params


@dataclass(frozen=True)
class ExperimentConfig:
    """One validated experiment. Build with :func:`load_config`."""

    name: str
    split: BacktestSplit
    description: str = ""
    target: str | None = None
    features_path: str | None = None
    roles: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    exclude_features: tuple[str, ...] = ()
    exclude_covid_targets: bool = True
    seed: int = 0
    model: dict[str, Any] = field(default_factory=dict)
    new_market: bool = True
    new_market_params: dict[str, Any] = field(default_factory=dict)
    interval_levels: tuple[float, ...] = (0.8, 0.95)
    calibration_origins: int = 3
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    bootstrap_reps: int = 1000
    lco_folds: int = 5
    covid_origins: tuple[int, ...] = (2020, 2021)
    tuning: TuningSpace = field(default_factory=TuningSpace)
    path: str | None = None

    # ------------------------------------------------------------------ helpers
    def specs(self, panel_columns=None):
        """The feature specs of this experiment (selected roles/groups, minus excluded features)."""

        specs = load_feature_specs(self.features_path, panel_columns=panel_columns)
        if self.roles is not None or self.groups is not None:
            specs = specs.select(roles=self.roles, groups=self.groups)
        if self.exclude_features:
            unknown = sorted(set(self.exclude_features) - {f.name for f in specs.features})
            if unknown:
                raise ConfigError(f"{self.path}: [features] exclude names unknown feature(s) {unknown}.")
            kept = tuple(f for f in specs.features if f.name not in set(self.exclude_features))
            if not kept:
                raise ConfigError(f"{self.path}: no feature left after [features] exclude.")
            specs = Specs(kept, specs.targets, specs.folder)
        if self.target is not None and self.target not in specs.targets:
            raise ConfigError(f"{self.path}: unknown target `{self.target}`; targets are {sorted(specs.targets)}.")
        return specs

    def forecaster_params(self) -> dict[str, Any]:
        """Keyword arguments of :class:`HallyuForecaster` for this experiment."""
        params = dict(self.model)
        params.setdefault("random_state", self.seed)
        params["interval_levels"] = tuple(self.interval_levels)
        params["calibration_origins"] = self.calibration_origins
        params["exclude_covid_targets"] = self.exclude_covid_targets
        params["new_market"] = self.new_market
        params["new_market_params"] = dict(self.new_market_params) or None
        return params

    def make_forecaster(self, **overrides):
        """A fresh, unfitted :class:`HallyuForecaster` with this experiment's parameters."""

        params = self.forecaster_params()
        params.update(overrides)
        return HallyuForecaster(**params)

    def build_features(self, panel=None, origins=None, countries=None, reference_countries=None, horizons=None):
        """:func:`build_features` with this experiment's specs, target and horizons."""

        if panel is None:
            panel = load_panel()
        return build_features(panel, specs=self.specs(panel.columns), target=self.target, origins=origins,
                              horizons=horizons or self.split.horizons, countries=countries,
                              reference_countries=reference_countries)

    def to_dict(self) -> dict[str, Any]:
        """Flat parameters for experiment tracking (MLflow ``log_params``)."""
        out = {"experiment": self.name, "target": self.target or "(default)",
               "origins": ",".join(map(str, self.split.origins)),
               "horizons": ",".join(map(str, self.split.horizons)), "expanding": self.split.expanding,
               "exclude_covid_targets": self.exclude_covid_targets, "seed": self.seed,
               "roles": ",".join(self.roles) if self.roles else "(all)",
               "groups": ",".join(self.groups) if self.groups else "(all)",
               "interval_levels": ",".join(map(str, self.interval_levels))}
        out.update({f"model.{k}": v for k, v in self.model.items()})
        return out


# ------------------------------------------------------------------------------------ loading
def default_experiments_dir() -> Path:
    """The packaged copy of the repository's ``experiments/`` folder (or the folder itself in a checkout)."""
    packaged = Path(__file__).parent / "_experiments"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "experiments"


def list_experiments() -> list[str]:
    """Names of the shipped experiments."""
    return sorted(p.stem for p in default_experiments_dir().glob("*.toml"))


def _resolve(path) -> Path:
    if path is None:
        return default_experiments_dir() / "default.toml"
    p = Path(path)
    if p.suffix != ".toml" and not p.exists():
        candidate = default_experiments_dir() / f"{p.name}.toml"
        if candidate.exists():
            return candidate
        raise ConfigError(f"Experiment `{path}` not found: pass a .toml path or one of {list_experiments()}.")
    if not p.is_file():
        raise ConfigError(f"Experiment config {p} does not exist.")
    return p


def _check_keys(table: dict, allowed: set[str], where: str, path: Path) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {where} must be a table. Got {table!r}.")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown key `{unknown[0]}` in {where}; allowed keys are {sorted(allowed)}.")


def _str_list(value, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: `{key}` must be a list of strings. Got {value!r}.")
    return tuple(value)


def load_config(path: str | Path | None = None) -> ExperimentConfig:
    """Load and validate an experiment config.

    Parameters
    ----------
    path : str or Path, optional
        A ``.toml`` file, or the name of a shipped experiment (``"default"``,
        ``"covariates_only"``...). Default: the shipped ``default.toml``.

    Raises
    ------
    ConfigError
        Naming the file and the offending key or value.
    """

    path = _resolve(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}).") from exc
    _check_keys(doc, _TOP_KEYS, "the top level", path)

    feats = doc.get("features", {})
    _check_keys(feats, _FEATURE_KEYS, "[features]", path)
    features_path = None
    if "path" in feats:
        features_path = str((path.parent / feats["path"]).resolve())
    roles = _str_list(feats["roles"], "features.roles", path) if "roles" in feats else None
    if roles is not None:
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise ConfigError(f"{path}: [features] roles must be among {', '.join(ROLES)}. Got `{bad[0]}`.")
    groups = _str_list(feats["groups"], "features.groups", path) if "groups" in feats else None
    exclude = _str_list(feats.get("exclude", []), "features.exclude", path)

    split_doc = doc.get("backtest")
    if split_doc is None:
        raise ConfigError(f"{path}: missing [backtest] table with `origins` and `horizons`.")
    _check_keys(split_doc, _SPLIT_KEYS, "[backtest]", path)
    if "origins" not in split_doc:
        raise ConfigError(f"{path}: [backtest] needs `origins = [...]` (forecast origin years).")
    try:
        split = BacktestSplit(origins=split_doc["origins"], horizons=split_doc.get("horizons", list(HORIZONS)),
                              expanding=split_doc.get("expanding", True), shuffle=split_doc.get("shuffle", False),
                              window=split_doc.get("window"))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None

    model = doc.get("model", {})
    allowed_model = set(HallyuForecaster().get_params()) - {
        "interval_levels", "calibration_origins", "exclude_covid_targets", "new_market", "new_market_params"}
    _check_keys(model, allowed_model, "[model]", path)
    try:
        HallyuForecaster(**model)._check_params()
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None

    nm = doc.get("new_market", {})
    _check_keys(nm, _NEW_MARKET_KEYS, "[new_market]", path)
    nm_params = nm.get("params", {})
    _check_keys(nm_params, _LGBM_PARAMS, "[new_market.params]", path)

    iv = doc.get("intervals", {})
    _check_keys(iv, _INTERVAL_KEYS, "[intervals]", path)
    levels = tuple(float(x) for x in iv.get("levels", [0.8, 0.95]))
    if not levels or any(not 0 < x < 1 for x in levels):
        raise ConfigError(f"{path}: [intervals] levels must be between 0 and 1 (e.g. [0.8, 0.95]). Got {list(levels)}.")
    cal = iv.get("calibration_origins", 3)
    if not isinstance(cal, int) or cal < 1:
        raise ConfigError(f"{path}: [intervals] calibration_origins must be an integer >= 1. Got {cal!r}.")

    ev = doc.get("evaluation", {})
    _check_keys(ev, _EVAL_KEYS, "[evaluation]", path)
    baselines = _str_list(ev.get("baselines", list(DEFAULT_BASELINES)), "evaluation.baselines", path)
    bad = [b for b in baselines if b not in BASELINES]
    if bad:
        raise ConfigError(f"{path}: [evaluation] baselines must be among {', '.join(BASELINES)}. Got `{bad[0]}`.")
    reps = ev.get("bootstrap_reps", 1000)
    folds = ev.get("lco_folds", 5)
    if not isinstance(reps, int) or reps < 0:
        raise ConfigError(f"{path}: [evaluation] bootstrap_reps must be an integer >= 0. Got {reps!r}.")
    if not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"{path}: [evaluation] lco_folds must be an integer >= 2. Got {folds!r}.")
    covid_origins = tuple(int(o) for o in ev.get("covid_origins", [2020, 2021]))

    tu = doc.get("tuning", {})
    _check_keys(tu, _TUNING_KEYS, "[tuning]", path)
    space = tu.get("space", {})
    _check_keys(space, allowed_model, "[tuning.space]", path)
    for name, spec in space.items():
        _check_keys(spec, _SPACE_KEYS, f"[tuning.space] `{name}`", path)
        if "choices" not in spec and not {"low", "high"} <= set(spec):
            raise ConfigError(f"{path}: [tuning.space] `{name}` needs `low` and `high`, or `choices`.")
    tuning = TuningSpace(n_trials=int(tu.get("n_trials", 30)), timeout=tu.get("timeout"),
                         metric=str(tu.get("metric", "rmse")), space=space)

    exclude_covid = doc.get("exclude_covid_targets", True)
    if not isinstance(exclude_covid, bool):
        raise ConfigError(f"{path}: `exclude_covid_targets` must be true or false. Got {exclude_covid!r}.")
    seed = doc.get("seed", 0)
    if not isinstance(seed, int):
        raise ConfigError(f"{path}: `seed` must be an integer. Got {seed!r}.")
    return ExperimentConfig(
        name=str(doc.get("name", path.stem)), description=str(doc.get("description", "")), split=split,
        target=doc.get("target"), features_path=features_path, roles=roles, groups=groups, exclude_features=exclude,
        exclude_covid_targets=exclude_covid, seed=seed, model=dict(model),
        new_market=bool(nm.get("enabled", True)), new_market_params=dict(nm_params), interval_levels=levels,
        calibration_origins=cal, baselines=baselines, bootstrap_reps=reps, lco_folds=folds,
        covid_origins=covid_origins, tuning=tuning, path=str(path),
    )
