"""The errors NotebookApp raises through Ganga's interface: GangaJupyter's errors (``Core/errors.py``) that are
Ganga's ``GangaException`` as well. Ganga's shell shows a GangaException as an expected error (its message) and any
other exception as an "Unknown/Unexpected ERROR" to report to Ganga's developers; a notebook shows it without a
Python stack (``[Jupyter] short_ganga_errors``); and ``except GangaException`` still catches what a GPI method
raises. Catch them by either family: ``except NotebookCellError`` catches a :class:`NotebookAppCellError`.
"""
from __future__ import annotations

from GangaCore.Core.exceptions import ApplicationConfigurationError, GangaException

from ..Core.errors import ConfigurationError, NotebookCellError, NotFinishedError, WorkerFileError


class NotebookAppError(ApplicationConfigurationError, ConfigurationError):
    """A NotebookApp that cannot be submitted as it is, or a request it cannot take; the message says what to change."""


class NotebookAppNotFinishedError(GangaException, NotFinishedError):
    """The job's results or executed notebook were asked for before the job completed."""


class NotebookAppCellError(GangaException, NotebookCellError):
    """The job's results were asked for, and a cell failed on the worker."""


class NotebookAppFileError(GangaException, WorkerFileError):
    """The job completed, but a file its worker should have sent back is not there."""
