"""Statuses are ``StrEnum``s defined next to their models: the tuples other code imports are
derived from them, every status column's default is a member, the code compares and assigns
members (not bare strings), and what reaches the database and the JSON API is the plain value."""
from __future__ import annotations

import ast
import json
from enum import StrEnum
from pathlib import Path

import pytest

from volunteer.auth.services import create_token
from volunteer.callups.models import (
    CallUp,
    CallUpAnswer,
    CallUpReason,
    CallUpResponse,
    CallUpStatus,
    CheckVia,
    NoticeOutcome,
)
from volunteer.checkin.models import CheckIn
from volunteer.checkin.services import CheckStage
from volunteer.extensions import db
from volunteer.hours.models import CorrectionStatus, HoursCorrection, HoursStatus, ServiceHours
from volunteer.invitations import models as invitations
from volunteer.invitations.models import Invitation, InvitationStatus
from volunteer.issues import models as issues
from volunteer.issues.models import Issue, IssueAction, IssueEvent, IssueStatus, Tier
from volunteer.issues.workflow import RULES
from volunteer.matching.models import WeightSet, WeightSetStatus
from volunteer.planning.models import ItemStatus, Plan, PlanItem, PlanStatus
from volunteer.services import models as services
from volunteer.services.models import ServiceSession, SessionSignup, SessionStatus, SignupStatus
from volunteer.volunteers.models import PartyStatus, SkillStatus, VolunteerProfile, VolunteerSkill

PKG = Path(__file__).resolve().parents[1] / "volunteer"

#: Every status-like column and the enum its values come from.
COLUMNS = {
    Issue.status: IssueStatus, Issue.tier: Tier,
    IssueEvent.from_status: IssueStatus, IssueEvent.to_status: IssueStatus,
    IssueEvent.from_tier: Tier, IssueEvent.to_tier: Tier,
    Invitation.status: InvitationStatus,
    ServiceSession.status: SessionStatus, SessionSignup.status: SignupStatus,
    ServiceHours.status: HoursStatus, HoursCorrection.status: CorrectionStatus,
    VolunteerSkill.status: SkillStatus, VolunteerProfile.party_status: PartyStatus,
    WeightSet.status: WeightSetStatus,
    CallUp.status: CallUpStatus, CallUp.reason: CallUpReason, CallUpResponse.answer: CallUpAnswer,
    CallUpResponse.notice: NoticeOutcome, Plan.status: PlanStatus, PlanItem.status: ItemStatus,
    CheckIn.checkin_via: CheckVia,
}
ENUMS = (IssueStatus, Tier, IssueAction, InvitationStatus, SessionStatus, SignupStatus,
         HoursStatus, CorrectionStatus, SkillStatus, PartyStatus, WeightSetStatus,
         CallUpStatus, CallUpReason, CallUpAnswer, NoticeOutcome, CheckVia, PlanStatus,
         ItemStatus, CheckStage)
#: Status values of every enum (what a bare literal in a comparison must not be); a
#: call-up's "open" stays a word that filters use too.
STATUS_VALUES = {m.value for e in ENUMS if e not in (Tier, IssueAction, CallUpStatus)
                 for m in e}
#: Folders not checked (none: every folder uses members).
NOT_YET: tuple[str, ...] = ()
#: Files whose ``action`` is not an issue's: the 报到 decision (confirm / reject).
OTHER_ACTIONS = {"volunteers/staff_routes.py"}


def test_tuples_are_derived_from_the_enums():
    assert issues.STATUSES == tuple(IssueStatus)
    assert issues.TIERS == tuple(Tier)
    assert set(issues.OPEN_STATUSES) == {IssueStatus.reported, IssueStatus.accepted,
                                         IssueStatus.in_progress}
    assert invitations.STATUSES == tuple(InvitationStatus)
    assert set(invitations.HOLDING) == {InvitationStatus.offered, InvitationStatus.invited,
                                        InvitationStatus.accepted}
    assert set(invitations.COUNTED) == {*invitations.HOLDING, InvitationStatus.done}
    assert services.SESSION_STATUSES == tuple(SessionStatus)
    assert services.SIGNUP_STATUSES == tuple(SignupStatus)
    assert set(RULES) == set(IssueAction)
    for rule in RULES.values():
        assert all(isinstance(s, IssueStatus) for s in rule.sources)
        assert rule.target is None or isinstance(rule.target, IssueStatus)


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_members_are_their_values(enum):
    """Names equal values (but ``IssueAction.return_``), and nothing was renamed: the values
    are what the database and the API already hold."""
    assert issubclass(enum, StrEnum) and enum.__doc__
    for member in enum:
        assert member.name.rstrip("_") == member.value
        assert str(member) == f"{member}" == member.value
        assert json.dumps(member) == f'"{member.value}"'
    assert len({m.value for m in enum}) == len(enum)


def test_every_status_column_default_is_a_member():
    for column, enum in COLUMNS.items():
        default = column.property.columns[0].default
        if default is None:
            continue  # history columns and party_status (None: not a party member)
        assert isinstance(default.arg, enum), column
        assert column.property.columns[0].type.length >= max(len(m) for m in enum)


def test_every_status_like_column_has_an_enum():
    """A new status column gets an enum too (the outbox has its own ``Status``)."""
    known = {(c.class_.__table__.name, c.key) for c in COLUMNS}
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if table.name != "outbox_message" and (column.name == "tier" or column.name.endswith(
                    ("status", "_tier"))):
                assert (table.name, column.name) in known, f"{table.name}.{column.name}"


def _name(node) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):  # inv.state(now)
        return _name(node.func)
    return None


def _strings(node) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for e in node.elts for s in _strings(e)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _forbidden(name: str | None) -> set[str]:
    """The literals that must be enum members when compared with or assigned to ``name``."""
    if name in ("status", "party_status", "state", "from_status", "to_status", "target"):
        return STATUS_VALUES
    if name in ("tier", "from_tier", "to_tier"):
        return {m.value for m in Tier}
    if name in ("action", "event"):
        return {m.value for m in IssueAction}
    return set()


def bare_literals(root: Path = PKG) -> list[str]:
    """Comparisons, assignments, keyword arguments and ``.in_()`` clauses that use a bare
    string where a status, tier or workflow action enum member belongs."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("migrations/", *NOT_YET)):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            pairs = []
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                pairs = [(_name(a), b) for a in sides for b in sides if a is not b]
            elif isinstance(node, ast.Assign):
                pairs = [(_name(t), node.value) for t in node.targets]
                pairs += [(_name(t), v) for t in node.targets if isinstance(t, ast.Tuple)
                          and isinstance(node.value, ast.Tuple)
                          for t, v in zip(t.elts, node.value.elts, strict=False)]
            elif isinstance(node, ast.Call):
                pairs = [(k.arg, k.value) for k in node.keywords]
                if isinstance(node.func, ast.Attribute) and node.func.attr == "in_":
                    pairs += [(_name(node.func.value), a) for a in node.args]
            for name, value in pairs:
                if rel in OTHER_ACTIONS and name == "action":
                    continue
                bad = set(_strings(value)) & _forbidden(name)
                if bad:
                    found.append(f"{rel}:{node.lineno} {name} ~ {sorted(bad)}")
    return sorted(found)


def test_no_bare_status_literals_in_the_code():
    assert bare_literals() == []


def test_the_scan_finds_bare_literals(tmp_path):
    """The scan itself works: it flags what the code used to look like."""
    (tmp_path / "x.py").write_text(
        'if inv.status == "accepted": pass\n'
        'q.where(Invitation.status.in_(("invited", "offered")))\n'
        'issue.tier = "village"\n'
        'Issue(status="reported")\n'
        'if action == "resolve": pass\n'
        'if action == "overdue": pass\n'  # not a workflow action: fine
        'if f.status == "open": pass\n', encoding="utf-8")  # a filter, not a status: fine
    assert [f.split()[0] for f in bare_literals(tmp_path)] == [
        "x.py:1", "x.py:2", "x.py:3", "x.py:4", "x.py:5"]


def stray_values() -> list[str]:
    """Values stored in a status column that are not members of its enum."""
    out = []
    for column, enum in COLUMNS.items():
        for value in db.session.scalars(db.select(column).distinct()):
            if value is not None and value not in set(enum):
                out.append(f"{column}: {value!r}")
    return out


def test_api_answers_plain_strings(app, client, factory):
    """The JSON API and ``jsonify`` emit a status as its plain value, and what is stored is a
    member's value."""
    grid = factory.grid(lat=30.757, lon=121.353)
    member = factory.user("grid_member", grid)
    headers = {"Authorization": f"Bearer {create_token(member)}"}
    db.session.commit()
    resp = client.post("/api/v1/issues", headers=headers, json={
        "title": "路灯不亮", "description": "绿地路灯全部不亮", "category": "facilities",
        "lat": 30.7571, "lon": 121.3531})
    assert resp.status_code == 201, resp.json
    issue = json.loads(resp.get_data(as_text=True))
    assert issue["status"] == "reported" and type(issue["status"]) is str
    assert issue["tier"] == "grid" and type(issue["tier"]) is str
    resp = client.post(f"/api/v1/issues/{issue['id']}/transitions", headers=headers,
                       json={"action": "accept", "version": issue["version"]})
    assert resp.status_code == 200, resp.json
    assert '"status":"accepted"' in resp.get_data(as_text=True).replace(" ", "")
    assert all(type(a) is str for a in resp.json["allowed_actions"])
    assert app.json.dumps({"status": IssueStatus.closed, "tier": Tier.village}) == \
        json.dumps({"status": "closed", "tier": "village"})
    assert stray_values() == []
    stored = db.session.execute(db.select(Issue.status, Issue.tier)).one()
    assert stored == ("accepted", "grid") and type(stored[0]) is str
