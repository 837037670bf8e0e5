"""Sphinx configuration for GangaJupyter's documentation (``tox -e docs``; warnings are errors)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

project = "GangaJupyter"
author = "GangaJupyter developers"
copyright = "2026, GangaJupyter developers"
extensions = ["sphinx.ext.autodoc", "gangajupyter_reference"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = ["_static"]
nitpicky = False
