"""What an admin page shows, read from its rendered elements, and what a Chinese page must not show."""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

from streamlit.testing.v1 import AppTest

DISTRICT = ZoneInfo("Asia/Shanghai")
TEXT_ELEMENTS = (
    "markdown",
    "caption",
    "title",
    "header",
    "subheader",
    "code",
    "error",
    "warning",
    "info",
    "success",
)
SELECTS = ("selectbox", "multiselect")
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u26ff\u2b00-\u2bff\ufe0f]")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}|\d{2}:\d{2}\.\d+")
ROLE_NUMBER = re.compile(r"\b[A-Z]+ #\d")
NONE = re.compile(r"\bNone\b|^(nan|NaN|NaT|null)$")
TOKEN = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


def elements(app: AppTest) -> Iterator:
    for root in (app.main, app.sidebar):
        for node in root:
            if getattr(node, "proto", None) is not None and not hasattr(node, "children"):
                yield node


def cells(table) -> Iterator[str]:
    """A table's column titles and every cell as the page shows them: a missing value as the table's
    placeholder, "None" when it has none (as Streamlit draws it)."""
    frame, placeholder = table.value, table.proto.placeholder or "None"
    yield from (str(c) for c in frame.columns)
    for row in frame.itertuples(index=False):
        for value in row:
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            yield placeholder if missing else str(value)


def texts(app: AppTest) -> list[str]:
    """Every text of the page: headings, markdown, alerts, metrics, widget labels and options, table
    cells, and the texts of its charts."""
    out: list[str] = []
    for element in elements(app):
        kind = element.type
        if kind in TEXT_ELEMENTS:
            out.append(str(element.value))
        elif kind == "metric":
            out += [element.label, str(element.value)]
        elif kind == "dataframe":
            out += list(cells(element))
        elif kind == "plotly_chart":
            out += list(_chart_texts(json.loads(element.proto.spec)))
        elif hasattr(element, "label"):
            out.append(element.label)
            out += [str(o) for o in getattr(element, "options", ())]
    return out


def _chart_texts(spec: dict) -> Iterator[str]:
    for trace in spec.get("data", ()):
        yield str(trace.get("name", ""))
    layout = spec.get("layout", {})
    for note in layout.get("annotations", ()):
        yield str(note.get("text", ""))


def global_ids(values: list[str]) -> list[str]:
    """Relay global ids ("Type:number" in base64) among the values."""
    found = []
    for value in values:
        for token in TOKEN.findall(value):
            try:
                decoded = base64.b64decode(token, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue
            if re.fullmatch(r"[A-Za-z]+:\d+", decoded):
                found.append(token)
    return found


def leftovers(app: AppTest) -> dict[str, list[str]]:
    """What a Chinese page must not show, by kind; empty when the page is clean."""
    shown = texts(app)
    found = {
        "None": [s for s in shown if NONE.search(s.strip())],
        "emoji": [s for s in shown if EMOJI.search(s)],
        "ISO time": [s for s in shown if ISO_TIME.search(s)],
        "role #": [s for s in shown if ROLE_NUMBER.search(s)],
        "global id": global_ids(shown),
        "English placeholder": [
            f"{w.label}: {w.proto.placeholder!r}"
            for w in elements(app)
            if w.type in SELECTS and not _chinese(w.proto.placeholder)
        ],
        "Choose": [s for s in shown if "Choose" in s],
    }
    return {kind: values for kind, values in found.items() if values}


def _chinese(text: str) -> bool:
    return bool(re.search("[\u4e00-\u9fff]", text))


def chinese_labels(app: AppTest, data: frozenset[str] = frozenset()) -> list[str]:
    """The page's own words that are Chinese: widget labels and placeholders, metric labels, the
    title and the tables' column titles, but the `data` some titles are made of (organization names).
    The term 三办 is kept in English too ("三办 tag")."""
    words = []
    for element in elements(app):
        if element.type == "title":
            words.append(str(element.value))
        elif element.type == "dataframe":
            words += [str(c) for c in element.value.columns if c not in data]
        elif element.type == "metric" or hasattr(element, "label"):
            words.append(element.label)
        if element.type in SELECTS:
            words.append(element.proto.placeholder or "(Streamlit's own placeholder)")
    return [w for w in words if _chinese(w.replace("三办", "")) or w.startswith("(Streamlit")]


def district_today() -> date:
    return datetime.now(DISTRICT).date()


@contextmanager
def another_local_day() -> Iterator[None]:
    """The process's local zone set to one whose date is not the district's right now (of UTC-12 and
    UTC+14, one always differs from UTC+8), so a page that takes its day from the machine shows it."""
    zone = next(
        name
        for name in ("Etc/GMT+12", "Etc/GMT-14")
        if datetime.now(ZoneInfo(name)).date() != district_today()
    )
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
