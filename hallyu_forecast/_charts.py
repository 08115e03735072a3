"""Small inline-SVG chart builders for the offline HTML report (no JavaScript needed to draw).

Every chart is one ``<svg class="chart" data-chart="NAME">`` element with a ``<title>`` that
states the takeaway, labelled axes and native tooltips (``<title>`` children of the marks), so
that the report works offline, prints, and can be checked by counting ``svg[data-chart]``.

Colours are colour-blind safe: roles use the Okabe-Ito palette (the same colour for a role in
every chart); sequential scales use viridis (intensity) and a single-hue blue ramp (shares).

World geometry comes from the ``pygal_maps_world`` package (its ``worldmap.svg``, LGPL-3.0+,
country outlines keyed by ISO 3166-1 alpha-2), simplified once per process with
Douglas-Peucker. Countries without an outline in that file (small islands, South Sudan,
Kosovo, ...) are listed under the map instead of being drawn.
"""

from __future__ import annotations

import functools
import math
import re
from html import escape
from typing import Iterable, Sequence

ROLE_COLORS = {
    "government_support": "#0072B2",  # Okabe-Ito blue
    "local_conditions": "#E69F00",  # Okabe-Ito orange
    "regime": "#CC79A7",  # Okabe-Ito reddish purple
    "history": "#8C8C8C",  # neutral grey
}
ROLE_LABELS = {
    "government_support": "Korean government support",
    "local_conditions": "Local conditions",
    "regime": "Regime shocks (COVID, disputes)",
    "history": "Own history (last level, momentum)",
    "mixed": "Mixed roles (group spans two roles)",
}
POSITIVE, NEGATIVE, NEUTRAL = "#009E73", "#D55E00", "#555555"  # Okabe-Ito green / vermillion
VIRIDIS = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725")
BLUES = ("#f0f6fc", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def esc(text) -> str:
    """XML/HTML-escape any value."""
    return escape(str(text), quote=True)


def fmt(value: float, digits: int = 2) -> str:
    """Compact number: 0.123 -> '0.12', 12345 -> '12,345', NaN -> 'n/a'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    value = float(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def tick(value: float) -> str:
    """Axis tick label: integers without decimals, others with up to 3 significant decimals."""
    value = float(value)
    if not math.isfinite(value):
        return ""
    if abs(value - round(value)) < 1e-9:
        return f"{int(round(value)):,}"
    if abs(value) < 1:  # fixed point with 3 significant digits, never "5e-05"
        decimals = min(12, 2 - math.floor(math.log10(abs(value))))
        return f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def signed(value: float, digits: int = 2) -> str:
    return ("+" if value >= 0 else "\u2212") + fmt(abs(value), digits)


def pct(value: float, digits: int = 0) -> str:
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return f"{100 * float(value):.{digits}f}%"


def text_width(text: str, size: float = 13.0) -> float:
    """Rough rendered width of a label (for layout only)."""
    return 0.56 * size * len(str(text))


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi == lo:
        hi, lo = hi + 1, lo - 1
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[0] > lo:
        ticks.insert(0, ticks[0] - step)
    if ticks[-1] < hi:
        ticks.append(ticks[-1] + step)
    return ticks


def interpolate(stops: Sequence[str], t: float) -> str:
    """Colour at position ``t`` in [0, 1] of a ramp given as hex stops."""
    if t is None or not math.isfinite(t):
        return "#dddddd"
    t = min(max(float(t), 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    f = t - i
    a = [int(stops[i][k:k + 2], 16) for k in (1, 3, 5)]
    b = [int(stops[i + 1][k:k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b))


class Scale:
    """Linear map from data [d0, d1] to pixels [r0, r1]."""

    def __init__(self, d0: float, d1: float, r0: float, r1: float):
        self.d0, self.d1, self.r0, self.r1 = float(d0), float(d1), float(r0), float(r1)
        if self.d1 == self.d0:
            self.d1 = self.d0 + 1.0

    def __call__(self, v: float) -> float:
        return self.r0 + (float(v) - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)


def svg_open(name: str, width: float, height: float, title: str, desc: str = "") -> str:
    """Opening tag of a chart: the ``data-chart`` attribute is what the report test counts."""
    return (f'<svg class="chart" data-chart="{esc(name)}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
            f'role="img" aria-label="{esc(title)}" font-family="{esc(FONT)}" font-size="13">'
            f'<title>{esc(title)}</title>' + (f"<desc>{esc(desc)}</desc>" if desc else ""))


def wrap(text: str, width: float, size: float) -> list[str]:
    """Greedy word wrap to lines of at most ``width`` pixels (estimated)."""
    lines, line = [], ""
    for word in str(text).split():
        trial = f"{line} {word}".strip()
        if line and text_width(trial, size) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])


def _heading(title: str, subtitle: str, width: float, size: float = 15) -> tuple[str, float]:
    """Title (bold, wrapped) and subtitle; returns (svg, y of the first free line)."""
    out, y = [], 4.0
    for line in wrap(title, width - 16, size * 1.05):
        y += size + 5
        out.append(f'<text x="8" y="{y:.0f}" font-size="{size:.0f}" font-weight="600" fill="#111">{esc(line)}</text>')
    for line in wrap(subtitle, width - 16, 13) if subtitle else []:
        y += 18
        out.append(f'<text x="8" y="{y:.0f}" font-size="13" fill="#555">{esc(line)}</text>')
    return "".join(out), y + 16


def legend(items: Iterable[tuple[str, str]], x: float, y: float, max_width: float = 900) -> tuple[str, float]:
    """Horizontal legend of (label, colour) swatches; returns (svg, height used)."""
    out, cx, cy = [], x, y
    for label, colour in items:
        w = 18 + text_width(label, 13) + 16
        if cx + w > x + max_width and cx > x:
            cx, cy = x, cy + 18
        out.append(f'<rect x="{cx:.1f}" y="{cy - 10:.1f}" width="12" height="12" rx="2" fill="{colour}"/>'
                   f'<text x="{cx + 17:.1f}" y="{cy:.1f}" fill="#333">{esc(label)}</text>')
        cx += w
    return "".join(out), cy - y + 18


def role_legend(roles: Iterable[str], x: float, y: float, max_width: float = 900) -> tuple[str, float]:
    return legend([(ROLE_LABELS.get(r, r), ROLE_COLORS.get(r, NEUTRAL)) for r in roles], x, y, max_width)


def _x_axis(scale: Scale, ticks: Sequence[float], y0: float, y1: float, label: str, tick_fmt=tick) -> str:
    out = []
    for t in ticks:
        x = scale(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0:.1f}" y2="{y1:.1f}" stroke="#e3e3e3"/>'
                   f'<text x="{x:.1f}" y="{y1 + 15:.1f}" text-anchor="middle" fill="#555">{esc(tick_fmt(t))}</text>')
    if label:
        mid = (scale.r0 + scale.r1) / 2
        out.append(f'<text x="{mid:.1f}" y="{y1 + 33:.1f}" text-anchor="middle" fill="#333">'
                   f'{fit_label(label, abs(scale.r1 - scale.r0) + 20)}</text>')
    return "".join(out)


def _left_margin(ticks: Sequence[float], tick_fmt) -> float:
    """Room for the widest y tick label (generous: real glyphs run wider than the estimate) and the axis title."""
    return max(70.0, 1.25 * max(text_width(tick_fmt(t)) for t in ticks) + 34)


def fit_label(label: str, width: float, size: float = 13) -> str:
    """An axis label that fits ``width`` px: shortened with an ellipsis, the full text kept in a <title>."""
    if text_width(label, size) <= width:
        return esc(label)
    keep = max(4, int(width / (0.56 * size)) - 1)
    return f"{esc(str(label)[:keep].rstrip())}\u2026<title>{esc(label)}</title>"


def _y_axis(scale: Scale, ticks: Sequence[float], x0: float, x1: float, label: str, tick_fmt=tick,
            label_dx: float = 50) -> str:
    out = []
    for t in ticks:
        y = scale(t)
        out.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                   f'<text x="{x0 - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{esc(tick_fmt(t))}</text>')
    if label:
        mid = (scale.r0 + scale.r1) / 2
        out.append(f'<text transform="translate({x0 - label_dx:.1f},{mid:.1f}) rotate(-90)" text-anchor="middle" '
                   f'fill="#333">{fit_label(label, abs(scale.r0 - scale.r1) + 20)}</text>')
    return "".join(out)


# ------------------------------------------------------------------------------ bar charts
def hbar_chart(name: str, title: str, subtitle: str, items: Sequence[dict], x_label: str,
               width: float = 860, bar: float = 20, legend_roles: Sequence[str] | None = None,
               tick_fmt=tick, zero_line: bool = True) -> str:
    """Horizontal bars. ``items``: dicts with label, value, colour, optional lo/hi (whiskers),
    tooltip and href (the label becomes a link)."""
    label_w = max([text_width(i["label"]) for i in items] + [60]) + 16
    head, top = _heading(title, subtitle, width)
    leg, leg_h = role_legend(legend_roles, 8, top) if legend_roles else ("", 0)
    top += leg_h + 6
    height = top + len(items) * (bar + 6) + 48
    values = [i["value"] for i in items] + [i.get("lo", i["value"]) for i in items] + \
             [i.get("hi", i["value"]) for i in items] + [0.0]
    values = [v for v in values if v is not None and math.isfinite(v)]
    ticks = nice_ticks(min(values), max(values))
    x = Scale(ticks[0], ticks[-1], label_w, width - 70)
    out = [svg_open(name, width, height, title), head, leg]
    out.append(_x_axis(x, ticks, top - 4, top + len(items) * (bar + 6), x_label, tick_fmt))
    for k, item in enumerate(items):
        y = top + k * (bar + 6)
        v = item["value"]
        x0, x1 = sorted((x(0), x(v)))
        tip = item.get("tooltip", f'{item["label"]}: {tick_fmt(v)}')
        label = esc(item["label"])
        if item.get("href"):
            label = f'<a href="{esc(item["href"])}">{label}</a>'
        out.append(f'<text x="{label_w - 8:.1f}" y="{y + bar / 2 + 4:.1f}" text-anchor="end" fill="#222">{label}</text>'
                   f'<g class="mark"><title>{esc(tip)}</title>'
                   f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 0.5):.1f}" height="{bar}" '
                   f'fill="{item.get("colour", NEUTRAL)}" rx="2"/></g>')
        if item.get("lo") is not None and item.get("hi") is not None:
            lo, hi, yc = x(item["lo"]), x(item["hi"]), y + bar / 2
            out.append(f'<path d="M{lo:.1f} {yc - 5:.1f}v10M{lo:.1f} {yc:.1f}H{hi:.1f}M{hi:.1f} {yc - 5:.1f}v10" '
                       f'stroke="#111" stroke-width="1.3" fill="none"/>')
        if item.get("annotation"):
            ax = max(x1, x(item["hi"]) if item.get("hi") is not None else x1) + 6
            out.append(f'<text x="{ax:.1f}" y="{y + bar / 2 + 4:.1f}" fill="#333" font-size="13">'
                       f'{esc(item["annotation"])}</text>')
    if zero_line and ticks[0] < 0 < ticks[-1]:
        out.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top - 4}" y2="{top + len(items) * (bar + 6)}" '
                   f'stroke="#333"/>')
    out.append("</svg>")
    return "".join(out)


def stacked_share_chart(name: str, title: str, subtitle: str, rows: Sequence[dict], roles: Sequence[str],
                        width: float = 860, bar: float = 13) -> str:
    """100% stacked horizontal bars, one per row: ``rows`` dicts with label, shares {role: share},
    optional href and marker (a 0-1 value drawn as a tick, e.g. an interval)."""
    label_w = max([text_width(r["label"], 11) for r in rows] + [60]) + 14
    head, top = _heading(title, subtitle, width)
    leg, leg_h = role_legend(roles, 8, top)
    top += leg_h + 4
    gap = 3
    height = top + len(rows) * (bar + gap) + 44
    x = Scale(0, 1, label_w, width - 60)
    out = [svg_open(name, width, height, title), head, leg]
    out.append(_x_axis(x, [0, 0.25, 0.5, 0.75, 1.0], top - 2, top + len(rows) * (bar + gap),
                       "share of the explained movement (|SHAP|)", lambda t: pct(t)))
    for k, row in enumerate(rows):
        y = top + k * (bar + gap)
        label = esc(row["label"])
        if row.get("href"):
            label = f'<a href="{esc(row["href"])}">{label}</a>'
        out.append(f'<text x="{label_w - 6:.1f}" y="{y + bar - 2:.1f}" text-anchor="end" font-size="13" '
                   f'fill="#222">{label}</text>')
        acc = 0.0
        tip_parts = [f'{ROLE_LABELS.get(r, r)} {pct(row["shares"].get(r, 0.0))}' for r in roles]
        tip = f'{row["label"]}: ' + "; ".join(tip_parts) + (f'. {row["note"]}' if row.get("note") else "")
        out.append(f'<g class="mark"><title>{esc(tip)}</title>')
        for r in roles:
            s = max(float(row["shares"].get(r, 0.0)), 0.0)
            if s <= 0:
                continue
            out.append(f'<rect x="{x(acc):.2f}" y="{y:.1f}" width="{x(acc + s) - x(acc):.2f}" height="{bar}" '
                       f'fill="{ROLE_COLORS.get(r, NEUTRAL)}"/>')
            acc += s
        out.append("</g>")
        if row.get("interval"):
            lo, hi = row["interval"]
            yc = y + bar / 2
            out.append(f'<path d="M{x(lo):.1f} {yc:.1f}H{x(hi):.1f}" stroke="#111" stroke-width="1.2"/>')
        if row.get("value_label"):
            out.append(f'<text x="{width - 56:.1f}" y="{y + bar - 2:.1f}" font-size="13" fill="#333">'
                       f'{esc(row["value_label"])}</text>')
    out.append("</svg>")
    return "".join(out)


# ----------------------------------------------------------------------------- line chart
def line_chart(name: str, title: str, subtitle: str, series: Sequence[dict], x_label: str, y_label: str,
               width: float = 860, height: float = 320, y_fmt=tick, y_range: tuple[float, float] | None = None,
               vline: float | None = None, vline_label: str = "", y_ticks: Sequence[float] | None = None) -> str:
    """Lines with optional bands: ``series`` dicts with x, y (lists), colour, label, optional
    lo/hi (band), dashed, points (draw markers)."""
    xs = [v for s in series for v in s["x"]]
    ys = [v for s in series for v in list(s["y"]) + list(s.get("lo") or []) + list(s.get("hi") or [])
          if v is not None and math.isfinite(v)]
    if not xs or not ys:
        xs, ys = xs or [0, 1], ys or [0, 1]
    head, top0 = _heading(title, subtitle, width)
    leg, leg_h = legend([(s["label"], s["colour"]) for s in series if s.get("label")], 8, top0)
    top, left, bottom = top0 + leg_h + 10, 76, 50
    height = height + top0 - 54
    y_lo, y_hi = y_range if y_range else (min(ys), max(ys))
    yt = list(y_ticks) if y_ticks else nice_ticks(y_lo, y_hi, 5)
    axis_fmt = y_fmt  # tick labels; tooltips keep y_fmt itself (replacing it emptied every point's tooltip)
    if y_ticks:  # keep the data inside the axis
        yt = sorted(set(yt) | {min(yt[0], y_lo), max(yt[-1], y_hi)})
        labelled = set(y_ticks)
        axis_fmt = lambda t: y_fmt(t) if t in labelled else ""  # noqa: E731
    x_lo, x_hi = min(xs), max(xs)
    xt = nice_ticks(x_lo, x_hi, min(8, max(int(x_hi - x_lo), 1)))
    xt = [t for t in xt if x_lo - 1e-9 <= t <= x_hi + 1e-9 and float(t).is_integer()] or [x_lo, x_hi]
    X = Scale(x_lo, x_hi, left, width - 20)
    Y = Scale(yt[0], yt[-1], height - bottom, top)
    out = [svg_open(name, width, height, title), head, leg]
    out.append(_y_axis(Y, yt, left, width - 20, y_label, axis_fmt))
    out.append(_x_axis(X, xt, top, height - bottom, x_label, lambda t: f"{int(t)}"))
    if vline is not None and x_lo <= vline <= x_hi:
        out.append(f'<line x1="{X(vline):.1f}" x2="{X(vline):.1f}" y1="{top:.1f}" y2="{height - bottom:.1f}" '
                   f'stroke="#777" stroke-dasharray="3 3"/><text x="{X(vline) + 4:.1f}" y="{top + 12:.1f}" '
                   f'font-size="13" fill="#555">{esc(vline_label)}</text>')
    for s in series:
        pts = [(a, b) for a, b in zip(s["x"], s["y"]) if b is not None and math.isfinite(b)]
        if s.get("lo") is not None and s.get("hi") is not None:
            band = [(a, lo, hi) for a, lo, hi in zip(s["x"], s["lo"], s["hi"])
                    if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)]
            if band:
                d = "M" + "L".join(f"{X(a):.1f} {Y(hi):.1f}" for a, _, hi in band)
                d += "L" + "L".join(f"{X(a):.1f} {Y(lo):.1f}" for a, lo, _ in reversed(band)) + "Z"
                out.append(f'<path d="{d}" fill="{s["colour"]}" fill-opacity="0.18" stroke="none">'
                           f'<title>{esc(s.get("band_label", "interval"))}</title></path>')
                if len(band) == 1:
                    a, lo, hi = band[0]
                    out.append(f'<path d="M{X(a):.1f} {Y(lo):.1f}V{Y(hi):.1f}" stroke="{s["colour"]}" '
                               f'stroke-width="2"/>')
        if len(pts) > 1:
            d = "M" + "L".join(f"{X(a):.1f} {Y(b):.1f}" for a, b in pts)
            dash = ' stroke-dasharray="6 4"' if s.get("dashed") else ""
            out.append(f'<path d="{d}" fill="none" stroke="{s["colour"]}" stroke-width="2"{dash}/>')
        if s.get("points", len(pts) <= 3):
            tips = dict(zip(s["x"], s["tips"])) if s.get("tips") else {}
            for a, b in pts:
                tip = tips.get(a) or f'{s.get("label", "")} {int(a)}: {y_fmt(b)}'
                out.append(f'<circle cx="{X(a):.1f}" cy="{Y(b):.1f}" r="3" fill="{s["colour"]}">'
                           f'<title>{esc(tip)}</title></circle>')
    out.append("</svg>")
    return "".join(out)


# ------------------------------------------------------------------------------ waterfall
def waterfall_chart(name: str, title: str, subtitle: str, base: float, steps: Sequence[dict], final: float,
                    x_label: str, base_label: str = "Average (base value)", final_label: str = "Prediction",
                    width: float = 860, bar: float = 18, value_fmt=signed, show_legend: bool = True) -> str:
    """Waterfall from ``base`` through ``steps`` (dicts label, value, colour, tooltip) to ``final``."""
    labels = [base_label] + [s["label"] for s in steps] + [final_label]
    label_w = max(text_width(t) for t in labels) + 16
    head, top = _heading(title, subtitle, width)
    roles = list(dict.fromkeys(s["role"] for s in steps if s.get("role"))) if show_legend else []
    leg, leg_h = role_legend(roles, 8, top) if roles else ("", 0)
    top += leg_h + 6
    height = top + len(labels) * (bar + 6) + 48
    running, cum = base, [base]
    for s in steps:
        running += s["value"]
        cum.append(running)
    ticks = nice_ticks(min(cum + [final]), max(cum + [final]))
    X = Scale(ticks[0], ticks[-1], label_w, width - 90)
    out = [svg_open(name, width, height, title), head, leg]
    out.append(_x_axis(X, ticks, top - 4, top + len(labels) * (bar + 6), x_label))

    def row(k, label, x0, x1, colour, tip, text, bold=False):
        y = top + k * (bar + 6)
        a, b = sorted((X(x0), X(x1)))
        weight = ' font-weight="600"' if bold else ""
        return (f'<text x="{label_w - 8:.1f}" y="{y + bar / 2 + 4:.1f}" text-anchor="end" fill="#222"{weight}>'
                f'{esc(label)}</text><g class="mark"><title>{esc(tip)}</title><rect x="{a:.1f}" y="{y:.1f}" '
                f'width="{max(b - a, 1.0):.1f}" height="{bar}" fill="{colour}" rx="2"/></g>'
                f'<text x="{b + 5:.1f}" y="{y + bar / 2 + 4:.1f}" font-size="13" fill="#333">{esc(text)}</text>')

    lo = ticks[0]
    out.append(row(0, base_label, lo, base, "#bbbbbb", f"{base_label}: {fmt(base)}", fmt(base), True))
    running = base
    for k, s in enumerate(steps, start=1):
        out.append(row(k, s["label"], running, running + s["value"], s.get("colour", NEUTRAL),
                       s.get("tooltip", f'{s["label"]}: {value_fmt(s["value"])}'), value_fmt(s["value"])))
        y = top + k * (bar + 6)
        out.append(f'<line x1="{X(running):.1f}" x2="{X(running):.1f}" y1="{y - 6:.1f}" y2="{y + bar:.1f}" '
                   f'stroke="#999" stroke-dasharray="2 2"/>')
        running += s["value"]
    out.append(row(len(labels) - 1, final_label, lo, final, "#333333", f"{final_label}: {fmt(final)}",
                   fmt(final), True))
    out.append("</svg>")
    return "".join(out)


# -------------------------------------------------------------------------------- scatter
def scatter_chart(name: str, title: str, subtitle: str, x: Sequence[float], y: Sequence[float],
                  tooltips: Sequence[str], x_label: str, y_label: str, colour: str = NEUTRAL,
                  highlight: Sequence[bool] | None = None, width: float = 420, height: float = 300,
                  trend: Sequence[tuple[float, float]] | None = None,
                  point_colours: Sequence[str] | None = None, y_fmt=tick) -> str:
    """Dependence-plot style scatter (feature value vs SHAP value) with a zero line and an
    optional binned-mean trend line."""
    pts = [(a, b, t, (highlight[i] if highlight is not None else False),
            point_colours[i] if point_colours is not None else colour)
           for i, (a, b, t) in enumerate(zip(x, y, tooltips))
           if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)]
    bottom = 48
    head, top = _heading(title, subtitle, width, size=13)
    height = height + top - 48
    xs = [p[0] for p in pts] or [0.0, 1.0]
    ys = [p[1] for p in pts] + [0.0]
    xt, yt = nice_ticks(min(xs), max(xs), 4), nice_ticks(min(ys), max(ys), 4)
    left = _left_margin(yt, y_fmt)
    X = Scale(xt[0], xt[-1], left, width - 14)
    Y = Scale(yt[0], yt[-1], height - bottom, top)
    out = [svg_open(name, width, height, title), head]
    out.append(_y_axis(Y, yt, left, width - 14, y_label, y_fmt, label_dx=left - 16))
    out.append(_x_axis(X, xt, top, height - bottom, x_label))
    out.append(f'<line x1="{left}" x2="{width - 14}" y1="{Y(0):.1f}" y2="{Y(0):.1f}" stroke="#333"/>')
    for a, b, tip, hl, col in pts:
        r, op = (4.5, 1.0) if hl else (2.8, 0.55)
        stroke = ' stroke="#111" stroke-width="1"' if hl else ""
        out.append(f'<circle cx="{X(a):.1f}" cy="{Y(b):.1f}" r="{r}" fill="{col}" fill-opacity="{op}"{stroke}>'
                   f'<title>{esc(tip)}</title></circle>')
    if trend and len(trend) > 1:
        d = "M" + "L".join(f"{X(a):.1f} {Y(b):.1f}" for a, b in trend)
        out.append(f'<path d="{d}" fill="none" stroke="#111" stroke-width="2"/>')
    out.append("</svg>")
    return "".join(out)


# ------------------------------------------------------------------------------- world map
_NUM = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_CMD = re.compile(r"([MmLlHhVvCcSsQqTtZz])([^MmLlHhVvCcSsQqTtZz]*)")
_ARITY = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "s": 4, "q": 4, "t": 2, "z": 0}

# ISO 3166-1 alpha-2 -> alpha-3 for every outline in pygal_maps_world's worldmap.svg.
ISO2_TO_ISO3 = dict(item.split(":") for item in """
ad:AND ae:ARE af:AFG al:ALB am:ARM ao:AGO aq:ATA ar:ARG at:AUT au:AUS az:AZE ba:BIH bd:BGD be:BEL bf:BFA bg:BGR
bh:BHR bi:BDI bj:BEN bn:BRN bo:BOL br:BRA bt:BTN bw:BWA by:BLR bz:BLZ ca:CAN cd:COD cf:CAF cg:COG ch:CHE ci:CIV
cl:CHL cm:CMR cn:CHN co:COL cr:CRI cu:CUB cv:CPV cy:CYP cz:CZE de:DEU dj:DJI dk:DNK do:DOM dz:DZA ec:ECU ee:EST
eg:EGY eh:ESH er:ERI es:ESP et:ETH fi:FIN fr:FRA ga:GAB gb:GBR ge:GEO gf:GUF gh:GHA gl:GRL gm:GMB gn:GIN gq:GNQ
gr:GRC gt:GTM gu:GUM gw:GNB gy:GUY hk:HKG hn:HND hr:HRV ht:HTI hu:HUN id:IDN ie:IRL il:ISR in:IND iq:IRQ ir:IRN
is:ISL it:ITA jm:JAM jo:JOR jp:JPN ke:KEN kg:KGZ kh:KHM kp:PRK kr:KOR kw:KWT kz:KAZ la:LAO lb:LBN li:LIE lk:LKA
lr:LBR ls:LSO lt:LTU lu:LUX lv:LVA ly:LBY ma:MAR mc:MCO md:MDA me:MNE mg:MDG mk:MKD ml:MLI mm:MMR mn:MNG mo:MAC
mr:MRT mt:MLT mu:MUS mv:MDV mw:MWI mx:MEX my:MYS mz:MOZ na:NAM ne:NER ng:NGA ni:NIC nl:NLD no:NOR np:NPL nz:NZL
om:OMN pa:PAN pe:PER pg:PNG ph:PHL pk:PAK pl:POL pr:PRI ps:PSE pt:PRT py:PRY re:REU ro:ROU rs:SRB ru:RUS rw:RWA
sa:SAU sc:SYC sd:SDN se:SWE sg:SGP sh:SHN si:SVN sk:SVK sl:SLE sm:SMR sn:SEN so:SOM sr:SUR st:STP sv:SLV sy:SYR
sz:SWZ td:TCD tg:TGO th:THA tj:TJK tl:TLS tm:TKM tn:TUN tr:TUR tw:TWN tz:TZA ua:UKR ug:UGA us:USA uy:URY uz:UZB
va:VAT ve:VEN vn:VNM ye:YEM yt:MYT za:ZAF zm:ZMB zw:ZWE""".split())
MAP_WIDTH, MAP_HEIGHT = 2475.0, 1388.0
MAP_CROP = (0.0, 0.0, 2475.0, 1170.0)  # x, y, w, h: drops most of Antarctica


def _parse_path(d: str) -> list[list[tuple[float, float]]]:
    """Absolute vertex rings of an SVG path (curves reduced to their end points)."""
    rings: list[list[tuple[float, float]]] = []
    cx = cy = 0.0
    start = (0.0, 0.0)
    ring: list[tuple[float, float]] = []
    for cmd, args in _CMD.findall(d):
        nums = [float(n) for n in _NUM.findall(args)]
        low, rel = cmd.lower(), cmd.islower()
        n = _ARITY[low]
        if low == "z":
            if ring:
                rings.append(ring)
            ring, (cx, cy) = [], start
            continue
        chunks = [nums[i:i + n] for i in range(0, len(nums), n)] if n else []
        for j, c in enumerate(chunks):
            if len(c) < n:
                break
            if low == "m" and j == 0:
                if ring:
                    rings.append(ring)
                cx, cy = (cx + c[0], cy + c[1]) if rel else (c[0], c[1])
                start, ring = (cx, cy), [(cx, cy)]
                continue
            if low == "h":
                cx = cx + c[0] if rel else c[0]
            elif low == "v":
                cy = cy + c[0] if rel else c[0]
            else:
                ex, ey = c[-2], c[-1]
                cx, cy = (cx + ex, cy + ey) if rel else (ex, ey)
            ring.append((cx, cy))
    if ring:
        rings.append(ring)
    return rings


def _simplify(points: list[tuple[float, float]], tol: float) -> list[tuple[float, float]]:
    """Douglas-Peucker (iterative)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        (x1, y1), (x2, y2) = points[i], points[j]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        best, idx = -1.0, -1
        for k in range(i + 1, j):
            px, py = points[k]
            dist = (abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm if norm > 1e-6
                    else math.hypot(px - x1, py - y1))
            if dist > best:
                best, idx = dist, k
        if best > tol and idx > 0:
            keep[idx] = True
            stack.extend([(i, idx), (idx, j)])
    return [p for p, k in zip(points, keep) if k]


def _area(ring: list[tuple[float, float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]))) / 2


@functools.lru_cache(maxsize=2)
def world_geometry(tolerance: float = 1.2, min_area: float = 6.0) -> dict[str, str]:
    """ISO3 -> simplified SVG path data (absolute, integer pixels of the 2475x1388 map)."""
    from importlib import resources

    try:
        text = resources.files("pygal_maps_world").joinpath("worldmap.svg").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - dependency declared
        return {}
    out: dict[str, str] = {}
    for code, body in re.findall(r'<g class="([a-z]{2}) country[^"]*">(.*?)</g>', text, flags=re.S):
        iso3 = ISO2_TO_ISO3.get(code)
        if iso3 is None or iso3 == "ATA":
            continue
        rings = []
        for d in re.findall(r'\sd="([^"]+)"', body):
            for ring in _parse_path(d):
                if _area(ring) < min_area and len(rings) > 0:
                    continue
                simple = _simplify(ring, tolerance)
                pts = []
                for x, y in simple:
                    p = (round(x), round(y))
                    if not pts or p != pts[-1]:
                        pts.append(p)
                if len(pts) >= 3:
                    rings.append("M" + "L".join(f"{x} {y}" for x, y in pts) + "Z")
                elif not rings and pts:  # keep micro-states visible as a tiny square
                    x, y = pts[0]
                    rings.append(f"M{x - 2} {y - 2}h4v4h-4Z")
        if rings:
            out[iso3] = "".join(rings)
    return out


def map_defs() -> str:
    """Hidden SVG holding every country outline once; the maps reuse them with ``<use>``."""
    geo = world_geometry()
    paths = "".join(f'<path id="geo-{iso3}" d="{d}"/>' for iso3, d in sorted(geo.items()))
    return (f'<svg width="0" height="0" style="position:absolute" aria-hidden="true" '
            f'xmlns="http://www.w3.org/2000/svg"><defs>{paths}</defs></svg>')


def world_map(name: str, title: str, subtitle: str, values: dict[str, float], labels: dict[str, str],
              stops: Sequence[str], legend_title: str, value_fmt=fmt, domain: tuple[float, float] | None = None,
              hrefs: dict[str, str] | None = None, width: float = 900,
              legend_ticks: Sequence[float] | None = None, tooltips: dict[str, str] | None = None,
              hatched: Iterable[str] = (), hatched_label: str = "", greyed: dict[str, str] | None = None,
              greyed_label: str = "", missing_label: str = "no data") -> tuple[str, list[str]]:
    """Choropleth over the shared outlines. Returns (svg, iso3 codes with a value but no outline).

    ``tooltips`` replaces the default "name: value" tooltip per country; countries in ``hatched``
    get a diagonal hatch over their fill (e.g. answered without travel history), explained in the
    legend by ``hatched_label``. Countries in ``greyed`` (iso3 -> tooltip) are drawn grey and
    hatched, not coloured (answers not to be read as measured, e.g. covariate-only guesses or
    extrapolations), explained in the legend by ``greyed_label``. (The page's script makes every
    mark with a ``<title>`` focusable and copies the tooltip to ``aria-label``.)
    """
    greyed = dict(greyed or {})
    hatched = set(hatched) | set(greyed)
    geo = world_geometry()
    finite = [v for v in values.values() if v is not None and math.isfinite(v)]
    lo, hi = domain if domain else ((min(finite), max(finite)) if finite else (0.0, 1.0))
    if hi <= lo:
        hi = lo + 1.0
    cx, cy, cw, ch = MAP_CROP
    map_h = width * ch / cw
    head, top = _heading(title, subtitle, width)
    height = top + map_h + (88 if hatched else 62)  # a second legend row for the hatched/grey swatches
    k = width / cw
    out = [svg_open(name, width, height, title), head]
    hatch_id = f"hatch-{re.sub(r'[^A-Za-z0-9_-]', '', name)}"
    if hatched:
        out.append(f'<defs><pattern id="{hatch_id}" width="10" height="10" patternUnits="userSpaceOnUse" '
                   f'patternTransform="rotate(45)"><path d="M0 0V10" stroke="#111" stroke-width="2.5"/>'
                   f'</pattern></defs>')
    out.append(f'<g transform="translate(0,{top:.0f}) scale({k:.5f}) translate({-cx},{-cy})" stroke="#ffffff" '
               f'stroke-width="0.8" stroke-linejoin="round">')
    out.append(f'<rect x="{cx}" y="{cy}" width="{cw}" height="{ch}" fill="#f4f7fa" stroke="none"/>')
    for iso3 in sorted(geo):
        v = values.get(iso3)
        has = v is not None and math.isfinite(v)
        colour = interpolate(stops, (v - lo) / (hi - lo)) if has else "#dcdcdc"
        tip = f"{labels.get(iso3, iso3)}: {value_fmt(v)}" if has else f"{labels.get(iso3, iso3)}: {missing_label}"
        if has and tooltips and iso3 in tooltips:
            tip = tooltips[iso3]
        if iso3 in greyed:
            has, colour, tip = True, "#c8c8c8", greyed[iso3]
        use = f'<use href="#geo-{iso3}" fill="{colour}"/>'
        if has and iso3 in hatched:  # hatch drawn over the fill, outlined in black
            use += f'<use href="#geo-{iso3}" fill="url(#{hatch_id})" stroke="#111" stroke-width="1.6"/>'
        if has and hrefs and iso3 in hrefs:
            use = f'<a href="{esc(hrefs[iso3])}">{use}</a>'
        out.append(f'<g class="country" data-iso3="{iso3}"><title>{esc(tip)}</title>{use}</g>')
    out.append("</g>")
    # colour bar
    y0, bw = top + map_h + 14, 300
    grad_id = f"grad-{re.sub(r'[^A-Za-z0-9_-]', '', name)}"
    stops_svg = "".join(f'<stop offset="{i / (len(stops) - 1):.3f}" stop-color="{c}"/>' for i, c in enumerate(stops))
    out.append(f'<defs><linearGradient id="{grad_id}">{stops_svg}</linearGradient></defs>'
               f'<text x="8" y="{y0 + 11:.1f}" fill="#333">{esc(legend_title)}</text>')
    bx = 16 + text_width(legend_title)
    out.append(f'<rect x="{bx:.1f}" y="{y0:.1f}" width="{bw}" height="12" fill="url(#{grad_id})" stroke="#999" '
               f'stroke-width="0.5"/>'
               f'<rect x="{bx + bw + 30:.1f}" y="{y0:.1f}" width="12" height="12" fill="#dcdcdc"/>'
               f'<text x="{bx + bw + 47:.1f}" y="{y0 + 11:.1f}" fill="#555">{esc(missing_label)}</text>')
    hx, y1 = 8.0, y0 + 40
    if greyed and greyed_label:
        out.append(f'<rect x="{hx:.1f}" y="{y1:.1f}" width="12" height="12" fill="#c8c8c8"/>'
                   f'<rect x="{hx:.1f}" y="{y1:.1f}" width="12" height="12" fill="url(#{hatch_id})" stroke="#111"/>'
                   f'<text x="{hx + 17:.1f}" y="{y1 + 11:.1f}" fill="#555">{esc(greyed_label)}</text>')
        hx += 40 + text_width(greyed_label)
    if hatched and hatched_label and set(hatched) - set(greyed):
        out.append(f'<rect x="{hx:.1f}" y="{y1:.1f}" width="12" height="12" fill="url(#{hatch_id})" stroke="#111"/>'
                   f'<text x="{hx + 17:.1f}" y="{y1 + 11:.1f}" fill="#555">{esc(hatched_label)}</text>')
    ticks = [t for t in (legend_ticks or []) if lo <= t <= hi] or [lo, hi]
    for t in ticks:
        tx = bx + (t - lo) / (hi - lo) * bw
        out.append(f'<path d="M{tx:.1f} {y0 + 12:.1f}v4" stroke="#555"/><text x="{tx:.1f}" y="{y0 + 28:.1f}" '
                   f'font-size="13" text-anchor="middle" fill="#555">{esc(value_fmt(t))}</text>')
    out.append("</svg>")
    missing = sorted(i for i, v in values.items() if i not in geo and v is not None and math.isfinite(v))
    return "".join(out), missing


# ------------------------------------------------------------------------------ strip chart
def strip_chart(name: str, title: str, subtitle: str, groups: Sequence[dict], y_label: str,
                colour: str = NEUTRAL, width: float = 430, height: float = 300, y_fmt=tick) -> str:
    """Categorical strip plot (a binary or few-level lever): one column of jittered dots per
    category with its median drawn as a bar. ``groups``: dicts with label, values, tooltips."""
    bottom = 48
    head, top = _heading(title, subtitle, width, size=13)
    height = height + top - 48
    ys = [v for g in groups for v in g["values"] if v is not None and math.isfinite(v)] + [0.0]
    yt = nice_ticks(min(ys), max(ys), 4)
    left = _left_margin(yt, y_fmt)
    Y = Scale(yt[0], yt[-1], height - bottom, top)
    n = max(len(groups), 1)
    col_w = (width - 14 - left) / n
    out = [svg_open(name, width, height, title), head]
    out.append(_y_axis(Y, yt, left, width - 14, y_label, y_fmt, label_dx=left - 16))
    out.append(f'<line x1="{left}" x2="{width - 14}" y1="{Y(0):.1f}" y2="{Y(0):.1f}" stroke="#333"/>')
    for k, g in enumerate(groups):
        cx = left + col_w * (k + 0.5)
        vals = [(v, t) for v, t in zip(g["values"], g["tooltips"]) if v is not None and math.isfinite(v)]
        out.append(f'<text x="{cx:.1f}" y="{height - bottom + 16:.1f}" text-anchor="middle" fill="#333">'
                   f'{esc(g["label"])} (n={len(vals)})</text>')
        for j, (v, t) in enumerate(vals):
            # deterministic jitter (golden-ratio sequence) so the file is reproducible
            dx = ((j * 0.618034) % 1.0 - 0.5) * col_w * 0.6
            out.append(f'<circle cx="{cx + dx:.1f}" cy="{Y(v):.1f}" r="2.6" fill="{colour}" fill-opacity="0.5">'
                       f'<title>{esc(t)}</title></circle>')
        if vals:
            med = sorted(v for v, _ in vals)[len(vals) // 2]
            out.append(f'<path d="M{cx - col_w * 0.35:.1f} {Y(med):.1f}H{cx + col_w * 0.35:.1f}" stroke="#111" '
                       f'stroke-width="2.5"><title>median {esc(g["label"])}: {esc(y_fmt(med))}</title></path>')
    out.append("</svg>")
    return "".join(out)
