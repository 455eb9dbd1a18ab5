"""Tortoise models, one module per domain; `MODEL_MODULES` is what the ORM and migrations load."""

MODEL_MODULES = [
    "api.models.org",
    "api.models.staff",
    "api.models.item",
    "api.models.case",
    "api.models.funding",
    "api.models.calendar",
    "api.models.user",
    "api.models.audit",
    "api.models.outbox",
    "api.models.webhook",
    "api.models.query",
    "api.models.report",
]
