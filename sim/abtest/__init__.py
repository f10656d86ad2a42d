"""Simulated A/B tests: two policies on split users, lift, p-values, guardrails and sizing."""
