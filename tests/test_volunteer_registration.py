"""The two registration paths, the profile, pause, download and delete."""
import io
import json

import pytest
from PIL import Image
from pypdf import PdfWriter

from volunteer.auth.models import User
from volunteer.extensions import db
from volunteer.skills.models import Skill
from volunteer.volunteers.models import VolunteerProfile, VolunteerSkill, WorkUnit


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 200)).save(buf, "PNG")
    return buf.getvalue()


def _pdf() -> bytes:
    w = PdfWriter()
    w.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


PNG, PDF = _png(), _pdf()  # certificates must decode (a photo) or parse (a PDF)


@pytest.fixture
def grid(factory):
    return factory.grid(factory.village(code="XJ", name="新江村"), code="XJ-01", lat=30.76,
                        lon=121.35)


def form_data(**over):
    data = {"name": "童医生", "phone": "13912345678", "password": "abc12345",
            "confirm": "abc12345", "village": "XJ", "grid": "XJ-01", "lat": "", "lon": "",
            "skills": ["doctor"], "free_skills": "", "availability": ["weekday_evening",
                                                                     "weekend_morning"],
            "travel_km": "5", "monthly_limit": "4", "bio": "", "consent": "y",
            "work_unit": "金山区人民医院", "party_branch": "第一党支部",
            "party_registered_on": "2026-10-01"}
    data.update(over)
    return data


def profiles() -> int:
    return db.session.scalar(db.select(db.func.count(VolunteerProfile.id)))


def test_home_page_links_both_paths(client):
    body = client.get("/").get_data(as_text=True)
    assert "/volunteers/register/party" in body and "/volunteers/register/skilled" in body


def test_party_member_registers_with_pin_and_certificate(client, grid):
    data = form_data(lat="30.7601", lon="121.3502", grid="", village="")
    data["cert_doctor"] = (io.BytesIO(PNG), "cert.png")
    data["certno_doctor"] = "110310000123"
    resp = client.post("/volunteers/register/party", data=data,
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    user = db.session.scalar(db.select(User).where(User.phone == "13912345678"))
    p = user.profile
    assert p.home_grid.code == "XJ-01"  # found from the pin
    assert (p.lat, p.lon, p.location_source) == (30.7601, 121.3502, "pin")
    assert p.is_party_member and p.party_status == "pending"
    assert p.work_unit.name == "金山区人民医院" and not p.work_unit.approved  # new: for review
    assert p.availability == 4 | 8
    vs = p.skills[0]
    assert vs.skill.code == "doctor" and vs.status == "unverified"
    # A photo is kept re-encoded as JPEG, without its metadata.
    assert vs.certificate_mime == "image/jpeg" and vs.certificate_no == "110310000123"
    assert user.consent_version and user.consent_method == "online"
    assert user.has_role("volunteer")
    # The owner sees the certificate; the page shows "unverified".
    page = client.get("/volunteers/me").get_data(as_text=True)
    assert "certificate" in page or "证书" in page
    assert client.get(f"/volunteers/certificate/{vs.id}").data[:3] == b"\xff\xd8\xff"


def test_skilled_resident_with_grid_centroid_and_free_text(client, grid):
    resp = client.post("/volunteers/register/skilled", data=form_data(
        skills=["electrician"], free_skills="会修自行车、书法"))
    assert resp.status_code == 302
    p = db.session.scalar(db.select(VolunteerProfile))
    assert (p.lat, p.lon, p.location_source) == (grid.lat, grid.lon, "grid")
    assert not p.is_party_member and p.work_unit is None
    assert sorted(vs.label() for vs in p.skills) == sorted(["电工", "会修自行车", "书法"])


def test_logged_in_resident_registers_on_own_account(client, auth, grid):
    user = auth.login()
    data = form_data()
    for key in ("name", "phone", "password", "confirm"):
        data.pop(key)
    resp = client.post("/volunteers/register/skilled", data=data)
    assert resp.status_code == 302
    assert db.session.get(User, user.id).profile is not None
    # A second registration goes to the edit page.
    assert client.get("/volunteers/register/party").status_code == 302


@pytest.mark.parametrize("over", [
    {"name": ""}, {"name": "   "}, {"name": "x" * 10000}, {"name": "<script>alert(1)</script>"},
    {"phone": "12345"}, {"phone": ""}, {"password": "short"}, {"consent": ""},
    {"skills": [], "free_skills": ""}, {"skills": ["no_such_skill"]},
    {"free_skills": "<b>x</b>"}, {"free_skills": "x" * 10000},
    {"grid": "", "village": "", "lat": "", "lon": ""}, {"grid": "NOPE"},
    {"lat": "95", "lon": "121"}, {"lat": "abc", "lon": "1"},
    {"travel_km": "0"}, {"travel_km": "1000"}, {"travel_km": "abc"},
    {"monthly_limit": "0"}, {"monthly_limit": "999"},
    {"bio": "x" * 10000}, {"bio": "<script>x</script>"},
    {"work_unit": ""}, {"work_unit": "<script>x</script>"}, {"party_branch": ""},
    {"party_registered_on": "not a date"}, {"availability": ["sometime"]},
])
def test_party_registration_bad_input_changes_nothing(client, grid, over):
    resp = client.post("/volunteers/register/party", data=form_data(**over))
    assert resp.status_code == 200
    assert "invalid-feedback" in resp.get_data(as_text=True)
    assert profiles() == 0
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0
    assert db.session.scalar(db.select(db.func.count(WorkUnit.id))) == 0


def test_duplicate_phone_at_registration(client, factory, grid):
    factory.user(phone="13912345678")
    resp = client.post("/volunteers/register/skilled", data=form_data())
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)
    assert profiles() == 0


@pytest.mark.parametrize("content,name", [
    (b"MZ\x90\x00" + b"\x00" * 100, "evil.pdf"),  # an .exe renamed .pdf
    (b"<html>not an image</html>", "photo.png"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024), "huge.png"),  # over 5 MB
])
def test_certificate_type_and_size_checked_by_content(client, grid, content, name):
    data = form_data()
    data["cert_doctor"] = (io.BytesIO(content), name)
    resp = client.post("/volunteers/register/party", data=data,
                       content_type="multipart/form-data")
    assert resp.status_code == 200
    assert "invalid-feedback" in resp.get_data(as_text=True)
    assert profiles() == 0


def test_fifty_megabyte_upload_is_refused_clearly(client, grid):
    data = form_data()
    data["cert_doctor"] = (io.BytesIO(b"%PDF-" + b"0" * (50 * 1024 * 1024)), "big.pdf")
    resp = client.post("/volunteers/register/party", data=data,
                       content_type="multipart/form-data")
    assert resp.status_code == 413
    assert "413" in resp.get_data(as_text=True)
    assert profiles() == 0


def test_edit_pause_and_resume(client, grid):
    client.post("/volunteers/register/skilled", data=form_data(skills=["doctor", "nurse"]))
    p = db.session.scalar(db.select(VolunteerProfile))
    doctor = next(vs for vs in p.skills if vs.skill.code == "doctor")
    doctor.status = "verified"
    db.session.commit()
    page = client.get("/volunteers/me/edit").get_data(as_text=True)
    assert 'value="doctor" id="skill-doctor" checked' in page
    data = form_data(skills=["doctor", "teacher"], travel_km="8", monthly_limit="2",
                     availability=["weekend_evening"])
    resp = client.post("/volunteers/me/edit", data=data)
    assert resp.status_code == 302
    db.session.expire_all()
    p = db.session.scalar(db.select(VolunteerProfile))
    assert sorted(vs.skill.code for vs in p.skills) == ["doctor", "teacher"]
    assert next(vs for vs in p.skills if vs.skill.code == "doctor").status == "verified"
    assert (p.travel_km, p.monthly_limit, p.availability) == (8, 2, 32)
    client.post("/volunteers/me/pause")
    assert db.session.scalar(db.select(VolunteerProfile.paused)) is True
    client.post("/volunteers/me/pause")
    assert db.session.scalar(db.select(VolunteerProfile.paused)) is False


def test_edit_to_party_member_needs_party_fields(client, grid):
    client.post("/volunteers/register/skilled", data=form_data())
    resp = client.post("/volunteers/me/edit", data=form_data(is_party_member="y", work_unit=""))
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)
    resp = client.post("/volunteers/me/edit", data=form_data(is_party_member="y"))
    assert resp.status_code == 302
    assert db.session.scalar(db.select(VolunteerProfile.party_status)) == "pending"


def test_download_my_data(client, grid):
    client.post("/volunteers/register/party", data=form_data())
    resp = client.get("/auth/my-data.json")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    data = json.loads(resp.data)
    assert data["account"]["phone"] == "13912345678"
    assert data["account"]["consent"]["version"]
    assert data["volunteer_profile"]["work_unit"] == "金山区人民医院"
    assert data["volunteer_profile"]["skills"][0]["skill"] == "doctor"


def test_delete_account_keeps_an_anonymous_stand_in(client, grid, factory):
    data = form_data()
    data["cert_doctor"] = (io.BytesIO(PDF), "c.pdf")
    client.post("/volunteers/register/party", data=data, content_type="multipart/form-data")
    user = db.session.scalar(db.select(User).where(User.phone == "13912345678"))
    # Someone else's record points at this user (e.g. they verified a skill).
    other = factory.user("grid_leader", grid)
    client.post("/auth/logout")
    client.post("/auth/login", data={"login": "13912345678", "password": "abc12345"})
    assert client.post("/auth/delete", data={"password": "wrong"}).status_code == 200
    assert db.session.get(User, user.id).phone == "13912345678"
    resp = client.post("/auth/delete", data={"password": "abc12345"})
    assert resp.status_code == 302
    db.session.expire_all()
    gone = db.session.get(User, user.id)
    assert gone.phone is None and gone.name != "童医生" and gone.deleted_at is not None
    assert gone.password_hash is None and not gone.active and gone.roles == []
    assert profiles() == 0 and db.session.scalar(db.select(db.func.count(VolunteerSkill.id))) == 0
    assert db.session.get(User, other.id) is not None
    # The phone can register again.
    assert client.post("/auth/login", data={"login": "13912345678",
                                            "password": "abc12345"}).status_code == 200


def test_lookups(client, grid):
    assert client.get("/volunteers/lookup/grid?lat=30.7601&lon=121.3501").json["grid"] == "XJ-01"
    assert client.get("/volunteers/lookup/grid?lat=40&lon=116").status_code == 404
    assert client.get("/volunteers/lookup/grid?lat=abc&lon=1").status_code == 400
    assert client.get("/volunteers/lookup/grid").status_code == 400
    codes = [s["code"] for s in client.get("/volunteers/lookup/skills?q=大夫").json]
    assert "doctor" in codes
    codes = [s["code"] for s in client.get("/volunteers/lookup/skills?q=水电工").json]
    assert {"electrician", "plumber"} <= set(codes)
    codes = [s["code"] for s in client.get("/volunteers/lookup/skills?q=lawyer").json]
    assert "lawyer" in codes
    assert client.get("/volunteers/lookup/skills?q=" + "x" * 10000).status_code == 200
    db.session.add(WorkUnit(name="金山区税务局", approved=True))
    db.session.add(WorkUnit(name="金山区秘密单位", approved=False))
    db.session.commit()
    assert client.get("/volunteers/lookup/work-units?q=金山").json == ["金山区税务局"]


def test_register_works_on_an_empty_town_with_a_pin(client):
    """After `setup` there are no grids: a pin alone places the volunteer."""
    resp = client.post("/volunteers/register/skilled", data=form_data(
        grid="", village="", lat="30.75", lon="121.35"))
    assert resp.status_code == 302
    p = db.session.scalar(db.select(VolunteerProfile))
    assert p.home_grid is None and p.lat == 30.75


def test_taxonomy_skills_are_offered_in_both_languages(client, grid):
    zh = client.get("/volunteers/register/skilled").get_data(as_text=True)
    assert "医生" in zh and "人民调解员" in zh
    client.post("/lang/en")
    en = client.get("/volunteers/register/skilled").get_data(as_text=True)
    doctor = db.session.scalar(db.select(Skill).where(Skill.code == "doctor"))
    assert doctor.name_en in en
