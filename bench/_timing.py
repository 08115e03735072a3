"""Shared timing helpers for the bench scripts (benches only): the final fit, and a median wall time."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import numpy as np


def final_fit_timings(cfg, panel, repeats: int = 10) -> dict:
    """Build features, fit ``cfg``'s forecaster on every row and time predicting the latest origin.

    Returns features_s, final_fit_s, predict_one_origin_s (median of ``repeats``), the fitted
    ``final`` model and the one-origin feature matrix ``one``.
    """
    t0 = time.perf_counter()
    fm = cfg.build_features(panel)
    features_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    final = cfg.make_forecaster().fit(fm)
    fit_s = time.perf_counter() - t0
    last = int(fm.frame.loc[fm.frame["y_origin"].notna(), "origin"].max())
    one = replace(fm, frame=fm.frame[fm.frame["origin"] == last])
    lat = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        final.predict(one)
        lat.append(time.perf_counter() - t0)
    return {"features_s": features_s, "final_fit_s": fit_s, "predict_one_origin_s": float(np.median(lat)),
            "final": final, "one": one}


def median_seconds(fn, repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
