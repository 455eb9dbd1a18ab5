"""The admin UI's sign-in over time: renewed tokens, the browser's cookie, and reads cached per user."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import replace

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from streamlit.testing.v1 import AppTest

from admin_ui import session
from admin_ui.session import HELD_KEY, Auth, Held
from api.settings import Settings
from tests.ui_support import UI_SCRIPT, counting_requests, graphql_at, run, signed_in, signing_in


def expired(token: str) -> str:
    """The same access token as the API would see it fifteen minutes later: past its end."""
    key = Settings.from_env().secret_key  # the test API's, from the same environment
    claims = jwt.decode(token, key, algorithms=["HS256"])
    return jwt.encode({**claims, "exp": int(time.time()) - 60}, key, algorithm="HS256")


def held(app: AppTest) -> Held:
    return app.session_state[HELD_KEY]


async def test_an_expired_access_token_is_renewed_without_signing_out(api_url):
    seen = {}

    def later(app):  # the access token's fifteen minutes are over; the UI does not know it yet
        seen["refresh"] = held(app).auth.refresh_token
        held(app).auth = replace(held(app).auth, token=expired(held(app).auth.token))

    with counting_requests() as requests:
        app = await asyncio.to_thread(run, api_url, UI_SCRIPT, None, None, [signing_in("supervisor"), later])
    assert not app.exception, app.exception
    assert not app.error and app.title[0].value == "平台覆盖率"
    assert [(m.label, m.value) for m in app.metric] == [("覆盖率", "100.0%"), ("覆盖率", "81.6%")]
    assert app.session_state["auth"].username == "supervisor"  # still signed in
    renewed = held(app).auth
    assert renewed.refresh_token != seen["refresh"] and renewed.expires_at > time.time() + 600
    assert requests["/auth/token"] == 2  # the sign-in and one renewal
    me = graphql_at(api_url, session.ME, renewed.token)["myPermissions"]
    assert me["role"] == "SUPERVISOR"


async def test_a_token_about_to_expire_is_renewed_before_it_is_used(api_url):
    def nearly_over(app):
        held(app).auth = replace(held(app).auth, expires_at=time.time() + 5)

    with counting_requests() as requests:
        app = await asyncio.to_thread(run, api_url, UI_SCRIPT, None, None, [signing_in("admin"), nearly_over])
    assert not app.exception, app.exception
    assert not app.error and app.session_state["auth"].username == "admin"
    assert held(app).auth.expires_at > time.time() + 600
    assert requests["/auth/token"] == 2


async def test_a_refused_renewal_signs_out_cleanly(api_url):
    kept = {}

    def ended_elsewhere(app):  # the session ended behind the UI's back, then its access token expired
        kept["held"] = held(app)
        bearer = {"Authorization": f"Bearer {held(app).auth.token}"}
        assert httpx.post(f"{api_url}/auth/logout", headers=bearer).status_code == 204
        held(app).auth = replace(held(app).auth, token=expired(held(app).auth.token))

    app = await asyncio.to_thread(
        run, api_url, UI_SCRIPT, None, None, [signing_in("supervisor"), ended_elsewhere]
    )
    assert not app.exception, app.exception
    assert app.session_state["auth"] is None and app.session_state[HELD_KEY] is None
    assert app.title[0].value == "三级政务服务平台" and app.button[0].label == "登录"  # the sign-in form
    assert app.info[0].value == "登录已结束（已在别处退出或已过期），请重新登录。" and not app.error
    assert kept["held"].ended


def test_two_tabs_renewing_one_sign_in_exchange_its_refresh_token_once(api_url, monkeypatch):
    monkeypatch.setenv("SANJI_API_URL", api_url)
    issued = httpx.post(f"{api_url}/auth/token", data={"username": "admin", "password": "sanji-demo"}).json()
    one = Held(Auth("admin", issued["access_token"], "ADMIN", None, issued["refresh_token"]))
    stale, start, results = one.auth.token, threading.Barrier(2), []

    def tab() -> None:
        start.wait()
        results.append(one.renew(stale, {}))

    with counting_requests() as requests:
        tabs = [threading.Thread(target=tab) for _ in range(2)]
        for thread in tabs:
            thread.start()
        for thread in tabs:
            thread.join()
    assert requests["/auth/token"] == 1 and not one.ended
    assert results[0] == results[1] and results[0].token != stale
    assert graphql_at(api_url, session.ME, results[0].token)["myPermissions"]["role"] == "ADMIN"


def read_address() -> None:
    import streamlit as st

    from admin_ui import session

    room = '{ organizations(where: {code: {eq: "QJL-H1-R01"}}) { nodes { id address } } }'
    st.session_state["room"] = session.query(room)["organizations"]["nodes"][0]


def move_room() -> None:
    import streamlit as st

    from admin_ui import session

    move = """mutation($id: ID!, $input: UpdateOrganizationInput!) {
      updateOrganization(id: $id, input: $input) { id } }"""
    variables = {"id": st.session_state["room_id"], "input": {"address": st.session_state["address"]}}
    st.session_state["written"] = session.write("flash", move, variables, "done")


def as_user(url: str, script, auth: Auth, **state) -> tuple[AppTest, int]:
    """One run of `script` (a new browser session) signed in as `auth`, and its GraphQL requests."""
    os.environ["SANJI_API_URL"] = url
    try:
        app = AppTest.from_function(script, default_timeout=30)
        app.session_state["auth"] = auth
        for key, value in state.items():
            app.session_state[key] = value
        with counting_requests() as requests:
            app.run()
        assert not app.exception, app.exception
        return app, requests["/graphql"]
    finally:
        del os.environ["SANJI_API_URL"]


def test_reads_are_cached_for_their_own_user_only(shared_api_url):
    supervisor, clerk = signed_in(shared_api_url, "supervisor"), signed_in(shared_api_url, "hall_clerk")

    def count_cases() -> None:
        import streamlit as st

        from admin_ui import session

        st.session_state["cases"] = session.query("{ cases { totalCount } }")["cases"]["totalCount"]

    first, asked = as_user(shared_api_url, count_cases, supervisor)
    again, asked_again = as_user(shared_api_url, count_cases, supervisor)  # a new session of the same user
    theirs, asked_theirs = as_user(shared_api_url, count_cases, clerk)
    assert (asked, asked_again, asked_theirs) == (1, 0, 1)
    assert again.session_state["cases"] == first.session_state["cases"]
    assert theirs.session_state["cases"] < first.session_state["cases"]  # the clerk's hall's own


def test_a_write_clears_the_writers_cached_reads_and_no_one_elses(api_url):
    admin, supervisor = signed_in(api_url, "admin"), signed_in(api_url, "supervisor")
    before, _ = as_user(api_url, read_address, admin)
    room = before.session_state["room"]
    as_user(api_url, read_address, supervisor)
    moved = f"{room['address'] or ''} (moved)"
    wrote, _ = as_user(api_url, move_room, admin, room_id=room["id"], address=moved)
    assert wrote.session_state["written"] is True
    mine, asked_mine = as_user(api_url, read_address, admin)
    theirs, asked_theirs = as_user(api_url, read_address, supervisor)
    assert (asked_mine, mine.session_state["room"]["address"]) == (1, moved)  # at once, for the writer
    # Another user's reads stay until their time is up (READ_TTL_SECONDS).
    assert (asked_theirs, theirs.session_state["room"]["address"]) == (0, room["address"])


def test_a_refused_write_clears_the_writers_cached_reads_too(api_url):
    clerk = signed_in(api_url, "hall_clerk")
    before, _ = as_user(api_url, read_address, clerk)
    room = before.session_state["room"]
    wrote, _ = as_user(api_url, move_room, clerk, room_id=room["id"], address="anywhere")
    assert wrote.session_state["written"] is False  # refused: the data may have changed meanwhile
    _, asked = as_user(api_url, read_address, clerk)
    assert asked == 1


@pytest.fixture
def ui_routes():
    """The admin UI server's own routes, as st.App serves them beside Streamlit's."""
    return Starlette(routes=session.ROUTES)


def ui_client(app: Starlette, scheme: str = "http") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=f"{scheme}://ui.test")


SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


async def test_a_sign_ins_ticket_becomes_an_httponly_strict_cookie_once(ui_routes):
    kept, ticket = session.STORE.open(Auth("admin", "token", "ADMIN", None))
    async with ui_client(ui_routes) as ui:
        claimed = await ui.post(session.CLAIM_PATH, json={"ticket": ticket}, headers=SAME_ORIGIN)
        again = await ui.post(session.CLAIM_PATH, json={"ticket": ticket}, headers=SAME_ORIGIN)
    assert claimed.status_code == 204
    cookie = claimed.headers["set-cookie"]
    name, _, rest = cookie.partition("=")
    value = rest.split(";")[0]
    assert name == session.COOKIE and session.STORE.find(value) is kept
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert attributes == {"httponly", "path=/", "samesite=strict"}  # no expiry: gone with the browser
    assert again.status_code == 403 and "set-cookie" not in again.headers


async def test_over_https_the_cookie_is_secure_and_host_only(ui_routes):
    _, ticket = session.STORE.open(Auth("admin", "token", "ADMIN", None))
    async with ui_client(ui_routes, "https") as ui:
        claimed = await ui.post(session.CLAIM_PATH, json={"ticket": ticket}, headers=SAME_ORIGIN)
    cookie = claimed.headers["set-cookie"]
    assert cookie.startswith("__Host-sanji-ui-session=") and "; secure" in cookie.lower()


async def test_another_site_cannot_sign_a_browser_in_or_out(ui_routes):
    kept, ticket = session.STORE.open(Auth("admin", "token", "ADMIN", None))
    async with ui_client(ui_routes) as ui:
        cross = await ui.post(
            session.CLAIM_PATH, json={"ticket": ticket}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        other_origin = await ui.post(
            session.CLAIM_PATH, json={"ticket": ticket}, headers={"Origin": "http://evil.test"}
        )
        as_form = await ui.post(session.CLAIM_PATH, data={"ticket": ticket}, headers=SAME_ORIGIN)
        forget = await ui.post(session.FORGET_PATH, headers={"Sec-Fetch-Site": "same-site"})
        own = await ui.post(session.CLAIM_PATH, json={"ticket": ticket}, headers={"Origin": "http://ui.test"})
    assert [r.status_code for r in (cross, other_origin, as_form, forget)] == [403, 403, 403, 403]
    assert own.status_code == 204 and not kept.ended  # the refused requests spent nothing


async def test_forgetting_ends_the_sign_in_and_clears_the_cookie(ui_routes):
    kept, ticket = session.STORE.open(Auth("admin", "token", "ADMIN", None))
    async with ui_client(ui_routes) as ui:
        await ui.post(session.CLAIM_PATH, json={"ticket": ticket}, headers=SAME_ORIGIN)
        value = ui.cookies[session.COOKIE]
        forgot = await ui.post(session.FORGET_PATH, headers=SAME_ORIGIN)
    assert forgot.status_code == 204 and kept.ended and session.STORE.find(value) is None
    cleared = forgot.headers.get_list("set-cookie")
    assert {c.split("=")[0] for c in cleared} == {session.COOKIE, session.SECURE_COOKIE}
    assert all("max-age=0" in c.lower() for c in cleared)
