"""The shape of a parsed GraphQL document, measured without the schema and before validation.

Validation's time grows faster than the document: graphql-core checks that fields sharing a
response name can be merged (OverlappingFieldsCanBeMerged) pair by pair, and for each pair every
pair of their sub-fields with a common name, so repeated fields cost the square of their count at
each level, multiplied across levels. `Shape.overlap_work` counts those comparisons the same way
and stops at a budget, so a document that would keep validation busy is refused in about the time
it takes to read it. Fragments are measured once each, however often they are spread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
)

# Introspection's type references nest `ofType` seven deep to reach a named type; those levels say
# how a type is wrapped (list, non-null) and select nothing more, so depth does not count them.
UNCOUNTED_DEPTH = frozenset({"ofType"})
# Comparing two fields also compares their arguments as printed text: big arguments weigh more.
ARGUMENT_NODES_PER_COMPARISON = 16

Groups = dict[str, list[FieldNode]]  # fields of one selection set (fragments merged) by response name

# GraphQL's lexical grammar, as far as braces and selections go: strings and comments (which may
# hold braces), the spread, names, and the punctuators; numbers, commas and white space are skipped.
# An unclosed string runs to the end of its line (a block string: of the text), so that each
# character is read once: a pattern that must find the closing quote would read on from every quote.
_TOKENS = re.compile(
    r'"""(?:\\"""|(?!""")[\s\S])*(?:"""|\Z)'  # block string
    r'|"(?:\\.|[^"\\\n\r])*"?'  # string
    r"|#[^\n\r]*"  # comment
    r"|\.\.\."
    r"|[_A-Za-z][_0-9A-Za-z]*"
    r"|[(){}:@]"
)
_NOT_A_FIELD_AFTER = frozenset({"...", "@", ":"})  # a fragment's name, a directive, an alias's field


@dataclass(frozen=True)
class Breadth:
    fields: int  # field selections in the whole document
    widest: int  # selections (fields and fragments) in the largest selection set
    roots: int  # selections at the top of the largest operation


def lexical_breadth(text: str) -> Breadth:
    """Breadth counted from the tokens alone, before (and many times faster than) parsing.

    On a document that parses, the counts equal those of its syntax tree (a test holds the two to
    each other); on one that does not, they are an estimate, and the parser refuses it anyway.
    """
    fields = widest = roots = 0
    parens = 0
    open_sets: list[list[int]] = []  # per open selection set: [selections, is an operation's top]
    definition = ""  # the keyword that began the definition being read ("" for a bare `{`)
    starting = True  # the next token at the top level begins a definition
    before = previous = ""
    for match in _TOKENS.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"' or first == "#":
            continue
        if parens:
            parens += (token == "(") - (token == ")")
        elif token == "(":
            parens = 1
        elif token == "{":
            if starting:
                definition, starting = "", False
            open_sets.append([0, not open_sets and definition != "fragment"])
        elif token == "}":
            if open_sets:
                count, top = open_sets.pop()
                widest = max(widest, count)
                roots = max(roots, count) if top else roots
                starting = not open_sets
        elif not open_sets:
            if starting:  # a fragment named `query`, or `on subscription`, begins nothing
                definition, starting = token, False
        elif token == "...":
            open_sets[-1][0] += 1
        elif (
            first not in ":@"
            and previous not in _NOT_A_FIELD_AFTER
            and not (previous == "on" and before == "...")
        ):
            open_sets[-1][0] += 1
            fields += 1
        before, previous = previous, token
    return Breadth(fields, widest, roots)


class OverBudget(Exception):
    """The comparisons counted so far exceed the budget."""


class Shape:
    """Counts over the parsed document as written: breadth, aliases, depth and the overlap work
    of validation."""

    def __init__(self, document: DocumentNode) -> None:
        self.operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.selection_sets = self._selection_sets(document)
        self.aliases = 0
        fields = widest = 0
        for selection_set in self.selection_sets:
            widest = max(widest, len(selection_set.selections))
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    fields += 1
                    self.aliases += selection.alias is not None
        roots = max((len(o.selection_set.selections) for o in self.operations), default=0)
        self.breadth = Breadth(fields, widest, roots)
        self._depths: dict[str, int] = {}
        self._groups: dict[int, Groups] = {}
        self._weights: dict[int, int] = {}
        self._work = 0

    @staticmethod
    def _selection_sets(document: DocumentNode) -> list[SelectionSetNode]:
        """Every selection set of the document, once (no recursion: nesting may be deep)."""
        pending = [d.selection_set for d in document.definitions if getattr(d, "selection_set", None)]
        found = []
        while pending:
            selection_set = pending.pop()
            found.append(selection_set)
            pending.extend(
                s.selection_set for s in selection_set.selections if getattr(s, "selection_set", None)
            )
        return found

    # -- depth
    def depth(self) -> int:
        """The deepest operation's depth, fragments followed; RecursionError on absurd nesting."""
        return max((self._depth(o.selection_set) for o in self.operations), default=0)

    def _depth(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                level = 0 if selection.name.value in UNCOUNTED_DEPTH else 1
                deepest = max(deepest, level + self._depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self._depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment_depth(selection.name.value))
        return deepest

    def _fragment_depth(self, name: str) -> int:
        if name not in self._depths:
            self._depths[name] = 0  # a cycle (refused by validation) adds nothing
            fragment = self.fragments.get(name)
            self._depths[name] = self._depth(fragment.selection_set) if fragment else 0
        return self._depths[name]

    def root_fields(self) -> int:
        """The most root fields of an operation, those its fragments bring included (each once)."""
        return max(
            (sum(map(len, self._grouped(o.selection_set).values())) for o in self.operations), default=0
        )

    # -- overlap work
    def overlap_work(self, budget: int) -> int:
        """Field comparisons validation would make (weighted by argument size), counted up to
        just past `budget`; RecursionError on absurd nesting."""
        try:
            for selection_set in self.selection_sets:
                for fields in self._grouped(selection_set).values():
                    for i, first in enumerate(fields):
                        for second in fields[i + 1 :]:
                            self._compare(first, second, budget)
        except OverBudget:
            pass
        return self._work

    def _compare(self, first: FieldNode, second: FieldNode, budget: int) -> None:
        self._work += self._weight(first) + self._weight(second) - 1  # plain fields: 1
        if self._work > budget:
            raise OverBudget
        if first.selection_set is None or second.selection_set is None:
            return
        others = self._grouped(second.selection_set)
        for name, fields in self._grouped(first.selection_set).items():
            for sub in fields:
                for other in others.get(name, ()):
                    self._compare(sub, other, budget)

    def _grouped(self, selection_set: SelectionSetNode) -> Groups:
        key = id(selection_set)
        if key not in self._groups:
            groups: Groups = {}
            self._collect(selection_set, groups, set())
            self._groups[key] = groups
        return self._groups[key]

    def _collect(self, selection_set: SelectionSetNode, groups: Groups, spread: set[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                groups.setdefault((selection.alias or selection.name).value, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                self._collect(selection.selection_set, groups, spread)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
                spread.add(selection.name.value)
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    self._collect(fragment.selection_set, groups, spread)

    def _weight(self, field: FieldNode) -> int:
        key = id(field)
        if key not in self._weights:
            nodes = sum(_value_nodes(argument.value) for argument in field.arguments or ())
            self._weights[key] = 1 + nodes // ARGUMENT_NODES_PER_COMPARISON
        return self._weights[key]


def _value_nodes(value: ValueNode) -> int:
    pending, count = [value], 0
    while pending:
        node = pending.pop()
        count += 1
        if isinstance(node, ObjectValueNode):
            pending.extend(f.value for f in node.fields)
        elif isinstance(node, ListValueNode):
            pending.extend(node.values)
    return count
