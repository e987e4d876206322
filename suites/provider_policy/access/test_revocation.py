"""Revocation (RFC 7009): where the target has a revocation endpoint, a revoked access token is
refused at the resource (and is inactive at introspection), and a revoked refresh token obtains
nothing more. Each token type has its own flow: a server may revoke the whole grant with either
(RFC 7009 2.1), which would leave the second check nothing of its own to show."""

from __future__ import annotations

from typing import Any

import pytest

from harness import checks, flows
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge, NotTestable


def _tokens(target: TargetContext, client: Client) -> tuple[dict[str, Any], DpopSession | None]:
    if not isinstance(target.discovery.metadata.get("revocation_endpoint"), str):
        pytest.skip("not applicable: the metadata has no revocation_endpoint (RFC 7009)")
    dpop = DpopSession() if client.uses_dpop else None
    body = flows.obtain_token_response(client, target, {}, dpop=dpop).json()
    return (body if isinstance(body, dict) else {}), dpop


@pytest.mark.negative
@pytest.mark.requirement("REVOKE-2.2-1", "REVOKE-2-2", "FAPI2SP-5.3.4-3c", "REVOKE-2.1-1")
def test_revoked_access_token_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """A flow gives an access token, which reads the resource (the control). It is revoked at
    revocation_endpoint (token_type_hint access_token), the client authenticated as at the token
    endpoint; then the resource is called with it and, where the target has introspection, it
    is introspected. Passing means: the revocation answers HTTP 200; the resource refuses the
    token with HTTP 401 invalid_token; introspection says active=false (RFC 7009 2.1: invalid at
    once). A server that does not revoke access tokens (unsupported_token_type) gets a WARNING
    (RFC 7009 2: SHOULD) and nothing else is checked. SKIPPED without a revocation_endpoint."""
    body, dpop = _tokens(target, client)
    access = str(body.get("access_token"))
    scheme = "DPoP" if dpop else "Bearer"
    fresh = flows.call_resource(
        client, target.config.resource, access, scheme=scheme, dpop=dpop, label="resource (control)"
    )
    flows.require_success(fresh, 200, "the resource call with the fresh access token")
    revoked = flows.revoke_token(client, target.discovery, access, "access_token")
    answer = revoked.json()
    if isinstance(answer, dict) and answer.get("error") == "unsupported_token_type":
        # RFC 7009 2.2.1: this server does not revoke access tokens (a SHOULD, RFC 7009 2).
        judge.should(checks.expect_status(revoked, 200, req="REVOKE-2-2"))
        return
    judge.must(checks.expect_status(revoked, 200, req="REVOKE-2.2-1"))
    after = flows.call_resource(
        client,
        target.config.resource,
        access,
        scheme=scheme,
        dpop=dpop,
        label="resource with the revoked access token",
    )
    judge.must(
        checks.expect_resource_refused(
            after, ["Bearer", "DPoP"], ["invalid_token"], statuses=(401,), req="FAPI2SP-5.3.4-3c"
        )
    )
    if isinstance(target.discovery.metadata.get("introspection_endpoint"), str):
        inactive = flows.introspect(client, target.discovery, access)
        judge.must(checks.expect_token_inactive(inactive, req="REVOKE-2.1-1"))


@pytest.mark.negative
@pytest.mark.requirement("REVOKE-2.2-1", "REVOKE-2-1")
def test_revoked_refresh_token_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """A flow gives a refresh token, which is used once (the control). It is then revoked at
    revocation_endpoint (token_type_hint refresh_token), the client authenticated as at the
    token endpoint, and used again. Passing means: the revocation answers HTTP 200 and the
    revoked refresh token gets HTTP 400 invalid_grant. SKIPPED without a revocation_endpoint."""
    body, dpop = _tokens(target, client)
    refresh = body.get("refresh_token")
    if not isinstance(refresh, str):
        raise NotTestable("set-up: the token response has no refresh_token to revoke")
    used = flows.refresh_tokens(
        client, target.discovery, refresh, dpop=dpop, label="refresh (control)"
    )
    flows.require_success(used, 200, "the refresh with the unrevoked refresh token")
    renewed = used.json()
    if isinstance(renewed, dict) and isinstance(renewed.get("refresh_token"), str):
        refresh = renewed["refresh_token"]  # a rotating server: the newest one is the live one
    revoked = flows.revoke_token(client, target.discovery, refresh, "refresh_token")
    judge.must(checks.expect_status(revoked, 200, req="REVOKE-2.2-1"))
    again = flows.refresh_tokens(
        client, target.discovery, refresh, dpop=dpop, label="refresh with the revoked token"
    )
    judge.must(
        checks.expect_oauth_error(again, ["invalid_grant"], statuses=(400,), req="REVOKE-2-1")
    )
