"""Applying on an offer's public page: attribution, CV checks, consent, external apply URLs."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import parse_qs, urlsplit

from litestar.testing import AsyncTestClient

from app.activity.tables import Activity
from app.candidates import cvs
from app.candidates.tables import Candidate
from app.core.settings import Settings
from app.sharing import service as sharing
from tests.factories import make_item, make_member
from tests.helpers import (
    GOOD,
    HTML,
    PDF,
    PHONE,
    all_recorded,
    apply,
    form_token,
    open_link,
    sign_in,
)


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


async def test_a_candidate_applies_with_a_cv_and_is_credited_to_the_sharer(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    sharer = await make_member(name="Léa Martin")
    item_id = await make_item("offer", "Data engineer")
    code = await sharing.link_code(sharer.id, item_id)
    page = await open_link(client, code)
    assert "Shared by Léa" in page.text and 'action="/r/' in page.text
    response = await apply(client, code, GOOD)
    assert response.status_code == 200, response.text
    assert "Your application has been sent" in response.text
    row = await Candidate.select().first()
    assert row is not None
    assert (row["referrer"], row["item"], row["name"], row["email"], row["cv_type"]) == (
        sharer.id, item_id, "Jeanne Durand", "jeanne.durand@example.org", "pdf"
    )  # fmt: skip
    assert row["consent_at"] is not None
    stored = cvs.cv_path(settings.data_dir, row["cv"])
    assert stored is not None and stored.read_bytes() == PDF
    activity = await Activity.select().where(Activity.kind == "application").first()
    assert activity is not None and activity["member"] == sharer.id
    # CVs are not served: no public URL reaches the data directory.
    assert (await client.get(f"/static/{row['cv']}")).status_code == 404


async def test_the_last_link_followed_gets_the_credit(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    item_id = await make_item("offer", "Data engineer")
    lea, hugo = await make_member(name="Léa Martin"), await make_member(name="Hugo Bernard")
    lea_code = await sharing.link_code(lea.id, item_id)
    hugo_code = await sharing.link_code(hugo.id, item_id)
    await open_link(client, lea_code)
    await open_link(client, hugo_code)
    await all_recorded(client)
    response = await apply(client, lea_code, GOOD, cv=("cv.docx", docx(), "application/msword"))
    assert response.status_code == 200, response.text
    row = await Candidate.select(Candidate.referrer, Candidate.cv_type).first()
    assert row == {"referrer": hugo.id, "cv_type": "docx"}


async def test_bad_applications_are_refused_with_a_message_and_nothing_stored(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    sharer = await make_member()
    code = await sharing.link_code(sharer.id, await make_item("offer", "Data engineer"))
    exe = b"MZ\x90\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode."
    cases = [
        ({**GOOD, "email": "jeanne@"}, None, "email", "Enter an email address such as"),
        ({**GOOD, "consent": ""}, None, "consent", "Tick the box to agree"),
        (GOOD, ("cv.pdf", PDF + b"0" * cvs.MAX_CV_BYTES, "application/pdf"), "cv", "larger than 5 MB"),
        (GOOD, ("cv.pdf", exe, "application/pdf"), "cv", "must be a PDF or a Word document"),
    ]  # fmt: skip
    for fields, cv, field, message in cases:
        response = await apply(client, code, fields, cv=cv or ("cv.pdf", PDF, "application/pdf"))
        assert response.status_code == 422, field
        assert message in response.text
        assert f'id="apply-{field}" ' in response.text or f'id="apply-{field}"' in response.text
        assert f'aria-describedby="apply-{field}-error' in response.text
        assert 'value="Jeanne Durand"' in response.text  # what was typed is kept
    assert await Candidate.count() == 0
    assert list(cvs.cv_folder(settings.data_dir).iterdir()) == []


async def test_an_offer_with_an_external_apply_url_sends_the_candidate_there_with_utm(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    from app.content.tables import ApplyHost, ContentItem

    await ApplyHost.insert(ApplyHost(host="jobs.example.com"))
    sharer = await make_member()
    item_id = await make_item("offer", "Data engineer")
    await ContentItem.update({ContentItem.apply_url: "https://jobs.example.com/42?ref=x"}).where(
        ContentItem.id == item_id
    )
    code = await sharing.link_code(sharer.id, item_id)
    page = await client.get(f"/r/{code}", headers={**HTML, "user-agent": PHONE})
    assert f'href="/r/{code}/apply"' in page.text and 'action="/r/' not in page.text
    response = await client.get(
        f"/r/{code}/apply?next=https://evil.example.net",
        headers={"user-agent": PHONE},
        follow_redirects=False,
    )
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "jobs.example.com", "/42")
    assert parse_qs(target.query) == {
        "ref": ["x"],
        "utm_source": ["relay"],
        "utm_medium": ["referral"],
        "utm_campaign": [code],
    }
    clicks = await Activity.select(Activity.member).where(Activity.kind == "apply_click")
    assert clicks == [{"member": sharer.id}]
    assert (await client.post(f"/r/{code}/apply", data={})).status_code in {403, 422}


async def test_the_admin_writes_the_privacy_notice_candidates_see(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    offer = await make_item("offer", "Chef", published=False)
    await sign_in(client, "editor")
    studio = await client.get(f"/studio/{offer}", headers=HTML)
    assert "the privacy notice" in studio.text and 'id="publish-error"' in studio.text
    refused = await client.post(
        f"/studio/{offer}/publish", data={"_csrf_token": form_token(studio.text)}, headers=HTML
    )
    assert refused.status_code == 422 and 'id="publish-error"' in refused.text
    assert "an admin writes it under Administration, Candidates" in refused.text
    assert (await client.get("/privacy", headers=HTML)).status_code == 404
    await sign_in(client, "employee")
    assert (await client.get("/admin/candidates", headers=HTML)).status_code == 403
    await sign_in(client, "admin")
    page = await client.get("/admin/candidates", headers=HTML)
    token = form_token(page.text)
    fields = {
        "_csrf_token": token,
        "privacy_notice": "We keep your data for **6 months**.",
        "privacy_notice_fr": "Nous gardons vos données **6 mois**.",
        "referral_cookie_days": "0",
        "consent_days": "30",
        "retention_days": "180",
    }
    refused = await client.post("/admin/candidates", data=fields, headers=HTML)
    assert refused.status_code == 422 and "from 1 to 365" in refused.text
    saved = await client.post(
        "/admin/candidates", data={**fields, "referral_cookie_days": "45"}, headers=HTML
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    await sign_in(client, "editor")
    studio = await client.get(f"/studio/{offer}", headers=HTML)
    assert 'id="publish-error"' not in studio.text
    published = await client.post(
        f"/studio/{offer}/publish",
        data={"_csrf_token": form_token(studio.text)},
        headers=HTML,
        follow_redirects=False,
    )
    assert published.status_code == 303
    client.cookies.clear()
    code = await sharing.link_code((await make_member()).id, offer)
    landing = await open_link(client, code)
    assert 'href="/privacy"' in landing.text and "Read the privacy notice" in landing.text
    english = await client.get("/privacy", headers={**HTML, "accept-language": "en-GB"})
    assert "We keep your data for <strong>6 months</strong>." in english.text
    french = await client.get("/privacy", headers={**HTML, "accept-language": "fr-FR,fr"})
    assert "Nous gardons vos données <strong>6 mois</strong>." in french.text
    assert "Avis de confidentialité" in french.text
    assert "Max-Age=3888000" in str(client.cookies.jar) or client.cookies.get("relay_ref") == code


# --- A member's own applications earn nothing --------------------------------------------


async def credited(email: str) -> tuple[int | None, int | None]:
    """The latest application from ``email``: (its referrer, the member its activity credits)."""
    row = (
        await Candidate.select(Candidate.id, Candidate.referrer)
        .where(Candidate.email == email.strip().lower())
        .order_by(Candidate.id, ascending=False)
        .first()
    )
    assert row is not None, email
    activity = (
        await Activity.select(Activity.member)
        .where(Activity.kind == "application", Activity.key == f"application:{row['id']}")
        .first()
    )
    assert activity is not None
    return row["referrer"], activity["member"]


async def test_member_applying_through_own_link_earns_nothing(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    from app.candidates.applications import REFERRAL_COOKIE
    from app.points import ledger

    item_id = await make_item("offer", "Data engineer")
    lea = await sign_in(client, "employee", name="Léa Martin", email="lea.martin@example.com")
    own = await sharing.link_code(lea.id, item_id)
    hugo = await make_member(name="Hugo Bernard")
    hugos = await sharing.link_code(hugo.id, item_id)

    # Signed in, under another address: her own application.
    signed_in = await apply(client, own, {**GOOD, "email": "l.martin@example.net"})
    assert signed_in.status_code == 200 and "Your application has been sent" in signed_in.text
    assert await credited("l.martin@example.net") == (None, None)

    # Signed out, with her own address in another case and with a +tag: still her.
    client.cookies.clear()
    signed_out = await apply(client, own, {**GOOD, "email": "  Lea.Martin+jobs@Example.COM "})
    assert signed_out.status_code == 200
    assert await credited("lea.martin+jobs@example.com") == (None, None)

    # Her referral cookie (her own link was the last she followed) on a colleague's page.
    client.cookies.set(REFERRAL_COOKIE, own)
    cookie = await apply(client, hugos, {**GOOD, "email": "lea.martin@example.com"})
    assert cookie.status_code == 200
    assert await credited("lea.martin@example.com") == (None, None)

    assert await ledger.balance(lea.id) == 0
    assert await ledger.balance(hugo.id) == 0
    # Each application is kept for HR all the same, brought by nobody.
    assert await Candidate.count().where(Candidate.referrer.is_null()) == 3

    # Someone else (another address, another phone: not a duplicate of the applications
    # above) through her link, with her cookie on their browser, is hers.
    client.cookies.clear()
    client.cookies.set(REFERRAL_COOKIE, own)
    friend = await apply(
        client, hugos, {**GOOD, "email": "lea.martin@example.org", "phone": "+33 7 00 00 00 01"}
    )
    assert friend.status_code == 200
    assert await credited("lea.martin@example.org") == (lea.id, lea.id)
    assert await ledger.balance(lea.id) == 50


def test_two_addresses_are_one_mailbox_when_only_case_spaces_or_a_plus_tag_differ() -> None:
    from app.candidates.applications import mailbox

    assert mailbox(" Lea.Martin+jobs@Example.com ") == mailbox("lea.martin@example.com")
    assert mailbox("lea.martin@example.com") != mailbox("lea.martin@example.org")
    assert mailbox("lea.martin@example.com") != mailbox("leamartin@example.com")
    assert mailbox("+tag@example.com") == "+tag@example.com"


async def test_the_sixth_application_of_a_day_through_a_link_earns_nothing(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    from app.points import ledger

    sharer = await make_member(name="Léa Martin")
    code = await sharing.link_code(sharer.id, await make_item("offer", "Data engineer"))
    for n in range(6):  # six people: six addresses, six phone numbers
        fields = {**GOOD, "email": f"candidate{n}@example.org", "phone": f"+33 6 12 34 56 7{n}"}
        response = await apply(client, code, fields)
        assert response.status_code == 200, response.text
    assert await ledger.balance(sharer.id) == 5 * 50
    # Over the cap, an application is still recorded and credited to her: it just earns nothing.
    assert await credited("candidate5@example.org") == (sharer.id, sharer.id)
    assert await Activity.count().where(Activity.kind == "application") == 6


async def test_a_shared_story_leads_on_to_the_open_offers_through_the_same_sharer(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    """A story's public page lists the open offers, each through the sharer's own tracked
    link (a candidate applying from there is credited to them), and the careers site an
    admin set, in the reader's language; the item page shows the same to members."""
    story = await make_item("story", "We are hiring in Lyon")
    offer = await make_item("offer", "Data engineer")
    lea = await make_member(name="Léa Martin")
    code = await sharing.link_code(lea.id, story)

    # Before any careers site is set: the offers only.
    page = await open_link(client, code)
    offer_link = re.search(r'href="http://localhost:8000/r/([\w-]+)">Data engineer<', page.text)
    assert offer_link is not None, page.text
    assert await sharing.landing(offer_link.group(1)) is not None
    assert (await sharing.link_codes(lea.id, [offer]))[offer] == offer_link.group(1)
    assert "careers site" not in page.text

    await sign_in(client, "admin")
    policy = await client.get("/admin/candidates", headers=HTML)
    fields = {
        "_csrf_token": form_token(policy.text),
        "privacy_notice": "We keep your data for 6 months.",
        "privacy_notice_fr": "",
        "careers_url": "http://jobs.example.com",
        "careers_url_fr": "https://emplois.example.com/fr",
        "referral_cookie_days": "30",
        "consent_days": "30",
        "retention_days": "180",
    }
    refused = await client.post("/admin/candidates", data=fields, headers=HTML)
    assert refused.status_code == 422
    assert "Enter the careers site&#39;s address, starting with https://." in refused.text
    assert 'aria-describedby="policy-careers_url-error"' in refused.text
    fields["careers_url"] = "https://jobs.example.com/en"
    saved = await client.post("/admin/candidates", data=fields, headers=HTML)
    assert saved.status_code == 200 and "Saved." in saved.text

    client.cookies.clear()
    english = await client.get(f"/r/{code}", headers={**HTML, "accept-language": "en-GB"})
    assert 'href="https://jobs.example.com/en"' in english.text
    assert "See all our jobs on our careers site" in english.text

    # A member reading the story in the app: the offers' pages and the careers site.
    await sign_in(client, "employee")
    item = await client.get(f"/items/{story}", headers={**HTML, "accept-language": "en-GB"})
    assert f'href="/items/{offer}">Data engineer<' in item.text
    assert 'href="https://jobs.example.com/en"' in item.text
    offer_page = await client.get(f"/items/{offer}", headers=HTML)
    assert "See all our jobs" not in offer_page.text
