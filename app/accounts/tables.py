from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.org.tables import Site, Team


class Role(StrEnum):
    employee = "employee"
    editor = "editor"
    admin = "admin"


class Member(Table):
    """A person of the organisation who uses Relay: an employee, an editor or an admin."""

    email = Varchar(length=254, unique=True)
    name = Varchar(length=120)
    role = Varchar(length=10, default=Role.employee.value, choices=Role)
    team = ForeignKey(references=Team, null=True)
    site = ForeignKey(references=Site, null=True)
    language = Varchar(length=5, default="en")
    active = Boolean(default=True, index=True)
    created_at = Timestamptz(default=TimestamptzNow())

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else ""
