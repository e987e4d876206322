"""Flows: one function per protocol step. Each sends requests and returns what came back.

Flows never decide verdicts. They take explicit overrides so a test can send the defect it tests,
and they raise ``NotTestable`` only where a later step cannot run at all.
"""

from harness.flows.client import Client, DpopSession
from harness.flows.target import TargetContext
from harness.flows.steps import (
    Discovery,
    Tokens,
    authorization_params,
    authorization_url,
    call_resource,
    decode_jwt,
    discover,
    fetch_jwks,
    new_state,
    obtain_tokens,
    push_authorization_request,
    redeem_code,
    require_success,
)

__all__ = [
    "Client",
    "TargetContext",
    "decode_jwt",
    "Discovery",
    "DpopSession",
    "Tokens",
    "authorization_params",
    "new_state",
    "authorization_url",
    "call_resource",
    "discover",
    "fetch_jwks",
    "obtain_tokens",
    "push_authorization_request",
    "redeem_code",
    "require_success",
]
