"""grokbook: helpers for the executable geometry-of-grokking book."""
