"""The issue lifecycle: the permission table cell by cell, transitions, escalation, closure."""
from datetime import timedelta

import pytest

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.issues.models import Issue, IssueCategory
from volunteer.issues.services import (
    Details,
    IssueError,
    IssueInput,
    file_issue,
    queue_counts,
    transition,
)
from volunteer.issues.workflow import ANY, RULES, WorkflowError, check, role_allows, roles_for

ROLES = ["grid_member", "grid_leader", "grid_instructor", "village_admin", "department_staff",
         "admin", "district_admin", "reporter", "follower", "resident", "volunteer"]
TIERS = ["grid", "village", "department", "district"]
DEPARTMENTS = {"department", "district"}

# The expected table, written out: action -> role -> tiers where the role may do it.
H = {"grid_member": {"grid"}, "grid_leader": {"grid"}, "village_admin": {"grid", "village"},
     "department_staff": DEPARTMENTS, "admin": set(TIERS), "district_admin": set(TIERS)}
V = {r: set(TIERS) for r in ("grid_leader", "grid_instructor", "village_admin", "admin",
                             "district_admin")}
EXPECTED = {
    "accept": H, "start": H, "resolve": H, "verify": V, "fail_verification": V,
    "reject": {"grid_leader": {"grid"}, "village_admin": {"grid", "village"}, "admin": set(TIERS),
               "district_admin": set(TIERS)},
    "escalate": {"grid_member": {"grid"}, "grid_leader": {"grid"},
                 "village_admin": {"grid", "village"}, "department_staff": {"department"},
                 "admin": {"grid", "village", "department"},
                 "district_admin": {"grid", "village", "department"}},
    "return": {"department_staff": DEPARTMENTS, "admin": {"department"},
               "district_admin": DEPARTMENTS},
    "reopen": {"reporter": set(TIERS)}, "rate": {"reporter": set(TIERS)},
    "comment": {r: set(TIERS) for r in ROLES if r not in ("resident", "volunteer", "follower")},
}


@pytest.mark.parametrize("action", list(RULES))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("tier", TIERS)
def test_permission_table_cell(action, role, tier):
    assert role_allows(action, role, tier) == (tier in EXPECTED[action].get(role, set()))


def test_table_covers_every_action():
    assert set(EXPECTED) == set(RULES)
    for rule in RULES.values():
        for tiers in rule.roles.values():
            assert set(tiers) <= {ANY, *TIERS}


@pytest.fixture
def place(factory):
    village = factory.village(code="VA")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    dept = factory.department(code="D10")
    cat = db.session.scalar(db.select(IssueCategory).where(IssueCategory.code == "environment"))
    cat.default_department_id = dept.id
    db.session.commit()
    return {"village": village, "grid": grid, "dept": dept,
            "member": factory.user("grid_member", grid, name="网格员"),
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "instructor": factory.user("grid_instructor", grid, name="指导员"),
            "vadmin": factory.user("village_admin", village, name="村居"),
            "staff": factory.user("department_staff", dept, name="部门"),
            "resident": factory.user("resident", name="居民")}


def new_issue(place, reporter=None, **kw) -> Issue:
    data = IssueInput(title="路灯不亮", description="绿地路灯全部不亮", category="environment",
                      lat=30.7571, lon=121.3531, **kw)
    issue = file_issue(reporter or place["resident"], data)
    db.session.commit()
    return issue


def test_file_issue_finds_grid_and_deadline(place):
    issue = new_issue(place, urgency="high")
    assert issue.grid_id == place["grid"].id and issue.village_id == place["village"].id
    assert issue.status == "reported" and issue.tier == "grid"
    assert timedelta(hours=23) < issue.deadline_at - issue.created_at <= timedelta(hours=24)
    assert [e.action for e in issue.events] == ["report"]


def test_boundary_wins_over_nearest_centre(place, factory):
    far = factory.grid(place["village"], code="VA-02", lat=30.9, lon=121.6)
    far.boundary = ('{"type": "Polygon", "coordinates": [[[121.352, 30.756], [121.355, 30.756], '
                    '[121.355, 30.759], [121.352, 30.759], [121.352, 30.756]]]}')
    db.session.commit()
    assert new_issue(place).grid_id == far.id


@pytest.mark.parametrize("over,code", [
    ({"category": "nope"}, "unknown_category"), ({"lat": 40.0, "lon": 116.0}, "outside_town"),
    ({"urgency": "whenever"}, "unknown_urgency"), ({"grid_code": "NOPE"}, "unknown_grid"),
    ({"lat": None, "lon": None}, "no_location"),
])
def test_file_issue_refusals(place, over, code):
    data = IssueInput(title="t", description="d", category="environment", lat=30.7571,
                      lon=121.3531)
    for k, v in over.items():
        setattr(data, k, v)
    with pytest.raises(IssueError) as err:
        file_issue(place["resident"], data)
    assert err.value.code == code
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Issue.id))) == 0


def test_full_life_on_the_spot(place):
    issue = new_issue(place)
    m, leader = place["member"], place["leader"]
    transition(m, issue, "accept")
    transition(m, issue, "start")
    with pytest.raises(IssueError):
        transition(m, issue, "resolve", Details())  # how it was resolved is required
    transition(m, issue, "resolve", Details(resolution="更换了空开", hours_spent=2,
                                            cost_saved_yuan=10000))
    with pytest.raises(WorkflowError) as err:
        transition(m, issue, "verify")
    assert err.value.code in ("own_work", "not_allowed")
    transition(leader, issue, "verify")
    db.session.commit()
    assert issue.status == "closed" and issue.closed_at and issue.handler_id == m.id
    assert issue.cost_saved_yuan == 10000
    assert [e.action for e in issue.events] == ["report", "accept", "start", "resolve", "verify"]
    transition(place["resident"], issue, "rate", Details(rating=5, comment="很快"))
    assert issue.rating == 5
    with pytest.raises(WorkflowError):
        transition(place["resident"], issue, "rate", Details(rating=4))


def test_handler_cannot_verify_own_work(place):
    issue = new_issue(place)
    leader = place["leader"]
    for action in ("accept", "start"):
        transition(leader, issue, action)
    transition(leader, issue, "resolve", Details(resolution="done"))
    with pytest.raises(WorkflowError) as err:
        transition(leader, issue, "verify")
    assert err.value.code == "own_work"
    transition(place["instructor"], issue, "verify")
    assert issue.status == "closed"


def test_failed_verification_is_counted(place):
    issue = new_issue(place)
    for action in ("accept", "start"):
        transition(place["member"], issue, action)
    transition(place["member"], issue, "resolve", Details(resolution="done"))
    with pytest.raises(IssueError):
        transition(place["leader"], issue, "fail_verification", Details())
    transition(place["leader"], issue, "fail_verification", Details(comment="未整改到位"))
    assert issue.status == "in_progress" and issue.rework_count == 1


def test_escalation_to_department_and_back(place):
    issue = new_issue(place)
    transition(place["member"], issue, "escalate", Details(comment="需村居协调"))
    assert (issue.tier, issue.status) == ("village", "reported")
    with pytest.raises(WorkflowError):
        transition(place["member"], issue, "accept")  # no longer the grid's to handle
    transition(place["vadmin"], issue, "escalate")
    assert issue.tier == "department" and issue.department_id == place["dept"].id  # proposed
    assert "department_staff" in roles_for(place["staff"], issue)
    with pytest.raises(IssueError):
        transition(place["staff"], issue, "return", Details())
    transition(place["staff"], issue, "return", Details(comment="不属于本部门"))
    assert (issue.tier, issue.department_id) == ("village", None)
    assert "department_staff" not in roles_for(place["staff"], issue)
    with pytest.raises(WorkflowError) as err:
        transition(place["vadmin"], issue, "return", Details(comment="x"))
    assert err.value.code in ("not_allowed", "bottom_tier")


def test_reject_as_duplicate(place):
    first, second = new_issue(place), new_issue(place)
    with pytest.raises(IssueError):
        transition(place["leader"], second, "reject", Details(duplicate_of=999999))
    transition(place["leader"], second, "reject", Details(duplicate_of=first.id))
    assert second.status == "rejected" and second.duplicate_of_id == first.id


def _close(place, issue):
    for action in ("accept", "start"):
        transition(place["member"], issue, action)
    transition(place["member"], issue, "resolve", Details(resolution="done"))
    transition(place["leader"], issue, "verify")


def test_reporter_reopens_within_14_days(place):
    issue = new_issue(place)
    _close(place, issue)
    with pytest.raises(WorkflowError):
        transition(place["member"], issue, "reopen")  # only the reporter
    transition(place["resident"], issue, "reopen", Details(comment="又坏了"))
    assert issue.status == "reported" and issue.reopen_count == 1 and issue.closed_at is None
    _close(place, issue)
    with pytest.raises(WorkflowError) as err:
        transition(place["resident"], issue, "reopen", now=utcnow() + timedelta(days=15))
    assert err.value.code == "reopen_expired"


def test_wrong_status_and_stale_version(place):
    issue = new_issue(place)
    with pytest.raises(WorkflowError) as err:
        transition(place["member"], issue, "verify")
    assert err.value.code in ("wrong_status", "not_allowed")
    with pytest.raises(IssueError) as err:
        transition(place["member"], issue, "accept", version=issue.version + 1)
    assert err.value.code == "stale"


def test_other_village_has_no_role(place, factory):
    other = factory.user("village_admin", factory.village(code="VB"))
    issue = new_issue(place)
    assert roles_for(other, issue) == set()
    with pytest.raises(WorkflowError):
        check("accept", other, issue)


def test_overdue_and_tick_are_idempotent(place, runner):
    issue = new_issue(place)
    issue.deadline_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert issue.is_overdue()
    assert queue_counts(place["leader"], "grid")["overdue"] == 1
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0 and "1 issue" in result.output
    assert runner.invoke(args=["tick"]).output.startswith("tick: 0")
    db.session.refresh(issue)
    assert [e.action for e in issue.events].count("overdue") == 1
    _close(place, issue)
    assert not issue.is_overdue()
