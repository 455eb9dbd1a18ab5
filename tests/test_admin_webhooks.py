"""The webhooks page (事件推送) against a real API server: register (the secret shown once), the
delivery log of a real receiver, send failed deliveries again, disable; a supervisor only reads."""

from __future__ import annotations

import asyncio

from api import db
from api.models.webhook import DeliveryState, WebhookDelivery
from api.services import webhooks
from tests.receiver import Receiver
from tests.test_webhooks import fast
from tests.ui_support import PAGES, graphql_at, run, signed_in

PAGE = str(PAGES / "webhooks.py")
SUBMIT = """mutation($item: ID!) { submitCase(input: {itemId: $item, applicantType: PERSON,
  applicantName: "钱小七", applicantIdNumber: "11010519491231002X", applicantPhone: "13800138000"})
  { case { id } } }"""


def register(url: str):
    def step(app):
        app.text_input(key="wh_new_name").input("省一网通办")
        app.text_input(key="wh_new_url").input(url)
        app.multiselect(key="wh_new_types").set_value(["case.*"])
        app.button(key="wh_register_submit").click()

    return step


async def test_an_admin_registers_sees_failed_deliveries_sends_them_again_and_disables(
    api_url, seeded_url, monkeypatch
):
    receiver = Receiver(answer=lambda _got: 500).start()
    try:
        admin = await asyncio.to_thread(signed_in, api_url, "admin")
        app = await asyncio.to_thread(run, api_url, PAGE, admin, None, [register(receiver.url)])
        assert not app.exception, app.exception
        monkeypatch.setenv("SANJI_API_URL", api_url)  # for the page's runs below (run() unsets it)
        assert app.title[0].value == "事件推送"
        secret = app.code[0].value
        assert secret.startswith("whsec_") and "只显示这一次" in app.warning[0].value
        endpoints = app.dataframe[0].value
        assert list(endpoints["名称"]) == ["省一网通办"] and list(endpoints["事件类型"]) == ["case.*"]
        assert list(endpoints["状态"]) == ["启用"]
        app.run()
        assert not app.code, "the secret is shown once"

        clerk = await asyncio.to_thread(signed_in, api_url, "clerk")
        items = graphql_at(api_url, '{ items(where: {code: {eq: "XK-005"}}) { nodes { id } } }', clerk.token)
        submitted = graphql_at(api_url, SUBMIT, clerk.token, {"item": items["items"]["nodes"][0]["id"]})
        assert submitted["submitCase"]["case"]["id"]
        settings = fast(seeded_url, webhook_retry_hours=0.0001)  # fails for good at once
        async with db.database(settings):
            worker = webhooks.Worker(settings)
            try:
                for _ in range(200):
                    await worker.step()
                    await worker.drain()
                    if await WebhookDelivery.filter(state=DeliveryState.FAILED).exists():
                        break
                    await asyncio.sleep(0.02)
            finally:
                await worker.close()
        app.run()
        log = app.dataframe[1].value
        assert list(log["状态"]) == ["失败"] and list(log["响应状态"]) == [500]
        assert list(log["错误"]) == ["HTTP 500"] and list(log["事件类型"]) == ["case.submitted"]

        app.multiselect(key="wh_redeliver_ids").set_value(
            list(app.multiselect(key="wh_redeliver_ids").options)
        )
        app.button(key="wh_redeliver_submit").click()
        app.run()
        assert "已重新排队 1 条" in app.success[0].value
        assert list(app.dataframe[1].value["状态"]) == ["待发送"]

        app.text_input(key="wh_reason").input("对方系统维护")
        app.button(key="wh_disable_submit").click()
        app.run()
        assert not app.exception, app.exception
        assert list(app.dataframe[0].value["状态"]) == ["已停用：对方系统维护"]
    finally:
        receiver.stop()


async def test_a_supervisor_reads_the_page_without_its_forms(api_url):
    supervisor = await asyncio.to_thread(signed_in, api_url, "supervisor")
    app = await asyncio.to_thread(run, api_url, PAGE, supervisor)
    assert not app.exception, app.exception
    assert "还没有登记推送地址" in app.info[0].value
    assert not [button for button in app.button if button.key == "wh_register_submit"]
