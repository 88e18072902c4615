"""The report's two charts as reportlab drawings: the fail-rate trend and the score histogram."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

import numpy as np
from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors

WIDTH, HEIGHT = 480, 150
LEFT, BOTTOM = 40, 24
FAIL = colors.HexColor("#d03030")
UNCERTAIN = colors.HexColor("#e09020")
LIVE = colors.HexColor("#4080c0")
GOOD = colors.HexColor("#40a060")


def _frame(d: Drawing, title: str) -> tuple[float, float]:
    w, h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - 20
    d.add(Rect(LEFT, BOTTOM, w, h, strokeColor=colors.grey, fillColor=None, strokeWidth=0.5))
    d.add(String(LEFT, HEIGHT - 12, title, fontName="Helvetica-Bold", fontSize=9))
    return w, h


def fail_rate_trend(trend: Sequence[tuple[datetime, int, int]]) -> Drawing:
    """Fails / recorded inspections per time bin (bins with no inspection are left out)."""
    d = Drawing(WIDTH, HEIGHT)
    w, h = _frame(d, "Fail rate per time bin (fails / recorded inspections)")
    rates = [(i, f / n) for i, (_, n, f) in enumerate(trend) if n]
    top = max([r for _, r in rates] + [0.05]) * 1.15
    n_bins = max(len(trend), 1)
    x = lambda i: LEFT + (i + 0.5) * w / n_bins  # noqa: E731
    y = lambda r: BOTTOM + r / top * h  # noqa: E731
    if len(rates) > 1:
        d.add(PolyLine([c for i, r in rates for c in (x(i), y(r))], strokeColor=FAIL, strokeWidth=1.5))
    for i, r in rates:
        d.add(Rect(x(i) - 1.5, y(r) - 1.5, 3, 3, fillColor=FAIL, strokeColor=None))
    d.add(String(4, BOTTOM + h - 8, f"{top:.0%}", fontSize=7))
    d.add(String(4, BOTTOM, "0%", fontSize=7))
    if trend:
        d.add(String(LEFT, 8, trend[0][0].strftime("%Y-%m-%d %H:%M"), fontSize=7))
        d.add(String(LEFT + w - 60, 8, trend[-1][0].strftime("%H:%M") + " (last bin)", fontSize=7))
    return d


def score_histogram(scores: Sequence[float], calibration: dict[str, Any], product: str, bins: int = 30) -> Drawing:
    """Inspection scores of the period against the enrollment's good scores and T1/T2."""
    d = Drawing(WIDTH, HEIGHT)
    w, h = _frame(d, f"{product}: scores of the period (blue) against the enrollment's good scores (green)")
    good = [float(v) for v in list(calibration.get("shot_scores", [])) + list(calibration.get("validation_scores", []))]
    t1, t2 = calibration.get("t_uncertain"), calibration.get("t_fail")
    values = np.asarray([v for v in scores if np.isfinite(v)], dtype=np.float64)
    edges_src = np.concatenate([values, np.asarray(good, dtype=np.float64),
                                np.asarray([v for v in (t1, t2) if v is not None], dtype=np.float64)])
    if edges_src.size == 0:
        return d
    lo, hi = float(edges_src.min()), float(edges_src.max())
    hi = hi if hi > lo else lo + 1.0
    edges = np.linspace(lo, hi * 1.02 if hi > 0 else hi + 0.02, bins + 1)
    x = lambda v: LEFT + (v - edges[0]) / (edges[-1] - edges[0]) * w  # noqa: E731
    live, _ = np.histogram(values, edges)
    ref, _ = np.histogram(np.asarray(good), edges)
    # each as a share of its own total, so a few enrollment shots and a shift of frames compare
    live_share = live / max(live.sum(), 1)
    ref_share = ref / max(ref.sum(), 1)
    top = max(float(live_share.max(initial=0)), float(ref_share.max(initial=0)), 1e-9)
    bw = w / bins
    for i in range(bins):
        if live_share[i]:
            d.add(Rect(LEFT + i * bw, BOTTOM, bw * 0.9, live_share[i] / top * h, fillColor=LIVE, strokeColor=None))
        if ref_share[i]:
            d.add(Rect(LEFT + i * bw + bw * 0.3, BOTTOM, bw * 0.4, ref_share[i] / top * h, fillColor=GOOD,
                       strokeColor=None))
    for value, colour, name in ((t1, UNCERTAIN, "T1"), (t2, FAIL, "T2")):
        if value is not None:
            d.add(Line(x(value), BOTTOM, x(value), BOTTOM + h, strokeColor=colour, strokeWidth=1.2))
            d.add(String(x(value) + 2, BOTTOM + h - 10, f"{name} {value:.3g}", fontSize=7, fillColor=colour))
    d.add(String(LEFT, 8, f"{edges[0]:.3g}", fontSize=7))
    d.add(String(LEFT + w - 20, 8, f"{edges[-1]:.3g}", fontSize=7))
    return d
