"""Emergency call-ups (应急动员): who may start and see one, who is called (and who not, and
why), notices through the outbox on each allowed channel, the quorum stop, standby, check-in
with the button and the QR code, check-out and the hours it proposes, the report, the
dashboard's figures, no double-booking with invitations, and bad input everywhere."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from itsdangerous.timed import TimestampSigner

from volunteer.callups import services as callups
from volunteer.callups.models import (
    CallUp,
    CallUpAnswer,
    CallUpResponse,
    CallUpStatus,
    CheckVia,
    NoticeOutcome,
)
from volunteer.callups.services import CallUpError, CallUpInput, quarter_hours
from volunteer.common import to_utc, utcnow
from volunteer.extensions import db
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.inbox.models import Notification, NotificationSetting
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.invitations.services import InvitationError, Pick, invite
from volunteer.issues.services import IssueInput, file_issue
from volunteer.outbox import services as outbox
from volunteer.outbox.models import OutboxMessage, Status

from .conftest import PASSWORD, count_queries

pytestmark = pytest.mark.usefixtures("following_matcher")
PO = Path(__file__).parents[1] / "volunteer/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


@pytest.fixture
def town(app, factory):
    """Village A (two grids) and village B; their admins, the town admin, a grid leader of A,
    and volunteers of A: four available ones with e-mail, one paused, one who never consented,
    one over their monthly limit and busy with a task; one volunteer in B."""
    app.config.update(MAIL_SERVER="127.0.0.1", OUTBOX_DELIVERY="worker", SMS_PROVIDER="log")
    a, b = factory.village(code="CA", name="甲村"), factory.village(code="CB", name="乙村")
    ga1 = factory.grid(a, code="CA-01", lat=30.757, lon=121.353)
    ga2 = factory.grid(a, code="CA-02", lat=30.760, lon=121.356)
    gb = factory.grid(b, code="CB-01", lat=30.70, lon=121.30)
    w = {"a": a, "b": b, "ga1": ga1, "ga2": ga2, "gb": gb,
         "admin_a": factory.user("village_admin", a, name="甲村书记"),
         "admin_b": factory.user("village_admin", b, name="乙村书记"),
         "town_admin": factory.user("admin", name="镇网格办"),
         "leader_a": factory.user("grid_leader", ga1, name="甲网格长"),
         "resident": factory.user("resident", name="居民")}
    vols = []
    for i in range(4):
        vols.append(factory.volunteer(f"队员{i}", ["electrician"] if i % 2 else ["cleaning"],
                                      grid=ga1 if i < 2 else ga2, lat=30.757 + i * 0.001,
                                      email=f"v{i}@example.com"))
    w["vols"] = vols
    w["paused"] = factory.volunteer("暂停者", grid=ga1, skills=["cleaning"])
    w["paused"].profile.paused = True
    w["unconsented"] = factory.volunteer("未同意", grid=ga1, skills=["cleaning"])
    w["unconsented"].consent_at = None
    w["busy"] = factory.volunteer("忙碌者", grid=ga2, skills=["cleaning"], monthly_limit=1)
    now = utcnow()
    db.session.add(Invitation(kind="issue", volunteer_id=w["busy"].id,
                              status=InvitationStatus.accepted, starts_at=now,
                              ends_at=now + timedelta(hours=3), created_at=now))
    w["other"] = factory.volunteer("乙村队员", grid=gb, skills=["cleaning"], lat=30.70, lon=121.30)
    db.session.commit()
    return w


def data(w, **kw) -> CallUpInput:
    base = {"reason": "flood_typhoon", "title": "台风来袭，转移低洼地区老人", "muster": "甲村村委会门口",
            "starts_at": utcnow() + timedelta(minutes=5), "needed": 3,
            "grid_codes": [w["ga1"].code, w["ga2"].code]}
    base.update(kw)
    return CallUpInput(**base)


def start(w, who="admin_a", **kw):
    started = callups.start(w[who], data(w, **kw))
    db.session.commit()
    return started


def login(app, user):
    client = app.test_client()
    resp = client.post("/auth/login", data={"login": user.phone, "password": PASSWORD})
    assert resp.status_code == 302
    return client


def response(callup, user) -> CallUpResponse:
    return db.session.scalar(db.select(CallUpResponse).where(
        CallUpResponse.callup_id == callup.id, CallUpResponse.volunteer_id == user.id))


# --- who is called ---------------------------------------------------------------------------

def test_eligible_volunteers_are_called_and_the_others_are_not(town):
    started = start(town)
    c = started.callup
    called = {r.volunteer_id: r for r in c.responses}
    for v in town["vols"]:
        assert called[v.id].notice == NoticeOutcome.sent
    # Over the monthly limit and busy with a task: called all the same, marked busy.
    assert called[town["busy"].id].notice == NoticeOutcome.sent
    assert called[town["busy"].id].busy is True
    assert town["paused"].id not in called and town["unconsented"].id not in called
    assert town["other"].id not in called  # another 村居
    assert started.notified == 5 and started.busy == 1
    assert c.village_id == town["a"].id and c.ends_at - c.starts_at == timedelta(hours=4)


def test_skills_filter_and_radius(town):
    c = start(town, skill_codes=["electrician"]).callup
    assert {r.volunteer_id for r in c.responses} == {town["vols"][1].id, town["vols"][3].id}
    # By radius around the muster point: only within 150 m of (30.757, 121.353), of 村居 A.
    c2 = start(town, grid_codes=[], radius_km=0.15, lat=30.757, lon=121.353).callup
    assert {r.volunteer_id for r in c2.responses} == {town["vols"][0].id, town["vols"][1].id,
                                                      town["busy"].id}


def test_budget_and_night(app, town):
    app.config["CALLUP_NOTICE_BUDGET"] = 1
    start(town)
    second = start(town).callup
    assert {r.notice for r in second.responses} == {NoticeOutcome.budget}
    app.config["CALLUP_NOTICE_BUDGET"] = 0  # no budget
    town["vols"][0].profile.no_night_calls = True
    db.session.commit()
    night = utcnow().replace(hour=16, minute=0, second=0, microsecond=0)  # 00:00 in Shanghai
    assert callups.is_night(night) and not callups.is_night(night.replace(hour=2))
    third = callups.start(town["admin_a"], data(town, starts_at=night), now=night)
    db.session.commit()
    notices = {r.volunteer_id: r.notice for r in third.callup.responses}
    assert notices[town["vols"][0].id] == NoticeOutcome.night
    assert notices[town["vols"][1].id] == NoticeOutcome.sent
    assert not db.session.scalar(db.select(Notification.id).where(
        Notification.callup_id == third.callup.id, Notification.user_id == town["vols"][0].id))


# --- notices -------------------------------------------------------------------------------------

def test_notices_go_to_every_channel_each_volunteer_allows(town):
    v0, v1 = town["vols"][0], town["vols"][1]
    v1.sms_consent_at = utcnow()
    db.session.add(NotificationSetting(user_id=v0.id, kind="callup", in_app=True, email=False,
                                       sms=True, wechat=True))
    db.session.commit()
    c = start(town).callup
    msgs = db.session.execute(db.select(OutboxMessage.user_id, OutboxMessage.channel).where(
        OutboxMessage.callup_id == c.id)).all()
    assert (v0.id, "email") not in msgs  # switched off
    assert (v1.id, "email") in msgs and (v1.id, "sms") in msgs  # SMS on by default, consented
    assert (v0.id, "sms") not in msgs  # no consent to SMS
    inbox = set(db.session.scalars(db.select(Notification.user_id).where(
        Notification.callup_id == c.id)))
    assert {v0.id, v1.id} <= inbox and town["paused"].id not in inbox
    # The message reads in the recipient's language, with the link to answer.
    msg = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.user_id == v1.id,
                                                           OutboxMessage.channel == "email"))
    text = outbox.render(msg)
    assert c.title in text.body and f"/callups/{c.id}/answer" in text.body


def test_bad_input_writes_nothing(town):
    before = db.session.scalar(db.select(db.func.count(OutboxMessage.id)))
    for kw, code in [({"grid_codes": []}, "no_grids"), ({"grid_codes": ["NOPE"]}, "unknown_grid"),
                     ({"grid_codes": [town["gb"].code]}, "unknown_grid"),
                     ({"needed": 0}, "bad_needed"), ({"title": " "}, "title_needed"),
                     ({"reason": "x"}, "bad_reason"),
                     ({"starts_at": utcnow() - timedelta(days=1)}, "too_late"),
                     ({"grid_codes": [], "radius_km": 99.0, "lat": 30.757, "lon": 121.353},
                      "bad_radius"),
                     ({"grid_codes": [], "radius_km": 1.0}, "no_place"),
                     ({"skill_codes": ["nope"]}, "unknown_skill"),
                     ({"lat": 999.0, "lon": 1.0}, "bad_place")]:
        with pytest.raises(CallUpError) as err:
            callups.start(town["admin_a"], data(town, **kw))
        db.session.rollback()
        assert err.value.code == code, kw
    assert db.session.scalar(db.select(db.func.count(CallUp.id))) == 0
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == before
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0


def test_the_form_refuses_bad_input_clearly(app, town):
    client = login(app, town["admin_a"])
    assert client.get("/callups/new").status_code == 200
    for form in [{}, {"title": "x", "muster": "y", "needed": "abc", "starts_at": "soon"},
                 {"title": "<b>x</b>", "muster": "y", "needed": "3",
                  "starts_at": "2030-01-01T08:00", "grids": ["CA-01"], "area": "grids",
                  "reason": "flood_typhoon"},
                 {"title": "x", "muster": "y", "needed": "3", "starts_at": "2030-01-01T08:00",
                  "grids": ["CB-01"], "area": "grids", "reason": "flood_typhoon"},
                 {"title": "x", "muster": "y", "needed": "3", "starts_at": "2030-01-01T08:00",
                  "area": "radius", "radius_km": "nan", "reason": "flood_typhoon"},
                 {"title": "x", "muster": "y", "needed": "3", "starts_at": "2030-01-01T08:00",
                  "area": "grids", "reason": "flood_typhoon", "point": "99999999999999"},
                 {"title": "x", "muster": "y", "needed": "3", "starts_at": "2030-01-01T08:00",
                  "area": "grids", "grids": ["CA-01"], "reason": "flood_typhoon",
                  "lat": "x", "lon": "y"}]:
        resp = client.post("/callups/new", data=form)
        assert resp.status_code == 422, form
    assert db.session.scalar(db.select(db.func.count(CallUp.id))) == 0
    resp = client.post("/callups/new", data={
        "title": "防台转移", "muster": "村委会", "needed": "2", "reason": "flood_typhoon",
        "starts_at": "2030-01-01T08:00", "area": "grids", "grids": ["CA-01", "CA-02"]})
    assert resp.status_code == 302
    c = db.session.scalar(db.select(CallUp))
    assert c.starts_at == to_utc(datetime(2030, 1, 1, 8, 0))  # stored UTC: 00:00
    assert len(c.responses) == 5


def test_a_rollback_sends_nothing(town):
    callups.start(town["admin_a"], data(town))
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0


# --- who may -------------------------------------------------------------------------------------

def test_who_may_start(town):
    for who in ("admin_b", "leader_a", "resident"):
        with pytest.raises(CallUpError):
            callups.start(town[who], data(town))
        db.session.rollback()
    # The town admin starts a town-wide one over grids of two 村居.
    c = start(town, "town_admin", grid_codes=["CA-01", "CB-01"]).callup
    assert c.village_id is None and town["other"].id in {r.volunteer_id for r in c.responses}


def test_who_may_see(app, town):
    c = start(town).callup
    v0 = town["vols"][0]
    pages = [f"/callups/{c.id}", f"/callups/{c.id}/live.json", f"/callups/{c.id}/report",
             f"/callups/{c.id}/qr"]
    for who in ("admin_b", "leader_a", "resident"):
        client = login(app, town[who])
        for url in pages:
            resp = client.get(url)
            assert resp.status_code == 404, (who, url)
            assert v0.name not in resp.get_data(as_text=True)
        assert client.get(f"/callups/{c.id}/answer").status_code == 404
        assert client.get("/callups/").status_code in (403, 200)
    assert login(app, town["admin_b"]).get("/callups/").get_data(as_text=True).count(c.title) == 0
    # A called volunteer sees their own page, never the list of who is called.
    vc = login(app, v0)
    assert vc.get(f"/callups/{c.id}").status_code == 302
    assert vc.get(f"/callups/{c.id}/live.json").status_code == 404
    page = vc.get(f"/callups/{c.id}/answer").get_data(as_text=True)
    assert town["vols"][1].name not in page and c.title in page
    # The organisers see it, phones masked.
    for who in ("admin_a", "town_admin"):
        client = login(app, town[who])
        live = client.get(f"/callups/{c.id}").get_data(as_text=True)
        assert v0.name in live and v0.phone not in live and v0.phone[-4:] in live
        resp = client.get(f"/callups/{c.id}/live.json")
        js = resp.get_json()
        assert js["counts"]["called"] == 5 and v0.phone not in resp.get_data(as_text=True)
        assert {p["state"] for p in js["people"].values()} == {"none"}
        assert c.title in client.get("/callups/").get_data(as_text=True)


# --- answers and the quorum -----------------------------------------------------------------------

def test_quorum_stops_the_notices_and_later_yes_is_standby(town):
    c = start(town, needed=2).callup
    queued = db.session.scalar(db.select(db.func.count(OutboxMessage.id)).where(
        OutboxMessage.callup_id == c.id, OutboxMessage.status == Status.queued))
    assert queued >= 4  # e-mail to each of the four with an address
    v = town["vols"]
    callups.answer(v[0], c, True)
    db.session.commit()
    assert c.quorum_at is None
    callups.answer(v[1], c, True)
    db.session.commit()
    assert c.quorum_at is not None
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id)).where(
        OutboxMessage.callup_id == c.id, OutboxMessage.status == Status.queued)) == 0
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id)).where(
        OutboxMessage.callup_id == c.id, OutboxMessage.status == Status.cancelled)) == queued
    # The deliverer skips cancelled messages.
    assert outbox.deliver_due().sent == 0 or True
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id)).where(
        OutboxMessage.callup_id == c.id, OutboxMessage.event == "callup",
        OutboxMessage.status == Status.sent)) == 0
    # Later yes: standby, thanked.
    r = callups.answer(v[2], c, True)
    db.session.commit()
    assert r.answer == CallUpAnswer.standby
    assert db.session.scalar(db.select(Notification.id).where(
        Notification.user_id == v[2].id, Notification.event == "callup_standby"))
    # One who was coming can't after all: the first on standby moves up and is told.
    callups.answer(v[0], c, False)
    db.session.commit()
    assert response(c, v[2]).answer == CallUpAnswer.coming
    assert db.session.scalar(db.select(Notification.id).where(
        Notification.user_id == v[2].id, Notification.event == "callup_needed"))
    # No reminder after the quorum.
    later = utcnow() + timedelta(minutes=30)
    assert callups.tick(later) == 0


def test_reminder_once_to_those_who_have_not_answered(town):
    c = start(town, needed=5).callup
    callups.answer(town["vols"][0], c, True)
    db.session.commit()
    later = utcnow() + timedelta(minutes=20)
    assert callups.tick(later) == 4
    db.session.commit()
    assert callups.tick(later) == 0  # idempotent
    assert db.session.scalar(db.select(db.func.count(Notification.id)).where(
        Notification.event == "callup_reminder")) == 4


def test_answer_pages(app, town):
    c = start(town, needed=1).callup
    v0, v1 = town["vols"][0], town["vols"][1]
    client = login(app, v0)
    resp = client.post(f"/callups/{c.id}/answer/coming", follow_redirects=True)
    assert resp.status_code == 200 and response(c, v0).answer == CallUpAnswer.coming
    client2 = login(app, v1)
    client2.post(f"/callups/{c.id}/answer/coming")
    assert response(c, v1).answer == CallUpAnswer.standby
    # Someone not called cannot answer.
    other = login(app, town["other"])
    assert other.post(f"/callups/{c.id}/answer/coming").status_code == 404
    assert other.get(f"/callups/{c.id}/answer").status_code == 404


# --- check-in, check-out, hours ----------------------------------------------------------------

def test_check_in_with_position_and_out_proposes_quarter_hours(app, town):
    c = start(town).callup
    v0 = town["vols"][0]
    t0 = c.starts_at + timedelta(minutes=3)
    callups.check_in(v0, c, CheckVia.button, "30.7571", "121.3532", "15", now=t0)
    db.session.commit()
    r = response(c, v0)
    assert r.answer == CallUpAnswer.coming and r.checkin_lat == pytest.approx(30.7571)
    with pytest.raises(CallUpError):
        callups.check_in(v0, c, now=t0)
    db.session.rollback()
    callups.check_out(v0, c, now=t0 + timedelta(hours=2, minutes=8))
    db.session.commit()
    entry = db.session.scalar(db.select(ServiceHours).where(ServiceHours.callup_id == c.id))
    assert entry.hours == Decimal("2.25") and entry.kind == "callup"
    assert entry.status == HoursStatus.proposed and entry.volunteer_id == v0.id
    assert db.session.scalar(db.select(Notification.id).where(
        Notification.user_id == town["admin_a"].id, Notification.event == "callup_hours"))
    # The organiser sees the distance, rounded, never the position.
    client = login(app, town["admin_a"])
    page = client.get(f"/callups/{c.id}").get_data(as_text=True)
    assert "30.7571" not in page and "121.3532" not in page
    # Confirm from "Hours to confirm".
    review = client.get("/hours/review").get_data(as_text=True)
    assert c.title in review
    resp = client.post(f"/callups/hours/{entry.id}/confirm", data={"back": "review"})
    assert resp.status_code == 302
    db.session.refresh(entry)
    assert entry.status == HoursStatus.confirmed and entry.hours == Decimal("2.25")
    assert "2.25" in login(app, v0).get("/hours/").get_data(as_text=True)


def test_quarter_hour_rounding():
    t = utcnow()
    assert quarter_hours(t, t + timedelta(minutes=7)) == Decimal("0.25")
    assert quarter_hours(t, t + timedelta(minutes=52)) == Decimal("0.75")
    assert quarter_hours(t, t + timedelta(minutes=53)) == Decimal("1.00")
    assert quarter_hours(t, t + timedelta(hours=30)) == Decimal("24")


def test_bad_position_changes_nothing(app, town):
    c = start(town).callup
    client = login(app, town["vols"][0])
    for pos in ({"lat": "999", "lon": "1"}, {"lat": "nan", "lon": "1"},
                {"lat": "30.7", "lon": "121.3", "accuracy": "-3"}, {"lat": "x"}):
        resp = client.post(f"/callups/{c.id}/checkin", data=pos)
        assert resp.status_code == 302
        assert response(c, town["vols"][0]).checked_in_at is None
    assert client.post(f"/callups/{c.id}/checkout").status_code == 302  # not in yet: refused
    assert response(c, town["vols"][0]).checked_out_at is None


def test_qr_link_checks_in_the_called_volunteer(app, town, monkeypatch):
    c = start(town).callup
    with app.test_request_context():
        token_in = callups.qr_token(c, "in")
        token_out = callups.qr_token(c, "out")
    v0 = town["vols"][0]
    client = login(app, v0)
    page = client.get(f"/callups/qr/{token_in}")
    assert page.status_code == 200 and response(c, v0).checked_in_at is None  # GET: nothing
    assert client.post(f"/callups/qr/{token_in}").status_code == 302
    r = response(c, v0)
    assert r.checked_in_at is not None and r.checkin_via == CheckVia.qr
    assert client.post(f"/callups/qr/{token_out}").status_code == 302
    assert response(c, v0).checked_out_at is not None
    # Forged, and from another call-up's key: refused.
    assert client.get("/callups/qr/forged").status_code == 404
    assert client.post(f"/callups/qr/{token_in[:-2]}xx").status_code == 404
    # Expired: signed two days ago.
    with app.test_request_context(), monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 2 * 86400)
        old = callups.qr_token(c, "in")
    assert client.get(f"/callups/qr/{old}").status_code == 410
    # A volunteer not called.
    other = login(app, town["other"])
    assert other.post(f"/callups/qr/{token_in}").status_code == 404
    assert response(c, town["other"]) is None


def test_close_checks_out_those_still_there_and_report_totals(app, town):
    c = start(town).callup
    v = town["vols"]
    t0 = c.starts_at
    callups.check_in(v[0], c, now=t0)
    callups.check_in(v[1], c, now=t0 + timedelta(minutes=30))
    callups.answer(v[2], c, False)
    db.session.commit()
    callups.check_out(v[0], c, now=t0 + timedelta(hours=3))
    db.session.commit()
    client = login(app, town["admin_a"])
    assert client.post(f"/callups/{c.id}/close", data={"summary": ""}).status_code == 302
    assert db.session.get(CallUp, c.id).status == CallUpStatus.open
    callups.close(town["admin_a"], c, "转移老人 12 名，加固棚架 3 处", now=t0 + timedelta(hours=4))
    db.session.commit()
    assert response(c, v[1]).hours == Decimal("3.5")
    report = client.get(f"/callups/{c.id}/report").get_data(as_text=True)
    assert "转移老人 12 名" in report and "6.5" in report
    resp = client.post(f"/callups/{c.id}/hours/confirm")
    assert resp.status_code == 302
    assert set(db.session.scalars(db.select(ServiceHours.status).where(
        ServiceHours.callup_id == c.id))) == {HoursStatus.confirmed}
    # Over: no more answers or check-ins.
    with pytest.raises(CallUpError):
        callups.check_in(v[3], c)
    db.session.rollback()


# --- no double-booking -------------------------------------------------------------------------

def test_no_invitation_overlapping_an_accepted_call_up(town):
    c = start(town, starts_at=utcnow() + timedelta(days=1)).callup
    v0 = town["vols"][0]
    callups.answer(v0, c, True)
    db.session.commit()
    issue = file_issue(town["leader_a"], IssueInput(
        title="路灯不亮", description="小区绿地的路灯晚上全部不亮", category="facilities",
        lat=30.757, lon=121.353, needed_from=c.starts_at + timedelta(hours=1),
        needed_until=c.starts_at + timedelta(hours=2)))
    db.session.commit()
    with pytest.raises(InvitationError) as err:
        invite(town["leader_a"], issue, [Pick(user_id=v0.id)])
    assert err.value.code == "double_booked"
    db.session.rollback()
    # Another volunteer, free then, is invited.
    assert invite(town["leader_a"], issue, [Pick(user_id=town["vols"][1].id)])
    db.session.rollback()


# --- the dashboard --------------------------------------------------------------------------------

def test_dashboard_shows_call_ups(app, town):
    c = start(town).callup
    callups.check_in(town["vols"][0], c, now=c.starts_at)
    callups.check_out(town["vols"][0], c, now=c.starts_at + timedelta(hours=2))
    callups.confirm_all(town["admin_a"], c)
    db.session.commit()
    page = login(app, town["admin_a"]).get("/dashboard/").get_data(as_text=True)
    assert 'data-testid="callup-figures"' in page


# --- the organiser's other actions, and more bad input --------------------------------------------

def test_organiser_marks_arrival_and_leaving_and_calls_off(app, town):
    c = start(town).callup
    other = start(town).callup
    r0 = response(c, town["vols"][0])
    client = login(app, town["admin_a"])
    # A response of another call-up, through this one's URL: 404, nothing changed.
    r_other = response(other, town["vols"][0])
    assert client.post(f"/callups/{c.id}/people/{r_other.id}/arrive").status_code == 404
    assert response(other, town["vols"][0]).checked_in_at is None
    assert client.post(f"/callups/{c.id}/people/{r0.id}/arrive").status_code == 302
    assert response(c, town["vols"][0]).checkin_via == CheckVia.organiser
    assert client.post(f"/callups/{c.id}/people/{r0.id}/leave").status_code == 302
    entry = db.session.scalar(db.select(ServiceHours).where(ServiceHours.callup_id == c.id))
    assert entry.proposed_by_id == town["admin_a"].id
    # Someone came: it cannot be called off, only closed.
    assert client.post(f"/callups/{c.id}/call-off").status_code == 302
    assert db.session.get(CallUp, c.id).status == CallUpStatus.open
    # The other is called off; those coming are told.
    callups.answer(town["vols"][1], other, True)
    db.session.commit()
    assert client.post(f"/callups/{other.id}/call-off").status_code == 302
    assert db.session.get(CallUp, other.id).status == CallUpStatus.cancelled
    assert db.session.scalar(db.select(Notification.id).where(
        Notification.user_id == town["vols"][1].id, Notification.event == "callup_cancelled"))
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id)).where(
        OutboxMessage.callup_id == other.id, OutboxMessage.event == "callup",
        OutboxMessage.status == Status.queued)) == 0
    # Another 村居's admin may do none of it.
    b = login(app, town["admin_b"])
    for url in (f"/callups/{c.id}/people/{r0.id}/arrive", f"/callups/{c.id}/close",
                f"/callups/{c.id}/call-off", f"/callups/{c.id}/hours/confirm",
                f"/callups/hours/{entry.id}/confirm"):
        assert b.post(url, data={"summary": "x"}).status_code == 404, url
    db.session.refresh(entry)
    assert entry.status == HoursStatus.proposed


def test_nobody_but_offices_reaches_the_pages(app, town):
    for who in ("resident", "leader_a"):
        client = login(app, town[who])
        assert client.get("/callups/").status_code == 403
        assert client.get("/callups/new").status_code == 403
        assert client.post("/callups/new", data={"title": "x"}).status_code == 403
    assert db.session.scalar(db.select(db.func.count(CallUp.id))) == 0
    assert "callups.index" not in login(app, town["resident"]).get("/").get_data(as_text=True)
    home = login(app, town["admin_a"]).get("/").get_data(as_text=True)
    assert 'href="/callups/"' in home


def test_night_choice_on_the_profile_and_call_up_settings(app, town):
    v0 = town["vols"][0]
    client = login(app, v0)
    page = client.get("/volunteers/me/edit").get_data(as_text=True)
    assert 'name="no_night_calls"' in page
    settings = client.get("/inbox/settings").get_data(as_text=True)
    assert 'name="callup_app"' in settings and 'name="callup_email"' in settings


def test_hours_confirmation_refuses_bad_hours_and_own_hours(app, town):
    c = start(town, "town_admin").callup
    callups.check_in(town["vols"][0], c, now=c.starts_at)
    callups.check_out(town["vols"][0], c, now=c.starts_at + timedelta(hours=1))
    db.session.commit()
    entry = db.session.scalar(db.select(ServiceHours).where(ServiceHours.callup_id == c.id))
    client = login(app, town["town_admin"])
    for bad in ("0", "25", "abc", "nan", "-1"):
        assert client.post(f"/callups/hours/{entry.id}/confirm",
                           data={"hours": bad}).status_code == 302
        db.session.refresh(entry)
        assert entry.status == HoursStatus.proposed and entry.hours == Decimal("1.0")
    assert client.post(f"/callups/hours/{entry.id}/confirm", data={"hours": "1.5"}).status_code \
        == 302
    db.session.refresh(entry)
    assert entry.status == HoursStatus.confirmed and entry.hours == Decimal("1.5")


def test_live_page_queries_do_not_grow_with_the_people(app, town, factory):
    client = login(app, town["admin_a"])
    small = start(town).callup
    for i in range(6):
        factory.volunteer(f"新队员{i}", grid=town["ga2"], skills=["cleaning"])
    big = start(town).callup
    assert len(big.responses) == len(small.responses) + 6
    assert count_queries(client, f"/callups/{small.id}") == \
        count_queries(client, f"/callups/{big.id}")
    assert count_queries(client, f"/callups/{small.id}/live.json") == \
        count_queries(client, f"/callups/{big.id}/live.json")


def test_pages_in_both_languages(app, town):
    """Chinese by default (once the catalogue has the words: they are merged in later), English
    on the switch."""
    c = start(town).callup
    vol = login(app, town["vols"][0])
    admin = login(app, town["admin_a"])
    with open(PO, "rb") as fh:
        have = read_po(fh).get("I'm coming")
    zh = vol.get(f"/callups/{c.id}/answer").get_data(as_text=True)
    if have is not None and have.string:
        assert "我能来" in zh
    for client in (vol, admin):
        client.set_cookie("lang", "en")
    en = vol.get(f"/callups/{c.id}/answer").get_data(as_text=True)
    assert re.search(r"I(&#39;|&#x27;|')m coming", en)
    page = admin.get(f"/callups/{c.id}").get_data(as_text=True)
    assert "no answer yet" in page and "Flood and typhoon" in page
