"""Book layer: the claim registry, the ledger, the scorecard, page generation and notebook
execution."""
