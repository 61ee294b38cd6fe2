"""Demo invitations, offers and service hours: issues of the last two months with helpers in
every state, confirmed and proposed hours, and corrections; the demo volunteer (13800000007)
and the demo grid leader (13800000003) each find something of every kind."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from volunteer.auth.models import Role, RoleAssignment, User
from volunteer.common import SHANGHAI, to_local, to_utc, utcnow
from volunteer.extensions import db
from volunteer.hours.models import CorrectionStatus, HoursCorrection, HoursStatus, ServiceHours
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.issues.models import (
    OPEN_STATUSES,
    Issue,
    IssueAction,
    IssueCategory,
    IssueEvent,
    IssueStatus,
    Tier,
)
from volunteer.org.models import Grid
from volunteer.volunteers.models import VolunteerProfile

DAYS = 60
CORRECTION_REASONS = ["实际服务了半天，漏记了路上往返时间", "当天还帮忙清理了现场", "记录时多算了一小时"]


def seed_invitations(rnd: random.Random) -> dict[str, int]:
    """Add invitations to recent issues; returns counts by kind."""
    now = utcnow()
    by_village: dict[int, list[int]] = {}  # 村居 id -> active volunteers living there
    for uid, village_id in db.session.execute(
            db.select(VolunteerProfile.user_id, Grid.village_id)
            .join(Grid, VolunteerProfile.home_grid_id == Grid.id)
            .where(VolunteerProfile.paused.is_(False)).order_by(VolunteerProfile.id)):
        by_village.setdefault(village_id, []).append(uid)
    leaders = {}
    for grid_id, user_id in db.session.execute(db.select(RoleAssignment.grid_id,
                                                         RoleAssignment.user_id)
                                               .where(RoleAssignment.role == Role.grid_leader)):
        leaders.setdefault(grid_id, user_id)
    issues = db.session.scalars(db.select(Issue).where(Issue.created_at >= now - timedelta(
        days=DAYS), Issue.status != IssueStatus.rejected).order_by(Issue.id)).all()
    demo_volunteer = db.session.scalar(db.select(User.id).where(User.phone == "13800000007"))
    demo_leader = db.session.scalar(db.select(User.id).where(User.phone == "13800000003"))
    counts = {"invitations": 0, "hours": 0, "corrections": 0}
    taken: set[tuple[int, int]] = set()

    def add(issue, uid, status, *, origin="invite", at=None, wave=1) -> Invitation:
        at = at or issue.created_at + timedelta(hours=rnd.uniform(1, 20))
        at = min(at, now - timedelta(minutes=30))
        inv = Invitation(kind="issue", issue_id=issue.id, volunteer_id=uid,
                         invited_by_id=leaders.get(issue.grid_id) if origin == "invite" else None,
                         origin=origin, status=status, wave=wave,
                         score=round(rnd.uniform(0.6, 1.6), 3), distance_m=rnd.randint(80, 2500),
                         starts_at=issue.needed_from, ends_at=issue.needed_until,
                         expires_at=None if origin == "offer" else at + timedelta(hours=24),
                         created_at=at, updated_at=at)
        if status in (InvitationStatus.accepted, InvitationStatus.declined, InvitationStatus.done,
                      InvitationStatus.no_show):
            inv.responded_at = at + timedelta(hours=rnd.uniform(0.2, 6))
        if status == InvitationStatus.declined:
            inv.note = rnd.choice([None, "这周出差", "家里有事", "不太擅长这个"])
        if status == InvitationStatus.withdrawn:
            inv.closed_reason = "filled"
        db.session.add(inv)
        issue.events.append(IssueEvent(
            actor_id=inv.invited_by_id if origin == "invite" else uid,
            action="invite" if origin == "invite" else "offer", from_status=issue.status,
            to_status=issue.status, created_at=at))
        taken.add((issue.id, uid))
        counts["invitations"] += 1
        return inv

    def hours_for(issue, inv, status=HoursStatus.confirmed, correction=None):
        h = Decimal(str(rnd.choice([1, 1.5, 2, 2, 3, 4, 6])))
        served = to_local(issue.resolved_at or issue.closed_at or now).date()
        entry = ServiceHours(volunteer_id=inv.volunteer_id, invitation=inv, issue_id=issue.id,
                             kind="issue", activity=f"#{issue.id} {issue.title}"[:200],
                             served_on=served, hours=h, status=status,
                             proposed_by_id=inv.volunteer_id if rnd.random() < 0.5
                             else inv.invited_by_id, proposed_at=issue.closed_at or now)
        if status == HoursStatus.confirmed:
            entry.confirmed_by_id = leaders.get(issue.grid_id)
            entry.confirmed_at = (issue.closed_at or now) + timedelta(hours=rnd.uniform(1, 30))
            entry.confirmed_at = min(entry.confirmed_at, now)
        db.session.add(entry)
        counts["hours"] += 1
        if correction:
            new = h + Decimal("1")
            corr = HoursCorrection(entry=entry, requested_by_id=inv.volunteer_id, old_hours=h,
                                   new_hours=new, reason=rnd.choice(CORRECTION_REASONS),
                                   status=correction, created_at=entry.confirmed_at or now)
            if correction != CorrectionStatus.pending:
                corr.decided_by_id = entry.confirmed_by_id
                corr.decided_at = min(now, corr.created_at + timedelta(hours=5))
                corr.decision_reason = None if correction == CorrectionStatus.accepted \
                    else "核对签到表，时长无误"
                if correction == CorrectionStatus.accepted:
                    entry.hours = new
            db.session.add(corr)
            counts["corrections"] += 1
        return entry

    def pick(issue, k):
        pool = [u for u in by_village.get(issue.village_id, [])
                if (issue.id, u) not in taken and u not in (demo_volunteer,)]
        return rnd.sample(pool, min(k, len(pool)))

    for issue in issues:
        if rnd.random() > 0.55:
            continue
        need = issue.helpers_needed
        if issue.status == IssueStatus.closed:
            helpers = pick(issue, need + rnd.choice([0, 0, 1, 2]))
            for i, uid in enumerate(helpers):
                if i < need:
                    status = InvitationStatus.no_show if rnd.random() < 0.04 \
                        else InvitationStatus.done
                    inv = add(issue, uid, status)
                    if status == InvitationStatus.done:
                        r = rnd.random()
                        if r < 0.75:
                            hours_for(issue, inv, HoursStatus.confirmed,
                                      rnd.choice([CorrectionStatus.accepted,
                                                  CorrectionStatus.rejected])
                                      if r < 0.04 else None)
                        elif r < 0.9:
                            hours_for(issue, inv, HoursStatus.proposed)
                else:
                    # the others declined, never answered (expired) or lost to a full team
                    add(issue, uid, rnd.choice([InvitationStatus.declined,
                                                InvitationStatus.declined,
                                                InvitationStatus.invited,
                                                InvitationStatus.withdrawn]))
        elif issue.status in OPEN_STATUSES or issue.status == IssueStatus.resolved:
            helpers = pick(issue, need + 1)
            for i, uid in enumerate(helpers):
                if i < need - 1 or (i == need - 1 and rnd.random() < 0.5):
                    add(issue, uid, InvitationStatus.accepted)
                elif rnd.random() < 0.3:
                    add(issue, uid, InvitationStatus.offered, origin="offer")
                else:
                    add(issue, uid, rnd.choice([InvitationStatus.invited, InvitationStatus.invited,
                                                InvitationStatus.declined]),
                        at=now - timedelta(hours=rnd.uniform(1, 40)))
    db.session.flush()
    _for_the_demo_logins(rnd, now, issues, demo_volunteer, demo_leader, add, hours_for, pick)
    db.session.flush()
    return counts


def _for_the_demo_logins(rnd, now, issues, volunteer, leader, add, hours_for, pick) -> None:
    """Something of every kind for the demo volunteer and the demo grid leader."""
    if volunteer is None:
        return
    open_ = [i for i in issues if i.status in OPEN_STATUSES]
    closed = [i for i in issues if i.status == IssueStatus.closed]
    tomorrow = to_utc((to_local(now) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0, tzinfo=None).replace(tzinfo=SHANGHAI))
    if len(open_) >= 4 and len(closed) >= 4:
        waiting, upcoming, offered, lapsed = open_[-1], open_[-2], open_[-3], open_[-4]
        done_ok, done_corr, done_wait, declined = closed[-1], closed[-2], closed[-3], closed[-4]
        for issue in (upcoming, done_ok, done_corr, done_wait):
            issue.helpers_needed += 1  # a place for the demo volunteer
        profile = db.session.scalar(db.select(VolunteerProfile)
                                    .where(VolunteerProfile.user_id == volunteer))
        if profile is not None:
            profile.paused, profile.monthly_limit = False, 10
        add(waiting, volunteer, InvitationStatus.invited, at=now - timedelta(hours=2))
        upcoming.needed_from, upcoming.needed_until = tomorrow, tomorrow + timedelta(hours=2)
        add(upcoming, volunteer, InvitationStatus.accepted, at=now - timedelta(hours=20))
        add(offered, volunteer, InvitationStatus.offered, origin="offer",
            at=now - timedelta(hours=5))
        # expired unanswered
        add(lapsed, volunteer, InvitationStatus.invited, at=now - timedelta(hours=30))
        hours_for(done_ok, add(done_ok, volunteer, InvitationStatus.done), HoursStatus.confirmed)
        hours_for(done_corr, add(done_corr, volunteer, InvitationStatus.done),
                  HoursStatus.confirmed, CorrectionStatus.pending)
        hours_for(done_wait, add(done_wait, volunteer, InvitationStatus.done),
                  HoursStatus.proposed)
        add(declined, volunteer, InvitationStatus.declined)
    if leader is None:
        return
    grids = [a.grid_id for a in db.session.get(User, leader).roles
             if a.role == Role.grid_leader.value]
    if not grids:
        return
    lamp = _lamp_story(now, grids[0], leader, tomorrow)
    helpers = pick(lamp, 3)
    if len(helpers) == 3:
        add(lamp, helpers[0], InvitationStatus.accepted, at=now - timedelta(hours=6))
        add(lamp, helpers[1], InvitationStatus.declined, at=now - timedelta(hours=6))
        add(lamp, helpers[2], InvitationStatus.offered, origin="offer", at=now - timedelta(hours=2))
    mine_closed = [i for i in closed if i.grid_id in grids]
    for issue in mine_closed[-2:]:
        for uid in pick(issue, 1):
            hours_for(issue, add(issue, uid, InvitationStatus.done), HoursStatus.proposed)


def _lamp_story(now, grid_id, leader, tomorrow) -> Issue:
    """The town's own story, open in the demo leader's grid: every lamp of a green space is
    dark, and the property company cannot find why. Two helpers, tomorrow evening."""
    grid = db.session.get(Grid, grid_id)
    member = db.session.scalar(db.select(RoleAssignment.user_id).where(
        RoleAssignment.role == Role.grid_member.value, RoleAssignment.grid_id == grid_id))
    category = db.session.scalar(db.select(IssueCategory).where(
        IssueCategory.code == "facilities"))
    reported = now - timedelta(hours=20)
    issue = Issue(title="绿地路灯全部不亮", description=(
        "小区中心绿地的路灯一到晚上全部不亮，物业排查了两次没找到原因，居民晚上散步很不安全。"
        "需要懂电路的志愿者帮忙查一查。"), category=category, source="patrol",
        lat=grid.lat + 0.0006, lon=grid.lon - 0.0004, grid_id=grid.id,
        village_id=grid.village_id, reporter_id=member or leader, urgency="normal",
        needed_from=tomorrow + timedelta(hours=9), needed_until=tomorrow + timedelta(hours=11),
        helpers_needed=2, tier=Tier.grid, status=IssueStatus.accepted,
        deadline_at=reported + timedelta(hours=72), created_at=reported, updated_at=reported,
        rework_count=0,
        reopen_count=0, skill_codes=["electrician"])
    issue.events.append(IssueEvent(actor_id=member or leader, action="report",
                                   to_status=IssueStatus.reported, to_tier=Tier.grid,
                                   created_at=reported))
    issue.events.append(IssueEvent(actor_id=leader, action=IssueAction.accept,
                                   from_status=IssueStatus.reported,
                                   to_status=IssueStatus.accepted, from_tier=Tier.grid,
                                   to_tier=Tier.grid, created_at=reported + timedelta(hours=1)))
    db.session.add(issue)
    db.session.flush()
    return issue
