"""Evidence: every exchange, screenshot and server event of a test, and how secrets are hidden.

Evidence is kept raw in memory (checks need the real values) and redacted when it is written
out: private key members never appear, JWTs keep their header and claims but lose most of their
signature, and opaque secrets (codes, verifiers, refresh tokens) keep only a short prefix and a
hash, so two occurrences of one value can still be matched by eye.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
PEM_PRIVATE_RE = re.compile(
    r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL
)
JWK_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
OPAQUE_SECRETS = frozenset(
    {"code", "code_verifier", "refresh_token", "client_secret", "password", "access_token"}
)
SECRET_HEADERS = frozenset({"cookie", "set-cookie"})
READABLE = ":/[]"  # kept unescaped in redacted form bodies and queries, for the reader
FORM_RE = re.compile(r"[\w.~%+-]+=[^&\s]*(?:&[\w.~%+-]+=[^&\s]*)*")


@dataclass(frozen=True)
class Redactor:
    """Hides secrets in evidence; ``tokens=True`` also hides tokens and assertions entirely."""

    tokens: bool = False
    enabled: bool = True

    def opaque(self, value: str) -> str:
        """A short prefix and a hash of a secret value."""
        digest = hashlib.sha256(value.encode()).hexdigest()[:8]
        prefix = value[:4] if len(value) > 12 else ""  # a short secret shows nothing of itself
        return f"{prefix}…[redacted-sha256-{digest}]"

    def jwt(self, token: str) -> str:
        """A JWT with its signature cut short (or fully hidden with ``tokens``)."""
        if self.tokens:
            return self.opaque(token)
        head, _, sig = token.rpartition(".")
        return f"{head}.{sig[:6]}…" if sig else token

    def text(self, value: str) -> str:
        """Redact JWTs and PEM private keys found anywhere in a string."""
        if not self.enabled:
            return value
        value = PEM_PRIVATE_RE.sub("[redacted private key]", value)
        return JWT_RE.sub(lambda m: self.jwt(m.group(0)), value)

    def field(self, name: str, value: str) -> str:
        """Redact one named value (form field, JSON member or query parameter)."""
        if not self.enabled:
            return value
        if JWT_RE.fullmatch(value):
            return self.jwt(value)
        if name in OPAQUE_SECRETS:
            return self.opaque(value)
        return self.text(value)

    def data(self, value: Any, name: str = "") -> Any:
        """Redact a decoded JSON value, recursively."""
        if not self.enabled:
            return value
        if isinstance(value, dict):
            is_jwk = "kty" in value
            return {
                k: "[redacted]" if is_jwk and k in JWK_PRIVATE_MEMBERS else self.data(v, k)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.data(v, name) for v in value]
        if isinstance(value, str):
            return self.field(name, value)
        return value

    def header(self, name: str, value: str) -> str:
        """Redact an HTTP header value."""
        if not self.enabled:
            return value
        lower = name.lower()
        if lower in SECRET_HEADERS:
            return "[redacted]"
        if lower == "authorization":
            scheme, sep, token = value.strip().partition(" ")
            if not sep:  # a bare credential with no scheme
                return self.field("access_token", scheme)
            return f"{scheme} {self.field('access_token', token.strip())}"
        if lower in ("location", "content-location", "refresh"):
            return self.url(self.text(value))
        return self.text(value)

    def scrub(self, text: str, secrets: set[str]) -> str:
        """Replace every known secret value in free text (e.g. a check's 'actual' value quoting a
        response body) by its redacted form, after the usual JWT and key redaction."""
        if not self.enabled:
            return text
        text = self.text(text)
        for secret in sorted(secrets, key=len, reverse=True):
            if len(secret) >= 6 and secret in text:
                text = text.replace(secret, self.opaque(secret))
        return text

    def params(self, encoded: str) -> str:
        """Redact the secrets of a form or query string, keeping it readable."""
        pairs = [(k, self.field(k, v)) for k, v in parse_qsl(encoded, keep_blank_values=True)]
        return urlencode(pairs, safe=READABLE).replace("%E2%80%A6", "…")

    def url(self, url: str) -> str:
        """Redact secrets in a URL's query string and fragment."""
        if not self.enabled:
            return url
        parts = urlsplit(url)
        query = self.params(parts.query) if parts.query else parts.query
        fragment = self.params(parts.fragment) if "=" in parts.fragment else parts.fragment
        return urlunsplit(parts._replace(query=query, fragment=fragment))

    def body(self, body: str, content_type: str) -> str:
        """Redact a request or response body. JSON and form bodies are recognised by their
        content whatever media type they claim: a server that mislabels a token response must
        not get its tokens printed."""
        if not self.enabled or not body:
            return body
        stripped = body.strip()
        if stripped[:1] in ("{", "["):
            try:
                return json.dumps(self.data(json.loads(stripped)), indent=2)
            except ValueError:
                pass
        if "x-www-form-urlencoded" in content_type or FORM_RE.fullmatch(stripped):
            return self.params(stripped)
        # Not JSON (cut at the size cap, say), but it may still hold secret members.
        return _SECRET_MEMBER.sub(
            lambda m: f'"{m.group(1)}": "{self.opaque(m.group(2))}"', self.text(body)
        )


_SECRET_PARAM = re.compile(
    r"(?:^|[?&#\s])(code|code_verifier|access_token|refresh_token|client_secret|password)"
    r"=([^&#\s]+)"
)


# A secret JSON member in a body that does not parse (cut at the size cap, or malformed).
_SECRET_MEMBER = re.compile(
    r'"(code|code_verifier|access_token|refresh_token|client_secret|password)"\s*:\s*"([^"\\]+)"'
)


def secrets_in_text(text: str) -> set[str]:
    """Secret values carried as ``name=value`` parameters anywhere in a text (URLs, forms), or
    as ``"name": "value"`` members of JSON that may not parse."""
    return (
        {unquote_plus(m.group(2)) for m in _SECRET_PARAM.finditer(text)}
        | {m.group(2) for m in _SECRET_PARAM.finditer(text)}
        | {m.group(2) for m in _SECRET_MEMBER.finditer(text)}
    )


def _sh(value: str) -> str:
    """Quote a value for a POSIX shell."""
    return "'" + value.replace("'", "'\\''") + "'"


def decode_jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Header and claims of a compact JWS, without verifying it (None if it is not one)."""
    try:
        head, payload, _ = token.split(".")
        decoded = [
            json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in (head, payload)
        ]
    except (ValueError, UnicodeDecodeError):
        return None
    if not all(isinstance(part, dict) for part in decoded):
        return None
    return decoded[0], decoded[1]


@dataclass
class Exchange:
    """One HTTP request and what came back (or the transport error that happened instead)."""

    label: str
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str
    identity: str
    started: float = field(default_factory=time.time)
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str = ""
    elapsed_s: float = 0.0
    error: str | None = None
    # what kind of transport failure ``error`` is (harness.net.failure_kind), e.g. "timeout"
    error_kind: str | None = None
    truncated: bool = False
    tls_version: str | None = None
    client_cert: bool = False

    def header(self, name: str) -> str | None:
        """The first response header called ``name`` (case-insensitive)."""
        lower = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == lower), None)

    def headers_named(self, name: str) -> list[str]:
        """Every response header called ``name`` (case-insensitive)."""
        lower = name.lower()
        return [v for k, v in self.response_headers if k.lower() == lower]

    def request_header(self, name: str) -> str | None:
        """The first request header called ``name`` (case-insensitive)."""
        lower = name.lower()
        return next((v for k, v in self.request_headers if k.lower() == lower), None)

    def json(self) -> Any:
        """The response body as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        """The request body as form fields."""
        return dict(parse_qsl(self.request_body))

    def secrets(self) -> set[str]:
        """The opaque secret values this exchange carries (codes, verifiers, tokens), so they can
        be hidden wherever else they are quoted."""
        found = secrets_in_text(self.url) | secrets_in_text(self.request_body)
        found |= secrets_in_text(self.header("location") or "")
        found |= {m.group(2) for m in _SECRET_MEMBER.finditer(self.response_body)}
        auth = self.request_header("authorization")
        if auth:
            found.add(auth.strip().rpartition(" ")[2])
        body = self.json()
        if isinstance(body, dict):
            found |= {str(v) for k, v in body.items() if k in OPAQUE_SECRETS and isinstance(v, str)}
        return found

    def jwts(self) -> list[tuple[str, str]]:
        """Every JWT in the request and the response, as (where, token) pairs."""
        found: list[tuple[str, str]] = []
        for k, v in self.request_headers:
            found += [(f"request header {k}", m.group(0)) for m in JWT_RE.finditer(v)]
        found += [
            (f"request {k}", v) for k, v in parse_qsl(self.request_body) if JWT_RE.fullmatch(v)
        ]
        body = self.json()
        if isinstance(body, dict):
            found += [
                (f"response {k}", v)
                for k, v in body.items()
                if isinstance(v, str) and JWT_RE.fullmatch(v)
            ]
        return found

    def curl(self, redactor: Redactor) -> str:
        """A curl command that sends this request again. Values that must be fresh on every
        request (client assertions, DPoP proofs) and the client certificate are placeholders."""
        lines = [f"curl -sS -i -X {self.method} {_sh(redactor.url(self.url))}"]
        notes = []
        if self.client_cert:
            lines.append("  --cert CLIENT_CERT.pem --key CLIENT_KEY.pem")
            notes.append("CLIENT_CERT.pem, CLIENT_KEY.pem: the client's mTLS certificate and key")
        lines.append("  --cacert SERVER_CA.pem")
        for name, value in self.request_headers:
            lower = name.lower()
            if lower in ("host", "content-length", "accept-encoding", "connection"):
                continue
            if lower == "dpop":
                value = "FRESH_DPOP_PROOF"
                notes.append(
                    "FRESH_DPOP_PROOF: mint a new DPoP proof for this method and URL "
                    "(fresh jti and iat, the server's latest nonce)"
                )
            lines.append(f"  -H {_sh(f'{name}: {redactor.header(name, value)}')}")
        if self.request_body:
            form = dict(parse_qsl(self.request_body, keep_blank_values=True))
            if form and "client_assertion" in form:
                form["client_assertion"] = "FRESH_CLIENT_ASSERTION"
                notes.append(
                    "FRESH_CLIENT_ASSERTION: mint a new client assertion (fresh jti, aud = issuer)"
                )
            body = (
                redactor.params(urlencode(form))
                if form
                else redactor.body(self.request_body, self.request_header("content-type") or "")
            )
            lines.append(f"  --data-raw {_sh(body)}")
        command = " \\\n".join(lines)
        return "\n".join([*(f"# {n}" for n in notes), command])

    def to_dict(self, redactor: Redactor) -> dict[str, Any]:
        """The exchange as JSON-ready evidence, redacted."""
        req_type = self.request_header("content-type") or ""
        resp_type = self.header("content-type") or ""
        decoded = []
        for where, token in self.jwts():
            parts = decode_jwt_parts(token)
            if parts is not None:
                decoded.append(
                    {
                        "where": where,
                        "header": redactor.data(parts[0]),
                        "claims": redactor.data(parts[1]),
                    }
                )
        return {
            "kind": "exchange",
            "label": self.label,
            "identity": self.identity,
            "started": self.started,
            "elapsed_s": round(self.elapsed_s, 4),
            "request": {
                "method": self.method,
                "url": redactor.url(self.url),
                "headers": [[k, redactor.header(k, v)] for k, v in self.request_headers],
                "body": redactor.body(self.request_body, req_type),
            },
            "response": None
            if self.status is None
            else {
                "status": self.status,
                "headers": [[k, redactor.header(k, v)] for k, v in self.response_headers],
                "body": redactor.body(self.response_body, resp_type),
                "truncated": self.truncated,
                "tls_version": self.tls_version,
            },
            "error": redactor.text(self.error) if self.error else None,
            "jwts": decoded,
            "curl": self.curl(redactor),
        }


@dataclass
class Screenshot:
    """A browser step: the page's URL and a PNG of what the user saw."""

    label: str
    url: str
    png: bytes
    started: float = field(default_factory=time.time)

    def to_dict(self, redactor: Redactor) -> dict[str, Any]:
        return {
            "kind": "screenshot",
            "label": self.label,
            "url": redactor.url(self.url),
            "started": self.started,
        }


@dataclass
class Note:
    """A fact the harness observed that is not an HTTP exchange (e.g. a captured callback URL)."""

    label: str
    text: str
    started: float = field(default_factory=time.time)
    elapsed_s: float | None = None  # for a span of time (the browser's part of a flow, a wait)

    def secrets(self) -> set[str]:
        """Secret parameters quoted in the note (e.g. the code in a callback URL)."""
        return secrets_in_text(self.text)

    def to_dict(self, redactor: Redactor) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "note",
            "label": self.label,
            "text": redactor.scrub(self.text, self.secrets()),
            "started": self.started,
        }
        if self.elapsed_s is not None:
            out["elapsed_s"] = round(self.elapsed_s, 4)
        return out


@dataclass
class ServerEvent:
    """An error event the target logged itself, often with the reason its response hides."""

    data: dict[str, Any]

    @property
    def started(self) -> float:
        return float(self.data.get("ts", 0.0))

    def to_dict(self, redactor: Redactor) -> dict[str, Any]:
        return {"kind": "server_event", "started": self.started, "event": redactor.data(self.data)}


@dataclass
class TlsProbe:
    """One TLS handshake the harness attempted with pinned settings (TLS probes, issue 5):
    what it offered and how it ended. ``outcome`` is ``connected``, ``refused`` (the server
    ended the handshake or chose something we did not offer) or ``unavailable`` (this machine's
    TLS library could not offer it, so nothing was learnt about the server)."""

    label: str
    host: str
    port: int
    version: str
    ciphers: str | None
    outcome: str
    negotiated_version: str | None = None
    negotiated_cipher: str | None = None
    verified: bool = False
    error: str | None = None
    started: float = field(default_factory=time.time)

    @property
    def summary(self) -> str:
        offered = f"{self.version}" + (f" with {self.ciphers}" if self.ciphers else "")
        got = (
            f"connected: {self.negotiated_version} {self.negotiated_cipher}"
            + (" (certificate verified)" if self.verified else "")
            if self.outcome == "connected"
            else f"{self.outcome}: {self.error}"
        )
        return f"{self.host}:{self.port} offered {offered}; {got}"

    def to_dict(self, redactor: Redactor) -> dict[str, Any]:
        return {
            "kind": "tls_probe",
            "label": self.label,
            "text": self.summary,
            "started": self.started,
            "probe": {
                "host": self.host,
                "port": self.port,
                "version": self.version,
                "ciphers": self.ciphers,
                "outcome": self.outcome,
                "negotiated_version": self.negotiated_version,
                "negotiated_cipher": self.negotiated_cipher,
                "verified": self.verified,
                "error": self.error,
            },
        }


Evidence = Exchange | Screenshot | Note | ServerEvent | TlsProbe


# Every request a test sends carries this header, so that the events a target logs (the
# reference target's error events) can be told apart when tests run in parallel.
TEST_HEADER = "x-fapi-harness-test"


@dataclass
class Recorder:
    """Collects the evidence of one test, in order. ``tag`` names the test in the traffic it
    sends (the ``x-fapi-harness-test`` header)."""

    items: list[Evidence] = field(default_factory=list)
    tag: str | None = None

    def add(self, item: Evidence) -> None:
        self.items.append(item)

    @property
    def exchanges(self) -> list[Exchange]:
        return [i for i in self.items if isinstance(i, Exchange)]


_current: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar("recorder", default=None)


def current_recorder() -> Recorder | None:
    """The recorder of the test that is running, if any."""
    return _current.get()


def current_tag() -> str | None:
    """The running test's traffic tag, if any (see ``TEST_HEADER``)."""
    recorder = _current.get()
    return recorder.tag if recorder is not None else None


def set_recorder(recorder: Recorder | None) -> contextvars.Token[Recorder | None]:
    """Make ``recorder`` receive the evidence produced from now on."""
    return _current.set(recorder)


@contextlib.contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Send the evidence produced in the block to ``recorder``, then restore the previous one."""
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


def record(item: Evidence) -> None:
    """Add evidence to the running test's recorder (no-op outside a test)."""
    recorder = _current.get()
    if recorder is not None:
        recorder.add(item)


def _print_to_stderr(message: str) -> None:
    print(f"\nfapi-harness: {message}", file=sys.stderr, flush=True)


_announcer: list[Callable[[str], None]] = [_print_to_stderr]


def set_announcer(announcer: Callable[[str], None]) -> None:
    """Where ``announce`` writes (the pytest plugin writes past pytest's output capture)."""
    _announcer[0] = announcer


def announce(message: str) -> None:
    """Tell the person watching the run something now (a long wait and what it is for)."""
    _announcer[0](message)
