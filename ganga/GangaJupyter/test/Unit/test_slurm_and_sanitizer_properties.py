"""Property-based tests (hypothesis, bounded): the squeue/sacct parsers and the notebook HTML sanitizer."""
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from GangaJupyter.Lib.Display.notebook_outputs import clean_html
from GangaJupyter.Lib.Slurm.scheduler import parse_sacct, parse_squeue

BOUNDED = settings(max_examples=200, deadline=None)

# Slurm-looking lines: fields from a small alphabet with the separators that matter, plus arbitrary text.
FIELD = st.text(alphabet=st.sampled_from("0123456789:|. ()ABCDEFGNRUabcdeNone-\t\x00é"), max_size=20)
LINES = st.lists(st.one_of(st.lists(FIELD, min_size=1, max_size=10).map("|".join), st.text(max_size=40)), max_size=20)

TAGS = ["script", "img", "a", "div", "svg", "style", "iframe", "table", "td", "object", "math", "form", "input"]
ATTRS = ["onerror", "onclick", "onload", "href", "src", "class", "style", "xlink:href", "formaction", "title"]
VALUES = ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "java\tscript:x", "jp-Dialog", "x", "data:text/html,<b>", '"><script>']
ELEMENT = st.builds(
    lambda tag, attrs, inner, close: f"<{tag}{''.join(f' {a}={v!r}' for a, v in attrs)}>{inner}{f'</{tag}>' if close else ''}",
    st.sampled_from(TAGS),
    st.lists(st.tuples(st.sampled_from(ATTRS), st.sampled_from(VALUES)), max_size=3),
    st.text(max_size=15),
    st.booleans(),
)
HTML = st.lists(st.one_of(ELEMENT, st.text(max_size=20)), max_size=8).map("".join)


@BOUNDED
@given(LINES)
def test_the_slurm_parsers_never_raise(lines):
    text = "\n".join(lines)
    for state in [*parse_squeue(text).values(), *parse_sacct(text).values()]:
        assert isinstance(state.state, str)


@BOUNDED
@given(HTML)
def test_the_sanitizer_never_leaves_a_handler_a_script_or_a_javascript_url(html):
    cleaned = clean_html(html)
    assert not re.search(r"<[^>]*\son\w+\s*=", cleaned, re.I)
    assert not re.search(r"<\s*script", cleaned, re.I)
    assert not re.search(r"<[^>]*(href|src)\s*=\s*[\"']?\s*j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t\s*:", cleaned, re.I)
    assert not re.search(r"<[^>]*\sclass\s*=", cleaned, re.I)  # in a tag: escaped text may say anything
