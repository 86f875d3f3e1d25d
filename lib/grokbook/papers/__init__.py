"""Paper layer: one package per paper with its run grids per profile, its analyses and its verdict
rules. Builds on the training and measures layers; never imports the book layer."""
