"""The scope matrix: every object route and API endpoint, tried by every role outside its scope
(another 村居's leader, instructor, member and admin, a department, a resident with an API
token, a follower of the issue, a lower rank in the object's own grid), answers 403 or 404 and
changes nothing.

The routes come from the app's URL map, so a new route with an id in its path fails here until
it is classified: tried by the outsiders below, or named in ``OPEN`` with the reason it is open.
"""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from volunteer.auth.models import ApiToken
from volunteer.auth.services import create_token
from volunteer.callups.services import CallUpInput
from volunteer.callups.services import start as start_callup
from volunteer.checkin.services import printed_code
from volunteer.checkin.services import window as checkin_window
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.hours.services import propose, request_correction
from volunteer.inbox.models import Notification
from volunteer.invitations.services import Pick, invite, respond
from volunteer.issues.models import Issue, IssuePhoto
from volunteer.issues.services import Details, IssueInput, file_issue, me_too, transition
from volunteer.org.models import GridPoint, ServiceItem
from volunteer.planning.models import PlanItem
from volunteer.planning.services import make_plan
from volunteer.services.schedule import Recurrence
from volunteer.services.sessions import schedule, sign_up
from volunteer.volunteers.models import VolunteerSkill

from .conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("following_matcher")

# Routes open to everyone (or to every account) by design, with why.
OPEN = {
    "main.set_language": "a visitor's own choice",
    "volunteers.register": "registration forms",
    "auth.reset_token": "the token in the path is the credential",
    "services.item": "the public service menu",
    "services.order": "any resident orders a service",
    "services.point": "the public grid point directory",
    "services.calendar": "a grid point's public calendar",
    "services.feed": "a grid point's public iCalendar feed",
    "services.session": "a session's public page",
    "services.signup": "any resident signs up for a session",
    "issues.me_too_view": "anyone who saw the same thing follows the issue (public facts only)",
    "invitations.offer_help": "volunteers near a need offer help (checked by skill in its test)",
    "hours.certificate": "a certificate by serial, only one's own (tested in test_invitations)",
    # Open311 GeoReport v2 (tested in test_open311): public facts only, as on the board.
    "open311.discovery": "Open311's public discovery document",
    "open311.service_list": "Open311's public service list",
    "open311.service_definition": "Open311's public service definitions",
    "open311.request_list": "Open311: every request's public facts, as on the board",
    "open311.request_detail": "Open311: a request's public facts, as on the board",
    "open311.token_detail": "Open311: the request a signed token stands for",
    "open311.updates": "Open311: public changes of status, as on the board",
    "open311.unknown": "Open311's error list for any other path",
}
# What a follower may open of the issue they follow: its public facts.
FOLLOWER_MAY = {"issues.detail", "api.get_issue"}


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def world(app, factory):
    """Village A with its people and one of everything; village B and others outside it."""
    a, b = factory.village(code="VA", name="甲村"), factory.village(code="VB", name="乙村")
    ga, ga2 = factory.grid(a, code="VA-01"), factory.grid(a, code="VA-02", lat=30.76)
    gb = factory.grid(b, code="VB-01", lat=30.70, lon=121.30)
    w = {"a": a, "b": b, "ga": ga, "gb": gb,
         "leader": factory.user("grid_leader", ga, name="甲网格长"),
         "member": factory.user("grid_member", ga, name="甲网格员"),
         "village_admin": factory.user("village_admin", a, name="甲村管理员"),
         "sparky": factory.volunteer("电工甲", ["electrician"], grid=ga),
         "resident": factory.user("resident", name="甲居民")}
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    issue = file_issue(w["member"], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮", category="facilities",
        lat=30.7571, lon=121.3531, helpers_needed=1, needed_from=start,
        needed_until=start + timedelta(hours=2)))
    db.session.commit()
    (inv,) = invite(w["leader"], issue, [Pick(user_id=w["sparky"].id)])
    respond(w["sparky"], inv, accept=True)
    for action in ("accept", "start"):
        transition(w["member"], issue, action)
    transition(w["member"], issue, "resolve", Details(resolution="修好了"))
    transition(w["leader"], issue, "verify")
    db.session.commit()
    hours = propose(w["sparky"], inv, "2")
    db.session.commit()
    # A second issue, open, with a photo, for the issue routes.
    open_issue = file_issue(w["member"], IssueInput(
        title="楼道堆物", description="三楼楼道堆放杂物", category="facilities",
        lat=30.7572, lon=121.3532))
    db.session.commit()
    member_client = app.test_client()
    member_client.post("/auth/login", data={"login": w["member"].phone, "password": PASSWORD})
    member_client.post(f"/issues/{open_issue.id}/photos",
                       data={"photos": [(io.BytesIO(_jpeg()), "a.jpg")]},
                       content_type="multipart/form-data")
    photo = db.session.scalar(db.select(IssuePhoto).where(IssuePhoto.issue_id == open_issue.id))
    assert photo is not None and not photo.public
    point = GridPoint(grid=ga, name="甲村网格点", address="甲村1号", lat=30.757, lon=121.353)
    item = ServiceItem(code="S90", name="义诊", category="健康服务")
    db.session.add_all([point, item])
    db.session.commit()
    day = (utcnow() + timedelta(days=5)).date()
    from datetime import time

    (session,) = schedule(w["leader"], item, point,
                          Recurrence(first=day, start=time(9), end=time(11)), 5, 1)
    db.session.commit()
    signup = sign_up(w["resident"], session)
    db.session.commit()
    # The session's printed check-in code: a real link that only its helpers and residents use.
    w["checkin_token"] = printed_code(session, checkin_window(session)).token
    w["follower"] = factory.user("resident", name="跟进人")
    me_too(w["follower"], open_issue)
    db.session.commit()
    w.update(issue=db.session.get(Issue, issue.id), open_issue=open_issue, inv=inv, hours=hours,
             photo=photo, point=point, item=item, session=session, signup=signup)
    w["vs"] = db.session.scalar(db.select(VolunteerSkill).where(
        VolunteerSkill.profile_id == w["sparky"].profile.id))
    create_token(w["sparky"], "phone")
    db.session.commit()
    w["token"] = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == w["sparky"].id))
    w["notification"] = db.session.scalar(db.select(Notification).where(
        Notification.user_id == w["sparky"].id))
    assert w["notification"] is not None
    entry = w["hours"]
    from volunteer.hours.services import confirm

    confirm(w["leader"], inv)
    db.session.commit()
    w["correction"] = request_correction(w["sparky"], entry, "3", "多干了一小时")
    db.session.commit()
    # An emergency call-up of village A that called its volunteer.
    w["callup"] = start_callup(w["village_admin"], CallUpInput(
        reason="flood_typhoon", title="防台转移", muster="甲村村委会", needed=3,
        starts_at=utcnow() + timedelta(minutes=10), grid_codes=[ga.code])).callup
    db.session.commit()
    w["callup_response"] = w["callup"].responses[0]
    assert w["callup_response"].volunteer_id == w["sparky"].id
    # A plan of helpers, made by the grid leader (a plan is its maker's alone).
    plan = make_plan(w["leader"], utcnow(), utcnow() + timedelta(days=7))
    need = plan.needs[0]
    if not need.items:
        need.items.append(PlanItem(volunteer_id=w["sparky"].id))
    db.session.commit()
    w.update(plan=plan, plan_need=need, plan_item=need.items[0])
    # Outsiders.
    dept = factory.department()
    w["outsiders"] = {
        "other_leader": factory.user("grid_leader", gb, name="乙网格长"),
        "other_instructor": factory.user("grid_instructor", gb, name="乙指导员"),
        "other_member": factory.user("grid_member", gb, name="乙网格员"),
        "other_village_admin": factory.user("village_admin", b, name="乙村管理员"),
        "department": factory.user("department_staff", dept, name="部门人员"),
        "resident_with_token": factory.user("resident", name="丙居民"),
        "follower": w["follower"],
        "lower_rank_same_grid": w["member"],
        "leader_next_grid": factory.user("grid_leader", ga2, name="甲二网格长"),
    }
    return w


def _args(w, rule) -> dict:
    """Values for a rule's arguments: the objects of village A."""
    values = {"issue_id": w["issue"].id, "invitation_id": w["inv"].id,
              "hours_id": w["hours"].id, "correction_id": w["correction"].id,
              "notification_id": w["notification"].id, "photo_id": w["photo"].id,
              "vs_id": w["vs"].id, "token_id": w["token"].id, "session_id": w["session"].id,
              "signup_id": w["signup"].id, "point_id": w["point"].id,
              "callup_id": w["callup"].id, "response_id": w["callup_response"].id,
              "choice": "coming", "what": "arrive",
              "user_id": w["sparky"].id, "plan_id": w["plan"].id,
              "need_id": w["plan_need"].id, "item_id": w["plan_item"].id,
              "decision": "accept", "action": "confirm",
              "kind": "party", "serial": "X", "token": "x",
              "fmt": "json", "service_code": "facilities", "request_id": str(w["issue"].id),
              "rest": "x"}
    if rule.endpoint in ("issues.photo", "issues.photo_public", "issues.add_photos",
                         "issues.me_too_view", "api.get_issue"):
        values["issue_id"] = w["open_issue"].id
    if rule.endpoint.startswith("org.village"):
        values["code"] = w["a"].code
    elif rule.endpoint.startswith("org.grid"):
        values["code"] = w["ga"].code
    elif rule.endpoint == "main.set_language":
        values["code"] = "en"
    elif rule.endpoint.startswith("services."):
        values["code"] = w["item"].code
    if rule.endpoint == "checkin.scan":
        values["token"] = w["checkin_token"]
    if rule.endpoint == "org.issue_reset_code":
        values["user_id"] = w["leader"].id  # a grid leader: above a member, beside a leader
    return {k: values[k] for k in rule.arguments}


def _api_body(w, endpoint: str) -> dict:
    """A valid body for each API endpoint, so that the scope is what refuses it."""
    return {
        "api.decide_correction_api": {"accept": True},
        "api.ask_correction": {"hours": 3, "reason": "多干了"},
        "api.propose_hours": {"hours": 3},
        "api.create_invitations": {"volunteer_ids": [w["sparky"].id]},
        "api.transition_issue": {"action": "reopen", "version": w["issue"].version},
        "api.reveal_contact": {"reason": "核实技能"},
    }.get(endpoint, {})


def object_rules(app):
    """Every rule with an argument in its path, but the admin screens and static files (the
    admin screens are the town admin's alone: tested in test_admin)."""
    return sorted((r for r in app.url_map.iter_rules()
                   if r.arguments and not r.rule.startswith(("/admin/", "/static/"))),
                  key=lambda r: r.rule)


def snapshot() -> str:
    """A digest of every row of every table (what changed, if anything)."""
    h = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        if table.name in ("contact_view",):
            continue  # a refused request may still be audited
        cols = [c for c in table.columns if c.name not in ("last_used_at", "last_login_at")]
        rows = db.session.execute(sa.select(*cols).order_by(*table.primary_key.columns)).all()
        h.update(f"{table.name}:{rows!r}".encode())
    return h.hexdigest()


def _open_for(name: str, endpoint: str) -> bool:
    if endpoint in OPEN:
        return True
    if name == "follower" and endpoint in FOLLOWER_MAY:
        return True
    if name == "lower_rank_same_grid":
        # A grid member works their own grid's issues and sees what the grid does.
        return endpoint in {"issues.detail", "issues.act", "issues.add_photos", "issues.photo",
                            "api.get_issue", "api.transition_issue", "org.grid",
                            "org.village", "services.cancel"} or False
    if name == "leader_next_grid":
        # A leader of the next grid in the same 村居 shares its registry and village pages.
        return endpoint in {"volunteers.detail", "volunteers.certificate", "org.village",
                            "volunteers.verify", "volunteers.reject", "volunteers.reveal",
                            "api.reveal_contact"}
    return False


OUTSIDERS = ["other_leader", "other_instructor", "other_member", "other_village_admin",
             "department", "resident_with_token", "follower", "lower_rank_same_grid",
             "leader_next_grid"]


@pytest.mark.parametrize("name", OUTSIDERS)
def test_outsiders_are_refused_and_change_nothing(app, world, name):
    person = world["outsiders"][name]
    web = app.test_client()
    assert web.post("/auth/login", data={"login": person.phone,
                                         "password": PASSWORD}).status_code == 302
    token = create_token(person, "matrix")
    db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    failures = []
    for rule in object_rules(app):
        if _open_for(name, rule.endpoint):
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **_args(world, rule))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            before = snapshot()
            if rule.rule.startswith("/api/"):
                resp = web.open(url, method=method, headers=bearer,
                                json=_api_body(world, rule.endpoint) if method != "GET" else None)
            else:
                resp = web.open(url, method=method, data={
                    "action": "verify", "hours": "3", "reason": "x", "volunteer": person.id,
                    "public": "1", "skills": "electrician", "name": "x", "lat": "30.70",
                    "lon": "121.30", "households": "1"})
            after = snapshot()
            if resp.status_code not in (403, 404) or before != after:
                failures.append(f"{method} {url} ({rule.endpoint}) → {resp.status_code}"
                                f"{' and changed data' if before != after else ''}")
    assert failures == [], "\n".join(failures)


def test_every_object_route_is_classified(app, world):
    """A new route with an argument is either open by design (OPEN) or tried by outsiders."""
    endpoints = {r.endpoint for r in object_rules(app)}
    assert set(OPEN) <= endpoints, sorted(set(OPEN) - endpoints)
    for rule in object_rules(app):
        _args(world, rule)  # every argument has an object to point at


def test_the_insiders_reach_the_same_routes(app, world):
    """The matrix is not vacuous: the organiser opens the pages the outsiders could not."""
    web = app.test_client()
    web.post("/auth/login", data={"login": world["leader"].phone, "password": PASSWORD})
    for url in (f"/issues/{world['issue'].id}", f"/volunteers/{world['sparky'].id}",
                f"/services/sessions/{world['session'].id}/manage",
                f"/org/grids/{world['ga'].code}"):
        assert web.get(url).status_code == 200, url
    volunteer = app.test_client()
    volunteer.post("/auth/login", data={"login": world["sparky"].phone, "password": PASSWORD})
    assert volunteer.get(f"/tasks/{world['inv'].id}").status_code == 200


def test_a_leader_elsewhere_is_a_member_here(app, world, factory):
    """Suggestions follow the role one holds for the issue, not a role held anywhere: a grid
    member of the issue's grid who leads another grid sees none of its suggestions."""
    from volunteer.auth.services import grant_role

    person = factory.user("grid_member", world["ga"], name="两头兼")
    grant_role(person, "grid_leader", world["gb"])
    db.session.commit()
    token = create_token(person, "t")
    db.session.commit()
    web = app.test_client()
    resp = web.get(f"/api/v1/issues/{world['open_issue'].id}/suggestions",
                   headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403
    web.post("/auth/login", data={"login": person.phone, "password": PASSWORD})
    page = web.get(f"/issues/{world['open_issue'].id}")
    assert page.status_code == 200 and 'data-testid="suggestions"' not in page.get_data(True)


def test_helpers_notes_go_to_organisers_only(app, world, factory):
    """A volunteer's note (a decline reason, an offer note) may carry a phone or an address: on
    the issue page it is shown to the organisers, not to every staff role of the issue; other
    staff see names as the policy shows them (masked outside their 村居)."""
    from volunteer.invitations.models import Invitation

    other = factory.volunteer("乙村电工", ["electrician"], grid=world["gb"])
    inv = db.session.get(Invitation, world["inv"].id)
    inv.note = "我的地址甲村3号楼"
    db.session.add(Invitation(issue_id=inv.issue_id, volunteer_id=other.id, status="declined",
                              wave=1, origin="invite", note="请打13900001111"))
    db.session.commit()
    member = app.test_client()
    member.post("/auth/login", data={"login": world["member"].phone, "password": PASSWORD})
    page = member.get(f"/issues/{world['issue'].id}").get_data(as_text=True)
    assert "甲村3号楼" not in page and "13900001111" not in page
    assert "乙村电工" not in page and "电工甲" in page
    leader = app.test_client()
    leader.post("/auth/login", data={"login": world["leader"].phone, "password": PASSWORD})
    page = leader.get(f"/issues/{world['issue'].id}").get_data(as_text=True)
    assert "甲村3号楼" in page and "乙村电工" in page
