"""Each hostile input the fuzzing of issue 16 found, as the person who would send it: a
sentence next to the field or a plain refusal, never a 500 (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from litestar.testing import AsyncTestClient

from app.accounts.tables import Member
from app.core.validation import MAX_ID, https_url, name_problem, parse_id, parse_int, parse_time
from app.sharing import service as sharing
from app.web.validation import json_depth
from tests.factories import make_item, make_member, make_site, make_team
from tests.helpers import GOOD, HTML, apply, create_in_studio, csrf, sign_in

JSON_BODY = {"accept": "application/json", "content-type": "application/json"}
DEEP = b"[" * 5000 + b"]" * 5000
RTL_OVERRIDE = "\u202e"


def test_numbers_are_ascii_digits_within_a_length_and_ids_within_the_databases_range() -> None:
    assert parse_int("42") == 42 and parse_int(" 7 ") == 7
    for text in ["²", "٣", "-1", "1e3", "9" * 5000, "", "4 2"]:
        assert parse_int(text) is None, text
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id(str(MAX_ID + 1)) is None and parse_id("0") is None
    assert parse_id("99999999999999999999") is None


def test_urls_times_names_and_json_depth_are_checked_without_raising() -> None:
    assert https_url("https://[") is None and https_url("https://x.example:99999") is None
    assert https_url("http://x.example") is None
    parts = https_url("https://www.linkedin.com/in/jeanne")
    assert parts is not None and parts.hostname == "www.linkedin.com"
    for text in ["0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "yesterday"]:
        with pytest.raises(ValueError):
            parse_time(text)
    assert parse_time("") is None
    assert name_problem("Jeanne Durand") is None
    assert name_problem(f"Jeanne{RTL_OVERRIDE}dnaruD") and name_problem("Jeanne\x00")
    assert json_depth(b'{"a": [1, {"b": "[[[["}]}') == 3 and json_depth(DEEP) == 5000


async def offer_link() -> tuple[int, str]:
    sharer = await make_member(name="Léa Martin")
    item_id = await make_item("offer", "Data engineer")
    return item_id, await sharing.link_code(sharer.id, item_id)


async def test_a_candidate_with_a_broken_linkedin_address_is_told_next_to_the_field(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    _item, code = await offer_link()
    response = await apply(client, code, {**GOOD, "linkedin": "https://["})
    assert response.status_code == 422
    assert "Enter your LinkedIn profile" in response.text
    assert "Jeanne Durand" in response.text  # the other values are kept


async def test_a_candidate_name_with_a_right_to_left_override_is_refused(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    _item, code = await offer_link()
    response = await apply(client, code, {**GOOD, "name": f"Jeanne{RTL_OVERRIDE}fdp.exe"})
    assert response.status_code == 422
    assert "Names cannot contain invisible control characters" in response.text


async def test_a_nul_byte_in_an_application_is_refused_not_stored(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    _item, code = await offer_link()
    for field in ["name", "message"]:
        response = await apply(client, code, {**GOOD, field: "Jeanne\x00Durand"})
        assert response.status_code == 400, field


async def test_form_text_that_is_not_utf8_gets_a_sentence_not_an_error(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    _item, code = await offer_link()
    page = await client.get(f"/r/{code}", headers=HTML)
    token = page.text.split('name="_csrf_token" value="')[1].split('"')[0]
    for headers, extra in [({"x-csrftoken": token}, {}), ({}, {"_csrf_token": (None, token)})]:
        response = await client.post(
            f"/r/{code}/apply",
            files={"name": (None, b"\xff\xfe"), "email": (None, b"a@b.c"), **extra},
            headers={**HTML, **headers},
        )
        assert response.status_code == 400
        assert "could not be" in response.text


@pytest.mark.parametrize("path", ["/signin/verify", "/push/opened", "/enrol/some-token/verify"])
async def test_json_nested_thousands_deep_is_refused(
    client: AsyncTestClient,  # type: ignore[type-arg]
    path: str,
) -> None:
    page = await client.get("/signin", headers=HTML)
    token = page.text.split('"x-csrftoken": "')[1].split('"')[0]
    response = await client.post(path, content=DEEP, headers={**JSON_BODY, "x-csrftoken": token})
    assert response.status_code == 400


async def test_a_nul_byte_in_the_sign_in_ceremony_search_or_push_report_is_refused(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    page = await client.get("/signin", headers=HTML)
    token = page.text.split('"x-csrftoken": "')[1].split('"')[0]
    body = {"ceremony": "x\x00", "credential": {"id": "a\x00"}, "id": "\x00"}
    for path in ["/signin/verify", "/push/opened"]:
        response = await client.post(
            path, content=json.dumps(body), headers={**JSON_BODY, "x-csrftoken": token}
        )
        assert response.status_code == 400, path
    await sign_in(client)
    assert (await client.get("/?q=caf%00e", headers=HTML)).status_code == 400


async def test_ids_and_cursors_beyond_the_databases_range_are_not_found(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, "admin")
    for path in [
        "/items/99999999999999999999",
        "/items/2147483648",
        "/admin/people/-1",
        "/me/points?before=99999999999999999999",
        "/admin/audit?before=99999999999999999999",
    ]:
        assert (await client.get(path, headers=HTML)).status_code == 404, path
    feed = await client.get("/?after=1.99999999999999999999.99999999999999999999", headers=HTML)
    assert feed.status_code == 200


async def test_an_editor_typing_odd_numbers_urls_and_dates_in_an_offer_sees_each_error(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    team, site = await make_team("Sales"), await make_site("Lyon")
    await sign_in(client, "editor")
    for field, value, message in [
        ("salary_min", "²", "Enter the salary range as whole numbers"),
        ("salary_max", "9" * 5000, "Enter the salary range as whole numbers"),
        ("site", "99999999999999999999", "Choose one of the sites in the list."),
        ("video_url", "https://[", "Enter the https:// address of the video"),
        ("apply_url", "https://[", "Enter an https:// address."),
        ("expires_at", "0001-01-01T00:00+14:00", "Enter a date and time, or leave it empty."),
    ]:
        fields: dict[str, str | list[str]] = {
            "title": "Data engineer", "body": "Join us.", "language": "en", "contract": "cdi",
            "remote": "hybrid", "audience": "chosen", "teams": [str(team), "²", "9" * 5000],
            "sites": [str(site), "99999999999999999999"], field: value,
        }  # fmt: skip
        status, text = await create_in_studio(client, fields, kind="offer")
        assert status == 422, (field, status)
        assert message in text and "Data engineer" in text, field


async def test_an_editor_composing_a_campaign_with_odd_values_sees_each_error(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, "editor")
    headers = {**(await csrf(client, "/campaigns")), "hx-request": "true"}
    for field, value, message in [
        ("url", "https://[", "Link to a page of Relay"),
        ("image", "https://[", "Use an image from Relay itself"),
        ("days", "²", "Give a number of days from 1 to 365."),
        ("days", "9" * 5000, "Give a number of days from 1 to 365."),
        ("scheduled_at", "0001-01-01T00:00+14:00", "Give a date and time to send it."),
    ]:
        data = {"title": "Lyon opens", "body": "Come", "url": "/", "action": "preview",
                "when": "later", "scheduled_at": "2999-01-01T10:00", "teams": "²", field: value}  # fmt: skip
        response = await client.post("/campaigns", data=data, headers=headers)
        assert response.status_code == 422, field
        assert message in response.text and "Lyon opens" in response.text, field


async def test_an_admin_typing_odd_values_in_policy_challenge_and_apply_sites_sees_errors(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, "admin")
    headers = {**(await csrf(client, "/admin/candidates")), "hx-request": "true"}
    policy = await client.post(
        "/admin/candidates",
        data={"referral_cookie_days": "²", "consent_days": "9" * 5000, "retention_days": "30"},
        headers=headers,
    )
    assert policy.status_code == 422 and "Enter a number of days from" in policy.text
    challenge = await client.post(
        "/admin/points/challenges",
        data={"name": "Sprint", "multiplier": "200", "starts_at": "0001-01-01T00:00+14:00",
              "ends_at": "9999-12-31T23:59-14:00", "items": ["²", "9" * 5000]},
        headers=headers,
    )  # fmt: skip
    assert challenge.status_code == 422 and "Choose at least one story or offer." in challenge.text
    hosts = await client.post("/admin/apply-hosts", data={"hosts": "https://["}, headers=headers)
    assert hosts.status_code in {200, 422} and "https://[" in hosts.text


async def test_an_admin_importing_a_csv_with_a_huge_field_or_odd_names_is_told(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, "admin")
    headers = await csrf(client, "/admin/people")
    for content, message in [
        (b"email,name\nana@example.com," + b"x" * 200_000 + b"\n", "could not be read"),
        (f"email,name\nana@example.com,Ana{RTL_OVERRIDE}\n".encode(), "invisible control"),
        (b"email,name\nana@example.com,Ana\x00\n", "The file must be a CSV saved as UTF-8."),
    ]:
        response = await client.post(
            "/admin/people/import",
            files={"file": ("people.csv", content, "text/csv")},
            headers=headers,
        )
        assert response.status_code == 422, message
        assert message in response.text
    assert await Member.count() == 1


async def test_an_invited_name_with_a_bidi_control_is_refused(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, "admin")
    headers = {**(await csrf(client, "/admin/people")), "hx-request": "true"}
    response = await client.post(
        "/admin/people",
        data={"email": "ana@example.com", "name": f"Ana{RTL_OVERRIDE}", "role": "employee"},
        headers=headers,
    )
    assert response.status_code == 422
    assert "invisible control characters" in response.text


async def test_the_pipeline_export_prefixes_a_formula_in_the_offer_title(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    sharer = await make_member(name="Léa Martin")
    item_id = await make_item("offer", "=HYPERLINK(1)")
    code = await sharing.link_code(sharer.id, item_id)
    assert (await apply(client, code, GOOD)).status_code == 200
    await sign_in(client, "editor")
    export = await client.get(f"/pipeline/{item_id}/export.csv")
    assert export.text.splitlines()[1].startswith("'=HYPERLINK(1)")
