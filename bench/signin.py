"""Sign-in ceremonies per second, server side: options, then verification and a new session.

    python -m bench.signin [--ceremonies 2000] [--concurrency 8] [--postgres URL]

Runs the same service functions the routes call (no HTTP), on a fresh SQLite file and, with
--postgres, on a throwaway PostgreSQL database. Beside it, the rate of py_webauthn's
verification alone, measured in the same run: the part no database can speed up.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from webauthn import verify_authentication_response
from webauthn.helpers import base64url_to_bytes

from app.accounts import invitations, passkeys
from app.accounts.invitations import Person
from app.accounts.sessions import create_session
from app.core import db
from app.core.settings import Settings
from tests.soft_authenticator import SoftPasskey


async def enrol_people(settings: Settings, count: int) -> list[SoftPasskey]:
    keys = []
    for n in range(count):
        invited = await invitations.invite(
            Person(
                email=f"bench{n}@example.com",
                name=f"Bench {n}",
                role="employee",
                team=None,
                site=None,
                language="en",
            ),
            by=None,
        )
        found = await invitations.open_invitation(invited.token)
        assert found is not None
        invitation, member = found
        started = await passkeys.registration_options(settings, member, "enrol", invitation["id"])
        key = SoftPasskey(rp_id=settings.host, origin=settings.public_url)
        ceremony = await passkeys.take_ceremony(started.token, "enrol")
        await passkeys.finish_registration(
            settings,
            ceremony,
            key.create(started.options),
            "bench",
            use_invitation=invitation["id"],
        )
        keys.append(key)
    return keys


async def ceremony(settings: Settings, key: SoftPasskey) -> None:
    started = await passkeys.authentication_options(settings, "signin")
    taken = await passkeys.take_ceremony(started.token, "signin")
    member_id, _passkey_id = await passkeys.finish_authentication(
        settings, taken, key.get(started.options)
    )
    await create_session(member_id, "bench")


async def run(settings: Settings, ceremonies: int, concurrency: int) -> float:
    db.use_engine(db.engine_from_url(settings.database_url))
    await db.open_pool(concurrency + 2)
    try:
        await db.migrate()
        keys = await enrol_people(settings, concurrency)

        async def worker(key: SoftPasskey, count: int) -> None:
            for _ in range(count):
                await ceremony(settings, key)

        started = time.perf_counter()
        await asyncio.gather(*(worker(k, ceremonies // concurrency) for k in keys))
        return (ceremonies // concurrency * concurrency) / (time.perf_counter() - started)
    finally:
        await db.close_pool()


def verification_alone(settings: Settings, count: int) -> float:
    key = SoftPasskey(rp_id=settings.host, origin=settings.public_url)
    options = {"challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZS0xMjM0NTY", "user": {"id": "dXNlcg"}}
    registration = key.create(options)
    from webauthn import verify_registration_response

    verified = verify_registration_response(
        credential=registration,
        expected_challenge=base64url_to_bytes(options["challenge"]),
        expected_rp_id=settings.host,
        expected_origin=settings.public_url,
    )
    answers = [key.get(options) for _ in range(count)]
    started = time.perf_counter()
    for n, answer in enumerate(answers):
        verify_authentication_response(
            credential=answer,
            expected_challenge=base64url_to_bytes(options["challenge"]),
            expected_rp_id=settings.host,
            expected_origin=settings.public_url,
            credential_public_key=verified.credential_public_key,
            credential_current_sign_count=n,
            require_user_verification=True,
        )
    return count / (time.perf_counter() - started)


def settings_for(database_url: str, data_dir: str) -> Settings:
    return Settings.from_env(
        {"RELAY_DATA_DIR": data_dir, "DATABASE_URL": database_url, "SECRET_KEY": "b" * 40}
    )


async def throwaway_postgres(url: str, name: str, create: bool) -> str:
    parts = urlsplit(url)
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ceremonies", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = settings_for(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", tmp)
        alone = verification_alone(sqlite, args.ceremonies)
        print(f"py_webauthn verification alone: {alone:8,.0f} /s")
        rate = asyncio.run(run(sqlite, args.ceremonies, args.concurrency))
        print(
            f"SQLite sign-in ceremonies:      {rate:8,.0f} /s  ({rate / alone:.2f} of verification alone)"
        )
        if args.postgres:
            url = asyncio.run(throwaway_postgres(args.postgres, "relay_bench_signin", True))
            try:
                rate = asyncio.run(run(settings_for(url, tmp), args.ceremonies, args.concurrency))
                print(
                    f"PostgreSQL sign-in ceremonies:  {rate:8,.0f} /s  ({rate / alone:.2f} of verification alone)"
                )
            finally:
                asyncio.run(throwaway_postgres(args.postgres, "relay_bench_signin", False))


if __name__ == "__main__":
    main()
