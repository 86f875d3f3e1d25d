"""Shared run grids of this paper (see grokbook.papers.grid)."""
GRIDS = ()
