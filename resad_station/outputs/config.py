"""What every output's profile entry has in common; each kind adds its own fields (kinds/*.py).

Validated with the rest of the profile (strict, unknown keys forbidden), so `outputs.0.qos: 3`
is an error naming that field. Secrets are never in the profile: it names the environment
variable (or the file) they come from, read when the output connects.
"""

from __future__ import annotations

import os
import string
from typing import Literal

from pydantic import Field
from pydantic_core import PydanticCustomError

from resad_station.sections import Section

# Error types starting with "profile_" are printed as written (resad_station.profiles.errors).
ERROR_PREFIX = "profile_output_"


OutputSection = Section  # strict, frozen, unknown keys forbidden: like every profile section


class RejectConfig(OutputSection):
    """The reject gate: the pulse starts `delay_ms` after the frame's capture and lasts `pulse_ms`."""

    delay_ms: float = Field(ge=0)
    pulse_ms: float = Field(gt=0)
    verdicts: tuple[Literal["fail", "uncertain"], ...] = ("fail",)


class OutputConfig(OutputSection):
    kind: str
    name: str | None = Field(default=None, min_length=1)  # shown in status and audit; default: the kind
    queue_size: int = Field(default=256, ge=1)  # messages waiting for the peer; the oldest is dropped when full
    rate_limit_per_s: float | None = Field(default=None, gt=0)  # verdict messages per second (None: every frame)
    events: bool = True  # forward alarms, camera states and warnings too
    camera: str | None = Field(default=None, min_length=1)  # only this camera's messages (None: every camera)
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=10.0, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)  # tries per message before it is dropped (None: until sent)

    @property
    def label(self) -> str:
        return self.name or self.kind


def check_template(value: str, allowed: tuple[str, ...]) -> str:
    """A `str.format` template that uses only `allowed` placeholders (an error names the field)."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise PydanticCustomError(ERROR_PREFIX + "template", "not a valid template: {error} (got {value})",
                                  {"error": str(exc), "value": value}) from None
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise PydanticCustomError(
            ERROR_PREFIX + "template", "unknown placeholder {name}; expected some of {allowed} (got {value})",
            {"name": "{" + unknown[0] + "}", "allowed": ", ".join("{" + a + "}" for a in allowed), "value": value})
    return value


class SecretError(RuntimeError):
    """A secret the output needs is not where its profile says (set the variable or the file)."""


def secret_from_env(variable: str | None, field: str) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise SecretError(f"{field}: the environment variable {variable} is not set")
    return value
