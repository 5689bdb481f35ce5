"""Passkey accounts in Chromium with a virtual authenticator: enrol, sign in, manage, refuse."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from app.accounts import invitations
from app.accounts.invitations import Person
from app.accounts.sessions import create_session
from app.accounts.tables import Invitation, Member, Passkey
from app.core.clock import now
from tests.authenticator import VirtualAuthenticator
from tests.browser import check_accessibility
from tests.factories import make_site, make_team
from tests.helpers import HTML, form_token

pytestmark = pytest.mark.browser


def invite(seed: Any, name: str = "Léa Martin", role: str = "employee") -> tuple[int, str]:
    email = name.lower().replace(" ", ".").replace("é", "e") + "@example.com"
    invited = seed(
        lambda: invitations.invite(
            Person(email=email, name=name, role=role, team=None, site=None, language="en"), by=None
        )
    )
    return invited.member_id, invited.token


def enrol(phone: Page, token: str) -> None:
    phone.goto(f"/enrol/{token}")
    check_accessibility(phone)
    phone.get_by_role("button", name="Create my passkey").click()
    expect(phone.get_by_role("heading", name="Your feed")).to_be_visible()
    check_accessibility(phone)


def sign_out(phone: Page) -> None:
    phone.goto("/me")
    check_accessibility(phone)
    phone.get_by_role("button", name="Sign out").click()
    expect(phone.get_by_text("You are signed out.")).to_be_visible()
    check_accessibility(phone)


def test_an_invited_employee_enrols_signs_out_and_signs_in_with_one_tap(
    phone: Page, seed: Any
) -> None:
    member_id, token = invite(seed)
    authenticator = VirtualAuthenticator(phone)

    phone.goto(f"/enrol/{token}")
    expect(phone.get_by_role("heading", name="Welcome, Léa Martin")).to_be_visible()
    check_accessibility(phone)
    phone.get_by_role("button", name="Create my passkey").click()
    expect(phone.get_by_role("heading", name="Your feed")).to_be_visible()
    check_accessibility(phone)

    [credential] = authenticator.credentials()
    assert credential["isResidentCredential"] is True
    stored = seed(lambda: Passkey.select().where(Passkey.member == member_id))
    assert len(stored) == 1
    assert stored[0]["name"] == "Chrome on Android"

    sign_out(phone)
    phone.goto("/me")
    expect(phone).to_have_url(f"{phone.url.split('/signin')[0]}/signin?next=/me")
    check_accessibility(phone)
    phone.get_by_role("button", name="Sign in with a passkey").click()
    expect(phone.get_by_role("heading", name="Me", exact=True)).to_be_visible()
    expect(phone.get_by_text("lea.martin@example.com")).to_be_visible()
    assert seed(lambda: Passkey.select(Passkey.last_used_at, Passkey.sign_count).first())[
        "last_used_at"
    ]


def test_passkey_autofill_signs_in_from_the_email_field(phone: Page, seed: Any) -> None:
    _member_id, token = invite(seed)
    VirtualAuthenticator(phone, autofill=True)
    enrol(phone, token)
    phone.context.clear_cookies()
    # The sign-in page starts a conditional request at once; the device answers it the
    # way a person picking their account in the email field's suggestions would.
    phone.goto("/signin?next=/me")
    field = phone.get_by_label("Or pick your account from your device's suggestions")
    expect(field).to_have_attribute("autocomplete", "username webauthn")
    check_accessibility(phone)
    phone.evaluate("() => window.offerPasskeyAutofill()")
    expect(phone.get_by_role("heading", name="Me", exact=True)).to_be_visible()
    expect(phone.get_by_text("lea.martin@example.com")).to_be_visible()
    check_accessibility(phone)


def test_a_member_adds_a_second_passkey_signs_in_with_it_and_removes_the_first(
    phone: Page, seed: Any
) -> None:
    _member_id, token = invite(seed)
    authenticator = VirtualAuthenticator(phone)
    enrol(phone, token)
    [first_phone_key] = authenticator.credentials()

    # A new phone: the old authenticator is gone from this browser.
    authenticator.replace_with_new_device()
    phone.goto("/me/security")
    check_accessibility(phone)
    phone.get_by_role("button", name="Add a passkey").click()
    expect(phone.get_by_text("Passkey added.")).to_be_visible()
    expect(phone.get_by_text("Chrome on Android", exact=True)).to_have_count(2)
    check_accessibility(phone)

    sign_out(phone)
    phone.get_by_role("button", name="Sign in with a passkey").click()
    expect(phone.get_by_role("heading", name="Your feed")).to_be_visible()
    check_accessibility(phone)

    phone.goto("/me/security")
    phone.get_by_text("Manage Chrome on Android").first.click()
    phone.on("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Remove Chrome on Android").first.click()
    expect(phone.get_by_text("Chrome on Android", exact=True)).to_have_count(1)
    check_accessibility(phone)

    # The removed passkey, still on the old phone, no longer opens Relay.
    sign_out(phone)
    authenticator.replace_with_new_device()
    authenticator.add_credential(first_phone_key)
    phone.get_by_role("button", name="Sign in with a passkey").click()
    expect(phone.get_by_role("alert")).to_have_text(
        "This passkey is not known to Relay. It may have been removed: ask your admin for a new link."
    )
    check_accessibility(phone)


def test_adding_a_passkey_on_a_device_that_has_one_says_so(phone: Page, seed: Any) -> None:
    """The server lists the member's passkeys in excludeCredentials; the device holding one
    refuses to make a second (InvalidStateError), and the page says why, not "try again"."""
    _member_id, token = invite(seed)
    authenticator = VirtualAuthenticator(phone)
    enrol(phone, token)
    phone.goto("/me/security")
    check_accessibility(phone)
    with phone.expect_response("**/me/passkeys/options") as options:
        phone.get_by_role("button", name="Add a passkey").click()
    [passkey] = authenticator.credentials()
    excluded = options.value.json()["publicKey"]["excludeCredentials"]
    assert [c["id"] for c in excluded] == [
        passkey["credentialId"].replace("+", "-").replace("/", "_").rstrip("=")
    ]
    expect(phone.get_by_role("alert")).to_have_text(
        "This device already has a passkey for Relay: you sign in with it. "
        "To add one, use another phone or computer, or a security key."
    )
    assert len(authenticator.credentials()) == 1
    expect(phone.get_by_text("Chrome on Android", exact=True)).to_have_count(1)
    check_accessibility(phone)
    phone.set_viewport_size({"width": 1280, "height": 900})
    expect(phone.get_by_role("alert")).to_be_visible()
    check_accessibility(phone)


def test_the_only_passkey_cannot_be_removed_and_renaming_checks_the_name(
    phone: Page, seed: Any
) -> None:
    _member_id, token = invite(seed)
    VirtualAuthenticator(phone)
    enrol(phone, token)
    phone.goto("/me/security")
    phone.get_by_text("Manage Chrome on Android").click()
    name = phone.get_by_label("Name")
    name.fill("   ")
    phone.get_by_role("button", name="Rename").click()
    expect(phone.get_by_text("Give the passkey a name of 1 to 60 characters.")).to_be_visible()
    check_accessibility(phone)
    phone.get_by_label("Name").fill("Léa's Pixel")
    phone.get_by_role("button", name="Rename").click()
    expect(phone.get_by_text("Léa's Pixel", exact=True)).to_be_visible()
    phone.get_by_text("Manage Léa's Pixel").click()
    phone.on("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Remove Léa's Pixel").click()
    expect(phone.get_by_role("alert")).to_have_text(
        "This is your only passkey: add another one before removing it."
    )
    check_accessibility(phone)


def test_a_device_that_does_not_verify_the_user_is_refused(phone: Page, seed: Any) -> None:
    _member_id, token = invite(seed)
    authenticator = VirtualAuthenticator(phone)
    enrol(phone, token)
    sign_out(phone)

    # A client that asks the authenticator not to verify the user, and one that doesn't:
    # the server requires user verification whatever the browser was told.
    def discourage_verification(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["publicKey"]["userVerification"] = "discouraged"
        route.fulfill(response=response, body=json.dumps(body))

    phone.route("**/signin/options", discourage_verification)
    authenticator.set_user_verified(False)
    phone.get_by_role("button", name="Sign in with a passkey").click()
    expect(phone.get_by_role("alert")).to_have_text(
        "Your device did not verify it's you (fingerprint, face or PIN). Please try again."
    )
    expect(phone).to_have_url(f"{phone.url.split('/signin')[0]}/signin?bye=1")
    check_accessibility(phone)


def test_a_replayed_sign_in_is_refused(phone: Page, seed: Any) -> None:
    _member_id, token = invite(seed)
    VirtualAuthenticator(phone)
    enrol(phone, token)
    sign_out(phone)
    with phone.expect_request("**/signin/verify") as captured:
        phone.get_by_role("button", name="Sign in with a passkey").click()
    expect(phone.get_by_role("heading", name="Your feed")).to_be_visible()
    check_accessibility(phone)
    request = captured.value
    replay = phone.request.post(
        request.url,
        data=request.post_data,
        headers={k: v for k, v in request.headers.items() if k in {"content-type", "x-csrftoken"}},
    )
    assert replay.status == 400
    assert replay.json() == {"error": "This sign-in attempt has expired. Please try again."}


def test_used_expired_and_unknown_links_get_a_page_that_leaks_nothing(
    phone: Page, seed: Any
) -> None:
    _member_id, token = invite(seed)
    VirtualAuthenticator(phone)
    enrol(phone, token)
    phone.context.clear_cookies()

    _other, expired = invite(seed, "Tom Nguyen")
    seed(
        lambda: Invitation.update({Invitation.expires_at: now() - timedelta(minutes=1)}).where(
            Invitation.member == _other
        )
    )
    for link in [token, expired, "no-such-token"]:
        response = phone.goto(f"/enrol/{link}")
        assert response is not None and response.status == 404
        expect(phone.get_by_role("heading", name="This link can't be used")).to_be_visible()
        expect(phone.get_by_text("Léa")).to_have_count(0)
        expect(phone.get_by_text("Tom")).to_have_count(0)
        check_accessibility(phone)


def test_a_deactivated_member_is_signed_out_at_once_and_cannot_sign_in(
    phone: Page, seed: Any, live_server: Any
) -> None:
    member_id, token = invite(seed)
    admin_id, _admin_token = invite(seed, "Camille Laurent", role="admin")
    VirtualAuthenticator(phone)
    enrol(phone, token)

    # The admin deactivates them from their own device, through Relay's server.
    admin_session = seed(lambda: create_session(admin_id, fresh=True))
    with httpx.Client(base_url=live_server.url, cookies={"relay_session": admin_session}) as admin:
        person = admin.get(f"/admin/people/{member_id}", headers=HTML)
        done = admin.post(
            f"/admin/people/{member_id}/deactivate",
            data={"_csrf_token": form_token(person.text)},
            headers=HTML,
        )
        assert done.status_code == 200 and "Deactivated" in done.text
    phone.goto("/me")
    expect(phone.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    check_accessibility(phone)
    phone.get_by_role("button", name="Sign in with a passkey").click()
    expect(phone.get_by_role("alert")).to_have_text("Your Relay account is no longer active.")
    assert seed(lambda: Member.select(Member.active).where(Member.id == member_id).first()) == {
        "active": False
    }


def test_an_admin_invites_someone_and_hands_over_the_link_as_a_qr_code(
    phone: Page, seed: Any
) -> None:
    _admin_id, token = invite(seed, "Camille Laurent", role="admin")
    seed(lambda: make_team("Sales"))
    seed(lambda: make_site("Lyon"))
    VirtualAuthenticator(phone)
    enrol(phone, token)
    phone.get_by_role("link", name="Me", exact=True).click()
    expect(phone.get_by_role("heading", name="Me", exact=True)).to_be_visible()
    check_accessibility(phone)
    phone.get_by_role("link", name="People").click()
    expect(phone.get_by_role("heading", name="Invite someone")).to_be_visible()
    check_accessibility(phone)

    phone.get_by_label("Email", exact=True).fill("not-an-email")
    phone.get_by_label("Name", exact=True).fill("Hugo Bernard")
    phone.get_by_role("button", name="Create the invitation").click()
    expect(phone.get_by_text("Enter a valid email address, like name@company.com.")).to_be_visible()
    check_accessibility(phone)

    phone.get_by_label("Email", exact=True).fill("hugo.bernard@example.com")
    phone.get_by_label("Role").select_option("editor")
    phone.get_by_label("Team").select_option("Sales")
    phone.get_by_label("Site").select_option("Lyon")
    phone.get_by_role("button", name="Create the invitation").click()
    expect(phone.get_by_role("heading", name="Enrolment link for Hugo Bernard")).to_be_visible()
    expect(phone.get_by_role("img", name="QR code of the enrolment link")).to_be_visible()
    expect(phone.get_by_text("hugo.bernard@example.com · Sales · Lyon")).to_be_visible()
    link = phone.locator("[data-enrolment-link]").input_value()
    assert "/enrol/" in link
    expect(phone).to_have_url(
        f"{phone.url.split('/admin')[0]}/admin/people/{phone.url.rsplit('/', 1)[1]}"
    )
    check_accessibility(phone)

    # The invitee opens the link on their own phone.
    other = phone.context.browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[union-attr]
    try:
        invitee = other.new_page()
        invitee.goto(link)
        expect(invitee.get_by_role("heading", name="Welcome, Hugo Bernard")).to_be_visible()
    finally:
        other.close()
