"""Demo sessions: a month back and a month ahead at the 84 grid points — the free clinic four
times a month at 新江村's first grid point among them — with residents signed up (some full,
with a waiting list), volunteer staff invited and, for past sessions, attendance and hours;
and residents' orders of the 18 services."""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday

from volunteer.auth.models import Role, RoleAssignment, User
from volunteer.common import SHANGHAI, to_local, to_utc, utcnow
from volunteer.extensions import db
from volunteer.hours.models import HoursStatus, ServiceHours
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.issues.models import Issue
from volunteer.org.models import Grid, GridPoint, ServiceItem, Village
from volunteer.services.models import ServiceSession, SessionSignup, SessionStatus, SignupStatus
from volunteer.skills.models import Skill
from volunteer.volunteers.models import VolunteerProfile, VolunteerSkill

# (item name, rule, weekday, start hour, hours, capacity, staff) — rule: weekly / first_third
# (the 1st and 3rd of that weekday in the month) / monthly (the 2nd).
PLANS = [
    ("免费义诊", "weekly", 1, 9, 2, 20, 2),
    ("法律咨询", "first_third", 2, 14, 2, 8, 1),
    ("便民理发", "monthly", 3, 9, 3, 15, 2),
    ("智能手机教学", "weekly", 5, 9, 2, 12, 1),
    ("健康讲座", "monthly", 4, 14, 1.5, 30, 1),
    ("政策咨询", "first_third", 0, 9, 3, 10, 0),
    ("矛盾调解", "first_third", 3, 14, 2, 6, 1),
    ("课业辅导", "weekly", 2, 16, 2, 10, 2),
    ("水电维修", "monthly", 5, 9, 3, 10, 2),
    ("消防安全检查", "monthly", 1, 14, 2, 20, 1),
]
DAYS_BACK, DAYS_AHEAD = 30, 31


def _times(kind: str, day: int, hour: float, length: float, start, end):
    hh, mm = int(hour), int(round((hour % 1) * 60))
    first = datetime.combine(start.date(), time(hh, mm))
    if kind == "weekly":
        rule = rrule(WEEKLY, dtstart=first, byweekday=[day], until=end)
    elif kind == "first_third":
        rule = rrule(MONTHLY, dtstart=first, byweekday=[weekday(day)(1), weekday(day)(3)],
                     until=end)
    else:
        rule = rrule(MONTHLY, dtstart=first, byweekday=[weekday(day)(2)], until=end)
    text = str(rule).split("\n")[-1]
    return [(s, s + timedelta(hours=length)) for s in rule], text


def seed_sessions(rnd: random.Random) -> dict[str, int]:
    """Add the demo sessions, sign-ups, staff and orders; returns counts."""
    now = utcnow()
    local_now = to_local(now).replace(tzinfo=None)
    start = local_now - timedelta(days=DAYS_BACK)
    end = local_now + timedelta(days=DAYS_AHEAD)
    items = {i.name: i for i in db.session.scalars(db.select(ServiceItem))}
    points = db.session.scalars(db.select(GridPoint).join(Grid).order_by(GridPoint.id)).all()
    xinjiang = db.session.scalar(db.select(GridPoint).join(Grid).join(Village).where(
        Village.name == "新江村").order_by(Grid.code, GridPoint.id))
    residents = list(db.session.scalars(db.select(RoleAssignment.user_id).where(
        RoleAssignment.role == Role.resident.value).order_by(RoleAssignment.user_id)))
    demo_resident = db.session.scalar(db.select(User.id).where(User.phone == "13800000008"))
    leaders = dict(db.session.execute(db.select(RoleAssignment.grid_id, RoleAssignment.user_id)
                                      .where(RoleAssignment.role == Role.grid_leader.value))
                   .tuples().all())
    holders = _holders()
    counts = {"sessions": 0, "signups": 0, "session_staff": 0, "orders": 0}
    made: list[ServiceSession] = []

    def plan(point, name, kind, day, hour, length, capacity, staff):
        item = items.get(name)
        if item is None:
            return
        times, text = _times(kind, day, hour, length, start, end)
        series = f"demo{point.id:03d}{item.id:02d}"
        for s, e in times:
            starts_at = to_utc(s.replace(tzinfo=SHANGHAI))
            made.append(ServiceSession(
                item=item, point=point, starts_at=starts_at,
                ends_at=to_utc(e.replace(tzinfo=SHANGHAI)), capacity=capacity,
                staff_needed=staff, series=series, rule=text,
                status=SessionStatus.held if e.replace(tzinfo=SHANGHAI) < datetime.now(SHANGHAI)
                else SessionStatus.scheduled, created_by_id=leaders.get(point.grid_id),
                created_at=now - timedelta(days=DAYS_BACK + 5)))

    if xinjiang is not None:  # the village doctor's clinic, every Tuesday morning
        plan(xinjiang, *PLANS[0])
    for point in points:
        if point is xinjiang:
            continue
        for p in rnd.sample(PLANS, rnd.choice([0, 1, 1, 2])):
            plan(point, *p)
    for s in made:
        if s.status == SessionStatus.scheduled and rnd.random() < 0.03:
            s.status = SessionStatus.cancelled
        elif s.status == SessionStatus.held and rnd.random() < 0.04:
            s.status, s.held_at = SessionStatus.cancelled, None
        elif s.status == SessionStatus.held:
            s.held_at = s.ends_at + timedelta(minutes=20)
    db.session.add_all(made)
    db.session.flush()
    counts["sessions"] = len(made)

    for s in made:
        if s.status == SessionStatus.cancelled:
            continue
        want = rnd.randint(0, s.capacity + 4) if s.status == SessionStatus.scheduled else \
            rnd.randint(s.capacity // 3, s.capacity)
        people = rnd.sample(residents, min(want, len(residents)))
        if demo_resident and s.point is xinjiang and s.status == SessionStatus.scheduled \
                and demo_resident not in people:
            people.insert(0, demo_resident)
        for k, uid in enumerate(people):
            status = SignupStatus.confirmed if k < s.capacity else SignupStatus.waiting
            if s.status == SessionStatus.held:
                status = SignupStatus.attended if rnd.random() < 0.85 else SignupStatus.absent
            queued = s.created_at + timedelta(hours=k + 1)
            db.session.add(SessionSignup(session_id=s.id, user_id=uid, status=status,
                                         queued_at=queued, created_at=queued,
                                         updated_at=queued))
            counts["signups"] += 1
        counts["session_staff"] += _staff(rnd, s, holders, leaders, now)
    counts["orders"] = _orders(rnd, items, residents, demo_resident)
    db.session.flush()
    return counts


def _holders() -> dict[tuple[int, int], list[int]]:
    """(skill id, 村居 id) -> active volunteers holding the skill."""
    out: dict[tuple[int, int], list[int]] = {}
    for sid, uid, village_id in db.session.execute(
            db.select(VolunteerSkill.skill_id, VolunteerProfile.user_id, Grid.village_id)
            .join(VolunteerProfile, VolunteerSkill.profile_id == VolunteerProfile.id)
            .join(Grid, VolunteerProfile.home_grid_id == Grid.id)
            .where(VolunteerSkill.skill_id.is_not(None), VolunteerProfile.paused.is_(False))
            .order_by(VolunteerProfile.id)):
        out.setdefault((sid, village_id), []).append(uid)
    return out


def _staff(rnd, s: ServiceSession, holders, leaders, now) -> int:
    """Staff for a session from the item's skill holders of its 村居: accepted (coming) or
    done with confirmed hours (past); a few still invited or declined."""
    if not s.staff_needed or s.item.skill_id is None:
        return 0
    pool = holders.get((s.item.skill_id, s.point.grid.village_id), [])
    picked = rnd.sample(pool, min(len(pool), s.staff_needed + 1))
    leader = leaders.get(s.point.grid_id)
    n = 0
    hours = Decimal(str(round((s.ends_at - s.starts_at).total_seconds() / 3600, 1)))
    for k, uid in enumerate(picked):
        at = s.created_at + timedelta(hours=2 + k)
        extra = k >= s.staff_needed
        if s.status == SessionStatus.held:
            status = InvitationStatus.declined if extra else (
                InvitationStatus.no_show if rnd.random() < 0.04 else InvitationStatus.done)
        else:
            status = (InvitationStatus.invited if rnd.random() < 0.5
                      else InvitationStatus.declined) if extra else InvitationStatus.accepted
        inv = Invitation(kind="session", session_id=s.id, volunteer_id=uid,
                         invited_by_id=leader, origin="invite", status=status, wave=1,
                         starts_at=s.starts_at, ends_at=s.ends_at,
                         expires_at=max(at + timedelta(hours=24), now + timedelta(hours=6))
                         if status == InvitationStatus.invited else at + timedelta(hours=24),
                         responded_at=None if status == InvitationStatus.invited
                         else at + timedelta(hours=3),
                         created_at=at, updated_at=at)
        db.session.add(inv)
        if status == InvitationStatus.done:
            db.session.add(ServiceHours(
                volunteer_id=uid, invitation=inv, session_id=s.id, kind="session",
                activity=f"{s.item.name} · {s.point.name}"[:200],
                served_on=to_local(s.starts_at).date(), hours=hours, status=HoursStatus.confirmed,
                proposed_by_id=leader, proposed_at=s.held_at or s.ends_at,
                confirmed_by_id=leader, confirmed_at=s.held_at or s.ends_at))
        n += 1
    return n


def _orders(rnd, items: dict[str, ServiceItem], residents: list[int],
            demo_resident: int | None) -> int:
    """The demo issues that came from the menu (source "service order") were ordered by
    residents (the demo resident among them) and name their item."""
    by_category: dict[int, list[ServiceItem]] = {}
    for item in items.values():
        if item.issue_category_id:
            by_category.setdefault(item.issue_category_id, []).append(item)
    n = 0
    for issue in db.session.scalars(db.select(Issue).where(Issue.source == "service_order")
                                    .order_by(Issue.id)):
        choices = by_category.get(issue.category_id)
        if choices:
            item = rnd.choice(choices)
            issue.service_item_id = item.id
            who = demo_resident if n < 2 and demo_resident else rnd.choice(residents)
            issue.reporter_id = who
            if issue.events:
                issue.events[0].actor_id = who
            if item.skill_id is not None and not issue.skill_codes:
                issue.skill_codes = [db.session.get(Skill, item.skill_id).code]
            n += 1
    return n
