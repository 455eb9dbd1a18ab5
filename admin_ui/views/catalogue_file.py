"""实施清单 in and out, on the catalogue page (administrators): download the catalogue or the template
as .xlsx or .csv; upload an edited list, see what each row would do (new, changed with the columns,
invalid with the reason), then import it: every row or none, as the API decides."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import streamlit as st

from admin_ui import session
from admin_ui.api_client import ApiError
from admin_ui.formatting import dataframe
from admin_ui.i18n import add, t

add(
    {
        "list_title": {"zh": "实施清单导入导出", "en": "Implementation list in and out"},
        "list_format": {"zh": "文件格式", "en": "File format"},
        "list_prepare": {"zh": "生成清单文件", "en": "Prepare the list"},
        "list_download": {"zh": "下载实施清单（{n} 个事项）", "en": "Download the list ({n} items)"},
        "list_template": {"zh": "下载空白模板", "en": "Download the empty template"},
        "list_upload": {"zh": "上传实施清单（.xlsx 或 .csv）", "en": "Upload a list (.xlsx or .csv)"},
        "list_too_large": {
            "zh": "文件为 {size:.1f} MB，超过上传上限 {limit:.1f} MB："
            "请拆分，或由运维用 sanji catalogue import 导入。",
            "en": "The file is {size:.1f} MB, over the {limit:.1f} MB upload limit: split it, or import it "
            "with sanji catalogue import.",
        },
        "list_preview": {"zh": "预览（不写入）", "en": "Preview (writes nothing)"},
        "list_checking": {"zh": "正在逐行核对 {name} …", "en": "Checking {name} row by row…"},
        "list_new": {"zh": "新增", "en": "New"},
        "list_changed": {"zh": "修改", "en": "Changed"},
        "list_unchanged": {"zh": "未变", "en": "Unchanged"},
        "list_invalid": {"zh": "无效", "en": "Invalid"},
        "list_row": {"zh": "行号", "en": "Row"},
        "list_status": {"zh": "结果", "en": "Result"},
        "list_changes": {"zh": "变更的列", "en": "Columns that change"},
        "list_reason": {"zh": "原因", "en": "Reason"},
        "list_has_invalid": {
            "zh": "有 {n} 行无效：导入是全部或全不，修正这些行后重新上传。",
            "en": "{n} row(s) are invalid: an import is all or nothing; fix them and upload again.",
        },
        "list_nothing": {
            "zh": "清单与目录一致，没有需要导入的修改。",
            "en": "The list matches the catalogue.",
        },
        "list_apply": {"zh": "导入 {n} 行修改", "en": "Import {n} row(s) of changes"},
        "list_importing": {"zh": "正在导入 {n} 行 …", "en": "Importing {n} rows…"},
        "list_done": {
            "zh": "已导入：新增 {new} 个事项，修改 {changed} 个。",
            "en": "Imported: {new} new item(s), {changed} changed.",
        },
    }
)

EXPORT = """query($format: CatalogueFormat!, $template: Boolean!) {
  catalogueFile(format: $format, template: $template) { filename contentType contentBase64 rows } }"""
IMPORT = """mutation($file: String!, $filename: String!, $apply: Boolean!) {
  importCatalogue(file: $file, filename: $filename, apply: $apply) {
    applied new changed unchanged invalid rows { row code status changes reason } } }"""
UPLOAD_LIMIT = 3 * 1024 * 1024  # base64 grows it by a third: within the API's 4 MB request limit
STATUS = {"NEW": "list_new", "CHANGED": "list_changed", "INVALID": "list_invalid"}
PREVIEW, FILE = "list_preview_result", "list_prepared"


def render(lang: str, flash: str) -> None:
    st.subheader(t("list_title", lang))
    _downloads(lang)
    _upload(lang, flash)


def _downloads(lang: str) -> None:
    columns = st.columns(3)
    kind = columns[0].radio(
        t("list_format", lang), ["XLSX", "CSV"], horizontal=True, key="list_format", format_func=str.lower
    )
    if columns[1].button(t("list_prepare", lang), key="list_prepare"):
        try:
            st.session_state[FILE] = session.query(EXPORT, {"format": kind, "template": False}, fresh=True)[
                "catalogueFile"
            ]
        except ApiError as error:
            session.show_error(error)
    prepared = st.session_state.get(FILE)
    if prepared and prepared["filename"].endswith(kind.lower()):
        columns[1].download_button(
            t("list_download", lang).format(n=prepared["rows"]),
            base64.b64decode(prepared["contentBase64"]),
            file_name=prepared["filename"],
            mime=prepared["contentType"],
            key="list_download",
        )
    try:
        template = session.query(EXPORT, {"format": kind, "template": True})["catalogueFile"]
    except ApiError as error:
        session.show_error(error)
        return
    columns[2].download_button(
        t("list_template", lang),
        base64.b64decode(template["contentBase64"]),
        file_name=template["filename"],
        mime=template["contentType"],
        key="list_template",
    )


def _upload(lang: str, flash: str) -> None:
    uploaded = st.file_uploader(t("list_upload", lang), type=["xlsx", "csv"], key="list_upload")
    if uploaded is None:
        st.session_state.pop(PREVIEW, None)
        return
    content = uploaded.getvalue()
    if len(content) > UPLOAD_LIMIT:
        st.warning(
            t("list_too_large", lang).format(size=len(content) / 1048576, limit=UPLOAD_LIMIT / 1048576)
        )
        return
    digest = hashlib.sha256(content).hexdigest()
    found = st.session_state.get(PREVIEW)
    if found is None or found["digest"] != digest:
        if not st.button(t("list_preview", lang), key="list_preview"):
            return
        with st.spinner(t("list_checking", lang).format(name=uploaded.name)):
            try:
                result = _send(content, uploaded.name, apply=False)
            except ApiError as error:
                session.show_error(error)
                return
        found = st.session_state[PREVIEW] = {"digest": digest, "name": uploaded.name, "result": result}
    _preview(found["result"], lang)
    result = found["result"]
    if result["invalid"]:
        st.error(t("list_has_invalid", lang).format(n=result["invalid"]))
        return
    work = result["new"] + result["changed"]
    if not work:
        st.info(t("list_nothing", lang))
        return
    st.button(
        t("list_apply", lang).format(n=work),
        type="primary",
        key="list_apply",
        on_click=_apply,
        args=(content, uploaded.name, work, lang, flash),
    )


def _preview(result: dict[str, Any], lang: str) -> None:
    columns = st.columns(4)
    for column, (key, field) in zip(
        columns,
        (
            ("list_new", "new"),
            ("list_changed", "changed"),
            ("list_unchanged", "unchanged"),
            ("list_invalid", "invalid"),
        ),
        strict=True,
    ):
        column.metric(t(key, lang), result[field])
    if result["rows"]:
        dataframe(
            [
                {
                    t("list_row", lang): row["row"],
                    t("code", lang): row["code"],
                    t("list_status", lang): t(STATUS[row["status"]], lang),
                    t("list_changes", lang): "、".join(row["changes"]),
                    t("list_reason", lang): row["reason"],
                }
                for row in result["rows"]
            ],
            hide_index=True,
            key="list_rows",
        )


def _apply(content: bytes, name: str, work: int, lang: str, flash: str) -> None:
    with st.spinner(t("list_importing", lang).format(n=work)):
        try:
            result = _send(content, name, apply=True)
        except ApiError as error:
            st.session_state[flash] = ("error", error)
            return
    st.session_state.pop(PREVIEW, None)
    st.session_state.pop(FILE, None)
    st.session_state[flash] = (
        "success",
        t("list_done", lang).format(new=result["new"], changed=result["changed"]),
    )


def _send(content: bytes, name: str, *, apply: bool) -> dict[str, Any]:
    variables = {"file": base64.b64encode(content).decode("ascii"), "filename": name, "apply": apply}
    return session.query(IMPORT, variables)["importCatalogue"]
