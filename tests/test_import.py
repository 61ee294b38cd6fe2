"""Import contract of DESIGN §6: encodings, headers, all-or-nothing, re-import, web upload."""
import csv
import io

import pytest
from openpyxl import Workbook

from volunteer.auth.models import OneTimeCode, User
from volunteer.extensions import db
from volunteer.volunteers.models import VolunteerProfile, VolunteerSkill

HEADER_ZH = ["姓名", "手机", "技能", "纬度", "经度", "网格", "党员", "工作单位", "服务时间", "服务半径"]
HEADER_EN = ["name", "phone", "skills", "lat", "lon", "grid", "party_member", "work_unit",
             "availability", "travel_km"]
ROWS = [
    ["童建国", "13900001111", "医生;大夫", "30.757", "121.353", "", "是", "金山区人民医院",
     "工作日晚上;周末上午", "5"],
    ["李芳", "13900002222", "水电工、会修收音机", "30.760", "121.350", "", "否", "", "周末", "3"],
    ["阿卜杜热合曼·买买提", "13900003333", "退休教师，lawyer", "30.70", "121.30", "", "no", "",
     "weekday evening", ""],
]


def csv_bytes(rows, header=HEADER_ZH, encoding="utf-8", bom=False, sep=","):
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep).writerows([header, *rows])
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows, header=HEADER_ZH):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append([int(c) if c.isdigit() and len(c) == 11 else c for c in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run(runner, tmp_path, data, name="v.csv", *args):
    path = tmp_path / name
    path.write_bytes(data)
    return runner.invoke(args=["import-volunteers", str(path), *args])


def count(model):
    return db.session.scalar(db.select(db.func.count(model.id)))


@pytest.mark.parametrize("data,name", [
    (csv_bytes(ROWS, bom=True), "utf8-bom.csv"),
    (csv_bytes(ROWS), "utf8.csv"),
    (csv_bytes(ROWS, encoding="gb18030"), "gbk.csv"),
    (csv_bytes(ROWS, header=HEADER_EN, encoding="utf-16"), "utf16.csv"),
    (csv_bytes(ROWS, header=HEADER_EN, sep=";"), "semicolon.csv"),
    (xlsx_bytes(ROWS), "v.xlsx"),
    (xlsx_bytes(ROWS, header=HEADER_EN), "en.xlsx"),
], ids=lambda v: v if isinstance(v, str) else "")  # xlsx bytes hold a timestamp: name by file
def test_import_on_an_empty_town(runner, tmp_path, data, name):
    """After `setup` only (no grids): every format imports, then re-imports as updates."""
    result = run(runner, tmp_path, data, name)
    assert result.exit_code == 0, result.output
    assert "3 new" in result.output
    users = {u.phone: u for u in db.session.scalars(db.select(User))}
    assert set(users) == {"13900001111", "13900002222", "13900003333"}
    tong = users["13900001111"].profile
    assert tong.is_party_member and tong.work_unit.name == "金山区人民医院"
    assert tong.availability == 4 | 8 and tong.home_grid is None
    assert [vs.skill.code for vs in tong.skills] == ["doctor"]
    li = users["13900002222"].profile
    assert sorted(vs.label() for vs in li.skills) == ["会修收音机", "水管工", "电工"]
    assert li.availability == 8 | 16 | 32 and li.travel_km == 3
    third = users["13900003333"].profile
    assert {vs.skill.code for vs in third.skills} == {"teacher", "lawyer"}
    assert users["13900003333"].consent_method == "attested_cli"
    assert users["13900003333"].password_hash is None
    again = run(runner, tmp_path, data, name)
    assert again.exit_code == 0 and "3 updated" in again.output
    assert count(User) == 3 and count(VolunteerProfile) == 3


def test_reimport_updates_and_replaces_skills_keeping_verification(runner, tmp_path):
    run(runner, tmp_path, csv_bytes(ROWS))
    doctor = db.session.scalar(db.select(VolunteerSkill).join(VolunteerProfile)
                               .join(User, VolunteerProfile.user_id == User.id)
                               .where(User.phone == "13900001111"))
    doctor.status = "verified"
    db.session.commit()
    changed = [["童建国", "13900001111", "医生、护士", "30.757", "121.353", "", "是",
                "金山区人民医院", "", ""],
               ["李芳芳", "13900002222", "保洁", "30.760", "121.350", "", "否", "", "", ""]]
    result = run(runner, tmp_path, csv_bytes(changed))
    assert result.exit_code == 0 and "2 updated" in result.output
    db.session.expire_all()
    tong = db.session.scalar(db.select(User).where(User.phone == "13900001111")).profile
    status = {vs.skill.code: vs.status for vs in tong.skills}
    assert status == {"doctor": "verified", "nurse": "unverified"}
    li = db.session.scalar(db.select(User).where(User.phone == "13900002222"))
    assert li.name == "李芳芳" and [vs.skill.code for vs in li.profile.skills] == ["cleaning"]


def test_grid_column_and_nearest_grid(runner, tmp_path, factory):
    near = factory.grid(code="SY01-01", lat=30.757, lon=121.353)
    far = factory.grid(code="SY01-02", lat=30.80, lon=121.40)
    rows = [["甲", "13900001111", "电工", "30.7571", "121.3531", "", "", "", "", ""],
            ["乙", "13900002222", "电工", "", "", "SY01-02", "", "", "", ""],
            ["丙", "13900003333", "电工", "31.5", "122.0", "", "", "", "", ""]]
    result = run(runner, tmp_path, csv_bytes(rows))
    assert result.exit_code == 0, result.output
    by_phone = {p.user.phone: p for p in db.session.scalars(db.select(VolunteerProfile))}
    assert by_phone["13900001111"].home_grid_id == near.id
    assert by_phone["13900002222"].home_grid_id == far.id
    assert (by_phone["13900002222"].lat, by_phone["13900002222"].location_source) == \
        (far.lat, "grid")
    assert by_phone["13900003333"].home_grid_id is None  # nothing within 3 km


BAD = [
    (["张三", "12345678901", "电工", "30.7", "121.3", "", "", "", "", ""], "phone"),
    (["   ", "13900009999", "电工", "30.7", "121.3", "", "", "", "", ""], "name"),
    (["张三", "13900009999", "", "30.7", "121.3", "", "", "", "", ""], "skills"),
    (["x" * 10000, "13900009999", "电工", "30.7", "121.3", "", "", "", "", ""], "name"),
    (["<script>x</script>", "13900009999", "电工", "30.7", "121.3", "", "", "", "", ""], "name"),
    (["张三", "13900009999", "<b>电工</b>", "30.7", "121.3", "", "", "", "", ""], "skills"),
    (["张三", "13900009999", "电工", "95", "121.3", "", "", "", "", ""], "lat"),
    (["张三", "13900009999", "电工", "30.7", "181", "", "", "", "", ""], "lat"),
    (["张三", "13900009999", "电工", "abc", "121.3", "", "", "", "", ""], "lat"),
    (["张三", "13900009999", "电工", "", "", "", "", "", "", ""], "lat"),
    (["张三", "13900009999", "电工", "", "", "NO-SUCH", "", "", "", ""], "grid"),
    (["张三", "13900009999", "电工", "30.7", "121.3", "", "也许", "", "", ""], "party_member"),
    (["张三", "13900009999", "电工", "30.7", "121.3", "", "", "", "半夜三更", ""], "availability"),
    (["张三", "13900009999", "电工", "30.7", "121.3", "", "", "", "", "-3"], "travel_km"),
    (["李芳", "13900002222", "电工", "30.7", "121.3", "", "", "", "", ""], "phone"),  # twice
]


@pytest.mark.parametrize("bad,field", BAD)
def test_one_bad_row_refuses_the_whole_file(runner, tmp_path, bad, field):
    result = run(runner, tmp_path, csv_bytes(ROWS + [bad]))
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert f"line 5: {field}:" in result.output
    assert count(User) == 0 and count(VolunteerProfile) == 0


def test_every_bad_row_is_reported(runner, tmp_path):
    rows = ROWS + [b for b, _f in BAD[:4]]
    result = run(runner, tmp_path, csv_bytes(rows))
    assert result.exit_code != 0
    for line in (5, 6, 7, 8):
        assert f"line {line}:" in result.output


@pytest.mark.parametrize("data,name,message", [
    (b"", "empty.csv", "空"),
    ("姓名,手机,技能,纬度,经度\r\n".encode(), "header-only.csv", "line 1"),
    ("姓名,手机,技能\r\n张三,13900001111,电工\r\n".encode(), "no-place.csv", "纬度/lat"),
    ("姓名,技能,纬度,经度\r\n张三,电工,30,121\r\n".encode(), "no-phone.csv", "手机"),
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" * 50, "virus.csv", "GB18030"),
    (bytes(range(128, 256)) * 20, "latin1.csv", "GB18030"),
    (b"PK\x03\x04garbage", "broken.xlsx", "XLSX"),
    (b"name,phone\n", "v.pdf", ".csv"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_bad_files(runner, tmp_path, data, name, message):
    result = run(runner, tmp_path, data, name)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert message in result.output
    assert count(User) == 0


def test_dry_run_writes_nothing(runner, tmp_path):
    result = run(runner, tmp_path, csv_bytes(ROWS), "v.csv", "--dry-run")
    assert result.exit_code == 0 and "3 rows are valid" in result.output
    assert count(User) == 0


def test_missing_file(runner):
    result = runner.invoke(args=["import-volunteers", "/no/such/file.csv"])
    assert result.exit_code != 0 and "Traceback" not in result.output


# --- the web upload -------------------------------------------------------------------------

def upload(client, data, name="v.csv", attest="y"):
    return client.post("/volunteers/import", data={"file": (io.BytesIO(data), name),
                                                   "attest": attest},
                       content_type="multipart/form-data")


def test_web_import_preview_then_confirm(client, auth, factory, app):
    grid = factory.grid(code="SY01-01", lat=30.757, lon=121.353)
    admin = auth.login("village_admin", grid.village)
    resp = upload(client, csv_bytes(ROWS[:2], encoding="gb18030"))
    body = resp.get_data(as_text=True)
    assert 'data-testid="import-preview"' in body and "童建国" in body
    assert count(User) == 1  # only the admin: nothing written yet
    token = body.split('name="token" type="hidden" value="')[1].split('"')[0]
    resp = client.post("/volunteers/import/confirm", data={"token": token})
    assert resp.status_code == 302
    tong = db.session.scalar(db.select(User).where(User.phone == "13900001111"))
    assert tong.consent_method == "attested" and tong.consent_attested_by_id == admin.id
    assert tong.profile.home_grid_id == grid.id
    # The same token cannot be used twice.
    assert client.post("/volunteers/import/confirm", data={"token": token}).status_code == 302
    assert count(User) == 3


def test_web_import_needs_attestation_and_reports_lines(client, auth, factory):
    grid = factory.grid(code="SY01-01", lat=30.757, lon=121.353)
    auth.login("village_admin", grid.village)
    resp = upload(client, csv_bytes(ROWS[:2]), attest="")
    assert "invalid-feedback" in resp.get_data(as_text=True)
    resp = upload(client, csv_bytes(ROWS[:2] + [BAD[0][0]]))
    body = resp.get_data(as_text=True)
    assert 'data-testid="import-errors"' in body and "<td>4</td>" in body
    resp = upload(client, b"", "empty.csv")
    assert "invalid-feedback" in resp.get_data(as_text=True)
    assert count(User) == 1


def test_village_admin_imports_only_into_their_village(client, auth, factory):
    mine = factory.grid(code="A-01", lat=30.757, lon=121.353)
    other = factory.grid(code="B-01", lat=30.9, lon=121.5)
    auth.login("village_admin", mine.village)
    rows = [["甲", "13900001111", "电工", "", "", "B-01", "", "", "", ""]]
    body = upload(client, csv_bytes(rows)).get_data(as_text=True)
    assert 'data-testid="import-errors"' in body
    assert other.id and count(VolunteerProfile) == 0


def test_grid_leader_cannot_import(client, auth):
    auth.login("grid_leader")
    assert client.get("/volunteers/import").status_code == 403


def test_imported_person_activates_with_a_code_and_confirms_consent(runner, tmp_path, client,
                                                                    auth, factory):
    grid = factory.grid(code="SY01-01", lat=30.757, lon=121.353)
    run(runner, tmp_path, csv_bytes(ROWS[:1]))
    person = db.session.scalar(db.select(User).where(User.phone == "13900001111"))
    auth.login("grid_leader", grid)
    body = client.post(f"/org/people/{person.id}/code").get_data(as_text=True)
    code = body.split('data-testid="one-time-code">')[1].split("<")[0]
    assert db.session.scalar(db.select(OneTimeCode.purpose)) == "reset"
    auth.logout()
    resp = client.post("/auth/reset", data={"phone": "13900001111", "code": code,
                                            "password": "mine1234", "confirm": "mine1234"})
    assert resp.status_code == 302
    client.post("/auth/login", data={"login": "13900001111", "password": "mine1234"})
    resp = client.get("/volunteers/me")
    assert resp.status_code == 302 and "/auth/consent" in resp.headers["Location"]
    assert client.post("/auth/consent", data={}).status_code == 200
    client.post("/auth/consent", data={"consent": "y"})
    assert client.get("/volunteers/me").status_code == 200
