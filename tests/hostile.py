"""A hostile target for the harness's own tests: a small FAPI 2.0-shaped server on loopback that
misbehaves on demand.

The main server speaks HTTPS (a CA and certificates generated per run with ``cryptography``) and
serves every case under its own issuer, ``https://127.0.0.1:PORT/c/<case>``: discovery, JWKS,
PAR, authorization (an immediate redirect with a code, no login page), token and resource. A
case names the endpoint it breaks and how (``FAULTS``); everything else answers honestly, so the
control case passes. Faults below HTTP (a stalled or reset connection, garbage instead of TLS, a
TLS handshake failure, certificates for the wrong host, untrusted or expired) have listeners of
their own. ``sink`` listens on 127.0.0.2 and counts connections: the harness must never send
anything there (credentials go only to the configured target's hosts).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import secrets
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey

from harness import jose

EVIL = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=1">'


# --- certificates -----------------------------------------------------------------------------


@dataclass
class Pki:
    """A CA and server certificates, written as PEM files under ``folder``."""

    folder: Path
    ca_key: ec.EllipticCurvePrivateKey = field(init=False)
    ca_cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile test CA")])
        now = datetime.datetime.now(datetime.UTC)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_file = self.folder / "ca.pem"
        self.ca_file.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    def leaf(
        self, name: str, *, ips: tuple[str, ...] = (), dns: tuple[str, ...] = (), **kw: Any
    ) -> ssl.SSLContext:
        """A server TLS context with a new certificate; ``self_signed`` or ``expired`` spoil it."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        sans += [x509.DNSName(d) for d in dns]
        expired = kw.get("expired", False)
        signer, issuer = (key, subject) if kw.get("self_signed") else (self.ca_key, None)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=3))
            .not_valid_after(
                now - datetime.timedelta(days=1) if expired else now + (datetime.timedelta(days=1))
            )
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(signer, hashes.SHA256())
        )
        crt, pem = self.folder / f"{name}.crt", self.folder / f"{name}.key"
        crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, pem)
        return ctx


# --- the HTTP target --------------------------------------------------------------------------

# case -> (endpoint it breaks, fault). Endpoints: discovery, jwks, par, authorize, token,
# resource, or "*" for every one.
FAULTS: dict[str, tuple[str, str]] = {}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Target:
    """The shared state of the main server: keys, pushed requests, cases that went down."""

    def __init__(self, stop: threading.Event, sink_url: str) -> None:
        self.key = ECKey.generate_key("P-256", {"kid": "hostile-1"}, private=True)
        self.pushed: dict[str, dict[str, str]] = {}
        self.dead: set[str] = set()
        self.issued: list[str] = []  # every access token handed out: no artifact may show one
        self.stop = stop
        self.sink_url = sink_url
        self.port = 0

    def issuer(self, case: str) -> str:
        return f"https://127.0.0.1:{self.port}/c/{case}"

    def metadata(self, case: str) -> dict[str, Any]:
        iss = self.issuer(case)
        return {
            "issuer": iss,
            "authorization_endpoint": f"{iss}/authorize",
            "token_endpoint": f"{iss}/token",
            "pushed_authorization_request_endpoint": f"{iss}/par",
            "jwks_uri": f"{iss}/jwks",
            "require_pushed_authorization_requests": True,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "dpop_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["openid"],
            "subject_types_supported": ["public"],
        }

    def id_token(self, case: str, client_id: str, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer(case),
            "sub": "alice",
            "aud": client_id,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
        }
        fault = FAULTS.get(case, ("", ""))[1]
        if fault == "jwt_malformed":
            return "eyJhbGciOiJFUzI1NiJ9.not base64!.c2ln"
        if fault == "jwt_unsigned":
            head = _b64(json.dumps({"alg": "none"}).encode())
            return f"{head}.{_b64(json.dumps(claims).encode())}."
        if fault == "jwt_overlong":
            claims["padding"] = "x" * 1_200_000
        return jose.sign({"alg": "ES256", "kid": "hostile-1"}, claims, self.key)


def make_handler(target: Target) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self,
            status: int,
            body: bytes | str | dict[str, Any] | list[Any],
            ctype: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            data = (
                body
                if isinstance(body, bytes)
                else body.encode()
                if isinstance(body, str)
                else json.dumps(body).encode()
            )
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _reset(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()

        def _trickle(self, data: bytes) -> None:
            for i in range(len(data)):
                if target.stop.wait(0.5):
                    return
                try:
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                except OSError:
                    return

        def _fault(self, fault: str) -> bool:
            """Misbehave as ``fault`` says; False when the fault does not apply here."""
            if fault == "stall":
                target.stop.wait(120)
                self.close_connection = True
            elif fault == "trickle_headers":
                self.close_connection = True
                self._trickle(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"a":1}')
            elif fault == "trickle_body":
                self.close_connection = True
                self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
                self.wfile.write(b"content-length: 200\r\n\r\n{")
                self.wfile.flush()
                self._trickle(b'"padding": "' + b"x" * 180 + b'"}')
            elif fault == "endless":
                self.close_connection = True
                self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n[")
                chunk = b'"endless", ' * 6000
                with contextlib.suppress(OSError):
                    while not target.stop.is_set():
                        self.wfile.write(chunk)
            elif fault == "huge":
                self._send(200, b'{"padding": "' + b"x" * (3 << 20) + b'"}')
            elif fault == "html":
                self._send(200, f"<html><body>Welcome {EVIL}</body></html>", "text/html")
            elif fault == "empty":
                self._send(200 if self.command == "GET" else 201, b"")
            elif fault == "array":
                self._send(200 if self.command == "GET" else 201, [1, "two", None])
            elif fault == "status_500":
                self._send(500, f"Internal Server Error {EVIL}", "text/html")
            elif fault == "status_503":
                self._send(503, {"error": "temporarily_unavailable"}, headers={"retry-after": "1"})
            elif fault == "redirect_loop":
                self._send(302, b"", headers={"location": self.path})
            elif fault == "redirect_other_host":
                self._send(307, b"", headers={"location": f"{target.sink_url}{self.path}"})
            elif fault == "reset":
                self._reset()
            elif fault == "close":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
            elif fault == "not_http":
                self.close_connection = True
                self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n" + EVIL.encode() + b"\r\n\r\n")
            elif fault == "slow":
                time.sleep(0.6)
                return False
            else:
                return False
            return True

        def _route(self) -> None:
            parts = urlsplit(self.path)
            segments = parts.path.split("/")
            if len(segments) < 4 or segments[1] != "c":
                self._send(404, {"error": "not_found"})
                return
            case, endpoint = segments[2], "/".join(segments[3:])
            endpoint = {".well-known/openid-configuration": "discovery"}.get(endpoint, endpoint)
            if case in target.dead:
                self._reset()
                return
            length = int(self.headers.get("content-length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            where, fault = FAULTS.get(case, ("", ""))
            if where in (endpoint, "*"):
                if fault == "dies" and endpoint == "par":
                    target.dead.add(case)
                    self._reset()
                    return
                if self._fault(fault):
                    return
            self._honest(case, endpoint, form, parse_qs(parts.query), fault)

        def _honest(
            self,
            case: str,
            endpoint: str,
            form: dict[str, str],
            query: dict[str, list[str]],
            fault: str,
        ) -> None:
            if endpoint == "discovery":
                meta = target.metadata(case)
                if fault == "wrong_types":
                    meta.update(
                        issuer=42,
                        pushed_authorization_request_endpoint=["not", "a", "url"],
                        code_challenge_methods_supported="S256",
                        require_pushed_authorization_requests="yes",
                    )
                elif fault == "other_hosts":
                    other = target.sink_url + f"/c/{case}"
                    meta.update(
                        pushed_authorization_request_endpoint=f"{other}/par",
                        token_endpoint=f"{other}/token",
                    )
                elif fault == "jwks_other_host":
                    meta.update(jwks_uri=f"{target.sink_url}/c/{case}/jwks")
                ctype = "text/plain" if fault == "wrong_content_type" else "application/json"
                self._send(200, meta, ctype)
            elif endpoint == "jwks":
                if fault == "jwks_unparseable":
                    self._send(200, '{"keys": [{"kty": "EC", "crv": "P-256", "x": "!!", "y": ')
                elif fault == "jwks_garbage_key":
                    key = {"kty": "EC", "crv": "P-256", "kid": "hostile-1", "x": "AA", "y": "AA"}
                    self._send(200, {"keys": [key]})
                else:
                    self._send(200, {"keys": [target.key.as_dict(private=False)]})
            elif endpoint == "par" and self.command == "POST":
                if "request_uri" in form:
                    body = {"error": "invalid_request", "error_description": EVIL}
                    self._send(400, body, headers={"x-evil": EVIL})
                    return
                if fault == "par_wrong_types":
                    self._send(201, {"request_uri": 5, "expires_in": "soon"})
                    return
                uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(32)
                target.pushed[uri] = form
                self._send(201, {"request_uri": uri, "expires_in": 60})
            elif endpoint == "par":
                self._send(405, {"error": "invalid_request"})
            elif endpoint == "authorize":
                pushed = target.pushed.get((query.get("request_uri") or [""])[0], {})
                params = {
                    "code": secrets.token_urlsafe(32),
                    "state": pushed.get("state", ""),
                    "iss": target.issuer(case),
                }
                location = f"{pushed.get('redirect_uri', '/')}?{urlencode(params)}"
                target.pushed[params["code"]] = pushed
                self._send(302, b"", headers={"location": location})
            elif endpoint == "token":
                pushed = target.pushed.get(form.get("code", ""), {})
                tokens: dict[str, Any] = {
                    "access_token": secrets.token_urlsafe(32),
                    "token_type": "DPoP",
                    "expires_in": 60,
                    "id_token": target.id_token(
                        case, pushed.get("client_id", ""), pushed.get("nonce", "")
                    ),
                }
                target.issued.append(tokens["access_token"])
                self._send(200, tokens, headers={"cache-control": "no-store"})
            elif endpoint == "resource":
                self._send(200, {"accounts": []})
            else:
                self._send(404, {"error": "not_found"})

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def do_PUT(self) -> None:
            self._route()

    return Handler


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: Any, ctx: ssl.SSLContext) -> None:
        super().__init__(address, handler)
        self.ctx = ctx

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        sock.settimeout(30)
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except OSError:
            request.close()
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class RawListener:
    """A TCP listener whose every connection is handed to ``behave`` (in its own thread)."""

    def __init__(self, host: str, behave: Callable[[socket.socket], None]) -> None:
        self.sock = socket.create_server((host, 0))
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self.behave = behave
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            self.behave(conn)

    def close(self) -> None:
        self.sock.close()


class HostileServer:
    """Every listener of the hostile target, started together and stopped together."""

    def __init__(self, folder: Path) -> None:
        self.stop = threading.Event()
        self.pki = Pki(folder)
        self.sink = RawListener("127.0.0.2", self._swallow)
        self.target = Target(self.stop, f"https://127.0.0.2:{self.sink.port}")
        self.servers: list[_TlsServer] = []
        good = self.pki.leaf("server", ips=("127.0.0.1",), dns=("localhost",))
        self.main = self._serve(good)
        self.target.port = self.main
        self.wrong_host = self._serve(self.pki.leaf("wrong-host", dns=("evil.example",)))
        self.untrusted = self._serve(
            self.pki.leaf("untrusted", ips=("127.0.0.1",), self_signed=True)
        )
        self.expired = self._serve(self.pki.leaf("expired", ips=("127.0.0.1",), expired=True))
        old = self.pki.leaf("old-tls", ips=("127.0.0.1",))
        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_2
        old.set_ciphers("ECDHE-ECDSA-AES128-SHA")  # a cipher the harness's client never offers
        self.no_shared_cipher = self._serve(old)
        mtls = self.pki.leaf("mtls", ips=("127.0.0.1",))
        mtls.verify_mode = ssl.CERT_REQUIRED  # refuses, at the TLS level, a client without one
        mtls.load_verify_locations(self.pki.ca_file)
        self.cert_required = self._serve(mtls)
        self.raw = {
            "raw_stall": RawListener("127.0.0.1", self._stall),
            "raw_garbage": RawListener("127.0.0.1", self._garbage),
            "raw_reset": RawListener("127.0.0.1", self._raw_reset),
        }
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.closed_port = int(s.getsockname()[1])

    def _serve(self, ctx: ssl.SSLContext) -> int:
        server = _TlsServer(("127.0.0.1", 0), make_handler(self.target), ctx)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        ).start()
        self.servers.append(server)
        return int(server.server_address[1])

    def _stall(self, conn: socket.socket) -> None:
        self.stop.wait(120)

    @staticmethod
    def _swallow(conn: socket.socket) -> None:
        conn.recv(1)

    @staticmethod
    def _garbage(conn: socket.socket) -> None:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n\r\n" + EVIL.encode())

    @staticmethod
    def _raw_reset(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def port_of(self, listener: str) -> int:
        """The port of a named listener (``main``, ``wrong_host``, ``raw_stall``, ...)."""
        if listener in self.raw:
            return self.raw[listener].port
        if listener == "closed":
            return self.closed_port
        return int(getattr(self, listener))

    def close(self) -> None:
        self.stop.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for raw in [*self.raw.values(), self.sink]:
            raw.close()
