"""HTTP to the target: one httpx client per TLS identity, every exchange recorded.

Redirects are never followed (a redirect is an answer to check, and credentials must not travel
to another host), bodies are read up to a cap, and every transport failure or timeout is raised
as ``TransportFailure`` so that it can only ever end a test in ERROR.

Every request has a total deadline (``Timeouts.total``) on top of the connect and per-read
limits: each socket operation gets at most the time left, so a server that trickles one byte a
second (in its headers or its body) cannot keep a request alive past it. Requests go only to
the hosts of the configured target (``allowed_hosts``); a URL elsewhere, from the target's
metadata say, is refused before a byte is sent (``ForeignHost``).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from harness.evidence import TEST_HEADER, Exchange, current_tag, record
from harness.verdict import NotTestable

MAX_BODY_BYTES = 1 << 20
READ_CHUNK = 64 * 1024


class TransportFailure(RuntimeError):
    """The request got no HTTP answer (connection, TLS or timeout failure): could not test."""

    def __init__(self, exchange: Exchange) -> None:
        super().__init__(f"{exchange.label}: {exchange.method} {exchange.url}: {exchange.error}")
        self.exchange = exchange


class ForeignHost(NotTestable):
    """A request would have gone to a host that is not the configured target's: not sent."""


@dataclass(frozen=True)
class Timeouts:
    """Per-request time limits, in seconds: to connect, per read, and for the whole request
    (connection, TLS handshake, headers and body)."""

    connect: float = 5.0
    read: float = 15.0
    total: float = 30.0


def url_host(url: str) -> str:
    """The lowercased host name of a URL ('' when it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def failure_kind(exc: BaseException) -> str:
    """What kind of transport failure an httpx error is: ``timeout``, ``tls-certificate`` (the
    server's certificate is not trusted), ``tls`` (the TLS handshake failed or the server sent a
    TLS alert), ``reset``, ``connect``, ``protocol`` (not HTTP) or ``transport``."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        return "tls-certificate"
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return "tls"
    if any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain):
        return "reset"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "protocol"
    return "transport"


class _Deadline(threading.local):
    """The deadline of the request the current thread is sending (monotonic seconds)."""

    at: float | None = None

    def left(self, timeout: float | None) -> float | None:
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the request took longer than its total time limit")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the request's total deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._deadline.left(timeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, with the request's total deadline on every operation."""

    def __init__(self, deadline: _Deadline) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, self._deadline.left(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def tls_context(ca_file: Path | None, cert: tuple[Path, Path] | None) -> ssl.SSLContext:
    """A client TLS context trusting ``ca_file`` (or the system store) and presenting ``cert``."""
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


class HttpClient:
    """Sends requests with one TLS identity (a client certificate, or none) and records them."""

    def __init__(
        self,
        identity: str,
        *,
        ca_file: Path | None,
        cert: tuple[Path, Path] | None = None,
        timeouts: Timeouts = Timeouts(),
        allowed_hosts: Iterable[str] | None = None,
    ) -> None:
        self.identity = identity
        self.has_cert = cert is not None
        self.timeouts = timeouts
        self.allowed_hosts = (
            frozenset(h.lower() for h in allowed_hosts) if allowed_hosts is not None else None
        )
        self._deadline = _Deadline()
        transport = httpx.HTTPTransport()
        # httpx takes no network backend, so its pool is built here with ours (same settings
        # as httpx's default pool, with the TLS context of this identity).
        transport._pool = httpcore.ConnectionPool(
            ssl_context=tls_context(ca_file, cert),
            max_connections=10,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(self._deadline),
        )
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect),
            headers={"user-agent": "fapi-harness/0.1", "accept-encoding": "identity"},
        )

    def close(self) -> None:
        self._client.close()

    def send(
        self,
        label: str,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        header_list: list[tuple[str, str]] | None = None,
        content: str | None = None,
        drop_headers: tuple[str, ...] = (),
    ) -> Exchange:
        """Send one request; return the recorded exchange or raise ``TransportFailure``.
        ``header_list`` pairs are sent after ``headers``, repeated names included; ``content``
        is a raw body (instead of ``form``); ``drop_headers`` names default headers (such as
        ``accept``) to leave out."""
        sent: dict[str, str] | list[tuple[str, str]] | None = headers
        if header_list:
            sent = [*(headers or {}).items(), *header_list]
        request = self._client.build_request(method, url, headers=sent, data=form, content=content)
        for name in drop_headers:
            request.headers.pop(name, None)
        tag = current_tag()
        if tag is not None:
            request.headers[TEST_HEADER] = tag
        body = request.read().decode("utf-8", errors="replace")
        exchange = Exchange(
            label=label,
            method=method,
            url=str(request.url),
            request_headers=list(request.headers.items()),
            request_body=body,
            identity=self.identity,
            client_cert=self.has_cert,
        )
        host = url_host(exchange.url)
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            exchange.error = (
                f"not sent: {host or '(no host)'} is not a host of the configured target "
                f"({', '.join(sorted(self.allowed_hosts))}); credentials go nowhere else "
                "(add it to allowed_hosts in the target configuration if it is meant)"
            )
            exchange.error_kind = "foreign-host"
            record(exchange)
            raise ForeignHost(f"{label}: {method} {exchange.url}: {exchange.error}")
        begin = time.monotonic()
        self._deadline.at = begin + self.timeouts.total
        try:
            response = self._client.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes(READ_CHUNK):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        exchange.truncated = True
                        break
                raw = b"".join(chunks)[:MAX_BODY_BYTES]
                exchange.status = response.status_code
                exchange.response_headers = list(response.headers.items())
                exchange.response_body = raw.decode("utf-8", errors="replace")
                stream = response.extensions.get("network_stream")
                ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
                exchange.tls_version = ssl_object.version() if ssl_object is not None else None
            finally:
                response.close()
        except httpx.HTTPError as exc:
            exchange.status = None
            exchange.error_kind = failure_kind(exc)
            exchange.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if exchange.error_kind == "timeout" and time.monotonic() - begin >= (
                self.timeouts.total - 0.05
            ):
                exchange.error += "; the whole request took longer than its limit"
            if exchange.error_kind == "timeout":
                exchange.error += f" (time limits: connect {self.timeouts.connect:g} s, "
                exchange.error += (
                    f"read {self.timeouts.read:g} s, whole request {self.timeouts.total:g} s)"
                )
        except BaseException as exc:  # e.g. the test's time limit: keep what happened, go on
            exchange.status = None
            exchange.error_kind = "interrupted"
            exchange.error = f"interrupted: {type(exc).__name__}: {exc}"
            raise
        finally:
            self._deadline.at = None
            exchange.elapsed_s = time.monotonic() - begin
            record(exchange)
        if exchange.error is not None:
            raise TransportFailure(exchange)
        return exchange
