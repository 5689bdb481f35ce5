"""Push configuration: VAPID keys kept or given, the contact subject, the embedded worker."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.core.settings import DEFAULT_VAPID_SUBJECT, Settings, SettingsError
from app.core.vapid_keys import b64url_decode, b64url_encode, public_key_bytes
from push.vapid import application_server_key
from tests.helpers import run_relay


def test_the_vapid_key_is_generated_once_and_readable_by_its_owner_only(tmp_path: Path) -> None:
    env = {"RELAY_DATA_DIR": str(tmp_path / "data")}
    first, again = Settings.from_env(env), Settings.from_env(env)
    key_file = tmp_path / "data" / "vapid_private_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.vapid_private_key == again.vapid_private_key
    server_key = application_server_key(first)
    assert server_key == application_server_key(again)
    public = b64url_decode(server_key)
    assert len(public) == 65 and public[0] == 4, "an uncompressed P-256 point, as browsers want"
    assert "=" not in server_key
    assert [p.name for p in (tmp_path / "data").iterdir() if p.name.startswith(".")] == []


def test_vapid_keys_given_by_the_environment_are_used_and_must_match(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    private = b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))
    public = b64url_encode(public_key_bytes(key))
    env = {"RELAY_DATA_DIR": str(tmp_path), "VAPID_PRIVATE_KEY": private}
    settings = Settings.from_env({**env, "VAPID_PUBLIC_KEY": public})
    assert application_server_key(settings) == public
    assert not (tmp_path / "vapid_private_key").exists()

    other = b64url_encode(public_key_bytes(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(SettingsError, match="does not match"):
        Settings.from_env({**env, "VAPID_PUBLIC_KEY": other})


@pytest.mark.parametrize(
    ("public_url", "mail_from", "expected"),
    [
        ("https://relay.acme.fr", None, "https://relay.acme.fr"),
        ("http://localhost:8000", None, DEFAULT_VAPID_SUBJECT),
        ("https://relay.local", None, DEFAULT_VAPID_SUBJECT),
        ("http://localhost:8000", "Relay RH <rh@acme.fr>", "mailto:rh@acme.fr"),
    ],
)
def test_the_vapid_subject_defaults_to_an_address_push_services_accept(
    tmp_path: Path, public_url: str, mail_from: str | None, expected: str
) -> None:
    env = {"RELAY_DATA_DIR": str(tmp_path), "PUBLIC_URL": public_url}
    if mail_from:
        env["MAIL_FROM"] = mail_from
    assert Settings.from_env(env).vapid_subject == expected


def test_the_embedded_worker_is_on_with_sqlite_and_off_with_postgresql(tmp_path: Path) -> None:
    env = {"RELAY_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).embedded_worker is True
    postgres = {**env, "DATABASE_URL": "postgresql://relay@db:5432/relay"}
    assert Settings.from_env(postgres).embedded_worker is False
    assert Settings.from_env({**postgres, "RELAY_EMBEDDED_WORKER": "on"}).embedded_worker
    assert not Settings.from_env({**env, "RELAY_EMBEDDED_WORKER": "0"}).embedded_worker


def test_a_bad_push_setting_stops_start_up_with_one_clear_line(env: dict[str, str]) -> None:
    cases = {
        "VAPID_SUBJECT": [
            ("mailto:ops@relay.local", "push services refuse the host 'relay.local'"),
            ("https://localhost", "push services refuse the host 'localhost'"),
            ("mailto:admin@acme.invalid", "push services refuse the host 'acme.invalid'"),
            ("mailto:nobody", "needs a full e-mail address"),
            ("ops@acme.fr", "must start with mailto: or https://"),
        ],
        "VAPID_PRIVATE_KEY": [("not-a-key", "VAPID_PRIVATE_KEY must be a base64url P-256")],
        "VAPID_PUBLIC_KEY": [("BAAA", "VAPID_PUBLIC_KEY is set without VAPID_PRIVATE_KEY")],
        "RELAY_EMBEDDED_WORKER": [("maybe", "RELAY_EMBEDDED_WORKER must be on or off")],
        "PUSH_MAX_ATTEMPTS": [("0", "PUSH_MAX_ATTEMPTS must be a number from 1 to 50")],
    }
    for name, attempts in cases.items():
        for value, message in attempts:
            result = run_relay("migrate", env={**env, name: value})
            assert result.returncode == 2, (name, value)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and message in lines[0], result.stderr
            assert "Traceback" not in result.stderr
