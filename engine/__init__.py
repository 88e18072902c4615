"""The inference engine: ResAD few-shot anomaly detection on numpy/torch/timm.

Knows nothing of Qt, SQL or cameras. Public API: Detector, ReferenceSet, Prediction and errors.
"""

from engine.detector import METHODS, Detector
from engine.errors import EngineError, InputImageError, ReferenceSetError, WeightsError
from engine.references import ReferenceSet
from engine.types import STAGES, Prediction
from engine.version import ENGINE_VERSION

__all__ = [
    "Detector",
    "ReferenceSet",
    "Prediction",
    "EngineError",
    "InputImageError",
    "ReferenceSetError",
    "WeightsError",
    "METHODS",
    "STAGES",
    "ENGINE_VERSION",
]
