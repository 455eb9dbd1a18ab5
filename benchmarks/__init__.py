"""Benchmarks; each writes its own section of docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    system = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    return f"{system}, Python {platform.python_version()}"


def today() -> str:
    return dt.date.today().isoformat()


def slug(label: str) -> str:
    """A section's name from a run's label: "province 100 districts / 1M cases" -> "province-100-..."."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def write_section(name: str, lines: list[str]) -> None:
    """Replace this benchmark's section of the report (between its markers), keeping the others."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Benchmarks\n"
    section = "\n".join([begin, *lines, end])
    if begin in text and end in text.split(begin, 1)[1]:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    elif begin in text or end in text:
        raise SystemExit(f"{REPORT}: the markers of the {name} section are broken; mend them by hand")
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    REPORT.write_text(text, encoding="utf-8")
    print(f"wrote {REPORT} ({name})")
