"""Output kinds by name: `@register_output` on a class in kinds/ is all a new kind needs.

Every module in kinds/ is imported here, so the profile's `outputs:` list knows every kind
(the union of their configs, told apart by `kind`).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Discriminator

if TYPE_CHECKING:
    from resad_station.outputs.base import Output

_KINDS: dict[str, type["Output"]] = {}
_ALL_LOADED = False  # every module in kinds/ imported (one imported directly registers only itself)


def register_output(cls: type["Output"]) -> type["Output"]:
    """Class decorator: registers `cls` under `cls.Config`'s `kind` literal."""
    kind = cls.Config.model_fields["kind"].annotation.__args__[0]  # Literal["mqtt"] -> "mqtt"
    if _KINDS.get(kind, cls) is not cls:
        raise ValueError(f"output kind {kind!r} is registered twice ({_KINDS[kind].__name__}, {cls.__name__})")
    cls.kind = kind
    _KINDS[kind] = cls
    return cls


def _load_kinds() -> None:
    from resad_station.outputs import kinds

    for info in pkgutil.iter_modules(kinds.__path__):
        importlib.import_module(f"{kinds.__name__}.{info.name}")


def output_kinds() -> dict[str, type["Output"]]:
    global _ALL_LOADED
    if not _ALL_LOADED:
        _load_kinds()
        _ALL_LOADED = True
    return dict(_KINDS)


def output_class(kind: str) -> type["Output"]:
    return output_kinds()[kind]


def config_union() -> Any:
    """The type of one `outputs:` entry: each kind's config, chosen by its `kind` field."""
    kinds = output_kinds()
    configs = tuple(cls.Config for cls in kinds.values())
    return Annotated[Union[configs], Discriminator("kind")]  # noqa: UP007 - built at run time
