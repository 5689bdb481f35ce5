"""A small in-process event bus: how a domain reaches one that comes after it.

Domains import only the domains before them (see ``tests/test_layers.py``). When something
must run backwards (an activity awards points, points gained nudge the member), the earlier
domain publishes an event it defines, a small frozen dataclass, and the later domain's
handler is subscribed to it by :func:`app.wiring.wire`, once per process.

:func:`publish` awaits each handler in the order they were subscribed, in the caller's task
and so in the caller's transaction: the points of an activity are written with the activity
or not at all, as when the call was direct. A handler's exception propagates to the
publisher, as a direct call's would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

E = TypeVar("E")
Handler = Callable[[Any], Awaitable[None]]

_handlers: dict[type, list[Handler]] = {}


def subscribe(event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> None:
    """Call ``handler`` with every published event of ``event_type``; subscribing the same
    handler twice subscribes it once."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


async def publish(event: object) -> None:
    """Run the handlers of the event's type, one after the other, in the caller's task."""
    for handler in _handlers.get(type(event), ()):
        await handler(event)


def clear() -> None:
    """Forget every subscription (wiring starts from nothing)."""
    _handlers.clear()
