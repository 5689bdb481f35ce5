"""The admin's Provisioning (SCIM) page in Chromium at phone size, in English and French:
a token for the identity provider is made, shown once, used, and revoked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser import check_accessibility, finish_phone, phone_as

pytestmark = pytest.mark.browser


def test_an_admin_makes_a_scim_token_sees_it_once_and_revokes_it(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    phone = phone_as(browser, live_server, seed, role="admin", name="Camille Laurent")
    try:
        phone.goto("/admin/provisioning")
        expect(phone.get_by_role("heading", name="Provisioning (SCIM)")).to_be_visible()
        expect(phone.get_by_text("No token yet.")).to_be_visible()
        check_accessibility(phone)

        phone.get_by_role("button", name="Create the token").click()
        expect(
            phone.get_by_text("Name the identity provider, like Microsoft Entra ID or Okta.")
        ).to_be_visible()
        check_accessibility(phone)

        phone.get_by_role("textbox", name="Identity provider").fill("Microsoft Entra ID")
        phone.get_by_role("button", name="Create the token").click()
        expect(phone.get_by_role("heading", name="Token for Microsoft Entra ID")).to_be_visible()
        token = phone.get_by_label("Token", exact=True).input_value()
        assert token.startswith("relay_scim_")
        check_accessibility(phone)

        # The identity provider uses it; the page says when, and never shows it again.
        scim = httpx.get(
            f"{live_server.url}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}
        )
        assert scim.status_code == 200
        phone.goto("/admin/provisioning")
        expect(phone.get_by_text("last used", exact=False)).to_be_visible()
        assert token not in phone.content()
        check_accessibility(phone)

        phone.get_by_role("button", name="Revoke the token of Microsoft Entra ID").click()
        expect(
            phone.get_by_text("Token revoked: the identity provider can no longer use it.")
        ).to_be_visible()
        expect(phone.get_by_text("Microsoft Entra ID · revoked")).to_be_visible()
        check_accessibility(phone)
        refused = httpx.get(
            f"{live_server.url}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}
        )
        assert refused.status_code == 401
    finally:
        finish_phone(phone)


def test_the_provisioning_page_speaks_french(browser: Browser, live_server: Any, seed: Any) -> None:
    phone = phone_as(browser, live_server, seed, role="admin", language="fr")
    try:
        phone.goto("/admin/provisioning")
        expect(phone.get_by_role("heading", name="Provisionnement (SCIM)")).to_be_visible()
        expect(phone.get_by_text("Aucun jeton pour l’instant.")).to_be_visible()
        check_accessibility(phone)
        phone.get_by_role("textbox", name="Fournisseur d’identité").fill("Okta")
        phone.get_by_role("button", name="Créer le jeton").click()
        expect(phone.get_by_role("heading", name="Jeton pour Okta")).to_be_visible()
        expect(phone.get_by_text("ne l’affichera plus jamais")).to_be_visible()
        check_accessibility(phone)
    finally:
        finish_phone(phone)
