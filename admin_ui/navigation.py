"""The admin app's pages, their titles and the roles that may reach each (no one else sees them)."""

from __future__ import annotations

from dataclasses import dataclass

EVERYONE = ("ADMIN", "SUPERVISOR", "CLERK", "AGENT", "INTEGRATOR")


@dataclass(frozen=True)
class Page:
    key: str  # module in admin_ui/views/ with a render() function, and the page's address (/key)
    title: dict[str, str]
    roles: tuple[str, ...]


PAGES = (
    Page("coverage", {"zh": "覆盖地图", "en": "Coverage map"}, EVERYONE),
    Page("delegation", {"zh": "事项下放", "en": "Item delegation"}, ("ADMIN",)),
    Page("rooms", {"zh": "便民服务室建设", "en": "Room construction"}, ("ADMIN", "SUPERVISOR")),
    Page(
        "dashboard", {"zh": "办件统计", "en": "Service dashboard"}, ("ADMIN", "SUPERVISOR", "CLERK", "AGENT")
    ),
    Page("catalogue", {"zh": "事项目录", "en": "Catalogue and guides"}, EVERYONE),
    Page("browser", {"zh": "数据浏览", "en": "Data browser"}, EVERYONE),
    Page("webhooks", {"zh": "事件推送", "en": "Webhooks"}, ("ADMIN", "SUPERVISOR")),
    Page("reports", {"zh": "报表", "en": "Reports"}, ("ADMIN", "SUPERVISOR", "CLERK", "AGENT")),
)


def pages_for(role: str) -> list[Page]:
    return [page for page in PAGES if role in page.roles]
