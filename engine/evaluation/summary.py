"""Aggregating per-seed metrics into the evaluation JSON, and printing it as a table.

Spread over seeds is the sample standard deviation (ddof=1), 0.0 for a single seed. NaN
(a metric undefined for a category, e.g. no pixel masks) becomes JSON null and is left out of
means. The mean over categories is taken per seed first, then summarised over seeds, so its std
is the seed-to-seed spread of the category mean.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

METRICS = ("image_auroc", "pixel_auroc", "aupro")
METRIC_TITLES = {"image_auroc": "image AUROC", "pixel_auroc": "pixel AUROC", "aupro": "AUPRO@0.3"}


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def summarize(per_seed: Sequence[float | None]) -> dict | None:
    """{"mean", "std", "per_seed"} of one metric over seeds; None when no seed has a value."""
    values = _finite(per_seed)
    if not values:
        return None
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return {"mean": mean, "std": std, "per_seed": [finite_or_none(v) for v in per_seed]}


def category_mean(per_category: Mapping[str, Mapping[str, Sequence[float | None]]], metric: str,
                  n_seeds: int) -> dict | None:
    """Mean over categories per seed (categories without a value that seed are left out), summarised."""
    per_seed: list[float | None] = []
    for s in range(n_seeds):
        values = _finite([raw[metric][s] for raw in per_category.values() if metric in raw])
        per_seed.append(sum(values) / len(values) if values else None)
    return summarize(per_seed)


def build_k_entry(raw: Mapping[str, Mapping[str, Sequence[float | None]]], n_seeds: int,
                  skipped: Mapping[str, str], extras: Mapping[str, Mapping] | None = None) -> dict:
    """One "K=<k>" entry of results[method]: per_category summaries, the mean, skipped categories.

    raw: category -> metric -> list of per-seed values; extras: category -> extra fields.
    """
    per_category = {}
    for cat, metrics in raw.items():
        entry = {m: summarize(metrics[m]) for m in METRICS}
        entry.update((extras or {}).get(cat, {}))
        per_category[cat] = entry
    return {
        "per_category": per_category,
        "mean": {m: category_mean(raw, m, n_seeds) for m in METRICS},
        "skipped": dict(skipped),
    }


def _cell(summary: dict | None) -> str:
    if summary is None:
        return "-"
    return f"{summary['mean']:.3f}±{summary['std']:.3f}"


def format_table(result: Mapping) -> str:
    """A plain-text table: one block per method and K, one row per category plus the mean."""
    lines = []
    seeds = result.get("config", {}).get("seeds", [])
    for method, per_k in result["results"].items():
        for k_key, entry in per_k.items():
            lines.append(f"{method}  {k_key}  (mean±std over seeds {seeds})")
            rows = [(cat, e) for cat, e in entry["per_category"].items()]
            rows.append(("MEAN", entry["mean"]))
            width = max([len("category")] + [len(name) for name, _ in rows])
            header = f"  {'category':<{width}}  " + "  ".join(f"{METRIC_TITLES[m]:>13}" for m in METRICS)
            lines.append(header)
            lines.append("  " + "-" * (len(header) - 2))
            for name, e in rows:
                cells = "  ".join(f"{_cell(e.get(m)):>13}" for m in METRICS)
                lines.append(f"  {name:<{width}}  {cells}")
            for cat, reason in entry.get("skipped", {}).items():
                lines.append(f"  skipped {cat}: {reason}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
