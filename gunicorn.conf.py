"""gunicorn's hooks for this app (gunicorn reads ``gunicorn.conf.py`` from the directory it
starts in). With ``--preload`` the parent reads the matcher once before it forks the workers,
so a worker that starts or restarts serves its first match at once (README, "Production")."""
from volunteer.matching.store import warm_before_fork


def when_ready(server):
    """The listening sockets are open and no worker is forked yet."""
    if server.cfg.preload_app:
        warm_before_fork(server.app.wsgi())
