"""Power et al. 2022, "Grokking: generalization beyond overfitting on small algorithmic
datasets"."""
