"""Errors raised by the engine. Messages say what was received and what was expected."""


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class InputImageError(EngineError, ValueError):
    """An image handed to the engine is unusable (empty, tiny, NaN, wrong type...)."""


class ReferenceSetError(EngineError, ValueError):
    """A reference set is malformed or was built for another backbone, input size or engine."""


class WeightsError(EngineError):
    """Model weights are missing, tampered with (hash mismatch) or of the wrong shape."""
