"""Random read operations over the served schema, for the compiled-versus-resolver tests.

Built from the registry the schema is generated from, so every model, field and relation is
reachable: nested relations and connections to depth 4, filters with and/or/not and relation
filters, orderings, first/last, aliases, inline and named fragments, @include/@skip, lookups,
`node` and aggregates with groupBy/having. Values are ones the fixture's rows hold (codes starting
"QJL", Chinese names, dates of its years), so filters select real rows, not only empty lists.
"""

from __future__ import annotations

from hypothesis import strategies as st
from strawberry.utils.str_converters import to_camel_case

from schema.generator.ids import to_global_id
from schema.generator.registry import ModelNode, Registry
from schema.generator.spec import ForwardRelation

TEXTS = ["QJL", "QJL-H1", "便民", "服务", "屈家岭", "a", ""]
INTS = [-1, 0, 1, 2, 3, 5, 20, 100]
DATES = ["2017-05-02", "2018-01-01", "2018-12-31", "2026-12-01"]
TIMES = ["2017-05-02T10:00:00+08:00", "2018-03-01T00:00:00Z", "2019-01-01T00:00:00+08:00"]
DIRECTIONS = ["ASC", "DESC", "ASC_NULLS_FIRST", "ASC_NULLS_LAST", "DESC_NULLS_FIRST", "DESC_NULLS_LAST"]


class Reads:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.nodes = list(registry.nodes.values())
        self.aliases = 0

    def alias(self, draw, name: str) -> str:
        if draw(st.integers(0, 4)) == 0:
            self.aliases += 1
            return f"a{self.aliases}: {name}"
        return name

    # -- values
    def value(self, draw, scalar) -> str:
        kind = scalar.kind
        if kind == "enum":
            return draw(st.sampled_from([m.name for m in scalar.enum]))
        if kind == "string":
            return '"' + draw(st.sampled_from(TEXTS)) + '"'
        if kind in ("int", "bigint"):
            return str(draw(st.sampled_from(INTS)))
        if kind == "float":
            return draw(st.sampled_from(["30.5", "112.9", "0"]))
        if kind == "bool":
            return draw(st.sampled_from(["true", "false"]))
        if kind == "date":
            return '"' + draw(st.sampled_from(DATES)) + '"'
        if kind == "datetime":
            return '"' + draw(st.sampled_from(TIMES)) + '"'
        return '"x"'

    def condition(self, draw, scalar) -> str:
        kind = scalar.kind
        ops = ["eq", "ne", "isNull"]
        if kind not in ("bool",):
            ops += ["in", "notIn"]
        if kind not in ("bool", "enum"):
            ops += ["gt", "gte", "lt", "lte"]
        if kind == "string":
            ops += ["contains", "icontains", "startsWith"]
        op = draw(st.sampled_from(ops))
        if op == "isNull":
            value = draw(st.sampled_from(["true", "false"]))
        elif op in ("in", "notIn"):
            value = "[" + ", ".join(self.value(draw, scalar) for _ in range(draw(st.integers(0, 3)))) + "]"
        else:
            value = self.value(draw, scalar)
        return f"{{{op}: {value}}}"

    def where(self, draw, node: ModelNode, depth: int = 0) -> str:
        parts = []
        for _ in range(draw(st.integers(1, 2))):
            choice = draw(st.integers(0, 9))
            if choice <= 5 and node.filter_scalars:
                scalar = draw(st.sampled_from(node.filter_scalars))
                parts.append(f"{to_camel_case(scalar.name)}: {self.condition(draw, scalar)}")
            elif choice == 6 and depth < 2 and (node.forward or node.backward):
                relation = draw(st.sampled_from([*node.forward, *node.backward]))
                target = self.registry.node(relation.model)
                parts.append(f"{to_camel_case(relation.name)}: {{{self.where(draw, target, depth + 1)}}}")
            elif choice == 7 and depth < 2:
                word = draw(st.sampled_from(["and", "or"]))
                items = [self.where(draw, node, depth + 1) for _ in range(draw(st.integers(0, 2)))]
                parts.append(f"{word}: [" + ", ".join("{" + i + "}" for i in items) + "]")
            elif choice == 8 and depth < 2:
                parts.append(f"not: {{{self.where(draw, node, depth + 1)}}}")
            elif choice == 9 and node.exposure.tree_path is not None and draw(st.booleans()):
                # the district (1), the center (2), a hall (3), a room, none, an unknown one
                top = draw(st.sampled_from([1, 2, 3, 10, 99999]))
                parts.append(f'within: "{to_global_id(node.exposure.type_name, top)}"')
            else:
                parts.append('id: {in: ["T3JnYW5pemF0aW9uOjI=", "Q2FzZTox"]}')
        unique = {}
        for part in parts:
            unique.setdefault(part.split(":")[0], part)
        return ", ".join(unique.values())

    def order_by(self, draw, node: ModelNode) -> str:
        keys = []
        for _ in range(draw(st.integers(0, 2))):
            if node.forward and draw(st.integers(0, 5)) == 0:
                relation = draw(st.sampled_from(node.forward))
                target = self.registry.node(relation.model)
                if target.sort_scalars:
                    scalar = draw(st.sampled_from(target.sort_scalars))
                    direction = draw(st.sampled_from(DIRECTIONS))
                    inner = f"{to_camel_case(scalar.name)}: {direction}"
                    keys.append(f"{{{to_camel_case(relation.name)}: {{{inner}}}}}")
            elif node.sort_scalars:
                scalar = draw(st.sampled_from(node.sort_scalars))
                keys.append(f"{{{to_camel_case(scalar.name)}: {draw(st.sampled_from(DIRECTIONS))}}}")
        return "[" + ", ".join(keys) + "]"

    def connection_args(self, draw, node: ModelNode, cursors: str = "") -> str:
        args = [cursors] if cursors else []
        if draw(st.booleans()):
            args.append(f"where: {{{self.where(draw, node)}}}")
        if draw(st.booleans()):
            args.append(f"orderBy: {self.order_by(draw, node)}")
        size = draw(st.sampled_from([None, 0, 1, 2, 3, 7, 501]))
        if size is not None:
            args.append(f"{draw(st.sampled_from(['first', 'first', 'last']))}: {size}")
        return f"({', '.join(args)})" if args else ""

    # -- selections
    def object(self, draw, node: ModelNode, depth: int) -> str:
        e = node.exposure
        parts = []
        if draw(st.booleans()):
            parts.append(self.alias(draw, "id"))
        if draw(st.integers(0, 5)) == 0:
            parts.append("__typename")
        scalars = [to_camel_case(s.name) for s in node.scalars]
        scalars += [to_camel_case(d.name) for d in e.derived]
        for name in draw(st.lists(st.sampled_from(scalars), max_size=4, unique=True)) if scalars else []:
            parts.append(self.alias(draw, name))
        if depth < 4:
            for _ in range(draw(st.integers(0, 2))):
                relations = [*node.forward, *node.backward]
                if not relations:
                    break
                relation = draw(st.sampled_from(relations))
                target = self.registry.node(relation.model)
                name = to_camel_case(relation.name)
                if isinstance(relation, ForwardRelation) or relation.one:
                    parts.append(f"{self.alias(draw, name)} {{ {self.object(draw, target, depth + 1)} }}")
                else:
                    args = self.connection_args(draw, target)
                    parts.append(f"{self.alias(draw, name)}{args} {self.connection(draw, target, depth + 1)}")
        if not parts:
            parts.append("id")
        body = " ".join(parts)
        if draw(st.integers(0, 4)) == 0:
            body = f"... on {e.type_name} {{ {body} }}"
        if draw(st.integers(0, 6)) == 0:
            body += draw(st.sampled_from([" id @include(if: false)", " skipped: __typename @skip(if: true)"]))
        return body

    def connection(self, draw, node: ModelNode, depth: int) -> str:
        parts = []
        if draw(st.booleans()):
            parts.append(self.alias(draw, "totalCount"))
        if draw(st.booleans()):
            info = draw(
                st.lists(
                    st.sampled_from(["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]),
                    min_size=1,
                    unique=True,
                )
            )
            parts.append("pageInfo { " + " ".join(info) + " }")
        shape = draw(st.sampled_from(["nodes", "edges", "both"]))
        if shape in ("nodes", "both"):
            parts.append(f"nodes {{ {self.object(draw, node, depth)} }}")
        if shape in ("edges", "both"):
            cursor = "cursor " if draw(st.booleans()) else ""
            parts.append(f"edges {{ {cursor}node {{ {self.object(draw, node, depth)} }} }}")
        return "{ " + " ".join(parts) + " }"

    def aggregate(self, draw, node: ModelNode) -> str:
        e = node.exposure
        args = []
        if draw(st.booleans()):
            args.append(f"where: {{{self.where(draw, node)}}}")
        groupable = [s for s in node.scalars if s.kind in ("enum", "bool", "date") and s.name not in e.pii]
        figures = [to_camel_case(f.name) for f in e.figures]
        measures = "count"
        if figures and draw(st.booleans()):  # the domain's figures (办结率 ...), judged on the request's day
            chosen = draw(st.lists(st.sampled_from(figures), min_size=1, max_size=3, unique=True))
            measures = f"count figures {{ {' '.join(chosen)} }}"
        selection = measures
        if groupable and draw(st.booleans()):
            key = to_camel_case(draw(st.sampled_from(groupable)).name)
            args.append(f"groupBy: [{{{key}: true}}]")
            if draw(st.booleans()):
                args.append(f"having: {{count: {{gt: {draw(st.sampled_from([0, 1, 5]))}}}}}")
            if figures and draw(st.booleans()):
                ordered = draw(st.sampled_from(figures))
                args.append(f"orderBy: [{{{ordered}: {draw(st.sampled_from(['ASC', 'DESC']))}}}]")
            selection = f"{measures} groups {{ {measures} keys {{ {key} }} }}"
        return f"{e.plural}Aggregate{'(' + ', '.join(args) + ')' if args else ''} {{ {selection} }}"

    def operation(self, draw) -> str:
        roots = []
        fragments = []
        variables = []
        for i in range(draw(st.integers(1, 2))):
            node = draw(st.sampled_from(self.nodes))
            e = node.exposure
            kind = draw(st.sampled_from(["list", "list", "list", "one", "node", "aggregate"]))
            if kind == "list":
                body = self.connection(draw, node, 1)
                if draw(st.integers(0, 4)) == 0:
                    fragments.append(f"fragment F{i} on {e.type_name}Connection {body}")
                    body = f"{{ ...F{i} }}"
                # $a<i> and $b<i>: a cursor to page on from (none on the first run).
                variables += [f"$a{i}: String", f"$b{i}: String"]
                args = self.connection_args(draw, node, f"after: $a{i}, before: $b{i}")
                roots.append(f"r{i}: {e.plural}{args} {body}")
            elif kind in ("one", "node"):
                pk = draw(st.sampled_from([1, 2, 3, 5, 20, 44, 99999]))
                gid = to_global_id(e.type_name, pk)
                field = f'{e.singular}(id: "{gid}")' if kind == "one" else f'node(id: "{gid}")'
                inner = self.object(draw, node, 1)
                if kind == "node":
                    inner = f"... on {e.type_name} {{ {inner} }}"
                roots.append(f"r{i}: {field} {{ {inner} }}")
            else:
                roots.append(f"r{i}: {self.aggregate(draw, node)}")
        definitions = f"({', '.join(variables)})" if variables else ""
        return f"query{definitions} {{ " + " ".join(roots) + " } " + " ".join(fragments)


def operations(registry: Registry) -> st.SearchStrategy[str]:
    reads = Reads(registry)
    return st.composite(lambda draw: reads.operation(draw))()
