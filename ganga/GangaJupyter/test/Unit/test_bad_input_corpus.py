"""Every case of the bad-input corpus (``bad_input/``) gets the outcome it must get."""
import pytest

from bad_input import all_cases

CASES = all_cases()


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 40, f"the corpus has {len(CASES)} cases"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path):
    case.check(tmp_path)
