"""Evaluation: anomaly-detection metrics and the few-shot benchmark runner."""

from engine.evaluation.metrics import aupro, downscale_for_metrics, image_auroc, pixel_auroc, pro_curve

__all__ = ["aupro", "downscale_for_metrics", "image_auroc", "pixel_auroc", "pro_curve"]
