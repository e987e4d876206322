"""Per-client FAPI enforcement (suites/provider_policy/downgrade): the pure helpers that decide
whether a positive control applies and which control client can send a probe, and the client
authentication methods the flows speak for control clients."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest

from harness import flows, jose
from harness.checks import downgrade
from harness.config import ClientConfig
from harness.net import HttpClient

ISSUER = "https://as.example.test"

# What the honest reference target publishes: no downgrade is offered to any client, except
# those the metadata cannot show (no PKCE, bearer tokens, http redirect URIs).
FAPI_METADATA: dict[str, Any] = {
    "token_endpoint_auth_methods_supported": [
        "private_key_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
    ],
    "token_endpoint_auth_signing_alg_values_supported": ["PS256", "ES256"],
    "response_types_supported": ["code"],
    "require_pushed_authorization_requests": True,
    "code_challenge_methods_supported": ["S256"],
}

# A provider that offers every downgrade to some clients.
LAX_METADATA: dict[str, Any] = {
    "token_endpoint_auth_methods_supported": [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "none",
        "private_key_jwt",
    ],
    "token_endpoint_auth_signing_alg_values_supported": ["RS256", "HS256", "PS256"],
    "response_types_supported": ["code", "id_token", "code id_token"],
    "require_pushed_authorization_requests": False,
    "code_challenge_methods_supported": ["S256", "plain"],
}


@pytest.mark.parametrize(
    "probe",
    [p for p in downgrade.PROBES if p not in ("no_pkce", "bearer", "http_redirect")],
)
def test_unsupported_for_all_names_the_metadata(probe: str) -> None:
    """Where the metadata leaves a downgrade out, the reason names the member; where it lists
    it, a control is needed (None)."""
    reason = downgrade.unsupported_for_all(probe, FAPI_METADATA)
    assert reason is not None and "discovery's" in reason
    assert downgrade.unsupported_for_all(probe, LAX_METADATA) is None


@pytest.mark.parametrize("probe", ["no_pkce", "bearer", "http_redirect"])
def test_no_metadata_rules_out_what_it_cannot_show(probe: str) -> None:
    """No metadata says "no PKCE, bearer tokens or http redirect URIs for no client"."""
    assert downgrade.unsupported_for_all(probe, FAPI_METADATA) is None


def test_silent_metadata_needs_a_control() -> None:
    """A metadata document that does not list a member is no proof: a control is needed."""
    for probe in downgrade.PROBES:
        assert downgrade.unsupported_for_all(probe, {}) is None


def test_implicit_and_hybrid_are_told_apart() -> None:
    """An implicit type (no code) does not make hybrid supported, and the other way round."""
    implicit_only = {"response_types_supported": ["code", "id_token token"]}
    hybrid_only = {"response_types_supported": ["code", "code token"]}
    assert downgrade.unsupported_for_all("implicit", implicit_only) is None
    assert downgrade.unsupported_for_all("hybrid", implicit_only) is not None
    assert downgrade.unsupported_for_all("hybrid", hybrid_only) is None
    assert downgrade.unsupported_for_all("implicit", hybrid_only) is not None


def test_unknown_probe_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown downgrade probe"):
        downgrade.unsupported_for_all("nonsense", {})
    with pytest.raises(ValueError, match="unknown downgrade probe"):
        downgrade.control_expresses(
            "nonsense",
            auth_method="none",
            sender_constraint="bearer",
            redirect_uri="",
            key_type=None,
        )


def _expresses(probe: str, **settings: Any) -> bool:
    base: dict[str, Any] = {
        "auth_method": "private_key_jwt",
        "sender_constraint": "dpop",
        "redirect_uri": "https://client.example.test/cb",
        "key_type": "EC",
    }
    return downgrade.control_expresses(probe, **{**base, **settings})


@pytest.mark.parametrize(
    ("probe", "fits", "misfits"),
    [
        ("client_secret_basic", {"auth_method": "client_secret_basic"}, {}),
        ("client_secret_post", {"auth_method": "client_secret_post"}, {}),
        ("client_secret_jwt", {"auth_method": "client_secret_jwt"}, {}),
        ("none", {"auth_method": "none"}, {"auth_method": "client_secret_basic"}),
        ("rs256_assertion", {"key_type": "RSA"}, {"auth_method": "tls_client_auth"}),
        ("hs256_assertion", {"auth_method": "client_secret_jwt"}, {}),
        ("bearer", {"sender_constraint": "bearer"}, {"sender_constraint": "mtls"}),
        ("http_redirect", {"redirect_uri": "http://127.0.0.1:8080/cb"}, {}),
    ],
)
def test_control_expresses_only_what_it_can_send(
    probe: str, fits: dict[str, Any], misfits: dict[str, Any]
) -> None:
    """A control client can send a probe only with the registration the probe needs."""
    assert _expresses(probe, **fits)
    assert not _expresses(probe, **misfits)


@pytest.mark.parametrize("probe", ["implicit", "hybrid", "no_par", "no_pkce", "plain_pkce"])
def test_any_control_expresses_authorization_request_probes(probe: str) -> None:
    assert _expresses(probe)


# --- the client authentication methods of control clients ------------------------------------


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient("unit", ca_file=None)
    yield client
    client.close()


def _client(http: HttpClient, method: str, secret: str | None = "s3cr:et") -> flows.Client:
    config = ClientConfig(
        client_id="ctl 1",
        auth_method=method,
        sender_constraint="bearer",
        redirect_uri="http://127.0.0.1:8080/cb",
        client_secret=secret if method.startswith("client_secret") else None,
    )
    return flows.Client(config, http, ISSUER)


def test_client_secret_basic_goes_in_the_header(http: HttpClient) -> None:
    """RFC 6749 2.3.1: the form-urlencoded id and secret, joined by a colon, in Basic."""
    headers, form = _client(http, "client_secret_basic").authentication()
    assert form == {}
    assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == b"ctl+1:s3cr%3Aet"


def test_client_secret_post_goes_in_the_form(http: HttpClient) -> None:
    headers, form = _client(http, "client_secret_post").authentication()
    assert headers == {}
    assert form == {"client_id": "ctl 1", "client_secret": "s3cr:et"}


def test_none_sends_only_the_client_id(http: HttpClient) -> None:
    assert _client(http, "none").authentication() == ({}, {"client_id": "ctl 1"})


def test_client_secret_jwt_is_an_hmac_of_the_secret(http: HttpClient) -> None:
    """OIDC Core 9: an HS256 assertion keyed with the client secret, with the usual claims."""
    _, form = _client(http, "client_secret_jwt").authentication()
    token = form["client_assertion"]
    head, body, signature = token.split(".")
    mac = hmac.digest(b"s3cr:et", f"{head}.{body}".encode(), hashlib.sha256)
    assert jose.b64url(mac) == signature
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert claims["iss"] == claims["sub"] == "ctl 1"
    assert claims["aud"] == ISSUER
    assert form["client_assertion_type"].endswith("jwt-bearer")


def test_secret_methods_need_a_secret() -> None:
    with pytest.raises(ValueError, match="client_secret is required"):
        ClientConfig(
            client_id="c",
            auth_method="client_secret_jwt",
            sender_constraint="bearer",
            redirect_uri="http://127.0.0.1:8080/cb",
        )
