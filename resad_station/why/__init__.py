"""The "why" view: a frame's hottest region beside the part of the reference shot it was compared with."""

from resad_station.why.explain import Why, explain, why_crops
from resad_station.why.shots import ReferenceShots

__all__ = ["ReferenceShots", "Why", "explain", "why_crops"]
