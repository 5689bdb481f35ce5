"""Cached public pages: the same bytes for everyone but the per-request values, plain or gzip."""

from __future__ import annotations

import gzip
import zlib

from app.web.pagecache import Page, RenderedPages, public_pages_changed, slot


def test_a_filled_page_is_the_same_plain_or_gzipped_wherever_its_slots_are() -> None:
    body = "<p>Café – « offre » " + "a long enough text to compress " * 40 + "</p>"
    html = (
        f'{slot("csrf")}<html>{body}<span data-token="{slot("beacon")}"></span>'
        f"{slot('csrf')}{slot('beacon')}<footer>fin</footer>{slot('csrf')}"
    )
    page = Page(html)
    for values in ({"csrf": "abc123", "beacon": "1700000000.ff00"}, {"csrf": "", "beacon": "é"}):
        expected = html.replace(slot("csrf"), values["csrf"]).replace(
            slot("beacon"), values["beacon"]
        )
        plain = page.body(values)
        assert plain.decode() == expected
        zipped = page.body(values, gzip=True)
        assert gzip.decompress(zipped) == plain  # checks the CRC and the size too
        assert zlib.decompress(zipped, wbits=31) == plain
        assert len(zipped) < len(plain) / 2


def test_a_page_is_kept_until_its_time_is_up_or_public_pages_change() -> None:
    pages = RenderedPages(ttl_s=60)
    pages.put(("code", "en"), "<p>one</p>")
    kept = pages.get(("code", "en"))
    assert kept is not None and kept.body({}) == b"<p>one</p>"
    public_pages_changed()
    assert pages.get(("code", "en")) is None
    expired = RenderedPages(ttl_s=0)
    expired.put("x", "<p>two</p>")
    assert expired.get("x") is None
