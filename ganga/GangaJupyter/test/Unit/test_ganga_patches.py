"""GangaJupyter's patches of Ganga, with Ganga's classes imported but Ganga not bootstrapped: which of them the
installed Ganga still needs (``pytest -s`` prints the table), that each is installed exactly when it is needed,
and how wrappers of one method nest."""
from __future__ import annotations

import functools
import inspect

import pytest
from GangaCore.Core.exceptions import GangaException
from GangaCore.GPIDev.Base.Proxy import GPIProxyObject
from GangaCore.GPIDev.Lib.Job.Job import Job

from GangaJupyter.Lib import GangaPatches
from GangaJupyter.Lib.GangaPatches import multi_backend_scan, submit_failure_message, submit_race
from GangaJupyter.Lib.GangaPatches.patch import AttributePatch, Patch, Wrap, WrapperPatch, ganga_function, ganga_source
from GangaJupyter.Lib.GangaPatches.slurm_job_name import slurm_job_name

ALL = GangaPatches.PATCHES + GangaPatches.KERNEL_PATCHES


def _targets(patch: Patch) -> list[tuple[type, str]]:
    if isinstance(patch, WrapperPatch):
        return [(w.owner, w.attribute) for w in patch.wraps]
    if isinstance(patch, AttributePatch):
        return [(owner, patch.attribute) for owner in patch.owners]
    return []


def _snapshot() -> dict[tuple[type, str], object]:
    snapshot = {target: inspect.getattr_static(*target, None) for patch in ALL for target in _targets(patch)}
    snapshot[(Job, "status")] = Job.__dict__["status"]
    return snapshot


def test_the_installed_ganga_needs_what_is_installed():
    GangaPatches.install_all()
    rows = GangaPatches.report()
    width = max(len(name) for name, _, _ in rows)
    print(f"\n{'patch':{width}}  still needed  installed  changes")
    for patch, (name, needed, installed) in zip(ALL, rows):
        print(f"{name:{width}}  {'yes' if needed else 'no':12}  {'yes' if installed else 'no':9}  {patch.changes}")
    disagree = [name for name, needed, installed in rows[: len(GangaPatches.PATCHES)] if needed != installed]
    assert not disagree, f"installed and still_needed() disagree for {disagree}"


def test_every_patch_says_what_it_changes_and_why():
    names = [patch.name for patch in ALL]
    assert len(set(names)) == len(names)
    for patch in ALL:
        assert patch.changes.strip() and len(patch.why) > 80, patch.name
        assert patch.when.strip(), patch.name
    assert not set(GangaPatches.KERNEL_PATCHES) & set(GangaPatches.PATCHES)


def test_installing_twice_changes_nothing():
    GangaPatches.install_all()
    first = _snapshot()
    GangaPatches.install_all()
    again = _snapshot()
    assert all(again[target] is value for target, value in first.items())


def test_job_submit_wrappers_nest_in_their_fixed_order():
    GangaPatches.install_all()
    names = []
    function = Job.submit
    while function is not None:
        names.append(function.__code__.co_name)  # functools.wraps gives every wrapper Ganga's __name__
        function = getattr(function, "__wrapped__", None)
    assert names == ["submit_saying_why", "tracked_submit", "holding_submit", "submit_and_flush", "submit"]


# ------------------------------------------------------------------------------------------------ the checks


def test_each_check_tells_a_fixed_ganga_from_this_one():
    scan = ganga_source(multi_backend_scan.AsyncMonitoringService, "_check_active_backends")
    assert multi_backend_scan.CHECKS_LAST_BACKEND.search(scan)
    fixed = scan.replace("self._check_backend(backend_obj)", "self._check_backend(self._backend_of(backend_name))")
    assert not multi_backend_scan.CHECKS_LAST_BACKEND.search(fixed)

    submit = ganga_source(Job, "submit")
    assert submit_race.SECOND_SUBMITTED_UPDATE.search(submit)
    assert not submit_race.SECOND_SUBMITTED_UPDATE.search(submit.replace('self.updateStatus("submitted")', "pass"))
    assert submit_failure_message.THEN_MARKS_FAILED.search(submit)
    assert not submit_failure_message.THEN_MARKS_FAILED.search(submit.replace('self.updateStatus("failed")', "raise"))


def test_the_sbatch_name_keeps_only_safe_characters():
    assert slurm_job_name("fit 'all'; rm -rf ~") == "fit__all___rm_-rf__"
    assert slurm_job_name("sweep-3.a_b") == "sweep-3.a_b"
    assert len(slurm_job_name("n" * 10_000)) == 128


# ------------------------------------------------------------------------------------------------ the machinery


def _layer(tag: str):
    def wrapper(inner):
        @functools.wraps(inner)
        def wrapped(*args):
            args[-1].append(tag)
            return inner(*args)

        return wrapped

    return wrapper


def _throwaway():
    class Base:
        def run(self, log):
            log.append("ganga")
            return "done"

        @staticmethod
        def poll(log):
            log.append("ganga")

    class Child(Base):
        pass

    return Base, Child


def test_wrappers_nest_by_depth_whatever_order_they_are_installed_in():
    _, Child = _throwaway()
    wraps = [Wrap(Child, "run", _layer(f"d{depth}"), depth=depth) for depth in range(3)]
    patches = [WrapperPatch(name=f"layer{w.depth}", changes="Child.run", why="test", wraps=(w,)) for w in wraps]
    for patch in (patches[1], patches[2], patches[0]):
        patch.install()
    log: list[str] = []
    assert Child().run(log) == "done"
    assert log == ["d0", "d1", "d2", "ganga"]
    assert all(patch.installed() for patch in patches)


def test_an_inherited_staticmethod_is_wrapped_on_the_subclass_alone():
    Base, Child = _throwaway()
    patch = WrapperPatch(name="poll", changes="Child.poll", why="test", wraps=(Wrap(Child, "poll", _layer("ours")),))
    patch.install()
    child_log: list[str] = []
    base_log: list[str] = []
    Child.poll(child_log)
    Base.poll(base_log)
    assert child_log == ["ours", "ganga"] and base_log == ["ganga"]
    assert isinstance(Child.__dict__["poll"], staticmethod)


def test_a_patch_the_installed_ganga_does_not_need_is_not_installed():
    _, Child = _throwaway()

    class Fixed(WrapperPatch):
        def still_needed(self) -> bool:
            return False

    patch = Fixed(name="fixed", changes="Child.run", why="test", wraps=(Wrap(Child, "run", _layer("ours")),))
    patch.install()
    assert not patch.installed() and "run" not in Child.__dict__
    log: list[str] = []
    Child().run(log)
    assert log == ["ganga"]


def test_an_attribute_ganga_defines_itself_is_left_alone():
    class GangaRenders:
        def _repr_html_(self):
            return "Ganga's own"

    ours = AttributePatch(name="html", changes="x", why="test", owners=(GangaRenders,), attribute="_repr_html_",
                          value=lambda self: "ours")
    assert not ours.still_needed()
    ours.install()
    assert not ours.installed() and GangaRenders()._repr_html_() == "Ganga's own"


def test_a_wrapper_something_else_replaced_counts_as_not_installed():
    _, Child = _throwaway()
    patch = WrapperPatch(name="ours", changes="Child.run", why="test", wraps=(Wrap(Child, "run", _layer("ours")),))
    patch.install()
    assert patch.installed()
    Child.run = _layer("someone else")(Child.run)
    assert not patch.installed()


# ------------------------------------------------------------------------------------------------ kernel patches


@pytest.fixture
def kernel_attributes():
    """Plain Ganga for the test (without what the kernel patches change on its classes), then as it was."""
    targets = [target for patch in GangaPatches.KERNEL_PATCHES for target in _targets(patch)]
    saved = {target: target[0].__dict__.get(target[1]) for target in targets}
    for owner, attribute in targets:
        if attribute in owner.__dict__:
            delattr(owner, attribute)
    yield
    for (owner, attribute), value in saved.items():
        if value is None:
            if attribute in owner.__dict__:
                delattr(owner, attribute)
        else:
            setattr(owner, attribute, value)


class _Shell:
    """An IPython shell as activation sees it; a Jupyter kernel's has a ``kernel``."""

    def __init__(self, kernel: object | None) -> None:
        self.kernel = kernel


def test_live_views_only_in_a_kernel_and_short_errors_in_any_shell(kernel_attributes):
    live, short = GangaPatches.KERNEL_PATCHES
    GangaPatches.install_kernel_patches(None)
    assert "_ipython_display_" not in GPIProxyObject.__dict__ and "_render_traceback_" not in GangaException.__dict__
    GangaPatches.install_kernel_patches(_Shell(kernel=None))  # a terminal IPython
    assert short.installed() and not live.installed()
    GangaPatches.install_kernel_patches(_Shell(kernel=object()))
    assert live.installed()


def test_a_ganga_error_shows_as_its_messages(kernel_attributes):
    GangaPatches.install_kernel_patches(_Shell(kernel=None))
    try:
        try:
            raise OSError("disk full")
        except OSError as cause:
            raise GangaException("could not write the job") from cause
    except GangaException as err:
        lines = err._render_traceback_()
    assert lines == ["\x1b[0;31mGangaException: could not write the job\x1b[0m", "  caused by: disk full"]


def test_the_log_folders_ganga_races_on_are_made_before_it_starts(tmp_path, monkeypatch):
    """Two kernels starting together raced on Ganga's ``<gangadir>/logs/memory_profiles`` (``[Errno 17] File
    exists``): %load_ext makes each folder Ganga's profiling module makes, so its check finds them."""
    import GangaCore.Utility.Profiling as profiling

    from GangaJupyter.Lib.Core import location

    source = inspect.getsource(profiling)
    assert all(f"'{name}/'" in source for name in location.GANGA_LOG_FOLDERS)  # Ganga still makes these
    config = tmp_path / "gangarc"
    config.write_text(f"[Configuration]\ngangadir = {tmp_path / 'gd'}\n")
    monkeypatch.setenv("GANGA_CONFIG_FILE", str(config))
    location.make_ganga_log_folders()
    location.make_ganga_log_folders()  # again: already there is fine
    assert sorted(p.name for p in (tmp_path / "gd" / "logs").iterdir()) == sorted(location.GANGA_LOG_FOLDERS)


class _Killed(BaseException):
    """SIGKILL at one step of a file write."""


def _dies_at_call(n, real):
    calls = [0]

    def step(*args):
        calls[0] += 1
        if calls[0] == n:
            raise _Killed()
        return real(*args)

    return step


def _save_killed(saver, data, step, at):
    """``saver`` writes "old", then "new" with the ``at``-th call of ``os.<step>`` never returning."""
    import os

    saver(str(data), object(), lambda obj, f, ignore: f.write("old"))
    original = getattr(os, step)
    setattr(os, step, _dies_at_call(at, original))
    try:
        saver(str(data), object(), lambda obj, f, ignore: f.write("new"))
    except _Killed:
        pass
    finally:
        setattr(os, step, original)


def test_ganga_leaves_no_job_file_when_killed_between_its_renames(tmp_path):
    from GangaJupyter.Lib.GangaPatches import atomic_job_files

    data = tmp_path / "data"
    _save_killed(atomic_job_files._ganga_safe_save, data, "rename", 2)
    assert not data.exists() and (tmp_path / "data~").read_text() == "old"  # the next session loads the old job


@pytest.mark.parametrize("step,at", [("link", 1), ("replace", 1), ("replace", 2)])
def test_a_job_file_is_the_old_or_the_new_whenever_its_writer_dies(tmp_path, step, at):
    from GangaJupyter.Lib.GangaPatches import atomic_job_files

    data = tmp_path / "data"
    _save_killed(atomic_job_files.safe_save, data, step, at)
    assert data.read_text() == "old"
    atomic_job_files.safe_save(str(data), object(), lambda obj, f, ignore: f.write("new"))
    assert data.read_text() == "new" and (tmp_path / "data~").read_text() == "old"


def test_a_job_file_is_written_where_the_file_system_has_no_hard_links(tmp_path, monkeypatch):
    import errno
    import os

    from GangaJupyter.Lib.GangaPatches import atomic_job_files

    def no_links(*args):
        raise OSError(errno.EPERM, "hard links not supported")

    data = tmp_path / "data"
    atomic_job_files.safe_save(str(data), object(), lambda obj, f, ignore: f.write("old"))
    monkeypatch.setattr(os, "link", no_links)
    atomic_job_files.safe_save(str(data), object(), lambda obj, f, ignore: f.write("new"))
    assert data.read_text() == "new" and (tmp_path / "data~").read_text() == "old"


def _job_folder(root, written: int, last: set[str] | None, index: bool = False):
    """A split job's folder as Ganga's first write of its subjobs leaves it: ``written`` subjob folders with their
    data, then (``last``) one more holding those files, and the subjob index when ``index``."""
    job = root / "0"
    job.mkdir()
    (job / "data").write_text("the job before its split")
    for number in range(written):
        (job / str(number)).mkdir()
        (job / str(number) / "data").write_text("subjob")
    if last is not None:
        (job / str(written)).mkdir()
        for name in last:
            (job / str(written) / name).write_text("")
    if index:
        (job / "subjobs.idx").write_text("")
    return str(job)


@pytest.mark.parametrize("last", [set(), {"data.new"}])
def test_a_first_write_of_subjobs_cut_short_loads_as_the_job_before_its_split(tmp_path, last):
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

    from GangaJupyter.Lib.GangaPatches import unfinished_subjob_write
    from GangaJupyter.Lib.GangaPatches.patch import ganga_function

    job = _job_folder(tmp_path, 75, last)
    ganga_check = ganga_function(SubJobXMLList, "checkJobHasChildren")
    with pytest.raises(GangaException, match="Missing subjobs data file"):
        ganga_check(job, "data")  # Ganga 8.7.12: the job is corrupt for every later session
    assert unfinished_subjob_write.PATCH.wraps[0].wrapper(ganga_check)(job, "data") is False


@pytest.mark.parametrize(
    "layout",
    [
        dict(written=75, last={"data.new"}, index=True),  # the index is written after every subjob: not a first write
        dict(written=75, last={"data.new", "stdout"}),  # something else was in that folder
    ],
)
def test_any_other_missing_subjob_file_is_still_an_error(tmp_path, layout):
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

    from GangaJupyter.Lib.GangaPatches import unfinished_subjob_write
    from GangaJupyter.Lib.GangaPatches.patch import ganga_function

    job = _job_folder(tmp_path, **layout)
    check = unfinished_subjob_write.PATCH.wraps[0].wrapper(ganga_function(SubJobXMLList, "checkJobHasChildren"))
    with pytest.raises(GangaException, match="Missing subjobs data file"):
        check(job, "data")


def test_a_subjob_missing_before_the_last_is_still_an_error(tmp_path):
    from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

    from GangaJupyter.Lib.GangaPatches import unfinished_subjob_write
    from GangaJupyter.Lib.GangaPatches.patch import ganga_function

    job = _job_folder(tmp_path, 10, None)
    (tmp_path / "0" / "3" / "data").unlink()
    check = unfinished_subjob_write.PATCH.wraps[0].wrapper(ganga_function(SubJobXMLList, "checkJobHasChildren"))
    with pytest.raises(GangaException, match="Missing subjobs data file"):
        check(job, "data")
    whole = tmp_path / "whole"
    whole.mkdir()
    assert check(_job_folder(whole, 10, None), "data") is True


def _repository(lock: object, registry: str = "jobs"):
    from types import SimpleNamespace

    return SimpleNamespace(sessionlock=lock, registry=SimpleNamespace(name=registry))


def _session_lock(held: set[int]):
    from GangaCore.Core.GangaRepository.SessionLock import SessionLockManager

    lock = SessionLockManager.__new__(SessionLockManager)  # its state alone: no lock files
    lock.locked = held
    return lock


def test_a_session_writes_only_the_jobs_its_lock_holds():
    from GangaJupyter.Lib.GangaPatches import writes_only_held

    written = []
    flush = writes_only_held.PATCH.wraps[1].wrapper(lambda repository, ids: written.append(list(ids)))
    flush(_repository(_session_lock({1, 3})), [1, 2, 3])
    flush(_repository(_session_lock({1})), [2])  # nothing of its own: Ganga's flush is not called at all
    assert written == [[1, 3]]


def test_without_per_session_locks_every_job_is_written():
    from GangaCore.Core.GangaRepository.FixedLock import FixedLockManager

    from GangaJupyter.Lib.GangaPatches import writes_only_held

    written = []
    flush = writes_only_held.PATCH.wraps[1].wrapper(lambda repository, ids: written.append(list(ids)))
    fixed = FixedLockManager.__new__(FixedLockManager)
    flush(_repository(fixed), [1, 2])
    flush(_repository(_session_lock(set()), registry="prep"), [0])  # only jobs are shared between sessions
    assert written == [[1, 2], [0]]


def test_before_a_first_write_of_subjobs_the_job_itself_is_written(tmp_path, monkeypatch):
    """Ganga writes the job's own file after its subjobs: cut short, the job stayed ``new`` on disk and nobody
    took it over. Its file is now written first, as it is (``submitting``); once subjob folders exist, or for
    subjobs read from disk (Ganga's list of files, which knows how to write itself), Ganga's order is kept."""
    from types import SimpleNamespace

    import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml

    from GangaJupyter.Lib.GangaPatches import unfinished_subjob_write

    writes = []
    monkeypatch.setattr(repository_xml, "safe_save", lambda fn, obj, to_file, ignore: writes.append(("job", ignore)))
    flush_xml = unfinished_subjob_write.PATCH.wraps[1].wrapper(lambda repository, this_id: writes.append("ganga"))
    (tmp_path / "26").mkdir()
    (tmp_path / "26" / "data").write_text("the job before its submit")
    job = SimpleNamespace(subjobs=[object()] * 3)
    repository = SimpleNamespace(objects={26: job}, sub_split="subjobs", to_file=None,
                                 get_fn=lambda this_id: str(tmp_path / str(this_id) / "data"),
                                 index_write=lambda this_id, shutdown: writes.append(("index", shutdown)))
    flush_xml(repository, 26)
    assert writes == [("job", "subjobs"), ("index", True), "ganga"]
    (tmp_path / "26" / "0").mkdir()
    writes.clear()
    flush_xml(repository, 26)
    job.subjobs = SimpleNamespace(flush=None)
    (tmp_path / "26" / "0").rmdir()
    flush_xml(repository, 26)
    assert writes == ["ganga", "ganga"]


def test_ganga_does_not_even_lock_a_job_another_session_holds_to_write_it():
    """``Registry._flush`` leaves another session's job before it takes the job's lock (a thread reading that job
    again holds it); the session's own jobs are flushed as before."""
    from types import SimpleNamespace

    from GangaJupyter.Lib.GangaPatches import writes_only_held

    flushed = []
    flush = writes_only_held.PATCH.wraps[0].wrapper(lambda registry, objs: flushed.append(list(objs)))
    mine, theirs = object(), object()
    registry = SimpleNamespace(repository=_repository(_session_lock({1})), find={mine: 1, theirs: 2}.__getitem__)
    flush(registry, [mine, theirs])
    flush(registry, theirs)
    assert flushed == [[mine]]


# ------------------------------------------------------------------------------------------------ start-up


def test_each_start_up_patch_switches_off_when_ganga_is_fixed(monkeypatch):
    from GangaJupyter.Lib.GangaPatches import index_placeholders_light, registry_find_by_id

    assert index_placeholders_light.PATCH.still_needed() and registry_find_by_id.PATCH.still_needed()
    for module, fixed in ((index_placeholders_light, "obj._dirty = False"), (registry_find_by_id, "self._by_id[obj]")):
        real = module.ganga_source
        monkeypatch.setattr(module, "ganga_source", lambda owner, name, real=real, module=module, fixed=fixed: real(
            owner, name).replace(getattr(module, "GANGA_FLUSH", getattr(module, "GANGA_SCAN", "")), fixed))
        assert not module.PATCH.still_needed(), module.PATCH.name


def test_a_placeholder_is_ganga_s_own_without_building_the_defaults(monkeypatch):
    from GangaCore.Core.GangaRepository.GangaRepository import GangaRepository
    from GangaCore.GPIDev.Schema.Schema import Schema

    from GangaJupyter.Lib.GangaPatches import index_placeholders_light

    class Repository:  # what _make_empty_object_ uses of a repository
        def __init__(self):
            self._found_classes, self.added = {}, {}

        def _internal_setitem__(self, this_id, obj):
            self.added[this_id] = obj

    defaults = []
    real_default = Schema.getDefaultValue
    monkeypatch.setattr(Schema, "getDefaultValue", lambda self, name: defaults.append(name) or real_default(self, name))
    ganga, light = Repository(), Repository()
    theirs = ganga_function(GangaRepository, "_make_empty_object_")(ganga, 7, "jobs", "Job")
    built_by_ganga = len(defaults)
    defaults.clear()
    ours = index_placeholders_light._light(ganga_function(GangaRepository, "_make_empty_object_"))(light, 7, "jobs", "Job")
    built_by_us = list(defaults)
    defaults.clear()
    type(ours).getNew(should_load=True)  # what making the object itself builds, in either
    assert built_by_ganga > 10 * len(defaults) and built_by_us == defaults, "the placeholder built defaults it throws away"
    assert type(ours) is type(theirs) and ours._data == theirs._data == {} and ours._dirty is theirs._dirty is False
    assert light.added == {7: ours} and ganga.added == {7: theirs}


def test_finding_an_object_in_a_registry_by_its_id_gives_ganga_s_answer():
    from GangaCore.Core.GangaRepository.Registry import ObjectNotInRegistryError, Registry

    from GangaJupyter.Lib.GangaPatches import registry_find_by_id

    class Thing:
        def __init__(self, registry_id):
            self._registry_id = registry_id

    class Objects:  # what find uses of a registry
        def __init__(self, objects):
            self._objects, self.name = objects, "jobs"

    first, second, moved, stranger = Thing(0), Thing(1), Thing(5), Thing(2)
    registry = Objects({0: first, 1: second, 2: moved})  # moved: its recorded id is not where it is
    ganga_find = ganga_function(Registry, "find")
    find = registry_find_by_id._by_id_first(ganga_find)
    for obj in (first, second, moved):
        assert find(registry, obj) == ganga_find(registry, obj)
    for missing in (stranger, Thing(None)):
        with pytest.raises(ObjectNotInRegistryError):
            find(registry, missing)
