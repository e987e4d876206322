"""A client identity as the harness plays it: its HTTP connection, assertion key and DPoP state."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from harness import jose
from harness.config import MTLS_AUTH, ClientConfig, TargetConfig
from harness.evidence import Exchange
from harness.net import HttpClient, Timeouts

_NONCE_CHALLENGE = re.compile(r'error="use_dpop_nonce"')


@dataclass
class DpopSession:
    """One DPoP key and the latest server nonce, for one flow."""

    key: jose.Key = field(default_factory=jose.new_dpop_key)
    nonce: str | None = None

    @property
    def jkt(self) -> str:
        """The key's thumbprint, as sent in ``dpop_jkt``."""
        return jose.jwk_thumbprint(self.key)

    def proof(self, htm: str, htu: str, access_token: str | None = None, **overrides: Any) -> str:
        """A fresh proof for one request, carrying the latest nonce."""
        return jose.dpop_proof(
            self.key, htm, htu, nonce=self.nonce, access_token=access_token, **overrides
        )

    def observe(self, exchange: Exchange) -> None:
        """Remember a nonce the server handed out (RFC 9449 section 8)."""
        nonce = exchange.header("dpop-nonce")
        if nonce:
            self.nonce = nonce


def is_nonce_challenge(exchange: Exchange) -> bool:
    """The server asks for a DPoP nonce: 400 use_dpop_nonce (AS) or a 401 challenge (RS)."""
    if exchange.header("dpop-nonce") is None:
        return False
    body = exchange.json()
    if exchange.status == 400 and isinstance(body, dict) and body.get("error") == "use_dpop_nonce":
        return True
    return exchange.status == 401 and any(
        _NONCE_CHALLENGE.search(v) for v in exchange.headers_named("www-authenticate")
    )


@dataclass
class Client:
    """A registered client: its settings, its connection (with its certificate, if any) and key."""

    config: ClientConfig
    http: HttpClient
    issuer: str
    assertion_key: jose.Key | None = None

    @classmethod
    def from_config(cls, config: TargetConfig, client_id: str, timeouts: Timeouts) -> Client:
        """The client ``client_id`` of a target configuration, with its own connection."""
        cfg = config.client(client_id)
        cert = (cfg.cert_file, cfg.key_file) if cfg.cert_file and cfg.key_file else None
        http = HttpClient(
            f"client {client_id}" + (" (mTLS certificate)" if cert else ""),
            ca_file=config.ca_file,
            cert=cert,
            timeouts=timeouts,
            allowed_hosts=config.hosts,
        )
        key = jose.load_private_key(cfg.jwks_file) if cfg.jwks_file else None
        return cls(cfg, http, config.issuer, key)

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def uses_dpop(self) -> bool:
        return self.config.sender_constraint == "dpop"

    def auth_params(self, assertion: str | None = None) -> dict[str, str]:
        """Client authentication form parameters, with a fresh assertion on every call, or
        ``assertion`` (a hand-made one, for negative tests) in its place."""
        return self.authentication(assertion)[1]

    def authentication(self, assertion: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
        """The headers and form parameters that authenticate the client by its ``auth_method``:
        a fresh assertion on every call (private_key_jwt, client_secret_jwt), or ``assertion``
        (a hand-made one, for negative tests) in its place; the secret in the Authorization
        header (client_secret_basic, RFC 6749 2.3.1) or the form (client_secret_post); only the
        client_id for mTLS methods (the certificate authenticates) and for ``none``."""
        method = self.config.auth_method
        secret = self.config.client_secret or ""
        if assertion is None and method in MTLS_AUTH | {"none"}:
            return {}, {"client_id": self.client_id}
        if assertion is None and method == "client_secret_basic":
            pair = f"{quote_plus(self.client_id)}:{quote_plus(secret)}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}, {}
        if assertion is None and method == "client_secret_post":
            return {}, {"client_id": self.client_id, "client_secret": secret}
        if assertion is None and method == "client_secret_jwt":
            assertion = jose.client_secret_assertion(self.client_id, self.issuer, secret)
        if assertion is None:
            assert self.assertion_key is not None
            assertion = jose.client_assertion(self.client_id, self.issuer, self.assertion_key)
        return {}, {
            "client_id": self.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }

    def send(
        self,
        label: str,
        method: str,
        url: str,
        build: Callable[[], tuple[Mapping[str, str], Mapping[str, str] | None]],
        dpop: DpopSession | None = None,
        *,
        content: str | None = None,
        drop_headers: tuple[str, ...] = (),
    ) -> Exchange:
        """Send a request built by ``build()`` (headers, form); on a DPoP nonce challenge, build it
        again (a fresh assertion and proof) and send it once more. ``content`` and
        ``drop_headers``: see ``HttpClient.send``."""
        headers, form = build()
        exchange = self.http.send(
            label,
            method,
            url,
            headers=dict(headers),
            form=_form(form),
            content=content,
            drop_headers=drop_headers,
        )
        if dpop is not None and is_nonce_challenge(exchange):
            dpop.observe(exchange)
            headers, form = build()
            exchange = self.http.send(
                f"{label} (again, with the DPoP nonce)",
                method,
                url,
                headers=dict(headers),
                form=_form(form),
                content=content,
                drop_headers=drop_headers,
            )
        if dpop is not None:
            dpop.observe(exchange)
        return exchange


def _form(form: Mapping[str, str] | None) -> dict[str, str] | None:
    return dict(form) if form is not None else None
