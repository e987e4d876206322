"""Provider policy plan: what providers promise beyond the FAPI 2.0 Security Profile.

Per-client FAPI enforcement (``downgrade``), multi-factor authentication (``mfa``), granular
access, short-lived tokens and revocation (``access``), and explicit consent (``consent``). The
bounds these tests use come from the target configuration's ``[policy]`` section, with documented
defaults, and every test says which bound it used.
"""

# --- granular access, short-lived tokens, revocation (provider_policy/access) ---

import pytest

from harness import flows
from harness.flows import AgedToken, Client, TargetContext


@pytest.fixture(scope="session")
def short_lived_tokens(
    target: TargetContext, clients: dict[str, tuple[Client, Client]]
) -> dict[str, AgedToken | str]:
    """One access token per variant granted the client's scope plus policy.short_lived_scope,
    obtained at the start of the run; without that setting each variant maps to the reason."""
    scope = target.config.policy.short_lived_scope
    if scope is None:
        return dict.fromkeys(clients, "not applicable: policy.short_lived_scope is not configured")
    return flows.age_access_tokens(target, clients, scope)
