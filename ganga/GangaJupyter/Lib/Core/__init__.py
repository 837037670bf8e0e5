"""GangaJupyter's shared vocabulary, Ganga-neutral: statuses, text helpers, job files, where a repository lives,
the on-disk protocol between the Jupyter server and Ganga sessions, the worker's report, and the errors. Nothing
here imports Ganga or Jupyter, so every room (kernel, session, worker, server) can use it."""
