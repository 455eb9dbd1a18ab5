"""A model set that has nothing to do with Sanji's: a lending library's branches, books, members and
loans, served by the same engine under its own policy (tests/test_engine.py)."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Genre(StrEnum):
    NOVEL = "novel"
    HISTORY = "history"
    POETRY = "poetry"


class Branch(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=60, unique=True)

    class Meta:
        table = "library_branch"


class Book(Model):
    id = fields.IntField(primary_key=True)
    branch = fields.ForeignKeyField("library.Branch", related_name="books", on_delete=fields.CASCADE)
    title = fields.CharField(max_length=120)
    genre = fields.CharEnumField(Genre, max_length=10)
    pages = fields.IntField(default=0)
    shelved_at = fields.DatetimeField()

    class Meta:
        table = "library_book"


class Member(Model):
    id = fields.IntField(primary_key=True)
    branch = fields.ForeignKeyField("library.Branch", related_name="members", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=60)
    phone = fields.CharField(max_length=20, null=True)

    class Meta:
        table = "library_member"


class Loan(Model):
    id = fields.IntField(primary_key=True)
    book = fields.ForeignKeyField("library.Book", related_name="loans", on_delete=fields.CASCADE)
    member = fields.ForeignKeyField("library.Member", related_name="loans", on_delete=fields.CASCADE)
    lent_at = fields.DatetimeField()
    returned = fields.BooleanField(default=False)

    class Meta:
        table = "library_loan"
