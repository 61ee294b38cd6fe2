"""The demo town: DESIGN §1 counts, deterministic, demo logins that work, no page failing."""
import hashlib
import re
from collections import Counter, deque

from volunteer.auth.models import RoleAssignment, User
from volunteer.demo.seed import DEMO_PASSWORD, DEMO_PHONES
from volunteer.extensions import db
from volunteer.org.models import Department, Grid, GridPoint, ServiceItem, Village
from volunteer.volunteers.models import VolunteerProfile, VolunteerSkill


def count(model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def distinct_users(role):
    return db.session.scalar(db.select(db.func.count(db.distinct(RoleAssignment.user_id)))
                             .where(RoleAssignment.role == role))


def fingerprint() -> str:
    rows = db.session.execute(db.select(User.name, User.phone).order_by(User.phone)).all()
    grids = db.session.execute(db.select(Grid.code, Grid.lat, Grid.lon).order_by(Grid.code)).all()
    return hashlib.sha256(repr((rows, grids)).encode()).hexdigest()


def test_demo_town(runner, client, app):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert count(Village) == 33
    names = set(db.session.scalars(db.select(Village.name)))
    assert {"金湾居民区", "新江村", "东方村", "金世纪居委会"} <= names
    assert count(Grid) == 200
    assert distinct_users("grid_leader") == 174
    assert count(RoleAssignment, RoleAssignment.role == "grid_leader") == 200
    assert distinct_users("grid_instructor") == 130
    assert distinct_users("grid_member") == 1280
    assert count(VolunteerProfile, VolunteerProfile.is_party_member.is_(True)) == 2506
    assert distinct_users("volunteer") > 2506  # party members and skilled residents
    assert count(VolunteerProfile) > 2506 + 1280
    assert count(VolunteerProfile, VolunteerProfile.party_status == "pending") > 0
    assert count(VolunteerProfile, VolunteerProfile.paused.is_(True)) > 0
    assert count(VolunteerSkill, VolunteerSkill.status == "verified") > 0
    assert distinct_users("resident") > 0
    assert count(GridPoint) == 84
    assert count(GridPoint, GridPoint.party_service_point.is_(True)) == 77
    assert count(GridPoint, GridPoint.deputy_reception_point.is_(True)) > 0
    assert count(Department) == 24
    assert count(ServiceItem) == 18
    # About 2,100 issues, split ~35/63/2 between grid, 村居 and department.
    from volunteer.issues.models import Issue

    total = count(Issue)
    assert 2000 <= total <= 2200
    share = {t: count(Issue, Issue.tier == t) / total for t in ("grid", "village", "department")}
    assert abs(share["grid"] - 0.35) < 0.05 and abs(share["village"] - 0.63) < 0.05
    assert 0.005 < share["department"] < 0.04
    assert count(Issue, Issue.rework_count > 0) > 0 and count(Issue, Issue.reopen_count > 0) > 0
    from volunteer.issues.models import overdue_clause

    assert count(Issue, overdue_clause()) > 0
    # Helpers: invitations in every state, offers, hours confirmed and proposed, corrections.
    from volunteer.common import utcnow
    from volunteer.hours.models import HoursCorrection, ServiceHours
    from volunteer.invitations.models import Invitation

    states = {i.state(utcnow()) for i in db.session.scalars(db.select(Invitation))}
    assert states == {"offered", "invited", "accepted", "declined", "expired", "withdrawn",
                      "done", "no_show"}
    assert {s for (s,) in db.session.execute(db.select(ServiceHours.status).distinct())} == \
        {"proposed", "confirmed"}
    assert {s for (s,) in db.session.execute(db.select(HoursCorrection.status).distinct())} == \
        {"pending", "accepted", "rejected"}
    volunteer = db.session.scalar(db.select(User).where(User.phone == DEMO_PHONES["volunteer"]))
    mine = {i.state(utcnow()) for i in db.session.scalars(
        db.select(Invitation).where(Invitation.volunteer_id == volunteer.id))}
    assert {"invited", "accepted", "offered", "expired", "done", "declined"} <= mine
    # Every stored status, tier and 报到 state is a value of its enum.
    from tests.test_statuses import stray_values

    assert stray_values() == []
    # Grids lie around Shanyang.
    lat, lon = db.session.execute(db.select(db.func.avg(Grid.lat), db.func.avg(Grid.lon))).one()
    assert abs(lat - 30.757) < 0.02 and abs(lon - 121.353) < 0.02
    # Every demo login works and lands on its role.
    for role, phone in DEMO_PHONES.items():
        user = db.session.scalar(db.select(User).where(User.phone == phone))
        assert user.has_role(role), role
        resp = client.post("/auth/login", data={"login": phone, "password": DEMO_PASSWORD})
        assert resp.status_code == 302, role
        client.post("/auth/logout")
    assert "13800000001" in result.output

    # The pages of the town as seeded (one seeding serves them all: it is the slow part).
    pages_for_each_role(client)
    client.post("/auth/logout")
    crawl_as_town_admin(client)
    client.post("/auth/logout")

    # Deterministic: the same town again from scratch.
    first = fingerprint()
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code != 0 and "empty town" in again.output
    assert runner.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0
    from volunteer.issues.models import IssueCategory

    db.session.execute(db.update(IssueCategory).values(default_department_id=None))
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in ("district", "town", "skill", "skill_category", "issue_category",
                              "urgency_level"):
            db.session.execute(table.delete())
    db.session.commit()
    db.session.expunge_all()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert fingerprint() == first


def pages_for_each_role(client):
    """Every demo login opens its pages."""
    for phone in DEMO_PHONES.values():
        client.post("/auth/login", data={"login": phone, "password": DEMO_PASSWORD})
        for path in ("/", "/org/", "/auth/tokens", "/tasks/", "/tasks/near", "/hours/",
                     "/hours/review", "/issues/", "/issues/map", "/inbox/"):
            assert client.get(path).status_code in (200, 403), (phone, path)
        client.post("/auth/logout")
    client.post("/auth/login", data={"login": DEMO_PHONES["admin"], "password": DEMO_PASSWORD})
    assert client.get("/admin/a_user/?search=138").status_code == 200
    assert client.get("/org/").status_code == 200


def crawl_as_town_admin(client):
    """Crawl the demo town as the town admin from the home page, following links (a few of
    each kind): no server error anywhere."""
    client.post("/auth/login", data={"login": DEMO_PHONES["admin"], "password": DEMO_PASSWORD})
    seen, kinds, queue, failed = set(), Counter(), deque(["/"]), []
    skip = ("/static/", "/auth/logout", "/lang/", "/large-text", "/auth/delete")
    while queue and len(seen) < 450:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        resp = client.get(path)
        if resp.status_code >= 500:
            failed.append((path, resp.status_code))
        if not resp.mimetype.startswith("text/html"):
            continue
        for link in re.findall(r'href="(/[^"#]*)"', resp.get_data(as_text=True)):
            link = link.replace("&amp;", "&")
            kind = re.sub(r"\d+", "0", re.sub(r"=[^&]*", "=", link))
            if link.startswith(skip) or link in seen or kinds[kind] >= 2:
                continue
            kinds[kind] += 1
            queue.append(link)
    assert not failed, failed
    assert len(seen) > 150 and any(p.startswith("/dashboard") for p in seen), len(seen)
