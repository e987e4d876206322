"""Provider policy plan: what providers promise beyond the FAPI 2.0 Security Profile.

Per-client FAPI enforcement (``downgrade``), multi-factor authentication (``mfa``), granular
access, short-lived tokens and revocation (``access``), and explicit consent (``consent``). The
bounds these tests use come from the target configuration's ``[policy]`` section, with documented
defaults, and every test says which bound it used.
"""
