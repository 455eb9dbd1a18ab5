"""Importing a 5,000-row implementation list (实施清单, .xlsx) with `sanji catalogue import`, on
SQLite and PostgreSQL.

Each database starts migrated with one district (the region whose local values the list holds).
The list has --rows items, each with 5 materials, written by the same code as an export. Three
runs of the command line, as an operator runs it (its own process, interpreter start included):

- **new**: every row adds an item (revision 1 of its guide, its materials, the district's values);
- **unchanged**: the same file again: every row is compared and nothing is written;
- **edited**: a tenth of the rows change (promised limit, department, one material more, so each
  of those items gets a new guide revision with its diff).

A dry run (no --apply) of the edited file is timed too. The target is under 30 s for 5,000 rows.

    .venv/bin/python benchmarks/catalogue_import_bench.py [--rows 5000]
        [--postgres-url postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import machine, today, write_section  # noqa: E402

DATABASE = "sanji_catalogue_bench"
MATERIALS = ("申请表", "申请人居民身份证", "户口簿", "相关证明材料", "委托书")


def rows(count: int, edited: bool = False) -> list[list[str]]:
    from api.services import catalogue_file

    out = []
    for n in range(1, count + 1):
        change = edited and n % 10 == 0
        materials = [f"{name} | 原件 | 1 | 必要" for name in MATERIALS]
        if change:
            materials.append("补充说明 | 复印件 | 1 | 非必要 | 申请人自备")
        values = {
            "code": f"BENCH-{n:05d}",
            "name": f"示例事项{n}",
            "base_code": "",
            "implementation_code": "",
            "type": "公共服务" if n % 3 else "行政许可",
            "source": "本级",
            "department": f"示例局{n % 40}" + ("（调整）" if change else ""),
            "case_kind": "承诺件",
            "legal_limit_days": "20",
            "promised_limit_days": "5" if change else "10",
            "fee": "0.00",
            "fee_note": "",
            "visits_required": "1",
            "online": "是",
            "needs_home_visit": "否",
            "needs_village_publicity": "否",
            "tags": "网上办、一次办",
            "materials": "\n".join(materials),
            "consult_phone": "0724-5201234",
            "complaint_phone": "0724-12345",
            "in_force": "是",
            "publisher": "",
        }
        out.append([values[c.key] for c in catalogue_file.COLUMNS])
    return out


async def prepare(url: str) -> None:
    from api import db
    from api.models.org import Organization, OrgKind, Tier
    from api.settings import Settings

    async with db.database(Settings(database_url=url)):
        await Organization.create(code="BENCH", name="示例区", tier=Tier.REGION, kind=OrgKind.DISTRICT)


def sanji(url: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "sanji"), *args],
        env={**os.environ, "SANJI_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sanji {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return took, done.stdout.strip().splitlines()[-2]


def run_on(url: str, files: dict[str, Path]) -> list[tuple[str, float, str]]:
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "sanji"), "db", "upgrade"],
        env={**os.environ, "SANJI_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    # in a process of its own: the ORM keeps one database's statements per process
    subprocess.run([sys.executable, __file__, "--prepare", url], check=True)
    out = []
    for label, name, extra in (
        ("new: every row adds an item", "list", ("--apply",)),
        ("unchanged: the same file again", "list", ("--apply",)),
        ("edited, dry run", "edited", ()),
        ("edited: a tenth of the rows change", "edited", ("--apply",)),
    ):
        took, summary = sanji(url, "catalogue", "import", str(files[name]), "--region", "BENCH", *extra)
        out.append((label, took, summary))
        print(f"{label}: {took:.1f} s ({summary})", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--prepare", metavar="URL", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.prepare:
        asyncio.run(prepare(options.prepare))
        return
    from api.services import catalogue_file

    with tempfile.TemporaryDirectory() as work:
        files = {
            "list": Path(work) / "list.xlsx",
            "edited": Path(work) / "edited.xlsx",
        }
        files["list"].write_bytes(catalogue_file.render("xlsx", rows(options.rows)))
        files["edited"].write_bytes(catalogue_file.render("xlsx", rows(options.rows, edited=True)))
        size = files["list"].stat().st_size
        results = {}
        sqlite_url = f"sqlite:///{work}/bench.sqlite3"
        print("SQLite", flush=True)
        results["SQLite"] = run_on(sqlite_url, files)
        base, _, _ = options.postgres_url.rpartition("/")
        admin = options.postgres_url
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"], check=True)
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {DATABASE}"], check=True)
        try:
            print("PostgreSQL", flush=True)
            results["PostgreSQL"] = run_on(f"{base}/{DATABASE}", files)
        finally:
            subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"], check=True)

    lines = [
        "## Importing the implementation list (实施清单)",
        "",
        f"`sanji catalogue import` of a {options.rows:,}-row .xlsx list ({size / 1048576:.1f} MB, "
        "5 materials per item), as an operator runs it: its own process, interpreter start and",
        "migration check included. The database starts migrated with one district; the list is",
        "written by the export's own code. Target: under 30 s for 5,000 rows.",
        "",
        f"- date: {today()}",
        f"- machine: {machine()}",
        f"- command: `python benchmarks/catalogue_import_bench.py --rows {options.rows}`",
        "",
        "| database | run | seconds | result |",
        "|---|---|---:|---|",
    ]
    for database, runs in results.items():
        for label, took, summary in runs:
            lines.append(f"| {database} | {label} | {took:.1f} | {summary} |")
    write_section("catalogue-import", lines)


if __name__ == "__main__":
    main()
