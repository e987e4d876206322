"""flows.call_resource: what goes on the wire for the configured resource (no server needed)."""

from __future__ import annotations

from pathlib import Path

import httpx

from harness import flows, jose
from harness.config import ClientConfig, ResourceConfig
from harness.evidence import Recorder, decode_jwt_parts, recording
from harness.flows import Client, DpopSession
from harness.net import HttpClient


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
