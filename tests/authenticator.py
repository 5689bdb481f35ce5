"""Chromium's virtual authenticator over CDP: a phone's platform passkey, for real ceremonies."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page


class VirtualAuthenticator:
    """A CTAP2 internal authenticator with resident keys and user verification."""

    def __init__(self, page: Page, user_verified: bool = True, autofill: bool = False) -> None:
        """With ``autofill`` off, the browser offers no passkey autofill (conditional
        mediation): Chromium's virtual authenticator would answer it at once, signing in
        before the test taps the button it means to test."""
        if not autofill:
            page.context.add_init_script(
                "if (window.PublicKeyCredential) "
                "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"
            )
        else:
            # Autofill is offered once the test says so, after it has looked at the page.
            page.context.add_init_script(
                "if (window.PublicKeyCredential) "
                "PublicKeyCredential.isConditionalMediationAvailable = () => "
                "new Promise((resolve) => { window.offerPasskeyAutofill = () => resolve(true); });"
            )
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.id = self._add(user_verified)

    def _add(self, user_verified: bool) -> str:
        result = self.cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "ctap2Version": "ctap2_1",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": user_verified,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        return str(result["authenticatorId"])

    def credentials(self) -> list[dict[str, Any]]:
        result = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return list(result["credentials"])

    def set_user_verified(self, verified: bool) -> None:
        self.cdp.send(
            "WebAuthn.setUserVerified", {"authenticatorId": self.id, "isUserVerified": verified}
        )

    def replace_with_new_device(self) -> None:
        """Another phone: this authenticator is gone, a fresh empty one takes its place."""
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})
        self.id = self._add(True)

    def add_credential(self, credential: dict[str, Any]) -> None:
        """Put a credential (as returned by :meth:`credentials`) on this authenticator."""
        keys = [
            "credentialId",
            "isResidentCredential",
            "rpId",
            "privateKey",
            "userHandle",
            "signCount",
        ]
        self.cdp.send(
            "WebAuthn.addCredential",
            {
                "authenticatorId": self.id,
                "credential": {k: credential[k] for k in keys if k in credential},
            },
        )
