"""The drivers answer as an object: :class:`DriversResult` (tidy tables per target and coding, the
brief, one country's factors, JSON save/load) and the target words it prints."""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.countries import resolve_country
from hallyu_forecast.drivers_model import ROLE_LABELS, SPLIT_DEFINITION
from hallyu_forecast.errors import ConfigError, DomainError, InputTypeError, ModelError
from hallyu_forecast.features import load_feature_specs
from hallyu_forecast.model_base import json_default
from hallyu_forecast.panel import load_dictionary

# ---------------------------------------------------------------------------------- result
FRAMES = ("accuracy", "split", "groups", "countries", "levers", "domain", "dropped")


@dataclass
class DriversResult:
    """Everything the drivers analysis measured, for every target (what the report renders).

    Attributes
    ----------
    targets : list of str
    frames : dict of DataFrame
        ``accuracy``, ``split``, ``groups``, ``countries``, ``levers``, ``domain``, ``dropped``
        (see :meth:`to_frames`).
    meta : dict
        Targets' descriptions, settings (folds, refits, level), timings, data vintage.
    """

    targets: list[str]
    frames: dict[str, pd.DataFrame]
    meta: dict = field(default_factory=dict)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Tidy tables, by name.

        - accuracy: target, model, rmse, rmse_lo, rmse_hi, ratio (RMSE drivers / RMSE model), ratio_lo,
          ratio_hi, n_countries, n_rows, folds
        - split: target, variant, role, share, lo, hi, definition, rank_stated
        - groups: target, variant, group, role, share, lo, hi
        - countries: target, iso3, year, observed, level_log_rel, fitted_log_rel, base_log, factor, role,
          contribution_log, factor_role, factor_lo, factor_hi, domain
        - levers: target, feature, label, role, group, importance, lo, hi, rank, rank_stated
        - domain: target, iso3, status, reason, domain, observed_share, n_out_of_range
        - dropped: target, feature, reason
        """
        return dict(self.frames)

    def split(self, target: str | None = None, variant: str = "as_specified") -> pd.DataFrame:
        s = self.frames["split"]
        s = s[s["variant"] == variant]
        return s if target is None else s[s["target"] == self._target(target)]

    def _target(self, target: str | None) -> str:
        if target is None:
            return self.targets[0]
        if not isinstance(target, str):
            raise InputTypeError(f"`target` must be a target name (a string) such as {self.targets[0]!r}. "
                                 f"Got {type(target).__name__} {target!r}.")
        if target not in self.targets:
            raise ConfigError(f"Target `{target}` is not in this drivers result; it has {self.targets}.")
        return target

    def country(self, iso3: str, target: str | None = None, year: int | None = None) -> pd.DataFrame:
        """The decomposition of one country's level (latest observed year by default)."""
        target = self._target(target)
        c = self.frames["countries"]
        # names and ISO2 too ("Viet Nam", "VN"), through the one country resolver
        iso3 = resolve_country(iso3, codes=set(c["iso3"]) | set(self.frames["domain"]["iso3"]), what="`iso3`")
        c = c[(c["target"] == target) & (c["iso3"] == iso3)]
        if year is not None and not c.empty:
            years = sorted(int(y) for y in c["year"].unique())
            if isinstance(year, bool) or not isinstance(year, numbers.Integral) or int(year) not in years:
                span = f"{years[0]}-{years[-1]}" if years else "none"
                raise ConfigError(f"`year` must be a year of {iso3}'s decomposition for `{target}` ({span}). "
                                  f"Got {year!r}.")
        if c.empty:
            dom = self.frames["domain"]
            dom = dom[(dom["target"] == target) & (dom["iso3"] == iso3)]
            if len(dom) and dom["status"].iloc[0] == "excluded":
                raise DomainError(f"No drivers explanation for {iso3}: {dom['domain'].iloc[0]} "
                                  "(see hallyu_forecast.domain).")
            raise ConfigError(f"Unknown country {iso3!r} for target `{target}`; use an ISO3 code such as 'VNM'.")
        if year is None:
            years = c.loc[c["observed"], "year"]
            year = int(years.max() if len(years) else c["year"].max())
        return c[c["year"] == year].reset_index(drop=True)

    def format_country(self, iso3: str, target: str | None = None, year: int | None = None) -> str:
        """One sentence: "VNM 2019: x3.1 the average country's ...; government support x1.4 [1.2-1.7], ...".

        A level target (the 0-100 index) is not on a log scale: its sentence gives differences in
        the target's own points ("+12.3 vs the average country's ...; government support +1.5").
        """
        target = self._target(target)
        c = self.country(iso3, target, year)
        info = self.meta.get("targets", {}).get(target, {})
        unit = info.get("unit", target)
        first = c.iloc[0]
        if info.get("transform") == "level":
            head = f"{first['level_log_rel']:+.3g} vs"
            role_text = lambda r: f"{r.contribution_log:+.3g}"  # noqa: E731
            rest_text = lambda r: f"{r.contribution_log:+.3g}"  # noqa: E731
        else:
            head = f"x{first['factor']:.3g}"
            role_text = lambda r: f"x{r.factor_role:.3g} [{r.factor_lo:.3g}-{r.factor_hi:.3g}]"  # noqa: E731
            rest_text = lambda r: f"x{r.factor_role:.3g}"  # noqa: E731
        parts = [f"{first['iso3']} {int(first['year'])}: {head} the average country's {unit}"
                 + ("" if first["observed"] else " (fitted: no observed value)")]
        for r in c.itertuples():
            if r.role == "unexplained":
                if np.isfinite(r.contribution_log):
                    parts.append(f"unexplained {rest_text(r)}")
                continue
            parts.append(f"{ROLE_LABELS[r.role]} {role_text(r)}")
        dom = c["domain"].iloc[0] if "domain" in c else "in"
        text = "; ".join(parts)
        return text if dom == "in" else f"{text} ({dom})"

    def brief(self) -> dict:
        """Headline numbers per target (the report's first screen must show exactly these)."""
        out = {"targets": {}, "level": self.meta.get("level"), "definition": SPLIT_DEFINITION}
        acc, split, levers = self.frames["accuracy"], self.frames["split"], self.frames["levers"]
        for t in self.targets:
            a = acc[acc["target"] == t].set_index("model")
            s = split[(split["target"] == t) & (split["variant"] == "as_specified")].set_index("role")
            lv = levers[levers["target"] == t].head(3)
            gov, loc = s.loc["government_support"], s.loc["local_conditions"]
            if gov["lo"] > loc["hi"]:
                ranking = "government support > local conditions"
            elif loc["lo"] > gov["hi"]:
                ranking = "local conditions > government support"
            else:
                ranking = "indistinguishable"
            out["targets"][t] = {
                "n_countries": int(a.loc["drivers", "n_countries"]), "n_rows": int(a.loc["drivers", "n_rows"]),
                "rmse": float(a.loc["drivers", "rmse"]),
                "rmse_global_mean": float(a.loc["global_mean", "rmse"]),
                "ratio_vs_global_mean": [float(a.loc["global_mean", c]) for c in ("ratio", "ratio_lo", "ratio_hi")],
                "ratio_vs_continent_year_mean": [float(a.loc["continent_year_mean", c])
                                                 for c in ("ratio", "ratio_lo", "ratio_hi")],
                "split": {r: [float(s.loc[r, c]) for c in ("share", "lo", "hi")] for r in s.index},
                "ranking": ranking,
                "top_levers": [{"feature": r.feature, "label": r.label, "role": r.role,
                                "importance": float(r.importance), "rank_stated": bool(r.rank_stated)}
                               for r in lv.itertuples()],
            }
        return out

    def format(self) -> str:
        """Plain-text tables: accuracy and the split per target."""
        lines = []
        for t in self.targets:
            a = self.frames["accuracy"]
            a = a[a["target"] == t]
            first = a.iloc[0]
            lines.append(f"{t}: {int(first['n_countries'])} countries, {int(first['n_rows'])} country-years, "
                         f"grouped {int(first['folds'])}-fold CV")
            for r in a.itertuples():
                ratio = "" if r.model == "drivers" else \
                    f"   drivers/this {r.ratio:.2f} [{r.ratio_lo:.2f}, {r.ratio_hi:.2f}]"
                lines.append(f"  RMSE {r.model:<20} {r.rmse:.3f} [{r.rmse_lo:.3f}, {r.rmse_hi:.3f}]{ratio}")
            for variant, s in self.frames["split"][self.frames["split"]["target"] == t].groupby("variant", sort=False):
                lines.append(f"  spread of levels by role ({variant}):")
                for r in s.itertuples():
                    lines.append(f"    {ROLE_LABELS[r.role]:<20} {r.share:6.1%} [{r.lo:.1%}, {r.hi:.1%}]")
            b = self.brief()["targets"][t]
            lines.append(f"  government support vs local conditions: {b['ranking']}")
            lines.append("  top levers: " + ", ".join(
                f"{x['label']} ({ROLE_LABELS.get(x['role'], x['role'])})" for x in b["top_levers"]))
            lines.append("")
        lines.append(f"Split = {SPLIT_DEFINITION}. Associations, not causal effects.")
        return "\n".join(lines)

    def save(self, path: str | Path) -> Path:
        """Write the frames (parquet) and meta (JSON) to the folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name, frame in self.frames.items():
            frame.to_parquet(path / f"{name}.parquet", index=False)
        meta = {"targets": self.targets, "meta": self.meta}
        (path / "result.json").write_text(json.dumps(meta, indent=1, default=json_default) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "DriversResult":
        path = Path(path)
        if not (path / "result.json").is_file():
            raise ModelError(f"No drivers result at {path} (result.json expected); "
                             "write one with DriversResult.save().")
        doc = json.loads((path / "result.json").read_text(encoding="utf-8"))
        frames = {p.stem: pd.read_parquet(p) for p in sorted(path.glob("*.parquet"))}
        return cls(targets=list(doc["targets"]), frames=frames, meta=doc.get("meta", {}))

    def to_json(self) -> dict:
        """Brief plus the accuracy and split tables as records (CLI ``--json``)."""
        return {"brief": self.brief(),
                "accuracy": self.frames["accuracy"].to_dict("records"),
                "split": self.frames["split"].drop(columns=["definition"]).to_dict("records")}

    def __repr__(self) -> str:
        return f"DriversResult(targets={self.targets}, refits={self.meta.get('n_refits')})"


# Units in words for the packaged targets whose description is a definition, not a unit. A factor on
# a logit target is an odds ratio; a level target (the index) is compared in its own points.
_SHORT_UNITS = {
    "kpop_chart_share": "odds that a Spotify chart entry is by a Korean artist",
    "kdrama_top10_share": "odds that a Netflix TV top-10 slot is a Korean title",
    "hallyu_index": "Hallyu index points (0-100)",
}


def _target_info(spec) -> dict:
    unit = spec.description
    if spec.numerator and spec.numerator.startswith("arrivals") and spec.denominator:
        unit = ("youth visitors per 100k inhabitants" if "0_30" in spec.numerator
                else "visitors per 100k inhabitants")
    elif spec.numerator == "students_language":
        unit = "Korean-language students per 100k inhabitants"
    elif spec.numerator == "uis_students_to_kor":
        unit = "degree students in Korea per 100k inhabitants"
    elif spec.name in _SHORT_UNITS:
        unit = _SHORT_UNITS[spec.name]
    elif spec.transform == "logit":
        # a factor on the logit scale is an odds ratio: say so in the unit
        text = spec.description.removeprefix("logit of ").removeprefix("the ")
        unit = f"odds of {text}"
    elif spec.transform == "level":
        unit = f"{spec.description} (points)"
    return {"description": spec.description, "measures": spec.measures,
            "does_not_measure": spec.does_not_measure, "transform": spec.transform, "unit": unit}


def _labels() -> dict[str, str]:
    """Feature -> words (the spec's `why` shortened is too long; use the data dictionary description)."""

    desc = load_dictionary().set_index("name")["description"].to_dict()
    out = {}
    for f in load_feature_specs().features:
        text = desc.get(f.columns[0], f.name) if f.columns else f.name
        prefix = {"years_since": "years since: ", "growth": "growth of ", "missing": "missing: ",
              "diff_to_korea": "gap to Korea: ", "log_ratio_to_korea": "ratio to Korea: ",
              "per_capita": "per capita: ", "log_per_capita": "per capita: "}.get(f.transform, "")
        out[f.name] = prefix + str(text).split(";")[0].split(" (")[0]
    return out
