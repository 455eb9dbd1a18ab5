"""Sanji admin app: sign-in, then the pages the user's role may use (the others are not shown)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from admin_ui import session
from admin_ui.api_client import api_url
from admin_ui.i18n import LANGUAGES, role_label, t
from admin_ui.pages import coverage, dashboard, sign_in

EVERYONE = ("ADMIN", "SUPERVISOR", "CLERK", "AGENT", "INTEGRATOR")


@dataclass(frozen=True)
class Page:
    key: str
    title: dict[str, str]
    render: Callable[[], None]
    roles: tuple[str, ...]


PAGES = (
    Page("coverage", {"zh": "🗺️ 覆盖地图", "en": "🗺️ Coverage map"}, coverage.render, EVERYONE),
    Page(
        "dashboard",
        {"zh": "📊 办件统计", "en": "📊 Service dashboard"},
        dashboard.render,
        ("ADMIN", "SUPERVISOR", "CLERK", "AGENT"),
    ),
)


def main() -> None:
    st.set_page_config(page_title="Sanji 三级", page_icon="🏛️", layout="wide")
    lang = st.sidebar.radio(
        "语言 / Language", list(LANGUAGES), format_func=LANGUAGES.__getitem__, key="lang", horizontal=True
    )
    auth = session.current()
    if auth is None:
        st.sidebar.caption(f"{t('api_at', lang)}: {api_url()}")
        sign_in.render()
        return
    allowed = {page.key: page for page in PAGES if auth.role in page.roles}
    choice = st.sidebar.radio(
        t("pages", lang), list(allowed), format_func=lambda k: allowed[k].title[lang], key="page"
    )
    st.sidebar.markdown(f"{t('signed_in_as', lang)}: **{auth.username}** ({role_label(auth.role, lang)})")
    st.sidebar.button(t("sign_out", lang), key="sign_out", on_click=session.sign_out)
    st.sidebar.caption(f"{t('api_at', lang)}: {api_url()}")
    allowed[choice].render()


main()
