"""The GraphQL layer: generated types (schema/generator) and hand-written domain fields (schema/domain)."""

from __future__ import annotations

from pathlib import Path

import strawberry

from schema.domain.coverage import CoverageQuery
from schema.errors import DomainErrors

SDL_PATH = Path(__file__).with_name("schema.graphql")


@strawberry.type(
    description="Sanji (三级): organizations, items and cases of a district's three-tier service platform"
)
class Query(CoverageQuery):
    pass


def create_schema() -> strawberry.Schema:
    return strawberry.Schema(query=Query, extensions=[DomainErrors])


def export_sdl(schema: strawberry.Schema | None = None) -> str:
    return (schema or create_schema()).as_str() + "\n"
