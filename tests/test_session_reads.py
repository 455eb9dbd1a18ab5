"""A signed-in caller's repeated read is one statement: the session check and the compiled read
together, the read's answer used only when the session row shows the same live caller."""

from __future__ import annotations

from api import db
from api.db import StatementLog
from api.models.org import Organization
from api.models.user import AuthSession, User
from api.settings import Settings
from tests.conftest import serving

QUERY = "query($n: Int) { cases(first: $n, orderBy: [{submittedAt: DESC}]) { totalCount nodes { number } } }"


async def _post(client, token: str, variables: dict | None = None):
    return await client.http.post(
        "/graphql",
        json={"query": QUERY, "variables": variables or {"n": 3}},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_a_repeated_signed_in_read_is_one_statement_with_its_session_check(seeded_url):
    async with serving(seeded_url) as api:
        clerk = await api.sign_in("hall_clerk")
        first = await _post(api, clerk.token)  # through the schema: session check, then the read
        assert first.status_code == 200 and "errors" not in first.json()
        with StatementLog.capture() as log:
            again = await _post(api, clerk.token)
        assert again.status_code == 200 and again.json() == first.json()
        assert len(log.statements) == 1, log.statements
        assert "auth_session" in log.statements[0] and "json_" in log.statements[0]
        # Other variables are another request: through the schema once, then alone again.
        other = await _post(api, clerk.token, {"n": 5})
        assert len(other.json()["data"]["cases"]["nodes"]) == 5


async def test_the_session_row_decides_whether_the_fused_answer_is_used(seeded_url):
    async with serving(seeded_url) as api:
        admin = await api.sign_in("admin")
        clerk = await api.sign_in("hall_clerk")
        mine = (await _post(api, clerk.token)).json()
        assert (await _post(api, clerk.token)).json() == mine  # now answered in one statement
        hall_total = mine["data"]["cases"]["totalCount"]

        # The clerk moves to the district: the next identical request reads the new area's rows.
        async with db.database(Settings(database_url=seeded_url)):
            root = await Organization.get(parent_id=None)
            user = await User.get(username="hall_clerk")
            await User.filter(id=user.pk).update(organization_id=root.pk)
        moved = (await _post(api, clerk.token)).json()
        assert moved["data"]["cases"]["totalCount"] > hall_total
        assert (await _post(api, clerk.token)).json() == moved

        # A deactivated user, then an ended session: refused at once, never the kept answer.
        async with db.database(Settings(database_url=seeded_url)):
            await User.filter(id=user.pk).update(active=False)
        refused = await _post(api, clerk.token)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await _post(api, admin.token)).status_code == 200
        assert (await _post(api, admin.token)).status_code == 200
        bearer = {"Authorization": f"Bearer {admin.token}"}
        assert (await api.http.post("/auth/logout", headers=bearer)).status_code == 204
        async with db.database(Settings(database_url=seeded_url)):
            assert await AuthSession.filter(revoked_at__isnull=False).exists()
        ended = await _post(api, admin.token)
        assert ended.status_code == 401 and "session has ended" in ended.json()["errors"][0]["message"]


async def test_a_fused_read_spends_the_callers_request_budget_once(seeded_url):
    async with serving(seeded_url, rate_limit_per_minute=3) as api:
        clerk = await api.sign_in("hall_clerk")
        answers = [await _post(api, clerk.token) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[1].headers["RateLimit-Remaining"] == "1"
