"""Unit tests for harness.checks: every public check can pass and can fail.

``CASES`` maps each name in ``harness.checks.__all__`` to the evidence on which it must pass and
the evidence on which it must fail; a check that cannot fail would let a broken server pass.
Every case also checks that the finding carries the requirement id it was given.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import pytest
from joserfc.jwk import ECKey, RSAKey

from harness import checks, jose
from harness.browser import AuthorizationResponse
from harness.evidence import Exchange, TlsProbe
from harness.verdict import Finding, NotTestable

ISSUER = "https://as.example.test"
CLIENT_ID = "client-one"
NOW = int(time.time())
JSON = [("Content-Type", "application/json")]
UUID_A = "c770aef3-6784-41f7-8e0e-ff5f97bddb3a"
UUID_B = "0f8fad5b-d9cb-469f-a165-70867728950e"


@dataclass(frozen=True)
class Case:
    """Arguments for one call of a check (``req`` is added by the test)."""

    label: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def ex(
    status: int | None = 200,
    body: Any = None,
    *,
    raw: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    error: str | None = None,
) -> Exchange:
    """A recorded exchange with the given response (``status=None`` means no response)."""
    if raw is None:
        raw = "" if body is None else json.dumps(body)
    if headers is None:
        headers = JSON if body is not None else []
    return Exchange(
        label="step",
        method="POST",
        url=f"{ISSUER}/endpoint",
        request_headers=[],
        request_body="",
        identity="client client-one",
        status=status,
        response_headers=headers,
        response_body=raw,
        error=error,
    )


NO_RESPONSE = ex(None, error="ConnectError: connection refused")
TLS_ALERT = dataclasses.replace(
    ex(None, error="ReadError: [SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] certificate required"),
    error_kind="tls",
)


def _b64(data: dict[str, Any]) -> str:
    return jose.b64url(json.dumps(data).encode())


# Keys are generated when the module loads (at test time); no key material is committed.
AS_KEY = ECKey.generate_key("P-256", {"kid": "as-1"}, private=True)
ROGUE_KEY = ECKey.generate_key("P-256", {"kid": "as-1"}, private=True)
JWKS = {"keys": [AS_KEY.as_dict(private=False)]}
ID_CLAIMS = {"iss": ISSUER, "sub": "alice", "aud": CLIENT_ID, "exp": NOW + 3600, "iat": NOW}
GOOD_TOKEN = jose.sign({"alg": "ES256", "kid": "as-1"}, ID_CLAIMS, AS_KEY)
FORGED_TOKEN = jose.sign({"alg": "ES256", "kid": "as-1"}, ID_CLAIMS, ROGUE_KEY)
_HS_INPUT = f"{_b64({'alg': 'HS256', 'kid': 'as-1'})}.{_b64(ID_CLAIMS)}"
HS256_TOKEN = (
    f"{_HS_INPUT}.{jose.b64url(hmac.new(b'k' * 32, _HS_INPUT.encode(), hashlib.sha256).digest())}"
)
NONE_TOKEN = f"{_b64({'alg': 'none'})}.{_b64(ID_CLAIMS)}."

PAR_OK = {"request_uri": "urn:ietf:params:oauth:request_uri:abc", "expires_in": 60}
TOKEN_OK = {"access_token": "at-123", "token_type": "DPoP", "expires_in": 300}
METADATA = {
    "issuer": ISSUER,
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": "http://as.example.test/jwks",
    "require_pushed_authorization_requests": True,
    "authorization_response_iss_parameter_supported": "true",
    "code_challenge_methods_supported": ["S256"],
    "dpop_signing_alg_values_supported": "ES256 PS256",
    "port": 443,
}
# Valid OpenID Provider metadata, as a FAPI 2.0 server publishes it.
OP_METADATA = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/jwks",
    "pushed_authorization_request_endpoint": f"{ISSUER}/par",
    "response_types_supported": ["code"],
    "subject_types_supported": ["public"],
    "id_token_signing_alg_values_supported": ["PS256", "ES256"],
    "token_endpoint_auth_methods_supported": ["private_key_jwt", "tls_client_auth"],
    "claims_parameter_supported": False,
    "mtls_endpoint_aliases": {"token_endpoint": "https://mtls.as.example.test/token"},
    "end_session_endpoint": f"{ISSUER}/session/end",
}
FAPI_ALGS = ("PS256", "ES256", "EdDSA")
AUTH_METHODS = ("private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth")
CALLBACK = {"code": "c-123", "state": "s-1", "iss": ISSUER, "empty": ""}
INVALID_TOKEN = 'DPoP algs="ES256 PS256", error="invalid_token", error_description="bad"'


def claims(**changes: Any) -> dict[str, Any]:
    """The good id_token claims with ``changes`` (None removes a claim)."""
    out = {**ID_CLAIMS, **changes}
    return {k: v for k, v in out.items() if v is not None}


def with_member(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``base`` with ``changes`` (the string "<absent>" removes a member)."""
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v != "<absent>"}


P = Case  # short alias for the tables below

# name -> (cases that must pass, cases that must fail)
REFUSAL = {"state": "s", "issuer": ISSUER}


def front(
    kind: str,
    params: dict[str, str] | None = None,
    fragment: dict[str, str] | None = None,
    status: int | None = None,
) -> AuthorizationResponse:
    """Where a browser ended, as the front-channel checks see it."""
    return AuthorizationResponse(
        kind,  # type: ignore[arg-type]
        "https://client.example.test/cb",
        params or {},
        fragment or {},
        status,
        (),
    )


def tls_probe(
    version: str,
    outcome: str,
    negotiated: str | None = None,
    cipher: str | None = None,
    *,
    verified: bool = False,
) -> TlsProbe:
    """A recorded TLS handshake probe offering ``version`` (and the suite ``cipher``)."""
    return TlsProbe(
        "probe",
        "as.example.test",
        443,
        version,
        cipher,
        outcome,
        negotiated_version=negotiated,
        negotiated_cipher=cipher if outcome == "connected" else None,
        verified=verified,
        error=None if outcome == "connected" else "handshake failure",
    )


SUITES_GOOD = [
    tls_probe("TLSv1.2", "connected", "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"),
    tls_probe("TLSv1.2", "refused", None, "AES128-SHA"),
    tls_probe("TLSv1.2", "refused", None, "NULL-SHA"),
]


def dpop_sent(response: Exchange, *, nonce: str | None = None, jti: str | None = "a-1") -> Exchange:
    """``response`` as if its request carried a DPoP proof (with ``nonce``) and a client
    assertion with ``jti`` (None: no assertion, as with mTLS client authentication)."""
    key = ECKey.generate_key("P-256", private=True)
    proof = jose.dpop_proof(key, "POST", f"{ISSUER}/par", nonce=nonce)
    form = ""
    if jti is not None:
        assertion = jose.sign({"alg": "ES256"}, {"jti": jti, "iss": CLIENT_ID}, key)
        form = f"client_id={CLIENT_ID}&client_assertion={assertion}"
    return dataclasses.replace(response, request_headers=[("DPoP", proof)], request_body=form)


NONCE_HEADERS = [*JSON, ("DPoP-Nonce", "eyJ7S_zG.9tNq~x")]
NONCE_CHALLENGE = dpop_sent(ex(400, {"error": "use_dpop_nonce"}, headers=NONCE_HEADERS))
NONCE_RETRY = dpop_sent(ex(201, PAR_OK), nonce="eyJ7S_zG.9tNq~x", jti="a-2")


CASES: dict[str, tuple[list[Case], list[Case]]] = {
    # --- http ---
    "expect_status": (
        [P("201", (ex(201), 201)), P("400", (ex(400, {"error": "x"}), 400))],
        [
            P("200-not-201", (ex(200), 201)),
            P("no-response", (NO_RESPONSE, 200)),
            P("302", (ex(302, headers=[("Location", "https://x")]), 200)),
        ],
    ),
    "expect_json_object": (
        [
            P("json", (ex(200, {"a": 1}, headers=[("content-type", "application/json")]),)),
            P(
                "charset",
                (ex(200, {}, headers=[("Content-Type", "application/json; charset=utf-8")]),),
            ),
            P(
                "problem-json",
                (ex(400, {"a": 1}, headers=[("Content-Type", "application/problem+json")]),),
            ),
        ],
        [
            P("html-type", (ex(200, {"a": 1}, headers=[("Content-Type", "text/html")]),)),
            P("no-type", (ex(200, {"a": 1}, headers=[]),)),
            P("list-body", (ex(200, [1, 2]),)),
            P("not-json", (ex(200, raw="<html/>", headers=JSON),)),
            P("empty", (ex(200, raw="", headers=JSON),)),
            P("no-response", (NO_RESPONSE,)),
        ],
    ),
    "expect_header_contains": (
        [
            P(
                "exact",
                (ex(200, headers=[("Cache-Control", "no-store")]), "cache-control", "no-store"),
            ),
            P(
                "case",
                (ex(200, headers=[("cache-control", "No-Store")]), "Cache-Control", "no-store"),
            ),
            P(
                "second-value",
                (
                    ex(200, headers=[("Vary", "x"), ("Cache-Control", "private, no-store")]),
                    "Cache-Control",
                    "no-store",
                ),
            ),
        ],
        [
            P("absent", (ex(200, headers=[("Pragma", "no-store")]), "Cache-Control", "no-store")),
            P(
                "other-value",
                (ex(200, headers=[("Cache-Control", "no-cache")]), "Cache-Control", "no-store"),
            ),
            P("no-response", (NO_RESPONSE, "Cache-Control", "no-store")),
        ],
    ),
    "expect_response_member": (
        [P("present", (ex(200, TOKEN_OK), "access_token")), P("zero", (ex(200, {"n": 0}), "n"))],
        [
            P("missing", (ex(200, TOKEN_OK), "refresh_token")),
            P("empty-string", (ex(200, {"refresh_token": ""}), "refresh_token")),
            P("null", (ex(200, {"refresh_token": None}), "refresh_token")),
            P("empty-list", (ex(200, {"x": []}), "x")),
            P("not-json", (ex(200, raw="refresh_token=abc"), "refresh_token")),
            P("list-body", (ex(200, ["refresh_token"]), "refresh_token")),
            P("no-response", (NO_RESPONSE, "access_token")),
        ],
    ),
    # --- metadata ---
    "expect_metadata_issuer": (
        [P("exact", (METADATA, ISSUER))],
        [
            P("trailing-slash", (METADATA, f"{ISSUER}/")),
            P("other", (with_member(METADATA, issuer="https://evil.example"), ISSUER)),
            P("absent", (with_member(METADATA, issuer="<absent>"), ISSUER)),
            P("null", (with_member(METADATA, issuer=None), ISSUER)),
        ],
    ),
    "expect_metadata_true": (
        [P("true", (METADATA, "require_pushed_authorization_requests"))],
        [
            P("string-true", (METADATA, "authorization_response_iss_parameter_supported")),
            P("false", ({"x": False}, "x")),
            P("one", ({"x": 1}, "x")),
            P("absent", (METADATA, "tls_client_certificate_bound_access_tokens")),
        ],
    ),
    "expect_metadata_contains": (
        [P("listed", (METADATA, "code_challenge_methods_supported", "S256"))],
        [
            P("not-listed", (METADATA, "code_challenge_methods_supported", "plain")),
            P("string-not-list", (METADATA, "dpop_signing_alg_values_supported", "ES256")),
            P("absent", (METADATA, "token_endpoint_auth_methods_supported", "private_key_jwt")),
            P("case", (METADATA, "code_challenge_methods_supported", "s256")),
        ],
    ),
    "expect_metadata_https_url": (
        [P("https", (METADATA, "token_endpoint"))],
        [
            P("http", (METADATA, "jwks_uri")),
            P("absent", (METADATA, "pushed_authorization_request_endpoint")),
            P("not-string", (METADATA, "port")),
            P("relative", ({"x": "/token"}, "x")),
        ],
    ),
    "expect_metadata_present": (
        [
            P("url", (OP_METADATA, "pushed_authorization_request_endpoint")),
            P("false-is-a-value", (OP_METADATA, "claims_parameter_supported")),
        ],
        [
            P("absent", (OP_METADATA, "dpop_signing_alg_values_supported")),
            P("empty-list", ({"x": []}, "x")),
            P("empty-string", ({"x": ""}, "x")),
            P("null", ({"x": None}, "x")),
        ],
    ),
    "expect_metadata_within": (
        [
            P("within", (OP_METADATA, "id_token_signing_alg_values_supported", FAPI_ALGS)),
            P("auth-methods", (OP_METADATA, "token_endpoint_auth_methods_supported", AUTH_METHODS)),
            P(
                "absent-optional",
                (OP_METADATA, "userinfo_signing_alg_values_supported", FAPI_ALGS),
                {"required": False},
            ),
        ],
        [
            P("rs256", ({"x": ["PS256", "RS256"]}, "x", FAPI_ALGS)),
            P("none-alg", ({"x": ["none"]}, "x", FAPI_ALGS)),
            P("secret", ({"x": ["private_key_jwt", "client_secret_basic"]}, "x", AUTH_METHODS)),
            P("absent-required", (OP_METADATA, "code_challenge_methods_supported", ["S256"])),
            P("empty", ({"x": []}, "x", FAPI_ALGS), {"required": False}),
            P("string-not-list", ({"x": "ES256"}, "x", FAPI_ALGS), {"required": False}),
            P("case", ({"x": ["es256"]}, "x", FAPI_ALGS)),
            P("not-strings", ({"x": [["ES256"]]}, "x", FAPI_ALGS)),
        ],
    ),
    "expect_issuer_identifier": (
        [
            P("host", (OP_METADATA,)),
            P("path", ({"issuer": "https://as.example.test/tenant/a"},)),
        ],
        [
            P("http", ({"issuer": "http://as.example.test"},)),
            P("query", ({"issuer": "https://as.example.test/?t=1"},)),
            P("fragment", ({"issuer": "https://as.example.test#x"},)),
            P("no-host", ({"issuer": "https:///path"},)),
            P("absent", ({},)),
            P("not-string", ({"issuer": 443},)),
        ],
    ),
    "expect_issuer_matches_discovery_url": (
        [
            P("oidc", (OP_METADATA, f"{ISSUER}/.well-known/openid-configuration")),
            P(
                "oidc-path-slash",
                (
                    {"issuer": "https://as.example.test/tenant/"},
                    "https://as.example.test/tenant/.well-known/openid-configuration",
                ),
            ),
            P("rfc8414", (OP_METADATA, f"{ISSUER}/.well-known/oauth-authorization-server")),
            P(
                "rfc8414-path",
                (
                    {"issuer": "https://as.example.test/tenant"},
                    "https://as.example.test/.well-known/oauth-authorization-server/tenant",
                ),
            ),
        ],
        [
            P("other", (OP_METADATA, "https://other.example/.well-known/openid-configuration")),
            P(
                "path-lost",
                (OP_METADATA, f"{ISSUER}/tenant/.well-known/openid-configuration"),
            ),
            P(
                "rfc8414-wrong-place",
                (
                    {"issuer": "https://as.example.test/tenant"},
                    "https://as.example.test/tenant/.well-known/oauth-authorization-server",
                ),
            ),
            P("absent", ({}, f"{ISSUER}/.well-known/openid-configuration")),
            P("not-well-known", (OP_METADATA, f"{ISSUER}/metadata.json")),
        ],
    ),
    "expect_metadata_schema": (
        [
            P("openid", (OP_METADATA,)),
            P(
                "oauth-only",
                (with_member(OP_METADATA, subject_types_supported="<absent>"),),
                {"openid": False},
            ),
        ],
        [
            P("no-issuer", (with_member(OP_METADATA, issuer="<absent>"),)),
            P("http-endpoint", (with_member(OP_METADATA, token_endpoint="http://as/token"),)),
            P("string-not-list", (with_member(OP_METADATA, scopes_supported="openid email"),)),
            P("empty-list", (with_member(OP_METADATA, grant_types_supported=[]),)),
            P("bool-as-string", (with_member(OP_METADATA, claims_parameter_supported="false"),)),
            P("issuer-query", (with_member(OP_METADATA, issuer=f"{ISSUER}?x=1"),)),
            P("openid-members", (with_member(OP_METADATA, jwks_uri="<absent>"),)),
            P("alias-http", (with_member(OP_METADATA, mtls_endpoint_aliases={"t": "http://x/"}),)),
            P("not-object", ([],)),
        ],
    ),
    "expect_known_metadata_members": (
        [P("known", (OP_METADATA,)), P("empty", ({},))],
        [
            P("vendor", (with_member(OP_METADATA, x_vendor_feature=True),)),
            P("misspelt", (with_member(OP_METADATA, pushed_authorisation_request_endpoint="x"),)),
        ],
    ),
    # --- oauth ---
    "expect_par_created": (
        [P("201", (ex(201, PAR_OK),))],
        [
            P("200-not-201", (ex(200, PAR_OK),)),
            P("no-request-uri", (ex(201, with_member(PAR_OK, request_uri="<absent>")),)),
            P("empty-request-uri", (ex(201, with_member(PAR_OK, request_uri="")),)),
            P("request-uri-number", (ex(201, with_member(PAR_OK, request_uri=7)),)),
            P("expires-in-string", (ex(201, with_member(PAR_OK, expires_in="60")),)),
            P("expires-in-bool", (ex(201, with_member(PAR_OK, expires_in=True)),)),
            P("expires-in-float", (ex(201, with_member(PAR_OK, expires_in=60.0)),)),
            P("expires-in-zero", (ex(201, with_member(PAR_OK, expires_in=0)),)),
            P("expires-in-negative", (ex(201, with_member(PAR_OK, expires_in=-60)),)),
            P("no-expires-in", (ex(201, with_member(PAR_OK, expires_in="<absent>")),)),
            P("list-body", (ex(201, [PAR_OK]),)),
            P("not-json", (ex(201, raw="request_uri=urn:x&expires_in=60"),)),
            P("error", (ex(400, {"error": "invalid_request"}),)),
            P("no-response", (NO_RESPONSE,)),
        ],
    ),
    "expect_request_uri_lifetime": (
        [
            P("60", (ex(201, PAR_OK),), {"below_s": 600}),
            P("599", (ex(201, with_member(PAR_OK, expires_in=599)),), {"below_s": 600}),
        ],
        [
            P("equal", (ex(201, with_member(PAR_OK, expires_in=600)),), {"below_s": 600}),
            P("above", (ex(201, with_member(PAR_OK, expires_in=3600)),), {"below_s": 600}),
            P("zero", (ex(201, with_member(PAR_OK, expires_in=0)),), {"below_s": 600}),
            P("string", (ex(201, with_member(PAR_OK, expires_in="60")),), {"below_s": 600}),
            P("bool", (ex(201, with_member(PAR_OK, expires_in=True)),), {"below_s": 600}),
            P("absent", (ex(201, with_member(PAR_OK, expires_in="<absent>")),), {"below_s": 600}),
            P("no-response", (NO_RESPONSE,), {"below_s": 600}),
        ],
    ),
    "expect_callback_param": (
        [P("code", (CALLBACK, "code"))],
        [
            P("missing", (CALLBACK, "error")),
            P("empty", (CALLBACK, "empty")),
            P("none", ({}, "code")),
        ],
    ),
    "expect_state_matches": (
        [P("same", (CALLBACK, "s-1"))],
        [
            P("other", (CALLBACK, "s-2")),
            P("case", (CALLBACK, "S-1")),
            P("missing", ({"code": "c"}, "s-1")),
        ],
    ),
    "expect_iss_matches": (
        [P("same", (CALLBACK, ISSUER))],
        [
            P("absent", ({"code": "c", "state": "s"}, ISSUER)),
            P("trailing-slash", (CALLBACK, f"{ISSUER}/")),
            P("other", ({"iss": "https://evil.example"}, ISSUER)),
            P("empty", ({"iss": ""}, ISSUER)),
        ],
    ),
    "expect_token_response": (
        [P("200", (ex(200, TOKEN_OK),))],
        [
            P("201", (ex(201, TOKEN_OK),)),
            P("error", (ex(400, {"error": "invalid_grant"}),)),
            P("no-access-token", (ex(200, with_member(TOKEN_OK, access_token="<absent>")),)),
            P("empty-access-token", (ex(200, with_member(TOKEN_OK, access_token="")),)),
            P("access-token-number", (ex(200, with_member(TOKEN_OK, access_token=5)),)),
            P("no-token-type", (ex(200, with_member(TOKEN_OK, token_type="<absent>")),)),
            P("not-json", (ex(200, raw="access_token=x&token_type=Bearer"),)),
            P("no-response", (NO_RESPONSE,)),
        ],
    ),
    "expect_token_type": (
        [P("exact", (ex(200, TOKEN_OK), "DPoP")), P("case", (ex(200, TOKEN_OK), "dpop"))],
        [
            P("bearer", (ex(200, with_member(TOKEN_OK, token_type="Bearer")), "DPoP")),
            P("absent", (ex(200, with_member(TOKEN_OK, token_type="<absent>")), "DPoP")),
            P("not-string", (ex(200, with_member(TOKEN_OK, token_type=["DPoP"])), "DPoP")),
            P("not-json", (ex(200, raw="token_type=DPoP"), "DPoP")),
            P("no-response", (NO_RESPONSE, "DPoP")),
        ],
    ),
    "expect_expires_in": (
        [P("300", (ex(200, TOKEN_OK),)), P("1", (ex(200, with_member(TOKEN_OK, expires_in=1)),))],
        [
            P("zero", (ex(200, with_member(TOKEN_OK, expires_in=0)),)),
            P("negative", (ex(200, with_member(TOKEN_OK, expires_in=-1)),)),
            P("string", (ex(200, with_member(TOKEN_OK, expires_in="300")),)),
            P("bool", (ex(200, with_member(TOKEN_OK, expires_in=True)),)),
            P("float", (ex(200, with_member(TOKEN_OK, expires_in=300.5)),)),
            P("null", (ex(200, with_member(TOKEN_OK, expires_in=None)),)),
            P("absent", (ex(200, with_member(TOKEN_OK, expires_in="<absent>")),)),
            P("no-response", (NO_RESPONSE,)),
        ],
    ),
    "expect_oauth_error": (
        [
            P("400-json", (ex(400, {"error": "invalid_request"}), ["invalid_request"])),
            P(
                "401-one-of",
                (ex(401, {"error": "invalid_client"}), ["invalid_request", "invalid_client"]),
            ),
            P(
                "www-authenticate",
                (
                    ex(401, headers=[("WWW-Authenticate", 'Bearer error="invalid_client"')]),
                    ["invalid_client"],
                ),
            ),
            P(
                "custom-status",
                (ex(403, {"error": "access_denied"}), ["access_denied"]),
                {"statuses": (403,)},
            ),
        ],
        [
            P("wrong-code", (ex(400, {"error": "invalid_grant"}), ["invalid_request"])),
            P("right-code-200", (ex(200, {"error": "invalid_request"}), ["invalid_request"])),
            P("right-code-500", (ex(500, {"error": "invalid_request"}), ["invalid_request"])),
            P("no-code", (ex(400, {"message": "bad request"}), ["invalid_request"])),
            P("code-not-string", (ex(400, {"error": ["invalid_request"]}), ["invalid_request"])),
            P("not-json", (ex(400, raw="invalid_request", headers=[]), ["invalid_request"])),
            P("success", (ex(200, TOKEN_OK), ["invalid_request"])),
            P("no-response", (NO_RESPONSE, ["invalid_request"])),
            P(
                "status-not-allowed",
                (ex(401, {"error": "invalid_client"}), ["invalid_client"]),
                {"statuses": (400,)},
            ),
        ],
    ),
    "expect_resource_refused": (
        [
            P(
                "dpop",
                (
                    ex(401, headers=[("WWW-Authenticate", INVALID_TOKEN)]),
                    ["DPoP"],
                    ["invalid_token"],
                ),
            ),
            P(
                "bearer-400",
                (
                    ex(400, headers=[("www-authenticate", 'Bearer error="invalid_request"')]),
                    ["Bearer"],
                    ["invalid_request"],
                ),
            ),
            P(
                "scheme-case",
                (
                    ex(401, headers=[("WWW-Authenticate", INVALID_TOKEN.lower())]),
                    ["DPoP"],
                    ["invalid_token"],
                ),
            ),
            P(
                "second-challenge",
                (
                    ex(
                        401,
                        headers=[
                            ("WWW-Authenticate", 'Bearer realm="rs"'),
                            ("WWW-Authenticate", INVALID_TOKEN),
                        ],
                    ),
                    ["DPoP"],
                    ["invalid_token"],
                ),
            ),
        ],
        [
            P(
                "200",
                (
                    ex(200, {"ok": 1}, headers=[("WWW-Authenticate", INVALID_TOKEN)]),
                    ["DPoP"],
                    ["invalid_token"],
                ),
            ),
            P(
                "401-no-challenge",
                (ex(401, {"error": "invalid_token"}), ["DPoP"], ["invalid_token"]),
            ),
            P(
                "wrong-scheme",
                (
                    ex(401, headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')]),
                    ["DPoP"],
                    ["invalid_token"],
                ),
            ),
            P(
                "wrong-error",
                (
                    ex(401, headers=[("WWW-Authenticate", 'DPoP error="invalid_dpop_proof"')]),
                    ["DPoP"],
                    ["invalid_token"],
                ),
            ),
            P(
                "no-error",
                (
                    ex(401, headers=[("WWW-Authenticate", 'DPoP algs="ES256"')]),
                    ["DPoP"],
                    ["invalid_token"],
                ),
            ),
            P(
                "403",
                (
                    ex(403, headers=[("WWW-Authenticate", INVALID_TOKEN)]),
                    ["DPoP"],
                    ["invalid_token"],
                ),
            ),
            P(
                "500",
                (
                    ex(500, headers=[("WWW-Authenticate", INVALID_TOKEN)]),
                    ["DPoP"],
                    ["invalid_token"],
                ),
            ),
            P("no-response", (NO_RESPONSE, ["DPoP"], ["invalid_token"])),
        ],
    ),
    # --- tokens ---
    "expect_jws_signature": (
        [P("valid", (GOOD_TOKEN, JWKS, "id_token"))],
        [
            P("other-key", (FORGED_TOKEN, JWKS, "id_token")),
            P("hs256", (HS256_TOKEN, JWKS, "id_token")),
            P("alg-none", (NONE_TOKEN, JWKS, "id_token")),
            P("garbage", ("not-a-jwt", JWKS, "id_token")),
            P("empty-jwks", (GOOD_TOKEN, {"keys": []}, "id_token")),
            P(
                "tampered",
                (
                    f"{GOOD_TOKEN.split('.')[0]}.{_b64(claims(sub='mallory'))}.{GOOD_TOKEN.split('.')[2]}",
                    JWKS,
                    "id_token",
                ),
            ),
        ],
    ),
    "expect_jws_alg": (
        [P("es256", ({"alg": "ES256"}, ["PS256", "ES256"], "id_token"))],
        [
            P("rs256", ({"alg": "RS256"}, ["PS256", "ES256"], "id_token")),
            P("hs256", ({"alg": "HS256"}, ["PS256", "ES256"], "id_token")),
            P("none", ({"alg": "none"}, ["PS256", "ES256"], "id_token")),
            P("missing", ({"kid": "k"}, ["PS256", "ES256"], "id_token")),
        ],
    ),
    "expect_id_token_claims": (
        [
            P("good", (ID_CLAIMS, ISSUER, CLIENT_ID)),
            P("aud-list", (claims(aud=["rs", CLIENT_ID]), ISSUER, CLIENT_ID)),
            P("exp-within-skew", (claims(exp=NOW - 5), ISSUER, CLIENT_ID)),
        ],
        [
            P("expired", (claims(exp=NOW - 3600), ISSUER, CLIENT_ID)),
            P("expired-no-skew", (claims(exp=NOW - 5), ISSUER, CLIENT_ID), {"skew_s": 0}),
            P("wrong-aud", (claims(aud="client-two"), ISSUER, CLIENT_ID)),
            P("aud-list-without-client", (claims(aud=["client-two", "rs"]), ISSUER, CLIENT_ID)),
            P("wrong-iss", (claims(iss="https://evil.example"), ISSUER, CLIENT_ID)),
            P("iss-trailing-slash", (claims(iss=f"{ISSUER}/"), ISSUER, CLIENT_ID)),
            P("no-iss", (claims(iss=None), ISSUER, CLIENT_ID)),
            P("no-sub", (claims(sub=None), ISSUER, CLIENT_ID)),
            P("empty-sub", (claims(sub=""), ISSUER, CLIENT_ID)),
            P("no-aud", (claims(aud=None), ISSUER, CLIENT_ID)),
            P("no-exp", (claims(exp=None), ISSUER, CLIENT_ID)),
            P("exp-string", (claims(exp=str(NOW + 3600)), ISSUER, CLIENT_ID)),
            P("no-iat", (claims(iat=None), ISSUER, CLIENT_ID)),
            P("iat-future", (claims(iat=NOW + 3600), ISSUER, CLIENT_ID)),
        ],
    ),
    # --- authorization (front channel) ---
    "expect_entropy": (
        [P("random", ("lQ8n3Yv0Xk2pZr7WbT5cHs9JdF1gMe4u", "code"), {"bits": 96})],
        [
            P("repetitive", ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "code"), {"bits": 96}),
            P("short", ("a8F3k", "code"), {"bits": 96}),
            P("missing", (None, "code"), {"bits": 96}),
        ],
    ),
    "expect_length_bits": (
        [P("16-chars", ("0123456789abcdef", "code"), {"bits": 128})],
        [
            P("15-chars", ("0123456789abcde", "code"), {"bits": 128}),
            P("none", (None, "code"), {"bits": 8}),
        ],
    ),
    "expect_nothing_in_fragment": (
        [P("clean", (front("callback", {"code": "c"}),)), P("error-page", (front("error_page"),))],
        [
            P("code", (front("callback", {}, {"code": "c"}),)),
            P("error", (front("callback", {"error": "x"}, {"error": "x"}),)),
        ],
    ),
    "expect_only_known_params": (
        [
            P("known", (front("callback", {"code": "c", "state": "s", "iss": ISSUER}),)),
            P("redirect-query", (front("callback", {"code": "c", "dummy1": "lorem"}), ["dummy1"])),
        ],
        [P("extra", (front("callback", {"code": "c", "debug": "1"}),))],
    ),
    "expect_params_kept": (
        [P("kept", (front("callback", {"code": "c", "dummy1": "lorem"}), {"dummy1": "lorem"}))],
        [
            P("lost", (front("callback", {"code": "c"}), {"dummy1": "lorem"})),
            P("changed", (front("callback", {"dummy1": "x"}), {"dummy1": "lorem"})),
            P("no-callback", (front("error_page"), {"dummy1": "lorem"})),
        ],
    ),
    "expect_authorization_refused": (
        [
            P(
                "redirect",
                (
                    front("callback", {"error": "invalid_request", "state": "s", "iss": ISSUER}),
                    ["invalid_request"],
                ),
                REFUSAL,
            ),
            P("error-page", (front("error_page", status=400), ["invalid_request"]), REFUSAL),
        ],
        [
            P(
                "code",
                (
                    front("callback", {"code": "c", "state": "s", "iss": ISSUER}),
                    ["invalid_request"],
                ),
                REFUSAL,
            ),
            P(
                "wrong-error",
                (
                    front("callback", {"error": "server_error", "state": "s", "iss": ISSUER}),
                    ["invalid_request"],
                ),
                REFUSAL,
            ),
            P(
                "no-iss",
                (
                    front("callback", {"error": "invalid_request", "state": "s"}),
                    ["invalid_request"],
                ),
                REFUSAL,
            ),
            P(
                "wrong-state",
                (
                    front("callback", {"error": "invalid_request", "state": "x", "iss": ISSUER}),
                    ["invalid_request"],
                ),
                REFUSAL,
            ),
            P(
                "code-in-fragment",
                (
                    front(
                        "callback",
                        {"error": "invalid_request", "state": "s", "iss": ISSUER},
                        {"code": "c"},
                    ),
                    ["invalid_request"],
                ),
                REFUSAL,
            ),
            P("stuck", (front("stuck", status=200), ["invalid_request"]), REFUSAL),
            P("server-error", (front("error_page", status=500), ["invalid_request"]), REFUSAL),
            P(
                "page-not-allowed",
                (front("error_page", status=400), ["access_denied"]),
                {**REFUSAL, "page_allowed": False},
            ),
        ],
    ),
    "expect_par_or_authorization_refused": (
        [
            P(
                "par-400",
                (
                    ex(400, {"error": "invalid_request"}),
                    None,
                    ["invalid_request"],
                    ["invalid_request"],
                ),
                REFUSAL,
            ),
            P(
                "par-401-client",
                (ex(401, {"error": "invalid_client"}), None, ["invalid_client"], []),
                REFUSAL,
            ),
            P(
                "az-refused",
                (
                    ex(201, {"request_uri": "u", "expires_in": 60}),
                    front("error_page", status=400),
                    [],
                    ["x"],
                ),
                REFUSAL,
            ),
        ],
        [
            P(
                "par-wrong-error",
                (ex(400, {"error": "server_error"}), None, ["invalid_request"], []),
                REFUSAL,
            ),
            P(
                "par-500",
                (ex(500, {"error": "invalid_request"}), None, ["invalid_request"], []),
                REFUSAL,
            ),
            P(
                "par-401-other",
                (ex(401, {"error": "invalid_request"}), None, ["invalid_request"], []),
                REFUSAL,
            ),
            P(
                "az-code",
                (
                    ex(201, {"request_uri": "u", "expires_in": 60}),
                    front("callback", {"code": "c", "state": "s", "iss": ISSUER}),
                    [],
                    ["x"],
                ),
                REFUSAL,
            ),
        ],
    ),
    "expect_status_class": (
        [P("404", (ex(404), (4, 5))), P("503", (ex(503), (4, 5)))],
        [P("201", (ex(201), (4, 5))), P("302", (ex(302), (4,))), P("none", (NO_RESPONSE, (4, 5)))],
    ),
    "expect_no_code_yet": (
        [
            P("login-page", (front("stuck", status=200),)),
            P("error", (front("callback", {"error": "x"}),)),
        ],
        [P("code", (front("callback", {"code": "c"}),))],
    ),
    "expect_param_absent": (
        [P("absent", ({"code": "c"}, "state"))],
        [
            P("present", ({"code": "c", "state": "s"}, "state")),
            P("empty", ({"state": ""}, "state")),
        ],
    ),
    "expect_id_token_nonce": (
        [P("same", (claims(nonce="n-0S6"), "n-0S6"))],
        [
            P("other", (claims(nonce="n-other"), "n-0S6")),
            P("missing", (ID_CLAIMS, "n-0S6")),
            P("case", (claims(nonce="N-0s6"), "n-0S6")),
        ],
    ),
    "expect_refused_or_dropped": (
        [
            P(
                "400",
                (ex(400, {"error": "invalid_grant"}), ["invalid_grant"]),
                {"statuses": (400,)},
            ),
            P("dropped", (TLS_ALERT, ["invalid_client"]), {"statuses": (400, 401)}),
        ],
        [
            P("200", (ex(200, TOKEN_OK), ["invalid_grant"]), {"statuses": (400,)}),
            P("other", (ex(400, {"error": "x"}), ["invalid_grant"]), {"statuses": (400,)}),
            P(
                "401",
                (ex(401, {"error": "invalid_grant"}), ["invalid_grant"]),
                {"statuses": (400,)},
            ),
        ],
    ),
    # --- dpop ---
    "expect_dpop_nonce_header": (
        [
            P("nqchar", (ex(400, {"error": "use_dpop_nonce"}, headers=NONCE_HEADERS),)),
            P("on-success", (ex(201, PAR_OK, headers=[*JSON, ("DPoP-Nonce", "n")]),)),
        ],
        [
            P("none", (ex(400, {"error": "use_dpop_nonce"}),)),
            P("empty", (ex(400, {}, headers=[*JSON, ("DPoP-Nonce", "")]),)),
            P("space", (ex(400, {}, headers=[*JSON, ("DPoP-Nonce", "a b")]),)),
            P("quote", (ex(400, {}, headers=[*JSON, ("DPoP-Nonce", 'a"b')]),)),
            P("backslash", (ex(400, {}, headers=[*JSON, ("DPoP-Nonce", "a\\b")]),)),
            P("two", (ex(400, {}, headers=[*NONCE_HEADERS, ("DPoP-Nonce", "other")]),)),
        ],
    ),
    "expect_dpop_nonce_retry": (
        [
            P("fresh-assertion", (NONCE_CHALLENGE, NONCE_RETRY)),
            P(
                "mtls-auth",
                (
                    dpop_sent(
                        ex(400, {"error": "use_dpop_nonce"}, headers=NONCE_HEADERS), jti=None
                    ),
                    dpop_sent(ex(201, PAR_OK), nonce="eyJ7S_zG.9tNq~x", jti=None),
                ),
            ),
        ],
        [
            P("same-jti", (NONCE_CHALLENGE, dpop_sent(ex(201), nonce="eyJ7S_zG.9tNq~x"))),
            P("no-nonce", (NONCE_CHALLENGE, dpop_sent(ex(201), jti="a-2"))),
            P("other-nonce", (NONCE_CHALLENGE, dpop_sent(ex(201), nonce="old", jti="a-2"))),
            P("retry-refused", (NONCE_CHALLENGE, dpop_sent(ex(400), nonce="eyJ7S_zG.9tNq~x"))),
            P("not-a-challenge", (dpop_sent(ex(400, {"error": "invalid_request"})), NONCE_RETRY)),
            P("no-nonce-header", (dpop_sent(ex(400, {"error": "use_dpop_nonce"})), NONCE_RETRY)),
        ],
    ),
    # --- OAuth error syntax (client authentication / token endpoint plan) ---
    "expect_error_syntax": (
        [
            P("code-only", (ex(401, {"error": "invalid_client"}),)),
            P(
                "all-members",
                (
                    ex(
                        400,
                        {
                            "error": "invalid_request",
                            "error_description": "aud must be the issuer (see 5.3.2.1) ~ok",
                            "error_uri": "https://as.example.test/errors#aud",
                        },
                    ),
                ),
            ),
            P(
                "tab-left-to-the-other-check",
                (ex(400, {"error": "x", "error_description": "a\tb"}),),
            ),
            P("no-json-error", (ex(None, error="ConnectError"),)),
            P("relative-uri-reference", (ex(400, {"error": "x", "error_uri": "/errors/x"}),)),
        ],
        [
            P("quote-in-error", (ex(400, {"error": 'invalid"client'}),)),
            P("backslash-in-description", (ex(400, {"error": "x", "error_description": "a\\b"}),)),
            P(
                "non-ascii-description",
                (ex(400, {"error": "x", "error_description": "caf\u00e9"}),),
            ),
            P("space-in-uri", (ex(400, {"error": "x", "error_uri": "https://a.test/a b"}),)),
            P("error-not-string", (ex(400, {"error": 7}),)),
            P("empty-error", (ex(400, {"error": ""}),)),
        ],
    ),
    "expect_error_description_single_line": (
        [
            P("plain", (ex(400, {"error": "x", "error_description": "one line"}),)),
            P("none", (ex(401, {"error": "invalid_client"}),)),
        ],
        [
            P("lf", (ex(400, {"error": "x", "error_description": "two\nlines"}),)),
            P("cr", (ex(400, {"error": "x", "error_description": "a\rb"}),)),
            P("tab", (ex(400, {"error": "x", "error_description": "a\tb"}),)),
        ],
    ),
    # --- sender-constraint area: resource-server headers and the token's binding ---
    "expect_date_header": (
        [
            P("now", (ex(200, headers=[("Date", formatdate(time.time(), usegmt=True))]),)),
            P(
                "4-min-late",
                (ex(200, headers=[("Date", formatdate(time.time() - 240, usegmt=True))]),),
            ),
        ],
        [
            P("none", (ex(200, headers=[]),)),
            P(
                "6-min-ahead",
                (ex(200, headers=[("Date", formatdate(time.time() + 360, usegmt=True))]),),
            ),
            P("garbage", (ex(200, headers=[("Date", "yesterday")]),)),
            P("no-zone", (ex(200, headers=[("Date", "Sun, 06 Nov 1994 08:49:37")]),)),
            P("two", (ex(200, headers=[("Date", formatdate(usegmt=True))] * 2),)),
        ],
    ),
    "expect_interaction_id": (
        [
            P("echoed", (ex(200, headers=[("x-fapi-interaction-id", UUID_A)]), UUID_A)),
            P("absent", (ex(200, headers=[]), UUID_A)),
            P("minted", (ex(200, headers=[("x-fapi-interaction-id", UUID_B)]), None)),
        ],
        [
            P("other", (ex(200, headers=[("x-fapi-interaction-id", UUID_B)]), UUID_A)),
            P("not-uuid", (ex(200, headers=[("x-fapi-interaction-id", "abc")]), None)),
            P("two", (ex(200, headers=[("x-fapi-interaction-id", UUID_A)] * 2), UUID_A)),
        ],
    ),
    # --- TLS probes (issue 5) ---
    "expect_tls_version_refused": (
        [P("alert", (tls_probe("TLSv1.1", "refused"),))],
        [
            P("connected", (tls_probe("TLSv1.1", "connected", "TLSv1.1"),)),
            P("unavailable", (tls_probe("TLSv1.1", "unavailable"),)),
            P("unreachable", (tls_probe("TLSv1.1", "unreachable"),)),
        ],
    ),
    "expect_tls_version_accepted": (
        [P("tls13", (tls_probe("TLSv1.3", "connected", "TLSv1.3"),))],
        [
            P("refused", (tls_probe("TLSv1.3", "refused"),)),
            P("other-version", (tls_probe("TLSv1.3", "connected", "TLSv1.2"),)),
            P("unavailable", (tls_probe("TLSv1.3", "unavailable"),)),
        ],
    ),
    "expect_tls_version_negotiated": (
        [P("tls13", (tls_probe("TLSv1.2-TLSv1.3", "connected", "TLSv1.3"), "TLSv1.3"))],
        [
            P("tls12-chosen", (tls_probe("TLSv1.2-TLSv1.3", "connected", "TLSv1.2"), "TLSv1.3")),
            P("refused", (tls_probe("TLSv1.2-TLSv1.3", "refused"), "TLSv1.3")),
        ],
    ),
    "expect_only_recommended_tls12_suites": (
        [P("gcm-only", (SUITES_GOOD,))],
        [
            P("cbc", ([*SUITES_GOOD, tls_probe("TLSv1.2", "connected", "TLSv1.2", "AES128-SHA")],)),
            P("nothing-probed", ([],)),
        ],
    ),
    "expect_no_forbidden_tls12_suites": (
        [
            P("gcm-only", (SUITES_GOOD,)),
            P("cbc-allowed", ([tls_probe("TLSv1.2", "connected", "TLSv1.2", "AES128-SHA")],)),
        ],
        [
            P("null", ([*SUITES_GOOD, tls_probe("TLSv1.2", "connected", "TLSv1.2", "NULL-SHA")],)),
            P("anon", ([tls_probe("TLSv1.2", "connected", "TLSv1.2", "ADH-AES128-SHA")],)),
            P("des", ([tls_probe("TLSv1.2", "connected", "TLSv1.2", "EDH-RSA-DES-CBC-SHA")],)),
            P("nothing-probed", ([],)),
        ],
    ),
    "expect_tls_certificate_valid": (
        [P("verified", (tls_probe("TLSv1.3", "connected", "TLSv1.3", verified=True),))],
        [
            P("invalid", (tls_probe("TLSv1.3", "certificate_invalid"),)),
            P("not-verified", (tls_probe("TLSv1.3", "connected", "TLSv1.3"),)),
        ],
    ),
    "expect_token_binding": (
        [
            P("jkt", ({"active": True, "cnf": {"jkt": "t1"}}, "jkt", "t1", "the token")),
            P("x5t", ({"cnf": {"x5t#S256": "c1", "jkt": "x"}}, "x5t#S256", "c1", "the token")),
        ],
        [
            P("other-jkt", ({"cnf": {"jkt": "t2"}}, "jkt", "t1", "the token")),
            P("no-cnf", ({"active": True}, "jkt", "t1", "the token")),
            P("other-member", ({"cnf": {"jkt": "c1"}}, "x5t#S256", "c1", "the token")),
            P("cnf-string", ({"cnf": "t1"}, "jkt", "t1", "the token")),
        ],
    ),
}


# --- refresh tokens, id_token and keys (suites/fapi2_sp/{refresh,id_token,keys}) ---

RSA_2048 = RSAKey.generate_key(2048, {"kid": "rsa-1"}, private=False)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the short key is the point of the failing case
    RSA_1024 = RSAKey.generate_key(1024, {"kid": "rsa-short"}, private=False)
AS_PUBLIC = AS_KEY.as_dict(private=False)
OTHER_KEY = ECKey.generate_key("P-256", {"kid": "as-2"}, private=True)
TWO_KEYS = {"keys": [AS_PUBLIC, OTHER_KEY.as_dict(private=False)]}
SIGNED_BY_OTHER = jose.sign({"alg": "ES256", "kid": "as-2"}, ID_CLAIMS, AS_KEY)
NO_KID_TOKEN = jose.sign({"alg": "ES256"}, ID_CLAIMS, AS_KEY)
AT_HASH = jose.left_half_hash("at-123", "ES256")
REFRESHED = {**ID_CLAIMS, "iat": NOW + 60, "exp": NOW + 3660}

CASES.update(
    {
        "expect_public_keys_only": (
            [P("public", (JWKS,)), P("rsa-and-ec", ({"keys": [AS_PUBLIC, RSA_2048.as_dict()]},))],
            [
                P("ec-private", ({"keys": [AS_KEY.as_dict(private=True)]},)),
                P("oct", ({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]},)),
                P("rsa-prime", ({"keys": [{**RSA_2048.as_dict(), "p": "AQAB"}]},)),
            ],
        ),
        "expect_key_ids": (
            [P("all-kids", (TWO_KEYS,))],
            [
                P("one-missing", ({"keys": [AS_PUBLIC, {**AS_PUBLIC, "kid": ""}]},)),
                P("no-kid", ({"keys": [{k: v for k, v in AS_PUBLIC.items() if k != "kid"}]},)),
            ],
        ),
        "expect_key_sizes": (
            [P("2048-and-p256", ({"keys": [AS_PUBLIC, RSA_2048.as_dict()]},))],
            [
                P("rsa-1024", ({"keys": [AS_PUBLIC, RSA_1024.as_dict()]},)),
                P("ec-unknown-curve", ({"keys": [{**AS_PUBLIC, "crv": "P-192"}]},)),
            ],
        ),
        "expect_keys_parse": (
            [P("valid", (TWO_KEYS,))],
            [
                P("empty", ({"keys": []},)),
                P("no-keys", ({},)),
                P("rsa-no-e", ({"keys": [{"kty": "RSA", "n": "AQAB", "kid": "r"}]},)),
                P("bad-point", ({"keys": [{**AS_PUBLIC, "x": "AAAA", "y": "AAAA"}]},)),
                P("not-object", ({"keys": ["key"]},)),
            ],
        ),
        "expect_jws_signed_by_kid": (
            [P("by-kid", (GOOD_TOKEN, TWO_KEYS, "id_token"))],
            [
                P("other-key", (SIGNED_BY_OTHER, TWO_KEYS, "id_token")),
                P("no-kid", (NO_KID_TOKEN, TWO_KEYS, "id_token")),
                P("unknown-kid", (GOOD_TOKEN, {"keys": [OTHER_KEY.as_dict(private=False)]}, "t")),
                P("forged", (FORGED_TOKEN, JWKS, "id_token")),
            ],
        ),
        "expect_recent_time": (
            [P("now", (ID_CLAIMS, "iat")), P("4-min-ago", (claims(iat=NOW - 240), "iat"))],
            [
                P("10-min-ago", (claims(iat=NOW - 600), "iat")),
                P("10-min-ahead", (claims(iat=NOW + 600), "iat")),
                P("missing", (claims(iat=None), "iat")),
                P("string", (claims(iat=str(NOW)), "iat")),
            ],
        ),
        "expect_auth_time": (
            [P("recent", (claims(auth_time=NOW - 5), 600))],
            [
                P("missing", (ID_CLAIMS, 600)),
                P("too-old", (claims(auth_time=NOW - 3600), 600)),
                P("future", (claims(auth_time=NOW + 600), 600)),
                P("bool", (claims(auth_time=True), 600)),
            ],
        ),
        "expect_subject_format": (
            [P("short", (ID_CLAIMS,)), P("255", (claims(sub="s" * 255),))],
            [
                P("256", (claims(sub="s" * 256),)),
                P("non-ascii", (claims(sub="zoë"),)),
                P("empty", (claims(sub=""),)),
                P("number", (claims(sub=42),)),
            ],
        ),
        "expect_token_hash": (
            [
                P("absent", (ID_CLAIMS, "at_hash", "at-123", "ES256")),
                P("right", (claims(at_hash=AT_HASH), "at_hash", "at-123", "ES256")),
                P(
                    "eddsa",
                    (
                        claims(c_hash=jose.left_half_hash("c", "EdDSA")),
                        "c_hash",
                        "c",
                        "EdDSA",
                    ),
                ),
            ],
            [
                P("wrong", (claims(at_hash="AAAA"), "at_hash", "at-123", "ES256")),
                P("other-alg", (claims(at_hash=AT_HASH), "at_hash", "at-123", "PS512")),
                P("unknown-alg", (claims(s_hash="x"), "s_hash", "s", "none")),
            ],
        ),
        "expect_only_requested_claims": (
            [P("only-defined", (claims(nonce="n"), {*ID_CLAIMS, "nonce"}))],
            [P("extra", (claims(internal_id="7"), set(ID_CLAIMS)))],
        ),
        "expect_claims_present": (
            [P("all", ({"sub": "a", "email": "a@x"}, ["email"], "userinfo"))],
            [P("missing", ({"sub": "a"}, ["email", "name"], "userinfo"))],
        ),
        "expect_same_claims": (
            [
                P("same", (ID_CLAIMS, {"sub": "alice"}, ["sub"], "userinfo")),
                P("absent-in-first", ({}, {"sub": "bob"}, ["sub"], "userinfo")),
            ],
            [
                P("differs", (ID_CLAIMS, {"sub": "bob"}, ["sub"], "userinfo")),
                P("missing", (ID_CLAIMS, {}, ["sub"], "userinfo")),
            ],
        ),
        "expect_refreshed_id_token": (
            [
                P("consistent", (ID_CLAIMS, REFRESHED)),
                P("auth-time-kept", (claims(auth_time=NOW), {**REFRESHED, "auth_time": NOW})),
            ],
            [
                P("other-sub", (ID_CLAIMS, {**REFRESHED, "sub": "bob"})),
                P("other-aud", (ID_CLAIMS, {**REFRESHED, "aud": "other"})),
                P("auth-time-lost", (claims(auth_time=NOW), REFRESHED)),
                P("older-iat", (ID_CLAIMS, {**REFRESHED, "iat": NOW - 60})),
            ],
        ),
        "expect_refreshed_nonce": (
            [
                P("no-nonce", (claims(nonce="n"), REFRESHED)),
                P("same-nonce", (claims(nonce="n"), {**REFRESHED, "nonce": "n"})),
            ],
            [P("other-nonce", (claims(nonce="n"), {**REFRESHED, "nonce": "m"}))],
        ),
        "expect_refresh_token_kept": (
            [
                P("none", (ex(200, TOKEN_OK), "rt-1")),
                P("same", (ex(200, {**TOKEN_OK, "refresh_token": "rt-1"}), "rt-1")),
            ],
            [P("rotated", (ex(200, {**TOKEN_OK, "refresh_token": "rt-2"}), "rt-1"))],
        ),
    }
)


# --- multi-factor authentication and consent (provider_policy/mfa, consent) ---
MFA = "urn:example:mfa"
CONSENT = ("consent",)
CODE_BACK = front("callback", {"code": "c", "state": "s", "iss": ISSUER})
CASES.update(
    {
        "expect_acr": (
            [P("requested", (claims(acr=MFA), [MFA])), P("one-of", (claims(acr=MFA), ["x", MFA]))],
            [
                P("absent", (claims(), [MFA])),
                P("other", (claims(acr="urn:example:pwd"), [MFA])),
                P("not-a-string", (claims(acr=[MFA]), [MFA])),
            ],
        ),
        "expect_multi_factor_amr": (
            [
                P("pwd-otp", (claims(amr=["pwd", "otp"]),)),
                P("three", (claims(amr=["a", "b", "c"]),)),
            ],
            [
                P("absent", (claims(),)),
                P("one", (claims(amr=["pwd"]),)),
                P("repeated", (claims(amr=["pwd", "pwd"]),)),
                P("string", (claims(amr="pwd otp"),)),
            ],
        ),
        "expect_consent_shown": (
            [P("shown", (CODE_BACK, ("login", "consent"), CONSENT))],
            [
                P("skipped", (CODE_BACK, ("login",), CONSENT)),
                P("stuck", (front("stuck", status=200), ("login",), CONSENT)),
                P("undeclared", (CODE_BACK, ("login", "consent"), ())),
            ],
        ),
    }
)


# --- per-client FAPI enforcement (provider_policy/downgrade) ---
CONTROL = {"client_id": "control-1"}
CASES.update(
    {
        "expect_control_accepted": (
            [
                P(
                    "par-created",
                    (ex(201, {"request_uri": "urn:x", "expires_in": 60}), 201),
                    CONTROL,
                ),
                P("resource-served", (ex(200, {"sub": "a"}), 200), CONTROL),
                P("callback", (front("callback", {"code": "c", "state": "s"}), 0), CONTROL),
            ],
            [
                P("par-refused", (ex(400, {"error": "invalid_request"}), 201), CONTROL),
                P("no-answer", (NO_RESPONSE, 201), CONTROL),
                P("error-redirect", (front("callback", {"error": "access_denied"}), 0), CONTROL),
                P("error-page", (front("error_page", status=400), 0), CONTROL),
            ],
        ),
    }
)


# --- provider policy plan: granular access, short-lived tokens, revocation (access) ---
PAYMENT = {"type": "payment_initiation", "instructedAmount": {"currency": "EUR", "amount": "1"}}
BOUND = "policy.max_access_token_lifetime = 300 s, default"
INSUFFICIENT = 'DPoP error="insufficient_scope", scope="openid"'
CASES.update(
    {
        "expect_lifetime_at_most": (
            [
                P("below", (ex(200, TOKEN_OK), 3600), {"bound": BOUND}),
                P("equal", (ex(200, TOKEN_OK), 300), {"bound": BOUND}),
                P("par", (ex(201, PAR_OK), 60), {"bound": BOUND}),
            ],
            [
                P("above", (ex(200, TOKEN_OK), 299), {"bound": BOUND}),
                P("missing", (ex(200, {"access_token": "a"}), 300), {"bound": BOUND}),
                P("zero", (ex(200, {**TOKEN_OK, "expires_in": 0}), 300), {"bound": BOUND}),
                P("string", (ex(200, {**TOKEN_OK, "expires_in": "30"}), 300), {"bound": BOUND}),
                P("bool", (ex(200, {**TOKEN_OK, "expires_in": True}), 300), {"bound": BOUND}),
            ],
        ),
        "expect_authorization_details_granted": (
            [
                P("equal", (ex(200, {**TOKEN_OK, "authorization_details": [PAYMENT]}), [PAYMENT])),
                P(
                    "enriched",
                    (
                        ex(200, {**TOKEN_OK, "authorization_details": [{**PAYMENT, "id": "p1"}]}),
                        [PAYMENT],
                    ),
                ),
            ],
            [
                P("absent", (ex(200, TOKEN_OK), [PAYMENT])),
                P("empty", (ex(200, {**TOKEN_OK, "authorization_details": []}), [PAYMENT])),
                P(
                    "changed",
                    (
                        ex(
                            200,
                            {
                                **TOKEN_OK,
                                "authorization_details": [
                                    {**PAYMENT, "instructedAmount": {"currency": "EUR"}}
                                ],
                            },
                        ),
                        [PAYMENT],
                    ),
                ),
                P(
                    "other-type",
                    (
                        ex(200, {**TOKEN_OK, "authorization_details": [{"type": "x"}]}),
                        [PAYMENT],
                    ),
                ),
                P(
                    "not-a-list",
                    (ex(200, {**TOKEN_OK, "authorization_details": PAYMENT}), [PAYMENT]),
                ),
                P("error", (ex(400, {"error": "invalid_grant"}), [PAYMENT])),
            ],
        ),
        "expect_token_inactive": (
            [P("inactive", (ex(200, {"active": False}),))],
            [
                P("active", (ex(200, {"active": True, "sub": "alice"}),)),
                P("no-member", (ex(200, {}),)),
                P("falsy-string", (ex(200, {"active": "false"}),)),
                P("error", (ex(401, {"error": "invalid_client"}),)),
            ],
        ),
    }
)
CASES["expect_resource_refused"][0].append(
    P(
        "insufficient-scope-403",
        (ex(403, headers=[("WWW-Authenticate", INSUFFICIENT)]), ["DPoP"], ["insufficient_scope"]),
        {"statuses": (401, 403)},
    )
)
CASES["expect_resource_refused"][1].append(
    P(
        "403-not-allowed",
        (ex(403, headers=[("WWW-Authenticate", INSUFFICIENT)]), ["DPoP"], ["insufficient_scope"]),
    )
)


def _params(passing: bool) -> list[Any]:
    return [
        pytest.param(name, case, id=f"{name}[{case.label}]")
        for name, (good, bad) in CASES.items()
        for case in (good if passing else bad)
    ]


def run(name: str, case: Case, req: str) -> Finding:
    """Call the check ``name`` on ``case`` with requirement ``req``."""
    finding = getattr(checks, name)(*case.args, req=req, **case.kwargs)
    assert isinstance(finding, Finding)
    return finding


@pytest.mark.parametrize(("name", "case"), _params(True))
def test_check_passes(name: str, case: Case) -> None:
    """The check holds on good evidence and reports the requirement it was given."""
    req = f"TEST-{name}-{case.label}-ok"
    finding = run(name, case, req)
    assert finding.ok is True, finding
    assert finding.requirement == req
    assert finding.summary


@pytest.mark.parametrize(("name", "case"), _params(False))
def test_check_fails(name: str, case: Case) -> None:
    """The check does not hold on bad evidence, says why, and reports its requirement."""
    req = f"TEST-{name}-{case.label}-bad"
    finding = run(name, case, req)
    assert finding.ok is False, finding
    assert finding.requirement == req
    assert finding.summary
    assert finding.actual  # the reader sees what was observed


def test_every_check_has_both_outcomes() -> None:
    """Each public check has a passing and a failing case; no other name is listed."""
    assert set(CASES) == set(checks.__all__)
    for name in checks.__all__:
        assert callable(getattr(checks, name))
        good, bad = CASES[name]
        assert good, f"{name} has no passing case"
        assert bad, f"{name} has no failing case"
        labels = [c.label for c in (*good, *bad)]
        assert len(labels) == len(set(labels)), f"{name} has duplicate case labels"


def test_brief_describes_responses() -> None:
    """brief() names the status or the transport error, and shortens long bodies."""
    assert checks.http.brief(NO_RESPONSE) == "no response (ConnectError: connection refused)"
    assert checks.http.brief(ex(204)) == "HTTP 204"
    long = checks.http.brief(ex(200, raw="x" * 1000), limit=50)
    assert long == "HTTP 200 " + "x" * 50 + "…"


# --- bugs -----------------------------------------------------------------------------------


def test_resource_refused_accepts_unquoted_error() -> None:
    """WWW-Authenticate: Bearer error=invalid_token (token form) is a valid refusal."""
    refused = ex(401, headers=[("WWW-Authenticate", "Bearer realm=rs, error=invalid_token")])
    finding = checks.expect_resource_refused(refused, ["Bearer"], ["invalid_token"], req="R-1")
    assert finding.requirement == "R-1"
    assert finding.ok, finding


def test_oauth_error_accepts_unquoted_challenge_error() -> None:
    """A 401 whose only error code is an unquoted WWW-Authenticate parameter is recognised."""
    refused = ex(401, headers=[("WWW-Authenticate", "Basic error=invalid_client")])
    finding = checks.expect_oauth_error(refused, ["invalid_client"], req="R-2")
    assert finding.requirement == "R-2"
    assert finding.ok, finding


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("timeout", "ReadTimeout: timed out"),
        ("connect", "ConnectError: connection refused"),
        ("reset", "ReadError: connection reset by peer"),
        ("tls-certificate", "ConnectError: certificate verify failed"),
        (None, "ConnectError: connection refused"),
    ],
)
def test_refused_or_dropped_is_never_satisfied_by_a_fault(kind: str | None, error: str) -> None:
    """Only a TLS-level refusal stands in for an HTTP refusal: a timeout, a refused or reset
    connection or an untrusted certificate proves nothing, so the test cannot pass (ERROR)."""
    fault = dataclasses.replace(ex(None, error=error), error_kind=kind)
    with pytest.raises(NotTestable, match="not a TLS-level refusal"):
        checks.expect_refused_or_dropped(fault, ["invalid_client"], statuses=(401,), req="R-3")


def test_error_lists_must_not_be_plain_strings() -> None:
    """A plain string for ``errors`` would turn membership into a substring test: refused."""
    refused = Exchange("resource", "GET", "https://rs/x", [], "", "c", status=401)
    with pytest.raises(TypeError):
        checks.expect_oauth_error(refused, "invalid_request", req="PAR-2.2-1")
    with pytest.raises(TypeError):
        checks.expect_resource_refused(refused, ["DPoP"], "invalid_token", req="DPOP-7.1-1")


def test_acr_values_must_not_be_a_plain_string() -> None:
    """A plain string for ``allowed`` would turn membership into a substring test: refused."""
    with pytest.raises(TypeError):
        checks.expect_acr(claims(acr="mfa"), "urn:example:mfa", req="OIDC-5.5.1.1-1")


def test_consent_undeclared_is_inconclusive_not_failed() -> None:
    """Without a page declared as consent the harness cannot tell: REVIEW, never FAILED."""
    finding = checks.expect_consent_shown(CODE_BACK, ("login",), (), req="OIDC-3.1.2.4-1")
    assert not finding.ok
    assert finding.inconclusive


def test_control_refusal_is_inconclusive() -> None:
    """A refused positive control is never a plain pass or fail: a person reviews it."""
    refused = checks.expect_control_accepted(
        ex(400, {"error": "invalid_client"}), 201, client_id="ctl", req="R-1"
    )
    assert not refused.ok and refused.inconclusive
    assert "not proven" in refused.actual
