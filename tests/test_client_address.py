"""Whose address a request counts against: a forwarded address is believed only from a configured
proxy, or from the admin UI when it signs it; spoofing X-Forwarded-For changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from streamlit.testing.v1 import AppTest

from api import client_address, db
from api.models.audit import AuditAction, AuditEntry
from api.models.user import LoginThrottle, RateCounter
from api.settings import Settings, ui_signing
from tests.conftest import serving
from tests.ui_support import free_port

KEY = "k" * 40  # the installation's secret key in these tests
UI_KEY = client_address.derived_key(KEY)  # the UI client key a dev server derives from it
QUERY = {"query": "{ coverage { total } }"}


async def failed_sign_in(api, headers: dict[str, str], username: str = "nobody"):
    return await api.http.post("/auth/token", data={"username": username, "password": "x"}, headers=headers)


def claim(address: str, key: str = KEY, at: float | None = None) -> dict[str, str]:
    """The admin UI's claim, signed with the UI client key a dev server derives from `key`."""
    signed = client_address.sign(client_address.derived_key(key), address, time.time() if at is None else at)
    return {client_address.HEADER: signed}


async def throttled_addresses(url: str) -> dict[str, int]:
    async with db.database(Settings(database_url=url)):
        rows = await LoginThrottle.filter(username__startswith="ip:")
        return {row.username: row.failures for row in rows}


@asynccontextmanager
async def sanji_serve(url: str, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    """`sanji serve` as an operator starts it, in a process of its own, and a client of it."""
    port = free_port()
    environment = {**os.environ, "SANJI_DATABASE_URL": url, "SANJI_SECRET_KEY": KEY, **env}
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=environment, stderr=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            yield http
    finally:
        server.terminate()
        server.wait(timeout=30)


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(seeded_url):
    async with sanji_serve(seeded_url, SANJI_RATE_LIMIT_ANONYMOUS_PER_MINUTE="5") as http:
        locks = [
            (
                await http.post(
                    "/auth/token",
                    data={"username": f"guess{i}", "password": "x"},
                    headers={"X-Forwarded-For": f"198.51.100.{i}"},
                )
            ).status_code
            for i in range(31)
        ]
        budget = [
            (
                await http.post("/graphql", json=QUERY, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            ).status_code
            for i in range(6)
        ]
    assert locks[:30] == [401] * 30 and locks[30] == 429  # one address, locked after 30 failures
    assert budget == [200] * 5 + [429]  # one budget
    assert await throttled_addresses(seeded_url) == {"ip:127.0.0.1": 30}
    async with db.database(Settings(database_url=seeded_url)):
        assert set(await AuditEntry.all().values_list("ip", flat=True)) == {"127.0.0.1"}
        assert await RateCounter.filter(key__startswith="api:ip:").values_list("key", flat=True) == [
            "api:ip:127.0.0.1"
        ]


async def test_a_configured_proxy_names_the_client(seeded_url):
    async with serving(seeded_url, secret_key=KEY, trusted_proxies=("127.0.0.1", "10.0.0.0/8")) as api:
        # The client put its own guess first; the proxies appended what they saw.
        chain = "192.0.2.66, 203.0.113.9, 10.1.2.3"
        assert (await failed_sign_in(api, {"X-Forwarded-For": chain})).status_code == 401
    assert await throttled_addresses(seeded_url) == {"ip:203.0.113.9": 1}
    async with db.database(Settings(database_url=seeded_url)):
        assert (await AuditEntry.get(action=AuditAction.SIGN_IN_FAILED)).ip == "203.0.113.9"


async def test_the_admin_uis_signed_claim_names_the_person(seeded_url):
    async with serving(seeded_url, secret_key=KEY, ui_client_key=UI_KEY) as api:
        for address in ("203.0.113.7", "203.0.113.7", "2001:db8::5"):
            assert (await failed_sign_in(api, claim(address))).status_code == 401
        signed_in = await api.http.post(
            "/auth/token", data={"username": "admin", "password": "sanji-demo"}, headers=claim("203.0.113.8")
        )
        assert signed_in.status_code == 200
    assert await throttled_addresses(seeded_url) == {"ip:203.0.113.7": 2, "ip:2001:db8::5": 1}
    async with db.database(Settings(database_url=seeded_url)):
        assert (await AuditEntry.get(action=AuditAction.SIGN_IN)).ip == "203.0.113.8"


async def test_a_claim_the_ui_did_not_sign_is_refused_with_a_code(fresh_url):
    forged, stale = claim("203.0.113.7", key="another installation's key" * 2), claim("203.0.113.7", at=0)
    async with serving(fresh_url, secret_key=KEY, ui_client_key=UI_KEY) as api:
        on_graphql = await api.http.post("/graphql", json=QUERY, headers=forged)
        on_token = await failed_sign_in(api, stale)
        malformed = await api.http.post("/graphql", json=QUERY, headers={client_address.HEADER: "x"})
        # Bytes past ASCII where the signature goes (latin-1, as HTTP parsers pass them on).
        odd = await api.http.post(
            "/graphql", json=QUERY, headers={client_address.HEADER.encode(): b"203.0.113.7 1 \xe9"}
        )
    assert on_graphql.status_code == 400
    assert on_graphql.json() == {
        "errors": [
            {
                "message": "X-Sanji-Client is not signed by this installation's admin UI",
                "extensions": {"code": "BAD_CLIENT_ADDRESS"},
            }
        ]
    }
    assert (on_token.status_code, on_token.json()["error"]) == (400, "invalid_request")
    assert "was signed more than 120 s from now" in on_token.json()["error_description"]
    assert malformed.json()["errors"][0]["message"] == "X-Sanji-Client must be 'address time signature'"
    assert odd.status_code == 400
    assert (
        odd.json()["errors"][0]["message"] == "X-Sanji-Client is not signed by this installation's admin UI"
    )


def test_the_admin_ui_signs_with_the_key_the_api_derives():
    def page():
        import streamlit as st

        from admin_ui.api_client import client_headers

        st.session_state["headers"] = client_headers()

    app = AppTest.from_function(page)
    app.run()
    header = app.session_state["headers"][client_address.HEADER]
    key = Settings.from_env().ui_client_key  # the API's, from the same environment
    assert client_address.verify(key, header, time.time()) == "127.0.0.1"  # a browser on this machine


def test_in_production_the_api_and_the_ui_share_a_key_of_their_own():
    shared = {"SANJI_ENV": "production", "SANJI_UI_CLIENT_KEY": "u" * 40}
    assert ui_signing(shared) == ("u" * 40, ())  # the UI needs no other secret
    assert Settings.from_env({**shared, "SANJI_SECRET_KEY": "s" * 40}).ui_client_key == "u" * 40
    assert ui_signing({"SANJI_ENV": "production"})[0] is None  # no key: the UI claims nothing
    proxies = ui_signing({**shared, "SANJI_UI_TRUSTED_PROXIES": "10.0.0.0/8"})[1]
    assert client_address.forwarded_client("10.0.0.2", "203.0.113.4", proxies) == "203.0.113.4"


async def test_a_server_without_a_ui_key_takes_no_claim(fresh_url):
    async with serving(fresh_url, secret_key=KEY, ui_client_key=None) as api:
        response = await api.http.post("/graphql", json=QUERY, headers=claim("203.0.113.7"))
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "message": "this server takes no X-Sanji-Client claim: SANJI_UI_CLIENT_KEY is not set",
        "extensions": {"code": "BAD_CLIENT_ADDRESS"},
    }


def test_forwarded_addresses_may_carry_ports():
    proxies = client_address.networks(["10.0.0.1"])
    assert client_address.forwarded_client("10.0.0.1", "203.0.113.9:51234", proxies) == "203.0.113.9"
    assert client_address.forwarded_client("10.0.0.1", "[2001:db8::5]:443", proxies) == "2001:db8::5"
    assert client_address.forwarded_client("10.0.0.1", "unknown", proxies) == "10.0.0.1"
