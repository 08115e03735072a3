"""SHAP explanations of Hallyu forecasts, grouped as Korean government support vs local conditions.

:func:`explain` computes everything once and returns an :class:`Explanation`; every table,
plot and the HTML report (:func:`hallyu_forecast.report.render_report`) only render it.

What is attributed
------------------
The history model forecasts a *change* from the last observed value (see
:mod:`hallyu_forecast.forecaster`)::

    prediction = anchor + s * f(x),     anchor = y_origin (+ h * drift),  s = shrinkage

``f`` is one LightGBM per horizon; ``shap.TreeExplainer(f)`` (path-dependent TreeSHAP) gives
``f(x) = phi_0 + sum_j phi_j(x)``. To attribute the *level* forecast, the anchor enters as one
explicit term, ``last_observed_level = anchor - mean(anchor)`` (mean over the model's training
rows of that horizon), in group ``target_history`` (role ``history``), and::

    base_value = s * phi_0 + mean(anchor)
    prediction = base_value + sum_j s * phi_j + last_observed_level + covid_recovery_adjustment

``covid_recovery_adjustment`` (group ``regime``, role ``regime``) is the published forecast
minus the tree forecast: non-zero only where the forecaster's COVID rule replaced the tree
(origins 2020-2022, "anchored on 2019 with recovery"); it makes the attribution add up to the
forecast that is actually published. Rows answered by the covariates-only new-market model
(countries without target history) are attributed the same way with that model's own
``base_value = phi_0`` and no anchor term. Additivity (groups + base = prediction, per row) is
checked to 1e-6 and a :class:`ModelError` is raised if it fails.

Shares
------
For each explained row and role ``r``, ``magnitude_r = sum of |contribution|`` over the terms of
that role (absolute values per feature, so features of one role that push in opposite
directions do not cancel). ``share_r = magnitude_r / sum over roles of magnitude``; "without
history" drops the ``history`` role from numerator and denominator. A country's share is the
mean over its explained rows (origins); the global share is the mean over countries (each
country counts once); a year's share is the mean over the countries explained at that origin.
Shares are computed per model (history vs new-market rows) and sum to 1.

Uncertainty
-----------
``n_refits`` refits of the model, each with a new LightGBM seed, on (default
``uncertainty="subsample"``) 80% of the training countries drawn without replacement, or
(``"bootstrap"``) as many countries drawn with replacement, or (``"seed"``) the same rows. Each
refit explains the same rows; the interval of a share is the central ``level`` percentile range
of the refits' shares, widened to include the point estimate of the model being explained
when the refits fall on one side of it. Country subsampling is the default because a country
bootstrap duplicates whole country histories, which lets trees isolate duplicated countries
through time-invariant features (e.g. years since an FTA) and biases the government-support
share upwards. The intervals describe the stability of the attribution, not a causal effect.

SHAP values describe how the *model* uses the features: they are associational, not causal.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from hallyu_forecast.bundle import ModelBundle
from hallyu_forecast.bundle_parts import REFITS_FILE, load_refits, save_refits  # noqa: F401 - re-exported
from hallyu_forecast.domain import check_alone, frame_domain, refuse_no_travel
from hallyu_forecast.errors import ConfigError, ModelError
from hallyu_forecast.features import (
    Specs,
    TargetSpec,
    build_features,
    inverse_target,
    load_feature_specs,
    target_series,
)
from hallyu_forecast.forecaster import momentum_from_json, momentum_term, momentum_to_json
from hallyu_forecast.inference import resolve_countries, resolve_model
from hallyu_forecast.logs import Steps, step
from hallyu_forecast.model_base import observed_levels, training_rows
from hallyu_forecast.panel import load_countries, load_panel

ROLES = ("government_support", "local_conditions", "regime", "history")
NON_HISTORY = ROLES[:3]
LAST_LEVEL = "last_observed_level"
COVID_ADJ = "covid_recovery_adjustment"
HISTORY_GROUP = "target_history"
REGIME_GROUP = "regime"
MODELS = ("history", "new_market")
RULE_TERMS = (LAST_LEVEL, COVID_ADJ)
KEY = ["iso3", "origin"]
ADDITIVITY_TOL = 1e-6
UNCERTAINTY = ("subsample", "bootstrap", "seed")
SUBSAMPLE_FRACTION = 0.8
_TERM_WHY = {
    LAST_LEVEL: "The forecast starts from the last observed value (plus pooled drift): this term is that "
                "anchor relative to its average over the training rows.",
    COVID_ADJ: "Origins 2020-2022: the forecaster anchors on 2019 and lets the COVID shortfall decay "
               "(a rule, not the tree); this term is the published forecast minus the tree forecast.",
}


# ----------------------------------------------------------------------------------- result
@dataclass
class Explanation:
    """Grouped SHAP attributions of one model's forecasts, with refit intervals on shares.

    Attributes
    ----------
    rows : DataFrame
        One row per explained (iso3, origin): iso3, name, origin, horizon, target_year, model
        ("history" or "new_market"), y_origin, y (observed target, if known), prediction,
        base_value, prediction interval columns (lower_80, upper_80, ...) and covid_adjusted.
    contributions : DataFrame
        Same index as ``rows``; one column per term (each feature plus ``last_observed_level``
        and ``covid_recovery_adjustment``): the additive contribution on the model scale.
    values : DataFrame
        Same shape: the feature values explained (the anchor and the adjustment for the two
        extra terms).
    terms : DataFrame
        term, group, role, why, kind ("feature", "anchor" or "adjustment").
    base_values : dict
        Base value per model ("history", "new_market").
    draws : DataFrame
        Refit draws: refit, model, scope ("global", "country", "year", "importance"), key,
        with_history, item (role, or group for "importance"), value.
    history : DataFrame
        Observed target levels of the explained countries: iso3, year, y.
    target : dict
        name, description, measures, does_not_measure, transform.
    horizon : int
    level : float
        Central level of the refit intervals.
    meta : dict
        How it was computed (model, refits, timings, panel vintage).
    """

    rows: pd.DataFrame
    contributions: pd.DataFrame
    values: pd.DataFrame
    terms: pd.DataFrame
    base_values: dict
    draws: pd.DataFrame
    history: pd.DataFrame
    target: dict
    horizon: int
    level: float = 0.9
    meta: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ helpers
    def _role_of(self) -> dict[str, str]:
        return dict(zip(self.terms["term"], self.terms["role"]))

    def _group_of(self) -> dict[str, str]:
        return dict(zip(self.terms["term"], self.terms["group"]))

    @property
    def groups(self) -> list[str]:
        """Groups in display order (government support first, history last)."""
        order = {r: i for i, r in enumerate(ROLES)}
        role = dict(zip(self.terms["group"], self.terms["role"]))
        return sorted(role, key=lambda g: (order.get(role[g], 9), g))

    def countries(self) -> list[str]:
        """ISO3 codes explained, in row order."""
        return list(dict.fromkeys(self.rows["iso3"]))

    @property
    def latest_origin(self) -> int:
        return int(self.rows["origin"].max())

    def _default_model(self, model: str | None) -> str:
        if model is not None:
            if model not in MODELS:
                raise ConfigError(f"`model` must be 'history' or 'new_market'. Got {model!r}.")
            return model
        return "history" if (self.rows["model"] == "history").any() else "new_market"

    def _aggregate(self, by: dict[str, str]) -> pd.DataFrame:
        summed = self.contributions.T.groupby(pd.Series(by)).sum().T
        return summed

    def _frame(self, wide: pd.DataFrame, order: list[str]) -> pd.DataFrame:
        cols = [c for c in order if c in wide.columns]
        out = self.rows[["iso3", "name", "origin", "target_year", "model"]].copy()
        out["base_value"] = self.rows["base_value"]
        for c in cols:
            out[c] = wide[c].to_numpy()
        out["prediction"] = self.rows["prediction"]
        return out.reset_index(drop=True)

    # ------------------------------------------------------------------ tables
    def by_role(self) -> pd.DataFrame:
        """Signed contribution of each role per explained row (base_value + roles = prediction)."""
        return self._frame(self._aggregate(self._role_of()), list(ROLES))

    def by_group(self) -> pd.DataFrame:
        """Signed contribution of each feature group per explained row (base_value + groups = prediction)."""
        return self._frame(self._aggregate(self._group_of()), self.groups)

    def _row_shares(self, with_history: bool) -> pd.DataFrame:
        return row_shares(self.contributions, self._role_of(), with_history)

    def shares(self, with_history: bool = True, model: str | None = None) -> pd.DataFrame:
        """Global share of each role (mean over countries of each country's mean row share).

        Returns role, share, lower, upper (refit interval at ``level``), n_countries.
        """
        model = self._default_model(model)
        point = _global_shares(self._row_shares(with_history), self.rows, model)
        n = int(self.rows.loc[self.rows["model"] == model, "iso3"].nunique())
        out = self._with_interval(point, "global", "all", with_history, model)
        out["n_countries"] = n
        return out

    def country_shares(self, with_history: bool = False) -> pd.DataFrame:
        """Per country (its own model's rows): iso3, name, model, role, share, lower, upper."""
        rs = self._row_shares(with_history)
        parts = []
        for model in MODELS:
            mask = (self.rows["model"] == model).to_numpy()
            if not mask.any():
                continue
            per = rs[mask].groupby(self.rows.loc[mask, "iso3"].to_numpy()).mean()
            for iso3, shares in per.iterrows():
                part = self._with_interval(shares, "country", iso3, with_history, model)
                part.insert(0, "iso3", iso3)
                part.insert(1, "model", model)
                parts.append(part)
        out = pd.concat(parts, ignore_index=True)
        names = self.rows.drop_duplicates("iso3").set_index("iso3")["name"]
        out.insert(1, "name", out["iso3"].map(names))
        return out

    def year_shares(self, with_history: bool = False, model: str | None = None) -> pd.DataFrame:
        """Shares by origin year (mean over the countries explained at that origin)."""
        model = self._default_model(model)
        rs = self._row_shares(with_history)
        mask = (self.rows["model"] == model).to_numpy()
        per = rs[mask].groupby(self.rows.loc[mask, "origin"].to_numpy()).mean()
        parts = []
        for year, shares in per.iterrows():
            part = self._with_interval(shares, "year", str(int(year)), with_history, model)
            part.insert(0, "origin", int(year))
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def importance(self, by: str = "group", model: str | None = None, learned_only: bool = True) -> pd.DataFrame:
        """Mean |contribution| per group, role or term over the model's rows (global drivers).

        A group's (role's) value is the mean over rows of the sum of |contribution| of its
        terms. With ``learned_only`` (default) the two rule terms (``last_observed_level`` and
        ``covid_recovery_adjustment``) are left out: what remains is what the trees learned.
        Returns item, role, mean_abs, mean_signed, lower, upper (refit interval; groups with
        ``learned_only`` only).
        """
        model = self._default_model(model)
        mask = (self.rows["model"] == model).to_numpy()
        contrib = self.contributions[mask]
        if learned_only:
            contrib = contrib.drop(columns=[c for c in RULE_TERMS if c in contrib.columns])
        if by == "term":
            abs_ = contrib.abs().mean()
            signed = contrib.mean()
            role = self._role_of()
        elif by in ("group", "role"):
            mapping = self._group_of() if by == "group" else self._role_of()
            abs_ = _abs_by(contrib, mapping).mean()
            signed = contrib.T.groupby(pd.Series(mapping)).sum().T.mean()
            role = dict(zip(self.terms["group"], self.terms["role"])) if by == "group" else {r: r for r in ROLES}
        else:
            raise ConfigError(f"`by` must be 'group', 'role' or 'term'. Got {by!r}.")
        out = pd.DataFrame({"item": abs_.index, "role": [role.get(i, "") for i in abs_.index],
                            "mean_abs": abs_.to_numpy(), "mean_signed": signed.reindex(abs_.index).to_numpy()})
        out["lower"], out["upper"] = np.nan, np.nan
        if by == "group" and learned_only:
            d = self.draws
            d = d[(d["scope"] == "importance") & (d["model"] == model)]
            for i, item in enumerate(out["item"]):
                lo, hi = _interval(d.loc[d["item"] == item, "value"].to_numpy(), out.loc[i, "mean_abs"], self.level)
                out.loc[i, ["lower", "upper"]] = lo, hi
        out = out[out["mean_abs"] > 0] if by == "term" else out
        return out.sort_values("mean_abs", ascending=False).reset_index(drop=True)

    def _draw_values(self, scope: str, with_history: bool, model: str) -> dict:
        """(key, item) -> refit values for one scope (grouped once, cached)."""
        cache = self.__dict__.setdefault("_draw_cache", {})
        tag = (scope, bool(with_history), model)
        if tag not in cache:
            d = self.draws
            out = {}
            if len(d):
                d = d[(d["scope"] == scope) & (d["with_history"] == with_history) & (d["model"] == model)]
                for (key, item), part in d.groupby(["key", "item"], sort=False):
                    out[(str(key), str(item))] = part["value"].to_numpy(float)
            cache[tag] = out
        return cache[tag]

    def _with_interval(self, point: pd.Series, scope: str, key: str, with_history: bool, model: str) -> pd.DataFrame:
        draws = self._draw_values(scope, with_history, model)
        rows = []
        for role, share in point.items():
            lo, hi = _interval(draws.get((str(key), str(role)), np.array([])), float(share), self.level)
            rows.append({"role": role, "share": float(share), "lower": lo, "upper": hi})
        return pd.DataFrame(rows)

    def _pick_row(self, iso3: str, origin: int | None) -> int:
        mask = self.rows["iso3"] == iso3
        if not mask.any():
            raise ConfigError(f"Country {iso3!r} is not in this explanation; it explains "
                              f"{', '.join(self.countries()[:12])}{'...' if len(self.countries()) > 12 else ''}.")
        sub = self.rows[mask]
        if origin is None:
            return int(sub["origin"].idxmax())
        hit = sub[sub["origin"] == origin]
        if hit.empty:
            raise ConfigError(f"Origin {origin} is not explained for {iso3}; explained origins are "
                              f"{sorted(sub['origin'].astype(int).tolist())}.")
        return int(hit.index[0])

    def country_table(self, iso3: str, origin: int | None = None, top: int = 3,
                      as_text: bool = False) -> pd.DataFrame | str:
        """Grouped attribution of one country's forecast (default: its latest explained origin).

        Returns group, role, contribution (signed, model scale), top_features (the ``top``
        largest terms of the group with their signed contributions), sorted by |contribution|.
        ``attrs`` holds base_value, prediction, origin, target_year, model and name. With
        ``as_text=True``: the plain-text version printed by ``hallyu-forecast explain``.
        """
        if as_text:
            return self.format_country(iso3, origin)
        iso3 = str(iso3).upper()
        i = self._pick_row(iso3, origin)
        values = self.contributions.loc[i].to_numpy(float)
        names = np.asarray(self.contributions.columns, dtype=object)
        group_of, role_of = self._group_of(), self._role_of()
        groups = np.array([group_of[t] for t in names], dtype=object)
        rows = []
        for group in self.groups:
            idx = np.flatnonzero(groups == group)
            c = values[idx]
            if not (c != 0).any():
                continue
            best = idx[np.argsort(-np.abs(c), kind="stable")][:top]
            text = ", ".join(f"{names[k]} ({values[k]:+.3g})" for k in best if values[k] != 0)
            rows.append({"group": group, "role": role_of[names[idx[0]]], "contribution": float(c.sum()),
                         "top_features": text})
        out = pd.DataFrame(rows, columns=["group", "role", "contribution", "top_features"])
        out = out.reindex(out["contribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)
        r = self.rows.loc[i]
        out.attrs.update({"iso3": iso3, "name": r["name"], "origin": int(r["origin"]),
                          "target_year": int(r["target_year"]), "model": r["model"],
                          "base_value": float(r["base_value"]), "prediction": float(r["prediction"])})
        return out

    def format_country(self, iso3: str, origin: int | None = None) -> str:
        """Plain-text country table (what ``hallyu-forecast explain --country`` prints)."""
        table = self.country_table(iso3, origin, as_text=False)
        a = table.attrs

        spec = TargetSpec(name=self.target["name"], description="", transform=self.target.get("transform", "log"))
        nat = float(inverse_target([a["prediction"]], spec)[0])
        lines = [f"{a['name']} ({a['iso3']}): forecast for {a['target_year']} from data up to {a['origin']} "
                 f"({self.target['description']})",
                 f"  prediction {a['prediction']:.3f} (natural scale {nat:,.1f}) = base value {a['base_value']:.3f} "
                 f"+ the contributions below [{a['model']} model]"]
        with pd.option_context("display.max_colwidth", 90, "display.width", 200):
            lines.append(table.to_string(index=False, float_format=lambda v: f"{v:+.4f}"))
        s = self.country_shares(with_history=False)
        s = s[s["iso3"] == a["iso3"]]
        lines.append("  shares without history (mean over explained origins, "
                     f"{int(self.level * 100)}% refit interval): "
                     + "; ".join(f"{r.role} {r.share:.0%} [{r.lower:.0%}-{r.upper:.0%}]" for r in s.itertuples()))
        lines.append("  SHAP attributions describe how the model uses the data: associational, not causal.")
        return "\n".join(lines)

    # ------------------------------------------------------------------ persistence
    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Every table, tidy, for artifacts (MLflow ``log_table``/parquet)."""
        key = self.rows[["iso3", "origin"]].reset_index(drop=True)
        contrib = pd.concat([key, self.contributions.reset_index(drop=True)], axis=1)
        values = pd.concat([key, self.values.reset_index(drop=True)], axis=1)
        frames = {
            "rows": self.rows.reset_index(drop=True),
            "contributions": contrib,
            "values": values,
            "terms": self.terms,
            "by_group": self.by_group(),
            "by_role": self.by_role(),
            "draws": self.draws,
            "history": self.history,
        }
        parts = []
        for model in sorted(set(self.rows["model"])):
            for wh in (True, False):
                s = self.shares(with_history=wh, model=model)
                s.insert(0, "with_history", wh)
                s.insert(0, "model", model)
                parts.append(s)
        frames["shares"] = pd.concat(parts, ignore_index=True)
        frames["country_shares"] = self.country_shares(with_history=False)
        return frames

    def save(self, path: str | Path) -> Path:
        """Write every frame as parquet plus ``explanation.json`` (shares, meta) into folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        frames = self.to_frames()
        for name, frame in frames.items():
            frame.to_parquet(path / f"{name}.parquet", index=False)
        doc = {"horizon": self.horizon, "level": self.level, "target": self.target,
               "base_values": self.base_values, "meta": self.meta,
               "shares": frames["shares"].to_dict("records")}
        (path / "explanation.json").write_text(json.dumps(doc, indent=1, default=_json_default) + "\n",
                                               encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Explanation":
        """Read a folder written by :meth:`save`."""
        path = Path(path)
        if not (path / "explanation.json").is_file():
            raise ModelError(f"No explanation at {path} (explanation.json expected); write one with "
                             "Explanation.save(path).")
        doc = json.loads((path / "explanation.json").read_text(encoding="utf-8"))
        rows = pd.read_parquet(path / "rows.parquet")
        contrib = pd.read_parquet(path / "contributions.parquet").drop(columns=["iso3", "origin"])
        values = pd.read_parquet(path / "values.parquet").drop(columns=["iso3", "origin"])
        return cls(rows=rows, contributions=contrib, values=values, terms=pd.read_parquet(path / "terms.parquet"),
                   base_values=doc["base_values"], draws=pd.read_parquet(path / "draws.parquet"),
                   history=pd.read_parquet(path / "history.parquet"), target=doc["target"],
                   horizon=int(doc["horizon"]), level=float(doc["level"]), meta=doc["meta"])

    def __repr__(self) -> str:
        counts = self.rows["model"].value_counts().to_dict()
        return (f"Explanation(target={self.target['name']!r}, horizon={self.horizon}, rows={len(self.rows)} "
                f"{counts}, origins {int(self.rows['origin'].min())}-{int(self.rows['origin'].max())}, "
                f"refits={self.meta.get('n_refits')})")


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.ndarray,)):
        return value.tolist()
    return str(value)


# ------------------------------------------------------------------------------ share math
def _abs_by(contrib: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    return contrib.abs().T.groupby(pd.Series(mapping)).sum().T


def row_shares(contrib: pd.DataFrame, role_of: dict[str, str], with_history: bool) -> pd.DataFrame:
    """Per-row share of each role in the sum of |contribution| (see the module docstring)."""
    roles = list(ROLES) if with_history else list(NON_HISTORY)
    mag = _abs_by(contrib, role_of).reindex(columns=roles, fill_value=0.0)
    total = mag.sum(axis=1)
    out = mag.div(total.where(total > 0), axis=0)
    return out


def _global_shares(rs: pd.DataFrame, rows: pd.DataFrame, model: str) -> pd.Series:
    mask = (rows["model"] == model).to_numpy()
    per_country = rs[mask].groupby(rows.loc[mask, "iso3"].to_numpy()).mean()
    return per_country.mean()


def _interval(values: np.ndarray, point: float, level: float) -> tuple[float, float]:
    values = np.asarray(values, dtype="float64")
    values = values[np.isfinite(values)]
    if not len(values) or not math.isfinite(point):
        return point, point
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(min(lo, point)), float(max(hi, point))


# --------------------------------------------------------------------------- model access
def _resolve(model, specs, panel):
    """(forecaster, specs, target name, description of the model, its panel, the bundle or None)."""

    if model is None or isinstance(model, (str, Path, ModelBundle)):
        bundle = resolve_model(model)
        # (a ModelBundle is unhashable: no dict lookup on it)
        what = "shipped default model" if model is None else \
            ("model bundle" if isinstance(model, ModelBundle) else f"model {model}")
        return bundle.forecaster, bundle.specs, bundle.target, what, bundle.panel, bundle
    if not hasattr(model, "models_") or not hasattr(model, "features_"):
        kind = type(model).__name__
        if hasattr(model, "get_params") and hasattr(model, "fit") and kind == "HallyuForecaster":
            raise ModelError("This HallyuForecaster is not fitted yet. Call `fit(fm)` first.")
        raise ModelError(f"`model` must be a fitted HallyuForecaster, a model bundle, an MLflow model URI or None "
                         f"(the default model). Got {kind}.")
    if specs is None:
        specs = load_feature_specs(panel_columns=panel.columns if panel is not None else None)
    elif not isinstance(specs, Specs):
        specs = load_feature_specs(specs, panel_columns=panel.columns if panel is not None else None)
    target = getattr(getattr(model, "target_", None), "name", None) or specs.default_target
    return model, specs, target, type(model).__name__, None, None


def _check_groups(model, specs) -> dict[str, tuple[str, str]]:
    """term -> (group, role) for every feature the model uses; ModelError if one has no group."""
    declared = {f.name: (f.group, f.role) for f in specs.features}
    used = list(dict.fromkeys(list(model.features_) + list(getattr(model, "nm_features_", []) or [])))
    missing = [f for f in used if f not in declared]
    if missing:
        raise ModelError(f"The model's feature(s) {missing} have no feature group: explain() groups SHAP values by "
                         "the groups declared in the feature specs (features/*.toml). Fit the model on the output "
                         "of build_features(), or pass the `specs` it was trained with.")
    return {f: declared[f] for f in used}


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ConfigError(f"`{name}` must be an integer >= {minimum}. Got {value!r}.")
    return int(value)


# ------------------------------------------------------------------------------ attribution
def _tree_shap(estimator, X: np.ndarray) -> tuple[np.ndarray, float]:
    """Path-dependent TreeSHAP values and base value of a LightGBM model.

    LightGBM's built-in TreeSHAP (``pred_contrib``) is the algorithm of ``shap.TreeExplainer``
    for LightGBM (identical values); it skips converting the trees for shap on every call, which
    dominated explain() once the refits are stored (issue 8). Other models go through shap.
    """
    booster = getattr(estimator, "booster_", estimator)
    if any(c.__module__.startswith("lightgbm") for c in type(booster).__mro__):
        out = np.asarray(booster.predict(np.asarray(X, dtype="float64"), pred_contrib=True, num_threads=1),
                         dtype="float64")
        return out[:, :-1], float(out[0, -1]) if len(out) else 0.0
    import warnings

    with warnings.catch_warnings():  # shap's plotting module warns about matplotlib colormap APIs on import
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import shap

    explainer = shap.TreeExplainer(estimator)
    values = np.asarray(explainer.shap_values(X), dtype="float64")
    base = float(np.ravel(explainer.expected_value)[0])
    return values, base


def _anchor(model, frame: pd.DataFrame) -> np.ndarray:
    mode = getattr(model, "target_mode", "change_over_drift")
    if mode == "level":
        return np.zeros(len(frame))
    anchor = frame["y_origin"].to_numpy(float)
    if mode == "change_over_drift":
        # persistence + drift + the run-rate momentum term (when the model has one): the "own history" part
        anchor = (anchor + frame["horizon"].to_numpy(float) * float(model.drift_)
                  + momentum_term(frame, getattr(model, "momentum_", {}) or {}))
    return anchor


def _tree_scale(model) -> float:
    """The weight of the tree output in the forecast (``shrinkage_``; 1 outside change_over_drift)."""
    if getattr(model, "target_mode", "") != "change_over_drift":
        return 1.0
    fitted = getattr(model, "shrinkage_", None)
    if fitted is not None:
        return float(fitted)
    value = getattr(model, "shrinkage", 1.0)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 1.0


def _anchor_mean(model, train_frame: pd.DataFrame, horizon: int) -> float:
    if getattr(model, "target_mode", "change_over_drift") == "level":
        return 0.0
    rows = train_frame[(train_frame["horizon"] == horizon) & train_frame["y_origin"].notna()]
    return float(np.mean(_anchor(model, rows))) if len(rows) else 0.0


def _attribute(model, frame: pd.DataFrame, terms: list[str], horizon: int, anchor_mean: float):
    """Contributions (rows x terms), base value per row, prediction table, model base values."""
    pred = model.predict(_FM(frame))
    contrib = np.zeros((len(frame), len(terms)))
    index = {t: i for i, t in enumerate(terms)}
    base = np.full(len(frame), np.nan)
    bases = {}
    used = pred["model"].to_numpy()
    hist = used == "history"
    if hist.any():
        est = model.models_[horizon]
        X = frame.loc[hist, list(model.features_)].to_numpy(float)
        phi, phi0 = _tree_shap(est, X)
        s = _tree_scale(model)
        cols = [index[f] for f in model.features_]
        contrib[np.ix_(np.flatnonzero(hist), cols)] = s * phi
        anchor = _anchor(model, frame[hist])
        contrib[hist, index[LAST_LEVEL]] = anchor - anchor_mean
        base[hist] = s * phi0 + anchor_mean
        bases["history"] = s * phi0 + anchor_mean
        tree = anchor + s * (phi0 + phi.sum(axis=1))
        adj = pred.loc[hist, "prediction"].to_numpy(float) - tree
        if "covid_adjusted" in pred:
            adj = np.where(pred.loc[hist, "covid_adjusted"].to_numpy(bool), adj, 0.0)
        contrib[hist, index[COVID_ADJ]] = adj
    nm = used == "new_market"
    if nm.any():
        est = model.nm_models_[horizon]
        feats = list(model.nm_model_.features_)
        X = frame.loc[nm, feats].to_numpy(float)
        phi, phi0 = _tree_shap(est, X)
        contrib[np.ix_(np.flatnonzero(nm), [index[f] for f in feats])] = phi
        base[nm] = phi0
        bases["new_market"] = phi0
    return contrib, base, pred, bases


class _FM:
    """Minimal FeatureMatrix stand-in for ``model.predict`` on a frame slice."""

    def __init__(self, frame: pd.DataFrame, like=None):
        self.frame = frame.reset_index(drop=True)
        self.features = [c for c in frame.columns if c not in ("iso3", "origin", "horizon", "target_year",
                                                                "y", "y_origin")]


def _refit(model, train_fm, horizon: int, seed: int, rng: np.random.Generator | None,
           fraction: float | None = None):
    from sklearn.base import clone

    frame = train_fm.frame
    if rng is not None:
        countries = np.array(sorted(frame.loc[frame["y"].notna(), "iso3"].unique()))
        if fraction is None:  # bootstrap: with replacement
            sample = rng.choice(countries, size=len(countries), replace=True)
        else:
            size = max(2, int(round(fraction * len(countries))))
            sample = rng.choice(countries, size=min(size, len(countries)), replace=False)
        groups = {c: g for c, g in frame.groupby("iso3", sort=False)}
        frame = pd.concat([groups[c] for c in sample], ignore_index=True)
    est = clone(model).set_params(random_state=int(seed))
    return est.fit(replace(train_fm, frame=frame))


def _make_refit(model, train_fm, horizon: int, b: int, uncertainty: str, random_state: int):
    """The ``b``-th refit of explain() (same draws whether computed at call time or at training time)."""
    rng = np.random.default_rng([random_state, b]) if uncertainty != "seed" else None
    seed = int(random_state) * 1000 + 1 + b
    return _refit(model, train_fm, horizon, seed, rng, SUBSAMPLE_FRACTION if uncertainty == "subsample" else None)


# ------------------------------------------------------------- refits stored at training time


def _refit_settings(horizon: int, n_refits: int, uncertainty: str, random_state: int) -> dict:
    return {"horizon": int(horizon), "n_refits": int(n_refits), "uncertainty": str(uncertainty),
            "random_state": int(random_state), "fraction": SUBSAMPLE_FRACTION}


def fit_refits(bundle, horizon: int = 1, n_refits: int = 20, uncertainty: str = "subsample",
               random_state: int = 0, panel: pd.DataFrame | None = None) -> dict:
    """Fit explain()'s refits once (``train`` calls this) so that explain() needs no refit at call time.

    Each refit keeps what the attribution needs: its LightGBM models for ``horizon`` (history and
    new-market, as LightGBM text), drift, shrinkage and COVID persistence; explain() rebuilds a
    view of the bundle's forecaster around them (:func:`_refit_view`). The draws are the same as
    explain() would make at call time with the same settings (same seeds and country subsamples).

    Returns
    -------
    dict
        {"settings": ..., "refits": [...]} (JSON-able; saved as ``explain_refits.json.xz``).
    """

    model = bundle.forecaster
    panel = bundle.load_panel() if panel is None else panel
    fm = build_features(panel, specs=bundle.specs, target=bundle.target, horizons=[horizon])
    frame = fm.frame
    max_year = int(getattr(model, "max_target_year_", frame.loc[frame["y"].notna(), "target_year"].max()))
    train_fm = replace(fm, frame=frame[frame["y"].notna() & (frame["target_year"] <= max_year)].reset_index(drop=True))
    refits = []
    for b in range(n_refits):
        refit = _make_refit(model, train_fm, horizon, b, uncertainty, random_state)
        nm = refit.nm_models_.get(horizon)

        refits.append({"drift_": float(refit.drift_), "shrinkage_": float(_tree_scale(refit)),
                       "momentum_": momentum_to_json(getattr(refit, "momentum_", {}) or {}),
                       "covid_rho_": float(getattr(refit, "covid_rho_", getattr(model, "covid_rho_", 0.5))),
                       "model": refit.models_[horizon].booster_.model_to_string(),
                       "nm_model": nm.booster_.model_to_string() if nm is not None else None})
    return {"settings": _refit_settings(horizon, n_refits, uncertainty, random_state), "refits": refits}


def _matching_refits(stored: dict | None, horizon: int, n_refits: int, uncertainty: str, random_state: int):
    if not stored:
        return None
    return stored if stored.get("settings") == _refit_settings(horizon, n_refits, uncertainty, random_state) else None


def _one_thread_booster():
    import lightgbm as lgb

    class OneThreadBooster(lgb.Booster):
        """A LightGBM Booster predicting on one thread (a Booster read from text defaults to every core,
        and thread start-up dominates predicting a few rows on a shared machine)."""

        def predict(self, data, *args, **kwargs):
            kwargs.setdefault("num_threads", 1)
            return super().predict(data, *args, **kwargs)

    return OneThreadBooster


def _OneThreadBooster(**kwargs):  # noqa: N802 - a class factory, kept lazy so lightgbm is imported on use
    global _BOOSTER_CLASS
    if _BOOSTER_CLASS is None:
        _BOOSTER_CLASS = _one_thread_booster()
    return _BOOSTER_CLASS(**kwargs)


_BOOSTER_CLASS = None


def _refit_view(model, state: dict, horizon: int):
    """A shallow copy of ``model`` whose trees, drift, shrinkage and COVID persistence are a stored refit's."""
    import copy

    # parsing LightGBM text takes ~10 ms per model: parse once per loaded bundle, then reuse
    if "_boosters" not in state:
        state["_boosters"] = (_OneThreadBooster(model_str=state["model"]),
                              _OneThreadBooster(model_str=state["nm_model"]) if state.get("nm_model") else None)
    tree, nm_tree = state["_boosters"]
    view = copy.copy(model)
    view.models_ = {horizon: tree}
    view.drift_ = state["drift_"]
    if "momentum_" in state:
        view.momentum_ = momentum_from_json(state["momentum_"])
    view.shrinkage_ = state["shrinkage_"]
    view.covid_rho_ = state["covid_rho_"]
    view.horizons_ = (horizon,)
    if nm_tree is not None and getattr(model, "nm_model_", None) is not None:
        nm = copy.copy(model.nm_model_)
        nm.models_ = {horizon: nm_tree}
        view.nm_model_ = nm
    return view


def _draw_rows(refit: int, contrib: pd.DataFrame, rows: pd.DataFrame, role_of, group_of) -> list[dict]:
    out = []
    for wh in (True, False):
        rs = row_shares(contrib, role_of, wh)
        for model in MODELS:
            mask = (rows["model"] == model).to_numpy()
            if not mask.any():
                continue
            sub = rs[mask]
            per_country = sub.groupby(rows.loc[mask, "iso3"].to_numpy()).mean()
            for role, v in per_country.mean().items():
                out.append((refit, model, "global", "all", wh, role, float(v)))
            for iso3, shares in per_country.iterrows():
                for role, v in shares.items():
                    out.append((refit, model, "country", iso3, wh, role, float(v)))
            per_year = sub.groupby(rows.loc[mask, "origin"].to_numpy()).mean()
            for year, shares in per_year.iterrows():
                for role, v in shares.items():
                    out.append((refit, model, "year", str(int(year)), wh, role, float(v)))
            if wh:
                learned = contrib[mask].drop(columns=[c for c in RULE_TERMS if c in contrib.columns])
                imp = _abs_by(learned, group_of).mean()
                for group, v in imp.items():
                    out.append((refit, model, "importance", "all", True, group, float(v)))
    return out


# -------------------------------------------------------------------------------- explain()
def explain(model=None, countries: str | Iterable[str] | None = None, years: int | Iterable[int] | None = None,
            horizon: int = 1, n_refits: int = 20, *, uncertainty: str = "subsample", level: float = 0.9,
            panel: pd.DataFrame | None = None, specs: Specs | str | Path | None = None, include_new_markets: bool = True,
            random_state: int = 0) -> Explanation:
    """Explain forecasts with SHAP, grouped by feature group and by role (computed once).

    Parameters
    ----------
    model : optional
        ``None`` (the shipped default model; if none is shipped, the default experiment is
        fitted on the embedded panel), a fitted :class:`HallyuForecaster`, a model bundle
        (folder or :class:`~hallyu_forecast.bundle.ModelBundle`) or an MLflow model URI.
    countries : str or list of str, optional
        ISO3 codes or English names; default every country the model can forecast.
    years : int or list of int, optional
        Forecast *origins* to explain (the year whose data the forecast uses; the forecast is
        for ``origin + horizon``). Default: every year with target data.
    horizon : int
        Years ahead (1, 2 or 3; one the model was fitted for).
    n_refits : int
        Refits for the share intervals (0: no intervals).
    uncertainty : {"subsample", "bootstrap", "seed"}
        Refit on 80% of the countries drawn without replacement, on countries drawn with
        replacement, or on the same rows; each refit with a new LightGBM seed.
    level : float
        Central level of the refit intervals (default 0.9: 5th-95th percentile).
    panel : DataFrame, optional
        Default: the model bundle's panel, else the embedded panel.
    specs : Specs or path, optional
        Feature specs giving each feature its group and role (for a bare HallyuForecaster;
        default: the packaged specs).
    include_new_markets : bool
        Also explain countries without target history (covariates-only model) when
        ``countries`` is None.
    random_state : int
        Seed of the refits.

    Returns
    -------
    Explanation

    Raises
    ------
    ConfigError
        Unknown countries, Korea, years outside the model's range, a bad horizon.
    ModelError
        An unfitted model, a model without feature groups, failed additivity.

    Examples
    --------
    >>> ex = explain(countries=["MEX", "JPN"], n_refits=5)   # doctest: +SKIP
    >>> ex.shares(with_history=False)                         # doctest: +SKIP
    >>> print(ex.format_country("MEX"))                       # doctest: +SKIP
    """
    started = time.perf_counter()

    n_refits = _check_int(n_refits, "n_refits", 0)
    if uncertainty not in UNCERTAINTY:
        raise ConfigError(f"`uncertainty` must be 'subsample', 'bootstrap' or 'seed'. Got {uncertainty!r}.")
    if not (isinstance(level, (int, float)) and 0 < float(level) < 1):
        raise ConfigError(f"`level` must be between 0 and 1 (e.g. 0.9). Got {level!r}.")
    panel_arg = panel
    model_obj, specs_obj, target_name, what, bundle_panel, bundle_obj = _resolve(model, specs, panel)
    panel_source = "embedded" if panel is None and bundle_panel is None else "custom"
    if panel is None:
        panel = bundle_panel if bundle_panel is not None else load_panel()
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or \
            int(horizon) not in tuple(model_obj.horizons_):
        allowed = sorted(int(h) for h in model_obj.horizons_)
        text = ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]}" if len(allowed) > 1 else str(allowed[0])
        raise ConfigError(f"`horizon` must be {text}. Got {horizon!r}.")
    horizon = int(horizon)
    term_info = _check_groups(model_obj, specs_obj)
    tspec = specs_obj.targets[target_name]

    # ---- years: origins with target data
    y = target_series(panel, tspec, base=Path(specs_obj.folder))
    observed = panel.loc[y.notna(), "year"]
    if observed.empty:
        raise ConfigError("The panel has no observed target values; nothing to explain.")
    first, last = int(observed.min()), int(observed.max())
    if years is None:
        origins = list(range(first, last + 1))
    else:
        origins = [years] if np.isscalar(years) else list(years)
        bad = [o for o in origins if isinstance(o, bool) or not isinstance(o, (int, np.integer))
               or not first <= int(o) <= last]
        if bad or not origins:
            raise ConfigError(f"`years` must be origin years with target data ({first}-{last}). "
                              f"Got {bad if bad else origins}.")
        origins = sorted(set(int(o) for o in origins))

    codes = None if countries is None else resolve_countries(countries, panel["iso3"])

    # ---- the design matrix: every origin (training rows for refits) and the rows to explain
    fm = build_features(panel, specs=specs_obj, target=target_name, horizons=[horizon])
    frame = fm.frame
    explain_rows = frame[frame["origin"].isin(origins)]
    if codes is not None:
        explain_rows = explain_rows[explain_rows["iso3"].isin(codes)]
    has_nm = bool(getattr(model_obj, "nm_models_", {})) and horizon in model_obj.nm_models_
    hist_countries = set(explain_rows.loc[explain_rows["y_origin"].notna(), "iso3"])
    if getattr(model_obj, "target_mode", "") == "level" and not has_nm:
        keep = np.ones(len(explain_rows), bool)
    else:
        keep = explain_rows["y_origin"].notna().to_numpy().copy()
        if has_nm and (include_new_markets or codes is not None):
            keep |= (~explain_rows["iso3"].isin(hist_countries)).to_numpy()
    explain_rows = explain_rows[keep].reset_index(drop=True)
    # applicability domain (issue 8): no explanation for excluded places, extrapolations flagged

    domain = frame_domain(frame, fm.roles, panel, origins=origins)
    domain = refuse_no_travel(domain, travel=str(tspec.numerator or "").startswith("arrivals"))  # as predict()
    if codes is not None:
        check_alone(domain[domain["iso3"].isin(set(explain_rows["iso3"]))], codes, "explanation")
    dom_key = domain.set_index(["iso3", "origin"])
    key = pd.MultiIndex.from_frame(explain_rows[["iso3", "origin"]])
    explain_rows = explain_rows[(dom_key["status"].reindex(key).fillna("in") != "excluded").to_numpy()]
    explain_rows = explain_rows.reset_index(drop=True)
    if codes is not None:
        lost = sorted(set(codes) - set(explain_rows["iso3"]))
        if lost:
            raise ConfigError(f"No data to explain for {lost} at origins {origins[0]}-{origins[-1]}: no observed "
                              "target (and no new-market model for countries without one). Choose other years "
                              "or countries with target history.")
    if explain_rows.empty:
        raise ConfigError(f"No rows to explain at origins {origins[0]}-{origins[-1]}.")

    # ---- terms
    features = [f for f in fm.features if f in term_info]
    terms = features + [LAST_LEVEL, COVID_ADJ]
    why = {f.name: f.why for f in specs_obj.features}
    term_table = pd.DataFrame({
        "term": terms,
        "group": [term_info[f][0] for f in features] + [HISTORY_GROUP, REGIME_GROUP],
        "role": [term_info[f][1] for f in features] + ["history", "regime"],
        "why": [why.get(f, "") for f in features] + [_TERM_WHY[LAST_LEVEL], _TERM_WHY[COVID_ADJ]],
        "kind": ["feature"] * len(features) + ["anchor", "adjustment"],
    })
    role_of = dict(zip(term_table["term"], term_table["role"]))
    group_of = dict(zip(term_table["term"], term_table["group"]))

    # ---- training rows of the model (for the anchor mean and refits)
    max_year = int(getattr(model_obj, "max_target_year_", last))
    train_fm = replace(fm, frame=frame[frame["y"].notna() & (frame["target_year"] <= max_year)]
                       .reset_index(drop=True))
    anchor_mean = _anchor_mean(model_obj, _training(model_obj, train_fm.frame), horizon)

    contrib, base, pred, bases = _attribute(model_obj, explain_rows, terms, horizon, anchor_mean)

    step(f"explain: SHAP values for {len(explain_rows)} rows ({time.perf_counter() - started:.1f}s)")
    ok = (pred["model"] != "none").to_numpy()
    explain_rows, contrib, base, pred = explain_rows[ok].reset_index(drop=True), contrib[ok], base[ok], \
        pred[ok].reset_index(drop=True)
    total = base + contrib.sum(axis=1)
    gap = np.abs(total - pred["prediction"].to_numpy(float))
    if not np.all(gap < ADDITIVITY_TOL):
        raise ModelError(f"SHAP additivity failed: base value + contributions differ from the prediction by up to "
                         f"{np.nanmax(gap):.2e} (tolerance {ADDITIVITY_TOL:g}). Report this with the model.")

    # ---- tables
    names = load_countries().set_index("iso3")["name"]
    rows = explain_rows[["iso3", "origin", "horizon", "target_year", "y_origin", "y"]].copy()
    rows.insert(1, "name", rows["iso3"].map(names).fillna(rows["iso3"]).astype(str))
    row_key = pd.MultiIndex.from_frame(rows[["iso3", "origin"]])
    rows["domain"] = dom_key["domain"].reindex(row_key).fillna("in").to_numpy()
    rows.insert(5, "model", pred["model"].astype(str).to_numpy())
    rows["prediction"] = pred["prediction"].to_numpy(float)
    rows["base_value"] = base
    for c in [c for c in pred.columns if c.startswith(("lower_", "upper_"))]:
        rows[c] = pred[c].to_numpy(float)
    rows["covid_adjusted"] = pred["covid_adjusted"].to_numpy(bool) if "covid_adjusted" in pred else False
    rows = rows.reset_index(drop=True)
    contributions = pd.DataFrame(contrib, columns=terms)
    values = explain_rows[features].reset_index(drop=True).astype("float64")
    values[LAST_LEVEL] = np.where(rows["model"] == "history", _anchor(model_obj, explain_rows), np.nan)
    values[COVID_ADJ] = np.where(rows["covid_adjusted"], contributions[COVID_ADJ], 0.0)

    # ---- refits
    t_refit = time.perf_counter()
    draws: list[tuple] = []

    refit_steps = Steps("explain: refits for the share intervals", n_refits)
    # refits computed once at training time and kept with the bundle (issue 8), when they match
    stored = None
    if panel_arg is None and specs is None and bundle_obj is not None:
        stored = _matching_refits(getattr(bundle_obj, "explain_refits", None), horizon, n_refits, uncertainty,
                                  random_state)
    for b in range(n_refits):
        if stored is not None:
            refit = _refit_view(model_obj, stored["refits"][b], horizon)
        else:
            refit = _make_refit(model_obj, train_fm, horizon, b, uncertainty, random_state)
        mean_b = _anchor_mean(refit, _training(refit, train_fm.frame), horizon)
        c_b, base_b, pred_b, _ = _attribute(refit, explain_rows, terms, horizon, mean_b)
        used = pred_b["model"].to_numpy() != "none"
        cb = pd.DataFrame(c_b[used], columns=terms)
        draws.extend(_draw_rows(b, cb, rows[used].reset_index(drop=True), role_of, group_of))
        refit_steps.done(b + 1)
    draws_df = pd.DataFrame(draws, columns=["refit", "model", "scope", "key", "with_history", "item", "value"])
    hist_frame = _observed(frame, set(rows["iso3"]))
    meta = {
        "model": what,
        "panel": panel_source,
        "target_mode": getattr(model_obj, "target_mode", None),
        "shrinkage": _tree_scale(model_obj),
        "drift": float(getattr(model_obj, "drift_", float("nan"))),
        "anchor_mean": anchor_mean,
        "n_refits": n_refits,
        "uncertainty": uncertainty,
        "random_state": int(random_state),
        "origins": [int(o) for o in sorted(set(rows["origin"]))],
        "target_years_observed": f"{first}-{last}",
        "max_additivity_gap": float(np.nanmax(gap)) if len(gap) else 0.0,
        "shap_version": _version("shap"),
        "lightgbm_version": _version("lightgbm"),
        "refit_seconds": round(time.perf_counter() - t_refit, 3),
        "refits_stored": stored is not None,
        "seconds": round(time.perf_counter() - started, 3),
    }
    target = {"name": tspec.name, "description": tspec.description, "measures": tspec.measures,
              "does_not_measure": tspec.does_not_measure, "transform": tspec.transform}
    return Explanation(rows=rows, contributions=contributions, values=values, terms=term_table,
                       base_values={k: float(v) for k, v in bases.items()}, draws=draws_df, history=hist_frame,
                       target=target, horizon=horizon, level=float(level), meta=meta)


def _training(model, frame: pd.DataFrame) -> pd.DataFrame:
    return training_rows(frame, bool(getattr(model, "exclude_covid_targets", True)),
                         tuple(getattr(model, "covid_years", (2020, 2021, 2022))))


def _observed(frame: pd.DataFrame, countries: set[str]) -> pd.DataFrame:
    sub = frame[frame["iso3"].isin(countries)]
    return observed_levels(sub).reset_index(drop=True)


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"
