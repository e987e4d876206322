"""DPoP at the resource server: every check of RFC 9449 4.3 and 7.1 on the proof that comes with a
DPoP-bound access token (the OIDF dpop-negative-tests module, one test per case).

As in the OIDF module, the tests of one client share one DPoP-bound access token
(``flows.shared_tokens``): each test shows the flow that obtained it and first checks, with a
correct proof, that the resource still accepts it (the guard), so a refusal that follows is the
test's doing. Only the RS256 case of ``test_proof_alg_refused`` binds a token of its own."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge

REFUSALS = ["invalid_dpop_proof", "invalid_token", "invalid_request"]


def _dpop_tokens(target: TargetContext, client: Client, variant: VariantConfig) -> flows.Tokens:
    """The DPoP-bound access token ``client``'s tests share, shown to work with a correct proof
    just before (the test skips on mTLS-bound variants)."""
    if not client.uses_dpop:
        pytest.skip(f"not applicable: variant {variant.name} binds tokens with mTLS, not DPoP")
    tokens = flows.shared_tokens(client, target)
    _session(tokens)
    return tokens


def _session(tokens: flows.Tokens) -> DpopSession:
    if tokens.dpop is None:
        raise TypeError("a DPoP client's flow returned no DPoP session")
    return tokens.dpop


def _proof(target: TargetContext, tokens: flows.Tokens, **overrides: Any) -> Callable[[], str]:
    """A proof for the resource request with ``overrides`` (made at send time: latest nonce)."""
    resource = target.config.resource
    session = _session(tokens)
    return lambda: session.proof(
        resource.method, resource.url, access_token=tokens.access_token, **overrides
    )


def _call(
    target: TargetContext,
    client: Client,
    tokens: flows.Tokens,
    label: str,
    proof: str | Callable[[], str] | None,
    **kwargs: Any,
) -> flows.Exchange:
    return flows.call_resource(
        client,
        target.config.resource,
        tokens.access_token,
        scheme=kwargs.pop("scheme", "DPoP"),
        dpop=tokens.dpop,
        label=label,
        proof=proof,
        **kwargs,
    )


# --- accepted ---------------------------------------------------------------------------------


@pytest.mark.requirement("FAPI2SP-5.3.4-1")
@pytest.mark.parametrize(
    ("header", "scheme"), [("dpop", "DPoP"), ("DPoP", "dPOP")], ids=["header-lower", "scheme-mixed"]
)
def test_case_insensitive_names_accepted(
    target: TargetContext,
    client: Client,
    variant: VariantConfig,
    judge: Judge,
    header: str,
    scheme: str,
) -> None:
    """A correct proof is sent with the header name in lower case (dpop), or the token under the
    scheme written dPOP. Header names and auth schemes are case-insensitive (RFC 9110 5.1, 11.1):
    passing means HTTP 200."""
    tokens = _dpop_tokens(target, client, variant)
    served = _call(
        target,
        client,
        tokens,
        f"resource with header {header!r} and scheme {scheme!r}",
        _proof(target, tokens),
        scheme=scheme,
        proof_header=header,
    )
    judge.must(checks.expect_status(served, 200, req="FAPI2SP-5.3.4-1"))


def _with_query(url: str, query: str, fragment: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=query, fragment=fragment))


@pytest.mark.requirement("DPOP-4.3-9b")
@pytest.mark.parametrize("change", ["added-query", "added-fragment"])
def test_htu_query_and_fragment_ignored(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge, change: str
) -> None:
    """A correct proof whose htu carries a query or a fragment the request does not have. The RS
    compares htu without query and fragment (RFC 9449 4.3): passing means HTTP 200."""
    tokens = _dpop_tokens(target, client, variant)
    url = target.config.resource.url
    htu = _with_query(url, "dummy=1", "") if change == "added-query" else _with_query(url, "", "x")
    served = _call(
        target,
        client,
        tokens,
        f"resource, htu {htu}",
        _proof(target, tokens, extra_claims={"htu": htu}),
    )
    judge.must(checks.expect_status(served, 200, req="DPOP-4.3-9b"))


@pytest.mark.requirement("FAPI2SP-5.3.4-1")
def test_extra_members_accepted(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A correct proof that also carries a header member and a claim the RS does not know.
    Unknown members are ignored (RFC 9449 4.2, RFC 7515 4): passing means HTTP 200."""
    tokens = _dpop_tokens(target, client, variant)
    header, claims = flows.decode_jwt(_proof(target, tokens)())
    header["fapi_harness"] = "extra header member"
    claims["fapi_harness"] = "extra claim"
    proof = jose.sign_raw(header, claims, _session(tokens).key)
    served = _call(target, client, tokens, "resource, proof with extra members", proof)
    judge.must(checks.expect_status(served, 200, req="FAPI2SP-5.3.4-1"))


def _normalised_variant(url: str, change: str) -> str | None:
    """``url`` spelt differently but equivalent (RFC 3986 6.2.2, 6.2.3); None if it cannot be."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if change == "scheme-upper":
        return urlunsplit(parts._replace(scheme=parts.scheme.upper()))
    if change == "host-upper":
        if host.upper() == host:
            return None
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(host, host.upper())))
    if parts.port is not None:
        return None
    default = {"https": 443, "http": 80}[parts.scheme.lower()]
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))


@pytest.mark.requirement("DPOP-4.3-13b")
@pytest.mark.parametrize("change", ["scheme-upper", "host-upper", "default-port"])
def test_htu_normalised(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge, change: str
) -> None:
    """A correct proof whose htu is the resource URL with its scheme or host in upper case, or
    with its default port written out. The RS should normalise URIs before comparing (RFC 9449
    4.3, RFC 3986 6.2.2 and 6.2.3): passing means HTTP 200; a refusal is a WARNING."""
    htu = _normalised_variant(target.config.resource.url, change)
    if htu is None:
        pytest.skip(
            f"not applicable: the resource URL {target.config.resource.url} has no {change} form"
            " (its host has no letters, or it already names a port)"
        )
    tokens = _dpop_tokens(target, client, variant)
    served = _call(
        target,
        client,
        tokens,
        f"resource, htu {htu}",
        _proof(target, tokens, extra_claims={"htu": htu}),
    )
    judge.should(checks.expect_status(served, 200, req="DPOP-4.3-13b"))


# --- refused ----------------------------------------------------------------------------------


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-1b")
def test_two_dpop_headers_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """The request carries two DPoP header fields, each a correct proof. Passing means HTTP
    400/401 with a DPoP challenge (invalid_dpop_proof, invalid_token or invalid_request)."""
    tokens = _dpop_tokens(target, client, variant)
    make = _proof(target, tokens)
    refused = flows.call_resource(
        client,
        target.config.resource,
        tokens.access_token,
        scheme="DPoP",
        dpop=tokens.dpop,
        label="resource with two DPoP headers",
        header_list=[("DPoP", make()), ("DPoP", make())],
    )
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-1b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-2b")
def test_malformed_proof_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """The DPoP header holds something that is not a JWT. Passing means HTTP 400/401 with a DPoP
    challenge (invalid_dpop_proof, invalid_token or invalid_request)."""
    tokens = _dpop_tokens(target, client, variant)
    refused = _call(target, client, tokens, "resource with a malformed proof", "not.a-jwt")
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-2b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-3b")
@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat", "ath"])
def test_proof_missing_claim_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge, claim: str
) -> None:
    """A proof without one required claim (jti, htm, htu, iat, or ath, which is required with an
    access token). Passing means HTTP 400/401 with a DPoP challenge."""
    tokens = _dpop_tokens(target, client, variant)
    refused = _call(
        target,
        client,
        tokens,
        f"resource, proof without {claim}",
        _proof(target, tokens, omit=[claim]),
    )
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-3b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-4b")
@pytest.mark.parametrize("typ", [None, "JWT"], ids=["missing", "JWT"])
def test_proof_typ_refused(
    target: TargetContext,
    client: Client,
    variant: VariantConfig,
    judge: Judge,
    typ: str | None,
) -> None:
    """A proof without the typ header, or with typ JWT instead of dpop+jwt. Passing means HTTP
    400/401 with a DPoP challenge."""
    tokens = _dpop_tokens(target, client, variant)
    overrides: dict[str, Any] = {"omit": ["typ"]} if typ is None else {"extra_header": {"typ": typ}}
    refused = _call(
        target,
        client,
        tokens,
        f"resource, proof with typ {typ}",
        _proof(target, tokens, **overrides),
    )
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-4b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-5b")
@pytest.mark.parametrize("alg", ["missing", "none", "RS256"])
def test_proof_alg_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge, alg: str
) -> None:
    """A proof without alg (signed ES256 all the same), an unsigned proof with alg none, or an
    RS256 proof. Passing means HTTP 400/401 with a DPoP challenge. For RS256 the flow binds a
    fresh RSA DPoP key (PS256 proofs at PAR and token), a PS256 proof by that key is first shown
    to be accepted at the resource, then the same key signs the proof with RS256."""
    if alg == "RS256":
        if not client.uses_dpop:
            pytest.skip(f"not applicable: variant {variant.name} binds tokens with mTLS, not DPoP")
        tokens = flows.obtain_tokens(
            client,
            target.discovery,
            target.browser,
            target.config.browser.login,
            dpop=DpopSession(key=jose.new_rsa_dpop_key()),
        )
        control = _call(
            target, client, tokens, "resource, PS256 proof by the RSA key", _proof(target, tokens)
        )
        flows.require_success(control, 200, "the resource call with a PS256 proof")
        ps256 = _proof(target, tokens)

        def rs256() -> str:
            header, claims = flows.decode_jwt(ps256())
            return jose.sign({**header, "alg": "RS256"}, claims, _session(tokens).key)

        refused = _call(target, client, tokens, "resource, proof with alg RS256", rs256)
        judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-5b"))
        return
    tokens = _dpop_tokens(target, client, variant)
    session = _session(tokens)
    header, claims = flows.decode_jwt(_proof(target, tokens)())
    if alg == "missing":
        del header["alg"]
        proof = jose.sign_raw(header, claims, session.key)
    else:
        header["alg"] = "none"
        proof = jose.unsigned(header, claims)
    refused = _call(target, client, tokens, f"resource, proof with alg {alg}", proof)
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-5b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-6b")
@pytest.mark.parametrize("defect", ["no-jwk", "bad-signature"])
def test_proof_signature_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge, defect: str
) -> None:
    """A proof without the jwk header (nothing to verify it with), or whose signature is broken
    (one bit flipped). Passing means HTTP 400/401 with a DPoP challenge."""
    tokens = _dpop_tokens(target, client, variant)
    if defect == "no-jwk":
        proof = _proof(target, tokens, omit=["jwk"])()
    else:
        proof = jose.flip_signature_bit(_proof(target, tokens)())
    refused = _call(target, client, tokens, f"resource, proof with {defect}", proof)
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-6b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-7b")
def test_private_key_in_jwk_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A proof whose jwk header carries the private key (d) as well. Passing means HTTP 400/401
    with a DPoP challenge."""
    tokens = _dpop_tokens(target, client, variant)
    private = dict(_session(tokens).key.as_dict(private=True))
    proof = _proof(target, tokens, extra_header={"jwk": private})
    refused = _call(target, client, tokens, "resource, private key in jwk", proof)
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-7b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-8b")
def test_wrong_htm_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A proof whose htm names another method (PUT) than the request's. Passing means HTTP
    400/401 with a DPoP challenge."""
    tokens = _dpop_tokens(target, client, variant)
    htm = "PUT"  # the resource is called with GET or POST
    proof = _proof(target, tokens, extra_claims={"htm": htm})
    refused = _call(target, client, tokens, f"resource, proof with htm {htm}", proof)
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-8b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-9b")
def test_wrong_htu_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A proof whose htu is another URL on the same server. Passing means HTTP 400/401 with a DPoP
    challenge."""
    tokens = _dpop_tokens(target, client, variant)
    parts = urlsplit(target.config.resource.url)
    htu = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "-other", query=""))
    proof = _proof(target, tokens, extra_claims={"htu": htu})
    refused = _call(target, client, tokens, f"resource, proof with htu {htu}", proof)
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-9b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-11b")
@pytest.mark.parametrize("offset", [3600, -3600], ids=["ahead", "behind"])
def test_iat_out_of_window_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge, offset: int
) -> None:
    """A proof whose iat is one hour ahead of or behind the current time, and which carries no
    server nonce (a server may bound a proof's age by its nonce instead of iat, RFC 9449 4.3).
    Passing means HTTP 400/401 with a DPoP challenge (use_dpop_nonce too: the proof is refused
    for lack of a fresh nonce)."""
    tokens = _dpop_tokens(target, client, variant)
    iat = int(time.time()) + offset
    proof = _proof(target, tokens, extra_claims={"iat": iat}, omit=["nonce"])
    refused = _call(target, client, tokens, f"resource, proof with iat {offset:+d} s", proof)
    judge.must(
        checks.expect_resource_refused(
            refused, ["DPoP"], [*REFUSALS, "use_dpop_nonce"], req="DPOP-4.3-11b"
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-12a")
def test_wrong_ath_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A proof whose ath is the hash of another access token. Passing means HTTP 400/401 with a
    DPoP challenge."""
    tokens = _dpop_tokens(target, client, variant)
    resource = target.config.resource
    proof = _session(tokens).proof(resource.method, resource.url, access_token="another-token")
    refused = _call(target, client, tokens, "resource, proof with a wrong ath", proof)
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-12a"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-12b", "DPOP-6-1")
def test_proof_by_another_key_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A correct proof, but signed by a fresh key instead of the one the token is bound to.
    Passing means HTTP 400/401 with a DPoP challenge (invalid_token, RFC 9449 7.1)."""
    tokens = _dpop_tokens(target, client, variant)
    resource = target.config.resource
    other = DpopSession(nonce=_session(tokens).nonce)
    refused = _call(
        target,
        client,
        tokens,
        "resource, proof by another key",
        lambda: other.proof(resource.method, resource.url, access_token=tokens.access_token),
    )
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-4.3-12b"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-4.3-12b", "DPOP-6-1")
def test_other_clients_token_refused(
    target: TargetContext,
    client: Client,
    client2: Client,
    variant: VariantConfig,
    judge: Judge,
) -> None:
    """Client 1 presents client 2's DPoP-bound access token with a proof by client 1's own DPoP
    key. Passing means HTTP 400/401 with a DPoP challenge."""
    mine = _dpop_tokens(target, client, variant)
    theirs = _dpop_tokens(target, client2, variant)
    resource = target.config.resource
    session = _session(mine)
    refused = flows.call_resource(
        client,
        resource,
        theirs.access_token,
        scheme="DPoP",
        dpop=session,
        label="resource, client 2's token with client 1's proof",
        proof=lambda: session.proof(
            resource.method, resource.url, access_token=theirs.access_token
        ),
    )
    judge.must(checks.expect_resource_refused(refused, ["DPoP"], REFUSALS, req="DPOP-6-1"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-11.1-2")
def test_replayed_jti_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """Two proofs with the same jti: the first is accepted, the second (made anew, same jti)
    should be refused as a replay (RFC 9449 11.1). Passing means HTTP 400/401 with a DPoP
    challenge; accepting the replay is a WARNING."""
    tokens = _dpop_tokens(target, client, variant)
    jti = f"fapi-harness-{time.time_ns()}"
    first = _call(
        target,
        client,
        tokens,
        "resource, first use of a jti",
        _proof(target, tokens, extra_claims={"jti": jti}),
    )
    flows.require_success(first, 200, "the first resource call with a fixed jti")
    replay = _call(
        target,
        client,
        tokens,
        "resource, the same jti again",
        _proof(target, tokens, extra_claims={"jti": jti}),
    )
    judge.should(checks.expect_resource_refused(replay, ["DPoP"], REFUSALS, req="DPOP-11.1-2"))


# --- sanity -----------------------------------------------------------------------------------


@pytest.mark.requirement("FAPI2SP-5.3.4-5")
def test_correct_proof_after_refusals_accepted(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """After a refused proof (wrong htm), a correct proof with the same token still works: the
    refusals are about the proofs, not the token. Passing means HTTP 200."""
    tokens = _dpop_tokens(target, client, variant)
    _call(
        target,
        client,
        tokens,
        "resource, proof with a wrong htm (expected refusal)",
        _proof(target, tokens, extra_claims={"htm": "PUT"}),
    )
    served = _call(target, client, tokens, "resource, correct proof", _proof(target, tokens))
    judge.must(checks.expect_status(served, 200, req="FAPI2SP-5.3.4-5"))
