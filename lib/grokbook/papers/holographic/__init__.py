"""Xu 2026c, holographic encoding: trajectory PCA against per-matrix and joint SVD
reconstruction."""
