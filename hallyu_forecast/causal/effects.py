"""``effects()``: causal estimates for every Korean policy lever x target, in one tidy result."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hallyu_forecast.causal.dml import dml_plr
from hallyu_forecast.causal.event_study import COVID_YEARS, CausalError, event_study
from hallyu_forecast.features import load_feature_specs, target_series
from hallyu_forecast.panel import load_panel


@dataclass(frozen=True)
class EventLever:
    """A staggered binary lever: its onset column (0 = never) and unknown-onset flag in the panel."""

    name: str
    onset: str
    unknown: str | None
    settings: tuple[str, ...]  # panel columns a what-if may set (1 = lever in place)
    label: str


@dataclass(frozen=True)
class ContinuousLever:
    """A continuous lever for double ML: how to compute it from panel columns."""

    name: str
    label: str
    unit: str


EVENT_LEVERS: dict[str, EventLever] = {
    "kcc": EventLever("kcc", "kcc_onset_year", "kcc_onset_unknown", ("kcc_present", "kcc_count", "kcc_open_share"),
                      "Korean Cultural Centre opening (first centre)"),
    "working_holiday": EventLever("working_holiday", "wh_onset_year", "wh_onset_unknown", ("wh_agreement",),
                                  "Working-holiday agreement signed"),
    "fta": EventLever("fta", "fta_korea_onset_year", None, ("fta_korea_in_force", "fta_in_force"),
                      "Korea bilateral/regional FTA in force"),
}
CONTINUOUS_LEVERS: dict[str, ContinuousLever] = {
    "trade_intensity": ContinuousLever("trade_intensity", "log trade with Korea per capita", "log point of trade"),
    "diplomatic_ties_years": ContinuousLever("diplomatic_ties_years", "years of diplomatic ties with Seoul", "year"),
    "oda": ContinuousLever("oda", "Korean ODA disbursed per capita (2019 only)", "log point of ODA"),
}
#: Targets of the event studies (features/targets.toml names) and DML.
TARGETS = ("youth_arrivals_per_capita", "total_arrivals_per_capita", "mobile_students_per_capita")
#: Covariates of the DML nuisance models (country-year, built in :func:`_dml_frame`).
DML_COVARIATES = ("log_gdp_pc", "log_population", "internet_users_pct", "urban_pct", "polyarchy")
TABLE_COLUMNS = ["lever", "target", "estimate", "estimate_pct", "ci_lo", "ci_hi", "ci_lo_pct", "ci_hi_pct",
                 "n_treated", "n_control", "method", "pretrend_p", "placebo_p", "assumptions", "verdict"]
ES_ASSUMPTIONS = ("parallel trends in the log outcome between treated and not-yet/never-treated countries without "
                  "covariates; no anticipation; onset dated (unknown onsets excluded); COVID years 2020-2022 excluded")
DML_ASSUMPTIONS = ("no unobserved confounder varying within country-year beyond country and year effects and the "
                   "covariates (log GDP pc, log population, internet, urbanisation, polyarchy); linear constant effect")


def _pct(x):
    return 100.0 * (np.exp(x) - 1.0)


def _verdict(lo, hi, pretrend_p=np.nan, placebo_p=np.nan) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "not estimable"
    sig = lo > 0 or hi < 0
    if not sig:
        warn = "; pre-trends rejected" if np.isfinite(pretrend_p) and pretrend_p < 0.05 else ""
        return "no detectable effect (interval includes 0)" + warn
    flags = []
    if np.isfinite(pretrend_p) and pretrend_p < 0.05:
        flags.append("pre-trends rejected")
    if np.isfinite(placebo_p) and placebo_p > 0.10:
        flags.append("not distinguishable from random onsets")
    sign = "positive" if lo > 0 else "negative"
    return f"{sign} effect" + (f", not credible: {'; '.join(flags)}" if flags else "")


EFFECTS_FILE = "effects.json"  # in a model bundle: computed once at training time (hallyu-forecast train)


@dataclass
class EffectsResult:
    """Causal estimates per lever x target plus the frames behind them.

    Attributes
    ----------
    table : DataFrame
        One row per lever x target, columns :data:`TABLE_COLUMNS` (see :meth:`to_frames`).
    event_time : DataFrame
        Dynamic event-study effects for plots.
    refutations : DataFrame
        DML refutation results.
    seed : int
    seconds : float
        Wall time of the run.
    """

    table: pd.DataFrame
    event_time: pd.DataFrame
    refutations: pd.DataFrame
    seed: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The result as tidy frames (what the report renders and MLflow logs).

        Returns
        -------
        dict of DataFrame
            ``effects``: one row per lever x target. ``lever`` (kcc, working_holiday, fta,
            trade_intensity, diplomatic_ties_years, oda), ``target`` (targets.toml name),
            ``estimate`` (effect in log points of the target: event studies = average post-onset ATT
            over event times 0..6; DML = effect of one unit of the lever), ``estimate_pct``
            (100 * (exp(estimate) - 1)), ``ci_lo``/``ci_hi`` (95% pointwise interval, log points) and
            their ``_pct`` versions, ``n_treated`` (treated countries with a post cell; DML: countries),
            ``n_control`` (comparison countries; DML: country-years), ``method``, ``pretrend_p``
            (joint sup-t bootstrap test that all pre-onset effects e <= -2 are 0; NaN for DML), ``placebo_p`` (event
            study: share of onset permutations with an |ATT| at least as large; DML: p-value of the
            placebo-treatment refit, large is good), ``assumptions`` (one line), ``verdict`` (plain
            words; "no detectable effect" when the interval includes 0, "not estimable" with the reason
            in ``assumptions`` when the data cannot answer).
            ``event_time``: lever, target, event_time (years since onset, -1 = reference), estimate,
            se, band_lo/band_hi (95% simultaneous sup-t band over event times), n_treated, period.
            ``refutations``: lever, target, refutation, estimate, ci_lo, ci_hi, pval, expectation.
        """
        return {"effects": self.table, "event_time": self.event_time, "refutations": self.refutations}

    def to_json(self) -> str:
        """JSON with the three frames as record lists."""
        out = {k: json.loads(v.to_json(orient="records")) for k, v in self.to_frames().items()}
        out.update(seed=self.seed, seconds=round(self.seconds, 2), notes=self.notes)
        return json.dumps(out, indent=1, ensure_ascii=False)

    def save(self, folder) -> Path:
        """Write ``effects.json`` (the three frames, seed, seconds, notes) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / EFFECTS_FILE
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder) -> "EffectsResult":
        """Read what :meth:`save` wrote (plain JSON: nothing is executed)."""
        path = Path(folder) / EFFECTS_FILE
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            frames = {k: pd.DataFrame.from_records(doc[k]) for k in ("effects", "event_time", "refutations")}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CausalError(f"{path} is not a saved effects result ({type(exc).__name__}: {exc}). Re-run "
                              "`hallyu-forecast train` (it stores the effects with the model) or hf.effects().") from None
        return cls(table=frames["effects"], event_time=frames["event_time"], refutations=frames["refutations"],
                   seed=int(doc.get("seed", 0)), seconds=float(doc.get("seconds", 0.0)), notes=list(doc.get("notes", [])))

    def lookup(self, lever: str, target: str) -> pd.Series | None:
        """The table row of ``lever`` x ``target``, or None."""
        rows = self.table[(self.table["lever"] == lever) & (self.table["target"] == target)]
        return None if rows.empty else rows.iloc[0]


def _target(panel: pd.DataFrame, target: str) -> pd.Series:
    specs = load_feature_specs()
    if target not in specs.targets:
        raise CausalError(f"unknown target {target!r}; use one of {sorted(specs.targets)} (features/targets.toml).")
    return target_series(panel, specs.targets[target])


def check_lever(lever: str) -> EventLever:
    """The event lever called ``lever`` (a name such as ``kcc`` or its onset column); else CausalError."""
    for lv in EVENT_LEVERS.values():
        if lever in (lv.name, lv.onset):
            return lv
    raise CausalError(
        f"lever {lever!r} is not an event column; use one of {sorted(EVENT_LEVERS)} "
        f"(onset columns {[lv.onset for lv in EVENT_LEVERS.values()]})."
    )


def event_data(panel: pd.DataFrame, lever: str, target: str) -> pd.DataFrame:
    """Long frame iso3, year, y, g for an event study; unknown-onset countries and Korea dropped."""
    lv = check_lever(lever)
    frame = pd.DataFrame({"iso3": panel["iso3"], "year": panel["year"].astype(int), "y": _target(panel, target)})
    onset = panel.groupby("iso3")[lv.onset].max().fillna(0)
    frame["g"] = frame["iso3"].map(onset)
    if lv.unknown:
        unknown = panel.groupby("iso3")[lv.unknown].max().fillna(0)
        frame = frame[frame["iso3"].map(unknown) == 0]
    frame = frame[frame["iso3"] != "KOR"]
    # Countries never observed carry no information.
    seen = frame.groupby("iso3")["y"].transform(lambda s: s.notna().any())
    return frame[seen].reset_index(drop=True)


def run_event_study(panel: pd.DataFrame, lever: str, target: str, seed: int = 0, n_boot: int = 999,
                    n_placebo: int = 199):
    """Event study of one lever on one target from the panel (see :func:`event_study`)."""
    lv = check_lever(lever)
    try:
        return event_study(event_data(panel, lever, target), "y", "g", control="notyet", exclude_years=COVID_YEARS,
                           n_boot=n_boot, n_placebo=n_placebo, seed=seed)
    except CausalError as exc:
        # Name the real target and onset column instead of the internal "y"/"g".
        raise CausalError(str(exc).replace("`y`", f"`{target}`").replace("`g`", f"`{lv.onset}`")) from None


def _dml_frame(panel: pd.DataFrame, target: str) -> pd.DataFrame:
    frame = panel[["iso3", "year"]].copy()
    frame["y"] = _target(panel, target)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["trade_intensity"] = np.log(panel["kor_trade_usd"] / panel["population"])
        frame["log_gdp_pc"] = np.log(panel["gdp_pc_ppp_2021"])
        frame["log_population"] = np.log(panel["population"])
    frame["diplomatic_ties_years"] = panel["ties_south_years"]
    for c in ("internet_users_pct", "urban_pct", "polyarchy"):
        frame[c] = panel[c]
    frame["oda"] = panel["oda_2019_disbursed_usd"]
    return frame[frame["iso3"] != "KOR"]


def effects(levers=None, targets=None, seed: int = 0, panel: pd.DataFrame | None = None, n_boot: int = 999,
            n_placebo: int = 199, dml: bool = True) -> EffectsResult:
    """Causal effects of Korea's policy levers on the Hallyu targets.

    Event studies (Callaway & Sant'Anna, not-yet-treated controls, COVID years excluded) for the
    staggered levers ``kcc``, ``working_holiday``, ``fta``; partially linear double ML (two-way
    within transformation, country-grouped cross-fitting) for ``trade_intensity`` and
    ``diplomatic_ties_years``; ``oda`` is reported as not estimable (one year of data).

    Parameters
    ----------
    levers : list of str, optional
        Subset of :data:`EVENT_LEVERS` and :data:`CONTINUOUS_LEVERS` names; default all.
    targets : list of str, optional
        Targets (features/targets.toml); default :data:`TARGETS`.
    seed : int
        Seed of the bootstrap, the permutations and the DML splits (same seed, same table).
    panel : DataFrame, optional
        Default: the embedded panel.

    Returns
    -------
    EffectsResult

    :func:`hallyu_forecast.effects` (:mod:`hallyu_forecast.causal.api`) is this estimator plus
    optional MLflow logging.

    Examples
    --------
    >>> from hallyu_forecast.causal.effects import effects
    >>> res = effects(levers=["kcc"], targets=["youth_arrivals_per_capita"])  # doctest: +SKIP
    >>> res.table[["lever", "target", "estimate", "ci_lo", "ci_hi", "verdict"]]  # doctest: +SKIP
    """
    started = time.perf_counter()
    if panel is None:
        panel = load_panel()
    all_levers = [*EVENT_LEVERS, *CONTINUOUS_LEVERS]
    levers = list(all_levers if levers is None else ([levers] if isinstance(levers, str) else levers))
    bad = [lv for lv in levers if lv not in all_levers]
    if bad:
        raise CausalError(f"unknown lever(s) {bad}; use some of {all_levers}.")
    targets = list(TARGETS if targets is None else ([targets] if isinstance(targets, str) else targets))
    for t in targets:
        _target(panel.head(1), t)
    rows, dyn, refs, notes = [], [], [], []
    for lever in levers:
        for target in targets:
            if lever in EVENT_LEVERS:
                try:
                    res = run_event_study(panel, lever, target, seed=seed, n_boot=n_boot, n_placebo=n_placebo)
                except CausalError as exc:
                    rows.append(_empty_row(lever, target, "event study (Callaway-Sant'Anna)", str(exc)))
                    continue
                rows.append({
                    "lever": lever, "target": target, "estimate": res.att, "ci_lo": res.ci_lo, "ci_hi": res.ci_hi,
                    "n_treated": res.n_treated, "n_control": res.n_control,
                    "method": "event study (Callaway-Sant'Anna, not-yet-treated controls, multiplier bootstrap)",
                    "pretrend_p": res.pretrend_p, "placebo_p": res.placebo_p, "assumptions": ES_ASSUMPTIONS,
                    "verdict": _verdict(res.ci_lo, res.ci_hi, res.pretrend_p, res.placebo_p),
                })
                dyn.append(res.dynamic.assign(lever=lever, target=target))
            elif dml:
                rows.append(_dml_row(panel, lever, target, seed, refs))
    table = pd.DataFrame(rows)
    for c in ("estimate", "ci_lo", "ci_hi"):
        table[c + "_pct" if c != "estimate" else "estimate_pct"] = _pct(table[c])
    table = table[TABLE_COLUMNS]
    event_time = (pd.concat(dyn, ignore_index=True)[["lever", "target", "event_time", "estimate", "se", "band_lo",
                                                      "band_hi", "n_treated", "period"]]
                  if dyn else pd.DataFrame(columns=["lever", "target", "event_time"]))
    refutations = pd.concat(refs, ignore_index=True) if refs else pd.DataFrame(columns=["lever", "target"])
    if "visa" not in levers:
        notes.append("visa-regime changes: not estimated; the passport snapshots start in 2019 and the post period "
                     "would fall in the excluded COVID years")
    result = EffectsResult(table, event_time, refutations, seed, time.perf_counter() - started, notes)
    return result


def _empty_row(lever, target, method, why):
    return {"lever": lever, "target": target, "estimate": np.nan, "ci_lo": np.nan, "ci_hi": np.nan,
            "n_treated": 0, "n_control": 0, "method": method, "pretrend_p": np.nan, "placebo_p": np.nan,
            "assumptions": f"not estimable: {why}", "verdict": "not estimable"}


def _dml_row(panel, lever, target, seed, refs):
    method = "double ML (DoubleML PLR, two-way within, country-grouped cross-fitting)"
    if lever == "oda":
        return _empty_row(lever, target, method, "Korean ODA exists for 2019 only, so it is a country constant "
                          "absorbed by country effects and cannot be separated from other country traits")
    frame = _dml_frame(panel, target)
    try:
        res = dml_plr(frame, "y", lever, list(DML_COVARIATES), seed=seed)
    except CausalError as exc:
        return _empty_row(lever, target, method, str(exc))
    refs.append(res.refutations.assign(lever=lever, target=target))
    ref = res.refutations.set_index("refutation")
    placebo = ref["pval"].get("placebo_treatment", np.nan)
    verdict = _verdict(res.ci_lo, res.ci_hi)
    flags = []
    if np.isfinite(placebo) and placebo < 0.05:
        flags.append("placebo treatment also significant")
    if "subsample_80pct_countries" in ref.index and not (
            res.ci_lo <= ref.loc["subsample_80pct_countries", "estimate"] <= res.ci_hi):
        flags.append("subsample estimate outside the interval")
    if "random_common_cause" in ref.index and abs(ref.loc["random_common_cause", "estimate"] - res.estimate) > res.se:
        flags.append("random common cause moves the estimate by more than 1 se")
    if flags and verdict != "not estimable":
        verdict += (", not credible: " if "no detectable" not in verdict else "; refutation failed: ") + "; ".join(flags)
    return {"lever": lever, "target": target, "estimate": res.estimate, "ci_lo": res.ci_lo, "ci_hi": res.ci_hi,
            "n_treated": res.n_countries, "n_control": res.n_obs, "method": method, "pretrend_p": np.nan,
            "placebo_p": placebo, "assumptions": DML_ASSUMPTIONS, "verdict": verdict}
