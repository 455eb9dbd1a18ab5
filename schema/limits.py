"""Query limits (OWASP GraphQL), each refusal one GraphQL error with a stable `extensions.code`.

Three stages. Before parsing, the breadth is counted from the tokens (fields, selections in one
selection set, root fields): parsing a broad document costs more than refusing it. After parsing,
before graphql-core validates anything: aliases, depth, root fields brought by fragments, and the
comparisons validation's overlap check would make (see schema.query_shape), since validation
grows faster than the document. After validation, the cost budget is checked against the schema.
Fragments are measured once each, however often they are spread.
"""

from __future__ import annotations

import functools
import json
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
    parse,
    visit,
)
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.schema import validate_document

from api.errors import ErrorCode
from schema.errors import code_of
from schema.generator.execution import Bounded
from schema.generator.pagination import DEFAULT_PAGE_SIZE
from schema.generator.text import UNSTORABLE_MESSAGE, storable
from schema.query_shape import Breadth, Shape, lexical_breadth

CACHED_QUERY_CHARS = 64 * 1024  # longer query texts are neither kept parsed nor kept validated
# The context's key: {text: parsed document} of a request's registered operations, parsed and
# validated when their process first read them (schema/domain/persisted.py).
PERSISTED = "sanji.persisted"
_SUGGESTION = re.compile(r" Did you mean .*\?$")
log = logging.getLogger("sanji.graphql")


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 5000
    max_fields: int = 500  # field selections written in the whole document
    max_selections: int = 200  # fields and fragments in one selection set
    max_root_fields: int = 50  # selections at the top of one operation
    max_overlap_work: int = 2000  # comparisons of same-named fields validation would make
    max_depth: int = 12
    max_aliases: int = 30
    max_cost: int = 200_000  # items a query may ask for: page sizes multiplied along each path
    introspection: bool = True
    suggestions: bool = True


def breadth_refusal(breadth: Breadth, limits: Limits) -> GraphQLError | None:
    if breadth.fields > limits.max_fields:
        return _error(
            f"the query selects {breadth.fields:,} fields; at most {limits.max_fields:,}", "QUERY_TOO_BROAD"
        )
    if breadth.widest > limits.max_selections:
        return _error(
            f"a selection set holds {breadth.widest:,} selections; at most {limits.max_selections}",
            "QUERY_TOO_BROAD",
        )
    if breadth.roots > limits.max_root_fields:
        return _error(
            f"the operation selects {breadth.roots:,} root fields; at most {limits.max_root_fields}",
            "QUERY_TOO_BROAD",
        )
    return None


def shape_refusal(document: DocumentNode, limits: Limits) -> GraphQLError | None:
    """The first structural limit the parsed document breaks, measured without the schema, or None."""
    shape = Shape(document)
    refusal = breadth_refusal(shape.breadth, limits)
    if refusal is not None:
        return refusal
    if shape.aliases > limits.max_aliases:
        return _error(
            f"the query uses {shape.aliases} aliases; at most {limits.max_aliases}", "TOO_MANY_ALIASES"
        )
    try:
        roots = shape.root_fields()
        depth = shape.depth()
        work = shape.overlap_work(limits.max_overlap_work)
    except RecursionError:  # fragments spread inside one another hundreds of times
        return _error("fragments are spread inside one another too deeply", "QUERY_TOO_DEEP")
    if roots > limits.max_root_fields:
        return _error(
            f"the operation selects {roots:,} root fields, its fragments' included; "
            f"at most {limits.max_root_fields}",
            "QUERY_TOO_BROAD",
        )
    if depth > limits.max_depth:
        return _error(f"the query is {depth} levels deep; at most {limits.max_depth}", "QUERY_TOO_DEEP")
    if work > limits.max_overlap_work:
        return _error(
            f"the query repeats fields so often that checking they agree would take over "
            f"{limits.max_overlap_work:,} comparisons: select each field once",
            "QUERY_TOO_BROAD",
        )
    return None


class QueryLimits(SchemaExtension):
    """Refuses over-budget documents before execution; in production hides schema hints too."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        # Runs after ValidationCache has validated: refuse a valid but over-budget query.
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
        """The refusal of this document with these variables; a repeated query's is remembered
        (for the parse cache's documents: the same text is the same node, kept and compared)."""
        document = context.graphql_document
        try:
            key = (id(document), json.dumps(context.variables, sort_keys=True), self.limits)
        except (TypeError, ValueError):
            key = None
        found = _REFUSALS.get(key) if key is not None else None
        if found is None or found[0] is not document:
            found = (document, self._judge(context))
            if key is not None:
                _REFUSALS.put(key, found)
        return None if found[1] is None else _error(*found[1])

    def _judge(self, context) -> tuple[str, str] | None:
        document = context.graphql_document
        if _has_unstorable_text(document, context.variables):
            return UNSTORABLE_MESSAGE, "VALIDATION_FAILED"
        cost = _Cost(context.schema._schema, document, context.variables or {})
        for operation in cost.operations:
            total = cost.of(operation.selection_set, cost.schema.get_root_type(operation.operation))
            if total > self.limits.max_cost:
                return (
                    f"the query may return {total:,} items (page sizes multiplied along each path); "
                    f"the budget is {self.limits.max_cost:,}",
                    "QUERY_TOO_COSTLY",
                )
        return None


# (document, verdict) by (document id, variables, limits)
_REFUSALS = Bounded(size=1024)


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode(code)})


def _has_unstorable_text(document: DocumentNode, variables: Any) -> bool:
    """Whether a string literal or variable holds what a database cannot store (PostgreSQL has no NUL)."""

    class Literals(Visitor):
        found = False

        def enter_string_value(self, node: StringValueNode, *_args) -> None:
            self.found = self.found or not storable(node.value)

    literals = Literals()
    visit(document, literals)
    return literals.found or not all(storable(text) for text in _strings(variables))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class _Cost:
    """Items a selection may return: each list field counts its page size times its parents'.

    The count is linear in the multiplier its parents give, so a fragment's count per item is
    computed once and multiplied wherever it is spread.
    """

    def __init__(self, schema, document: DocumentNode, variables: dict) -> None:
        self.schema = schema
        self.operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        # A variable not sent takes its declared default: `($n: Int = 500)` asks for 500.
        defaults = {
            definition.variable.name.value: int(definition.default_value.value)
            for operation in self.operations
            for definition in operation.variable_definitions or ()
            if isinstance(definition.default_value, IntValueNode)
        }
        self.variables = {**defaults, **{k: v for k, v in variables.items() if v is not None}}
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._fragment_costs: dict[str, int] = {}

    def of(self, selection_set: SelectionSetNode | None, parent_type) -> int:
        if selection_set is None or parent_type is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found = getattr(parent_type, "fields", {}).get(selection.name.value)
                if found is None:
                    continue
                inner = self.of(selection.selection_set, get_named_type(found.type))
                size = _page_size(selection, found, self.variables)
                total += size * (1 + inner) if size else inner
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inline_type = self.schema.get_type(condition.name.value) if condition else parent_type
                total += self.of(selection.selection_set, inline_type)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value)
        return total

    def _fragment(self, name: str) -> int:
        if name not in self._fragment_costs:
            self._fragment_costs[name] = 0  # a cycle adds nothing (validation refuses it anyway)
            fragment = self.fragments.get(name)
            if fragment is not None:
                fragment_type = self.schema.get_type(fragment.type_condition.name.value)
                self._fragment_costs[name] = self.of(fragment.selection_set, fragment_type)
        return self._fragment_costs[name]


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


class LimitedParsing(SchemaExtension):
    """Parsing with a token limit, then the document's shape checked, both cached per query text.

    Takes the place of strawberry's ParserCache; syntax errors and each limit get their codes."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        registered = context.context.get(PERSISTED) if isinstance(context.context, dict) else None
        if registered and context.query in registered:  # parsed and checked once per process
            context.graphql_document = registered[context.query]
            yield
            return
        document, refusal = _parse_checked(context.query, self.limits)
        if refusal is not None:  # a fresh error per request: an error collects request state
            raise GraphQLError(
                refusal.message,
                source=refusal.source,
                positions=refusal.positions,
                extensions=dict(refusal.extensions or {}),
            )
        context.graphql_document = document
        yield


def _parse_checked(query: str, limits: Limits) -> tuple[DocumentNode | None, GraphQLError | None]:
    # Only small texts are kept: 512 cached texts of megabytes each (long string literals) would
    # hold gigabytes. A big query is parsed each time and kept nowhere.
    return (_parse_cached if len(query) <= CACHED_QUERY_CHARS else _parse)(query, limits)


class CachedValidation(SchemaExtension):
    """strawberry's ValidationCache, for the documents of the parse cache only."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        registered = context.context.get(PERSISTED) if isinstance(context.context, dict) else None
        if registered and registered.get(context.query) is context.graphql_document:
            context.pre_execution_errors = []  # validated against this schema when first read
            yield
            return
        small = len(context.query or "") <= CACHED_QUERY_CHARS
        validate = _validate_cached if small else validate_document
        context.pre_execution_errors = validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield


_validate_cached = functools.lru_cache(maxsize=512)(validate_document)


def _parse(query: str, limits: Limits) -> tuple[DocumentNode | None, GraphQLError | None]:
    """The parsed document, or the refusal of its text (too many tokens, bad syntax, bad shape)."""
    refusal = breadth_refusal(lexical_breadth(query), limits)
    if refusal is not None:  # refused before parsing, which costs many times more than counting
        return None, refusal
    try:
        document = parse(query, max_tokens=limits.max_tokens)
    except GraphQLError as error:
        if "tokens" in error.message:
            return None, _error(f"the query has more than {limits.max_tokens} tokens", "QUERY_TOO_LARGE")
        error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_PARSE_FAILED"}
        return None, error
    refusal = shape_refusal(document, limits)
    # A refused document is not kept: hundreds of big trees in the cache would slow every
    # garbage collection of the process.
    return (None, refusal) if refusal is not None else (document, None)


_parse_cached = functools.lru_cache(maxsize=512)(_parse)


class MaskUnexpected(MaskErrors):
    """In production an unexpected error reads "unexpected error" with a request id; the log has it all.

    Coded refusals (validation, limits, domain rules) stay readable.
    """

    def __init__(self) -> None:
        # code_of: a subscription's result is masked before DomainErrors copies its code.
        super().__init__(should_mask_error=lambda error: code_of(error) is None)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return unexpected_error(error.message, error.original_error, nodes=error.nodes, path=error.path)


def unexpected_error(what: str, cause: BaseException | bool | None = True, **where: Any) -> GraphQLError:
    """An unexpected failure as clients see it: a request id, the details in the log only.
    `cause`: the exception to log (True: the one being handled; None: none)."""
    request_id = uuid.uuid4().hex[:16]
    log.error("unexpected error, request id %s: %s", request_id, what, exc_info=cause)
    return GraphQLError(
        f"unexpected error; quote request id {request_id} to the operators",
        extensions={"code": "INTERNAL_ERROR", "requestId": request_id},
        **where,
    )
