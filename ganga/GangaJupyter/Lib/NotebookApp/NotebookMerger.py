"""NotebookMerger: gather the output variables of a NotebookApp sweep into one file."""
from __future__ import annotations

import pickle

from GangaCore.GPIDev.Adapters.IMerger import IMerger
from GangaCore.GPIDev.Schema import SimpleItem

from ..Worker import notebook_runner


class NotebookMerger(IMerger):
    """Merge the ``outputs`` of every subjob of a NotebookApp sweep into the master's output directory.

    The merged file (``gangajupyter_outputs.pkl``) is a pickled list with each subjob's outputs file, in subjob
    order, as bytes: nothing is unpickled here. A worker node may write straight into the gangadir (HTCondor
    ``spool=False``, Slurm on a shared filesystem), and merging runs without asking in whichever session
    completes the job (possibly the Jobs browser's helper). ``j.application.results()`` on the master unpickles
    them, when the user asks.
    """

    _schema = IMerger._schema.inherit_copy()
    _schema.datadict["files"] = SimpleItem(
        defvalue=[notebook_runner.OUTPUTS], typelist=[str], sequence=1, doc="Files to merge (the NotebookApp outputs)"
    )
    _category = "postprocessor"
    _name = "NotebookMerger"
    _exportmethods = ["merge"]

    def mergefiles(self, file_list, output_file):
        merged = []
        for path in file_list:
            with open(path, "rb") as handle:
                merged.append(handle.read())
        with open(output_file, "wb") as handle:
            pickle.dump(merged, handle)
