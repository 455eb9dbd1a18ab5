"""Pages that read one area (辖区) at a time and page their lists on the server.

A province holds 27,000 organizations and 3.6 million item assignments: a page that read them all
to draw one district's matrix took minutes. These pages ask the API for the caller's area, or an
area below it the user picks (`within`), one page of organizations at a time (`Pages`), and their
totals from aggregates, so what they read grows with what they show, not with the province.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import streamlit as st

from admin_ui import session
from admin_ui.i18n import add, t, tier_label

add(
    {
        "area": {"zh": "辖区", "en": "Area"},
        "area_whole": {"zh": "{name}（全部）", "en": "{name} (all of it)"},
        "page_previous": {"zh": "上一页", "en": "Previous"},
        "page_next": {"zh": "下一页", "en": "Next"},
        "page_of": {
            "zh": "第 {page} / {pages} 页（共 {total} 个）",
            "en": "Page {page} of {pages} ({total} in all)",
        },
    }
)

TIERS = ("REGION", "CENTER", "HALL", "ROOM")  # top to bottom
AREAS = """query($top: ID, $tiers: [Tier!], $after: String) { page: organizations(first: 500,
  after: $after, where: {within: $top, tier: {in: $tiers}}, orderBy: [{code: ASC}]) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id code name tier } } }"""
ONE = "query($id: ID!) { organization(id: $id) { id code name tier } }"


def env_count(name: str, default: int, most: int | None = None) -> int:
    """A positive count from the environment (a page size, a drawing budget), at most `most`; the
    default when unset or not a number."""
    try:
        count = max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default
    return count if most is None else min(count, most)


def every_node(
    text: str,
    variables: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
    most: int | None = None,
) -> list[dict]:
    """Every node of a connection aliased `page`, 500 a page, reporting (read, total) after each;
    with `most`, no further page once that many are read."""
    nodes: list[dict] = []
    after = None
    while True:
        page = session.query(text, {**(variables or {}), "after": after})["page"]
        nodes += page["nodes"]
        if progress is not None:
            progress(len(nodes), page["totalCount"])
        if not page["pageInfo"]["hasNextPage"] or (most is not None and len(nodes) >= most):
            return nodes
        after = page["pageInfo"]["endCursor"]


def pick_area(key: str, above: str, lang: str) -> dict | None:
    """A choice of area: the caller's own organization (its whole area, the default) or one of the
    organizations of its area on a tier above `above` (a district's center or halls, for rooms).
    None when the caller has no organization."""
    auth = session.current()
    if auth is None or auth.organization_id is None:
        return None
    own = session.query(ONE, {"id": auth.organization_id})["organization"]
    if own is None:
        return None
    tiers = list(TIERS[: TIERS.index(above)])  # a province's districts are regions, as it is
    below = every_node(AREAS, {"top": own["id"], "tiers": tiers}) if tiers else []
    choices = {own["id"]: own, **{o["id"]: o for o in below if o["id"] != own["id"]}}

    def name(org_id: str) -> str:
        org = choices[org_id]
        if org_id == own["id"]:
            return t("area_whole", lang).format(name=org["name"])
        return f"{org['name']} · {tier_label(org['tier'], lang)} · {org['code']}"

    if st.session_state.get(key) not in choices:
        st.session_state[key] = own["id"]
    chosen = st.selectbox(
        t("area", lang), list(choices), format_func=name, placeholder=t("choose_one", lang), key=key
    )
    return choices[chosen]


class Pages:
    """Cursor pages of one list on the server, with previous/next buttons: the cursors of the pages
    seen so far are kept per list (`signature`: what the list is of), so a change of area or filter
    starts again at the first page."""

    def __init__(self, key: str, signature: tuple) -> None:
        self.key = key
        kept = st.session_state.get(key)
        if not kept or kept["signature"] != signature:
            kept = {"signature": signature, "cursors": [None]}
            st.session_state[key] = kept
        self.kept = kept

    @property
    def after(self) -> str | None:
        """The cursor the current page starts after (None: the first page)."""
        return self.kept["cursors"][-1]

    @property
    def number(self) -> int:
        return len(self.kept["cursors"])

    def controls(self, total: int, size: int, next_cursor: str | None, lang: str) -> None:
        """Previous/next and where this page sits; nothing when everything fits on one page."""
        if total <= size and self.number == 1:
            return
        pages = max(1, -(-total // size))
        left, middle, right = st.columns([1, 3, 1])
        left.button(
            t("page_previous", lang),
            key=f"{self.key}_previous",
            disabled=self.number == 1,
            on_click=self._move,
            args=(None, -1),
        )
        middle.caption(t("page_of", lang).format(page=self.number, pages=pages, total=total))
        right.button(
            t("page_next", lang),
            key=f"{self.key}_next",
            disabled=next_cursor is None,
            on_click=self._move,
            args=(next_cursor, 1),
        )

    def _move(self, cursor: str | None, step: int) -> None:
        cursors = self.kept["cursors"]
        if step < 0 and len(cursors) > 1:
            cursors.pop()
        elif step > 0 and cursor is not None:
            cursors.append(cursor)
