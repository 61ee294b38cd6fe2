"""gunicorn's hooks for this app (gunicorn reads ``gunicorn.conf.py`` from the directory it
starts in). With ``--preload`` the parent reads the matcher once, compiles the page templates
and reads the translations before it forks the workers, so a worker that starts or restarts
serves its first match and its first pages at once (README, "Production")."""
import gc

from volunteer import web
from volunteer.matching import store


def when_ready(server):
    """The listening sockets are open and no worker is forked yet."""
    if server.cfg.preload_app:
        app = server.app.wsgi()
        store.warm_before_fork(app)
        web.warm_before_fork(app)
        # What the parent holds now lives as long as the workers: out of the collector's
        # sight (gc.freeze), a worker's full collection no longer walks it (~300,000 objects,
        # 170 ms at a million volunteers), nor copies the pages it shares with the parent.
        gc.collect()
        gc.freeze()
