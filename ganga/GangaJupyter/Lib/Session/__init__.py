"""What runs inside a Ganga session for the Jobs browser: the session's registration, status journal and request
service (:mod:`.service`), the actions it carries out with Ganga (:mod:`.actions`, also the live views'), and the
browser's own helper session (``python -m GangaJupyter.Lib.Session.helper``). It speaks to the Jupyter server only
through the files of :mod:`..Core.protocol`."""
