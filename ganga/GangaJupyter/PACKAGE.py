"""Ganga releases before 8.7.12 import ``<runtime package>.PACKAGE``; 8.7.12 and later do not."""


def standardSetup():
    """Nothing to set up: GangaJupyter needs no environment changes."""
