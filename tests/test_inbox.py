"""The inbox: who hears about what, the unread count, choices, e-mail, privacy."""
import json
from datetime import timedelta

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.inbox.models import Notification
from volunteer.issues.services import Details, IssueInput, file_issue, transition
from volunteer.outbox.channels import captured as outbox


def town(factory):
    village = factory.village(code="VA")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    return {"grid": grid, "member": factory.user("grid_member", grid, name="网格员"),
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "vadmin": factory.user("village_admin", village, name="村居"),
            "resident": factory.user("resident", name="居民", email="res@example.com")}


def new_issue(t):
    issue = file_issue(t["resident"], IssueInput(title="路灯不亮", description="d",
                                                 category="facilities", lat=30.7571,
                                                 lon=121.3531))
    db.session.commit()
    return issue


def inbox_of(user):
    return [(n.kind, n.event) for n in db.session.scalars(
        db.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))]


def test_who_hears_about_what(factory, runner):
    t = town(factory)
    issue = new_issue(t)
    assert inbox_of(t["leader"]) == [("queue", "report")]  # it reached the grid's queue
    assert inbox_of(t["resident"]) == []
    transition(t["member"], issue, "accept")
    transition(t["member"], issue, "escalate")
    db.session.commit()
    assert inbox_of(t["resident"]) == [("my_report", "accept"), ("my_report", "escalate")]
    assert inbox_of(t["vadmin"]) == [("queue", "escalate")]
    assert inbox_of(t["member"]) == []  # nobody hears about their own actions
    issue.deadline_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    runner.invoke(args=["tick"])
    runner.invoke(args=["tick"])
    assert inbox_of(t["vadmin"]).count(("overdue", "overdue")) == 1


def test_page_unread_count_and_marking_read(client, auth, factory):
    t = town(factory)
    issue = new_issue(t)
    transition(t["member"], issue, "accept")
    db.session.commit()
    auth.login(user=t["resident"])
    assert 'data-testid="unread">1<' in client.get("/").get_data(as_text=True)
    page = client.get("/inbox/").get_data(as_text=True)
    assert "路灯不亮" in page
    n = db.session.scalar(db.select(Notification).where(Notification.user_id == t["resident"].id))
    resp = client.post(f"/inbox/{n.id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/issues/{issue.id}")
    assert 'data-testid="unread"' not in client.get("/").get_data(as_text=True)
    other = db.session.scalar(db.select(Notification).where(Notification.user_id ==
                                                            t["leader"].id))
    assert client.post(f"/inbox/{other.id}").status_code == 404
    assert client.post("/inbox/999999").status_code == 404


def test_choices_and_email(app, client, auth, factory):
    app.config["MAIL_SERVER"] = "smtp.test"
    outbox.clear()
    t = town(factory)
    auth.login(user=t["resident"])
    resp = client.post("/inbox/settings", data={"my_report_app": "y", "queue_app": "y",
                                                "queue_email": "y"})
    assert resp.status_code == 302
    issue = new_issue(t)
    transition(t["member"], issue, "accept")
    db.session.commit()
    assert inbox_of(t["resident"]) == [("my_report", "accept")]
    assert outbox == []  # e-mail for my reports switched off
    client.post("/inbox/settings", data={"my_report_email": "y"})
    transition(t["member"], issue, "start")
    db.session.commit()
    assert inbox_of(t["resident"]) == [("my_report", "accept")]  # in-app now off
    assert len(outbox) == 1 and "路灯不亮" in outbox[0]["Subject"]


def test_mark_all_read_and_privacy(client, auth, factory):
    t = town(factory)
    issue = new_issue(t)
    for action in ("accept", "start"):
        transition(t["member"], issue, action)
    db.session.commit()
    auth.login(user=t["resident"])
    client.post("/inbox/read")
    assert db.session.scalar(db.select(db.func.count(Notification.id)).where(
        Notification.user_id == t["resident"].id, Notification.read_at.is_(None))) == 0
    data = json.loads(client.get("/auth/my-data.json").data)
    assert len(data["notifications"]["items"]) == 2
    client.post("/auth/delete", data={"password": "passw0rd123"})
    assert inbox_of(t["resident"]) == []


def test_resolving_notifies_with_rating_prompt(factory):
    t = town(factory)
    issue = new_issue(t)
    for action in ("accept", "start"):
        transition(t["member"], issue, action)
    transition(t["member"], issue, "resolve", Details(resolution="修好"))
    transition(t["leader"], issue, "verify")
    db.session.commit()
    assert inbox_of(t["resident"])[-1] == ("my_report", "verify")
