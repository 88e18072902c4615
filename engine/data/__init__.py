"""Datasets for training and evaluation: MVTec-AD-layout indexing and image loading."""

from engine.data.mvtec import GOOD, Sample, categories, category_dirs, index_root, load_mask, load_rgb

__all__ = ["GOOD", "Sample", "categories", "category_dirs", "index_root", "load_mask", "load_rgb"]
