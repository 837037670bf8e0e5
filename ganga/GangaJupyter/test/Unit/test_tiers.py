"""The test tiers' layout: pytest imports test files by their base name (the tiers' folders are not packages),
so two files of the same name in different tiers would stop the whole run at collection."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_file_has_a_name_of_its_own_across_the_tiers() -> None:
    names = Counter(path.name for path in TESTS.glob("*/test_*.py"))
    assert not [name for name, count in names.items() if count > 1], names.most_common(3)


def test_every_test_file_is_in_a_tier() -> None:
    assert not list(TESTS.glob("test_*.py"))
    assert {path.parent.name for path in TESTS.glob("*/test_*.py")} == {"Unit", "GPI", "System"}
