"""The generator is an engine: it imports nothing of Sanji's, and serves an unrelated model set
(tests/engine_models.py, a lending library) under that set's own policy, hooks and time zone, on
the compiled path and the resolvers alike."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig
from tortoise.context import TortoiseContext
from tortoise.expressions import Q

from schema.generator.execution import COMPILED_READS, encode_response, executor_for
from schema.generator.ids import to_global_id
from schema.generator.mutations import MutationBuilder
from schema.generator.policy import PII_READS, PUBLIC, Access, Op, grant
from schema.generator.registry import Registry
from schema.generator.spec import ALL, MUTATIONS, Exposure
from tests.engine_models import Book, Branch, Genre, Loan, Member

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "schema" / "generator"
SANJI_PACKAGES = ("api", "schema", "seeds", "admin_ui", "migrations", "tests", "benchmarks")


def _sanji_module(name: str) -> bool:
    """Whether a module name is Sanji's own (the engine's package and the bare `schema` package, whose
    __init__ is only a docstring, excepted)."""
    top = name.split(".")[0]
    return top in SANJI_PACKAGES and name != "schema" and not name.startswith("schema.generator")


def test_the_engine_imports_nothing_of_sanjis():
    modules = sorted(f"schema.generator.{p.stem}" for p in ENGINE.glob("*.py") if p.stem != "__init__")
    program = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = [name for name in json.loads(done.stdout) if _sanji_module(name)]
    assert loaded == [], f"importing the engine loaded Sanji's modules: {loaded}"


def test_no_engine_module_names_a_sanji_module_even_in_a_function():
    found = []
    for path in sorted(ENGINE.glob("*.py")):
        for statement in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(statement, ast.Import):
                names = [alias.name for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
                names = [statement.module]
            else:
                continue
            found += [f"{path.name}:{statement.lineno} {n}" for n in names if _sanji_module(n)]
    assert found == [], f"engine modules import Sanji's: {found}"


# -- the library's policy: a caller's area is its branch; a chief librarian's is every branch


@dataclass(frozen=True)
class Patron:
    role: str = PUBLIC
    branch_id: int | None = None
    key_prefix: str = ""
    key_scopes: frozenset[str] | None = None

    @property
    def anonymous(self) -> bool:
        return self.role == PUBLIC


class BranchPolicy:
    default_access = Access()  # a model whose exposure names none: nobody
    area_words = "your branch"
    sign_in_hint = "show your library card at the desk to borrow or change anything"

    def caller(self, context: dict[str, Any]) -> Patron:
        return context.get("patron") or Patron()

    async def area(self, caller: Patron, *, fresh: bool = False) -> int | None:
        if caller.role == "CHIEF":
            return None
        return caller.branch_id or 0  # 0: no branch, no rows

    def within(self, model, scope: tuple[str, ...], area: int, *, per_row: bool, counted: bool = False) -> Q:
        if not area:
            return Q(id__in=[])
        condition = Q(id__in=[])
        for path in scope:
            condition |= Q(id=area) if path == "id" else Q(**{f"{path}_id": area})
        return condition

    def branches(self, model, scope: tuple[str, ...], area: int) -> list[Q]:
        if not area:
            return [Q(id__in=[])]
        return [Q(id=area) if path == "id" else Q(**{f"{path}_id": area}) for path in scope]

    def moves_areas(self, model) -> bool:
        return model is Branch


@dataclass
class Ledger:
    """Hooks that keep every generated write in a list."""

    writes: list[tuple[str, str, int, dict | None, dict | None]] = field(default_factory=list)

    def snapshot(self, obj, hidden: tuple[str, ...]) -> dict[str, Any]:
        return {"title": getattr(obj, "title", None), "hidden": sorted(hidden)}

    async def written(self, context, op: Op, type_name: str, pk: int, *, before=None, after=None) -> None:
        self.writes.append((op.value, type_name, pk, before, after))


class Keep:
    """A kind of personal data: a phone keeps its first 2 and last 2 digits."""

    head = 2
    tail = 2


STAFF = {"LIBRARIAN": grant(Op.READ, Op.CREATE, Op.UPDATE, Op.DELETE), "CHIEF": grant(*Op, everywhere=True)}
EXPOSURES = [
    Exposure(
        Branch,
        "A branch of the library",
        plural="branches",
        access=Access({role: grant(Op.READ, everywhere=True) for role in (PUBLIC, "READER", *STAFF)}),
    ),
    Exposure(
        Book,
        "A book on a branch's shelves",
        plural="books",
        relations=("branch",),
        reverse=("loans",),
        create=("branch", "title", "genre", "pages", "shelved_at"),
        update=("title", "pages"),
        mutations=MUTATIONS,
        access=Access(
            {PUBLIC: grant(Op.READ, everywhere=True), "READER": grant(Op.READ, everywhere=True), **STAFF},
            scope=("branch",),
        ),
    ),
    Exposure(
        Member,
        "A card holder of a branch",
        plural="members",
        relations=("branch",),
        reverse=("loans",),
        pii={"phone": Keep()},
        access=Access(
            {"READER": grant(Op.READ), **STAFF}, scope=("branch",), clear_roles=frozenset({"LIBRARIAN"})
        ),
    ),
    Exposure(
        Loan,
        "A book lent to a member",
        plural="loans",
        relations=("book", "member"),
        aggregatable=ALL,
        access=Access(STAFF, scope=("book__branch",)),
    ),
]

LIST = """query($where: BookWhere) {
  books(where: $where, orderBy: [{shelvedAt: DESC}], first: 3) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id title genre pages shelvedAt branch { name } }
  }
}"""
MEMBERS = """{ members(orderBy: [{name: ASC}]) {
  nodes { name phone branch { name } loans { totalCount nodes { lentAt book { title } } } }
} }"""
AGGREGATE = """{ loansAggregate(groupBy: [{returned: true}]) { count groups { keys { returned } count } } }"""
CREATE = """mutation($input: CreateBookInput!) { createBook(input: $input) { id title shelvedAt } }"""


@pytest.fixture
async def library(empty_url):
    """The library's own database and schema, served by the engine alone."""
    config = {
        "connections": {"default": empty_url},
        "apps": {"library": {"models": ["tests.engine_models"], "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        await ctx.generate_schemas()
        yield await _fill()


async def _fill() -> dict[str, Any]:
    import datetime as dt

    north = await Branch.create(name="North")
    south = await Branch.create(name="South")
    shelved = dt.datetime(2026, 1, 10, 23, 30, tzinfo=dt.UTC)  # 2026-01-11 00:30 in Paris
    books = []
    for i, (branch, genre) in enumerate(
        [(north, Genre.NOVEL), (north, Genre.POETRY), (south, Genre.HISTORY)] * 2
    ):
        books.append(
            await Book.create(
                branch=branch,
                title=f"Book {i}",
                genre=genre,
                pages=100 + i,
                shelved_at=shelved + dt.timedelta(days=i),
            )
        )
    ann = await Member.create(branch=north, name="Ann", phone="0612345678")
    bob = await Member.create(branch=south, name="Bob", phone="0698765432")
    for i, book in enumerate(books):
        await Loan.create(
            book=book, member=ann if book.branch_id == north.pk else bob, lent_at=shelved, returned=i % 2 == 0
        )
    return {"north": north, "south": south, "books": books, "ann": ann}


def _schema(ledger: Ledger) -> strawberry.Schema:
    registry = Registry(EXPOSURES, BranchPolicy(), ledger, zone="Europe/Paris").build()
    query = type("Query", (), {"__annotations__": {}, **registry.query_fields()})
    mutation = type("Mutation", (), {"__annotations__": {}, **MutationBuilder(registry).fields()})
    return strawberry.Schema(
        query=strawberry.type(query),
        mutation=strawberry.type(mutation),
        config=StrawberryConfig(scalar_map=registry.scalars),
        execution_context_class=executor_for(registry),
    )


async def _run(schema, query: str, patron: Patron | None = None, compiled: bool = True, **variables):
    context = {"patron": patron, COMPILED_READS: compiled}
    result = await schema.execute(query, variable_values=variables, context_value=context)
    errors = [
        getattr(e.original_error, "code", None) or (e.extensions or {}).get("code") or e.message
        for e in result.errors or []
    ]
    context["messages"] = [e.message for e in result.errors or []]
    data = json.loads(encode_response({"data": result.data}))["data"] if result.data is not None else None
    return data, errors, context


async def _both(schema, query: str, patron: Patron | None = None, **variables):
    """The answer on the compiled path, held equal to the resolvers' (and its clear reads)."""
    compiled = await _run(schema, query, patron, True, **variables)
    resolved = await _run(schema, query, patron, False, **variables)
    assert compiled[:2] == resolved[:2], f"compiled {compiled[:2]} != resolvers {resolved[:2]}"
    assert sorted(compiled[2].get(PII_READS, [])) == sorted(resolved[2].get(PII_READS, []))
    return compiled


async def test_an_unrelated_model_set_is_served_under_its_own_policy(library):
    schema = _schema(Ledger())
    north = library["north"]

    # Anyone reads every book; date-times are told in the library's zone (Paris, +01:00 in winter).
    data, errors, _ = await _both(schema, LIST)
    assert errors == []
    books = data["books"]
    assert books["totalCount"] == 6 and books["pageInfo"]["hasNextPage"] is True
    assert [b["title"] for b in books["nodes"]] == ["Book 5", "Book 4", "Book 3"]
    assert books["nodes"][0]["shelvedAt"] == "2026-01-16T00:30:00+01:00"
    assert books["nodes"][0]["genre"] == "HISTORY" and books["nodes"][0]["branch"] == {"name": "South"}
    cursor = books["pageInfo"]["endCursor"]
    data, errors, _ = await _both(schema, LIST.replace("first: 3", f'first: 3, after: "{cursor}"'))
    assert [b["title"] for b in data["books"]["nodes"]] == ["Book 2", "Book 1", "Book 0"]
    where = {"genre": {"eq": "POETRY"}, "branch": {"name": {"eq": "North"}}}
    data, errors, _ = await _both(schema, LIST, where=where)
    assert [b["title"] for b in data["books"]["nodes"]] == ["Book 4", "Book 1"]

    # Members are not public; a reader sees its branch's, phones masked; a librarian in clear (recorded).
    data, errors, _ = await _both(schema, MEMBERS)
    assert data is None and errors == ["UNAUTHENTICATED"]
    reader = Patron("READER", north.pk)
    data, errors, _ = await _both(schema, "{ members { nodes { name phone } } }", reader)
    assert errors == [] and data["members"]["nodes"] == [{"name": "Ann", "phone": "06******78"}]
    data, errors, _ = await _both(schema, MEMBERS, reader)
    assert data is None and set(errors) == {"FORBIDDEN"}  # readers do not read loans
    librarian = Patron("LIBRARIAN", north.pk)
    data, errors, context = await _both(schema, MEMBERS, librarian)
    assert errors == []
    (ann,) = data["members"]["nodes"]
    assert (ann["name"], ann["phone"], ann["branch"]) == ("Ann", "0612345678", {"name": "North"})
    assert (
        ann["loans"]["totalCount"] == 4 and ann["loans"]["nodes"][0]["lentAt"] == "2026-01-11T00:30:00+01:00"
    )
    assert context[PII_READS] == [("Member", library["ann"].pk, "phone")]

    # Loans reach a branch through their book: the librarian's aggregate counts the North's only.
    data, errors, _ = await _both(schema, AGGREGATE, librarian)
    assert errors == [] and data["loansAggregate"]["count"] == 4
    assert sorted((g["keys"]["returned"], g["count"]) for g in data["loansAggregate"]["groups"]) == [
        (False, 2),
        (True, 2),
    ]
    data, errors, _ = await _both(schema, AGGREGATE, Patron("CHIEF"))
    assert data["loansAggregate"]["count"] == 6


async def test_writes_keep_to_the_policys_area_and_reach_the_hooks(library):
    ledger = Ledger()
    schema = _schema(ledger)
    north, south = library["north"], library["south"]
    book = {"title": "New", "genre": "NOVEL", "pages": 10, "shelvedAt": "2026-07-01T10:00:00"}

    data, errors, context = await _run(
        schema, CREATE, None, input={**book, "branchId": to_global_id("Branch", north.pk)}
    )
    assert errors == ["UNAUTHENTICATED"]
    assert context["messages"] == ["show your library card at the desk to borrow or change anything"]
    librarian = Patron("LIBRARIAN", north.pk)
    data, errors, _ = await _run(
        schema, CREATE, librarian, input={**book, "branchId": to_global_id("Branch", south.pk)}
    )
    assert errors == ["FORBIDDEN"] and ledger.writes == []

    data, errors, _ = await _run(
        schema, CREATE, librarian, input={**book, "branchId": to_global_id("Branch", north.pk)}
    )
    assert errors == []
    # A time without an offset is the library's wall-clock time (Paris, +02:00 in summer).
    assert data["createBook"]["shelvedAt"] == "2026-07-01T10:00:00+02:00"
    created = await Book.get(title="New")
    assert created.shelved_at.astimezone(__import__("datetime").UTC).hour == 8
    assert ledger.writes == [("create", "Book", created.pk, None, {"title": "New", "hidden": []})]

    south_book = next(b for b in library["books"] if b.branch_id == south.pk)
    update = 'mutation($id: ID!) { updateBook(id: $id, input: {title: "Mine"}) { title } }'
    data, errors, _ = await _run(schema, update, librarian, id=to_global_id("Book", south_book.pk))
    assert errors == ["NOT_FOUND"]  # a librarian reads (and so finds) its own branch's books only
    assert (await Book.get(id=south_book.pk)).title == south_book.title
    data, errors, _ = await _run(schema, update, Patron("CHIEF"), id=to_global_id("Book", south_book.pk))
    assert errors == [] and data["updateBook"]["title"] == "Mine"
    assert ledger.writes[-1][:3] == ("update", "Book", south_book.pk)


def test_each_registry_tells_date_times_in_its_own_zone():
    import datetime as dt

    paris = Registry(EXPOSURES, BranchPolicy(), zone="Europe/Paris")
    tokyo = Registry(EXPOSURES, BranchPolicy(), zone="Asia/Tokyo")
    moment = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    serialize = [r.scalars[dt.datetime].serialize for r in (paris, tokyo)]
    assert [s(moment) for s in serialize] == ["2026-01-01T13:00:00+01:00", "2026-01-01T21:00:00+09:00"]
    assert paris.today(lambda: moment.timestamp()) == dt.date(2026, 1, 1)
    assert tokyo.today(lambda: dt.datetime(2026, 1, 1, 16, 0, tzinfo=dt.UTC).timestamp()) == dt.date(
        2026, 1, 2
    )
