"""Per-client FAPI enforcement (plan provider_policy/downgrade): the downgrade probes, when a
target's discovery shows a probe's feature is supported for no client at all, which control
client can express a probe, and the positive control's check.

A FAPI client's refusal of a downgrade proves enforcement only if the same probe, sent by a
non-FAPI control client, is accepted (else the probe itself may be broken). Where the metadata
shows the target supports the downgraded feature for no client, no control can succeed and the
FAPI client's refusal alone decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.checks.authorization import FrontChannel
from harness.checks.http import brief
from harness.evidence import Exchange
from harness.verdict import Finding

# The client authentication methods FAPI 2.0 SP 5.3.2.1 forbids, each a probe of its own.
SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")
AUTH_PROBES = (*SECRET_METHODS, "none")
PROBES = (
    *AUTH_PROBES,
    "implicit",
    "hybrid",
    "no_par",
    "no_pkce",
    "plain_pkce",
    "rs256_assertion",
    "hs256_assertion",
    "bearer",
    "http_redirect",
)

# Response types of the implicit flow (no code) and of the hybrid flow (code and more).
IMPLICIT = "id_token"
HYBRID = "code id_token"


def _listed(metadata: Mapping[str, Any], name: str) -> list[str] | None:
    value = metadata.get(name)
    if not isinstance(value, list):
        return None
    return [v for v in value if isinstance(v, str)]


def _lacks(metadata: Mapping[str, Any], name: str, wanted: str, what: str) -> str | None:
    values = _listed(metadata, name)
    if values is None or wanted in values:
        return None
    return f"discovery's {name} {values} has no {wanted}: the target offers {what} to no client"


def unsupported_for_all(probe: str, metadata: Mapping[str, Any]) -> str | None:
    """Why the target's metadata shows that it supports ``probe``'s downgrade for no client at
    all (so no control client can succeed with it), or None when the metadata does not say so
    (it lists the feature, or is silent about it: a control is then needed)."""
    if probe not in PROBES:
        raise ValueError(f"unknown downgrade probe {probe!r}")
    if probe in AUTH_PROBES:
        return _lacks(metadata, "token_endpoint_auth_methods_supported", probe, probe)
    if probe in ("implicit", "hybrid"):
        types = _listed(metadata, "response_types_supported")
        if types is None:
            return None
        sets = [frozenset(t.split()) for t in types]
        if probe == "implicit":
            found = [t for t, s in zip(types, sets, strict=True) if "code" not in s and s]
        else:
            found = [t for t, s in zip(types, sets, strict=True) if "code" in s and len(s) > 1]
        if found:
            return None
        return f"discovery's response_types_supported {types} has no {probe} response type"
    if probe == "no_par":
        if metadata.get("require_pushed_authorization_requests") is True:
            return "discovery's require_pushed_authorization_requests is true: PAR for every client"
        return None
    if probe == "plain_pkce":
        return _lacks(metadata, "code_challenge_methods_supported", "plain", "plain PKCE")
    if probe in ("rs256_assertion", "hs256_assertion"):
        alg = "RS256" if probe == "rs256_assertion" else "HS256"
        return _lacks(
            metadata,
            "token_endpoint_auth_signing_alg_values_supported",
            alg,
            f"{alg} client assertions",
        )
    return None  # no_pkce, bearer, http_redirect: no metadata says "for no client"


def control_expresses(
    probe: str,
    *,
    auth_method: str,
    sender_constraint: str,
    redirect_uri: str,
    key_type: str | None,
) -> bool:
    """Can a control client with these settings send ``probe`` as a request it should be
    granted? Authentication probes need a client registered for that method, RS256 one with an
    RSA key for private_key_jwt, HS256 a client_secret_jwt client, the Bearer probe a client with
    unbound tokens and the http probe one whose redirect URI is http; the authorization request
    probes (response types, PAR, PKCE) any control client."""
    if probe not in PROBES:
        raise ValueError(f"unknown downgrade probe {probe!r}")
    if probe in AUTH_PROBES:
        return auth_method == probe
    if probe == "rs256_assertion":
        return auth_method == "private_key_jwt" and key_type == "RSA"
    if probe == "hs256_assertion":
        return auth_method == "client_secret_jwt"
    if probe == "bearer":
        return sender_constraint == "bearer"
    if probe == "http_redirect":
        return redirect_uri.startswith("http://")
    return True


def expect_control_accepted(
    outcome: Exchange | FrontChannel, status: int, *, client_id: str, req: str
) -> Finding:
    """Positive control: the same probe, sent by the non-FAPI control client ``client_id``, was
    accepted (an exchange answered ``status``; an authorization ended at the client's redirect
    URI without an error). A refusal leaves the probe unproven: the finding is inconclusive, so
    the FAPI client's refusal cannot count as enforcement without a person's review."""
    summary = f"positive control: the same probe from non-FAPI client {client_id} is accepted"
    if isinstance(outcome, Exchange):
        ok = outcome.status == status
        expected = f"HTTP {status}"
        actual = brief(outcome, 200)
    else:
        params = {**outcome.fragment, **outcome.params}
        ok = outcome.kind == "callback" and "error" not in params
        expected = "a redirect to the client without an error"
        actual = f"{outcome.kind} at {outcome.url}"
    if not ok:
        actual += (
            " (the probe is not proven well-formed, so the FAPI client's refusal does not "
            "show per-client enforcement)"
        )
    return Finding(req, ok, summary, expected, actual, inconclusive=not ok)
