"""The resource server and the bound access token: the binding the token carries (RFC 9449 6,
RFC 8705 3), no token in the URL query (FAPI 2.0 SP 5.3.4), response headers and Accept values.

The tests of one client share one bound access token (``flows.shared_tokens``): each test shows
the flow that obtained it and first checks that the resource accepts it with its binding (the
guard)."""

from __future__ import annotations

import uuid

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, TargetContext
from harness.verdict import Judge, NotTestable


def _tokens(target: TargetContext, client: Client) -> flows.Tokens:
    """The bound access token ``client``'s tests share, just shown to work with its binding."""
    return flows.shared_tokens(client, target)


def _binding(client: Client, variant: VariantConfig, tokens: flows.Tokens) -> tuple[str, str]:
    """The cnf member that must bind the token, and the value it must have."""
    if tokens.dpop is not None:
        return "jkt", tokens.dpop.jkt
    cert = client.config.cert_file
    if cert is None:
        raise NotTestable(f"variant {variant.name} binds with mTLS but has no certificate")
    return "x5t#S256", jose.cert_thumbprint(cert.read_bytes())


@pytest.mark.requirement("DPOP-6.1-1", "DPOP-6.2-1", "MTLS-3.1-1", "MTLS-3.1-2", "MTLS-3.2-1")
def test_access_token_carries_binding(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """After a normal flow (the token shared by this module's tests), the access token's binding
    is read: from its claims when it is a JWT,
    otherwise by token introspection (RFC 7662, authenticated as the client). Passing means
    cnf.jkt equals the RFC 7638 thumbprint of the DPoP key (RFC 9449 6.1, 6.2), or cnf.x5t#S256
    equals the SHA-256 thumbprint of the client certificate (RFC 8705 3.1, 3.2); a JWT without
    cnf.x5t#S256 is a WARNING (RFC 8705 3.1 says SHOULD). Skipped when the token is opaque and
    the server publishes no introspection endpoint."""
    introspection = "introspection_endpoint" in target.discovery.metadata
    tokens = _tokens(target, client)
    member, expected = _binding(client, variant, tokens)
    _, claims = flows.decode_jwt(tokens.access_token)
    if claims:
        if member == "jkt":
            judge.must(
                checks.expect_token_binding(
                    claims, "jkt", expected, "the JWT access token", req="DPOP-6.1-1"
                )
            )
        else:
            cnf = claims.get("cnf")
            finding = checks.expect_token_binding(
                claims, "x5t#S256", expected, "the JWT access token", req="MTLS-3.1-1"
            )
            if isinstance(cnf, dict) and "x5t#S256" in cnf:
                judge.must(finding)
            else:
                judge.should(
                    checks.expect_token_binding(
                        claims, "x5t#S256", expected, "the JWT access token", req="MTLS-3.1-2"
                    )
                )
        return
    if not introspection:
        pytest.skip(
            "not applicable: the access token is opaque and the server publishes no"
            " introspection_endpoint, so its binding cannot be read"
        )
    answer = flows.introspect(client, target.discovery, tokens.access_token)
    flows.require_success(answer, 200, "token introspection of the fresh access token")
    body = answer.json()
    if not isinstance(body, dict) or body.get("active") is not True:
        raise NotTestable("set-up: introspection does not report the fresh access token active")
    if member == "jkt":
        judge.must(
            checks.expect_token_binding(
                body, "jkt", expected, "the introspection response", req="DPOP-6.2-1"
            )
        )
    else:
        judge.must(
            checks.expect_token_binding(
                body, "x5t#S256", expected, "the introspection response", req="MTLS-3.2-1"
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.4-2")
def test_access_token_in_query_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """The bound access token is sent as the access_token URL query parameter (RFC 6750 2.3) with
    no Authorization header, over the client's own connection and, for DPoP, with a proof by the
    bound key. Passing means a 4xx refusal (FAPI 2.0 SP 5.3.4: the RS shall not accept tokens in
    the query), after the same token in the Authorization header was accepted (the guard of the
    shared token)."""
    tokens = _tokens(target, client)
    refused = flows.call_resource(
        client,
        target.config.resource,
        tokens.access_token,
        scheme=None,
        dpop=tokens.dpop,
        label="resource with the token in the URL query",
        query={"access_token": tokens.access_token},
    )
    judge.must(checks.expect_status_class(refused, (4,), req="FAPI2SP-5.3.4-2"))


@pytest.mark.requirement("FAPI2SP-5.3.4-1")
def test_auth_scheme_case_insensitive(target: TargetContext, client: Client, judge: Judge) -> None:
    """The bound access token is sent under its scheme written in inverted case: bEARER (mTLS)
    or dPOP (DPoP, with its proof). Auth schemes are case-insensitive (RFC 9110 11.1), so
    passing means HTTP 2xx."""
    tokens = _tokens(target, client)
    scheme = "dPOP" if tokens.dpop else "bEARER"
    served = flows.call_resource(
        client,
        target.config.resource,
        tokens.access_token,
        scheme=scheme,
        dpop=tokens.dpop,
        label=f"resource with the scheme written {scheme}",
    )
    judge.must(checks.expect_status_class(served, (2,), req="FAPI2SP-5.3.4-1"))


@pytest.mark.requirement("HTTP-6.6.1-1", "FAPI2IA-2.2.1-2")
def test_resource_response_headers(target: TargetContext, client: Client, judge: Judge) -> None:
    """The resource is called twice with the bound token: once sending x-fapi-interaction-id (a
    fresh UUID), once without. Passing means each answer is 2xx with a Date header within 5
    minutes (RFC 9110 6.6.1); an x-fapi-interaction-id that is returned must echo the one sent,
    or be a UUID when none was sent. The header is optional in FAPI 2.0 (Implementation Advice:
    only where an ecosystem adopts it), so a missing one passes and a wrong one is a WARNING."""
    tokens = _tokens(target, client)
    sent = str(uuid.uuid4())
    with_id = flows.call_with_binding(
        client,
        target,
        tokens,
        "resource with x-fapi-interaction-id",
        headers={"x-fapi-interaction-id": sent},
    )
    without_id = flows.call_with_binding(
        client, target, tokens, "resource without x-fapi-interaction-id"
    )
    for served, echo in ((with_id, sent), (without_id, None)):
        judge.must(checks.expect_status_class(served, (2,), req="FAPI2SP-5.3.4-1"))
        judge.must(checks.expect_date_header(served, req="HTTP-6.6.1-1"))
        judge.should(checks.expect_interaction_id(served, echo, req="FAPI2IA-2.2.1-2"))


@pytest.mark.requirement("HTTP-12.5.1-1")
@pytest.mark.parametrize(
    "accept",
    ["application/json", "application/json; charset=utf-8", "*/*", None],
    ids=["json", "json-utf8", "any", "none"],
)
def test_alternative_accept_values(
    target: TargetContext, client: Client, judge: Judge, accept: str | None
) -> None:
    """The resource is called with the bound token and Accept set to the given value, or with no
    Accept header at all. Each of these accepts a JSON answer (RFC 9110 12.5.1), so passing means
    2xx; a refusal (such as 406) is a WARNING."""
    tokens = _tokens(target, client)
    served = flows.call_with_binding(
        client,
        target,
        tokens,
        f"resource with Accept: {accept}" if accept else "resource with no Accept header",
        headers={"Accept": accept} if accept else None,
        drop_headers=() if accept else ("accept",),
    )
    judge.should(checks.expect_status_class(served, (2,), req="HTTP-12.5.1-1"))
