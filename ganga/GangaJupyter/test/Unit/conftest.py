"""The Unit tier: GangaJupyter's own logic, without a Ganga bootstrap, in seconds (``tox -e unit``). Real files
under ``tmp_path`` and small fakes of outside systems (a schedd's ads, squeue's output); never mocks of
GangaJupyter's own code."""
