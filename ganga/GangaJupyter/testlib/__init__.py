"""Helpers for testing GangaJupyter (and notebooks that use it), like Ganga's own ``GangaCore.testlib``."""
