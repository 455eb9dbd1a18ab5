"""Admin UI home: coverage of halls and rooms, fetched from the API over GraphQL."""

from __future__ import annotations

import streamlit as st

from admin_ui.api_client import ApiError, api_url, graphql
from admin_ui.i18n import LANGUAGES, t, tier_label

COVERAGE_QUERY = """
query Coverage {
  coverage {
    tier total built standardized underConstruction planned
    rate builtOrUnderConstructionRate formula
  }
}
"""


def main() -> None:
    st.set_page_config(page_title="Sanji 三级", page_icon="🏛️", layout="wide")
    lang = st.sidebar.radio(
        "语言 / Language", list(LANGUAGES), format_func=LANGUAGES.__getitem__, key="lang", horizontal=True
    )
    st.title(t("title", lang))
    st.caption(t("subtitle", lang))
    st.sidebar.caption(f"{t('api_at', lang)}: {api_url()}")
    st.header(t("coverage", lang))
    try:
        rows = graphql(COVERAGE_QUERY)["coverage"]
    except ApiError as error:
        st.error(f"{t('api_error', lang)}: {error} ({error.code})")
        return
    for column, row in zip(st.columns(len(rows)), rows, strict=True):
        with column:
            _tier_card(row, lang)
    st.caption(t("note_rate", lang))


def _tier_card(row: dict, lang: str) -> None:
    rate = "-" if row["rate"] is None else f"{row['rate']:.1%}"
    st.subheader(tier_label(row["tier"], lang))
    st.metric(t("rate", lang), rate, help=row["formula"])
    st.markdown(
        f"- {t('total', lang)}: **{row['total']}**\n"
        f"- {t('built', lang)}: **{row['built']}** ({t('standardized', lang)} {row['standardized']})\n"
        f"- {t('under_construction', lang)}: **{row['underConstruction']}**\n"
        f"- {t('planned', lang)}: **{row['planned']}**"
    )
    with_construction = row["builtOrUnderConstructionRate"]
    if with_construction is not None:
        st.caption(f"{t('with_construction', lang)}: {with_construction:.1%}")
    st.code(f"{t('formula', lang)}: {row['formula']}", language=None)


main()
