"""`runReport`: open a saved report, running its query with the reader's own rights."""

from __future__ import annotations

import json
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.errors import DomainError
from api.models.report import Report
from api.services import reports
from schema.generator.execution import RawJSON, RawRows
from schema.generator.ids import from_global_id
from schema.generator.resolvers import REQUIRED, resolver

RUNS = "sanji_report_runs"  # context key: how many reports the request has run


def plain(value: Any) -> Any:
    """The data of a nested execution as plain JSON values: root fields the database answered as
    JSON text (RawJSON, RawRows) parsed, so that the JSON scalar writes them like any other."""
    if isinstance(value, RawJSON | RawRows):
        return json.loads(value.text)
    if isinstance(value, dict):
        return {key: plain(v) for key, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def report_query_fields(registry) -> dict[str, Any]:
    node = registry.node(Report)

    async def run(root, info, id: strawberry.ID, variables: Any) -> Any:
        from schema.specs import report_fields

        access = await registry.access(info)
        ran = info.context.setdefault(RUNS, [0])
        ran[0] += 1
        if ran[0] > 1:  # each run has the whole query budget: one per request keeps it one budget
            raise DomainError(
                "QUERY_TOO_COSTLY", "one runReport per request: open reports one by one", field="id"
            )
        pk = from_global_id(id, "Report", field="id")
        found = await Report.filter(access.rows(node), id=pk).first()
        if found is None:  # another's private report looks like none at all
            raise DomainError(
                "NOT_FOUND", f"report {id} does not exist or is not shared with you", field="id"
            )
        reports.check_document(found.document, report_fields())  # checked when run, as when saved
        if variables is not None and not isinstance(variables, dict):
            raise DomainError("VALIDATION_FAILED", "variables is a JSON object", field="variables")
        result = await info.schema.execute(
            found.document,
            variable_values={**found.variables, **(variables or {})},
            context_value=info.context,
        )
        if result.errors:
            error = result.errors[0]
            code = (error.extensions or {}).get("code")
            if code is None:  # not a refusal the API states: a failure, told as one
                raise error.original_error or error
            raise DomainError(code, f"the report's query: {error.message}", field="document")
        return plain(result.data)

    return {
        "run_report": strawberry.field(
            resolver=resolver(
                run,
                JSON,
                {
                    "id": (strawberry.ID, REQUIRED, "Global id of a report you may open"),
                    "variables": (JSON | None, None, "Values that replace the saved variables, by name"),
                },
            ),
            name="runReport",
            description="Run a saved report with your own rights (a clerk sees the figures of their area): "
            "its data, as the query would answer it",
        )
    }
