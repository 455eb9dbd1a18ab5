"""GraphiQL is served from vendored files: the page names no external host."""

from __future__ import annotations

import re

from api.settings import Env
from tests.conftest import serving

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


async def test_the_graphiql_page_loads_only_local_assets(api):
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "://" not in page.text
    assets = ASSET.findall(page.text)
    assert sorted(assets) == [
        "/graphiql-assets/graphiql.min.css",
        "/graphiql-assets/graphiql.min.js",
        "/graphiql-assets/react-dom.production.min.js",
        "/graphiql-assets/react.production.min.js",
    ]
    for asset in assets:
        response = await api.http.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 1000
    css = (await api.http.get("/graphiql-assets/graphiql.min.css")).text
    assert not re.search(r"url\((?!data:)['\"]?https?:", css)


async def test_the_licences_ship_with_the_assets(api):
    for name in ("LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"):
        response = await api.http.get(f"/graphiql-assets/{name}")
        assert response.status_code == 200 and "MIT" in response.text


async def test_production_serves_no_ide(fresh_url):
    # Inside the app's lifespan: the request budget counts in the database, as it does when served.
    async with serving(fresh_url, env=Env.PRODUCTION, secret_key="s" * 40) as api:
        page = await api.http.get("/graphql", headers={"Accept": "text/html"})
        asset = await api.http.get("/graphiql-assets/graphiql.min.js")
    assert page.status_code != 200 or "GraphiQL" not in page.text
    assert asset.status_code == 404
