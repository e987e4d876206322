"""Granular access with scopes: a token reads only what its granted scopes cover (FAPI 2.0 SP
5.3.4, RFC 6750 3.1), and userinfo returns the claims of the granted scopes only (OIDC Core
5.4)."""

from __future__ import annotations

import pytest

from harness import checks, flows
from harness.config import ResourceConfig
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge, NotTestable

# OIDC Core 5.4: the claims the profile scope value requests.
PROFILE_CLAIMS = (
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
)


def _dpop(client: Client) -> DpopSession | None:
    return DpopSession() if client.uses_dpop else None


def _access_token(token: flows.Exchange) -> str:
    body = token.json()
    return str(body["access_token"]) if isinstance(body, dict) else ""


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.4-4", "BEARER-3.1-1")
def test_narrow_scope_cannot_read_resource(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """The client is authorized with policy.narrow_scope (default: its scope without
    policy.resource_scope), so its token lacks the scope the resource needs, and calls the
    resource with it. Passing means a refusal with error insufficient_scope (HTTP 401 or 403);
    RFC 6750 3.1 says 403, so another status is a WARNING."""
    policy = target.config.policy
    if policy.resource_scope is None:
        pytest.skip(
            "not applicable: policy.resource_scope (the scope the resource needs) is not set"
        )
    narrow = policy.narrow_scope or " ".join(
        s
        for s in client.config.scope.split()
        if s not in policy.resource_scope.split() and s != "offline_access"
    )
    if not narrow or policy.resource_scope in narrow.split():
        pytest.skip(
            f"not applicable: no narrow scope without {policy.resource_scope!r} "
            "(set policy.narrow_scope)"
        )
    dpop = _dpop(client)
    token = flows.obtain_token_response(
        client, target, {"scope": narrow, "prompt": None}, dpop=dpop
    )
    read = flows.call_resource(
        client,
        target.config.resource,
        _access_token(token),
        scheme="DPoP" if dpop else "Bearer",
        dpop=dpop,
        label=f"resource with a token of scope {narrow!r} (needs {policy.resource_scope!r})",
    )
    judge.must(
        checks.expect_resource_refused(
            read,
            ["Bearer", "DPoP"],
            ["insufficient_scope"],
            statuses=(401, 403),
            req="FAPI2SP-5.3.4-4",
        )
    )
    judge.should(
        checks.expect_resource_refused(
            read, ["Bearer", "DPoP"], ["insufficient_scope"], statuses=(403,), req="BEARER-3.1-1"
        )
    )


@pytest.mark.requirement("OIDC-5.4-1", "OIDC-5.4-2")
def test_userinfo_claims_follow_scopes(target: TargetContext, client: Client, judge: Judge) -> None:
    """The client is authorized with scope 'openid email' only, and calls the userinfo endpoint
    with the token. Passing means no claim of the profile scope (name, given_name, family_name,
    ...) comes back; the email claim should come back (a WARNING if not)."""
    userinfo = target.discovery.metadata.get("userinfo_endpoint")
    if not isinstance(userinfo, str) or not userinfo.startswith("https://"):
        pytest.skip("not applicable: the metadata has no https userinfo_endpoint")
    dpop = _dpop(client)
    token = flows.obtain_token_response(
        client, target, {"scope": "openid email", "prompt": None}, dpop=dpop
    )
    answer = flows.call_resource(
        client,
        ResourceConfig(url=userinfo, method="GET"),
        _access_token(token),
        scheme="DPoP" if dpop else "Bearer",
        dpop=dpop,
        label="userinfo with a token of scope 'openid email'",
    )
    claims = answer.json()
    if answer.status != 200 or not isinstance(claims, dict):
        raise NotTestable(f"set-up: userinfo answered HTTP {answer.status} without JSON claims")
    for name in PROFILE_CLAIMS:
        judge.must(checks.expect_param_absent(claims, name, req="OIDC-5.4-1"))
    judge.should(checks.expect_claims_present(claims, ["email"], "userinfo", req="OIDC-5.4-2"))
