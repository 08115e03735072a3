"""Optuna tuning on time-ordered folds only, with pruning and a persistent study.

Each trial fits the experiment's forecaster with suggested parameters at every backtest origin
in time order (training rows: target year <= origin) and reports the running RMSE after each
origin, so the median pruner can stop hopeless trials early. Folds are never shuffled. The
study persists in SQLite by default (``optuna.db``); ``storage`` takes any Optuna RDB URL so
that several processes or machines can share one study. Trials are logged as MLflow runs nested
under one parent run; the best parameters are written to a JSON file that ``train --params``
reads.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from hallyu_forecast import tracking
from hallyu_forecast.errors import ConfigError
from hallyu_forecast.features import take_rows
from hallyu_forecast.model_base import training_rows


def default_storage() -> str:
    return f"sqlite:///{Path.cwd() / 'optuna.db'}"


def _objective_factory(cfg, fm, log_trials: bool):
    frame = fm.frame
    origins = list(cfg.split.origins)

    def objective(trial):
        import optuna

        params = cfg.tuning.suggest(trial)
        errors: list[np.ndarray] = []
        started = time.perf_counter()
        for step, origin in enumerate(origins):
            train = take_rows(fm, cfg.split.train_mask(frame, origin))
            test = take_rows(fm, cfg.split.test_mask(frame, origin))
            scored = training_rows(test.frame, cfg.exclude_covid_targets)
            if scored.empty or train.frame["y"].notna().sum() == 0:
                continue
            # Tuning scores the point forecast only: one calibration origin and no new-market model.
            model = cfg.make_forecaster(**params, new_market=False, calibration_origins=1).fit(train)
            pred = model.predict(test).set_index(["iso3", "horizon"])["prediction"]
            truth = scored.set_index(["iso3", "horizon"])["y"]
            diff = (pred.reindex(truth.index) - truth).to_numpy()
            errors.append(diff[np.isfinite(diff)])
            rmse = float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))
            trial.report(rmse, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        if not errors:
            raise ConfigError("No backtest origin has targets to score; check [backtest] origins.")
        rmse = float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))
        if log_trials:
            import mlflow

            with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True):
                mlflow.log_params(params)
                mlflow.log_metrics({"rmse": rmse, "seconds": time.perf_counter() - started})
        return rmse

    return objective


def safe_url(storage: str) -> str:
    """``storage`` without its password (for messages and MLflow parameters)."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", storage)


def open_study(storage: str, study_name: str, seed: int, attempts: int = 5):
    """Create or load (``load_if_exists``) the study ``study_name`` in ``storage``.

    Several workers may start at once on a fresh database: creating Optuna's tables or the
    study can then fail in all but one of them, so this retries a few times. Failures that
    persist raise :class:`ConfigError` naming the storage (without its password).
    """
    import optuna

    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return optuna.create_study(
                study_name=study_name, storage=storage, load_if_exists=True, direction="minimize",
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
            )
        except ImportError as exc:  # e.g. psycopg missing for postgresql:// (SQLAlchemy 2.1 defaults to psycopg 3)
            raise ConfigError(f"Optuna storage {safe_url(storage)} needs a database driver that is not installed "
                              f"({exc}); for PostgreSQL: pip install psycopg[binary].") from None
        except Exception as exc:  # sqlalchemy OperationalError/IntegrityError, optuna errors
            last = exc
            if "could not connect" in str(exc).lower() or "connection refused" in str(exc).lower():
                break
            time.sleep(0.5 * (attempt + 1))
    text = " ".join(str(last).split())[:240]
    raise ConfigError(f"Could not open the Optuna study `{study_name}` in {safe_url(storage)} "
                      f"({type(last).__name__}: {text}). Check that the database is reachable and the URL is "
                      "right (e.g. postgresql://user:password@host:5432/db).")


def _features(cfg):
    return cfg.build_features(origins=range(min(cfg.split.origins) - 15, max(cfg.split.origins) + 1))


def _worker(cfg, n_trials: int, storage: str, study_name: str, seed: int, timeout: float | None,
            tag: str) -> list[int]:
    """One local worker process of ``tune(n_jobs > 1)``: run ``n_trials`` on the shared study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(storage, study_name, seed)
    numbers: list[int] = []

    def callback(study, trial):
        numbers.append(int(trial.number))
        value = "pruned" if trial.value is None else f"rmse {trial.value:.4f}"
        print(f"  [{tag}] trial {trial.number:>3}: {value}", flush=True)

    study.optimize(_objective_factory(cfg, _features(cfg), log_trials=False), n_trials=n_trials, timeout=timeout,
                   callbacks=[callback], gc_after_trial=False)
    return numbers


def tune(cfg, n_trials: int | None = None, storage: str | None = None, study_name: str | None = None,
         timeout: float | None = None, out: str | Path | None = None, track: bool = True,
         progress: Callable[[str], None] | None = None, seed: int | None = None, n_jobs: int = 1):
    """Tune ``cfg``'s forecaster with Optuna; return ``(study, best_params_path)``.

    Parameters
    ----------
    cfg : ExperimentConfig
    n_trials : int, optional
        Default: the config's ``[tuning] n_trials``.
    storage : str, optional
        Optuna RDB URL (default ``sqlite:///./optuna.db``); a study with the same name resumes.
    study_name : str, optional
        Default ``hallyu_forecast-<experiment>``.
    timeout : float, optional
        Stop after this many seconds.
    out : path, optional
        Where to write the best parameters (default ``tuned/<experiment>.json``).
    track : bool
        Log the study to MLflow (one parent run, trials nested).
    seed : int, optional
        Seed of the TPE sampler (default: the config's ``seed``). Workers sharing one study
        should use different seeds, or they propose the same first trials.
    n_jobs : int
        Local worker processes sharing the study (each fits LightGBM models, the real work);
        worker ``i`` uses seed ``seed + i``. Needs a storage that several processes can open
        (the default SQLite file or an RDB server).

    Several processes or machines can run ``tune`` at once on one study: give them the same
    ``storage`` (an RDB URL such as ``postgresql://user:pw@host/db``) and ``study_name``; every
    trial is stored in the database, and each worker's TPE sampler sees all finished trials.
    """
    import optuna

    if cfg.tuning.space is None or not cfg.tuning.space:
        raise ConfigError(f"Experiment `{cfg.name}` has no [tuning.space]; add the parameters to search.")
    n_trials = n_trials if n_trials is not None else cfg.tuning.n_trials
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(f"`n_trials` must be an integer greater than 0. Got {n_trials!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ConfigError(f"`n_jobs` must be an integer greater than 0. Got {n_jobs!r}.")
    storage = storage or default_storage()
    if n_jobs > 1 and storage.startswith("sqlite:///:memory:"):
        raise ConfigError("`n_jobs` > 1 needs a storage that several processes can open; an in-memory SQLite "
                          "study cannot be shared. Use a sqlite:///file.db or postgresql:// URL.")
    study_name = study_name or f"hallyu_forecast-{cfg.name}"
    seed = cfg.seed if seed is None else int(seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(storage, study_name, seed)
    fm = _features(cfg) if n_jobs == 1 else None

    mine: list[int] = []  # trial numbers run by this worker (others may share the study)

    def callback(study, trial):
        mine.append(int(trial.number))
        if progress is not None:
            value = "pruned" if trial.value is None else f"rmse {trial.value:.4f}"
            try:
                best = f"{study.best_value:.4f}"
            except ValueError:  # no completed trial yet (all pruned so far)
                best = "none yet"
            progress(f"  trial {trial.number:>3}: {value}  (best {best})")

    out = Path(out) if out is not None else Path("tuned") / f"{cfg.name}.json"

    def run_study():
        if n_jobs == 1:
            study.optimize(_objective_factory(cfg, fm, log_trials=track), n_trials=n_trials, timeout=timeout,
                           callbacks=[callback], gc_after_trial=False)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        shares = [n_trials // n_jobs + (1 if i < n_trials % n_jobs else 0) for i in range(n_jobs)]
        # spawn, not fork: LightGBM's OpenMP runtime is not safe to use in a forked child
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_worker, cfg, k, storage, study_name, seed + i, timeout, f"worker {i}")
                       for i, k in enumerate(shares) if k]
            for future in futures:
                mine.extend(future.result())
        if track:
            import mlflow

            for trial in study.get_trials(deepcopy=False):
                if trial.number in mine and trial.value is not None:
                    with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True):
                        mlflow.log_params(trial.params)
                        mlflow.log_metric("rmse", trial.value)

    if track:
        import mlflow

        with tracking.run("tune", cfg):
            mlflow.log_params({"tune.n_trials": n_trials, "tune.storage": safe_url(storage), "tune.n_jobs": n_jobs,
                               "tune.study_name": study_name})
            run_study()
            mlflow.log_metric("best_rmse", study.best_value)
            mlflow.log_dict(study.best_params, "best_params.json")
    else:
        run_study()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"experiment": cfg.name, "study": study_name, "best_rmse": study.best_value,
                               "best_trial": study.best_trial.number, "params": study.best_params,
                               "worker_trials": mine, "study_trials": len(study.trials)}, indent=1) + "\n",
                   encoding="utf-8")
    return study, out


def read_params(path: str | Path) -> dict:
    """Best parameters written by :func:`tune` (for ``train --params``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Parameter file {path} not found; run `hallyu-forecast tune` first.") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}).") from None
    if "params" not in data or not isinstance(data["params"], dict):
        raise ConfigError(f"{path}: expected an object with a `params` mapping (as written by `tune`).")
    return data["params"]
