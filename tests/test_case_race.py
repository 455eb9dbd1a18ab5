"""Two clerks accept the same case at the same moment: exactly one wins, the other gets CONFLICT.

The requests run concurrently through the ASGI app on real connections (on PostgreSQL, two
transactions in two sessions); the case keeps one acceptance event whatever the interleaving.
"""

from __future__ import annotations

import asyncio

from api import db
from api.models.case import CaseAction, CaseEvent
from api.models.user import Role
from api.services.users import create_user
from api.settings import Settings
from tests.conftest import DEMO_PASSWORD, serving

ROUNDS = 6


async def test_of_two_clerks_accepting_at_once_exactly_one_wins(seeded_url):
    async with db.database(Settings(database_url=seeded_url)):
        await create_user(
            "clerk2", DEMO_PASSWORD, Role.CLERK, organization_code="QJL-ZWFW", enforce_policy=False
        )
    async with serving(seeded_url) as anonymous:
        first, second = await anonymous.sign_in("clerk"), await anonymous.sign_in("clerk2")
        item = (await first.data('{ items(where: {code: {eq: "XK-004"}}) { nodes { id } } }'))["items"][
            "nodes"
        ][0]
        submit = (
            f'mutation {{ submitCase(input: {{itemId: "{item["id"]}", applicantType: PERSON, '
            'applicantName: "赵六", applicantIdNumber: "11010519491231002X", applicantPhone: "13800138000"}) '
            "{ case { id number } } }"
        )
        numbers = []
        for _ in range(ROUNDS):
            case = (await first.data(submit))["submitCase"]["case"]
            numbers.append(case["number"])
            accept = f'mutation {{ acceptCase(id: "{case["id"]}", version: 1) {{ status version }} }}'
            answers = await asyncio.gather(first(accept), second(accept))
            won = [a for a in answers if not a.get("errors")]
            lost = [a for a in answers if a.get("errors")]
            assert len(won) == 1 and len(lost) == 1, answers
            assert won[0]["data"]["acceptCase"] == {"status": "ACCEPTED", "version": 2}
            assert lost[0]["errors"][0]["extensions"]["code"] == "CONFLICT"
    async with db.database(Settings(database_url=seeded_url)):
        accepted = await CaseEvent.filter(case__number__in=numbers, action=CaseAction.ACCEPT).count()
    assert accepted == ROUNDS
