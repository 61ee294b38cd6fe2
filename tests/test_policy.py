"""The policy's rules as a table: who may manage whom (rank and scope), how a phone is shown."""
import pytest

from volunteer import policy
from volunteer.auth.services import grant_role
from volunteer.extensions import db


@pytest.fixture
def people(factory):
    a, b = factory.village(code="VA"), factory.village(code="VB")
    ga, ga2, gb = (factory.grid(a, code="VA-01"), factory.grid(a, code="VA-02"),
                   factory.grid(b, code="VB-01"))
    p = {
        "admin": factory.user("admin"),
        "admin_volunteering": factory.user("admin"),
        "va_admin": factory.user("village_admin", a),
        "vb_admin": factory.user("village_admin", b),
        "leader": factory.user("grid_leader", ga),
        "co_leader": factory.user("grid_leader", ga),
        "leader2": factory.user("grid_leader", ga2),
        "instructor": factory.user("grid_instructor", ga),
        "member": factory.user("grid_member", ga),
        "member_b": factory.user("grid_member", gb),
        "dept": factory.user("department_staff", factory.department()),
        "resident": factory.user("resident"),
        "volunteer": factory.volunteer("甲", ["electrician"], grid=ga),
        "volunteer_b": factory.volunteer("乙", ["electrician"], grid=gb),
    }
    grant_role(p["admin_volunteering"], "grid_member", ga)  # the town admin helps in a grid
    db.session.commit()
    return p


# (actor, person, may manage)
CASES = [
    ("admin", "va_admin", True), ("admin", "dept", True), ("admin", "admin_volunteering", False),
    ("admin", "admin", False),
    ("va_admin", "leader", True), ("va_admin", "instructor", True),
    ("va_admin", "volunteer", True), ("va_admin", "volunteer_b", False),
    ("va_admin", "vb_admin", False), ("va_admin", "dept", False),
    ("va_admin", "admin_volunteering", False), ("va_admin", "resident", False),
    ("leader", "member", True), ("leader", "volunteer", True),
    ("leader", "co_leader", False), ("leader", "instructor", False),
    ("leader", "leader2", False), ("leader", "va_admin", False),
    ("leader", "admin_volunteering", False), ("leader", "member_b", False),
    ("instructor", "member", False), ("member", "volunteer", False),
    ("dept", "resident", False), ("resident", "volunteer", False),
]


@pytest.mark.parametrize("actor,person,allowed", CASES)
def test_may_manage_person(people, actor, person, allowed):
    assert policy.may_manage_person(people[actor], people[person]) is allowed


def test_ranks():
    assert policy.rank("admin") > policy.rank("village_admin") > policy.rank("grid_leader")
    assert policy.rank("grid_leader") == policy.rank("grid_instructor") > policy.rank(
        "grid_member") > policy.rank("volunteer") == policy.rank("resident")
    assert policy.rank("department_staff") is None  # its own branch


@pytest.mark.parametrize("viewer,context,shown", [
    ("volunteer", "list", policy.Phone.FULL),  # oneself
    ("leader", "list", policy.Phone.REVEAL), ("leader2", "detail", policy.Phone.REVEAL),
    ("member", "list", policy.Phone.NONE), ("vb_admin", "list", policy.Phone.MASKED),
    ("admin", "list", policy.Phone.REVEAL), ("leader", "export", policy.Phone.FULL),
    ("vb_admin", "export", policy.Phone.NONE), ("resident", "detail", policy.Phone.NONE),
    ("dept", "list", policy.Phone.NONE),
])
def test_phone_shown(people, viewer, context, shown):
    assert policy.phone_shown(people[viewer], people["volunteer"].profile, context) is shown


def test_a_helpers_phone_goes_to_their_organiser_only(people):
    profile = people["volunteer"].profile
    assert policy.phone_shown(people["vb_admin"], profile, "helper", organiser=True) \
        is policy.Phone.FULL
    assert policy.phone_shown(people["vb_admin"], profile, "helper") is policy.Phone.NONE


def test_distances_and_places(people):
    inside, outside = people["volunteer"].profile, people["volunteer_b"].profile
    leader = people["leader"]
    assert policy.shown_distance(leader, 1234, inside.home_grid.village_id) == 1230
    assert policy.shown_distance(leader, 1234, outside.home_grid.village_id) == 1200
    assert policy.shown_distance(leader, 3, outside.home_grid.village_id) == 100  # never 0
    assert policy.public_place(30.757456, 121.353789) == (30.757, 121.354)
    pin = policy.volunteer_pin(leader, outside)
    assert pin == (outside.home_grid.lat, outside.home_grid.lon)  # the grid's centre
    assert policy.volunteer_pin(leader, inside) == policy.public_place(inside.lat, inside.lon)
