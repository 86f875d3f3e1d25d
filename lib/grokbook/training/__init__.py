"""Training layer: tasks and splits, run configs, the shared-trunk model, the stacked trainer and
the run cache. Nothing here imports the measures, papers or book layers."""
