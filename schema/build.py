"""Sanji's schema: the engine's generated fields for the declared models and the domain fields."""

from __future__ import annotations

import functools
from enum import Enum
from pathlib import Path

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules
from strawberry.schema.config import StrawberryConfig
from tortoise import Tortoise
from tortoise.context import TortoiseContext

from api.auth.permissions import POLICY
from api.db import APP_LABEL, use_context
from api.errors import ERROR_CODE_DESCRIPTIONS, ErrorCode
from api.models import MODEL_MODULES
from api.settings import Settings
from schema.audit import AuditedWrites, PiiReadAudit
from schema.domain.cases import CaseVerbs
from schema.domain.catalogue import catalogue_fields, catalogue_file_fields
from schema.domain.coverage import CoverageQuery
from schema.domain.permissions import my_permissions_field
from schema.domain.persisted import persisted_fields
from schema.domain.reports import report_query_fields
from schema.domain.service import ServiceQueries, calendar_fields
from schema.domain.subscriptions import subscription_fields
from schema.domain.webhooks import webhook_fields, webhook_query_fields
from schema.errors import DomainErrors, SanjiSchema
from schema.generator.execution import executor_for
from schema.generator.mutations import MutationBuilder
from schema.generator.registry import Registry
from schema.generator.scalars import describe_enums
from schema.glossary import ENUM_DESCRIPTIONS, FIELD_DESCRIPTIONS
from schema.limits import CachedValidation, LimitedParsing, Limits, MaskUnexpected, QueryLimits
from schema.specs import EXPOSURES

SDL_PATH = Path(__file__).with_name("schema.graphql")
GRAPHIQL_DIR = Path(__file__).with_name("static") / "graphiql"
describe_enums(ENUM_DESCRIPTIONS)
QUERY_DESCRIPTION = "Sanji (三级): organizations, items and cases of a district's three-tier service platform"


def create_schema(
    exposures=None,
    model_modules=None,
    limits: Limits | None = None,
    *,
    production: bool = False,
    timezone: str = Settings.timezone,
):
    """Generate the schema from the exposure specs, beside the hand-written domain fields; its
    date-times are told in the district's `timezone` (the setting SANJI_TIMEZONE)."""
    limits = limits or Limits(introspection=not production, suggestions=not production)
    with use_context(TortoiseContext()):
        Tortoise.init_models(model_modules or MODEL_MODULES, APP_LABEL)  # relations, without a database
    registry = Registry(
        EXPOSURES if exposures is None else exposures,
        POLICY,
        AuditedWrites(),
        zone=timezone,
        descriptions=FIELD_DESCRIPTIONS,
    ).build()
    files = catalogue_file_fields(registry)
    query_fields = {
        **registry.query_fields(),
        **files["query"],
        **report_query_fields(registry),
        "my_permissions": my_permissions_field(registry),
        **ServiceQueries(registry).fields(),
        **webhook_query_fields(registry),
    }
    query = type("Query", (CoverageQuery,), {"__annotations__": {}, **query_fields})
    mutation_fields = {
        **MutationBuilder(registry).fields(),
        **catalogue_fields(registry),
        **files["mutation"],
        **CaseVerbs(registry).fields(),
        **calendar_fields(registry),
        **webhook_fields(registry),
        **persisted_fields(registry),
    }
    mutation = type("Mutation", (), {"__annotations__": {}, **mutation_fields})
    subscription = type("Subscription", (), {"__annotations__": {}, **subscription_fields(registry)})
    schema = SanjiSchema(
        types=[error_codes()],
        query=strawberry.type(query, description=QUERY_DESCRIPTION),
        mutation=strawberry.type(mutation, description="Changes: generated CRUD and domain verbs"),
        subscription=strawberry.type(
            subscription, description="Live results over WebSocket (graphql-transport-ws on /graphql)"
        ),
        extensions=[
            *([MaskUnexpected] if production else []),  # first in, last out: sees every code set
            DomainErrors,
            PiiReadAudit,
            lambda: LimitedParsing(limits),  # and the document's shape, before validation
            *(
                [lambda: AddValidationRules([NoSchemaIntrospectionCustomRule])]
                if not limits.introspection
                else []
            ),
            CachedValidation,
            lambda: QueryLimits(limits),  # after validation: refuses valid but over-budget queries
        ],
        config=StrawberryConfig(scalar_map=registry.scalars),
        execution_context_class=executor_for(registry),
    )
    schema.registry = registry  # the models behind the generated fields
    schema.limits = limits  # what registered operations are checked against (schema/domain/persisted.py)
    return schema


@functools.cache
def error_codes() -> type[Enum]:
    """`ErrorCode` in the SDL: every `extensions.code` the API answers with, each described."""
    members = {
        code.name: strawberry.enum_value(code.value, description=ERROR_CODE_DESCRIPTIONS[code])
        for code in ErrorCode
    }
    return strawberry.enum(
        Enum("ErrorCode", members),
        description="The `extensions.code` of an error: stable, for clients to act on (no field returns it)",
    )


@functools.lru_cache(maxsize=4)
def app_schema(limits: Limits, production: bool, timezone: str) -> SanjiSchema:
    """The schema of the declared models under these limits, built once per process: building
    takes over a second of CPU, and every app (each worker, each test's server) serves the same."""
    return create_schema(limits=limits, production=production, timezone=timezone)


def export_sdl(schema: strawberry.Schema | None = None) -> str:
    return (schema or create_schema()).as_str() + "\n"
