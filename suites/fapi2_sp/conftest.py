"""Set-up shared by the tests that wait for something to expire (``@pytest.mark.slow``).

Each fixture obtains one thing per variant (a code, a pushed request) and notes when it will have
expired; it does not wait. The harness starts these clocks at the first test of a run (of each
worker, in a parallel run) whenever a slow test naming the fixture is selected, and slow tests
run last, so that their waits overlap with the rest of the plan instead of adding to it.
"""

from __future__ import annotations

import pytest

from harness import flows
from harness.flows import AgedCode, AgedRequestUri, Client, TargetContext


@pytest.fixture(scope="session")
def aged_codes(
    target: TargetContext, clients: dict[str, tuple[Client, Client]]
) -> dict[str, AgedCode | str]:
    """One authorization code per variant, issued at the start of the run."""
    return flows.age_codes(target, clients)


@pytest.fixture(scope="session")
def aged_request_uris(
    target: TargetContext, clients: dict[str, tuple[Client, Client]]
) -> dict[str, AgedRequestUri | str]:
    """One pushed authorization request per variant, pushed at the start of the run."""
    return flows.age_request_uris(target, clients)
