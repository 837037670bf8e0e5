"""A split job's subjob index is written as Ganga writes it, computing again only the entries of the subjobs
that changed (patch ``subjob_index_reused``)."""
import os

from GangaCore.Core.GangaRepository.PickleStreamer import from_file
from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.testlib.decorators import add_config

from GangaJupyter.Lib.GangaPatches import subjob_index_reused
from GangaJupyter.Lib.GangaPatches.patch import ganga_function

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")


def _index(job) -> dict:
    folder = os.path.dirname(job._getRegistry().repository.get_fn(job.id))
    with open(os.path.join(folder, "subjobs.idx"), "rb") as index:
        return from_file(index)[0]


@add_config([RUNTIME])
def test_one_changed_subjob_is_the_one_subjob_entry_computed_again(gpi, monkeypatch):
    assert subjob_index_reused.PATCH.installed()
    j = gpi.Job(application=gpi.Executable(exe="true"), splitter=gpi.ArgSplitter(args=[[] for _ in range(20)]), backend=gpi.Local())
    j.submit()
    job = stripProxy(j)
    registry = job._getRegistry()
    registry._flush([job])
    registry.repository.load([job.id])  # read again from disk: the subjobs are Ganga's list of files
    subjobs = job.subjobs
    assert isinstance(subjobs, SubJobXMLList)
    for sj in subjobs:
        sj.status  # loaded, as in a session that follows the job
    subjobs.write_subJobIndex()  # every entry made once
    computed = []
    ganga_entry = registry.getIndexCache
    monkeypatch.setattr(registry, "getIndexCache", lambda obj: computed.append(obj.getFQID(".")) or ganga_entry(obj))
    subjobs[7].comment = "changed"
    job._setDirty()
    registry._flush([job])
    assert set(computed) == {"0", "0.7"}  # the job's own entry, and the subjob that changed
    ours, before = _index(job), len(computed)
    ganga_function(SubJobXMLList, "write_subJobIndex")(subjobs)  # Ganga's own, every entry computed again
    assert len(computed) == before + 20 and ours == _index(job)
    assert job._index_cache["subjobs:status"] == [sj.status for sj in subjobs]
