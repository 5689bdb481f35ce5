"""Relay's HTTP client for push services, against a scripted server on 127.0.0.1: what it
writes, how it reads answers of every shape, when it keeps a connection, its deadline, and
its way through a proxy (plain, and a CONNECT tunnel with TLS to the push service)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.core.settings import Settings
from push.addresses import PublicAddressResolver, RefusedAddress
from push.client import ConnectorError, PushClient, ResponseError, Service
from push.sender import Outcome, PushSender, PushTarget
from push.vapid import VapidSigner
from tests.push_sink import FakeBrowser

HEADERS = b"Authorization: vapid t=x, k=y\r\nTTL: 60\r\n"


class Scripted:
    """A server that reads each request whole and writes the next scripted answer (None:
    never answers). It counts connections and keeps every request's bytes."""

    def __init__(self, *answers: bytes | None) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                self.requests.append(await read_request(reader))
                answer = self.answers.pop(0)
                if answer is None:
                    await reader.read()  # until the client gives up and hangs up
                    return
                writer.write(answer)
                await writer.drain()
                if b"connection: close" in answer.lower():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


async def serve(handler: Callable[..., object]) -> asyncio.Server:
    return await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]


@pytest.fixture
async def client() -> AsyncIterator[PushClient]:
    client = PushClient(PublicAddressResolver(["127.0.0.1"]), timeout_s=2)
    yield client
    await client.aclose()


async def scripted(*answers: bytes | None) -> tuple[Scripted, asyncio.Server]:
    script = Scripted(*answers)
    server = await serve(script.handle)
    script.port = server.sockets[0].getsockname()[1]
    return script, server


async def test_messages_to_one_push_service_share_one_kept_alive_connection(
    client: PushClient,
) -> None:
    script, server = await scripted(
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 429 Too Many\r\nRetry-After: 120\r\nContent-Length: 4\r\n\r\nslow",
    )
    async with server:
        service = Service.of(f"http://127.0.0.1:{script.port}")
        first = await client.post(service, "/push/a?x=1", HEADERS, b"body-1")
        second = await client.post(service, "/push/b", HEADERS, b"body-22")
    assert (first.status, first.retry_after) == (201, None)
    assert (second.status, second.retry_after) == (429, "120")
    assert script.connections == 1
    assert script.requests[0] == (
        b"POST /push/a?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % script.port
        + HEADERS
        + b"Content-Length: 6\r\n\r\nbody-1"
    )
    assert script.requests[1].startswith(b"POST /push/b HTTP/1.1\r\n")


async def test_a_chunked_answer_and_one_that_ends_with_the_connection_are_read(
    client: PushClient,
) -> None:
    script, server = await scripted(
        b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
        b"HTTP/1.1 410 Gone\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ngone.\r\n0\r\n\r\n",
        # No length: the body runs until the server closes the connection.
        b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nsomething broke",
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    )
    async with server:
        service = Service.of(f"http://127.0.0.1:{script.port}")
        statuses = [(await client.post(service, "/p", HEADERS, b"x")).status for _ in range(3)]
    assert statuses == [410, 500, 201]
    # The chunked answer left the connection usable; the closed one did not.
    assert script.connections == 2


async def test_a_connection_that_closes_without_an_answer_is_an_error(
    client: PushClient,
) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    server = await serve(hang_up)
    async with server:
        service = Service.of(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        with pytest.raises(ResponseError):
            await client.post(service, "/p", HEADERS, b"x")


async def test_a_push_service_that_never_answers_times_out_and_its_connection_is_dropped() -> None:
    script, server = await scripted(None, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    client = PushClient(PublicAddressResolver(["127.0.0.1"]), timeout_s=0.2)
    async with server:
        service = Service.of(f"http://127.0.0.1:{script.port}")
        with pytest.raises(TimeoutError):
            await client.post(service, "/p", HEADERS, b"x")
        assert (await client.post(service, "/p", HEADERS, b"x")).status == 201
    await client.aclose()
    assert script.connections == 2


async def test_an_address_that_resolves_inside_the_network_is_never_connected_to(
    client: PushClient,
) -> None:
    script, server = await scripted(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    async with server:
        # localhost is not a trusted host here: it resolves to loopback, so it is refused.
        with pytest.raises(RefusedAddress):
            await client.post(Service.of("https://localhost"), "/p", HEADERS, b"x")
        with pytest.raises(ConnectorError):
            await client.post(Service.of("http://127.0.0.1:1"), "/p", HEADERS, b"x")
    assert script.connections == 0


async def test_a_plain_proxy_gets_the_absolute_address_and_its_credentials(
    client: PushClient,
) -> None:
    proxy, server = await scripted(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    async with server:
        service = Service.of(
            "http://push.example.com", f"http://relay:s%40cret@127.0.0.1:{proxy.port}"
        )
        assert (await client.post(service, "/push/1", HEADERS, b"x")).status == 201
    request = proxy.requests[0]
    assert request.startswith(b"POST http://push.example.com/push/1 HTTP/1.1\r\n")
    assert b"Host: push.example.com\r\n" in request
    assert b"Proxy-Authorization: Basic cmVsYXk6c0BjcmV0\r\n" in request  # relay:s@cret


def certificate_for(host: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_through_a_proxy_is_a_connect_tunnel_with_tls_to_the_push_service(
    tmp_path: Path,
) -> None:
    cert, key = certificate_for("push.example.com", tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    seen: list[bytes] = []

    async def proxy_then_push_service(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await writer.start_tls(server_tls)  # the push service's end of the tunnel
        seen.append(await read_request(reader))
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    trusting = ssl.create_default_context(cafile=str(cert))
    client = PushClient(PublicAddressResolver(["127.0.0.1"]), timeout_s=2, ssl_context=trusting)
    server = await serve(proxy_then_push_service)
    async with server:
        port = server.sockets[0].getsockname()[1]
        service = Service.of("https://push.example.com", f"http://relay:pw@127.0.0.1:{port}")
        assert (await client.post(service, "/push/1", HEADERS, b"sealed")).status == 201
    await client.aclose()
    assert seen[0].startswith(b"CONNECT push.example.com:443 HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic cmVsYXk6cHc=\r\n" in seen[0]
    # Inside the tunnel: the request as to the push service itself, no proxy credentials.
    assert seen[1].startswith(b"POST /push/1 HTTP/1.1\r\nHost: push.example.com\r\n")
    assert b"Proxy-Authorization" not in seen[1] and seen[1].endswith(b"sealed")


async def test_a_proxy_that_refuses_the_tunnel_is_a_connection_error(client: PushClient) -> None:
    proxy, server = await scripted(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
    async with server:
        service = Service.of("https://push.example.com", f"http://127.0.0.1:{proxy.port}")
        with pytest.raises(ConnectorError, match="407"):
            await client.post(service, "/push/1", HEADERS, b"x")


async def test_the_sender_goes_through_the_proxy_the_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.from_env(
        {"RELAY_DATA_DIR": str(tmp_path), "PUBLIC_URL": "http://localhost:8000"}
    )
    proxy, server = await scripted(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    browser = FakeBrowser(
        "http://push.example.com/push/1", ec.generate_private_key(ec.SECP256R1()), b"0" * 16
    )
    sender = PushSender(
        VapidSigner.from_settings(settings), allowed_test_hosts=["push.example.com"]
    )
    async with server:
        result = await sender.send(
            PushTarget(browser.endpoint, browser.p256dh, browser.auth), b"{}"
        )
    await sender.aclose()
    assert result.outcome is Outcome.sent
    assert proxy.requests[0].startswith(b"POST http://push.example.com/push/1 HTTP/1.1\r\n")
    assert b"Authorization: vapid t=" in proxy.requests[0]
