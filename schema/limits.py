"""Query limits checked before execution: tokens, depth, aliases and a cost budget (OWASP GraphQL).

Each refusal is one GraphQL error with a stable `extensions.code`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    visit,
)
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension

from schema.generator.pagination import DEFAULT_PAGE_SIZE

_SUGGESTION = re.compile(r" Did you mean .*\?$")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
log = logging.getLogger("sanji.graphql")


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 5000
    max_depth: int = 12
    max_aliases: int = 30
    max_cost: int = 200_000  # items a query may ask for: page sizes multiplied along each path
    introspection: bool = True
    suggestions: bool = True


class QueryLimits(SchemaExtension):
    """Refuses over-limit documents before execution; in production hides schema hints too."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        # Runs after ValidationCache has validated: refuse a valid but over-limit query.
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None:
            refusal = self._refusal(context)
            if refusal is not None:
                context.pre_execution_errors = [refusal]
        for error in context.pre_execution_errors or []:
            if "introspection" in error.message.lower():
                error.extensions = {"code": "INTROSPECTION_DISABLED"}
            elif not (error.extensions or {}).get("code"):
                error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
            if not self.limits.suggestions:
                error.message = _SUGGESTION.sub("", error.message)
        yield

    def _refusal(self, context) -> GraphQLError | None:
        document = context.graphql_document
        if _has_unstorable_text(document, context.variables):
            return _error(
                "text cannot hold U+0000 or an unpaired surrogate (U+D800 to U+DFFF)", "VALIDATION_FAILED"
            )
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        aliases = sum(_aliases(d.selection_set) for d in document.definitions if hasattr(d, "selection_set"))
        if aliases > self.limits.max_aliases:
            return _error(
                f"the query uses {aliases} aliases; at most {self.limits.max_aliases}", "TOO_MANY_ALIASES"
            )
        schema = context.schema._schema
        variables = context.variables or {}
        for operation in operations:
            root = schema.get_root_type(operation.operation)
            depth = _depth(operation.selection_set, fragments, set())
            if depth > self.limits.max_depth:
                return _error(
                    f"the query is {depth} levels deep; at most {self.limits.max_depth}", "QUERY_TOO_DEEP"
                )
            cost = _cost(schema, operation.selection_set, root, fragments, variables, 1, set())
            if cost > self.limits.max_cost:
                return _error(
                    f"the query may return {cost:,} items (page sizes multiplied along each path); "
                    f"the budget is {self.limits.max_cost:,}",
                    "QUERY_TOO_COSTLY",
                )
        return None


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _has_unstorable_text(document: DocumentNode, variables: Any) -> bool:
    """Whether a string literal or variable holds what a database cannot store (PostgreSQL has no NUL)."""

    class Literals(Visitor):
        found = False

        def enter_string_value(self, node: StringValueNode, *_args) -> None:
            self.found = self.found or bool(_UNSTORABLE.search(node.value))

    literals = Literals()
    visit(document, literals)
    return literals.found or any(_UNSTORABLE.search(text) for text in _strings(variables))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _aliases(selection_set: SelectionSetNode | None) -> int:
    if selection_set is None:
        return 0
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode) and selection.alias is not None:
            count += 1
        count += _aliases(getattr(selection, "selection_set", None))
    return count


def _depth(selection_set: SelectionSetNode | None, fragments, seen: set[str]) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                deepest = max(
                    deepest, _depth(fragment.selection_set, fragments, seen | {selection.name.value})
                )
    return deepest


def _cost(schema, selection_set, parent_type, fragments, variables, multiplier: int, seen: set[str]) -> int:
    """Items a selection may return: each list field counts its page size times its parents'."""
    if selection_set is None or parent_type is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            field = getattr(parent_type, "fields", {}).get(selection.name.value)
            if field is None:
                continue
            child_type = get_named_type(field.type)
            size = _page_size(selection, field, variables)
            inner = multiplier * size if size else multiplier
            total += inner if size else 0
            total += _cost(schema, selection.selection_set, child_type, fragments, variables, inner, seen)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            fragment_type = schema.get_type(condition.name.value) if condition else parent_type
            total += _cost(
                schema, selection.selection_set, fragment_type, fragments, variables, multiplier, seen
            )
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                fragment_type = schema.get_type(fragment.type_condition.name.value)
                seen_more = seen | {selection.name.value}
                total += _cost(
                    schema, fragment.selection_set, fragment_type, fragments, variables, multiplier, seen_more
                )
    return total


def _page_size(node: FieldNode, field, variables: dict) -> int:
    """The page size a connection field asks for (its default when not given); 0 for other fields."""
    if "first" not in field.args and "last" not in field.args:
        return 0
    size = None
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            value = argument.value
            if isinstance(value, IntValueNode):
                size = int(value.value)
            elif isinstance(value, VariableNode):
                size = variables.get(value.name.value)
    return size if isinstance(size, int) and size > 0 else DEFAULT_PAGE_SIZE


class LimitedParserCache(ParserCache):
    """Cached parsing with a token limit; syntax errors and the limit get their codes."""

    def __init__(self, max_tokens: int, maxsize: int = 512) -> None:
        super().__init__(maxsize=maxsize)
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        try:
            yield from super().on_parse()
        except GraphQLError as error:
            if "tokens" in error.message:
                raise GraphQLError(
                    f"the query has more than {self.max_tokens} tokens",
                    extensions={"code": "QUERY_TOO_LARGE"},
                ) from error
            error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_PARSE_FAILED"}
            raise


class MaskUnexpected(MaskErrors):
    """In production an unexpected error reads "unexpected error" with a request id; the log has it all.

    Coded refusals (validation, limits, domain rules) stay readable.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not (error.extensions or {}).get("code"))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = uuid.uuid4().hex[:16]
        log.error(
            "unexpected error, request id %s: %s", request_id, error.message, exc_info=error.original_error
        )
        return GraphQLError(
            f"unexpected error; quote request id {request_id} to the operators",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_ERROR", "requestId": request_id},
        )
