"""The ``htcondor2`` bindings, imported only when an HTCondor job needs them, and their errors in plain words.

GangaJupyter loads without the ``htcondor`` wheel; using the backend without it says how to install it.
HTCondor's own messages for the usual set-up mistakes (no configuration, a missing or wrong token) name neither
the file nor the setting to fix, so :func:`explain` adds them.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from GangaCore.Core.exceptions import BackendError

BACKEND = "HTCondor"


def htcondor2() -> ModuleType:
    """The ``htcondor2`` module, or a :class:`BackendError` that says how to get it."""
    try:
        import htcondor2 as module
    except ImportError as err:
        raise BackendError(
            BACKEND,
            f"the HTCondor backend needs HTCondor's Python bindings (module htcondor2: {err}). "
            "Install them with: pip install htcondor",
        ) from None
    return module


def config_hint() -> str:
    """Where this process's HTCondor client configuration comes from, and what it says about tokens."""
    config = os.environ.get("CONDOR_CONFIG")
    where = f"CONDOR_CONFIG={config}" if config else "CONDOR_CONFIG is not set (HTCondor then looks in /etc/condor)"
    try:
        tokens = htcondor2().param.get("SEC_TOKEN_DIRECTORY", "")
    except Exception:  # no configuration at all
        tokens = ""
    token_hint = f"SEC_TOKEN_DIRECTORY = {tokens}" if tokens else "SEC_TOKEN_DIRECTORY (unset: ~/.condor/tokens.d)"
    return f"{where}; tokens from {token_hint}"


def explain(action: str, err: BaseException) -> BackendError:
    """A :class:`BackendError` for a failed call to the schedd or collector, naming what to fix."""
    text = str(err).strip() or type(err).__name__
    lowered = text.lower()
    if "authenticate" in lowered or "permission denied" in lowered or "not authorized" in lowered:
        fix = (
            f"HTCondor did not accept this client's credentials. Check the IDTOKENS token ({config_hint()}): "
            "get one from the pool's admins or with condor_token_fetch; for GangaJupyter's test pool run "
            "scripts/htcondor-pool.sh start and export the CONDOR_CONFIG it prints"
        )
    elif "locate" in lowered or "connect" in lowered or "timed out" in lowered or "failed to" in lowered:
        fix = (
            f"HTCondor's schedd or collector cannot be reached ({config_hint()}). Point CONDOR_CONFIG at the "
            "pool's client configuration (COLLECTOR_HOST, SCHEDD_HOST) or set HTCondor(pool=..., schedd=...); "
            "for GangaJupyter's test pool run scripts/htcondor-pool.sh start"
        )
    else:
        fix = f"HTCondor configuration: {config_hint()}"
    return BackendError(BACKEND, f"{action} failed: {text}. {fix}")


def schedd(pool: str = "", name: str = "") -> Any:
    """A handle on the schedd (``name`` located through collector ``pool``, or this configuration's schedd)."""
    module = htcondor2()
    try:
        if not pool and not name:
            return module.Schedd()
        collector = module.Collector(pool) if pool else module.Collector()
        if name:
            ad = collector.locate(module.DaemonType.Schedd, name)
        else:
            ad = collector.locate(module.DaemonType.Schedd)
        return module.Schedd(ad)
    except module.HTCondorException as err:
        raise explain("finding the schedd", err) from None
    except ValueError as err:  # htcondor2 reports an unknown schedd name this way
        raise explain(f"finding schedd {name!r}", err) from None
