"""Sanji admin app: sign-in, then the pages the user's role may use, each at its own address.

`streamlit run admin_ui/app.py` (what `sanji ui` does) finds `app` at the bottom and serves this
script through st.App, beside the routes that keep a sign-in's cookie (admin_ui.session.ROUTES);
each session runs the script itself, as __main__.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import streamlit as st

from admin_ui import calendar_notice, navigation, session
from admin_ui.api_client import api_url
from admin_ui.i18n import LANGUAGES, role_label, t
from admin_ui.views import sign_in


def main() -> None:
    st.set_page_config(page_title="Sanji 三级", page_icon="🏛️", layout="wide")
    lang = st.sidebar.radio(
        "语言 / Language", list(LANGUAGES), format_func=LANGUAGES.__getitem__, key="lang", horizontal=True
    )
    auth = session.current()
    if auth is None:
        # Every page is known (and hidden) while signed out, so that the address a link asked for
        # is still the page shown once the sign-in succeeds.
        st.navigation(pages(navigation.PAGES, lang), position="hidden")
        st.sidebar.caption(f"{t('api_at', lang)}: {api_url()}")
        session.sync_browser()
        sign_in.render()
        return
    page = st.navigation(pages(navigation.pages_for(auth.role), lang))
    st.sidebar.markdown(f"{t('signed_in_as', lang)}: **{auth.username}** ({role_label(auth.role, lang)})")
    st.sidebar.button(t("sign_out", lang), key="sign_out", on_click=session.sign_out)
    st.sidebar.caption(f"{t('api_at', lang)}: {api_url()}")
    session.sync_browser()
    calendar_notice.render()  # above every page, for an administrator: an estimated calendar year
    page.run()
    if session.current() is None:  # the sign-in ended during the page (its renewal was refused)
        st.rerun()


def pages(listed: tuple[navigation.Page, ...] | list[navigation.Page], lang: str) -> list[st.Page]:
    return [st.Page(view(page.key), title=page.title[lang], url_path=page.key) for page in listed]


def view(key: str) -> Callable[[], None]:
    """The page's render(), its module imported when first shown."""

    def render() -> None:
        importlib.import_module(f"admin_ui.views.{key}").render()

    render.__name__ = key
    return render


if __name__ == "__main__":
    main()
else:  # imported by `streamlit run` (uvicorn) to serve the app
    app = st.App(__file__, routes=session.ROUTES)
