"""Plain values behind the generated connection and edge types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from schema.generator.pagination import PageInfo


@dataclass
class Edge:
    cursor: str
    node: Any


@dataclass
class Connection:
    edges: list[Edge]
    page_info: PageInfo
    counter: Callable[[], Awaitable[int]]

    @property
    def nodes(self) -> list[Any]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, rows: list[Any], cursors: list[str], info: PageInfo, counter) -> Connection:
        return cls([Edge(c, r) for c, r in zip(cursors, rows, strict=True)], info, counter)
