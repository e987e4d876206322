"""Thin on purpose: the fapi-harness pytest plugin is registered by entry point (harness.plugin)."""
