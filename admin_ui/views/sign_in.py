"""Sign-in: the API checks the name and password and gives this browser its sign-in."""

from __future__ import annotations

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.i18n import t


def render() -> None:
    lang = session.lang()
    st.title(t("title", lang))
    st.caption(t("subtitle", lang))
    notice = st.session_state.get(session.NOTICE_KEY)
    if notice:
        st.info(t(notice, lang))
    with st.form("sign_in"):
        username = st.text_input(t("username", lang), key="username")
        password = st.text_input(t("password", lang), type="password", key="password")
        submitted = st.form_submit_button(t("sign_in", lang))
    if submitted:
        try:
            session.sign_in(username.strip(), password)
        except ApiError as error:
            st.error(f"{t('sign_in_failed', lang)}: {error} ({error.code or 'ERROR'})")
            return
        st.rerun()  # the page the address asks for, now signed in


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
