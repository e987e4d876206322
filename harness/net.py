"""HTTP to the target: one httpx client per TLS identity, every exchange recorded.

Redirects are never followed (a redirect is an answer to check, and credentials must not travel
to another host), bodies are read up to a cap, and every transport failure or timeout is raised
as ``TransportFailure`` so that it can only ever end a test in ERROR.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.evidence import TEST_HEADER, Exchange, current_tag, record

MAX_BODY_BYTES = 1 << 20


class TransportFailure(RuntimeError):
    """The request got no HTTP answer (connection, TLS or timeout failure): could not test."""

    def __init__(self, exchange: Exchange) -> None:
        super().__init__(f"{exchange.label}: {exchange.method} {exchange.url}: {exchange.error}")
        self.exchange = exchange


@dataclass(frozen=True)
class Timeouts:
    """Per-request time limits, in seconds."""

    connect: float = 5.0
    read: float = 15.0


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
    ) -> None:
        self.identity = identity
        self.has_cert = cert is not None
        self.timeouts = timeouts
        self._client = httpx.Client(
            verify=tls_context(ca_file, cert),
            follow_redirects=False,
            timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect),
            headers={"user-agent": "fapi-harness/0.1"},
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
        begin = time.monotonic()
        deadline = begin + self.timeouts.connect + self.timeouts.read
        try:
            response = self._client.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        exchange.truncated = True
                        break
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("response body took longer than the time limit")
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
            exchange.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            exchange.elapsed_s = time.monotonic() - begin
            record(exchange)
        if exchange.error is not None:
            raise TransportFailure(exchange)
        return exchange
