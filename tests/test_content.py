"""Stories and offers over HTTP: the studio, the feed, sharing, tracked links, public pages."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

from litestar.testing import AsyncTestClient
from PIL import Image

from app.accounts.sessions import sessions_changed
from app.accounts.tables import Member
from app.content import apply_hosts, editing, guides
from app.content import feed as content_feed
from app.content.tables import ContentItem, OfferStatus
from app.sharing import service as sharing
from app.sharing.tables import Share, ShareLink
from tests.factories import jpeg_bytes, make_item, make_member, make_site, make_team, stored_image
from tests.helpers import HTML, create_in_studio, csrf, csrf_token_of, sign_in


async def test_an_editor_schedules_a_story_for_one_team_and_only_that_team_sees_it_at_publish_time(
    client: AsyncTestClient,
) -> None:
    sales, engineering = await make_team("Sales"), await make_team("Engineering")
    await sign_in(client, "editor")
    status, location = await create_in_studio(
        client,
        {"title": "Our sales kick-off", "body": "We met in Lyon.", "language": "en",
         "audience": "chosen", "teams": [str(sales)], "tags": "events"},
        image=("kickoff.jpg", jpeg_bytes(), "image/jpeg"),
    )  # fmt: skip
    assert status == 303, location
    item_id = int(re.search(r"/studio/(\d+)", location).group(1))  # type: ignore[union-attr]
    headers = await csrf(client, f"/studio/{item_id}")
    moment = (editing.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = await client.post(
        f"/studio/{item_id}/publish", data={"publish_at": moment}, headers=headers,
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    page = await client.get(f"/studio/{item_id}", headers=HTML)
    assert "Scheduled" in page.text

    seller = await make_member(team=sales)
    engineer = await make_member(team=engineering)
    assert not (await content_feed.feed_page(seller)).cards
    later = editing.now() + timedelta(hours=3)
    assert [c["id"] for c in (await content_feed.feed_page(seller, at=later)).cards] == [item_id]
    assert not (await content_feed.feed_page(engineer, at=later)).cards

    # Time passes: the schedule moves into the past and the feed shows it, with its image.
    await ContentItem.update({ContentItem.publish_at: editing.now() - timedelta(minutes=1)}).where(
        ContentItem.id == item_id
    )
    client.cookies.clear()
    await sign_in(client, team=sales)
    feed = await client.get("/", headers=HTML)
    assert "Our sales kick-off" in feed.text
    image = re.search(r'src="(/media/[^"]+)"', feed.text).group(1)  # type: ignore[union-attr]
    served = await client.get(image)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert "immutable" in served.headers["cache-control"]
    assert Image.open(io.BytesIO(served.content)).width == 600
    client.cookies.clear()
    await sign_in(client, team=engineering)
    assert "Our sales kick-off" not in (await client.get("/", headers=HTML)).text


async def test_the_feed_pages_without_duplicates_pinned_first_then_newest(
    client: AsyncTestClient,
) -> None:
    base = editing.now() - timedelta(days=1)
    ids = []
    for n in range(45):
        # Several share a publish time: the id breaks the tie.
        ids.append(await make_item(title=f"Story {n}", published=base + timedelta(minutes=n // 3)))
    pinned = await make_item(title="Pinned story", published=base - timedelta(days=3), pinned=True)
    member = await sign_in(client)
    first = await client.get("/", headers=HTML)
    assert first.text.count('class="card feed-card') == 20
    assert first.text.index("Pinned story") < first.text.index("Story 44")
    seen = re.findall(r'data-card-id="(\d+)"', first.text)
    more = re.search(r'hx-get="(/\?after=[^"]+)" hx-trigger="revealed"', first.text)
    while more:
        page = await client.get(more.group(1).replace("&amp;", "&"), headers={"hx-request": "true"})
        assert "<html" not in page.text
        seen += re.findall(r'data-card-id="(\d+)"', page.text)
        more = re.search(r'hx-get="(/\?after=[^"]+)" hx-trigger="revealed"', page.text)
    assert len(seen) == len(set(seen)) == 46
    assert [int(s) for s in seen] == [pinned, *reversed(ids)]
    # The same through the service, with a card published between two pages.
    page1 = await content_feed.feed_page(member, limit=10)
    await make_item(title="Breaking news")
    page2 = await content_feed.feed_page(member, after=page1.next_cursor, limit=10)
    assert not {c["id"] for c in page1.cards} & {c["id"] for c in page2.cards}


async def test_the_feed_filters_by_kind_tag_and_search_and_marks_what_is_new(
    client: AsyncTestClient,
) -> None:
    await make_item(title="Hackathon photos", tags=["events"])
    await make_item("offer", title="Backend engineer", tags=["tech"])
    await sign_in(client)
    assert "Backend engineer" not in (await client.get("/?kind=story", headers=HTML)).text
    offers = await client.get("/?kind=offer", headers=HTML)
    assert "Backend engineer" in offers.text and "Hackathon photos" not in offers.text
    tagged = await client.get("/?tag=events", headers=HTML)
    assert "Hackathon photos" in tagged.text and "Backend engineer" not in tagged.text
    found = await client.get("/?q=backend", headers=HTML)
    assert "Backend engineer" in found.text and "Hackathon photos" not in found.text
    nothing = await client.get("/?q=zzzz", headers=HTML)
    assert "Nothing matches" in nothing.text
    # First visit: nothing is "new"; later items published after the last visit are.
    assert "badge--new" not in (await client.get("/", headers=HTML)).text


async def test_an_empty_feed_keeps_its_honest_empty_state(employee_client: AsyncTestClient) -> None:
    page = await employee_client.get("/", headers=HTML)
    assert "Nothing to share yet" in page.text


async def test_a_share_is_recorded_once_per_network_and_the_link_is_stable(
    client: AsyncTestClient,
) -> None:
    item_id = await make_item(title="Team offsite")
    member = await sign_in(client, name="Léa Martin")
    sheet = await client.get(f"/items/{item_id}/share", headers=HTML)
    url = re.search(r'data-url="([^"]+)"', sheet.text).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"http://localhost:8000/r/[A-Za-z0-9_-]{12}", url)
    again = await client.get(f"/items/{item_id}/share", headers=HTML)
    assert url in again.text
    headers = {"x-csrftoken": csrf_token_of(sheet.text), "accept": "application/json"}
    for _ in range(2):
        response = await client.post(
            f"/items/{item_id}/shares", json={"network": "native"}, headers=headers
        )
        assert response.status_code == 200
    assert (await client.post(
        f"/items/{item_id}/shares", json={"network": "myspace"}, headers=headers
    )).status_code == 422  # fmt: skip
    assert await Share.count().where(Share.member == member.id) == 1
    assert await ShareLink.count() == 1
    feed = await client.get("/", headers=HTML)
    assert "You shared it" in feed.text
    assert "0 clicks on your link" in feed.text
    assert await sharing.genuine_clicks_by_item(member.id, [item_id]) == {item_id: 0}
    assert await sharing.record_share(member.id, item_id, "linkedin") is True
    assert await sharing.record_share(member.id, item_id, "linkedin") is False


async def test_an_item_not_for_me_cannot_be_shared_or_seen(client: AsyncTestClient) -> None:
    other_team = await make_team()
    item_id = await make_item(title="Secret", teams=[other_team])
    await sign_in(client)
    assert (await client.get(f"/items/{item_id}", headers=HTML)).status_code == 404
    assert (await client.get(f"/items/{item_id}/share", headers=HTML)).status_code == 404


class MetaTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.canonical = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta" and (a.get("property") or a.get("name")):
            self.meta[str(a.get("property") or a.get("name"))] = str(a.get("content"))
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = str(a.get("href"))


async def test_the_public_page_credits_the_sharer_and_carries_valid_open_graph_tags(
    client: AsyncTestClient, settings: object
) -> None:
    key = stored_image(settings.data_dir, jpeg_bytes(1600, 900))  # type: ignore[attr-defined]
    item_id = await make_item(title="Our new office", body="Bright & *green*.", image=key)
    sharer = await make_member(name="Léa Martin")
    code = await sharing.link_code(sharer.id, item_id)
    page = await client.get(f"/r/{code}", headers=HTML)
    assert page.status_code == 200
    assert "Shared by Léa" in page.text
    tags = MetaTags()
    tags.feed(page.text)
    url = f"http://localhost:8000/r/{code}"
    assert tags.canonical == url
    assert tags.meta["og:url"] == url
    assert tags.meta["og:title"] == "Our new office"
    assert tags.meta["og:description"] == "Bright & green."
    assert tags.meta["og:type"] == "article"
    assert tags.meta["og:image"] == f"http://localhost:8000/media/{key}-1200.jpg"
    assert tags.meta["twitter:card"] == "summary_large_image"
    assert tags.meta["twitter:image"] == tags.meta["og:image"]
    image = await client.get(f"/media/{key}-1200.jpg")
    assert Image.open(io.BytesIO(image.content)).size == (1200, 675)

    await content_feed.set_credit_by_name(sharer.id, False)
    assert "Léa" not in (await client.get(f"/r/{code}", headers=HTML)).text


async def test_unknown_codes_and_closed_offers_point_to_the_open_offers(
    client: AsyncTestClient,
) -> None:
    await make_item("offer", title="Data analyst")
    closed = await make_item("offer", title="Sales lead")
    sharer = await make_member()
    code = await sharing.link_code(sharer.id, closed)
    missing = await client.get("/r/doesnotexist", headers=HTML)
    assert missing.status_code == 404
    assert "Data analyst" in missing.text
    await editing.set_offer_status(closed, OfferStatus.closed)
    page = await client.get(f"/r/{code}", headers=HTML)
    assert "This offer is closed" in page.text
    assert "Data analyst" in page.text
    assert page.status_code == 200
    assert "location" not in page.headers


async def test_uploads_are_refused_with_a_clear_message(client: AsyncTestClient) -> None:
    await sign_in(client, "editor")
    fields = {"title": "With a picture", "language": "en", "audience": "all"}
    png = io.BytesIO()
    Image.new("RGB", (400, 400)).save(png, "PNG")
    cases = [
        (("notes.txt", b"just some text", "text/plain"), "This file is not an image"),
        (("photo.jpg", b"MZ\x90\x00" + b"\x00" * 200, "image/jpeg"), "is a program"),
        (("huge.jpg", b"\xff\xd8\xff" + b"\x00" * (8 * 1024 * 1024 + 10), "image/jpeg"),
         "larger than 8 MB"),
        (("broken.png", png.getvalue()[:200], "image/png"), "damaged"),
        (("broken.jpg", b"\xff\xd8\xff\xe0garbage" * 10, "image/jpeg"), "damaged"),
        (("tiny.jpg", jpeg_bytes(50, 50), "image/jpeg"), "too small"),
    ]  # fmt: skip
    for upload, message in cases:
        status, text = await create_in_studio(client, fields, image=upload)
        assert status == 422, upload[0]
        assert message in text, (upload[0], text[:200])
        assert 'aria-invalid="true" aria-describedby="image-error"' in text
    assert await ContentItem.count() == 0


async def test_the_studio_checks_its_form(client: AsyncTestClient) -> None:
    await sign_in(client, "editor")
    status, text = await create_in_studio(
        client, {"title": "", "audience": "chosen", "apply_url": "https://evil.example/x"},
        kind="offer",
    )  # fmt: skip
    assert status == 422
    assert "Give it a title." in text
    assert "Choose at least one team or site" in text
    assert "No application site is allowed yet" in text
    assert await ContentItem.count() == 0


async def test_an_admin_allows_application_hosts_and_offers_may_then_use_them(
    client: AsyncTestClient,
) -> None:
    await sign_in(client, "admin")
    headers = await csrf(client, "/admin/apply-hosts")
    bad = await client.post("/admin/apply-hosts", data={"hosts": "not a host!"}, headers=headers)
    assert bad.status_code == 422
    ok = await client.post(
        "/admin/apply-hosts", data={"hosts": "jobs.example.com\nhttps://ats.example.org/"},
        headers=headers,
    )  # fmt: skip
    assert ok.status_code == 200
    assert await apply_hosts.allowed_apply_hosts() == ["ats.example.org", "jobs.example.com"]
    site = await make_site("Nantes")
    status, location = await create_in_studio(
        client,
        {"title": "Designer", "language": "en", "audience": "all", "contract": "permanent",
         "remote": "remote", "offer_status": "open", "site": str(site),
         "salary_min": "40000", "salary_max": "50000",
         "apply_url": "https://jobs.example.com/designer"},
        kind="offer",
    )  # fmt: skip
    assert status == 303, location
    status, text = await create_in_studio(
        client,
        {"title": "Designer", "language": "en", "audience": "all", "contract": "permanent",
         "remote": "remote", "apply_url": "https://elsewhere.example.net/"},
        kind="offer",
    )  # fmt: skip
    assert status == 422 and "not among those an admin allowed" in text


async def test_markdown_payloads_are_rendered_inert(client: AsyncTestClient) -> None:
    body = (
        "Hello <script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) and [ok](https://example.com)\n\n"
        '<a href="#" onclick="alert(4)">x</a>'
    )
    item_id = await make_item(title="Payloads", body=body)
    await sign_in(client)
    page = await client.get(f"/items/{item_id}", headers=HTML)
    prose = page.text.split('class="prose">', 1)[1].split("</div>", 1)[0]
    assert "<script" not in prose and "<img" not in prose
    assert "onerror=" not in prose.replace("onerror=alert(2)&gt;", "")
    assert not re.search(r"<[^>]+\son\w+=", prose)
    assert 'href="javascript' not in prose
    assert 'href="https://example.com"' in prose


async def test_employees_cannot_reach_the_studio(employee_client: AsyncTestClient) -> None:
    for path in ["/studio", "/studio/new", "/studio/guides"]:
        assert (await employee_client.get(path, headers=HTML)).status_code == 403
    page = await employee_client.get("/", headers=HTML)
    assert 'href="/studio"' not in page.text


async def test_editors_rewrite_a_guide_and_employees_read_it(client: AsyncTestClient) -> None:
    assert "LinkedIn" in await guides.guide_text("linkedin", "en")
    assert "Partager sur LinkedIn" in await guides.guide_text("linkedin", "fr")
    await sign_in(client, "editor")
    headers = await csrf(client, "/studio/guides")
    response = await client.post(
        "/studio/guides/linkedin", data={"language": "en", "body": "## Our own rules"},
        headers=headers, follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    page = await client.get("/guides/linkedin", headers=HTML)
    assert "<h2>Our own rules</h2>" in page.text


async def test_a_member_opts_out_of_being_credited_on_the_me_page(
    client: AsyncTestClient,
) -> None:
    member = await sign_in(client)
    me = await client.get("/me", headers=HTML)
    assert 'name="credit" value="on" checked' in me.text
    response = await client.post(
        "/me/sharing", data={}, headers={"x-csrftoken": csrf_token_of(me.text), **HTML}
    )
    assert response.status_code == 200
    assert await content_feed.credits_by_name(member.id) is False


async def test_the_demo_fills_the_feed_with_stories_and_offers_in_both_languages(
    client: AsyncTestClient, settings: object
) -> None:
    from app.content.demo import load_demo_content
    from app.demo import load_demo

    data_dir = settings.data_dir  # type: ignore[attr-defined]
    assert await load_demo()
    assert await load_demo_content(data_dir)
    assert not await load_demo_content(data_dir)
    rows = await ContentItem.select(ContentItem.kind, ContentItem.language, ContentItem.image)
    for kind in ["story", "offer"]:
        mine = [r for r in rows if r["kind"] == kind]
        assert len(mine) >= 12
        assert {r["language"] for r in mine} == {"fr", "en"}
    assert all((data_dir / "media" / f"{r['image']}-600.jpg").is_file() for r in rows)
    await sign_in(client)
    page = await client.get("/", headers=HTML)
    assert page.text.count('class="card feed-card') == 20
    assert "Notre nouvel atelier à Lyon ouvre ses portes" in page.text


async def test_the_studio_publishes_unpublishes_pins_archives_and_filters(
    client: AsyncTestClient,
) -> None:
    from app.candidates.applications import save_policy

    await save_policy({"privacy_notice": "We keep your details for 6 months."})  # offers need it
    await sign_in(client, "editor")
    story = await make_item(title="Draft story", published=False, tags=["culture"])
    offer = await make_item("offer", title="Draft offer", published=False, offer_status="draft")
    headers = await csrf(client, "/studio")

    async def act(item: int, action: str, **data: str) -> None:
        response = await client.post(
            f"/studio/{item}/{action}", data=data, headers=headers, follow_redirects=False
        )
        assert response.status_code == 303, (action, response.text[:200])

    drafts = await client.get("/studio?status=draft", headers=HTML)
    assert "Draft story" in drafts.text and "Draft offer" in drafts.text
    await act(story, "publish")
    await act(offer, "publish")
    assert (await editing.item_by_id(offer))["offer_status"] == "open"  # type: ignore[index]
    published = await client.get("/studio?status=published&kind=story", headers=HTML)
    assert "Draft story" in published.text and "Draft offer" not in published.text
    assert "Draft story" in (await client.get("/studio?tag=culture", headers=HTML)).text
    await act(story, "pin", pinned="on")
    assert (await editing.item_by_id(story))["pinned"] is True  # type: ignore[index]
    preview = await client.get(f"/studio/{story}/preview", headers=HTML)
    assert "phone-frame" in preview.text
    await act(offer, "close", offer_status="closed")
    await act(story, "unpublish")
    assert editing.status_of(await editing.item_by_id(story)) == "draft"  # type: ignore[arg-type]
    await act(story, "archive")
    archived = await client.get("/studio?status=archived", headers=HTML)
    assert "Draft story" in archived.text
    member = await make_member()
    assert not (await content_feed.feed_page(member)).cards


async def test_a_studio_row_shows_each_change_to_its_item_at_once(
    client: AsyncTestClient,
) -> None:
    """The studio's rows are rendered once and kept (content.studio.STUDIO_ROWS)."""
    editor = await sign_in(client, "editor")
    story = await make_item(title="Team lunch", published=False, tags=["culture"])
    headers = await csrf(client, "/studio")

    def row_of(page: str) -> str:
        found = re.search(
            rf'<tr class="list__item">\s*<th scope="row" class="list__main">\s*<a class="list__link" href="/studio/{story}">.*?</tr>',
            page,
            re.S,
        )
        assert found, page
        return found.group(0)

    assert "Draft" in row_of((await client.get("/studio", headers=HTML)).text)
    for action, data in (("publish", {}), ("pin", {"pinned": "on"})):
        await client.post(f"/studio/{story}/{action}", data=data, headers=headers)
    row = row_of((await client.get("/studio", headers=HTML)).text)
    assert "Published · Pinned" in row and "#culture" in row and "Draft" not in row
    await ContentItem.update({ContentItem.title: "Team lunch <Friday>"}).where(
        ContentItem.id == story
    )
    row = row_of((await client.get("/studio", headers=HTML)).text)
    assert "Team lunch &lt;Friday&gt;" in row and "<Friday>" not in row
    await Member.update({Member.language: "fr"}).where(Member.id == editor.id)
    await sessions_changed()
    french = row_of((await client.get("/studio", headers=HTML)).text)
    assert "Publié · Épinglé" in french and "Story" not in french


async def test_the_story_editor_shows_the_saved_card_beside_its_fields(
    client: AsyncTestClient,
) -> None:
    await sign_in(client, "editor")
    story = await make_item(title="Our new office", body="Come and see it.", published=False)
    page = await client.get(f"/studio/{story}", headers=HTML)
    preview = page.text[page.text.index('<aside class="editor__preview"') :]
    assert "The card in the feed, from the last save." in preview
    assert f'data-card-id="{story}"' in preview and "Come and see it." in preview
    # Refused changes leave the preview on what is saved.
    headers = await csrf(client, f"/studio/{story}")
    refused = await client.post(
        f"/studio/{story}",
        data={"kind": "story", "title": "", "body": "Changed"},
        files={"image": ("", b"", "application/octet-stream")},
        headers=headers,
    )
    assert refused.status_code == 422
    aside = refused.text[refused.text.index('<aside class="editor__preview"') :]
    assert "Our new office" in aside and "Changed" not in aside
    new = await client.get("/studio/new?kind=story", headers=HTML)
    assert "The card in the feed appears here once the draft is saved." in new.text


async def test_a_kept_card_shows_each_reader_their_own_share_state_and_link_and_any_edit_at_once(
    client: AsyncTestClient,
) -> None:
    """Cards are rendered once per item and language (app.content.cards); what is the
    reader's own stays theirs, and an edit is a new card."""
    item_id = await make_item(title="Summer party")
    lea = await sign_in(client, name="Léa Martin")
    assert await sharing.record_share(lea.id, item_id, "linkedin") is True
    first = (await client.get("/", headers=HTML)).text
    lea_url = re.search(r'data-url="([^"]+)"', first).group(1)  # type: ignore[union-attr]
    assert "You shared it" in first and "Summer party" in first
    omar = await sign_in(client, name="Omar Haddad")
    second = (await client.get("/", headers=HTML)).text
    omar_url = re.search(r'data-url="([^"]+)"', second).group(1)  # type: ignore[union-attr]
    assert "You shared it" not in second and "0 clicks on your link" in second
    assert omar_url != lea_url
    assert await ShareLink.count().where(ShareLink.member == omar.id) == 1
    await ContentItem.update({ContentItem.title: "Summer party <moved>"}).where(
        ContentItem.id == item_id
    )
    edited = (await client.get("/", headers=HTML)).text
    assert "Summer party &lt;moved&gt;" in edited and "<moved>" not in edited
    assert omar_url in edited
    french = (await client.get("/", headers={**HTML, "Accept-Language": "fr"})).text
    assert omar_url in french


async def test_the_studio_lists_fifty_items_a_page_and_loads_the_next_on_demand(
    client: AsyncTestClient,
) -> None:
    await sign_in(client, "editor")
    moment = editing.now()
    await ContentItem.insert(
        *(ContentItem(kind="story", title=f"Bulk {n:03d}", publish_at=moment) for n in range(52))
    )
    expired = await make_item(title="Gone by now")
    await ContentItem.update({ContentItem.expires_at: moment - timedelta(hours=1)}).where(
        ContentItem.id == expired
    )
    first = await client.get("/studio", headers=HTML)
    assert first.text.count('class="list__link"') == 50
    assert "Gone by now" in first.text and "Bulk 000" not in first.text
    more = re.search(r'hx-get="(/studio\?before=\d+)"', first.text).group(1)  # type: ignore[union-attr]
    rest = await client.get(more, headers={**HTML, "HX-Request": "true"})
    assert rest.text.count('class="list__link"') == 3 and "Bulk 000" in rest.text
    assert "<h1" not in rest.text and "before=" not in rest.text
    assert "Bulk 000" in (await client.get(more, headers=HTML)).text  # without JavaScript
    published = await client.get("/studio?status=published", headers=HTML)
    assert "Gone by now" not in published.text and "before=" in published.text
    gone = await client.get("/studio?status=expired", headers=HTML)
    assert f'href="/studio/{expired}"' in gone.text and "Bulk" not in gone.text


async def test_a_visit_opened_in_several_tabs_at_once_says_the_same_new_since_in_each(
    database: str,
) -> None:
    member = await make_member()
    start = editing.now().replace(microsecond=0)
    assert await content_feed.mark_feed_visit(member.id, at=start) is None  # a first visit
    back = start + timedelta(hours=2)  # a new visit: "new since" the first one
    tabs = await asyncio.gather(
        *(content_feed.mark_feed_visit(member.id, at=back) for _tab in range(8))
    )
    assert tabs == [start] * 8
    state = await content_feed.feed_state(member.id)
    assert state is not None
    assert (state["seen_at"], state["previous_seen_at"]) == (back, start)
    # Paging a minute later is the same visit: still new since the first one.
    assert await content_feed.mark_feed_visit(member.id, at=back + timedelta(minutes=1)) == start
