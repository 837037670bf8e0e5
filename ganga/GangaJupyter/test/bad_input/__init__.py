"""The bad-input corpus: hostile and broken input, each case with the outcome it must get.

Each module of this package (one per area) lists its cases in ``CASES``; ``test_bad_input_corpus.py`` runs them
all, and the documentation shows them as a table (``docs/bad-input.rst``, generated from this package).
A case's ``check(tmp_path)`` builds the input, feeds it to the real code and asserts the outcome: a clear message
or a safe fallback, never a traceback in a cell, a dead thread or a lost job.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Case:
    id: str  # short, unique: "journal-non-numeric-time"
    area: str  # "repository", "journal", "requests", "sessions", "files", "notebook HTML", "options", ...
    input: str  # what is fed in, in words
    outcome: str  # what must happen, in words (the table's last column)
    check: Callable[[Path], None]  # builds the input under tmp_path, runs the real code, asserts the outcome


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for module in pkgutil.iter_modules(__path__):
        cases += importlib.import_module(f"{__name__}.{module.name}").CASES
    ids = [c.id for c in cases]
    duplicated = {i for i in ids if ids.count(i) > 1}
    assert not duplicated, f"corpus case ids used twice: {sorted(duplicated)}"
    return cases
