"""One shape for a checked form, and the parsers every form's fields go through.

Each domain's ``check_*`` function builds a `FormResult` from what was posted: the clean
value of each field (or the text as typed, when that field is refused, so the form shows it
again), a translated sentence per refused field, and at most one sentence for the whole form
(a rule no single field breaks). Routes answer 422 and re-render when ``not result.ok``;
templates show the sentences with the macros of ``templates/_forms.html``.

The parsers read one field each and record their refusal themselves, the first per field
winning, so that a check reads as the list of its fields::

    form = FormResult.of(data)
    form.text("name", required=_("Give the reward a name."), max_length=NAME_MAX)
    form.integer("cost", low=1, high=COST_MAX, message=_("Enter a cost in points…"))
    form.checkbox("active")
    return form

Each takes the sentence its form has always shown (so that translations stay); the defaults
are for new forms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any, TypeVar

from app.core.i18n import _
from app.core.validation import https_url, parse_int, parse_time

T = TypeVar("T")

# What people type between thousands: a space or a narrow no-break space.
SPACES = " \u202f"
# Local part @ a dotted domain, without spaces or the characters that split address lists.
EMAIL_RE = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$")
EMAIL_MAX = 254


@dataclass
class FormResult:
    """A posted form, checked: ``values`` by field, ``errors`` (field → sentence) and
    ``error``, a sentence about the whole form."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> FormResult:
        """An empty result reading the fields of ``data`` (a posted form)."""
        return cls(data=data if isinstance(data, Mapping) else {})

    @property
    def ok(self) -> bool:
        return not self.errors and self.error is None

    def fail(self, name: str, message: str) -> None:
        """Refuse ``name`` with ``message``, unless it was refused already."""
        self.errors.setdefault(name, message)

    def refuse(self, message: str) -> None:
        """Refuse the whole form (a rule that no one field breaks)."""
        if self.error is None:
            self.error = message

    def raw(self, name: str) -> str:
        """The field as typed, trimmed (the first, when it was sent several times); "" for a
        missing field or one that is not text (a file)."""
        value = self.data.get(name)
        if isinstance(value, list):
            value = value[0] if value else ""
        return value.strip() if isinstance(value, str) else ""

    def _keep(self, name: str, value: T, message: str | None) -> T | None:
        if message is None:
            self.values[name] = value
            return value
        self.values[name] = self.raw(name)
        self.fail(name, message)
        return None

    # --- The parsers: each reads one field, keeps its value, records its refusal --------

    def text(
        self,
        name: str,
        *,
        max_length: int,
        required: str | None = None,
        too_long: str | None = None,
    ) -> str:
        """Text, trimmed: refused when empty (if ``required`` gives the sentence) or longer
        than ``max_length``. The value is kept even when refused."""
        value = self.raw(name)
        self.values[name] = value
        if not value and required is not None:
            self.fail(name, required)
        elif len(value) > max_length:
            self.fail(name, too_long or _("At most %(num)d characters.") % {"num": max_length})
        return value

    def integer(
        self,
        name: str,
        *,
        low: int,
        high: int,
        message: str | None = None,
        optional: bool = False,
        max_digits: int = 18,
        grouping: str = "",
    ) -> int | None:
        """A whole number from ``low`` to ``high``; None (kept) for an empty ``optional``
        field."""
        text = self.raw(name)
        if optional and not text:
            self.values[name] = None
            return None
        number = parse_int(text, max_digits=max_digits, signed=True, grouping=grouping)
        if number is None or not low <= number <= high:
            default = _("Enter a whole number from %(low)s to %(high)s.") % {
                "low": low,
                "high": high,
            }
            return self._keep(name, 0, message or default)
        return self._keep(name, number, None)

    def datetime(
        self,
        name: str,
        *,
        zone: tzinfo = UTC,
        message: str | None = None,
        required: bool = False,
    ) -> datetime | None:
        """A date and time typed in ``zone`` (a datetime-local field), as UTC; None (kept)
        for an empty field unless ``required``."""
        refusal = message or _("Enter a date and time.")
        try:
            value = parse_time(self.raw(name), zone)
        except ValueError:
            return self._keep(name, None, refusal)
        if value is None and required:
            return self._keep(name, None, refusal)
        return self._keep(name, value, None)

    def date(self, name: str, *, message: str | None = None, required: bool = False) -> date | None:
        """A calendar date (YYYY-MM-DD); None (kept) for an empty field unless ``required``."""
        text = self.raw(name)
        refusal = message or _("Enter a date.")
        if not text:
            return self._keep(name, None, refusal if required else None)
        try:
            return self._keep(
                name, date.fromisoformat(text[:10]) if len(text) == 10 else None, None
            )
        except ValueError:
            return self._keep(name, None, refusal)

    def choice(
        self,
        name: str,
        choices: Collection[T],
        *,
        message: str,
        parse: Callable[[str], T] | None = None,
        default: T | None = None,
    ) -> T | None:
        """One of ``choices`` (compared after ``parse``); ``default`` (kept) when the field is
        empty and a default is given."""
        text = self.raw(name)
        if not text and default is not None:
            return self._keep(name, default, None)
        try:
            value: Any = parse(text) if parse else text
        except ValueError:
            return self._keep(name, None, message)
        if value not in choices:
            return self._keep(name, None, message)
        return self._keep(name, value, None)

    def email(
        self, name: str, *, message: str, required: str | None = None, max_length: int = EMAIL_MAX
    ) -> str:
        """An email address (kept as typed); "" is refused only when ``required``."""
        value = self.raw(name)
        self.values[name] = value
        if not value:
            if required is not None:
                self.fail(name, required)
        elif len(value) > max_length or not EMAIL_RE.match(value):
            self.fail(name, message)
        return value

    def url(
        self,
        name: str,
        *,
        message: str,
        hosts: Collection[str] = (),
        max_length: int | None = None,
        too_long: str | None = None,
        required: str | None = None,
    ) -> str:
        """An https:// address (kept as typed), on one of ``hosts`` or their sub-domains when
        given; "" is refused only when ``required``."""
        value = self.raw(name)
        self.values[name] = value
        if not value:
            if required is not None:
                self.fail(name, required)
            return value
        parts = https_url(value)
        host = (parts.hostname or "").lower() if parts else None
        if host is None or (hosts and not any(host == h or host.endswith("." + h) for h in hosts)):
            self.fail(name, message)
        elif max_length is not None and len(value) > max_length:
            self.fail(name, too_long or _("That address is too long."))
        return value

    def checkbox(self, name: str, *, on: str = "on", message: str | None = None) -> bool:
        """Whether the box was ticked (sent as ``on``); refused unticked when ``message``."""
        ticked = self.raw(name) == on
        self.values[name] = ticked
        if not ticked and message is not None:
            self.fail(name, message)
        return ticked
