"""How long each admin page takes to build on the Qujialing fixture, signed in as the administrator.

The API runs as `sanji serve` does (its own process, on a migrated and seeded SQLite file); each
page's script runs under Streamlit's AppTest in this process, which times the whole script: its
GraphQL calls over HTTP, the JSON, the tables and charts. Three figures per page, side by side:
a first view with no cached read (a new session, the read cache emptied), a first view whose reads
the user's previous session cached, and a rerun (the same session, as after a click). The GraphQL
requests of each are counted. Writes its section of docs/benchmarks.md.

    .venv/bin/python benchmarks/admin_pages_bench.py [--views 5] [--reruns 5]

With --database-url the API serves that database as it is (a province on PostgreSQL, say: nothing
is migrated or seeded) and --user signs in (its role's pages are timed); --label names the section.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from admin_ui.navigation import pages_for  # noqa: E402
from api.db import redact_url  # noqa: E402
from benchmarks import machine, slug, today, write_section  # noqa: E402
from tests.ui_support import PAGES, counting_requests, free_port, signed_in  # noqa: E402

CLI = [sys.executable, "-m", "api.cli"]


def start_api(database: Path | None, url: str | None = None) -> tuple[subprocess.Popen, str]:
    """The API on a new SQLite file with the fixture, or on the database at `url` as it is."""
    env = {
        **os.environ,
        "SANJI_DATABASE_URL": url or f"sqlite://{database}",
        "SANJI_RATE_LIMIT_PER_MINUTE": "0",
    }
    for step in (["db", "upgrade"], ["seed", "qujialing"]) if url is None else ():
        subprocess.run([*CLI, *step], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the API did not start")


PAGE_LIMIT = 120  # seconds AppTest waits for one run of a page


def time_page(script: str, auth, views: int, reruns: int) -> dict:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    times: dict[str, list[float]] = {"cold": [], "warm": [], "rerun": []}
    requests: dict[str, list[int]] = {"cold": [], "warm": [], "rerun": []}

    def timed(app: AppTest, case: str) -> None:
        with counting_requests() as counts:
            started = time.perf_counter()
            app.run()
            times[case].append(time.perf_counter() - started)
        requests[case].append(counts["/graphql"])
        if app.exception:
            raise RuntimeError(f"{script}: {app.exception}")

    for _ in range(views):
        for case in ("cold", "warm"):
            if case == "cold":
                st.cache_data.clear()
            app = AppTest.from_file(script, default_timeout=PAGE_LIMIT)
            app.session_state["auth"] = auth
            timed(app, case)
        for _ in range(reruns if len(times["rerun"]) == 0 else 0):
            timed(app, "rerun")
    return {
        **{
            case: statistics.median(seconds) * 1000 if seconds else float("nan")
            for case, seconds in times.items()
        },
        "cold_max": max(times["cold"]) * 1000,
        **{f"{case}_requests": max(counts, default=0) for case, counts in requests.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=5, help="first views (new sessions) per page, ≥ 1")
    parser.add_argument("--reruns", type=int, default=5, help="reruns of the first session per page")
    parser.add_argument("--database-url", help="serve this database as it is (default: a new fixture)")
    parser.add_argument("--user", default="admin", help="who signs in; their role's pages are timed")
    parser.add_argument("--label", default="fixture", help="the section: Admin pages on <label>")
    args = parser.parse_args()
    if args.views < 1 or args.reruns < 0:
        parser.error("--views must be at least 1 and --reruns at least 0")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_api(Path(tmp) / "sanji.db", args.database_url)
        os.environ["SANJI_API_URL"] = url
        try:
            auth = signed_in(url, args.user)
            for page in pages_for(auth.role):
                script = str(PAGES / f"{page.key}.py")
                title = f"{page.title['zh']} {page.title['en']}"
                try:
                    result = time_page(script, auth, args.views, args.reruns)
                except RuntimeError as error:  # AppTest's limit: the page is reported as over it
                    if "timed out" not in str(error):
                        raise
                    result = {"timed_out": PAGE_LIMIT}
                rows.append({"page": title, **result})
                print(rows[-1], flush=True)
        finally:
            process.terminate()
            process.wait(timeout=20)
    served = "the database below" if args.database_url else "SQLite file with the Qujialing fixture"
    lines = [
        f"## Admin pages on the {args.label}",
        "",
        "Each page of the admin app built by its script under Streamlit's AppTest, signed in as",
        f"`{args.user}` ({auth.role}: its role's pages, its area), against the API running as",
        f"`sanji serve` runs it (its own process; {served}). The time",
        "covers the whole script: its GraphQL calls over HTTP (one pooled client), the tables and",
        "charts (not the browser's drawing). A cold first view is a new session with the read cache",
        "emptied; a warm one is a new session of the same sign-in right after, whose reads the",
        "previous one cached (30 s); a rerun is the same session again, as after a click. The first",
        "page's slowest cold view includes importing the app's modules (streamlit, plotly, pandas)",
        "into the process.",
        "",
        f"- date: {today()}",
        f"- machine: {machine()}",
        f"- command: `python benchmarks/admin_pages_bench.py {shlex.join(sys.argv[1:])}`",
        f"- {args.views} cold and warm first views and {args.reruns} reruns per page; medians",
        *([f"- database: {redact_url(args.database_url)}"] if args.database_url else []),
        "",
        "| page | cold first view ms | slowest cold ms | warm first view ms | rerun ms "
        "| GraphQL requests cold / warm / rerun |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['page']} | {r['cold']:.0f} | {r['cold_max']:.0f} | {r['warm']:.0f} | {r['rerun']:.0f} "
        f"| {r['cold_requests']} / {r['warm_requests']} / {r['rerun_requests']} |"
        if "timed_out" not in r
        else f"| {r['page']} | over {r['timed_out']} s (not finished) | | | | |"
        for r in rows
    ]
    if args.database_url:
        lines += [
            "",
            "Above 2,000 organizations (SANJI_UI_MAP_POINTS) the coverage map's first view draws one",
            "point per area under the top organization (coverageByArea) instead of every organization.",
            "The delegation and room construction pages read the signed-in user's area (or one below it",
            "they choose, `within`): the matrix one page of 50 organizations at a time with its rows, cells",
            "and counts in one request; the rooms one by one up to 1,000 in the area (a district: 244),",
            "else per hall from one aggregate (the province: 25,000 rooms in 1,400 halls).",
        ]
    write_section("admin-pages" if args.label == "fixture" else f"admin-pages-{slug(args.label)}", lines)


if __name__ == "__main__":
    main()
