"""About 2,100 demo issues over the last six months, split ~35/63/2 between grid, 村居 and
department, with realistic timelines: some overdue, some reopened, some failed verifications."""
from __future__ import annotations

import json
import random
from datetime import timedelta

from volunteer.auth.models import Role, RoleAssignment
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.issues.models import (
    Issue,
    IssueAction,
    IssueCategory,
    IssueEvent,
    IssueStatus,
    Tier,
    UrgencyLevel,
)
from volunteer.org.models import Grid
from volunteer.setup import DATA_DIR, link_category_departments

N_ISSUES = 2100
DAYS = 182
RESOLUTIONS = ["网格员现场处理完毕", "联系物业当天修复", "志愿者上门解决", "村居协调相关方解决",
               "职能部门到场处置", "已清理并加强巡查", "调解达成一致"]


def seed_issues(rnd: random.Random) -> int:
    """Add the demo issues (the organisation and people must exist already)."""
    link_category_departments()
    texts = json.loads((DATA_DIR / "demo_issues.json").read_text(encoding="utf-8"))
    categories = {c.code: c for c in db.session.scalars(db.select(IssueCategory))}
    urgencies = {u.code: u.hours for u in db.session.scalars(db.select(UrgencyLevel))}
    grids = db.session.scalars(db.select(Grid)).all()
    by_role: dict[tuple[str, int], list[int]] = {}
    for role, user_id, grid_id, village_id, dept_id in db.session.execute(
            db.select(RoleAssignment.role, RoleAssignment.user_id, RoleAssignment.grid_id,
                      RoleAssignment.village_id, RoleAssignment.department_id)):
        key = grid_id or village_id or dept_id or 0
        by_role.setdefault((role, key), []).append(user_id)
    residents = by_role.get((Role.resident.value, 0), [])
    now = utcnow()
    weights = {"environment": 14, "facilities": 12, "housing_repair": 10, "waste": 9,
               "illegal_building": 3, "safety": 8, "public_order": 5, "dispute": 8,
               "elderly": 10, "health": 5, "hardship": 4, "property": 6, "traffic": 3,
               "market": 2, "water": 3, "policy": 4, "other": 2}
    codes = [c for c in weights if c in categories and c in texts]
    issues = []
    for n in range(N_ISSUES):
        cat = categories[rnd.choices(codes, [weights[c] for c in codes])[0]]
        title, text = rnd.choice(texts[cat.code])
        grid = rnd.choice(grids)
        created = now - timedelta(days=DAYS * (1 - n / N_ISSUES), hours=rnd.uniform(0, 10))
        urgency = rnd.choices(["low", "normal", "high", "critical"], [20, 55, 20, 5])[0]
        source = rnd.choices(["patrol", "resident_report", "hotline", "service_order",
                              "deputy_reception"], [60, 25, 8, 4, 3])[0]
        member = _pick(rnd, by_role, Role.grid_member, grid.id)
        leader = _pick(rnd, by_role, Role.grid_leader, grid.id)
        instructor = _pick(rnd, by_role, Role.grid_instructor, grid.id)
        vadmin = _pick(rnd, by_role, Role.village_admin, grid.village_id)
        reporter = rnd.choice(residents) if source == "resident_report" and residents else member
        issue = Issue(title=title, description=text, category=cat, source=source,
                      lat=grid.lat + rnd.uniform(-0.003, 0.003),
                      lon=grid.lon + rnd.uniform(-0.003, 0.003), grid_id=grid.id,
                      village_id=grid.village_id, reporter_id=reporter, urgency=urgency,
                      helpers_needed=rnd.choice([1, 1, 1, 2, 3]), tier=Tier.grid,
                      status=IssueStatus.reported,
                      rework_count=0, reopen_count=0,
                      deadline_at=created + timedelta(hours=urgencies.get(urgency, 72)),
                      created_at=created, updated_at=created)
        issue.events.append(IssueEvent(actor_id=reporter, action="report",
                                       to_status=IssueStatus.reported, to_tier=Tier.grid,
                                       created_at=created))
        tier = rnd.choices([Tier.grid, Tier.village, Tier.department], [35, 63, 2])[0]
        _play(rnd, issue, tier, now, member=member, leader=leader, instructor=instructor,
              vadmin=vadmin, dept=cat.default_department,
              dept_staff=_pick(rnd, by_role, Role.department_staff,
                               cat.default_department.id if cat.default_department else 0))
        issues.append(issue)
    db.session.add_all(issues)
    db.session.flush()
    return len(issues)


def _pick(rnd, by_role, role: Role, key: int) -> int | None:
    people = by_role.get((role.value, key))
    return rnd.choice(people) if people else None


def _play(rnd, issue: Issue, tier: str, now, *, member, leader, instructor, vadmin, dept,
          dept_staff) -> None:
    """Walk the issue through its life up to a point that depends on its age."""
    t = issue.created_at
    age_days = (now - t).days

    def step(actor, action, status=None, comment=None, to_tier=None, hours=(1, 20)):
        nonlocal t
        t = t + timedelta(hours=rnd.uniform(*hours))
        if t >= now:
            return False
        event = IssueEvent(actor_id=actor, action=action, from_status=issue.status,
                           from_tier=issue.tier, comment=comment, created_at=t)
        if to_tier:
            issue.tier = to_tier
        if status:
            issue.status = status
        event.to_status, event.to_tier = issue.status, issue.tier
        issue.events.append(event)
        issue.updated_at = t
        return True

    # How far this issue got: old ones are mostly closed; the last weeks are still moving.
    stop = rnd.random()
    if age_days < 3:
        stop *= 0.5
    elif age_days < 14:
        stop *= 0.85
    elif age_days > 30:
        stop = 0.15 + 0.85 * stop  # a few old ones are still stuck, and overdue
    handler = member
    if tier in (Tier.village, Tier.department):
        if not step(member, IssueAction.escalate, IssueStatus.reported, comment="需村居协调",
                    to_tier=Tier.village):
            return
        handler = vadmin
    if tier == Tier.department:
        issue.department_id = dept.id if dept else None
        if issue.department_id is None:
            issue.tier = Tier.village
        elif not step(vadmin, IssueAction.escalate, IssueStatus.reported, comment="需职能部门处置",
                      to_tier=Tier.department):
            return
        else:
            handler = dept_staff or vadmin
    if rnd.random() < 0.04 and age_days > 2:
        step(leader if issue.tier == Tier.grid else vadmin, IssueAction.reject,
             IssueStatus.rejected, comment="经核实不属于网格事项")
        return
    if stop < 0.06 or not step(handler, IssueAction.accept, IssueStatus.accepted):
        return
    if stop < 0.10 or not step(handler, IssueAction.start, IssueStatus.in_progress, hours=(1, 48)):
        return
    span = (2, 60) if tier == Tier.grid else (6, 150)
    if stop < 0.13 or not _resolve(rnd, issue, step, handler, span):
        return
    if rnd.random() < 0.05:  # 返工: verification failed once
        if not step(instructor or vadmin, IssueAction.fail_verification, IssueStatus.in_progress,
                    comment="现场核查未整改到位"):
            return
        issue.rework_count += 1
        if not _resolve(rnd, issue, step, handler, span):
            return
    if stop < 0.16 or not step(leader if leader != handler else vadmin, IssueAction.verify,
                               IssueStatus.closed, hours=(2, 30)):
        return
    issue.closed_at = t
    if issue.source == "resident_report" and rnd.random() < 0.6:
        issue.rating = rnd.choices([5, 4, 3, 2, 1], [55, 28, 10, 4, 3])[0]
        issue.rating_comment = rnd.choice(["处理很及时，谢谢！", "满意", "还可以", "希望以后更快一些"])
    if rnd.random() < 0.02 and issue.reporter_id:
        if step(issue.reporter_id, IssueAction.reopen, IssueStatus.reported, comment="问题又出现了",
                hours=(24, 200)):
            issue.reopen_count += 1
            issue.closed_at = issue.resolved_at = None


def _resolve(rnd, issue, step, handler, span) -> bool:
    if not step(handler, IssueAction.resolve, IssueStatus.resolved, comment=None, hours=span):
        return False
    issue.handler_id = handler
    issue.resolved_at = issue.events[-1].created_at
    issue.resolution = rnd.choice(RESOLUTIONS)
    issue.hours_spent = round(rnd.uniform(0.5, 8), 1)
    if rnd.random() < 0.25:
        issue.cost_saved_yuan = rnd.choice([200, 500, 800, 1500, 3000, 10000])
    return True
