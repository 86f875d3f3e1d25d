"""Xu 2026b, the geometry of multi-task grokking: shared trunk, staggered grokking, weight-decay
phases."""
