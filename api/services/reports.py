"""Saved reports: what a report may hold, checked when it is saved and again when it is run."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.language import FieldNode

from api.errors import DomainError
from api.models.report import Report, Visibility

MAX_DOCUMENT = 20_000  # characters of a report's query
VIEW_KINDS = ("table", "bar", "line", "stacked_bar", "pivot")


def check_document(document: str, report_fields: frozenset[str]) -> None:
    """A report is one query operation whose root fields are all list or aggregate fields
    (`report_fields`: e.g. cases, casesAggregate); anything else is refused with a code."""
    if len(document) > MAX_DOCUMENT:
        raise DomainError(
            "VALIDATION_FAILED", f"a report's query is at most {MAX_DOCUMENT:,} characters", field="document"
        )
    try:
        parsed = parse(document, no_location=True)
    except GraphQLError as error:
        raise DomainError(
            "GRAPHQL_PARSE_FAILED", f"the report's query: {error.message}", field="document"
        ) from None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise DomainError("VALIDATION_FAILED", "a report holds exactly one operation", field="document")
    (operation,) = operations
    if operation.operation is not OperationType.QUERY:
        raise DomainError(
            "OPERATION_NOT_ALLOWED",
            f"a report only reads: a {operation.operation.value} cannot be saved or run as one",
            field="document",
        )
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            raise DomainError(
                "VALIDATION_FAILED",
                "a report's root fields are written out, not in fragments",
                field="document",
            )
        name = selection.name.value
        if name != "__typename" and name not in report_fields:
            raise DomainError(
                "OPERATION_NOT_ALLOWED",
                f"a report reads list and aggregate fields only (cases, casesAggregate, …), not {name}",
                field="document",
            )


def check_report(report: Report, report_fields: frozenset[str]) -> None:
    """The whole of a report as saved: its query, its variables and view as objects, its sharing."""
    check_document(report.document, report_fields)
    if not isinstance(report.variables, dict):
        raise DomainError("VALIDATION_FAILED", "variables is a JSON object", field="variables")
    if not isinstance(report.view, dict):
        raise DomainError("VALIDATION_FAILED", "view is a JSON object", field="view")
    kind = report.view.get("kind", "table")
    if kind not in VIEW_KINDS:
        raise DomainError(
            "VALIDATION_FAILED", f"view.kind is one of {', '.join(VIEW_KINDS)}, got {kind!r}", field="view"
        )
    if not report.name.strip():
        raise DomainError("VALIDATION_FAILED", "a report needs a name", field="name")


def readable(caller: Any, area: Any) -> Any:
    """The reports a caller may open: its own; those shared with everyone of an organization at or
    above the caller's; those shared with the caller's role there."""
    from tortoise.expressions import Q

    from api.services.catalogue import chain_of

    if caller.user_id is None:
        return Q(id__in=[])  # reports belong to users: a key or the public has none
    if area is None:  # the caller's organization is the only root
        chain = [caller.organization_id] if caller.organization_id is not None else []
    else:
        chain = chain_of(area or "")
    shared = Q(visibility=Visibility.AREA) | Q(visibility=Visibility.ROLE, role=caller.role)
    return Q(owner_id=caller.user_id) | (shared & Q(organization_id__in=chain))
