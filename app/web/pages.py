"""Rendering pages and their fragments from one template.

A URL answers with its full page, or with only the block htmx swaps when htmx asks for
it. A history restore (the back button after htmx navigation) gets the full page. Every
such response says ``Vary: HX-Request`` so no cache mixes the two.

A block may be defined in a parent template (``app`` lives in base.html): the block is
rendered with the whole inheritance chain in place, as ``{% extends %}`` would, so a page
and its fragment can never drift apart.

Every page gets the base context (see :func:`render`) without its handler passing it. The
HTTP layer imports no domain: what the base context holds is computed by the function
``create_app`` puts in ``app.state.page_context`` (``app.shell.context.page_context``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from jinja2 import Environment, Template, nodes
from litestar import Response
from litestar.enums import MediaType
from litestar.plugins.htmx import ClientRedirect, HTMXRequest
from litestar.response import Redirect
from litestar.status_codes import HTTP_204_NO_CONTENT, HTTP_303_SEE_OTHER

APP_BLOCK = "app"
# A route handler whose ``opt`` has this key set compresses its responses itself.
SKIP_COMPRESSION = "skip_compression"
# A GET-only route that reads no form and needs no CSRF cookie (/ping, media, share images)
# sets this: Litestar's CSRF middleware then leaves it alone, rather than signing and
# setting a fresh token cookie on each cookie-less answer (a quarter of /ping's time).
NO_CSRF_COOKIE = "exclude_from_csrf"
# Responses are gzipped at level 1: a 29 KB feed page compresses in under half the time of
# level 6 (0.9 against 2.1 ms on a loaded two-core machine, the largest single cost of the
# request once its cards are kept) for a body about 12 % larger (7.0 against 6.2 KB).
GZIP_LEVEL = 1


def wants_fragment(request: HTMXRequest) -> bool:
    """htmx asks for a swap, not for a whole page (a history restore or a boosted link)."""
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def see_other(request: HTMXRequest, url: str) -> Response[Any]:
    """The one answer that sends the browser to ``url`` after a successful POST.

    A plain form post gets a 303. htmx would follow a redirect inside its own request and
    swap the page into the form: it gets ``HX-Redirect`` (a 204 with no body), and the
    browser loads ``url`` as a whole page, with its scripts, in the language just chosen.
    """
    if request.htmx:
        response = ClientRedirect(url)
        response.status_code = HTTP_204_NO_CONTENT
        return response
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)


@cache
def _parent_name(env: Environment, name: str) -> str | None:
    source, _filename, _uptodate = env.loader.get_source(env, name)  # type: ignore[union-attr]
    extends = env.parse(source).find(nodes.Extends)
    if extends is None or not isinstance(extends.template, nodes.Const):
        return None
    return str(extends.template.value)


def render_block(env: Environment, template: Template, block: str, context: dict[str, Any]) -> str:
    ctx = template.new_context(context)
    parent = _parent_name(env, template.name or "")
    while parent is not None:
        parent_template = env.get_template(parent)
        for name, func in parent_template.blocks.items():
            ctx.blocks.setdefault(name, []).append(func)
        parent = _parent_name(env, parent)
    if block not in ctx.blocks:
        raise KeyError(f"No block {block!r} in {template.name!r} or its parents")
    return "".join(ctx.blocks[block][0](ctx))


def environment(request: HTMXRequest) -> Environment:
    """The Jinja environment pages are rendered with (for what a handler renders itself)."""
    return request.app.template_engine.engine  # type: ignore[union-attr]


def render_html(request: HTMXRequest, template_name: str, block: str | None, **context: Any) -> str:
    env = environment(request)
    template = env.get_template(template_name)
    # An error raised before routing (an unknown URL) went through no session middleware.
    context = {"request": request, "member": request.scope.get("user"), **context}
    if block is None:
        return template.render(context)
    return render_block(env, template, block, context)


PageContext = Callable[[HTMXRequest], Awaitable[dict[str, Any]]]


async def base_context(request: HTMXRequest) -> dict[str, Any]:
    """``org_name``, ``tab`` and ``tabs`` for this request (see :func:`render`)."""
    page_context: PageContext = request.app.state.page_context
    return await page_context(request)


async def render(
    request: HTMXRequest,
    template: str,
    *,
    block: str = APP_BLOCK,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    """The page, or only ``block`` when htmx asks for a fragment.

    Every template gets this base context; a handler's own context may override any of it:

    - ``request``; ``member``, the signed-in :class:`~app.accounts.tables.Member` or None;
    - ``fragment``: True when only ``block`` is rendered (for htmx);
    - ``org_name``: the organisation's name, read through a cache of a few seconds per
      process (``app.org.service.organisation_name``);
    - ``tab``: the tab bar's current tab, from the route's ``opt={"tab": ...}`` (a page
      behind sign-in without one is under Me; a tab the member's role has not, Me too);
      None for a public page, which shows no tab bar;
    - ``tabs``: the tabs the member's role sees, decided in one place
      (``app.shell.context.tabs_for``).
    """
    context = {**await base_context(request), **context}
    return page(request, template, block=block, status_code=status_code, headers=headers, **context)


def page(
    request: HTMXRequest,
    template: str,
    *,
    block: str = APP_BLOCK,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    """:func:`render` with only the context given, and no database read: the error pages."""
    fragment = wants_fragment(request)
    html = render_html(request, template, block if fragment else None, fragment=fragment, **context)
    return Response(
        html,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers={"Vary": "HX-Request", **(headers or {})},
    )
