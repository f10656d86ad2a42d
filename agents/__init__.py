"""Bandit policies that learn online from positive, neutral and negative feedback."""
