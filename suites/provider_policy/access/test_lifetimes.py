"""Short-lived tokens: access tokens and pushed requests live no longer than the provider's
policy allows, and an expired access token is refused. Each test's findings show the bound used
and where it came from (the [policy] section of the target configuration, or its default)."""

from __future__ import annotations

import pytest

from harness import checks, flows, jose
from harness.config import PolicyConfig, VariantConfig
from harness.flows import AgedToken, Client, DpopSession, TargetContext
from harness.verdict import Judge, NotTestable


def _origin(policy: PolicyConfig, field: str) -> str:
    """Where a bound came from: the target configuration, or the documented default."""
    value = getattr(policy, field)
    where = "target configuration" if field in policy.model_fields_set else "default"
    return f"policy.{field} = {value} s, {where}"


@pytest.mark.requirement("BEARER-5.2-1")
def test_access_token_lifetime_within_policy(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A whole flow with the client's usual scope. Passing means the token response's
    expires_in is at most policy.max_access_token_lifetime (default 3600 s: RFC 6750 5.2
    recommends an hour or less)."""
    policy = target.config.policy
    token = flows.obtain_token_response(
        client, target, {}, dpop=DpopSession() if client.uses_dpop else None
    )
    judge.must(
        checks.expect_lifetime_at_most(
            token,
            policy.max_access_token_lifetime,
            bound=_origin(policy, "max_access_token_lifetime"),
            req="BEARER-5.2-1",
        )
    )


@pytest.mark.requirement("FAPI2SP-5.3.2.2-12")
def test_request_uri_lifetime_within_policy(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A well-formed request is pushed (no browser). Passing means the PAR expires_in is at most
    the provider's own policy.max_request_uri_lifetime. SKIPPED without that setting: FAPI 2.0's
    own bound (below 600 s) is tested by suites/fapi2_sp/par."""
    policy = target.config.policy
    if policy.max_request_uri_lifetime is None:
        pytest.skip(
            "not applicable: policy.max_request_uri_lifetime is not set (FAPI 2.0's bound "
            "below 600 s is tested by the fapi2_sp par tests)"
        )
    params = flows.authorization_params(client, jose.pkce_s256(), flows.new_state(), None)
    par = flows.push_authorization_request(
        client, target.discovery, params, dpop=DpopSession() if client.uses_dpop else None
    )
    flows.require_success(par, 201, "PAR")
    judge.must(
        checks.expect_lifetime_at_most(
            par,
            policy.max_request_uri_lifetime,
            bound=_origin(policy, "max_request_uri_lifetime"),
            req="FAPI2SP-5.3.2.2-12",
        )
    )


@pytest.mark.negative
@pytest.mark.slow("short_lived_tokens")
@pytest.mark.requirement("BEARER-5.2-1", "FAPI2SP-5.3.4-3b")
def test_short_lived_token_expires(
    target: TargetContext,
    client: Client,
    variant: VariantConfig,
    short_lived_tokens: dict[str, AgedToken | str],
    judge: Judge,
) -> None:
    """At the start of the run the client is authorized with its scope plus
    policy.short_lived_scope, and the token reads the resource at once (the control). Passing
    means: its expires_in is at most policy.short_lived_max_lifetime; and once expires_in plus
    policy.expiry_leeway (default 30 s, for clock skew) has passed, the resource refuses it with
    HTTP 401 invalid_token. The wait is
    made only when expires_in is at most policy.expiry_wait_max (default 120 s); a longer one is
    SKIPPED with the reason. SKIPPED without policy.short_lived_scope."""
    aged = short_lived_tokens[variant.name]
    if isinstance(aged, str):
        if aged.startswith("not applicable"):
            pytest.skip(aged)
        raise NotTestable(aged)
    aged.evidence.attach()
    policy = target.config.policy
    within = judge.must(
        checks.expect_lifetime_at_most(
            aged.response,
            policy.short_lived_max_lifetime,
            bound=_origin(policy, "short_lived_max_lifetime"),
            req="BEARER-5.2-1",
        )
    )
    if aged.control.status != 200:
        raise NotTestable(
            f"set-up: the fresh token did not read the resource (HTTP {aged.control.status})"
        )
    lifetime = aged.expires_in
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        raise NotTestable(f"the token response states no usable expires_in ({lifetime!r})")
    if lifetime > policy.expiry_wait_max:
        if not within:
            return  # the lifetime is already over the policy's bound: FAILED, no wait needed
        pytest.skip(
            f"not applicable: expires_in {lifetime} s is longer than the "
            f"{_origin(policy, 'expiry_wait_max')} this test waits"
        )
    leeway = policy.expiry_leeway
    flows.wait_until(
        aged.ready_at + leeway,
        f"the access token to expire (expires_in {lifetime} s, then the "
        f"{_origin(policy, 'expiry_leeway')} allowed for clock skew)",
    )
    late = flows.call_resource(
        client,
        target.config.resource,
        aged.access_token,
        scheme="DPoP" if aged.dpop else "Bearer",
        dpop=aged.dpop,
        label="resource with the expired access token",
    )
    judge.must(
        checks.expect_resource_refused(
            late, ["Bearer", "DPoP"], ["invalid_token"], statuses=(401,), req="FAPI2SP-5.3.4-3b"
        )
    )
