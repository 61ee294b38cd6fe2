"""Grid staff: the scoped volunteer list, verification, 报到, contact audit, export, public view."""
import io

import pytest
from openpyxl import load_workbook

from tests.conftest import count_queries
from volunteer.auth.services import grant_role
from volunteer.extensions import db
from volunteer.skills.models import Skill
from volunteer.volunteers.models import ContactView, VolunteerProfile, VolunteerSkill
from volunteer.volunteers.services import ProfileData, save_profile


@pytest.fixture
def town(factory):
    a, b = factory.village(code="VA", name="甲村"), factory.village(code="VB", name="乙村")
    return {"a": a, "b": b, "ga1": factory.grid(a, code="VA-01"),
            "ga2": factory.grid(a, code="VA-02"), "gb": factory.grid(b, code="VB-01")}


def volunteer(factory, grid, name="童大夫", skills=("doctor",), party=False, phone=None):
    user = factory.user("volunteer", name=name, phone=phone)
    ids = [db.session.scalar(db.select(Skill.id).where(Skill.code == c)) for c in skills]
    save_profile(user, ProfileData(home_grid=grid, lat=None, lon=None, skill_ids=ids,
                                   is_party_member=party, work_unit="单位" if party else None,
                                   party_branch="支部" if party else None))
    db.session.commit()
    return user


def test_list_is_scoped_to_the_village_and_phones_masked(client, auth, factory, town):
    own = volunteer(factory, town["ga1"], "赵一", phone="13900000001")
    same_village = volunteer(factory, town["ga2"], "赵二", phone="13900000002")
    volunteer(factory, town["gb"], "赵三", phone="13900000003")
    auth.login("grid_leader", town["ga1"])
    body = client.get("/volunteers/").get_data(as_text=True)
    assert "赵一" in body and "赵二" in body and "赵三" not in body
    assert own.phone not in body and "139****0001" in body  # lists mask, even in one's grid
    assert same_village.phone not in body and "139****0002" in body
    assert db.session.scalar(db.select(db.func.count(ContactView.id))) == 0


def test_detail_masks_and_a_reveal_is_audited(client, auth, factory, town):
    own = volunteer(factory, town["ga1"], "赵一")
    other = volunteer(factory, town["ga2"], "赵二")
    far = volunteer(factory, town["gb"], "赵三")
    leader = auth.login("grid_leader", town["ga1"])
    assert client.get(f"/volunteers/{own.id}").status_code == 200
    page = client.get(f"/volunteers/{other.id}").get_data(as_text=True)
    assert other.phone not in page and 'data-testid="reveal"' in page
    assert db.session.scalar(db.select(db.func.count(ContactView.id))) == 0
    page = client.post(f"/volunteers/{other.id}/contact",
                       data={"reason": "invite"}).get_data(as_text=True)
    assert other.phone in page
    log = db.session.scalar(db.select(ContactView))
    assert (log.viewer_id, log.subject_id, log.context, log.note) == \
        (leader.id, other.id, "reveal", "invite")
    assert client.get(f"/volunteers/{far.id}").status_code == 403
    assert client.get("/volunteers/999999").status_code == 404
    assert db.session.scalar(db.select(db.func.count(ContactView.id))) == 1


def test_town_admin_reads_the_audit_log(client, auth, factory, town):
    other = volunteer(factory, town["ga2"], "赵二")
    auth.login("grid_leader", town["ga1"])
    client.post(f"/volunteers/{other.id}/contact", data={"reason": "task"})
    auth.logout()
    auth.login("admin")
    body = client.get("/admin/a_contactview/").get_data(as_text=True)
    assert "赵二" in body


@pytest.mark.parametrize("query,expected", [
    ("skill=doctor", {"赵一"}), ("skill=teacher", {"赵二"}), ("grid=VA-02", {"赵二"}),
    ("party=yes", {"赵二"}), ("party=no", {"赵一"}), ("party=pending", {"赵二"}),
    ("verified=yes", {"赵一"}), ("verified=no", {"赵二"}), ("paused=yes", set()),
    ("q=赵二", {"赵二"}), ("page=99", set()), ("party=bogus&verified=x", {"赵一", "赵二"}),
])
def test_filters(client, auth, factory, town, query, expected):
    one = volunteer(factory, town["ga1"], "赵一")
    volunteer(factory, town["ga2"], "赵二", skills=("teacher",), party=True)
    one.profile.skills[0].status = "verified"
    db.session.commit()
    auth.login("village_admin", town["a"])
    body = client.get("/volunteers/?" + query).get_data(as_text=True)
    assert {n for n in ("赵一", "赵二") if f">{n}</a>" in body} == expected


def test_pagination(client, auth, factory, town):
    for i in range(35):
        volunteer(factory, town["ga1"], f"志愿者{'甲乙丙丁戊己庚辛壬癸'[i % 10]}{i}")
    auth.login("village_admin", town["a"])
    first = client.get("/volunteers/").get_data(as_text=True)
    second = client.get("/volunteers/?page=2").get_data(as_text=True)
    assert first.count('href="/volunteers/') > 30 and "志愿者" in second
    assert 'page=2' in first


def test_list_queries_do_not_grow_with_rows(client, auth, factory, town):
    for i in range(3):
        volunteer(factory, town["ga1"], f"甲{'一二三'[i]}", skills=("doctor", "nurse"))
    auth.login("village_admin", town["a"])
    before = count_queries(client, "/volunteers/")
    for i in range(10):
        volunteer(factory, town["ga1"], f"乙{'一二三四五六七八九十'[i]}", skills=("doctor", "nurse"))
    assert count_queries(client, "/volunteers/") == before


def test_verify_and_reject_skill(client, auth, factory, town):
    user = volunteer(factory, town["ga1"], skills=("doctor", "nurse"))
    doctor, nurse = user.profile.skills
    leader = auth.login("grid_leader", town["ga1"])
    assert client.post(f"/volunteers/skills/{doctor.id}/verify").status_code == 302
    db.session.expire_all()
    doctor = db.session.get(VolunteerSkill, doctor.id)
    assert doctor.status == "verified" and doctor.verified_by_id == leader.id
    assert doctor.verified_at is not None
    resp = client.post(f"/volunteers/skills/{nurse.id}/reject", data={"reason": ""})
    assert db.session.get(VolunteerSkill, nurse.id).status == "unverified"
    resp = client.post(f"/volunteers/skills/{nurse.id}/reject",
                       data={"reason": "证书已过期"})
    assert resp.status_code == 302
    nurse = db.session.get(VolunteerSkill, nurse.id)
    assert nurse.status == "rejected" and nurse.reject_reason == "证书已过期"
    # The volunteer sees the reason.
    auth.logout()
    auth.login(user=user)
    assert "证书已过期" in client.get("/volunteers/me").get_data(as_text=True)


def test_cannot_verify_outside_scope(client, auth, factory, town):
    user = volunteer(factory, town["gb"])
    auth.login("grid_leader", town["ga1"])
    vs = user.profile.skills[0]
    assert client.post(f"/volunteers/skills/{vs.id}/verify").status_code == 403
    assert db.session.get(VolunteerSkill, vs.id).status == "unverified"
    auth.logout()
    auth.login("grid_member", town["gb"])  # members do not verify
    assert client.post(f"/volunteers/skills/{vs.id}/verify").status_code == 403


def test_village_admin_confirms_party_registration(client, auth, factory, town):
    user = volunteer(factory, town["ga1"], party=True)
    auth.login("grid_leader", town["ga1"])
    assert client.post(f"/volunteers/{user.id}/party/confirm").status_code == 403
    auth.logout()
    auth.login("village_admin", town["b"])
    assert client.post(f"/volunteers/{user.id}/party/confirm").status_code == 403
    auth.logout()
    admin = auth.login("village_admin", town["a"])
    assert client.post(f"/volunteers/{user.id}/party/confirm").status_code == 302
    p = db.session.scalar(db.select(VolunteerProfile).where(VolunteerProfile.user_id == user.id))
    assert p.party_status == "confirmed" and p.party_confirmed_by_id == admin.id
    assert client.post(f"/volunteers/{user.id}/party/bogus").status_code == 404


def test_export_xlsx_within_scope(client, auth, factory, town):
    volunteer(factory, town["ga1"], "赵一", phone="13900000001")
    volunteer(factory, town["gb"], "赵三", phone="13900000003")
    auth.login("village_admin", town["a"])
    resp = client.get("/volunteers/export.xlsx?skill=doctor")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == "赵一" and rows[1][1] == "13900000001"
    log = db.session.scalar(db.select(ContactView))
    assert log.context == "export" and log.count == 1


def test_residents_and_visitors_see_skills_without_contacts(client, auth, factory, town):
    volunteer(factory, town["ga1"], "童建国", phone="13900000001")
    paused = volunteer(factory, town["ga1"], "王芳", skills=("lawyer",))
    paused.profile.paused = True
    db.session.commit()
    body = client.get("/volunteers/available").get_data(as_text=True)
    assert "医生 1" in body and "律师" not in body
    body = client.get("/volunteers/available?village=VA").get_data(as_text=True)
    assert "童**" in body and "童建国" not in body and "13900000001" not in body
    assert client.get("/volunteers/available?village=<script>").status_code == 200
    auth.login("resident")
    assert client.get("/volunteers/").status_code == 403


def test_instructor_sees_list_of_their_village(client, auth, factory, town):
    volunteer(factory, town["ga2"], "赵二")
    instructor = factory.user("grid_instructor", town["ga1"])
    grant_role(instructor, "grid_instructor", town["gb"])
    db.session.commit()
    auth.login(user=instructor)
    assert "赵二" in client.get("/volunteers/").get_data(as_text=True)


def test_grid_members_do_not_keep_the_registry(client, auth, town):
    auth.login("grid_member", town["ga1"])
    assert client.get("/volunteers/").status_code == 403
    assert client.get("/volunteers/export.xlsx").status_code == 403
