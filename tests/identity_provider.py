"""A real OpenID provider for the single sign-on tests: panva's certified ``oidc-provider``
(npm), run by node from tests/oidc_provider/ on a loopback port, once per test session.

Its packages are installed with ``npm ci`` from the committed package-lock.json when
node_modules is missing (.ci/run does it first). Without node the tests that need it skip.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest

from tests.databases import ROOT
from tests.helpers import free_port

FOLDER = ROOT / "tests" / "oidc_provider"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None,
    reason="node is not installed: the single sign-on tests run the OpenID provider "
    "oidc-provider with it (apt-get install nodejs npm)",
)


def install() -> None:
    """``npm ci`` in tests/oidc_provider when its node_modules is missing."""
    if (FOLDER / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("node is installed but npm is not: apt-get install npm")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=FOLDER,
        check=True,
        timeout=600,
    )


class IdentityProvider:
    """oidc-provider on 127.0.0.1: clients register themselves, any account id (an email
    address) signs in by typing it on its one-field page."""

    def __init__(self) -> None:
        assert NODE is not None
        install()
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [NODE, str(FOLDER / "provider.js"), str(self.port)],
            cwd=FOLDER,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                if line.startswith("ready "):
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise RuntimeError("oidc-provider did not start:\n" + "".join(self.output))
        self.http = httpx.Client(timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def register(self, redirect_uri: str) -> tuple[str, str]:
        """A new client (RFC 7591 dynamic registration): its id and secret."""
        answer = self.http.post(
            f"{self.issuer}/reg",
            json={
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
        answer.raise_for_status()
        client = answer.json()
        return client["client_id"], client["client_secret"]

    def set_account(self, account: str, **claims: str) -> None:
        """Extra claims of an account (``department``, ``office``…)."""
        self.http.post(f"{self.issuer}/test/account", data={"id": account, **claims})

    def set_clock(self, skew_seconds: int) -> None:
        """The provider's clock, as its token endpoint reads it, this far off."""
        self.http.post(f"{self.issuer}/test/clock", params={"skew": str(skew_seconds)})

    def sign_in(self, authorization_url: str, account: str, redirect_prefix: str) -> str:
        """Follow Relay's redirect through the provider as a browser would, sign in as
        ``account`` on its page, and return the URL the provider sends the browser back to."""
        with httpx.Client(timeout=10, follow_redirects=False) as browser:
            url = authorization_url
            for _hop in range(20):
                if url.startswith(redirect_prefix):
                    return url
                answer = browser.get(url)
                if answer.status_code in (302, 303):
                    url = urljoin(url, answer.headers["location"])
                    continue
                assert answer.status_code == 200, answer.text[:500]
                assert 'name="login"' in answer.text, answer.text[:500]
                posted = browser.post(url, data={"login": account})
                assert posted.status_code in (302, 303), posted.text[:500]
                url = urljoin(url, posted.headers["location"])
            raise AssertionError("too many redirects at the identity provider")

    def id_token_for(self, account: str, redirect_uri: str) -> tuple[str, str, str]:
        """An ID token for ``account`` issued to a client of its own (another application of
        the same company): (the token, that client's id, the nonce)."""
        client_id, secret = self.register(redirect_uri)
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        nonce = secrets.token_urlsafe(16)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid email profile",
                "state": "s",
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        back = self.sign_in(f"{self.issuer}/auth?{query}", account, redirect_uri)
        code = parse_qs(urlsplit(back).query)["code"][0]
        answer = self.http.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            auth=(client_id, secret),
        )
        answer.raise_for_status()
        return answer.json()["id_token"], client_id, nonce


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[IdentityProvider]:
    if NODE is None:
        pytest.skip("node is not installed: the OpenID provider oidc-provider needs it")
    provider = IdentityProvider()
    yield provider
    provider.stop()
