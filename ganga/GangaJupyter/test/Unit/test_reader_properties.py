"""Property tests (hypothesis) of the Jobs browser's readers: whatever the repository files, the journals or the
query string hold, the readers never raise and give well-typed rows (or a 400 with a message, for the query)."""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bad_input.readers import data_xml, journal_path, location, well_typed, write_data, write_index
from GangaJupyter.Lib.Server.repository import Journal, Query, RepositoryIndex, read_job

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Values as Ganga's index caches and the journals hold them, and the wrong ones a broken file may hold.
def _nested(atoms: st.SearchStrategy) -> st.SearchStrategy:
    return st.recursive(
        atoms, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    )


json_values = _nested(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30))
plain = _nested(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | st.binary(max_size=10))
index_keys = st.sampled_from(
    ["status", "name", "comment", "display:application", "display:backend", "display:backend.actualCE",
     "subjobs:status", "display:fqid"]
)
xml_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


def _new_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="gj-prop-"))


@BOUNDED
@given(
    cache=st.dictionaries(index_keys, plain, max_size=8) | plain,
    category=st.sampled_from(["jobs", "box", 3]),
    status=xml_text,
    name=xml_text,
    backend=st.text(alphabet="abcXYZ_09", min_size=1, max_size=12),
    junk=st.binary(max_size=200),
    how=st.sampled_from(["xml", "junk", "xml+junk", "none"]),
)
def test_the_repository_reader_never_raises(cache, category, status, name, backend, junk, how):
    loc = location(_new_dir())
    write_index(loc, 1, cache, category=category)
    text = data_xml(status=status, name=name, backend=backend).encode("utf-8", "surrogatepass")
    if how != "none":
        write_data(loc, 1, {"xml": text, "junk": junk, "xml+junk": text[: len(text) // 2] + junk}[how])
    job = read_job(loc, 1)
    if job is not None:
        well_typed(job)
    index = RepositoryIndex(loc)
    index.load_all()
    json.dumps(index.query(Query(sort="name")))


journal_line = (
    st.binary(max_size=80)
    | st.builds(lambda v: json.dumps(v).encode(), json_values)
    | st.builds(
        lambda changes: json.dumps({"changes": changes}).encode(),
        st.dictionaries(
            st.text(alphabet="0123456789.x\u00b2", max_size=8),
            st.lists(st.text(max_size=10) | st.floats() | st.integers() | st.booleans(), max_size=3) | json_values,
            max_size=4,
        ),
    )
)


@BOUNDED
@given(lines=st.lists(journal_line, max_size=12), tail=st.binary(max_size=20))
def test_the_journal_reader_never_raises(lines, tail):
    loc = location(_new_dir())
    journal_path(loc).write_bytes(b"\n".join(lines) + b"\n" + tail)
    journal = Journal(loc.jupyter / "sessions")
    touched = journal.read()
    assert all(isinstance(i, int) for i in touched)
    for fqid, (status, when) in journal.latest.items():
        assert isinstance(fqid, str) and isinstance(status, str)
        assert isinstance(when, float) and math.isfinite(when)
    write_index(loc, 0, {"status": "new", "subjobs:status": ["new"] * 3})
    index = RepositoryIndex(loc)
    index.load_all()
    json.dumps(index.query(Query()))


class Arguments:
    """The query string as tornado's ``get_argument`` gives it to the parser."""

    def __init__(self, arguments: dict[str, str]):
        self.arguments = arguments

    def get_argument(self, name: str, default: str) -> str:
        return self.arguments.get(name, default)


query_names = st.sampled_from(["page", "page_size", "sort", "order", "status", "backend", "application", "name", "since"])
query_values = (
    st.text(max_size=30)
    | st.integers().map(str)
    | st.sampled_from(["id", "name", "asc", "desc", "2024-01-01", "0001-01-01", "9999-12-31T23:59", "\u00b2", "1e9"])
    | st.datetimes().map(lambda d: d.isoformat())
)


@BOUNDED
@given(arguments=st.dictionaries(query_names, query_values, max_size=9))
def test_the_query_parser_answers_a_query_or_a_400(arguments):
    from tornado import web

    from GangaJupyter.Lib.Server.handlers import MAX_PAGE_SIZE, _query

    try:
        query = _query(Arguments(arguments))
    except web.HTTPError as err:
        assert err.status_code == 400 and err.log_message
        return
    assert isinstance(query, Query)
    assert 1 <= query.page_size <= MAX_PAGE_SIZE and query.page >= 1
    assert query.since is None or math.isfinite(query.since)

