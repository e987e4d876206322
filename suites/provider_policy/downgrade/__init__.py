"""Per-client FAPI enforcement: a client configured as FAPI 2.0 is refused every downgrade."""
