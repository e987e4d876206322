"""Discovery and metadata: the server describes itself as a FAPI 2.0 server (FAPI 2.0 SP
5.3.2.1, RFC 8414, OpenID Connect Discovery). Each test reads the discovery document the run
fetched once, and judges one group of members."""

from __future__ import annotations

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, TargetContext
from harness.verdict import Judge

OIDC_WELL_KNOWN = "/.well-known/openid-configuration"
# FAPI 2.0 SP 5.3.2.1 item 6: MTLS (RFC 8705 section 2) or private_key_jwt, nothing else.
CLIENT_AUTH_METHODS = ("private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth")
# Algorithms of JWTs the server signs (FAPI 2.0 SP 5.4.1 item 1.2, FAPI2SP-5.4.1-1.2a) ...
SIGNED_BY_SERVER = (
    "id_token_signing_alg_values_supported",
    "userinfo_signing_alg_values_supported",
    "authorization_signing_alg_values_supported",
    "introspection_signing_alg_values_supported",
)
# ... and of JWTs it accepts from clients (FAPI2SP-5.4.1-1.2b).
ACCEPTED_BY_SERVER = (
    "token_endpoint_auth_signing_alg_values_supported",
    "dpop_signing_alg_values_supported",
    "request_object_signing_alg_values_supported",
    "introspection_endpoint_auth_signing_alg_values_supported",
    "revocation_endpoint_auth_signing_alg_values_supported",
)


@pytest.fixture(autouse=True)
def _discovery_as_evidence(target: TargetContext) -> None:
    """Every test here judges the discovery exchange of the run: show it in each test."""
    flows.Collected([target.discovery.exchange]).attach()


@pytest.mark.negative
@pytest.mark.requirement("OIDD-4.2-1", "OIDD-4.3-1", "ASMETA-3.3-1", "ASMETA-2-1")
def test_discovery_document(target: TargetContext, judge: Judge) -> None:
    """The discovery document is fetched from the well-known URL of the configured issuer.
    Passing means HTTP 200 with a JSON object served as application/json, whose issuer is
    exactly the configured issuer, is the issuer the well-known URL was built from, and is an
    https URL without query or fragment."""
    meta = target.discovery.metadata
    judge.must(checks.expect_status(target.discovery.exchange, 200, req="OIDD-4.2-1"))
    judge.must(checks.expect_json_object(target.discovery.exchange, req="OIDD-4.2-1"))
    judge.must(checks.expect_metadata_issuer(meta, target.issuer, req="OIDD-4.3-1"))
    judge.must(
        checks.expect_issuer_matches_discovery_url(
            meta, target.config.discovery, req="ASMETA-3.3-1"
        )
    )
    judge.must(checks.expect_issuer_identifier(meta, req="ASMETA-2-1"))


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-2", "PAR-2-1")
def test_par_endpoint_advertised(target: TargetContext, judge: Judge) -> None:
    """The metadata is read for pushed_authorization_request_endpoint. Passing means it is
    present (a FAPI 2.0 server supports pushed authorization requests) and an https URL."""
    meta = target.discovery.metadata
    if judge.must(
        checks.expect_metadata_present(
            meta, "pushed_authorization_request_endpoint", req="FAPI2SP-5.3.2.2-2"
        )
    ):
        judge.must(
            checks.expect_metadata_https_url(
                meta, "pushed_authorization_request_endpoint", req="PAR-2-1"
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-3")
def test_par_required(target: TargetContext, judge: Judge) -> None:
    """The metadata is read for require_pushed_authorization_requests. Passing means it is
    true. FAPI 2.0 SP 5.3.2.2 requires every authorization request to be pushed; by RFC 9126
    section 5 a false or missing value tells clients the server also takes requests that were
    not pushed, which a FAPI 2.0 server must not do, so this is a failure, not a warning."""
    judge.must(
        checks.expect_metadata_true(
            target.discovery.metadata,
            "require_pushed_authorization_requests",
            req="FAPI2SP-5.3.2.2-3",
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("PKCE-4.2-1", "FAPI2SP-5.3.2.2-5")
def test_pkce_s256_advertised(target: TargetContext, judge: Judge) -> None:
    """The metadata is read for code_challenge_methods_supported. Passing means it lists S256
    (mandatory to implement, RFC 7636 4.2; by RFC 8414 a missing member means no PKCE at all)
    and nothing else: FAPI 2.0 SP 5.3.2.2 accepts S256 only, so plain must not be offered."""
    meta = target.discovery.metadata
    judge.must(
        checks.expect_metadata_contains(
            meta, "code_challenge_methods_supported", "S256", req="PKCE-4.2-1"
        )
    )
    judge.must(
        checks.expect_metadata_within(
            meta, "code_challenge_methods_supported", ["S256"], req="FAPI2SP-5.3.2.2-5"
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-1", "ISS-2.3-2")
def test_authorization_response_advertised(target: TargetContext, judge: Judge) -> None:
    """The metadata is read for response_types_supported and
    authorization_response_iss_parameter_supported. Passing means the response types are
    exactly ["code"] (FAPI 2.0 SP 5.3.2.2 accepts response_type=code only) and the iss
    authorization response parameter is announced as supported (true, RFC 9207 section 3)."""
    meta = target.discovery.metadata
    judge.must(
        checks.expect_metadata_contains(
            meta, "response_types_supported", "code", req="FAPI2SP-5.3.2.2-1"
        )
    )
    judge.must(
        checks.expect_metadata_within(
            meta, "response_types_supported", ["code"], req="FAPI2SP-5.3.2.2-1"
        )
    )
    judge.must(
        checks.expect_metadata_true(
            meta, "authorization_response_iss_parameter_supported", req="ISS-2.3-2"
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-6")
def test_client_authentication_methods(target: TargetContext, judge: Judge) -> None:
    """The metadata is read for token_endpoint_auth_methods_supported. Passing means it lists
    only private_key_jwt, tls_client_auth and self_signed_tls_client_auth, and includes the
    method of every configured client. Any other method (client_secret_basic, client_secret_post,
    client_secret_jwt, none) is a FAILURE, not a warning: FAPI 2.0 SP 5.3.2.1 says the server
    "shall" authenticate clients with MTLS or private_key_jwt (item 6) and serve confidential
    clients only (item 3), with no room for other methods, so a server announcing one does not
    meet the profile. A missing member fails too: RFC 8414 then means client_secret_basic."""
    meta = target.discovery.metadata
    judge.must(
        checks.expect_metadata_within(
            meta,
            "token_endpoint_auth_methods_supported",
            CLIENT_AUTH_METHODS,
            req="FAPI2SP-5.3.2.1-6",
        )
    )
    for method in sorted({c.auth_method for c in target.config.clients}):
        judge.must(
            checks.expect_metadata_contains(
                meta, "token_endpoint_auth_methods_supported", method, req="FAPI2SP-5.3.2.1-6"
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.4.1-1.2a", "FAPI2SP-5.4.1-1.2b")
def test_signing_algorithms(target: TargetContext, judge: Judge) -> None:
    """The metadata's *_signing_alg_values_supported members are read: for the JWTs the server
    signs (id_token, userinfo, JARM responses, introspection responses) and for those it accepts
    (client assertions at the token, introspection and revocation endpoints, DPoP proofs,
    request objects). Passing means every one that is present lists only PS256, ES256 or EdDSA
    (FAPI 2.0 SP 5.4.1): no RS256, no HS256, no none. Absent members announce nothing and pass;
    the schema test checks that the required ones are there."""
    meta = target.discovery.metadata
    for name in SIGNED_BY_SERVER:
        judge.must(
            checks.expect_metadata_within(
                meta, name, jose.FAPI_ALGS, required=False, req="FAPI2SP-5.4.1-1.2a"
            )
        )
    for name in ACCEPTED_BY_SERVER:
        judge.must(
            checks.expect_metadata_within(
                meta, name, jose.FAPI_ALGS, required=False, req="FAPI2SP-5.4.1-1.2b"
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-5")
def test_mtls_bound_tokens_advertised(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """For a variant whose access tokens are bound to the client certificate, the metadata is
    read for tls_client_certificate_bound_access_tokens. Passing means it is true (RFC 8705
    section 3.3: a missing member means false, that is no certificate-bound tokens)."""
    if client.uses_dpop:
        pytest.skip(f"not applicable: variant {variant.name} binds tokens with DPoP, not mTLS")
    judge.must(
        checks.expect_metadata_true(
            target.discovery.metadata,
            "tls_client_certificate_bound_access_tokens",
            req="FAPI2SP-5.3.2.1-5",
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-5")
def test_dpop_advertised(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """For a variant whose access tokens are DPoP-bound, the metadata is read for
    dpop_signing_alg_values_supported (RFC 9449 section 5.1). Passing means it is present and
    not empty: the server announces DPoP and the algorithms it takes for proofs (that they are
    FAPI algorithms is checked by test_signing_algorithms)."""
    if not client.uses_dpop:
        pytest.skip(f"not applicable: variant {variant.name} binds tokens with mTLS, not DPoP")
    judge.must(
        checks.expect_metadata_present(
            target.discovery.metadata,
            "dpop_signing_alg_values_supported",
            req="FAPI2SP-5.3.2.1-5",
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-1")
def test_metadata_schema(target: TargetContext, judge: Judge) -> None:
    """The whole document is validated against the JSON Schema of RFC 8414 (and, when fetched
    from /.well-known/openid-configuration, of OpenID Connect Discovery 3) that ships in
    harness/checks/schemas: required members, types, https endpoints, no empty arrays. Passing
    means no violation (else FAILURE) and no member outside the known specifications (RFC 8414,
    OpenID Connect Discovery and logout specs, PAR, DPoP, mTLS, RFC 9207, JAR, JARM, RAR, JWT
    introspection, device flow, CIBA). An unknown member is only a WARNING, since RFC 8414
    allows extensions, but it often is a misspelt standard one."""
    meta = target.discovery.metadata
    openid = target.config.discovery.rstrip("/").endswith(OIDC_WELL_KNOWN)
    judge.must(checks.expect_metadata_schema(meta, openid=openid, req="FAPI2SP-5.3.2.1-1"))
    judge.should(checks.expect_known_metadata_members(meta, req="FAPI2SP-5.3.2.1-1"))
