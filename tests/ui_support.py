"""Running admin UI pages against a real API server (a `sanji serve` process on a fixture copy)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from tests.conftest import DB_KIND, DEMO_PASSWORD

UI_SCRIPT = str(Path(__file__).resolve().parent.parent / "admin_ui" / "app.py")
PAGES = Path(UI_SCRIPT).parent / "views"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serving_api(database_url: str, **env: str) -> AsyncIterator[str]:
    """The API (uvicorn, as `sanji serve` runs it) on a free port over `database_url`, with extra
    SANJI_* settings, in a thread of this process: its own event loop, no interpreter start-up."""
    from api.app import create_app
    from api.settings import Settings

    port = free_port()
    settings = Settings.from_env({**os.environ, "SANJI_DATABASE_URL": database_url, **env})
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,  # as `sanji serve` runs it
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(300):
            if server.started:
                break
            if not thread.is_alive():
                raise RuntimeError("the API server stopped while starting")
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the API server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)


@pytest_asyncio.fixture
async def api_url(seeded_url: str) -> AsyncIterator[str]:
    """The API on a private copy of the fixture, for a UI test that writes (or breaks) something.

    The admin UI reaches data only through the API, whose own tests run on both databases; its
    pages are tested once, on SQLite, to keep CI within its budget.
    """
    if DB_KIND != "sqlite":
        pytest.skip("admin UI pages are tested against the API on SQLite")
    async with serving_api(seeded_url) as url:
        yield url


@pytest_asyncio.fixture
async def varied_ui_url(varied_url: str) -> AsyncIterator[str]:
    """The API on the fixture whose cases are not all on time (tests/conftest.py `varied_url`)."""
    if DB_KIND != "sqlite":
        pytest.skip("admin UI pages are tested against the API on SQLite")
    async with serving_api(varied_url) as url:
        yield url


@pytest_asyncio.fixture(scope="session")
async def shared_api_url(fixture_url: str) -> AsyncIterator[str]:
    """The API on the session's shared fixture database, for the UI tests that change nothing in
    it (signing in and out aside): one server for all of them. Request budgets are off, as one
    address spends them across the whole session (tests/test_rate_limits.py tests them)."""
    if DB_KIND != "sqlite":
        pytest.skip("admin UI pages are tested against the API on SQLite")
    off = {f"SANJI_RATE_LIMIT_{kind}PER_MINUTE": "0" for kind in ("", "ANONYMOUS_", "LOGIN_", "LOOKUP_")}
    async with serving_api(fixture_url, **off) as url:
        yield url


def signed_in(url: str, username: str):
    """The session a sign-in on the page would leave (token and role from the real API)."""
    from admin_ui.session import ME, Auth

    response = httpx.post(f"{url}/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    token = response.json()["access_token"]
    me = graphql_at(url, ME, token)["myPermissions"]
    return Auth(username, token, me["role"], me["organizationId"])


def graphql_at(url: str, query: str, token: str | None = None, variables: dict | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables or {}}
    return httpx.post(f"{url}/graphql", json=body, headers=headers).json()["data"]


def run(
    url: str, script: str, auth=None, lang: str | None = None, steps=(), at: str | None = None
) -> AppTest:
    """Run a page (or the whole app) against the API at `url`, as `auth`, then apply `steps`;
    `at`: the app opened at that page's address (/at), as a link opened in a new tab opens it."""
    os.environ["SANJI_API_URL"] = url
    try:
        app = AppTest.from_file(script, default_timeout=30)
        if auth is not None:
            app.session_state["auth"] = auth
        if lang:
            app.session_state["lang"] = lang
        if at is not None:
            opened_at(at)(app)
        app.run()
        for step in steps:
            step(app)
            app.run()
        return app
    finally:
        del os.environ["SANJI_API_URL"]


def signing_in(username: str, password: str = DEMO_PASSWORD):
    """A step: the sign-in form filled in and sent."""

    def step(app: AppTest) -> None:
        app.text_input(key="username").input(username)
        app.text_input(key="password").input(password)
        app.button[0].click()

    return step


def opened_at(url_path: str):
    """A step: the next runs ask for the page at /url_path, as the browser does for that address.

    AppTest.switch_page reaches file pages only; the app's pages are render() functions, which a
    browser asks for by the hash Streamlit derives from their url_path (st.Page._script_hash)."""

    def step(app: AppTest) -> None:
        app._page_hash = calc_hash(url_path)

    return step


@contextmanager
def counting_requests() -> Iterator[Counter]:
    """The requests the admin UI sends to the API meanwhile, by path (on its pooled client)."""
    from admin_ui.api_client import http_client

    counts: Counter = Counter()
    hooks = http_client().event_hooks["request"]

    def count(request: httpx.Request) -> None:
        counts[request.url.path] += 1

    hooks.append(count)
    try:
        yield counts
    finally:
        hooks.remove(count)


@contextmanager
def serving_ui(api: str, **env: str) -> Iterator[str]:
    """The admin UI as `sanji ui` runs it (its own process: `streamlit run admin_ui/app.py`, served
    through st.App with the sign-in routes) on a free port, talking to the API at `api`."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "ui", "--port", str(port)],
        env={**os.environ, "SANJI_API_URL": api, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: streamlit runs as a child of `sanji ui`
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _answers(f"{url}/_stcore/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the admin UI did not start (exit code {process.poll()})")
            time.sleep(0.2)
        yield url
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    """Stops a process started with start_new_session and its children, as Ctrl-C would; killed
    when it has not ended 20 s later."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
