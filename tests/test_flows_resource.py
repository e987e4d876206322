"""flows.call_resource: what goes on the wire for the configured resource (no server needed)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from harness import flows, jose
from harness.config import ClientConfig, ResourceConfig
from harness.evidence import Exchange, Note, Recorder, decode_jwt_parts, record, recording
from harness.flows import Client, DpopSession, steps
from harness.net import HttpClient
from harness.verdict import NotTestable


def _client(seen: list[httpx.Request]) -> Client:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"sub": "alice"})

    http = HttpClient("client c1", ca_file=None)
    http._client = httpx.Client(transport=httpx.MockTransport(answer))
    config = ClientConfig(
        client_id="c1",
        auth_method="private_key_jwt",
        sender_constraint="dpop",
        redirect_uri="https://client.example/cb",
        jwks_file=Path("unused.json"),
    )
    return Client(config, http, "https://as.example")


def test_default_resource_is_a_get_without_body() -> None:
    seen: list[httpx.Request] = []
    resource = ResourceConfig(url="https://rs.example/me")
    with recording(Recorder()):
        flows.call_resource(_client(seen), resource, "tok", scheme="Bearer")
    (request,) = seen
    assert request.method == "GET"
    assert request.content == b""
    assert "content-type" not in request.headers
    assert request.headers["authorization"] == "Bearer tok"


def test_configured_body_and_media_type_are_sent() -> None:
    seen: list[httpx.Request] = []
    resource = ResourceConfig(
        url="https://rs.example/api", method="POST", body="a=1", media_type="text/plain"
    )
    session = DpopSession()
    with recording(Recorder()):
        flows.call_resource(_client(seen), resource, "tok", scheme="DPoP", dpop=session)
    (request,) = seen
    assert (request.method, request.content) == ("POST", b"a=1")
    assert request.headers["content-type"] == "text/plain"
    parts = decode_jwt_parts(request.headers["dpop"])
    assert parts is not None
    assert parts[1]["htm"] == "POST"
    assert parts[1]["ath"] == jose.access_token_hash("tok")


def test_query_headers_and_dropped_headers() -> None:
    seen: list[httpx.Request] = []
    resource = ResourceConfig(url="https://rs.example/me")
    with recording(Recorder()):
        flows.call_resource(
            _client(seen),
            resource,
            "tok",
            scheme=None,
            query={"access_token": "tok"},
            headers={"x-fapi-interaction-id": "id-1"},
            drop_headers=("accept",),
        )
    (request,) = seen
    assert request.url.params["access_token"] == "tok"
    assert "authorization" not in request.headers
    assert "accept" not in request.headers
    assert request.headers["x-fapi-interaction-id"] == "id-1"


# --- flows.shared_tokens: one bound token for the resource tests of a client (issue 11) ---


def _shared_setup(
    monkeypatch: pytest.MonkeyPatch, statuses: list[int]
) -> tuple[Client, flows.TargetContext, list[str]]:
    """A client whose resource answers ``statuses`` in turn (then 200), and a target whose
    flows hand out access tokens tok-1, tok-2, ... (each flow leaves a note)."""
    answers = list(statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers.pop(0) if answers else 200, json={})

    client = _client([])
    client.http._client = httpx.Client(transport=httpx.MockTransport(answer))
    issued: list[str] = []

    def obtain(client: Client, *args: object, **kwargs: object) -> flows.Tokens:
        issued.append(f"tok-{len(issued) + 1}")
        record(Note("browser", f"flow {len(issued)}"))
        response = Exchange("token", "POST", "https://as.example/token", [], "", "c1")
        response.status, response.response_body = 200, '{"expires_in": 300}'
        return flows.Tokens(issued[-1], "DPoP", None, None, DpopSession(), response)

    monkeypatch.setattr(steps, "obtain_tokens", obtain)
    config = SimpleNamespace(
        resource=ResourceConfig(url="https://rs.example/me"), browser=SimpleNamespace(login=())
    )
    target = flows.TargetContext(config, None, {}, None, None)  # type: ignore[arg-type]
    return client, target, issued


def _labels(recorder: Recorder) -> list[str]:
    return [i.text if isinstance(i, Note) else str(getattr(i, "label", "")) for i in recorder.items]


def test_shared_token_is_reused_with_its_evidence_and_a_guard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, target, issued = _shared_setup(monkeypatch, [])
    with recording(Recorder()) as first:
        assert flows.shared_tokens(client, target).access_token == "tok-1"
    with recording(Recorder()) as second:
        assert flows.shared_tokens(client, target).access_token == "tok-1"
    assert issued == ["tok-1"]
    for rec in (first, second):  # each test shows the flow that obtained the token
        assert "flow 1" in _labels(rec)
        assert any("guard" in label for label in _labels(rec))
    assert any("is shared" in label and "use 2" in label for label in _labels(second))


def test_shared_token_failing_its_guard_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    client, target, issued = _shared_setup(monkeypatch, [200, 401])
    with recording(Recorder()):
        flows.shared_tokens(client, target)
    with recording(Recorder()) as second:
        assert flows.shared_tokens(client, target).access_token == "tok-2"
    assert issued == ["tok-1", "tok-2"]
    assert any("thrown away" in label for label in _labels(second))


def test_fresh_token_failing_its_guard_is_not_testable(monkeypatch: pytest.MonkeyPatch) -> None:
    client, target, issued = _shared_setup(monkeypatch, [401, 401])
    with recording(Recorder()) as rec, pytest.raises(NotTestable):
        flows.shared_tokens(client, target)
    assert "flow 1" in _labels(rec)
    assert target.shared_tokens == {}  # nothing kept for the next test
    with recording(Recorder()), pytest.raises(NotTestable):
        flows.shared_tokens(client, target)
    assert issued == ["tok-1", "tok-2"]


def test_shared_token_is_per_client_and_renewed_near_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, target, issued = _shared_setup(monkeypatch, [])
    other = dataclasses.replace(client, config=client.config.model_copy(update={"client_id": "c2"}))
    with recording(Recorder()):
        flows.shared_tokens(client, target)
        flows.shared_tokens(other, target)
        assert issued == ["tok-1", "tok-2"]
        target.shared_tokens["c1"].expires_at = time.time() + 10
        assert flows.shared_tokens(client, target).access_token == "tok-3"
