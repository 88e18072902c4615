"""yaml.safe_load with limits, for every YAML file a user can hand the station (profiles, station.yaml,
the OPC UA users file): no file may make the loader nest without bound or expand aliases into a
"billion laughs"."""

from __future__ import annotations

from typing import Any

import yaml

MAX_NESTING = 32  # a real profile nests 3 deep
MAX_NODES = 20_000  # YAML nodes after expanding aliases: "billion laughs" files stop here


class YamlLimitError(ValueError):
    """The document nests too deep or expands too far (the message says which)."""


class _LimitedLoader(yaml.SafeLoader):
    """safe_load with a nesting limit and a bound on the size aliases expand to."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                mark = self.peek_event().start_mark
                raise YamlLimitError(f"nested more than {MAX_NESTING} levels deep (line {mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes the document stands for with every alias expanded (shared nodes counted each time)."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = MAX_NODES + 1  # a node that reaches itself (a recursive alias) is over any limit
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(v, memo) for v in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    memo[id(node)] = size = min(size, MAX_NODES + 1)
    return size


def load_limited(text: str) -> Any:
    """yaml.safe_load of one document; raises YamlLimitError past the limits, yaml.YAMLError when
    it is not YAML."""
    loader = _LimitedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_NODES:
            raise YamlLimitError(f"expands to more than {MAX_NODES} values (anchors and aliases)")
        return loader.construct_document(node)
    except RecursionError:
        raise YamlLimitError("nested too deeply") from None
    finally:
        loader.dispose()
