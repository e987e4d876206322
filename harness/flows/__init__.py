"""Flows: one function per protocol step. Each sends requests and returns what came back.

Flows never decide verdicts. They take explicit overrides so a test can send the defect it tests,
and they raise ``NotTestable`` only where a later step cannot run at all.
"""

from harness.evidence import Exchange
from harness.flows.aging import (
    AgedCode,
    AgedRequestUri,
    AgedToken,
    age_access_tokens,
    age_codes,
    age_request_uris,
)
from harness.flows.certificates import (
    Certificate,
    from_throwaway_ca,
    presenting,
    self_signed_like,
)
from harness.flows.client import Client, DpopSession
from harness.flows.steps import (
    Attempt,
    Collected,
    Discovery,
    Tokens,
    attempt_authorization,
    authorization_params,
    authorization_url,
    call_resource,
    collecting,
    decode_jwt,
    discover,
    fetch_jwks,
    introspect,
    new_state,
    note,
    obtain_code,
    obtain_token_response,
    obtain_tokens,
    own_query,
    post_as_client,
    push_authorization_request,
    redeem_code,
    refresh_tokens,
    require_callback,
    require_success,
    revoke_token,
    shared_tokens,
    wait_until,
)
from harness.flows.target import TargetContext
from harness.net import TransportFailure
from harness.tls import TlsScan
from harness.tls import scan as tls_scan

__all__ = [
    "AgedCode",
    "AgedRequestUri",
    "AgedToken",
    "Attempt",
    "Certificate",
    "Client",
    "Collected",
    "Discovery",
    "DpopSession",
    "Exchange",
    "TargetContext",
    "TlsScan",
    "Tokens",
    "TransportFailure",
    "age_access_tokens",
    "age_codes",
    "age_request_uris",
    "attempt_authorization",
    "authorization_params",
    "authorization_url",
    "call_resource",
    "collecting",
    "decode_jwt",
    "discover",
    "fetch_jwks",
    "from_throwaway_ca",
    "introspect",
    "new_state",
    "note",
    "obtain_code",
    "obtain_token_response",
    "obtain_tokens",
    "own_query",
    "post_as_client",
    "presenting",
    "push_authorization_request",
    "redeem_code",
    "refresh_tokens",
    "require_callback",
    "require_success",
    "revoke_token",
    "self_signed_like",
    "shared_tokens",
    "tls_scan",
    "wait_until",
]
