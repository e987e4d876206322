"""The embedded reference target starts as a FAPI 2.0 server, logs its errors and never lingers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness import flows, jose
from harness.browser import Browser
from harness.net import Timeouts, tls_context
from harness.targets.reference import ReferenceTarget, start_reference_target
from tests.procs import pids_mentioning


@pytest.fixture
def target(reference_target: ReferenceTarget) -> ReferenceTarget:
    """The plugin's session-wide reference target."""
    return reference_target


def test_discovery_describes_a_fapi2_server(target: ReferenceTarget) -> None:
    config = target.config()
    meta = httpx.get(config.discovery, verify=tls_context(config.ca_file, None)).json()
    assert meta["issuer"] == target.issuer
    assert meta["require_pushed_authorization_requests"] is True
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["tls_client_certificate_bound_access_tokens"] is True
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "private_key_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
    }
    assert set(meta["dpop_signing_alg_values_supported"]) <= {"PS256", "ES256", "EdDSA"}


def test_config_offers_every_variant_with_two_clients(target: ReferenceTarget) -> None:
    config = target.config()
    assert [v.name for v in config.variants] == [
        "private_key_jwt-dpop",
        "private_key_jwt-mtls",
        "tls_client_auth-dpop",
        "tls_client_auth-mtls",
    ]
    for variant in config.variants:
        one, two = config.client(variant.client), config.client(variant.client2)
        assert one.client_id != two.client_id
        if one.jwks_file and two.jwks_file:
            assert one.jwks_file.read_text() != two.jwks_file.read_text()


def test_key_material_is_generated_not_shipped(target: ReferenceTarget) -> None:
    assert (target.workdir / "pki" / "server.key").is_file()
    package = Path(__file__).parents[1] / "harness" / "targets" / "oidc_provider"
    shipped = [p for p in package.iterdir() if p.name != "node_modules"]
    for path in shipped:
        text = path.read_text(errors="replace")
        assert "PRIVATE KEY-----" not in text, path


def test_error_events_carry_the_hidden_reason(target: ReferenceTarget) -> None:
    config = target.config()
    events = config.server_events_file
    assert events is not None
    before = events.stat().st_size
    response = httpx.post(
        f"{target.issuer}/request",
        data={"client_id": "pkjwt-dpop-1", "response_type": "code"},
        verify=tls_context(config.ca_file, None),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    lines = events.read_bytes()[before:].decode().splitlines()
    logged = [json.loads(line) for line in lines]
    assert any(e["error"] == "invalid_client" and e.get("error_detail") for e in logged), logged


def test_stop_ends_the_process(tmp_path: Path) -> None:
    running = start_reference_target(tmp_path / "t")
    pid = running.pid
    running.stop()
    assert running.process.returncode is not None
    assert pid not in pids_mentioning(str(tmp_path))


def test_server_stops_when_its_launcher_is_killed(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from harness.targets.reference import start_reference_target\n"
        "t = start_reference_target(Path(sys.argv[1]))\n"
        "print(t.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "t")], stdout=subprocess.PIPE, text=True
    )
    assert launcher.stdout is not None
    node_pid = int(launcher.stdout.readline())
    assert node_pid in pids_mentioning(str(tmp_path))
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait(timeout=10)
    deadline = time.monotonic() + 10
    while pids_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pids_mentioning(str(tmp_path)) == []


@pytest.mark.parametrize("variant_name", ["private_key_jwt-dpop", "tls_client_auth-mtls"])
def test_offline_access_gets_a_bound_refresh_token_that_is_not_rotated(
    target: ReferenceTarget, variant_name: str
) -> None:
    """Refresh tokens go to clients asking for offline_access; they are not rotated (the same
    refresh token comes back) and are bound to the client they were issued to."""
    config = target.config()
    choice = next(v for v in config.variants if v.name == variant_name)
    client = flows.Client.from_config(config, choice.client, Timeouts())
    browser = Browser(loopback_only=True)
    try:
        discovery = flows.discover(client.http, config.discovery)
        dpop = flows.DpopSession() if client.uses_dpop else None
        pkce = jose.pkce_s256()
        state = flows.new_state()
        params = flows.authorization_params(client, pkce, state, flows.new_state())
        params.update(scope="openid offline_access", prompt="consent")
        par = flows.push_authorization_request(client, discovery, params, dpop=dpop)
        assert par.status == 201, par.response_body
        callback = browser.authorize(
            flows.authorization_url(discovery, client.client_id, par.json()["request_uri"]),
            client.config.redirect_uri,
            config.browser.login,
        )
        token = flows.redeem_code(
            client, discovery, callback.params["code"], pkce.verifier, dpop=dpop
        )
        refresh_token = token.json()["refresh_token"]
        refreshed = flows.refresh_tokens(client, discovery, refresh_token, dpop=dpop)
        assert refreshed.status == 200, refreshed.response_body
        assert refreshed.json().get("refresh_token", refresh_token) == refresh_token
        assert refreshed.json()["token_type"] == ("DPoP" if dpop else "Bearer")
        # Bound to its client (RFC 6749 6; RFC 9449 5: for confidential clients the binding is
        # client authentication): the second client cannot use it.
        other = flows.Client.from_config(config, choice.client2, Timeouts())
        stolen = flows.refresh_tokens(
            other, discovery, refresh_token, dpop=flows.DpopSession() if dpop else None
        )
        assert stolen.status in (400, 401), stolen.response_body
        assert stolen.json()["error"] == "invalid_grant"
    finally:
        browser.close()
