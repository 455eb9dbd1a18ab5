"""The GraphQL examples of the README and docs/workflow.md run as written, against the fixture.

Each ```graphql block is sent as it stands, signed in as the user an `<!-- as: USERNAME -->` line
just above it names (the administrator otherwise), on a private copy of the Qujialing fixture, in
the order the documents give them. It must answer without errors; where a ```json block follows
it, that is the answer it must give.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import serving

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs/workflow.md")
BLOCK = re.compile(
    r"(?:<!-- as: (?P<user>\w+) -->\n)?```graphql\n(?P<query>.*?)```\n(?:\n?```json\n(?P<answer>.*?)```\n)?",
    re.S,
)


@dataclass(frozen=True)
class Example:
    document: str
    line: int
    user: str
    query: str
    answer: dict | None


def examples(document: str) -> list[Example]:
    text = (ROOT / document).read_text(encoding="utf-8")
    return [
        Example(
            document,
            text.count("\n", 0, found.start("query")),
            found["user"] or "admin",
            found["query"],
            json.loads(found["answer"]) if found["answer"] else None,
        )
        for found in BLOCK.finditer(text)
    ]


def test_the_documents_hold_examples_to_run_and_each_is_read():
    for document in DOCUMENTS:
        text, found = (ROOT / document).read_text(encoding="utf-8"), examples(document)
        assert found, f"{document}: no ```graphql example"
        assert text.count("```graphql") == len(found), f"{document}: a graphql block the test cannot read"
        answers = sum(example.answer is not None for example in found)
        assert text.count("```json") == answers, f"{document}: a json answer not right after its query"


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_the_examples_run_as_written(seeded_url, document):
    async with serving(seeded_url) as anonymous:
        signed_in = {}
        for example in examples(document):
            if example.user not in signed_in:
                signed_in[example.user] = await anonymous.sign_in(example.user)
            where = f"{document}, line {example.line + 1}"
            body = await signed_in[example.user](example.query)
            assert "errors" not in body, f"{where}: {body['errors']}"
            if example.answer is not None:
                assert body == example.answer, f"{where}: the answer differs from the one written"
