"""The admin UI home page against a real API server (a `sanji serve` process on the fixture)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from streamlit.testing.v1 import AppTest

UI_SCRIPT = str(Path(__file__).resolve().parent.parent / "admin_ui" / "app.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest_asyncio.fixture
async def api_url(seeded_url: str) -> AsyncIterator[str]:
    port = free_port()
    env = {**os.environ, "SANJI_DATABASE_URL": seeded_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(150):
                if server.poll() is not None:
                    raise RuntimeError(f"sanji serve exited: {server.stderr.read().decode()}")
                try:
                    if (await http.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("sanji serve did not become healthy")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def run_home(url: str, lang: str | None = None) -> AppTest:
    os.environ["SANJI_API_URL"] = url
    try:
        app = AppTest.from_file(UI_SCRIPT, default_timeout=30)
        app.run()
        if lang:
            app.sidebar.radio(key="lang").set_value(lang).run()
        return app
    finally:
        del os.environ["SANJI_API_URL"]


async def test_home_page_shows_coverage_fetched_over_graphql(api_url):
    app = await asyncio.to_thread(run_home, api_url)
    assert not app.exception
    assert app.title[0].value == "三级政务服务平台"
    assert [(m.label, m.value) for m in app.metric] == [("覆盖率", "100.0%"), ("覆盖率", "81.6%")]
    codes = [c.value for c in app.code]
    assert "计算公式: built 31 / total 38 = 81.6%" in codes
    assert any("**38**" in md.value and "**7**" in md.value for md in app.markdown)


async def test_home_page_switches_to_english(api_url):
    app = await asyncio.to_thread(run_home, api_url, "en")
    assert app.title[0].value == "Sanji three-tier service platform"
    assert [s.value for s in app.subheader] == ["Halls", "Rooms"]


async def test_home_page_explains_an_unreachable_api():
    app = await asyncio.to_thread(run_home, f"http://127.0.0.1:{free_port()}")
    assert not app.exception
    assert "无法从接口获取数据" in app.error[0].value
    assert "UNREACHABLE" in app.error[0].value
