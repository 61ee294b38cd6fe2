"""The matcher's snapshot: the process that builds from the database writes it, the others map
it and catch up with what changed since; a snapshot of another taxonomy is never used."""
from __future__ import annotations

import json

import pytest

from volunteer.extensions import db
from volunteer.matching import snapshot, store
from volunteer.matching.index import RowOf
from volunteer.matching.matcher import Query

CENTER = (30.757, 121.353)


@pytest.fixture
def shared(app, monkeypatch, tmp_path):
    """Snapshots on, into this test's folder; every change followed at once."""
    monkeypatch.setitem(app.config, "MATCH_SNAPSHOT", True)
    monkeypatch.setattr(snapshot, "directory", lambda key: tmp_path / "matcher")
    monkeypatch.setattr(store, "REFRESH_SECONDS", 0.0)
    builds = []
    original = store._from_database

    def counted(*args, **kwargs):
        builds.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "_from_database", counted)
    store.forget()
    yield builds
    store.forget()


def electricians(matcher) -> set[int]:
    result = matcher.match(Query(lat=CENTER[0], lon=CENTER[1], skills=["electrician"]))
    return {s.user_id for s in result.suggestions}


def test_a_second_process_maps_the_snapshot_and_catches_up(shared, factory, tmp_path):
    first = factory.volunteer(name="老王", skills=("electrician",))
    assert electricians(store.get_matcher()) == {first.id}
    assert len(shared) == 1
    stamp = json.loads((tmp_path / "matcher" / "current.json").read_text())["stamp"]
    assert (tmp_path / "matcher" / stamp / "user_id.npy").exists()

    store.forget()  # as a newly started worker
    second = factory.volunteer(name="小李", skills=("electrician",))
    matcher = store.get_matcher()
    assert len(shared) == 1  # mapped, not read from the database again
    assert electricians(matcher) == {first.id, second.id}  # and caught up

    # A volunteer who pauses is gone from the mapped index at the next look.
    second.profile.paused = True
    db.session.commit()
    assert electricians(store.get_matcher()) == {first.id}


def test_a_deleted_account_leaves_at_once_without_an_audit(app, factory, monkeypatch):
    from volunteer.auth.services import delete_account

    monkeypatch.setattr(store, "REFRESH_SECONDS", 0.0)
    monkeypatch.setattr(store, "AUDIT_SECONDS", 3600.0)
    store.forget()
    first = factory.volunteer(name="老王", skills=("electrician",))
    second = factory.volunteer(name="小李", skills=("electrician",))
    assert electricians(store.get_matcher()) == {first.id, second.id}
    delete_account(second)
    db.session.commit()
    assert electricians(store.get_matcher()) == {first.id}
    store.forget()


def test_a_snapshot_of_another_taxonomy_is_not_used(shared, factory, tmp_path):
    factory.volunteer(name="老王", skills=("electrician",))
    store.get_matcher()
    pointer = tmp_path / "matcher" / "current.json"
    stamp = json.loads(pointer.read_text())["stamp"]
    meta_path = tmp_path / "matcher" / stamp / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["taxonomy_key"] = "another"
    meta_path.write_text(json.dumps(meta))
    store.forget()
    store.get_matcher()
    assert len(shared) == 2  # built again from the database, and written anew
    assert json.loads(pointer.read_text())["stamp"] != stamp


def test_a_broken_snapshot_is_rebuilt(shared, factory, tmp_path):
    factory.volunteer(name="老王", skills=("electrician",))
    store.get_matcher()
    (tmp_path / "matcher" / "current.json").write_text("{not json")
    store.forget()
    assert store.get_matcher().base.n == 1
    assert len(shared) == 2


def test_the_command_writes_a_snapshot(shared, factory, runner, tmp_path):
    factory.volunteer(name="老王", skills=("electrician",))
    result = runner.invoke(args=["matching", "snapshot"])
    assert result.exit_code == 0, result.output
    assert "1 volunteers" in result.output
    store.forget()
    store.get_matcher()
    assert len(shared) == 1  # the command's build; the worker mapped it


def test_tick_writes_the_snapshot_anew_once_it_falls_behind(shared, factory, runner,
                                                            monkeypatch, tmp_path):
    monkeypatch.setattr(store, "OVERLAY_MAX", 6)  # anew beyond 3 changed volunteers
    first = factory.volunteer(name="老王", skills=("electrician",))
    store.get_matcher()  # builds, writes the snapshot
    pointer = tmp_path / "matcher" / "current.json"
    written = pointer.read_text()
    others = [factory.volunteer(name=f"电工{n}", skills=("electrician",)) for n in range(2)]
    assert store.refresh_snapshot() is None  # three read since (the newest one again)
    assert pointer.read_text() == written
    others.append(factory.volunteer(name="小李", skills=("electrician",)))
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert "snapshot written anew (4 volunteers)" in result.output
    assert pointer.read_text() != written
    assert store.refresh_snapshot() is None  # and current again

    # A worker whose overlay outgrows the limit maps that newer snapshot, not the database.
    builds = len(shared)
    more = [factory.volunteer(name=f"水电工{n}", skills=("electrician",)) for n in range(5)]
    assert electricians(store.get_matcher()) == {first.id} | {u.id for u in others + more}
    assert len(shared) == builds  # the overlay outgrew it: mapped tick's, no database build
    assert store.get_matcher().base.n == 4


def test_without_a_snapshot_tick_writes_none(app, factory, monkeypatch, tmp_path):
    monkeypatch.setattr(snapshot, "directory", lambda key: tmp_path / "matcher")
    monkeypatch.setattr(store, "OVERLAY_MAX", 0)
    factory.volunteer(name="老王", skills=("electrician",))
    assert store.refresh_snapshot() is None  # the service writes it as it starts
    monkeypatch.setitem(app.config, "MATCH_SNAPSHOT", False)
    assert store.refresh_snapshot() is None
    assert not (tmp_path / "matcher").exists()


def test_row_of_maps_user_ids_to_rows():
    import numpy as np

    rows = RowOf(np.array([30, 10, 20], dtype=np.int64))
    assert rows.get(10) == 1 and rows[30] == 0 and 20 in rows and rows.get(99) is None
    assert len(rows) == 3
    with pytest.raises(KeyError):
        rows[99]
