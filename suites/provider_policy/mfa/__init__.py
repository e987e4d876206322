"""Multi-factor authentication: the provider's MFA acr and its second-factor step
(OIDC Core 2, 3.1.2.1, 5.5.1.1)."""
