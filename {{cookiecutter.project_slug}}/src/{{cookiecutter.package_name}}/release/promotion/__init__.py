"""Proposing and judging a model for an environment: pins, gates, the comparison, the PR report, retraining PRs."""
