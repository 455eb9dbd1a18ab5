"""覆盖地图 Coverage map: per-tier rates with their formulas first, then a tile-free map, the tree,
by hall."""

from __future__ import annotations

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.areas import env_count, every_node
from admin_ui.charts import laid_out
from admin_ui.formatting import MISSING, dataframe, percent
from admin_ui.i18n import add, status_label, t, tier_label
from api.services.outlines import outline_rings

add(
    {
        "map": {"zh": "组织分布图", "en": "Map of the organizations"},
        "tree": {"zh": "组织树", "en": "Organization tree"},
        "filter_hall": {"zh": "按大厅筛选", "en": "Filter by hall"},
        "all_halls": {"zh": "全部", "en": "All"},
        "no_coordinates": {"zh": "未标注坐标的组织", "en": "Organizations without coordinates"},
        "outline": {"zh": "辖区边界文件（GeoJSON）", "en": "Outline file (GeoJSON)"},
        "bad_outline": {"zh": "无法读取边界文件", "en": "Cannot read the outline file"},
        "outlines": {"zh": "辖区边界", "en": "Area outlines"},
        "outlines_help": {
            "zh": "上传的边界保存在平台中，辖区内的用户都能在地图上看到；每个组织一份，再次上传即替换。",
            "en": "An uploaded outline is stored for everyone in the area to see on the map; one per "
            "organization, uploading again replaces it.",
        },
        "outline_for": {"zh": "边界所属组织", "en": "Outline of"},
        "outline_save": {"zh": "保存边界", "en": "Save the outline"},
        "outline_need_file": {"zh": "请先选择 GeoJSON 文件。", "en": "Choose a GeoJSON file first."},
        "outline_saved": {"zh": "已保存{org}的辖区边界。", "en": "The outline of {org} is saved."},
        "outline_delete": {"zh": "删除{org}的边界", "en": "Delete the outline of {org}"},
        "outline_deleted": {"zh": "已删除{org}的辖区边界。", "en": "The outline of {org} is deleted."},
        "outline_confirm": {
            "zh": "确定删除{org}的辖区边界吗？辖区内所有用户的地图上都将不再显示。",
            "en": "Delete the outline of {org}? It disappears from everyone's map.",
        },
        "outline_confirm_yes": {"zh": "确认删除", "en": "Delete"},
        "outline_confirm_no": {"zh": "取消", "en": "Cancel"},
        "outline_stored": {"zh": "已保存：{names}", "en": "Stored: {names}"},
        "longitude": {"zh": "经度", "en": "Longitude"},
        "latitude": {"zh": "纬度", "en": "Latitude"},
        "org_kind": {"zh": "类别", "en": "Kind"},
        "areas": {"zh": "分区覆盖", "en": "Coverage by area"},
        "areas_help": {
            "zh": "组织较多（{count} 个），地图按下一级辖区汇总显示；选择辖区可逐级展开。",
            "en": "With {count} organizations the map shows one point per area below; open an area "
            "to go one level down.",
        },
        "level_top": {"zh": "全部", "en": "All"},
        "open_area": {"zh": "展开辖区", "en": "Open an area"},
        "area_organizations": {"zh": "组织数", "en": "Organizations"},
        "area_halls": {"zh": "大厅（建成/总数）", "en": "Halls (built / total)"},
        "area_rooms": {"zh": "便民服务室（建成/总数）", "en": "Rooms (built / total)"},
        "area_room_rate": {"zh": "服务室覆盖率", "en": "Room rate"},
        "no_areas": {"zh": "此处没有下一级组织。", "en": "Nothing lies below here."},
    }
)

COVERAGE = """
{ coverage { tier total built standardized underConstruction planned rate
             builtOrUnderConstructionRate formula } }
"""
ORGANIZATIONS = """query($after: String) {
  page: organizations(first: 500, after: $after, orderBy: [{code: ASC}]) {
    pageInfo { hasNextPage endCursor }
    nodes { id code name tier constructionStatus longitude latitude parent { id } } } }
"""
COUNT = "{ organizationsAggregate { count } }"
AREA_FIGURES = "total built rate"
AREAS = f"""query($root: ID) {{ coverageByArea(root: $root) {{
  organizationId code name tier longitude latitude organizations
  halls {{ {AREA_FIGURES} }} rooms {{ {AREA_FIGURES} }} }} }}"""
# Up to this many organizations (SANJI_UI_MAP_POINTS) every one is a point on the map and a line in
# the tree; above it (a province: 27,000), the map shows one point per area one level down and
# opens level by level.
DRAW_ALL = 2000


def draw_all() -> int:
    return env_count("SANJI_UI_MAP_POINTS", DRAW_ALL)


LEVEL = "coverage_level"  # the areas opened, top first, as (global id, name)
OUTLINES = """{ areaOutlines(first: 100, orderBy: [{createdAt: ASC}]) {
  nodes { id name geojson organization { id name } } } }"""
CREATE_OUTLINE = """mutation($input: CreateAreaOutlineInput!) { createAreaOutline(input: $input) { id } }"""
UPDATE_OUTLINE = """mutation($id: ID!, $input: UpdateAreaOutlineInput!) {
  updateAreaOutline(id: $id, input: $input) { id } }"""
DELETE_OUTLINE = """mutation($id: ID!) { deleteAreaOutline(id: $id) { id } }"""
OUTLINE_TIERS = ("REGION", "CENTER", "HALL")  # areas drawn as outlines (rooms are points)
FLASH = "coverage_flash"
CONFIRM = "outline_confirm_delete"  # the outline whose deletion waits for a second click
# One colour per tier and construction status, shared by the map and the tree.
COLOURS = {
    "CENTER": "#c0392b",
    "HALL": "#2471a3",
    ("ROOM", "STANDARDIZED"): "#1e8449",
    ("ROOM", "BUILT"): "#52be80",
    ("ROOM", "UNDER_CONSTRUCTION"): "#f39c12",
    ("ROOM", "PLANNED"): "#aab7b8",
}
# A dot drawn by the browser in the map's colour: an emoji would need a colour-emoji font, which many
# office machines lack (they show a box).
DOT = (
    '<span aria-hidden="true" style="display:inline-block;width:0.75em;height:0.75em;'
    'border-radius:50%;background:{colour};vertical-align:-0.05em"></span>'
)


def colour(org: dict) -> str:
    return COLOURS.get(org["tier"]) or COLOURS.get((org["tier"], org["constructionStatus"]), "#7f8c8d")


def legend(org: dict, lang: str) -> str:
    if org["tier"] == "ROOM" and org["constructionStatus"]:
        return f"{tier_label('ROOM', lang)} · {status_label(org['constructionStatus'], lang)}"
    return tier_label(org["tier"], lang)


def render() -> None:
    auth = session.require()
    lang = session.lang()
    st.title(t("coverage", lang))
    session.show_flash(FLASH)
    # The figures first, on their own query: they show while the map's data and charting load.
    try:
        rows = session.query(COVERAGE)["coverage"]
    except ApiError as error:
        session.show_error(error)
        return
    for column, row in zip(st.columns(len(rows)), rows, strict=True):
        with column:
            _tier_card(row, lang)
    st.caption(t("note_rate", lang))
    try:
        count = session.query(COUNT)["organizationsAggregate"]["count"]
        outlines = session.query(OUTLINES)["areaOutlines"]["nodes"]
        if count > draw_all():
            _by_area(count, _rings(outlines, lang), lang)
            return
        organizations = every_node(ORGANIZATIONS, most=draw_all())
    except ApiError as error:
        session.show_error(error)
        return

    halls = [o for o in organizations if o["tier"] == "HALL"]
    choice = st.selectbox(
        t("filter_hall", lang),
        [None, *(h["id"] for h in halls)],
        format_func=lambda i: (
            t("all_halls", lang) if i is None else next(h["name"] for h in halls if h["id"] == i)
        ),
        placeholder=t("choose_one", lang),
        key="hall",
    )
    shown = _in_hall(organizations, choice)
    st.subheader(t("map", lang))
    st.plotly_chart(_map(shown, _rings(outlines, lang), lang), key="coverage_map")
    missing = [o for o in shown if o["longitude"] is None or o["latitude"] is None]
    if missing:
        st.subheader(f"{t('no_coordinates', lang)} ({len(missing)})")
        dataframe(
            [
                {
                    t("code", lang): o["code"],
                    t("name", lang): o["name"],
                    t("org_kind", lang): legend(o, lang),
                }
                for o in missing
            ],
            hide_index=True,
        )
    st.subheader(t("tree", lang))
    st.markdown(_tree(shown, lang), unsafe_allow_html=True)
    if auth.role == "ADMIN":
        _manage_outlines(organizations, outlines, lang)


def _by_area(count: int, rings, lang: str) -> None:
    """A province's map: one point per area directly under the level opened (the top first), its
    size the organizations in it and its colour its rooms' rate; an area opens one level down."""
    st.subheader(t("areas", lang))
    st.caption(t("areas_help", lang).format(count=f"{count:,}"))
    level: list[tuple[str, str]] = st.session_state.setdefault(LEVEL, [])
    crumbs = [(None, t("level_top", lang)), *level]
    for index, (column, (_, name)) in enumerate(zip(st.columns(len(crumbs)), crumbs, strict=True)):
        column.button(
            name,
            key=f"coverage_up_{index}",
            disabled=index == len(crumbs) - 1,
            on_click=_open_level,
            args=(level[:index],),
        )
    root = level[-1][0] if level else None
    areas = session.query(AREAS, {"root": root})["coverageByArea"]
    if not areas:
        st.info(t("no_areas", lang))
        return
    st.plotly_chart(_area_map(areas, rings, lang), key="coverage_area_map")
    dataframe(
        [
            {
                t("name", lang): a["name"],
                t("org_kind", lang): tier_label(a["tier"], lang),
                t("area_organizations", lang): a["organizations"],
                t("area_halls", lang): f"{a['halls']['built']} / {a['halls']['total']}",
                t("area_rooms", lang): f"{a['rooms']['built']} / {a['rooms']['total']}",
                t("area_room_rate", lang): percent(a["rooms"]["rate"]),
            }
            for a in areas
        ],
        hide_index=True,
    )
    # Labels as the options (names with their codes: two villages may share a name).
    below = {f"{a['name']}（{a['code']}）": a for a in areas if a["organizations"] > 1}
    if below:
        st.selectbox(
            t("open_area", lang),
            list(below),
            index=None,
            placeholder=t("choose_one", lang),
            key="coverage_open",
            on_change=_open_chosen,
            args=(level, below),
        )


def _open_level(level: list[tuple[str, str]]) -> None:
    st.session_state[LEVEL] = list(level)


def _open_chosen(level: list[tuple[str, str]], below: dict[str, dict]) -> None:
    chosen = below.get(st.session_state.pop("coverage_open", None))
    if chosen is not None:
        st.session_state[LEVEL] = [*level, (chosen["organizationId"], chosen["name"])]


def _area_map(areas: list[dict], rings, lang: str):
    """The areas as points on longitude/latitude (no tile server), sized by how many
    organizations each holds, coloured by its rooms' rate."""
    import plotly.graph_objects as go

    figure = _outlined(rings)
    placed = [a for a in areas if a["longitude"] is not None and a["latitude"] is not None]
    largest = max((a["organizations"] for a in placed), default=1)
    figure.add_trace(
        go.Scatter(
            x=[a["longitude"] for a in placed],
            y=[a["latitude"] for a in placed],
            mode="markers",
            showlegend=False,
            marker={
                "size": [8 + 32 * (a["organizations"] / largest) ** 0.5 for a in placed],
                "color": [a["rooms"]["rate"] if a["rooms"]["rate"] is not None else 0 for a in placed],
                "colorscale": "RdYlGn",
                "cmin": 0,
                "cmax": 1,
                "colorbar": {"title": t("area_room_rate", lang), "tickformat": ".0%"},
            },
            text=[
                f"{a['name']}<br>{t('area_organizations', lang)} {a['organizations']:,}"
                f"<br>{t('area_room_rate', lang)} {percent(a['rooms']['rate'])}"
                for a in placed
            ],
            hovertemplate="%{text}<extra></extra>",
        )
    )
    return _on_blank(figure, lang)


def _tier_card(row: dict, lang: str) -> None:
    st.subheader(tier_label(row["tier"], lang))
    st.metric(t("rate", lang), percent(row["rate"]), help=row["formula"])
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


def _in_hall(organizations: list[dict], hall_id: str | None) -> list[dict]:
    if hall_id is None:
        return organizations
    return [o for o in organizations if o["id"] == hall_id or (o["parent"] or {}).get("id") == hall_id]


def _rings(outlines: list[dict], lang: str) -> list[list[tuple[float, float]]]:
    """Every stored outline's rings (the API checked them when they were saved)."""
    rings = []
    for outline in outlines:
        try:
            rings += outline_rings(outline["geojson"])
        except ValueError as error:
            st.error(f"{t('bad_outline', lang)} ({outline['organization']['name']}): {error}")
    return rings


def _manage_outlines(organizations: list[dict], outlines: list[dict], lang: str) -> None:
    """Administrators store an area's outline for everyone (one per organization) or delete it."""
    st.subheader(t("outlines", lang))
    st.caption(t("outlines_help", lang))
    areas = {o["id"]: o["name"] for o in organizations if o["tier"] in OUTLINE_TIERS}
    stored = {o["organization"]["id"]: o for o in outlines}
    if stored:
        names = "、".join(f"{o['organization']['name']}（{o['name'] or MISSING}）" for o in outlines)
        st.caption(t("outline_stored", lang).format(names=names))
    st.selectbox(
        t("outline_for", lang),
        list(areas),
        format_func=areas.get,
        placeholder=t("choose_one", lang),
        key="outline_for",
    )
    st.file_uploader(t("outline", lang), type=["geojson", "json"], key="outline")
    st.button(t("outline_save", lang), key="outline_save", on_click=_save_outline, args=(areas, stored, lang))
    for org_id, outline in stored.items():
        org = outline["organization"]
        if st.session_state.get(CONFIRM) != outline["id"]:  # first click: ask, second: delete
            st.button(
                t("outline_delete", lang).format(org=org["name"]),
                key=f"outline_delete_{org_id}",
                on_click=st.session_state.__setitem__,
                args=(CONFIRM, outline["id"]),
            )
            continue
        st.warning(t("outline_confirm", lang).format(org=org["name"]))
        left, right = st.columns(2)
        left.button(
            t("outline_confirm_yes", lang),
            key="outline_confirm_yes",
            type="primary",
            on_click=_write_outline,
            args=(DELETE_OUTLINE, {"id": outline["id"]}, t("outline_deleted", lang), org),
        )
        right.button(
            t("outline_confirm_no", lang),
            key="outline_confirm_no",
            on_click=st.session_state.pop,
            args=(CONFIRM,),
        )


def _save_outline(areas: dict, stored: dict, lang: str) -> None:
    state = st.session_state
    org_id, upload = state.get("outline_for"), state.get("outline")
    if upload is None or org_id is None:
        state[FLASH] = ("warning", t("outline_need_file", lang))
        return
    try:
        text = upload.getvalue().decode("utf-8")
        outline_rings(text)  # said here in the user's language; the API checks it again
    except (UnicodeDecodeError, ValueError) as error:
        state[FLASH] = ("warning", f"{t('bad_outline', lang)}: {error}")
        return
    fields = {"name": upload.name[:100], "geojson": text}
    org = {"id": org_id, "name": areas[org_id]}
    if org_id in stored:
        query, variables = UPDATE_OUTLINE, {"id": stored[org_id]["id"], "input": fields}
    else:
        query, variables = CREATE_OUTLINE, {"input": {"organizationId": org_id, **fields}}
    _write_outline(query, variables, t("outline_saved", lang), org)


def _write_outline(query: str, variables: dict, done: str, org: dict) -> None:
    st.session_state.pop(CONFIRM, None)
    session.write(FLASH, query, variables, done.format(org=org["name"]))


def _map(organizations: list[dict], rings, lang: str):
    """Points on longitude/latitude over a blank background: no tile server, works on an intranet."""
    import plotly.graph_objects as go  # here, not at the top: the figures above show before it loads

    figure = _outlined(rings)
    placed = [o for o in organizations if o["longitude"] is not None and o["latitude"] is not None]
    groups: dict[str, list[dict]] = {}
    for org in placed:
        groups.setdefault(legend(org, lang), []).append(org)
    for name, members in groups.items():
        figure.add_trace(
            go.Scatter(
                x=[o["longitude"] for o in members],
                y=[o["latitude"] for o in members],
                mode="markers",
                name=f"{name} ({len(members)})",
                marker={"color": colour(members[0]), "size": 14 if members[0]["tier"] != "ROOM" else 9},
                text=[o["name"] for o in members],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    return _on_blank(figure, lang)


def _outlined(rings):
    """A figure with the stored area outlines drawn (the map's background)."""
    import plotly.graph_objects as go  # here, not at the top: the figures above show before it loads

    figure = go.Figure()
    for ring in rings:
        figure.add_trace(
            go.Scatter(
                x=[x for x, _ in ring],
                y=[y for _, y in ring],
                mode="lines",
                line={"color": "#566573"},
                showlegend=False,
            )
        )
    return figure


def _on_blank(figure, lang: str):
    """The map laid out on longitude/latitude over white: no tile server, works on an intranet."""
    return laid_out(
        figure,
        520,
        plot_bgcolor="white",
        xaxis={"title": t("longitude", lang), "showgrid": False},
        yaxis={"title": t("latitude", lang), "showgrid": False, "scaleanchor": "x"},
    )


def _tree(organizations: list[dict], lang: str) -> str:
    """Center → halls → rooms as an indented list, each marked with its map colour."""
    ids = {o["id"] for o in organizations}
    children: dict[str | None, list[dict]] = {}
    for org in organizations:
        parent = (org["parent"] or {}).get("id")
        children.setdefault(parent if parent in ids else None, []).append(org)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for org in children.get(parent, []):
            lines.append(
                f"{'  ' * depth}- {DOT.format(colour=colour(org))} {org['name']} · {legend(org, lang)}"
            )
            walk(org["id"], depth + 1)

    walk(None, 0)
    return "\n".join(lines)


if __name__ == "__main__":  # run on its own (tests); the app imports render()
    render()
