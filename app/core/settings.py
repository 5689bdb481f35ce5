"""Relay's configuration: read once from the environment into one frozen object.

A bad value raises :class:`SettingsError` with a single sentence that the command
line prints as is (no traceback), so an operator sees what to fix at once.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlsplit

from app.core.vapid_keys import load_or_create_vapid_key, vapid_key_problem

ROOT = Path(__file__).resolve().parent.parent.parent


# Push services (Apple's in particular) refuse VAPID subjects on these hosts.
REFUSED_VAPID_HOSTS = ("localhost",)
REFUSED_VAPID_SUFFIXES = (".localhost", ".local", ".invalid")
# A reachable-looking contact for when neither PUBLIC_URL nor MAIL_FROM gives one;
# operators should set VAPID_SUBJECT to an address they read (README).
DEFAULT_VAPID_SUBJECT = "mailto:relay-push@example.com"
# An installed phone app should not ask for a passkey every morning: a session lives for
# 30 days of idleness and 180 days at most; an enrolment link works for 7 days.
SESSION_IDLE_LIFETIME = timedelta(days=30)
SESSION_LIFETIME = timedelta(days=180)
INVITATION_LIFETIME = timedelta(days=7)
SERVERS = ("granian", "uvicorn")


class SettingsError(Exception):
    """A configuration value Relay cannot start with."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    public_url: str
    secret_key: str
    redis_url: str | None = None
    port: int = 8000
    smtp_url: str | None = None
    database_pool_size: int = 10
    # How long a SQLite query waits for another writer before the request answers 503.
    sqlite_busy_timeout_s: float = 15.0
    mail_from: str = "Relay <relay@localhost>"
    # Push: the VAPID private key (base64url P-256 scalar), its public half when the operator
    # gave one to check against, and the contact push services may write to.
    vapid_private_key: str = ""
    vapid_public_key: str | None = None
    vapid_subject: str = DEFAULT_VAPID_SUBJECT
    # Whether this app process also drains the push outbox (the embedded default on SQLite).
    embedded_worker: bool = True
    push_max_attempts: int = 6
    # Push endpoints must be https on a public host; these hosts are allowed anyway, over
    # http too (PUSH_ALLOWED_TEST_HOSTS, comma-separated: for a local test push service only).
    push_allowed_test_hosts: tuple[str, ...] = ()
    # Webhook endpoints follow the same rule, with their own exceptions
    # (WEBHOOK_ALLOWED_TEST_HOSTS, comma-separated: for a local test receiver only).
    webhook_allowed_test_hosts: tuple[str, ...] = ()
    # Nudges: at most this many automatic notifications a member gets a day, and how many days
    # without a visit before a re-engagement nudge (NUDGE_DAILY_CAP, REENGAGE_AFTER_DAYS).
    nudge_daily_cap: int = 3
    reengage_after_days: int = 14
    # The reverse proxies whose Forwarded/X-Forwarded-For headers say who the client is
    # (FORWARDED_ALLOW_IPS: addresses and networks, comma-separated; none by default).
    forwarded_allow_ips: tuple[IPv4Network | IPv6Network, ...] = ()
    # Sessions end after this long unused, and this long whatever happens
    # (RELAY_SESSION_IDLE_DAYS, RELAY_SESSION_MAX_DAYS); enrolment links (RELAY_INVITATION_DAYS).
    session_idle_lifetime: timedelta = SESSION_IDLE_LIFETIME
    session_lifetime: timedelta = SESSION_LIFETIME
    invitation_lifetime: timedelta = INVITATION_LIFETIME
    # What `relay serve` listens on and runs by default (HOST, WEB_CONCURRENCY, RELAY_SERVER).
    listen_host: str = "127.0.0.1"
    web_concurrency: int = 1
    server: str = "granian"
    # Where templates and static files live: the repository by default.
    root: Path = field(default=ROOT)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def host(self) -> str:
        return urlsplit(self.public_url).hostname or "localhost"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("RELAY_DATA_DIR", "./data")).expanduser().resolve()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(
                f"RELAY_DATA_DIR {str(data_dir)!r} cannot be created: {exc.strerror}."
            ) from exc

        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'relay.sqlite3'}"
        check_database_url(database_url)

        port_text = env.get("PORT", "8000")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SettingsError(f"PORT must be a number from 1 to 65535, not {port_text!r}.")

        # Passkeys are bound to this address: on a laptop it follows the port served.
        public_url = env.get("PUBLIC_URL", f"http://localhost:{port_text}").rstrip("/")
        parts = urlsplit(public_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise SettingsError(
                f"PUBLIC_URL must be an http(s) address such as https://relay.example.com, "
                f"not {public_url!r}."
            )
        if parts.path or parts.query:
            raise SettingsError("PUBLIC_URL must not have a path or query: Relay serves from /.")

        redis_url = env.get("REDIS_URL") or None
        if redis_url and urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
            raise SettingsError(f"REDIS_URL must start with redis://, not {redis_url!r}.")

        secret_key = env.get("SECRET_KEY") or load_or_create_secret(data_dir / "secret_key")
        if len(secret_key) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 characters long.")

        pool_text = env.get("DATABASE_POOL_SIZE", "10")
        if not pool_text.isdigit() or int(pool_text) > 1000:
            raise SettingsError(
                f"DATABASE_POOL_SIZE must be a number from 0 (no pool) to 1000, not {pool_text!r}."
            )

        smtp_url = env.get("SMTP_URL") or None
        if smtp_url and urlsplit(smtp_url).scheme not in {"smtp", "smtps"}:
            raise SettingsError(f"SMTP_URL must start with smtp:// or smtps://, not {smtp_url!r}.")

        vapid_private_key = env.get("VAPID_PRIVATE_KEY") or None
        vapid_public_key = env.get("VAPID_PUBLIC_KEY") or None
        if vapid_public_key and not vapid_private_key:
            raise SettingsError("VAPID_PUBLIC_KEY is set without VAPID_PRIVATE_KEY: set both.")
        if vapid_private_key:
            problem = vapid_key_problem(vapid_private_key, vapid_public_key)
            if problem:
                raise SettingsError(problem)
        else:
            vapid_private_key = load_or_create_vapid_key(data_dir / "vapid_private_key")

        mail_from = env.get("MAIL_FROM", "Relay <relay@localhost>")
        vapid_subject = env.get("VAPID_SUBJECT") or default_vapid_subject(public_url, mail_from)
        check_vapid_subject(vapid_subject)

        embedded_text = env.get("RELAY_EMBEDDED_WORKER", "").strip().lower()
        if embedded_text and embedded_text not in BOOLEANS:
            raise SettingsError(
                f"RELAY_EMBEDDED_WORKER must be on or off (1/0, true/false), not {embedded_text!r}."
            )
        embedded_worker = (
            BOOLEANS[embedded_text] if embedded_text else database_url.startswith("sqlite:")
        )

        attempts_text = env.get("PUSH_MAX_ATTEMPTS", "6")
        if not attempts_text.isdigit() or not 1 <= int(attempts_text) <= 50:
            raise SettingsError(
                f"PUSH_MAX_ATTEMPTS must be a number from 1 to 50, not {attempts_text!r}."
            )

        allowed_hosts = tuple(
            host.strip().lower()
            for host in env.get("PUSH_ALLOWED_TEST_HOSTS", "").split(",")
            if host.strip()
        )
        webhook_test_hosts = tuple(
            host.strip().lower()
            for host in env.get("WEBHOOK_ALLOWED_TEST_HOSTS", "").split(",")
            if host.strip()
        )
        cap_text = env.get("NUDGE_DAILY_CAP", "3")
        if not cap_text.isdigit() or not 1 <= int(cap_text) <= 50:
            raise SettingsError(f"NUDGE_DAILY_CAP must be a number from 1 to 50, not {cap_text!r}.")
        reengage_text = env.get("REENGAGE_AFTER_DAYS", "14")
        if not reengage_text.isdigit() or not 1 <= int(reengage_text) <= 365:
            raise SettingsError(
                f"REENGAGE_AFTER_DAYS must be a number from 1 to 365, not {reengage_text!r}."
            )

        busy_text = env.get("SQLITE_BUSY_TIMEOUT", "15")
        try:
            busy_timeout = float(busy_text)
        except ValueError:
            busy_timeout = -1.0
        if not 0 < busy_timeout <= 600:
            raise SettingsError(
                f"SQLITE_BUSY_TIMEOUT must be a number of seconds up to 600, not {busy_text!r}."
            )

        forwarded_allow_ips = proxy_networks(env.get("FORWARDED_ALLOW_IPS", ""))
        idle_days = days_setting(env, "RELAY_SESSION_IDLE_DAYS", SESSION_IDLE_LIFETIME)
        max_days = days_setting(env, "RELAY_SESSION_MAX_DAYS", SESSION_LIFETIME)
        invitation_days = days_setting(env, "RELAY_INVITATION_DAYS", INVITATION_LIFETIME)

        concurrency_text = env.get("WEB_CONCURRENCY", "1")
        if not concurrency_text.isdigit() or not 1 <= int(concurrency_text) <= 256:
            raise SettingsError(
                f"WEB_CONCURRENCY must be a number from 1 to 256, not {concurrency_text!r}."
            )
        server = env.get("RELAY_SERVER", "granian")
        if server not in SERVERS:
            raise SettingsError(f"RELAY_SERVER must be granian or uvicorn, not {server!r}.")

        return cls(
            data_dir=data_dir,
            database_url=database_url,
            public_url=public_url,
            secret_key=secret_key,
            redis_url=redis_url,
            port=int(port_text),
            smtp_url=smtp_url,
            database_pool_size=int(pool_text),
            sqlite_busy_timeout_s=busy_timeout,
            mail_from=mail_from,
            vapid_private_key=vapid_private_key,
            vapid_public_key=vapid_public_key,
            vapid_subject=vapid_subject,
            embedded_worker=embedded_worker,
            push_max_attempts=int(attempts_text),
            push_allowed_test_hosts=allowed_hosts,
            webhook_allowed_test_hosts=webhook_test_hosts,
            nudge_daily_cap=int(cap_text),
            reengage_after_days=int(reengage_text),
            forwarded_allow_ips=forwarded_allow_ips,
            session_idle_lifetime=idle_days,
            session_lifetime=max_days,
            invitation_lifetime=invitation_days,
            listen_host=env.get("HOST", "127.0.0.1"),
            web_concurrency=int(concurrency_text),
            server=server,
        )


def days_setting(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    """A lifetime given in whole days, from 1 to 3650."""
    text = env.get(name, str(default.days))
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        raise SettingsError(f"{name} must be a number of days from 1 to 3650, not {text!r}.")
    return timedelta(days=int(text))


BOOLEANS = {"1": True, "true": True, "on": True, "yes": True}
BOOLEANS |= {"0": False, "false": False, "off": False, "no": False}


def proxy_networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """FORWARDED_ALLOW_IPS: each proxy an address (``10.0.0.5``) or a network (``10.0.0.0/8``)."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(
                "FORWARDED_ALLOW_IPS must list your proxies' addresses or networks, such as "
                f"10.0.0.5,192.168.1.0/24, not {part!r}."
            ) from None
    return tuple(networks)


def vapid_subject_problem(subject: str) -> str | None:
    """Why push services would refuse this VAPID contact, or None when they accept it."""
    if subject.startswith("mailto:"):
        address = subject.removeprefix("mailto:")
        local, at, host = address.rpartition("@")
        if not at or not local or not host or "." not in host or " " in address:
            return "a mailto: address needs a full e-mail address such as mailto:ops@example.com"
    elif subject.startswith("https://"):
        host = urlsplit(subject).hostname or ""
        if not host:
            return "an https: address needs a host name"
    else:
        return "it must start with mailto: or https://"
    host = host.lower().rstrip(".")
    if host in REFUSED_VAPID_HOSTS or host.endswith(REFUSED_VAPID_SUFFIXES):
        return f"push services refuse the host {host!r}"
    return None


def check_vapid_subject(subject: str) -> None:
    problem = vapid_subject_problem(subject)
    if problem:
        raise SettingsError(
            f"VAPID_SUBJECT {subject!r} cannot be used: {problem}; "
            "set it to mailto:you@yourcompany.com or your https:// address."
        )


def default_vapid_subject(public_url: str, mail_from: str) -> str:
    """The public https address, else the sender of mails, else a neutral default."""
    for candidate in [public_url, f"mailto:{mail_from.rpartition('<')[2].strip(' >')}"]:
        if candidate.startswith(("https://", "mailto:")) and not vapid_subject_problem(candidate):
            return candidate
    return DEFAULT_VAPID_SUBJECT


def check_database_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
            raise SettingsError(
                f"DATABASE_URL for SQLite must look like sqlite:///path, not {url!r}."
            )
    elif scheme in {"postgresql", "postgres"}:
        if not urlsplit(url).hostname and "host=" not in url:
            raise SettingsError("DATABASE_URL for PostgreSQL must name a host.")
    else:
        raise SettingsError(
            f"DATABASE_URL must start with sqlite:/// or postgresql://, not {scheme or url!r}."
        )


def load_or_create_secret(path: Path) -> str:
    """Keep one random secret per installation, readable by its owner only."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret
