"""Xu 2026d: spectral edge dynamics of the updates and their Fourier / discrete-log modes."""
