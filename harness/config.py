"""Target configuration: what server to test, with which clients, and how to log in.

A target is described by a TOML (or JSON) file. Relative paths in it are resolved against the
file's own folder, and ``${NAME}`` is replaced by the environment variable ``NAME`` before the
file is validated. Every validation error names the field, for example
``clients[1].jwks_file: file not found: keys/c2.json``.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ClientAuth = Literal["private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"]
SenderConstraint = Literal["dpop", "mtls"]
MTLS_AUTH: frozenset[str] = frozenset({"tls_client_auth", "self_signed_tls_client_auth"})
# Per-client FAPI enforcement (provider_policy/downgrade): methods and "no sender constraint"
# that only the target's non-FAPI control clients (policy.control_clients) may use.
ControlClientAuth = Literal[
    "client_secret_basic", "client_secret_post", "client_secret_jwt", "none"
]
SECRET_AUTH: frozenset[str] = frozenset(
    {"client_secret_basic", "client_secret_post", "client_secret_jwt"}
)
FAPI_AUTH: frozenset[str] = frozenset(get_args(ClientAuth))


class ConfigError(ValueError):
    """The target configuration is unusable; the message names the offending field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# RFC 9110 8.3.1: type "/" subtype *( OWS ";" OWS parameter )
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=(?:{_TOKEN}|\"[^\"]*\"))*")


def _https_url(value: str) -> str:
    if not re.match(r"^https://[^/\s]+", value):
        raise ValueError(f"must be an https:// URL, got {value!r}")
    return value


class ClientConfig(_Model):
    """One registered client of the target, with the credentials the harness uses for it."""

    client_id: str = Field(min_length=1)
    auth_method: ClientAuth | ControlClientAuth = Field(
        description="Client authentication: private_key_jwt, tls_client_auth or "
        "self_signed_tls_client_auth; client_secret_basic, client_secret_post, "
        "client_secret_jwt and none only for control clients (policy.control_clients)."
    )
    sender_constraint: SenderConstraint | Literal["bearer"] = Field(
        description="How the client's access tokens are bound: dpop or mtls; bearer (unbound) "
        "only for control clients (policy.control_clients)."
    )
    redirect_uri: str = Field(
        description="The registered redirect URI the harness uses: https, or http only for "
        "control clients (policy.control_clients)."
    )
    scope: str = "openid"
    jwks: dict[str, Any] | None = Field(
        default=None,
        description="The private JWKS inline (instead of jwks_file), e.g. from ${CLIENT_JWKS}.",
    )
    cert: str | None = Field(default=None, description="The PEM certificate inline (or cert_file).")
    key: str | None = Field(default=None, description="The PEM private key inline (or key_file).")
    jwks_file: Path | None = Field(
        default=None, description="Private JWKS (JSON) whose first key signs client assertions."
    )
    cert_file: Path | None = Field(default=None, description="PEM client certificate for mTLS.")
    key_file: Path | None = Field(default=None, description="PEM private key of cert_file.")
    client_secret: str | None = Field(
        default=None,
        description="The client's secret, for client_secret_basic, client_secret_post and "
        "client_secret_jwt (control clients only); use ${NAME} to read it from the environment.",
    )

    @field_validator("redirect_uri")
    @classmethod
    def _redirect_web(cls, value: str) -> str:
        if re.match(r"^http://[^/\s]+", value):
            return value  # a control client's; FAPI clients are held to https by TargetConfig
        return _https_url(value)

    @model_validator(mode="after")
    def _credentials_present(self) -> ClientConfig:
        if self.auth_method == "private_key_jwt" and self.jwks_file is None:
            raise ValueError("jwks_file is required when auth_method is private_key_jwt")
        if self.auth_method in SECRET_AUTH and not self.client_secret:
            raise ValueError(f"client_secret is required when auth_method is {self.auth_method}")
        needs_cert = self.auth_method in MTLS_AUTH or self.sender_constraint == "mtls"
        if needs_cert and (self.cert_file is None or self.key_file is None):
            raise ValueError(
                "cert_file and key_file are required for mTLS client authentication "
                "or mTLS sender-constrained tokens"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self

    @property
    def uses_mtls(self) -> bool:
        """True when every connection of this client presents its certificate."""
        return self.cert_file is not None


class VariantConfig(_Model):
    """A combination of client authentication and sender constraint, with its two clients."""

    name: str = Field(min_length=1)
    client: str = Field(description="client_id of the main client")
    client2: str = Field(description="client_id of the second client (cross-client tests)")
    why: str | None = Field(
        default=None,
        description="Why this variant: written by variant detection (fapi-harness import-oidf) "
        "and shown in the report.",
    )


class ResourceConfig(_Model):
    """The protected resource called with the issued access token."""

    url: str
    method: Literal["GET", "POST"] = "GET"
    body: str | None = Field(
        default=None, description="Request body sent with a POST (e.g. a JSON document)."
    )
    media_type: str | None = Field(
        default=None,
        description="Content-Type of body (default application/json when a body is given).",
    )

    @field_validator("url")
    @classmethod
    def _url_https(cls, value: str) -> str:
        return _https_url(value)

    @field_validator("media_type")
    @classmethod
    def _media_type(cls, value: str | None) -> str | None:
        if value is not None and not _MEDIA_TYPE.fullmatch(value):
            raise ValueError(f"not a media type (type/subtype[; parameters]): {value!r}")
        return value

    @model_validator(mode="after")
    def _body_with_post(self) -> ResourceConfig:
        if self.body is not None and self.method != "POST":
            raise ValueError("a body needs method = 'POST'")
        if self.media_type is not None and self.body is None:
            raise ValueError("media_type needs a body")
        return self

    @property
    def content_type(self) -> str | None:
        """The Content-Type to send with the body (None when there is no body)."""
        if self.body is None:
            return None
        return self.media_type or "application/json"


class LoginAction(_Model):
    """One action on a login page: fill a field or click an element."""

    fill: str | None = None
    click: str | None = None
    value: str | None = None
    totp: str | None = Field(
        default=None,
        description="Second factor: fill the field with the current TOTP code (RFC 6238: "
        "HMAC-SHA-1, 30 s, 6 digits) of this base32 secret, e.g. '${TOTP_SECRET}'. The secret "
        "never appears in evidence.",
        repr=False,
    )
    frame: str | None = Field(
        default=None, description="Selector of an iframe holding the element."
    )

    @field_validator("totp")
    @classmethod
    def _totp_base32(cls, value: str | None) -> str | None:
        if value is not None and not totp_secret_valid(value):
            # The secret itself is never echoed.
            raise ValueError("not a base32 TOTP secret (A-Z and 2-7, optional = padding)")
        return value

    @model_validator(mode="after")
    def _one_action(self) -> LoginAction:
        if (self.fill is None) == (self.click is None):
            raise ValueError("give exactly one of fill or click")
        if self.fill is not None and (self.value is None) == (self.totp is None):
            raise ValueError("fill needs exactly one of value or totp")
        if self.click is not None and (self.value is not None or self.totp is not None):
            raise ValueError("click takes no value or totp")
        return self


LoginPageKind = Literal["login", "second_factor", "consent"]


class LoginPage(_Model):
    """A page of the target's login or consent journey, recognised by URL and a selector."""

    name: str
    url: str = Field(description="Glob the page URL must match, e.g. '**/interaction/*'.")
    when: str | None = Field(default=None, description="Selector that must be on the page.")
    actions: tuple[LoginAction, ...]
    deny: tuple[LoginAction, ...] = Field(
        default=(), description="Actions that refuse or cancel on this page (user-rejects tests)."
    )
    hook: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="A Python function 'module:function' called with the Playwright page after "
        "the actions, for logins that steps cannot express (the module must be importable).",
    )
    visit: int | None = Field(
        default=None,
        ge=1,
        description="Take these steps only on the Nth visit (1 = first) to a page matching url "
        "within one authorization; default: every visit. Lets steps share a URL, e.g. login on "
        "the first visit to /interaction/* and consent on the second.",
    )
    kind: LoginPageKind | None = Field(
        default=None,
        description="What the page is: 'login', 'second_factor' (the MFA step) or 'consent'. "
        "The MFA tests act on the 'second_factor' page; the consent tests look for the "
        "'consent' page (without one, whether consent was shown is left to review).",
    )


class BrowserConfig(_Model):
    """How the harness drives a browser through login and consent."""

    executable: Path | None = Field(
        default=None,
        description=(
            "Browser binary; default: Playwright's own, then /usr/bin/chromium-headless-shell "
            "(headless runs), then /usr/bin/chromium."
        ),
    )
    headless: bool = True
    loopback_only: bool = Field(
        default=False, description="Refuse every request that does not go to 127.0.0.1/localhost."
    )
    login: tuple[LoginPage, ...] = Field(min_length=1)
    reuse_session: bool = Field(
        default=True,
        description="Set-up flows (a code or tokens needed by a test about something else) share "
        "one browser context per worker, so the server's login session and consent carry over "
        "and most set-ups skip the pages. Tests about the login itself (its pages, consent, the "
        "authentication event) always use a fresh context. Turn off if the target misbehaves "
        "with a remembered session.",
    )


class TimeoutConfig(_Model):
    """Time limits, in seconds."""

    connect: float = Field(default=5.0, gt=0, description="To open a connection.")
    read: float = Field(default=15.0, gt=0, description="Per read of a response.")
    request: float = Field(
        default=30.0,
        gt=0,
        description="Per HTTP request as a whole: connection, TLS, headers and body.",
    )
    browser_step: float = Field(default=15.0, gt=0)
    test: float = Field(
        default=300.0,
        gt=0,
        description="Per test; a test still running then ends in ERROR.",
    )
    code_expiry_wait: float = Field(
        default=62.0,
        gt=0,
        description="How long the expired-code test waits before redeeming (codes live 60 s).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TimeoutConfig:
        if self.request < self.connect:
            raise ValueError("request (the whole request) must be at least connect")
        if self.test <= self.code_expiry_wait:
            raise ValueError("test must be longer than code_expiry_wait")
        return self


class GuardConfig(_Model):
    """Run guards: the sanity probe and the circuit breaker (harness/guard.py)."""

    probe: bool = Field(
        default=True,
        description="Fetch the discovery document before the first test and after the last: "
        "a target that does not answer before is 'down', and no test is attempted.",
    )
    max_consecutive_errors: int = Field(
        default=5,
        ge=0,
        description="Circuit breaker: after this many ERRORs in a row the remaining tests are "
        "not attempted (0: never).",
    )


class PolicyConfig(_Model):
    """The provider's own policies (plan ``provider_policy``): the bounds and settings its tests
    use. Each area keeps its fields in its own block below; the report shows the bound used."""

    # --- per-client FAPI enforcement (provider_policy/downgrade) ---
    control_clients: tuple[str, ...] = Field(
        default=(),
        description="client_ids (from clients) of the target's non-FAPI control clients: the "
        "downgrade tests send each probe with one that can express it, expecting success, to "
        "prove the probe well-formed (default: none, and the report says no control was "
        "available). Only these clients may use client_secret_*/none authentication, bearer "
        "tokens or an http redirect URI; they cannot be a variant's client.",
    )

    # --- multi-factor authentication (provider_policy/mfa) ---
    mfa_acr: str | None = Field(
        default=None,
        min_length=1,
        description="The acr value that asks the provider for multi-factor authentication "
        "(e.g. 'urn:example:mfa'); the MFA tests request it through acr_values and the claims "
        "parameter. Without it the MFA tests are skipped.",
    )

    # --- granular access, short-lived tokens, revocation (provider_policy/access) ---
    rar_sample: dict[str, Any] | None = Field(
        default=None,
        description="One authorization_details object (RFC 9396 2) the target accepts, with its "
        "type, e.g. {type = 'payment_initiation', ...}: the Rich Authorization Requests tests "
        "request it (its type must be in authorization_details_types_supported). Without it "
        "those tests are SKIPPED.",
    )
    rar_malformed_samples: tuple[dict[str, Any], ...] = Field(
        default=(),
        description="authorization_details objects of rar_sample's type that its type "
        "definition refuses (a required member missing, an unknown member, ...): each must be "
        "refused with invalid_authorization_details. The generic malformed probes (RFC 9396 "
        "2, 2.2) run without them.",
    )
    max_access_token_lifetime: int = Field(
        default=3600,
        gt=0,
        description="Longest access token expires_in the provider allows, in seconds. Default "
        "3600: RFC 6750 5.2 recommends access tokens of an hour or less.",
    )
    max_request_uri_lifetime: int | None = Field(
        default=None,
        gt=0,
        description="The provider's own longest PAR expires_in, in seconds, if it is tighter "
        "than FAPI 2.0's (below 600 s, which suites/fapi2_sp/par tests). Without it the policy "
        "test is SKIPPED.",
    )
    short_lived_scope: str | None = Field(
        default=None,
        description="A scope for sensitive operations whose access tokens are short-lived "
        "(e.g. payments); the client must be allowed to request it. Without it the short-lived "
        "token tests are SKIPPED.",
    )
    short_lived_max_lifetime: int = Field(
        default=300,
        gt=0,
        description="Longest expires_in, in seconds, of an access token granted "
        "short_lived_scope. Default 300 (five minutes): no spec sets it; set the provider's own.",
    )
    expiry_wait_max: int = Field(
        default=120,
        gt=0,
        description="Longest access token lifetime, in seconds, that the expired-token test "
        "waits for; a longer expires_in makes it SKIPPED with the reason.",
    )
    expiry_leeway: int = Field(
        default=30,
        ge=0,
        description="Seconds past an access token's expires_in during which the resource may "
        "still accept it (the clock-skew leeway servers apply to exp; RFC 7519 4.1.4 allows a "
        "small one): the expired-token test calls the resource only after expires_in plus "
        "this. Default 30.",
    )
    resource_scope: str | None = Field(
        default=None,
        description="The scope the configured resource requires (e.g. openid for userinfo): "
        "a token granted narrow_scope, which lacks it, must be refused there. Without it the "
        "narrow-scope test is SKIPPED.",
    )
    narrow_scope: str | None = Field(
        default=None,
        description="The scope of the narrow-scope test's token (it must not include "
        "resource_scope). Default: the client's scope without resource_scope.",
    )

    @field_validator("rar_sample")
    @classmethod
    def _access_rar_sample(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not (isinstance(value.get("type"), str) and value["type"]):
            raise ValueError("must carry its type, a non-empty string (RFC 9396 2)")
        return value


class TargetConfig(_Model):
    """The whole description of one target."""

    name: str = "target"
    issuer: str
    discovery_url: str | None = None
    ca_file: Path | None = Field(
        default=None, description="PEM bundle that signs the server certificate."
    )
    resource: ResourceConfig
    clients: tuple[ClientConfig, ...] = Field(min_length=1)
    variants: tuple[VariantConfig, ...] = Field(
        default=(),
        description="The variants to run. Left out: one per pair of (non-control) clients that "
        "share auth_method and sender_constraint, in the order of clients.",
    )
    browser: BrowserConfig
    timeouts: TimeoutConfig = TimeoutConfig()
    server_events_file: Path | None = Field(
        default=None, description="JSON-lines file where the target logs its error events."
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Hosts besides those of the issuer, discovery_url and resource.url that "
        "the harness may send requests (and so credentials) to, e.g. an mTLS endpoint alias.",
    )
    guards: GuardConfig = GuardConfig()
    policy: PolicyConfig = PolicyConfig()
    tolerates_unregistered_redirect_uri: bool = Field(
        default=False,
        description="The target accepts unregistered redirect URIs in PAR (RFC 9126 2.4); "
        "without this a code delivered to one is a failure.",
    )

    @field_validator("issuer")
    @classmethod
    def _issuer_https(cls, value: str) -> str:
        return _https_url(value)

    @model_validator(mode="after")
    def _control_clients(self) -> TargetConfig:
        """Per-client FAPI enforcement: control clients exist and serve no variant; only they
        may use what FAPI 2.0 forbids (client secrets, no authentication, bearer tokens, http)."""
        ids = [c.client_id for c in self.clients]
        controls = self.policy.control_clients
        in_variants = {v.client for v in self.variants} | {v.client2 for v in self.variants}
        for i, client_id in enumerate(controls):
            where = f"policy.control_clients[{i}]"
            if client_id not in ids:
                raise ValueError(f"{where}: unknown client {client_id!r}; known: {', '.join(ids)}")
            if client_id in in_variants:
                raise ValueError(
                    f"{where}: {client_id!r} is a variant's client; a control client must not "
                    "be one of the FAPI clients under test"
                )
        for i, client in enumerate(self.clients):
            if client.client_id in controls:
                continue
            why = "only control clients (policy.control_clients) may use it"
            if client.auth_method not in FAPI_AUTH:
                raise ValueError(
                    f"clients[{i}].auth_method: {client.auth_method} is not a FAPI 2.0 method; "
                    + why
                )
            if client.sender_constraint == "bearer":
                raise ValueError(
                    f"clients[{i}].sender_constraint: bearer (unbound tokens) is not FAPI 2.0; "
                    + why
                )
            if not client.redirect_uri.startswith("https://"):
                raise ValueError(
                    f"clients[{i}].redirect_uri: must be an https:// URL, got "
                    f"{client.redirect_uri!r}; " + why
                )
        return self

    @model_validator(mode="before")
    @classmethod
    def _derive_variants(cls, data: Any) -> Any:
        """Where the configuration leaves the variants out, pair the clients (the reason goes
        into each variant's ``why`` and so into the report)."""
        if not isinstance(data, dict) or data.get("variants") or "clients" not in data:
            return data
        clients, policy = data.get("clients"), data.get("policy") or {}
        controls = set(policy.get("control_clients") or []) if isinstance(policy, dict) else set()
        groups: dict[tuple[str, str], list[str]] = {}
        for client in clients if isinstance(clients, list) else []:
            if not isinstance(client, dict) or client.get("client_id") in controls:
                continue
            key = (str(client.get("auth_method")), str(client.get("sender_constraint")))
            groups.setdefault(key, []).append(str(client.get("client_id")))
        variants = [
            {
                "name": f"{auth}-{sender}",
                "client": ids[0],
                "client2": ids[1],
                "why": f"derived (no variants in the configuration): clients {ids[0]} and "
                f"{ids[1]} both use {auth} with {sender} sender constraint",
            }
            for (auth, sender), ids in groups.items()
            if len(ids) >= 2
        ]
        return {**data, "variants": variants}

    @model_validator(mode="after")
    def _variants_refer_to_clients(self) -> TargetConfig:
        if not self.variants:
            raise ValueError(
                "variants: none given, and no two clients share auth_method and "
                "sender_constraint to make one (each variant needs two clients)"
            )
        ids = [c.client_id for c in self.clients]
        for i, variant in enumerate(self.variants):
            for field in ("client", "client2"):
                if getattr(variant, field) not in ids:
                    raise ValueError(
                        f"variants[{i}].{field}: unknown client {getattr(variant, field)!r}; "
                        f"known: {', '.join(ids)}"
                    )
            first, second = self.client(variant.client), self.client(variant.client2)
            if first.client_id == second.client_id:
                raise ValueError(f"variants[{i}]: client and client2 must be different clients")
            if (first.auth_method, first.sender_constraint) != (
                second.auth_method,
                second.sender_constraint,
            ):
                raise ValueError(
                    f"variants[{i}]: client and client2 must use the same auth_method and "
                    "sender_constraint"
                )
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variants: names must be unique")
        return self

    @property
    def discovery(self) -> str:
        """The discovery URL, by default derived from the issuer (OpenID Connect Discovery 4)."""
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def hosts(self) -> frozenset[str]:
        """The hosts the harness may send requests to: the issuer's, the discovery URL's, the
        resource's and ``allowed_hosts`` (host names, lowercased; any port)."""
        urls = (self.issuer, self.discovery, self.resource.url)
        names = {(urlsplit(u).hostname or "").lower() for u in urls}
        return frozenset(names | {h.lower() for h in self.allowed_hosts}) - {""}

    def client(self, client_id: str) -> ClientConfig:
        """The client registered as ``client_id``."""
        for client in self.clients:
            if client.client_id == client_id:
                return client
        raise KeyError(client_id)


_BASE32 = re.compile(r"[A-Z2-7]+=*")


def totp_secret_valid(secret: str) -> bool:
    """True for a base32 (RFC 4648) TOTP secret of at least 16 characters (80 bits)."""
    compact = secret.replace(" ", "").upper()
    return bool(_BASE32.fullmatch(compact)) and len(compact.rstrip("=")) >= 16


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _interpolate(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where}: environment variable {name} is not set")
            return os.environ[name]

        return _ENV.sub(repl, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-after", "function-before")):
            continue
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _resolve_paths(config: TargetConfig, base: Path) -> TargetConfig:
    def fix(path: Path | None, where: str) -> Path | None:
        if path is None:
            return None
        full = path if path.is_absolute() else (base / path)
        if not full.is_file():
            raise ConfigError(f"{where}: file not found: {path}")
        return full

    clients = tuple(
        c.model_copy(
            update={
                "jwks_file": fix(c.jwks_file, f"clients[{i}].jwks_file"),
                "cert_file": fix(c.cert_file, f"clients[{i}].cert_file"),
                "key_file": fix(c.key_file, f"clients[{i}].key_file"),
            }
        )
        for i, c in enumerate(config.clients)
    )
    browser = config.browser.model_copy(
        update={"executable": fix(config.browser.executable, "browser.executable")}
    )
    events = config.server_events_file
    if events is not None and not events.is_absolute():
        events = base / events
    return config.model_copy(
        update={
            "clients": clients,
            "browser": browser,
            "ca_file": fix(config.ca_file, "ca_file"),
            "server_events_file": events,
        }
    )


# The public members that identify a key (RFC 7517/7518): two JWKs with the same values here
# are the same key, whatever else they carry.
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "n", "e")


def _signing_key(path: Path, where: str) -> dict[str, Any]:
    """The first key of a client's private JWKS file (the one that signs its assertions)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: not a JSON JWKS: {exc}") from None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys or not isinstance(keys[0], dict):
        raise ConfigError(f"{where}: no keys in the JWKS")
    key: dict[str, Any] = keys[0]
    if "d" not in key:
        raise ConfigError(f"{where}: the first key has no private part (d)")
    if not isinstance(key.get("alg"), str) or not key["alg"]:
        raise ConfigError(
            f"{where}: the first key has no alg; give the algorithm it signs with "
            "(PS256, ES256 or EdDSA for FAPI 2.0)"
        )
    return key


def _check_client_keys(config: TargetConfig) -> None:
    """Each private_key_jwt client's signing key has an alg, and the two clients of a variant
    use different keys with different kids (cross-client tests sign with the other's key)."""
    index = {c.client_id: i for i, c in enumerate(config.clients)}
    keys = {
        c.client_id: _signing_key(c.jwks_file, f"clients[{i}].jwks_file")
        for i, c in enumerate(config.clients)
        if c.jwks_file is not None
    }
    for variant in config.variants:
        one, two = keys.get(variant.client), keys.get(variant.client2)
        if one is None or two is None:
            continue
        where = f"clients[{index[variant.client2]}].jwks_file"
        if all(one.get(m) == two.get(m) for m in _PUBLIC_MEMBERS):
            raise ConfigError(
                f"{where}: {variant.client2!r} uses the same key as {variant.client!r} "
                f"(variant {variant.name!r}); the two clients need distinct keys"
            )
        if one.get("kid") is not None and one.get("kid") == two.get("kid"):
            raise ConfigError(
                f"{where}: {variant.client2!r} uses the same kid {one['kid']!r} as "
                f"{variant.client!r} (variant {variant.name!r}); the kids must differ"
            )


_INLINE = (
    ("jwks", "jwks_file", "jwks.json"),
    ("cert", "cert_file", "crt"),
    ("key", "key_file", "key"),
)
_inline_dir: list[Path] = []


def _secret_file(name: str, text: str) -> Path:
    """Write inline key material to a private folder of this process (removed at exit)."""
    if not _inline_dir:
        folder = Path(tempfile.mkdtemp(prefix="fapi-harness-inline-"))
        atexit.register(shutil.rmtree, folder, True)
        _inline_dir.append(folder)
    path = _inline_dir[0] / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def _materialize_inline(data: dict[str, Any]) -> dict[str, Any]:
    """Inline credentials (``jwks``, ``cert``, ``key`` of a client) become private files, so
    that the rest of the harness reads keys one way. Errors name the field."""
    clients = data.get("clients")
    if not isinstance(clients, list):
        return data
    out = []
    for i, client in enumerate(clients):
        if not isinstance(client, dict):
            out.append(client)
            continue
        client = dict(client)
        for inline, file_field, suffix in _INLINE:
            if client.get(inline) is None:
                client.pop(inline, None)
                continue
            where = f"clients[{i}].{inline}"
            if client.get(file_field) is not None:
                raise ConfigError(f"{where}: give {inline} or {file_field}, not both")
            value = client.pop(inline)
            if inline == "jwks":
                if isinstance(value, str):  # a JSON string, e.g. from an environment variable
                    try:
                        value = json.loads(value)
                    except ValueError:
                        raise ConfigError(f"{where}: not a JSON object") from None
                if not isinstance(value, dict):
                    raise ConfigError(f"{where}: must be a JWKS object")
                text = json.dumps(value)
            elif isinstance(value, str) and "-----BEGIN" in value:
                text = value.strip() + "\n"
            else:
                raise ConfigError(f"{where}: must be PEM text (-----BEGIN ...)")
            client[file_field] = str(_secret_file(f"client{i}.{suffix}", text))
        out.append(client)
    return {**data, "clients": out}


def parse_config(data: dict[str, Any], base: Path) -> TargetConfig:
    """Validate a configuration mapping; relative paths are taken from ``base``."""
    data = _materialize_inline(_interpolate(data, ""))
    try:
        config = TargetConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{_field_path(tuple(err['loc']))}: {msg}")
        raise ConfigError("invalid target configuration:\n  " + "\n  ".join(lines)) from None
    config = _resolve_paths(config, base)
    _check_client_keys(config)
    return config


def load_config(path: Path) -> TargetConfig:
    """Read and validate a target configuration file (``.toml`` or ``.json``)."""
    if not path.is_file():
        raise ConfigError(f"target configuration not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse: {exc}") from None
    return parse_config(data, path.parent)


SCHEMA_FILE = Path(__file__).with_name("config.schema.json")


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a target configuration (published as ``harness/config.schema.json``
    for editor completion; ``python -m harness.config`` writes it again after a model change)."""
    schema = TargetConfig.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "fapi-harness target configuration",
    }


if __name__ == "__main__":
    SCHEMA_FILE.write_text(json.dumps(config_schema(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
