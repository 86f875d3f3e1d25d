"""Measurement layer: pure functions of recorded runs (trajectories, accuracies, weights, probes).
Builds on the training layer only."""
