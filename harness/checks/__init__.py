"""Checks: small pure functions that say whether one requirement held.

Each takes recorded evidence (an ``Exchange``, callback parameters, decoded claims) and the id of
the requirement it checks, passed at the call site, and returns a ``Finding``. A check never
opens a connection and never decides severity: the test does, with ``judge.must`` or
``judge.should``.
"""

from harness.checks.authorization import (
    expect_authorization_refused,
    expect_entropy,
    expect_length_bits,
    expect_no_code_yet,
    expect_nothing_in_fragment,
    expect_only_known_params,
    expect_par_or_authorization_refused,
    expect_params_kept,
)
from harness.checks.dpop import expect_dpop_nonce_header, expect_dpop_nonce_retry
from harness.checks.http import (
    expect_date_header,
    expect_header_contains,
    expect_interaction_id,
    expect_json_object,
    expect_response_member,
    expect_status,
    expect_status_class,
)
from harness.checks.metadata import (
    expect_issuer_identifier,
    expect_issuer_matches_discovery_url,
    expect_known_metadata_members,
    expect_metadata_contains,
    expect_metadata_https_url,
    expect_metadata_issuer,
    expect_metadata_present,
    expect_metadata_schema,
    expect_metadata_true,
    expect_metadata_within,
)
from harness.checks.oauth import (
    expect_callback_param,
    expect_expires_in,
    expect_iss_matches,
    expect_oauth_error,
    expect_par_created,
    expect_param_absent,
    expect_refused_or_dropped,
    expect_request_uri_lifetime,
    expect_resource_refused,
    expect_state_matches,
    expect_token_response,
    expect_token_type,
)
from harness.checks.tls import (
    expect_no_forbidden_tls12_suites,
    expect_only_recommended_tls12_suites,
    expect_tls_certificate_valid,
    expect_tls_version_accepted,
    expect_tls_version_negotiated,
    expect_tls_version_refused,
)
from harness.checks.tokens import (
    expect_id_token_claims,
    expect_id_token_nonce,
    expect_jws_alg,
    expect_jws_signature,
    expect_token_binding,
)

__all__ = [
    "expect_authorization_refused",
    "expect_callback_param",
    "expect_date_header",
    "expect_dpop_nonce_header",
    "expect_dpop_nonce_retry",
    "expect_entropy",
    "expect_expires_in",
    "expect_header_contains",
    "expect_id_token_claims",
    "expect_id_token_nonce",
    "expect_interaction_id",
    "expect_iss_matches",
    "expect_issuer_identifier",
    "expect_issuer_matches_discovery_url",
    "expect_json_object",
    "expect_jws_alg",
    "expect_jws_signature",
    "expect_known_metadata_members",
    "expect_length_bits",
    "expect_metadata_contains",
    "expect_metadata_https_url",
    "expect_metadata_issuer",
    "expect_metadata_present",
    "expect_metadata_schema",
    "expect_metadata_true",
    "expect_metadata_within",
    "expect_no_code_yet",
    "expect_no_forbidden_tls12_suites",
    "expect_nothing_in_fragment",
    "expect_oauth_error",
    "expect_only_known_params",
    "expect_only_recommended_tls12_suites",
    "expect_par_created",
    "expect_par_or_authorization_refused",
    "expect_param_absent",
    "expect_params_kept",
    "expect_refused_or_dropped",
    "expect_request_uri_lifetime",
    "expect_resource_refused",
    "expect_response_member",
    "expect_state_matches",
    "expect_status",
    "expect_status_class",
    "expect_tls_certificate_valid",
    "expect_tls_version_accepted",
    "expect_tls_version_negotiated",
    "expect_tls_version_refused",
    "expect_token_binding",
    "expect_token_response",
    "expect_token_type",
]
