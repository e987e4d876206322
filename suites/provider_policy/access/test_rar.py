"""Granular access with Rich Authorization Requests (RFC 9396): the type the provider's policy
names (policy.rar_sample) is advertised, granted as requested, and anything else is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness import checks, flows, jose
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge


def _sample(target: TargetContext) -> dict[str, Any]:
    sample = target.config.policy.rar_sample
    if sample is None:
        pytest.skip("not applicable: policy.rar_sample is not configured (no RAR type to test)")
    return dict(sample)


def _push(client: Client, target: TargetContext, details: str, label: str) -> flows.Exchange:
    """PAR of a well-formed request carrying ``authorization_details`` (no browser needed)."""
    params = flows.authorization_params(client, jose.pkce_s256(), flows.new_state(), None)
    params["authorization_details"] = details
    return flows.post_as_client(
        client,
        label,
        target.discovery.endpoint("pushed_authorization_request_endpoint"),
        params,
        dpop=DpopSession() if client.uses_dpop else None,
    )


@pytest.mark.requirement("RAR-10-1")
def test_rar_types_advertised(target: TargetContext, judge: Judge) -> None:
    """Discovery is read. Passing means authorization_details_types_supported is a list that
    contains the type of policy.rar_sample (RFC 9396 10 has no keyword here: a WARNING if not)."""
    sample = _sample(target)
    flows.Collected([target.discovery.exchange]).attach()  # the exchange judged, as evidence
    judge.should(
        checks.expect_metadata_contains(
            target.discovery.metadata,
            "authorization_details_types_supported",
            str(sample["type"]),
            req="RAR-10-1",
        )
    )


@pytest.mark.requirement("RAR-7-1", "RAR-5-1")
def test_rar_granted_in_token_response(target: TargetContext, client: Client, judge: Judge) -> None:
    """An authorization request (through PAR) carries authorization_details=[policy.rar_sample];
    the user logs in and consents, and the code is redeemed. Passing means the token response
    returns authorization_details that grant the requested object, every member equal (the AS
    may add members, RFC 9396 7)."""
    sample = _sample(target)
    dpop = DpopSession() if client.uses_dpop else None
    token = flows.obtain_token_response(
        client, target, {"authorization_details": json.dumps([sample])}, dpop=dpop
    )
    judge.must(checks.expect_authorization_details_granted(token, [sample], req="RAR-7-1"))


@pytest.mark.negative
@pytest.mark.requirement("RAR-5-1")
def test_rar_unknown_type_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """PAR with authorization_details holding one object of a type no server defines
    (fapi_harness_unknown_type, otherwise like policy.rar_sample), with everything else
    well-formed. Passing means HTTP 400 invalid_authorization_details."""
    sample = _sample(target)
    unknown = {**sample, "type": "fapi_harness_unknown_type"}
    refused = _push(client, target, json.dumps([unknown]), "PAR with an unknown type")
    judge.must(
        checks.expect_oauth_error(
            refused, ["invalid_authorization_details"], statuses=(400,), req="RAR-5-1"
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("RAR-5-1")
def test_rar_malformed_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """PAR with malformed authorization_details, one request each: an object whose locations is
    a string, not an array of strings (RFC 9396 2.2), and each object of
    policy.rar_malformed_samples (refused by the type's own definition). Passing means HTTP 400
    invalid_authorization_details for every one."""
    sample = _sample(target)
    probes = [("locations not an array", {**sample, "locations": "https://example.com"})]
    probes += [
        (f"malformed sample {i + 1}", dict(bad))
        for i, bad in enumerate(target.config.policy.rar_malformed_samples)
    ]
    for what, bad in probes:
        refused = _push(client, target, json.dumps([bad]), f"PAR with {what}")
        judge.must(
            checks.expect_oauth_error(
                refused, ["invalid_authorization_details"], statuses=(400,), req="RAR-5-1"
            )
        )
