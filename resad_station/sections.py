"""The base of every validated configuration section (profile sections, output configs)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


def _is_tuple(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):  # `tuple[...] | None`
        return any(_is_tuple(arg) for arg in typing.get_args(annotation))
    return origin is tuple


class Section(BaseModel):
    # strict: YAML already gives typed values; "15" (a quoted string) is not a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _lists_as_tuples(cls, data: Any) -> Any:
        # YAML gives lists; tuple fields keep the frozen model hashable (strict mode takes tuples only).
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {key: tuple(value) if isinstance(value, list) and key in fields and _is_tuple(fields[key].annotation)
                else value for key, value in data.items()}
