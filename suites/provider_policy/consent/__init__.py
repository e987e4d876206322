"""Explicit consent on a first authorization (OIDC Core 3.1.2.4)."""
