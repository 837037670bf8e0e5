"""The Unit tier: GangaJupyter's own logic, without a Ganga bootstrap, in seconds (``tox -e unit``). Real files
under ``tmp_path`` and small fakes of outside systems (a schedd's ads, squeue's output); never mocks of
GangaJupyter's own code."""


def pytest_sessionfinish(session):
    """A run of this tier alone must not have started Ganga (a test that does belongs in GPI/ or System/)."""
    import sys

    alone = all("/test/Unit/" in str(item.fspath) for item in session.items)
    if alone and session.items and "ganga.ganga" in sys.modules:
        session.exitstatus = 1
        print("\nThe Unit tier started Ganga (ganga.ganga was imported): move that test to test/GPI/ or test/System/")
