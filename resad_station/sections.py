"""The base of every validated configuration section (profile sections, output configs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # strict: YAML already gives typed values; "15" (a quoted string) is not a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def tuple_from_list(value: Any) -> Any:
    # YAML gives lists; tuples keep the frozen model hashable.
    return tuple(value) if isinstance(value, list) else value
