"""A throwaway model for the low-code test: it has a spec and nothing else."""

from tortoise import fields
from tortoise.models import Model


class Notice(Model):
    """A notice posted at an organization (公告)"""

    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="notices", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=100)
    body = fields.TextField(default="")
    pinned = fields.BooleanField(default=False)
    views = fields.IntField(default=0)
    published_on = fields.DateField()

    class Meta:
        table = "test_notice"
