"""Every test trains in the stacked layout (one process) unless it sets $GROKBOOK_LAYOUT itself:
auto would measure the layouts on the first call at each new shape and cache root."""

import pytest


@pytest.fixture(autouse=True)
def stacked_layout(monkeypatch):
    monkeypatch.setenv("GROKBOOK_LAYOUT", "stacked")
