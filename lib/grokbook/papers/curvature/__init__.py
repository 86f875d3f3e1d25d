"""Xu 2026a, low-dimensional and transversely curved optimisation dynamics in grokking."""
