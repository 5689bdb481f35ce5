"""Route guards, run as Litestar runs them, without copying the route handler each time.

Litestar's ``authorize_connection`` hands every guard ``copy(route_handler)`` so that a
guard cannot change the handler: a copy of some sixty attributes on every request, a fifth
of ``/ping``'s CPU under cProfile. Relay's guards read the connection and never touch the
handler, so :func:`run_guards_in_place` gives each HTTP route handler of an app a version of
``authorize_connection`` that passes the handler itself, and leaves out the guards that do
nothing (``anyone``, which exists so that every route states who may use it): a public
route then runs no guard at all. The guards still run in the same order, at the same point,
before the handler; ``handler.guards`` is untouched (the access tests read it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from inspect import isawaitable
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.routes import HTTPRoute

Guard = Callable[..., Any]


def run_guards_in_place(app: Litestar, no_ops: Collection[Guard] = ()) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler, _parameters in route.route_handler_map.values():
            attributes = getattr(handler, "__dict__", None)
            if attributes is None:  # Litestar's own OPTIONS answers: no guard of ours
                continue
            guards = [guard for guard in handler.resolve_guards() if guard not in no_ops]
            attributes["resolve_guards"] = _Guards(guards)
            attributes["authorize_connection"] = _Authorize(guards, handler)


class _Guards:
    __slots__ = ("guards",)

    def __init__(self, guards: list[Guard]) -> None:
        self.guards = guards

    def __call__(self) -> list[Guard]:
        return self.guards


class _Authorize:
    __slots__ = ("guards", "handler")

    def __init__(self, guards: list[Guard], handler: Any) -> None:
        self.guards = guards
        self.handler = handler

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        for guard in self.guards:
            outcome = guard(connection, self.handler)
            if isawaitable(outcome):  # Relay's guards are coroutines; a plain one still counts
                await outcome
