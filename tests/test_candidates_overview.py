"""HR's list of every candidate across offers, duplicate referrals and referral bonuses."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from litestar.testing import AsyncTestClient

from app.accounts.tables import AuditEvent
from app.candidates import duplicates
from app.candidates.tables import Candidate, ReferralBonus
from app.core.clock import now
from app.points.tables import PointsLine
from app.sharing import service as sharing
from tests.factories import make_item, make_member
from tests.helpers import GOOD, HTML, HTMX, apply, as_member, form_token, sign_in

Client = AsyncTestClient  # type: ignore[type-arg]


async def points_of(member_id: int) -> int:
    rows = await PointsLine.select(PointsLine.points).where(PointsLine.member == member_id)
    return sum(int(row["points"]) for row in rows)


async def applies(client: Client, sharer_id: int, item_id: int, **fields: str) -> int:
    """A candidate applies through the sharer's link; the new candidate's id."""
    code = await sharing.link_code(sharer_id, item_id)
    client.cookies.clear()
    response = await apply(client, code, {**GOOD, **fields})
    assert response.status_code == 200, response.text
    row = await Candidate.select(Candidate.id).order_by(Candidate.id, ascending=False).first()
    assert row is not None
    return int(row["id"])


async def backdate(candidate_id: int, days: float) -> None:
    await Candidate.update({Candidate.created_at: now() - timedelta(days=days)}).where(
        Candidate.id == candidate_id
    )


def test_phone_numbers_and_addresses_are_read_alike_however_typed() -> None:
    same = [
        "+33 6 12 34 56 78",
        "06 12 34 56 78",
        "0033612345678",
        "06.12.34.56.78",
        "+33612345678",
    ]
    assert {duplicates.phone_key(p) for p in same} == {"+33612345678"}
    assert duplicates.phone_key("+44 20 7946 0958") == "+442079460958"
    assert duplicates.phone_key("12") == "" and duplicates.phone_key("") == ""
    assert duplicates.phone_key("not a number") == ""
    assert duplicates.email_key(" Jeanne.Durand+jobs@Example.org ") == "jeanne.durand@example.org"


async def test_the_first_referral_keeps_the_credit_and_the_later_one_earns_nothing(
    client: Client,
) -> None:
    lea = await make_member(name="Léa Martin")
    tom = await make_member(name="Tom Petit")
    data = await make_item("offer", "Data engineer")
    ops = await make_item("offer", "Ops engineer")
    first = await applies(client, lea.id, data)
    assert await points_of(lea.id) == 50  # an application's points
    # The same person, her address in capitals and her number typed the French way, applies
    # to another offer through Tom's link ten days later: a duplicate.
    await backdate(first, 10)
    second = await applies(
        client, tom.id, ops, email="JEANNE.DURAND@example.org ", phone="06 12 34 56 78"
    )
    row = await Candidate.select().where(Candidate.id == second).first()
    assert row is not None and row["duplicate_of"] == first
    assert await points_of(tom.id) == 0

    # An editor moving the duplicate forward earns Tom no stage points either.
    await sign_in(client, "editor")
    page = await client.get(f"/pipeline/{ops}", headers=HTML)
    moved = await client.post(
        f"/pipeline/candidates/{second}/stage",
        data={"_csrf_token": form_token(page.text), "stage": "interview"},
        headers=HTMX,
    )
    assert moved.status_code == 200
    assert await points_of(tom.id) == 0

    # The editor sees both rows, linked, and why one is credited.
    listing = await client.get("/candidates?duplicates=on", headers=HTML)
    assert listing.status_code == 200
    assert f'id="candidate-{first}"' in listing.text and f'id="candidate-{second}"' in listing.text
    assert "that first referral keeps the credit (Léa Martin)" in listing.text
    assert "earns Tom Petit no points and no bonus" in listing.text
    assert f'href="/candidates?person={first}"' in listing.text
    both = await client.get(f"/candidates?person={first}", headers=HTML)
    assert "2 candidates" in both.text


async def test_the_exclusivity_window_ends_and_a_new_referral_earns_again(client: Client) -> None:
    lea = await make_member(name="Léa Martin")
    tom = await make_member(name="Tom Petit")
    ana = await make_member(name="Ana Roux")
    item = await make_item("offer", "Data engineer")
    first = await applies(client, lea.id, item)
    # One minute inside the 90 days: still Léa's.
    await backdate(first, 90 - 1 / 1440)
    inside = await applies(client, tom.id, item, email="other@example.org")  # same phone
    assert (await Candidate.select().where(Candidate.id == inside).first())["duplicate_of"] == first
    assert await points_of(tom.id) == 0
    # A second past the window: Ana's referral earns its points.
    await backdate(first, 90 + 1 / 86400)
    await backdate(inside, 90 + 1 / 86400)
    after = await applies(client, ana.id, item)
    assert (await Candidate.select().where(Candidate.id == after).first())["duplicate_of"] is None
    assert await points_of(ana.id) == 50

    # The admin shortens the window: it is the programme's setting.
    await sign_in(client, "admin")
    page = await client.get("/admin/bonuses", headers=HTML)
    fields = {
        "_csrf_token": form_token(page.text),
        "exclusivity_days": "0",
        "bonus_amount": "500",
        "bonus_currency": "eur",
        "probation_days": "90",
    }
    refused = await client.post("/admin/bonuses/settings", data=fields, headers=HTML)
    assert refused.status_code == 422 and "Enter a number of days from 1 to 730." in refused.text
    saved = await client.post(
        "/admin/bonuses/settings", data={**fields, "exclusivity_days": "30"}, headers=HTML
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    assert 'value="EUR"' in saved.text and 'value="30"' in saved.text
    assert await AuditEvent.count().where(AuditEvent.action == "bonus_settings_changed") == 1


async def test_a_hire_creates_a_bonus_that_hr_pays_but_never_their_own(client: Client) -> None:
    lea = await make_member(name="Léa Martin", role="admin")
    item = await make_item("offer", "Data engineer")
    other = await make_item("offer", "Designer")
    candidate = await applies(client, lea.id, item)
    admin = await sign_in(client, "admin")
    page = await client.get("/admin/bonuses", headers=HTML)
    token = form_token(page.text)
    await client.post(
        "/admin/bonuses/settings",
        data={
            "_csrf_token": token,
            "exclusivity_days": "90",
            "bonus_amount": "1 000",
            "bonus_currency": "EUR",
            "probation_days": "90",
        },
        headers=HTML,
    )
    # The Designer offer has its own; a bad one is refused next to its field.
    bad = await client.post(
        "/admin/bonuses/offers",
        data={
            "_csrf_token": token,
            "item": str(other),
            "amount": "-5",
            "currency": "EURO",
            "probation_days": "30",
        },
        headers=HTML,
    )
    assert bad.status_code == 422
    assert "Enter a currency code of three letters" in bad.text
    own = await client.post(
        "/admin/bonuses/offers",
        data={
            "_csrf_token": token,
            "item": str(other),
            "amount": "2000",
            "currency": "CHF",
            "probation_days": "30",
        },
        headers=HTML,
    )
    assert own.status_code == 200 and "2000 CHF" in own.text

    async def move(stage: str) -> None:
        pipeline = await client.get(f"/pipeline/{item}", headers=HTML)
        moved = await client.post(
            f"/pipeline/candidates/{candidate}/stage",
            data={"_csrf_token": form_token(pipeline.text), "stage": stage},
            headers=HTMX,
        )
        assert moved.status_code == 200

    await move("hired")
    bonus = await ReferralBonus.select().first()
    assert bonus is not None and bonus["referrer"] == lea.id and bonus["amount"] == 1000
    assert bonus["due_on"] == bonus["hired_on"] + timedelta(days=90)
    assert bonus["status"] == "due"
    # Moved out of "hired" before payment: cancelled. Hired again: a new bonus.
    await move("offer")
    assert (await ReferralBonus.select().first())["status"] == "cancelled"
    await move("hired")
    due = await ReferralBonus.select().where(ReferralBonus.status == "due").first()
    assert due is not None and await ReferralBonus.count() == 2

    # Léa, an admin, cannot mark her own bonus paid.
    await as_member(client, lea.id)
    listing = await client.get("/admin/bonuses", headers=HTML)
    assert "Your own referral bonus: another admin marks it paid." in listing.text
    refused = await client.post(
        f"/admin/bonuses/{due['id']}/paid",
        data={"_csrf_token": form_token(listing.text)},
        headers=HTML,
    )
    assert refused.status_code == 403
    assert (await ReferralBonus.select().where(ReferralBonus.id == due["id"]).first())[
        "status"
    ] == "due"
    assert await AuditEvent.count().where(AuditEvent.action == "own_decision_refused") == 1

    # Another admin does, once.
    await as_member(client, admin.id)
    listing = await client.get("/admin/bonuses", headers=HTML)
    paid = await client.post(
        f"/admin/bonuses/{due['id']}/paid",
        data={"_csrf_token": form_token(listing.text)},
        headers=HTML,
    )
    assert paid.status_code == 200 and "Marked paid." in paid.text
    again = await client.post(
        f"/admin/bonuses/{due['id']}/paid",
        data={"_csrf_token": form_token(listing.text)},
        headers=HTML,
    )
    assert again.status_code == 409
    audit = await AuditEvent.select().where(AuditEvent.action == "bonus_paid")
    assert len(audit) == 1 and audit[0]["actor"] == admin.id
    # A paid bonus stays paid when the candidate leaves "hired".
    await move("not_selected")
    assert (await ReferralBonus.select().where(ReferralBonus.id == due["id"]).first())[
        "status"
    ] == "paid"

    # Payroll's file.
    export = await client.get("/admin/bonuses/export.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["referrer"], r["amount"], r["currency"], r["status"]) for r in rows] == [
        ("Léa Martin", "1000", "EUR", "cancelled"),
        ("Léa Martin", "1000", "EUR", "paid"),
    ]
    only_paid = list(csv.DictReader(io.StringIO((await client.get(
        "/admin/bonuses/export.csv?status=paid")).text)))  # fmt: skip
    assert len(only_paid) == 1 and only_paid[0]["paid_by"] == admin.name
    for status in ["paid", "cancelled", "", "nonsense"]:
        page = await client.get(f"/admin/bonuses?status={status}", headers=HTML)
        assert page.status_code in (200, 422)


async def test_a_duplicate_hire_pays_the_first_referrer_and_a_direct_application_nobody(
    client: Client,
) -> None:
    lea = await make_member(name="Léa Martin")
    tom = await make_member(name="Tom Petit")
    item = await make_item("offer", "Data engineer")
    first = await applies(client, lea.id, item)
    second = await applies(client, tom.id, await make_item("offer", "Ops"))
    assert (await Candidate.select().where(Candidate.id == second).first())["duplicate_of"] == first
    await sign_in(client, "admin")
    page = await client.get("/admin/bonuses", headers=HTML)
    await client.post(
        "/admin/bonuses/settings",
        data={
            "_csrf_token": form_token(page.text),
            "exclusivity_days": "90",
            "bonus_amount": "700",
            "bonus_currency": "EUR",
            "probation_days": "0",
        },
        headers=HTML,
    )
    from app.candidates import pipeline

    editor = await make_member(role="editor")
    await pipeline.move(second, "hired", editor.id)
    bonus = await ReferralBonus.select().first()
    assert (
        bonus is not None and bonus["referrer"] == lea.id and bonus["due_on"] == bonus["hired_on"]
    )
    assert await points_of(tom.id) == 0


async def test_the_list_filters_sorts_pages_and_exports(client: Client) -> None:
    lea = await make_member(name="Léa Martin")
    tom = await make_member(name="Tom Petit")
    data = await make_item("offer", "Data engineer")
    ops = await make_item("offer", "Ops engineer")
    # 52 applications (written directly: the apply form is rate-limited per client), the
    # oldest first, and one whose name a spreadsheet would run.
    rows = [
        Candidate(
            kind="application",
            item=data if n < 40 else ops,
            referrer=lea.id if n % 2 else tom.id,
            name=f"Person {n:02d}",
            email=f"p{n}@example.org",
            consent_at=now(),
            created_at=now() - timedelta(minutes=60 - n),
        )
        for n in range(52)
    ]
    await Candidate.insert(*rows)
    await applies(client, tom.id, ops, name="=HYPERLINK(1)", email="x@example.org", phone="")
    first = await Candidate.select(Candidate.id).where(Candidate.name == "Person 00").first()
    await backdate(first["id"], 20)
    await sign_in(client, "editor")

    page = await client.get("/candidates", headers=HTML)
    assert page.status_code == 200 and "53 candidates" in page.text and "page 1 of 2" in page.text
    assert '<table class="list desk-table"' in page.text
    assert page.text.count('class="list__item" id="candidate-') == 50
    second = await client.get("/candidates?page=2", headers=HTML)
    assert second.text.count('class="list__item" id="candidate-') == 3
    assert "Person 00" in second.text  # the oldest, last

    fragment = await client.get(
        f"/candidates?offer={ops}&referrer={tom.id}&sort=name",
        headers={**HTMX, "hx-target": "candidate-results"},
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="candidate-results">')
    assert "<html" not in fragment.text
    names = [
        n for n in ["=HYPERLINK(1)", "Person 40", "Person 42", "Person 50"] if n in fragment.text
    ]
    assert names == ["=HYPERLINK(1)", "Person 40", "Person 42", "Person 50"]
    assert fragment.text.index("Person 40") < fragment.text.index("Person 50")
    assert "Person 41" not in fragment.text  # Léa's

    today = now().date()
    dated = await client.get(
        f"/candidates?since={(today - timedelta(days=30)).isoformat()}"
        f"&until={(today - timedelta(days=10)).isoformat()}",
        headers=HTML,
    )
    assert "1 candidate" in dated.text and "Person 00" in dated.text
    staged = await client.get("/candidates?stage=hired&source=recommendation", headers=HTML)
    assert "0 candidates" in staged.text and "No candidate matches." in staged.text

    for query in [
        "stage=promoted", "offer=99999999", "offer=%C2%B2", "referrer=abc", "source=x",
        "since=2026-13-45", "until=yesterday", "sort=DROP%20TABLE", "page=0", "page=999999999",
        "page=-1", "person=%00", "since=2026-12-10&until=2026-12-01", "duplicates=%00",
    ]:  # fmt: skip
        bad = await client.get(f"/candidates?{query}", headers=HTML)
        # A refused filter is said and left out; a NUL byte is refused before any route.
        assert bad.status_code in (200, 400, 422), (query, bad.status_code)
    refused = await client.get("/candidates?stage=promoted", headers=HTML)
    assert refused.status_code == 422 and "Some filters were refused" in refused.text
    assert "53 candidates" in refused.text  # the refused filter is left out
    far = await client.get("/candidates?page=40", headers=HTML)
    assert far.status_code == 200 and "No candidate matches." in far.text

    export = await client.get(f"/candidates/export.csv?offer={ops}&sort=oldest")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 13
    assert rows[-1]["name"] == "'=HYPERLINK(1)" and rows[0]["name"] == "Person 40"
    assert {r["offer"] for r in rows} == {"Ops engineer"}
    assert rows[0]["stage"] == "New" and rows[0]["source"] == "Applied through a link"


async def test_employees_reach_neither_the_list_nor_the_bonuses(client: Client) -> None:
    await sign_in(client, "employee")
    for path in ["/candidates", "/candidates/export.csv", "/admin/bonuses",
                 "/admin/bonuses/export.csv"]:  # fmt: skip
        assert (await client.get(path, headers=HTML)).status_code == 403, path
    await sign_in(client, "editor")
    assert (await client.get("/candidates", headers=HTML)).status_code == 200
    assert (await client.get("/admin/bonuses", headers=HTML)).status_code == 403


async def test_a_friend_recommended_after_applying_elsewhere_is_a_duplicate(client: Client) -> None:
    """Tom recommends a friend who applied through Léa's link a week before, for another
    offer; the friend accepts with a number typed another way: Tom's recommendation earns
    nothing, and the editor reads why."""
    import re

    from tests.helpers import answer_recommendation, recommend

    lea = await make_member(name="Léa Martin")
    data = await make_item("offer", "Data engineer")
    first = await applies(client, lea.id, data, email="paul@example.org", phone="+33 7 11 22 33 44")
    await backdate(first, 7)
    tom = await sign_in(client, "employee", name="Tom Petit")
    made = await recommend(
        client, await make_item("offer", "Ops engineer"), {"name": "Paul", "message": "Great."}
    )
    path = re.search(r'value="http://localhost:8000(/recommendations/[^"]+)"', made.text)
    assert path is not None
    client.cookies.clear()
    accepted = await answer_recommendation(
        client,
        path.group(1),
        {"name": "Paul Roux", "email": "Paul@Example.org", "phone": "07 11 22 33 44",
         "consent": "yes"},
    )  # fmt: skip
    assert accepted.status_code == 200
    row = await Candidate.select().where(Candidate.referrer == tom.id).first()
    assert row is not None and row["duplicate_of"] == first
    assert await points_of(tom.id) == 0 and await points_of(lea.id) == 50
    await sign_in(client, "editor")
    page = await client.get("/candidates?duplicates=on&sort=oldest", headers=HTML)
    assert "earns Tom Petit no points and no bonus" in page.text
