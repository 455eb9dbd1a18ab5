"""Errors do not depend on which resolver finishes first (schema.generator.execution.OrderedErrors)."""

import asyncio

import strawberry

from schema.generator.execution import OrderedErrors

# How long each item takes to fail: the later items fail first.
DELAYS = [0.03, 0.0, 0.01]


@strawberry.type
class Item:
    index: int

    @strawberry.field
    async def name(self) -> str:
        await asyncio.sleep(DELAYS[self.index])
        raise ValueError(f"item {self.index} has no name")

    @strawberry.field
    async def note(self) -> str | None:
        await asyncio.sleep(0.02 - DELAYS[self.index] / 2)
        raise ValueError(f"item {self.index} has no note")


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item] | None:
        return [Item(index=i) for i in range(len(DELAYS))]

    @strawberry.field
    def notes(self) -> list[Item]:
        return [Item(index=i) for i in range(len(DELAYS))]

    @strawberry.field
    def item(self, index: int) -> Item:
        return Item(index=index)


SCHEMA = strawberry.Schema(Query, execution_context_class=OrderedErrors)
PLAIN = strawberry.Schema(Query)


async def test_a_list_nulled_by_its_items_reports_the_first_item_whatever_finishes_first():
    plain = await PLAIN.execute("{ items { index name } }")
    assert [e.path for e in plain.errors] == [["items", 1, "name"]], "graphql-core reports the fastest"
    result = await SCHEMA.execute("{ items { index note name } }")
    assert result.data == {"items": None}
    # Only the item the list reports: the other items' errors are under the nulled list.
    assert [(e.path, e.message) for e in result.errors] == [(["items", 0, "name"], "item 0 has no name")]


async def test_errors_are_listed_in_the_order_of_the_response():
    result = await SCHEMA.execute("{ b: notes { index note } a: notes { note } }")
    assert [e.path for e in result.errors] == [
        ["b", 0, "note"],
        ["b", 1, "note"],
        ["b", 2, "note"],
        ["a", 0, "note"],
        ["a", 1, "note"],
        ["a", 2, "note"],
    ]
    assert result.data["b"] == [{"index": i, "note": None} for i in range(3)]


async def test_an_object_nulled_by_its_fields_reports_the_first_field_whatever_finishes_first():
    query = "{ slow: item(index: 0) { name } fast: item(index: 1) { name } }"
    plain = await PLAIN.execute(query)
    assert [e.path for e in plain.errors] == [["fast", "name"]], "graphql-core reports the fastest"
    result = await SCHEMA.execute(query)
    assert result.data is None
    assert [e.path for e in result.errors] == [["slow", "name"]]
