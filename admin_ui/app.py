"""Sanji admin app: sign-in, then the pages the user's role may use (the others are not shown)."""

from __future__ import annotations

import importlib

import streamlit as st

from admin_ui import session
from admin_ui.api_client import api_url
from admin_ui.i18n import LANGUAGES, role_label, t
from admin_ui.navigation import pages_for
from admin_ui.views import sign_in


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
    allowed = {page.key: page for page in pages_for(auth.role)}
    choice = st.sidebar.radio(
        t("pages", lang), list(allowed), format_func=lambda key: allowed[key].title[lang], key="page"
    )
    st.sidebar.markdown(f"{t('signed_in_as', lang)}: **{auth.username}** ({role_label(auth.role, lang)})")
    st.sidebar.button(t("sign_out", lang), key="sign_out", on_click=session.sign_out)
    st.sidebar.caption(f"{t('api_at', lang)}: {api_url()}")
    importlib.import_module(f"admin_ui.views.{choice}").render()


main()
