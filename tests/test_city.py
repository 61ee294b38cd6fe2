"""``seed-city``: a synthetic district of several towns, deterministic from its seed, whose
offices, leaders and volunteers can log in and work."""
from __future__ import annotations

from volunteer import policy
from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.demo.city import city_phone
from volunteer.extensions import db
from volunteer.hours.models import ServiceHours
from volunteer.invitations.models import Invitation
from volunteer.issues.models import Issue, IssueEvent
from volunteer.org.models import Grid, Town, Village
from volunteer.volunteers.models import VolunteerProfile

ARGS = ["seed-city", "--towns", "3", "--volunteers", "600", "--seed", "7"]


def _fingerprint() -> tuple:
    return (db.session.scalar(db.select(db.func.count(Grid.id))),
            tuple(db.session.scalars(db.select(Village.code).order_by(Village.id))),
            tuple(db.session.scalars(db.select(User.name).order_by(User.id).limit(50))),
            tuple(db.session.execute(db.select(Issue.grid_id, Issue.status, Issue.tier)
                                     .order_by(Issue.id)).all()))


def _empty_but_reference() -> None:
    from volunteer.issues.models import IssueCategory

    db.session.execute(db.update(IssueCategory).values(default_department_id=None))
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in ("district", "town", "skill", "skill_category", "issue_category",
                              "urgency_level"):
            db.session.execute(table.delete())
    db.session.execute(db.delete(Town).where(Town.code != "SY"))
    db.session.commit()
    db.session.expunge_all()


def test_seed_city_builds_a_working_district(runner, client):
    result = runner.invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    assert "14000000000" in result.output
    assert db.session.scalar(db.select(db.func.count(Town.id))) == 3
    assert db.session.scalar(db.select(db.func.count(VolunteerProfile.id))) == 600
    grids = db.session.scalar(db.select(db.func.count(Grid.id)))
    # four per grid, and a task waiting for an answer for each of the first volunteers
    assert grids == 30 and db.session.scalar(db.select(db.func.count(Issue.id))) == 4 * grids + 600
    # Every grid has a square boundary; every town holds 村居.
    assert db.session.scalar(db.select(db.func.count(Grid.id)).where(Grid.boundary.is_(None))) == 0
    for town in db.session.scalars(db.select(Town)):
        assert town.villages and town.lat is not None

    district_admin = db.session.scalar(db.select(User).where(
        User.phone == city_phone("district_admin", 0)))
    town_admin = db.session.scalar(db.select(User).where(User.phone == city_phone("admin", 1)))
    assert policy.town_ids(district_admin) is None
    assert len(policy.town_ids(town_admin)) == 1

    resp = client.post("/auth/login", data={"login": city_phone("grid_leader", 0),
                                            "password": "demo1234"})
    assert resp.status_code == 302
    issue = db.session.scalar(db.select(Issue).join(Grid).where(
        Grid.id == db.session.scalar(db.select(Grid.id).order_by(Grid.id)),
        Issue.status == "reported").limit(1))
    if issue is not None:
        assert client.get(f"/issues/{issue.id}").status_code == 200

    # What tick would have done over the half year is done: its first run finds nothing due.
    tick = runner.invoke(args=["tick"])
    assert tick.exit_code == 0, tick.output
    assert "tick: 0 issue(s) newly overdue (0 waiting for verification)" in tick.output
    assert "0 expired invitation(s) reported" in tick.output
    assert db.session.scalar(db.select(db.func.count(IssueEvent.id))
                             .where(IssueEvent.action == "overdue")) > 0

    # The same seed builds the same city; a city needs an empty installation.
    again = runner.invoke(args=ARGS)
    assert again.exit_code != 0 and "empty" in again.output
    first = _fingerprint()
    _empty_but_reference()
    assert runner.invoke(args=ARGS).exit_code == 0
    assert _fingerprint()[:3] == first[:3]
    assert _fingerprint()[3] == first[3]


def test_nothing_seeded_lies_ahead_of_now(runner):
    """Issues of the last hours too (many of them): their invitations, answers, hours,
    closings and rejections are not dated later than the seeding. The matcher follows the
    newest change it sees, which must not lie ahead."""
    result = runner.invoke(args=["seed-city", "--towns", "1", "--volunteers", "200",
                                 "--issues", "20000", "--seed", "3"])
    assert result.exit_code == 0, result.output
    now = utcnow()
    for column in (Invitation.created_at, Invitation.updated_at, Invitation.responded_at,
                   Issue.updated_at, Issue.closed_at, IssueEvent.created_at,
                   ServiceHours.confirmed_at, ServiceHours.served_on):
        latest = db.session.scalar(db.select(db.func.max(column)))
        assert latest <= (now if column is not ServiceHours.served_on else now.date()), column


def test_seed_city_refuses_nonsense(runner):
    result = runner.invoke(args=["seed-city", "--towns", "0"])
    assert result.exit_code != 0 and "--towns" in result.output
    result = runner.invoke(args=["seed-city", "--volunteers", "-5"])
    assert result.exit_code != 0
