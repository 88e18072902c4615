"""ProfileError and the translation of YAML / pydantic failures into precise, located messages.

Every message reads `<file>: <dotted.field>: <what was expected> (got <value>)`, the format the
CLI prints and the profile editor shows as you type. Each issue also carries the YAML line
number when it can be found, so an editor can underline it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from resad_station.profiles.model import CUSTOM_ERROR_PREFIX

# pydantic error types whose own message already says what was received.
_SELF_DESCRIBING = {"missing", "extra_forbidden"}


@dataclass(frozen=True)
class ProfileIssue:
    source: str  # file name as shown to the user
    field: str  # dotted path, "" for the whole document
    message: str  # what was expected (and what was received)
    line: int | None = None  # 1-based YAML line, when known

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}: " if self.field else f"{self.source}: "
        return where + self.message


class ProfileError(Exception):
    """A profile that cannot be used; str() lists every problem, one per line."""

    def __init__(self, issues: list[ProfileIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    @classmethod
    def single(cls, source: str, message: str, field: str = "", line: int | None = None) -> "ProfileError":
        return cls([ProfileIssue(source, field, message, line)])


def yaml_error(source: str, exc: yaml.YAMLError) -> ProfileError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return ProfileError.single(
            source, f"not valid YAML: {problem} (line {mark.line + 1}, column {mark.column + 1})", line=mark.line + 1
        )
    return ProfileError.single(source, f"not valid YAML: {problem}")


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def top_level_error(source: str, data: Any, expected_fields: list[str]) -> ProfileError:
    fields = ", ".join(expected_fields)
    if data is None:
        return ProfileError.single(source, f"the file is empty; expected a YAML mapping with fields {fields}")
    return ProfileError.single(
        source, f"the top level is {_type_name(data)}; expected a YAML mapping with fields {fields}"
    )


def _output_loc(loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], type[BaseModel] | None]:
    """`outputs.0.mqtt.qos` -> (`outputs.0.qos`, MqttConfig): pydantic puts the kind in the path."""
    from resad_station.outputs.registry import output_kinds

    kinds = output_kinds()
    if len(loc) >= 3 and loc[0] == "outputs" and isinstance(loc[1], int) and loc[2] in kinds:
        return loc[:2] + loc[3:], kinds[loc[2]].Config
    return loc, None


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The section model that owns the field at `loc` (to list its allowed keys)."""
    current: type[BaseModel] | None = model
    shown, kind_model = _output_loc(loc)
    if kind_model is not None:  # a field inside one output: walk from its kind's config
        current, loc = kind_model, shown[2:]
    for part in loc[:-1]:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return current


def _describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        owner = _model_at(model, loc)
        allowed = ", ".join(owner.model_fields) if owner is not None else "?"
        return f"unknown field; expected one of: {allowed}"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if kind in _SELF_DESCRIBING or kind.startswith(CUSTOM_ERROR_PREFIX):
        return message
    got = repr(error["input"])
    got = got if len(got) <= 80 else got[:77] + "..."  # a hostile value must not make a megabyte message
    return f"{message[:1].lower()}{message[1:]} (got {got})"


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `loc` (the key for missing/unknown fields)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                return line
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def validation_error(source: str, exc: ValidationError, model: type[BaseModel], text: str) -> ProfileError:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)  # only after the limited load succeeded
    except (yaml.YAMLError, RecursionError):
        root = None
    issues = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        shown, _ = _output_loc(loc)
        field = ".".join(str(p) for p in shown)
        issues.append(ProfileIssue(source, field, _describe(error, model), _line_of(root, shown)))
    return ProfileError(issues)
