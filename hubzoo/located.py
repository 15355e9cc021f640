"""YAML documents as plain Python values that remember where each value was written.

A mapping becomes a `LocatedDict` and a list a `LocatedList`: ordinary dicts and lists that also
know the file they came from and the (line, column) of each of their values, so that a rule
checking loaded data can point at the YAML node at fault without walking nodes itself.
"""

from __future__ import annotations

from typing import Any

from hubzoo.yamlnodes import MappingNode, Node, Problem, SequenceNode, position, to_python

Position = tuple[int, int]
"""1-based (line, column)."""


class LocatedDict(dict[str, Any]):
    """A mapping read from `source`, starting at `start`, with the position of each value."""

    source: str
    start: Position
    positions: dict[str, Position]

    def at(self, key: str | None = None) -> Position:
        """Where the value of `key` (None: the mapping itself) starts."""
        return self.start if key is None else self.positions.get(key, self.start)

    def problem(self, key: str | None, message: str) -> Problem:
        """A problem located at the value of `key` (None: at the mapping)."""
        line, col = self.at(key)
        return Problem(self.source, line, col, message)


class LocatedList(list[Any]):
    """A list read from `source`, starting at `start`, with the position of each item."""

    source: str
    start: Position
    positions: list[Position]

    def problem(self, index: int | None, message: str) -> Problem:
        """A problem located at item `index` (None: at the list)."""
        line, col = self.start if index is None else self.positions[index]
        return Problem(self.source, line, col, message)


def located(node: Node, source: str) -> Any:
    """The plain value of a node tree that passed `hubzoo.yamlnodes.load_nodes`, mappings and
    lists located in `source`."""
    if isinstance(node, MappingNode):
        mapping = LocatedDict()
        mapping.source, mapping.start, mapping.positions = source, position(node), {}
        for key_node, value_node in node.value:
            key = str(to_python(key_node))
            mapping[key] = located(value_node, source)
            mapping.positions[key] = position(value_node)
        return mapping
    if isinstance(node, SequenceNode):
        items = LocatedList(located(item, source) for item in node.value)
        items.source, items.start = source, position(node)
        items.positions = [position(item) for item in node.value]
        return items
    return to_python(node)
