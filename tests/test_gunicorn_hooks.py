"""``gunicorn.conf.py``: with ``--preload`` the parent process reads the matcher once before
it forks the workers, and hands them no database connection; it compiles the page templates
and reads the translations for them too."""
from __future__ import annotations

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from volunteer import web
from volunteer.extensions import db
from volunteer.matching import store
from volunteer.matching.matcher import Query

HOOKS = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))


@pytest.fixture(autouse=True)
def unfrozen():
    """The hook freezes the collector's view of the process, as a server's parent keeps it;
    the tests' process goes on afterwards."""
    yield
    gc.unfreeze()


def server(app, preload: bool = True):
    return SimpleNamespace(cfg=SimpleNamespace(preload_app=preload),
                           app=SimpleNamespace(wsgi=lambda: app))


def test_the_preloaded_parent_reads_the_matcher_for_its_workers(app, factory):
    vol = factory.volunteer(name="老王", skills=("electrician",))
    store.forget()
    HOOKS["when_ready"](server(app))
    assert app.extensions["matching"], "read before the fork"
    assert db.engine.pool.checkedout() == 0  # no connection for a child to inherit
    matcher = store.get_matcher()  # as a forked worker: the same one, caught up
    found = matcher.match(Query(lat=30.757, lon=121.353, skills=["electrician"]))
    assert [s.user_id for s in found.suggestions] == [vol.id]
    store.forget()


def test_the_preloaded_parent_compiles_the_templates_and_reads_the_translations(app):
    env = app.jinja_env
    env.cache.clear()
    HOOKS["when_ready"](server(app))
    compiled = {name for (_loader, name) in env.cache.keys()}
    assert {"base.html", "auth/login.html", "issues/detail.html"} <= compiled
    babel = app.extensions["babel"].instance.domain_instance
    assert {locale for (locale, _domain) in babel.cache} == {"zh_Hans_CN", "en"}
    assert web.warm_before_fork(app) == len(compiled)


def test_what_the_parent_holds_is_out_of_the_collectors_sight(app):
    HOOKS["when_ready"](server(app))
    assert gc.get_freeze_count() > 0
    store.forget()


def test_without_preload_the_parent_reads_nothing(app):
    store.forget()
    HOOKS["when_ready"](server(app, preload=False))
    assert "matching" not in app.extensions


def test_a_parent_that_cannot_read_it_still_starts(app, monkeypatch):
    store.forget()

    def unavailable():
        raise store.MatcherUnavailable("no_model")

    monkeypatch.setattr(store, "get_matcher", unavailable)
    assert store.warm_before_fork(app) is False
    assert not app.extensions.get("matching")
