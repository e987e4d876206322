"""Flow helpers that need no server: the parameters a well-formed request carries."""

from __future__ import annotations

import pytest

from harness import flows, jose
from harness.config import ClientConfig
from harness.net import HttpClient


@pytest.mark.parametrize(
    ("scope", "prompt"),
    [("openid profile", None), ("openid offline_access profile", "consent")],
)
def test_offline_access_asks_for_consent(scope: str, prompt: str | None) -> None:
    """offline_access is ignored unless prompt contains consent (OIDC Core 11): the flows send
    prompt=consent with it, and no prompt otherwise."""
    config = ClientConfig(
        client_id="c1",
        auth_method="tls_client_auth",
        sender_constraint="mtls",
        redirect_uri="https://client.example.test/cb",
        scope=scope,
        cert_file="c1.crt",
        key_file="c1.key",
    )
    http = HttpClient("unit", ca_file=None)
    try:
        client = flows.Client(config, http, "https://as.example.test")
        params = flows.authorization_params(client, jose.pkce_s256(), "s", "n")
    finally:
        http.close()
    assert params.get("prompt") == prompt
    assert params["scope"] == scope
