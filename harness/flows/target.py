"""What a test knows about the target: configuration, metadata, keys and the browser."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.browser import Browser
from harness.config import TargetConfig
from harness.flows.steps import Discovery, SharedToken
from harness.net import HttpClient


@dataclass(frozen=True)
class TargetContext:
    """The target under test, shared by every test of a run."""

    config: TargetConfig
    discovery: Discovery
    jwks: dict[str, Any]
    browser: Browser
    anonymous_http: HttpClient
    # flows.shared_tokens: the bound access token each client's resource tests share, by client_id
    shared_tokens: dict[str, SharedToken] = field(default_factory=dict, compare=False, repr=False)

    @property
    def issuer(self) -> str:
        return self.config.issuer
