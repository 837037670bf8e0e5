"""``HTCondor``: a Ganga backend for HTCondor pools on today's ``htcondor2`` bindings.

A job and all its subjobs go to the schedd as one cluster (one ``Schedd.submit`` with item data). By default the
files travel over the connection (``spool``), so the notebook needs no filesystem shared with the schedd.
Monitoring is one schedd query per poll for every active job (:mod:`.monitoring`, run by HTCondor's adapter).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from GangaCore.Core.exceptions import BackendError
from GangaCore.GPIDev.Adapters.IBackend import IBackend
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.GPIDev.Lib.File.FileBuffer import FileBuffer
from GangaCore.GPIDev.Schema import ComponentItem, Schema, SimpleItem, Version
from GangaCore.Utility.logging import getLogger

from ..Core.statuses import AT_BACKEND
from . import bindings, description
from .adapter import htcondor_adapter

logger = getLogger()


def _stat(doc: str, default: Any = None, types: list[str] | None = None) -> SimpleItem:
    return SimpleItem(defvalue=default, protected=1, copyable=0, typelist=types or ["float", "int", "type(None)"], doc=doc)



def _remove_cluster(schedd: Any, module: Any, cluster: int, reason: str) -> None:
    """Take a half-submitted cluster away again; the submit error that follows is what the user needs to read."""
    try:
        schedd.act(module.JobAction.Remove, f"ClusterId == {cluster}", reason=reason)
    except module.HTCondorException as err:
        logger.warning("could not remove HTCondor cluster %s after a failed submit: %s", cluster, err)

class HTCondor(IBackend):
    """Submit jobs to an HTCondor pool with the ``htcondor2`` bindings (``pip install htcondor``).

    A job and its subjobs become one HTCondor cluster. ``spool=True`` (default): input and output files travel
    over the connection to the schedd (no shared filesystem needed); ``spool=False``: the schedd reads and
    writes the job's Ganga workspace in place, and stdout can be read while the job runs. The client finds the
    pool through ``CONDOR_CONFIG`` (or ``pool``/``schedd``). Attribute names follow Ganga's ``Condor`` backend.
    """

    _schema = Schema(
        Version(1, 0),
        {
            "requirements": ComponentItem(
                category="condor_requirements", defvalue="CondorRequirements", doc="Requirements for selecting execution host"
            ),
            "env": SimpleItem(defvalue={}, typelist=["dict"], doc="Environment settings for execution host"),
            "getenv": SimpleItem(defvalue="False", doc="Flag to pass current environment to execution host"),
            "rank": SimpleItem(defvalue="Memory", doc="Ranking scheme to be used when selecting execution host"),
            "submit_options": SimpleItem(
                defvalue=[], typelist=["str"], sequence=1, doc="Extra submit commands, each 'command = value' (e.g. 'request_memory = 2GB')"
            ),
            "cdf_options": SimpleItem(defvalue={}, typelist=["dict"], doc="Extra submit commands as a dictionary (as in Ganga's Condor)"),
            "universe": SimpleItem(defvalue="vanilla", doc="Type of execution environment to be used by HTCondor"),
            "accounting_group": SimpleItem(defvalue="", doc="Accounting group for this job"),
            "spool": SimpleItem(
                defvalue=True,
                doc="True: files travel over the connection to the schedd (no shared filesystem). False: the schedd "
                "reads and writes the job's workspace in place (needs a filesystem shared with the schedd)",
            ),
            "pool": SimpleItem(defvalue="", doc="Collector (host[:port]) to find the schedd through; empty: CONDOR_CONFIG's"),
            "schedd": SimpleItem(defvalue="", doc="Name of the schedd to submit to; empty: the configuration's own schedd"),
            "fail_on_hold": SimpleItem(
                defvalue=True,
                doc="A job HTCondor holds because of an error is removed and marked failed, with the hold reason as "
                "its error. Jobs held by a user (condor_hold) always wait for condor_release",
            ),
            "idle_check": SimpleItem(
                defvalue=20,
                typelist=["int", "float"],
                doc="Seconds a job may stay idle before GangaJupyter checks whether any slot in the pool can run it "
                "(the answer goes into 'reason'); 0: never",
            ),
            "id": SimpleItem(defvalue="", protected=1, copyable=0, doc="HTCondor job id (cluster.proc; the cluster for a split job)"),
            "status": SimpleItem(defvalue="", protected=1, copyable=0, doc="HTCondor status (Idle, Running, Held, Completed, ...)"),
            "reason": SimpleItem(defvalue="", protected=1, copyable=0, doc="Why the job is held, idle, or failed, as HTCondor says"),
            "actualCE": SimpleItem(defvalue="", protected=1, copyable=0, doc="Slot (and machine) where the job ran"),
            "cputime": _stat("CPU time used by the job, seconds (user + system)"),
            "walltime": _stat("Wall-clock time the job ran, seconds"),
            "memory": _stat("Peak memory of the job, MB"),
            "exitcode": _stat("Exit code of the payload", types=["int", "type(None)"]),
        },
    )
    _category = "backends"
    _name = "HTCondor"
    _exportmethods = ["kill", "resubmit", "peek", "hold", "release"]

    # ------------------------------------------------------------------ submit
    def master_submit(self, rjobs, subjobconfigs, masterjobconfig, keep_going=False, parallel_submit=False):
        """All of ``rjobs`` as one cluster: one ``Schedd.submit`` with one row of item data per job."""
        job = self.getJobObject()
        module = bindings.htcondor2()  # before any work: a missing wheel is the first thing to hear about
        description.check_input_files(job)
        master_sandbox = self.master_prepare(masterjobconfig)
        items = []
        for sj, config in zip(rjobs, subjobconfigs):
            sj.updateStatus("submitting", update_master=False)  # the master is updated once, after the cluster
            items.append(self._prepare(sj, config, master_sandbox))
        self._submit_cluster(module, job, rjobs, items, first_submit=True)
        return 1

    def master_resubmit(self, rjobs, backend=None):
        """Resubmit ``rjobs`` (failed or killed subjobs, or the job itself) as one new cluster, reusing their
        prepared sandboxes."""
        job = self.getJobObject()
        master = job if job.master is None else job.master
        module = bindings.htcondor2()
        items = []
        try:
            for sj in rjobs:
                sj.updateStatus("submitting", update_master=False)  # the master is updated once, after the cluster
                inputs = description.read_input_list(sj.getInputWorkspace().getPath())
                description.check_inputs(sj.getFQID("."), inputs)
                items.append(description.item(sj.getFQID("."), sj.getOutputWorkspace(create=True).getPath(), inputs))
            self._submit_cluster(module, master, rjobs, items, first_submit=False)
        finally:
            if job.master is not None:
                job.master.updateMasterJobStatus()
        return 1

    def _prepare(self, sj: Any, config: Any, master_sandbox: list[str]) -> dict[str, str]:
        """Write this (sub)job's sandbox and command file; its item data row."""
        fqid = sj.getFQID(".")
        env = dict(self.env)
        env.update(config.env or {})
        command = description.command_text(config.getExeString().strip(), config.getArgStrings(), env)
        workspace = sj.getInputWorkspace()
        command_file = workspace.writefile(FileBuffer(description.COMMAND, command), executable=1)
        inputs = list(sj.createPackedInputSandbox(config.getSandboxFiles())) + list(master_sandbox) + [command_file]
        description.check_inputs(fqid, inputs)
        inputs = list(dict.fromkeys(inputs))
        description.write_input_list(workspace.getPath(), inputs)
        return description.item(fqid, sj.getOutputWorkspace(create=True).getPath(), inputs)

    def _submit_cluster(self, module: Any, job: Any, rjobs: list[Any], items: list[dict[str, str]], first_submit: bool) -> None:
        wrapper = job.getInputWorkspace().writefile(FileBuffer(description.WRAPPER, description.WRAPPER_TEXT), executable=1)
        backend = job.backend
        submit = module.Submit(description.cluster_description(backend, job, wrapper))
        schedd = bindings.schedd(backend.pool, backend.schedd)
        try:
            result = schedd.submit(submit, spool=bool(backend.spool), itemdata=iter(items))
        except module.HTCondorException as err:
            raise bindings.explain(f"submitting job {job.getFQID('.')} to HTCondor", err) from None
        cluster, first = result.cluster(), result.first_proc()
        if result.num_procs() != len(rjobs):
            _remove_cluster(schedd, module, cluster, "GangaJupyter: incomplete submit")
            raise BackendError("HTCondor", f"HTCondor accepted {result.num_procs()} of {len(rjobs)} jobs: removed cluster {cluster}")
        if backend.spool:
            try:
                schedd.spool(result)
            except module.HTCondorException as err:
                _remove_cluster(schedd, module, cluster, "GangaJupyter: spooling failed")
                raise bindings.explain(f"sending the input files of job {job.getFQID('.')} to the schedd", err) from None
        if len(job.subjobs) and job.master is None and not job.backend.id:
            job.backend.id = str(cluster)
        for offset, sj in enumerate(rjobs):
            sj.backend.id = f"{cluster}.{first + offset}"
            for name in ("status", "reason", "actualCE"):
                setattr(sj.backend, name, "")
            for name in ("cputime", "walltime", "memory", "exitcode"):
                setattr(sj.backend, name, None)
            sj.updateStatus("submitted", update_master=False)
            sj.time.timenow("submitted")
            if first_submit:  # Ganga counts resubmits itself
                stripProxy(sj.info).increment()

    # ------------------------------------------------------------------ actions
    def _active(self) -> list[Any]:
        job = self.getJobObject()
        targets = list(job.subjobs) if len(job.subjobs) else [job]
        return [t for t in targets if t.status in AT_BACKEND and t.backend.id]

    def _act(self, action: str, reason: str) -> bool:
        module = bindings.htcondor2()
        ids = [t.backend.id for t in self._active()]
        if not ids:
            return True
        schedd = bindings.schedd(self.pool, self.schedd)
        try:
            result = schedd.act(getattr(module.JobAction, action), ids, reason=reason)
        except module.HTCondorException as err:
            raise bindings.explain(f"{action.lower()} of HTCondor jobs {', '.join(ids[:5])}", err) from None
        return int(result.get("TotalError", 0)) == 0 or int(result.get("TotalJobAds", 0)) == 0

    def master_kill(self):
        """Remove the job (all its active subjobs in one call) from the schedd."""
        removed = self._act("Remove", "killed from Ganga")
        for target in self._active():
            target.backend.status = "Removed"
        return removed

    def kill(self):
        return self.master_kill()

    def hold(self) -> bool:
        """Put the job's queued or running HTCondor jobs on hold (``condor_hold``); they wait for :meth:`release`."""
        return self._act("Hold", "held from Ganga")

    def release(self) -> bool:
        """Release the job's held HTCondor jobs (``condor_release``)."""
        for target in self._active():
            target.backend.reason = ""
        return self._act("Release", "released from Ganga")

    def resubmit(self):
        return self.master_resubmit([self.getJobObject()])

    def peek(self, filename: str = "stdout", command: str = "") -> None:
        """Show the end of a file the running job writes (``stdout`` by default).

        Shared filesystem (``spool=False``): read where HTCondor streams it. Spool: ask the job's starter through
        ``condor_tail`` when HTCondor's command-line tools are installed here; the Python bindings cannot.
        """
        job = self.getJobObject()
        if len(job.subjobs):
            print(f"Job {job.getFQID('.')} is split: peek at one of its subjobs, e.g. jobs({job.id}).subjobs[0].backend.peek()")
            return None
        path = os.path.join(job.getOutputWorkspace(create=False).getPath(), filename or "stdout")
        if job.status != "running" or not self.spool:
            if os.path.isfile(path):
                if command:
                    try:
                        subprocess.run([command, path], check=False)
                    except OSError as err:
                        print(f"cannot run {command!r} on {path}: {err}. Give the name of a viewer installed here.")
                else:
                    from ..Core.job_files import tail

                    print(tail(path, 40))
            else:
                print(f"{filename} of job {job.getFQID('.')} does not exist yet (HTCondor status {self.status or job.status}).")
            return None
        condor_tail = shutil.which("condor_tail")
        if condor_tail is None:
            print(
                f"Job {job.getFQID('.')} runs in spool mode: its {filename} reaches this machine when it ends. Peeking at a "
                "running spool job needs HTCondor's condor_tail command here (the htcondor2 bindings have no "
                "equivalent); or submit with HTCondor(spool=False) on a filesystem shared with the schedd."
            )
            return None
        out = subprocess.run([condor_tail, "-maxbytes", "16384", self.id, filename], capture_output=True, text=True, check=False)
        print(out.stdout or out.stderr)
        return None

    # ------------------------------------------------------------------ monitoring
    @staticmethod
    def master_updateMonitoringInformation(jobs):
        """One monitoring task for every active HTCondor job and subjob (Ganga's default runs one per split job)."""
        htcondor_adapter.monitor.schedule(jobs)

    @staticmethod
    def updateMonitoringInformation(jobs):
        htcondor_adapter.update(jobs)
