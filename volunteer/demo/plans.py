"""A plan of helpers to look at: before the typhoon season's first weekend, the demo village
admin's 村居 has several repair jobs at once (lamps, pumps, wiring), and a plan for the next two
weeks proposes who to invite for each, with what stays open and why. Left as a preview."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from volunteer.auth.models import Role, RoleAssignment, User
from volunteer.common import SHANGHAI, to_local, to_utc, utcnow
from volunteer.extensions import db
from volunteer.issues.services import IssueInput, file_issue
from volunteer.matching.store import MatcherUnavailable
from volunteer.org.models import Grid
from volunteer.planning.services import PlanError, make_plan

VILLAGE_ADMIN = "13800000002"
# (title, description, skills, helpers, start hour, hours, grid index)
JOBS = [
    ("台风前检修绿地路灯", "绿地路灯线路老化，台风前需要电工检查接线和漏电保护", ["electrician"],
     1, 9, 3, 0),
    ("排涝泵房电机检修", "村口排涝泵房电机启动困难，台风前需电工检修", ["electrician"], 1, 9, 2, 1),
    ("老人家中漏电隐患排查", "独居老人家里插座发烫，需要电工上门排查", ["electrician"], 1, 10, 2, 0),
    ("楼道下水管疏通", "暴雨前楼道下水管堵塞，需要水电工疏通", ["plumber"], 1, 9, 2, 1),
    ("加固村民活动室门窗", "台风来前需要木工加固活动室门窗", ["carpenter"], 2, 14, 3, 0),
    ("防汛物资清点登记", "清点沙袋、雨衣等防汛物资并登记造册", [], 2, 14, 2, 1),
]


def _next_saturday(today) -> datetime:
    days = (5 - today.weekday()) % 7 or 7
    return datetime.combine(today + timedelta(days=days), time(0), tzinfo=SHANGHAI)


def seed_plans() -> dict[str, int]:
    """Add the repair jobs and the village admin's plan; nothing when the matcher cannot run."""
    admin = db.session.scalar(db.select(User).where(User.phone == VILLAGE_ADMIN))
    if admin is None:
        return {"plans": 0}
    village_id = next((a.village_id for a in admin.roles if a.role == Role.village_admin), None)
    grids = db.session.scalars(db.select(Grid).where(Grid.village_id == village_id)
                               .order_by(Grid.code)).all()
    if not grids:
        return {"plans": 0}
    members = {g.id: db.session.scalar(db.select(RoleAssignment.user_id).where(
        RoleAssignment.grid_id == g.id, RoleAssignment.role == Role.grid_member)
        .order_by(RoleAssignment.id).limit(1)) for g in grids[:2]}
    saturday = _next_saturday(to_local(utcnow()).date())
    for title, text, skills, helpers, hour, hours, k in JOBS:
        grid = grids[min(k, len(grids) - 1)]
        reporter = db.session.get(User, members.get(grid.id) or admin.id)
        start = to_utc(saturday + timedelta(hours=hour))
        file_issue(reporter, IssueInput(
            title=title, description=text, category="facilities", lat=grid.lat, lon=grid.lon,
            grid_code=grid.code, helpers_needed=helpers, skill_codes=skills or None,
            needed_from=start, needed_until=start + timedelta(hours=hours)))
    db.session.flush()
    today = to_utc(datetime.combine(to_local(utcnow()).date(), time(0), tzinfo=SHANGHAI))
    try:
        make_plan(admin, today, today + timedelta(days=14))
    except (MatcherUnavailable, PlanError):  # no model trained: the demo works without one
        return {"plans": 0}
    return {"plans": 1}
