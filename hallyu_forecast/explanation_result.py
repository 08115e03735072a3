"""The :class:`Explanation`: every forecast's contributions, computed once by ``explain()``.

Tables, plots, JSON and the report only render it; nothing is recomputed from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.errors import ConfigError, ModelError
from hallyu_forecast.explain_attribution import (
    COVID_ADJ,
    LAST_LEVEL,
    MODELS,
    ROLES,
    RULE_TERMS,
    abs_by,
    global_shares,
    row_shares,
    share_interval,
)
from hallyu_forecast.features import (
    TargetSpec,
    inverse_target,
)
from hallyu_forecast.model_base import json_default

TERM_WHY = {
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
        point = global_shares(self._row_shares(with_history), self.rows, model)
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
            abs_ = abs_by(contrib, mapping).mean()
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
                lo, hi = share_interval(d.loc[d["item"] == item, "value"].to_numpy(), out.loc[i, "mean_abs"], self.level)
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
            lo, hi = share_interval(draws.get((str(key), str(role)), np.array([])), float(share), self.level)
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
        (path / "explanation.json").write_text(json.dumps(doc, indent=1, default=json_default) + "\n",
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
