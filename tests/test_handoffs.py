"""Nobody waits in silence: the verifiers hear of a resolved issue (and of one waiting too long),
helpers are asked for their hours, organisers hear of hours to confirm, volunteers hear how their
skills were judged; e-mail leaves only after the commit; every kind is in the settings and the
download."""
import json
from datetime import timedelta

import pytest
from flask_babel import force_locale

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.inbox.models import KINDS, Notification
from volunteer.inbox.routes import KIND_LABELS
from volunteer.inbox.services import describe
from volunteer.invitations.services import Pick, invite, respond
from volunteer.issues.models import Issue
from volunteer.issues.services import Details, IssueInput, file_issue, transition
from volunteer.issues.workflow import verifiers
from volunteer.outbox.channels import captured as outbox
from volunteer.volunteers.models import VolunteerSkill

pytestmark = pytest.mark.usefixtures("following_matcher", "english")


@pytest.fixture
def town(app, factory):
    app.config["MAIL_SERVER"] = "smtp.test"
    outbox.clear()
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    other = factory.grid(village, code="VA-02", lat=30.76, lon=121.36)
    return {"village": village, "grid": grid,
            "member": factory.user("grid_member", grid, name="网格员"),
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "instructor": factory.user("grid_instructor", grid, name="指导员",
                                       email="inst@example.com"),
            "vadmin": factory.user("village_admin", village, name="村居干部"),
            "other_leader": factory.user("grid_leader", other, name="别的网格长"),
            "admin": factory.user("admin", name="镇管理员"),
            "sparky": factory.volunteer("电工甲", ["electrician"], grid=grid,
                                        email="sparky@example.com")}


def lamp(t, reporter="member"):
    issue = file_issue(t[reporter], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮，需要电工排查",
        category="facilities", lat=30.7571, lon=121.3531))
    db.session.commit()
    return issue


def resolve(t, issue, who="member"):
    issue = db.session.get(Issue, issue.id)
    for action in ("accept", "start"):
        if issue.status != "in_progress":
            transition(t[who], issue, action)
    transition(t[who], issue, "resolve", Details(resolution="换了灯泡"))
    return issue


def inbox_of(user, kind=None):
    q = db.select(Notification.kind, Notification.event).where(Notification.user_id == user.id)
    if kind:
        q = q.where(Notification.kind == kind)
    return [tuple(r) for r in db.session.execute(q.order_by(Notification.id))]


def mails_to(address):
    return [m for m in outbox if m["To"] == address]


# --- resolved: the verifiers hear, the resolver's page names them -----------------------------

def test_those_who_may_verify_hear_of_a_resolution_never_the_resolver(town):
    t = town
    issue = resolve(t, lamp(t))
    assert outbox == []  # nothing leaves before the commit
    db.session.commit()
    for who in ("leader", "instructor", "vadmin"):
        assert ("verify", "to_verify") in inbox_of(t[who]), who
    for who in ("member", "other_leader", "admin"):  # the resolver; out of scope; the town
        assert inbox_of(t[who], "verify") == [], who
    (mail,) = mails_to("inst@example.com")
    assert "绿地路灯不亮" in mail["Subject"] and f"/issues/{issue.id}" in mail.get_content()


def test_a_leader_who_resolved_is_left_out(town):
    t = town
    issue = resolve(t, lamp(t), who="leader")
    db.session.commit()
    assert [u.name for u in verifiers(issue)] == ["指导员", "村居干部"]
    assert inbox_of(t["leader"], "verify") == []


def test_the_town_admin_hears_only_when_nobody_nearer_may_verify(factory, town):
    village = factory.village(code="VB", name="乙村")
    grid = factory.grid(village, code="VB-01", lat=30.757, lon=121.353)
    member = factory.user("grid_member", grid, name="乙网格员")
    issue = file_issue(member, IssueInput(title="井盖松动", description="d", category="facilities",
                                          grid_code="VB-01", lat=None, lon=None))
    for action in ("accept", "start"):
        transition(member, issue, action)
    transition(member, issue, "resolve", Details(resolution="固定好了"))
    db.session.commit()
    assert [u.name for u in verifiers(issue)] == ["镇管理员"]
    assert inbox_of(town["admin"], "verify") == [("verify", "to_verify")]


def test_a_rollback_sends_no_mail(town):
    resolve(town, lamp(town))
    db.session.rollback()
    db.session.commit()
    assert outbox == []
    assert inbox_of(town["instructor"], "verify") == []


def test_the_resolvers_page_says_who_will_verify(client, auth, town):
    issue = lamp(town)
    for action in ("accept", "start"):
        transition(town["member"], issue, action)
    db.session.commit()
    auth.login(user=town["member"])
    resp = client.post(f"/issues/{issue.id}/act", data={
        "action": "resolve", "version": str(issue.version), "resolution": "换了灯泡"},
        follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Now waiting for verification by" in page
    assert "指导员 (Grid instructor)" in page and "村居干部 (Village admin)" in page
    assert "网格长 (Grid leader)" in page and "镇管理员" not in page


def test_an_issue_waiting_too_long_for_verification_is_overdue_once(app, runner, town):
    t = town
    issue = resolve(t, lamp(t))
    db.session.commit()
    assert runner.invoke(args=["tick"]).output.startswith("tick: 0")
    issue.resolved_at = utcnow() - timedelta(days=2, hours=1)
    db.session.commit()
    app.config["VERIFY_DAYS"] = 3
    assert runner.invoke(args=["tick"]).output.startswith("tick: 0")  # the setting counts
    app.config["VERIFY_DAYS"] = 2
    out = runner.invoke(args=["tick"]).output
    assert out.startswith("tick: 1 issue(s) newly overdue (1 waiting for verification)")
    assert runner.invoke(args=["tick"]).output.startswith("tick: 0")
    for who in ("leader", "instructor", "vadmin"):
        assert inbox_of(t[who], "overdue") == [("overdue", "verify_overdue")], who
    assert inbox_of(t["member"], "overdue") == []
    issue = db.session.get(Issue, issue.id)
    assert [e.action for e in issue.events].count("overdue") == 1
    # Sent back for rework and resolved again, it may be flagged again after the next wait.
    transition(t["leader"], issue, "fail_verification", Details(comment="还是不亮"))
    issue.deadline_at = utcnow() + timedelta(days=10)
    transition(t["member"], issue, "resolve", Details(resolution="换了线"))
    db.session.commit()
    assert runner.invoke(args=["tick"]).output.startswith("tick: 0")
    (flag,) = [e for e in issue.events if e.action == "overdue"]
    flag.created_at = utcnow() - timedelta(days=4)  # the first round, as it happened
    issue.resolved_at = utcnow() - timedelta(days=3)
    db.session.commit()
    assert runner.invoke(args=["tick"]).output.startswith("tick: 1")
    with app.test_request_context():
        with force_locale("en"):
            assert describe("verify_overdue", issue).startswith(
                "Waiting too long for verification")


# --- the task ends: helpers are asked for hours, the organiser hears of them ------------------

def test_helpers_are_asked_for_hours_and_the_organiser_hears(client, auth, town):
    t = town
    issue = lamp(t)
    (inv,) = invite(t["leader"], issue, [Pick(t["sparky"].id)])
    db.session.commit()
    respond(t["sparky"], inv, True)
    db.session.commit()
    issue = resolve(t, issue)
    db.session.commit()
    assert inbox_of(t["sparky"], "hours") == []  # not before the issue is closed
    transition(t["instructor"], issue, "verify")
    db.session.commit()
    assert inbox_of(t["sparky"], "hours") == [("hours", "propose_hours")]
    mail = mails_to("sparky@example.com")[-1]
    assert "请申报您的服务时长" in mail["Subject"]  # in the volunteer's language: Chinese
    assert f"/tasks/{inv.id}" in mail.get_content()

    auth.login(user=t["sparky"])
    n = db.session.scalar(db.select(Notification).where(Notification.user_id == t["sparky"].id,
                                                        Notification.event == "propose_hours"))
    resp = client.post(f"/inbox/{n.id}")
    assert resp.headers["Location"].endswith(f"/tasks/{inv.id}")
    assert 'data-testid="propose-hours"' in client.get(f"/tasks/{inv.id}").get_data(as_text=True)
    client.post(f"/hours/task/{inv.id}", data={"hours": "1.5", "note": "换灯泡"})
    auth.logout()

    assert inbox_of(t["leader"], "hours") == [("hours", "hours_proposed")]
    auth.login(user=t["leader"])
    n = db.session.scalar(db.select(Notification).where(Notification.user_id == t["leader"].id,
                                                        Notification.event == "hours_proposed"))
    assert client.post(f"/inbox/{n.id}").headers["Location"].endswith("/hours/review")
    assert "换灯泡" in client.get("/hours/review").get_data(as_text=True)


# --- skills ------------------------------------------------------------------------------------

def test_a_volunteer_hears_how_their_skills_were_judged(client, auth, factory, town):
    vol = factory.volunteer("医生乙", ["doctor", "electrician"], grid=town["grid"], verified=False,
                            email="doc@example.com")
    doctor, electrician = db.session.scalars(
        db.select(VolunteerSkill).where(VolunteerSkill.profile_id == vol.profile.id)
        .order_by(VolunteerSkill.id)).all()
    auth.login(user=town["leader"])
    client.post(f"/volunteers/skills/{doctor.id}/verify")
    client.post(f"/volunteers/skills/{electrician.id}/reject", data={"reason": "证书已过期"})
    auth.logout()
    assert inbox_of(vol) == [("skills", "skill_verified"), ("skills", "skill_rejected")]
    verified, rejected = mails_to("doc@example.com")
    assert "已通过核验" in verified["Subject"]  # in the volunteer's language: Chinese
    assert "证书已过期" in rejected.get_content() and "/volunteers/me" in rejected.get_content()
    auth.login(user=vol)
    n = db.session.scalars(db.select(Notification).where(Notification.user_id == vol.id)).first()
    assert client.post(f"/inbox/{n.id}").headers["Location"].endswith("/volunteers/me")
    assert "证书已过期" in client.get("/volunteers/me").get_data(as_text=True)
    inbox_page = client.get("/inbox/").get_data(as_text=True)  # the line names the skill
    assert "Doctor" in inbox_page and "Electrician" in inbox_page and "证书已过期" in inbox_page


# --- settings and the download -----------------------------------------------------------------

def test_every_kind_can_be_chosen_and_is_in_my_data(client, auth, town):
    assert set(KIND_LABELS) == set(KINDS)
    t = town
    auth.login(user=t["instructor"])
    page = client.get("/inbox/settings").get_data(as_text=True)
    for kind in KINDS:  # the town office's notices are offered to the town admin only
        offered = kind != "town_office"
        assert (f'name="{kind}_app"' in page and f'name="{kind}_email"' in page) == offered
    client.post("/inbox/settings", data={k + "_app": "y" for k in KINDS if k != "verify"})
    resolve(t, lamp(t))
    db.session.commit()
    assert inbox_of(t["instructor"], "verify") == [] and mails_to("inst@example.com") == []
    auth.logout()

    auth.login(user=t["vadmin"])
    data = json.loads(client.get("/auth/my-data.json").data)["notifications"]
    assert set(data["settings"]) == set(KINDS)
    (item,) = [i for i in data["items"] if i["kind"] == "verify"]
    assert item["event"] == "to_verify" and "waiting for your verification" in item["text"]


def test_a_rolled_back_savepoint_drops_only_its_own_mail(town):
    from volunteer.inbox.services import notify

    notify([town["instructor"].id], "skills", "skill_verified")
    nested = db.session.begin_nested()
    notify([town["sparky"].id], "skills", "skill_verified")
    nested.rollback()
    db.session.commit()
    assert [m["To"] for m in outbox] == ["inst@example.com"]


def test_a_resolution_waiting_too_long_shows_as_overdue(app, client, auth, town):
    """Waiting for verification longer than VERIFY_DAYS is overdue like any other: the issue
    says so (page, API), the queue's overdue count and filter include it; the dashboard's figure
    and tick's open-issue flag stay about open issues."""
    from volunteer.issues.models import overdue_clause

    t = town
    issue = resolve(t, lamp(t))
    db.session.commit()
    assert not issue.is_overdue()
    issue.resolved_at = utcnow() - timedelta(days=3)
    issue.deadline_at = utcnow() + timedelta(days=5)
    db.session.commit()
    assert issue.is_overdue()
    assert db.session.scalar(db.select(Issue.id).where(overdue_clause())) == issue.id
    assert db.session.scalar(db.select(Issue.id).where(overdue_clause(waiting=False))) is None
    auth.login(user=t["leader"])
    page = client.get("/issues/?queue=grid&overdue=1").get_data(as_text=True)
    assert f'/issues/{issue.id}"' in page
