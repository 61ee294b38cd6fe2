"""Trust in the registry (issue 13): imports update only people of the importer's scope; phones
are masked in lists and revealed on purpose (logged, limited); homes never leave the server."""
import csv
import io
import re

import pytest

from volunteer import policy
from volunteer.auth.models import User
from volunteer.auth.services import create_token, grant_role
from volunteer.common import mask_phone
from volunteer.extensions import db
from volunteer.invitations.services import Pick, invite, respond
from volunteer.issues.services import IssueInput, file_issue
from volunteer.volunteers.models import ContactView, VolunteerProfile

PHONE = re.compile(r"1[3-9]\d{9}")
HEADER = ["name", "phone", "skills", "lat", "lon", "grid"]


@pytest.fixture
def town(factory):
    """Two 村居 side by side: a leader and volunteers in A, volunteers in B, the town admin."""
    a, b = factory.village(code="VA", name="甲村"), factory.village(code="VB", name="乙村")
    ga = factory.grid(a, code="VA-01", lat=30.757, lon=121.353)
    gb = factory.grid(b, code="VB-01", lat=30.762, lon=121.358)
    return {
        "a": a, "b": b, "ga": ga, "gb": gb,
        "leader": factory.user("grid_leader", ga, name="网格长"),
        "member": factory.user("grid_member", ga, name="网格员"),
        "village_admin": factory.user("village_admin", a, name="总网格长"),
        "admin": factory.user("admin", name="网格办"),
        "near": factory.volunteer("童电工", ["electrician"], lat=30.757456, lon=121.353789,
                                  grid=ga),
        "far": factory.volunteer("李电工", ["electrician"], lat=30.758123, lon=121.354321,
                                 grid=gb),
    }


def bearer(user):
    token = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def lamp(town):
    issue = file_issue(town["member"], IssueInput(
        title="绿地路灯不亮", description="小区绿地的路灯晚上全部不亮，需要电工排查",
        category="facilities", lat=30.757, lon=121.353))
    db.session.commit()
    return issue


def views(**where):
    q = db.select(db.func.count(ContactView.id))
    for k, v in where.items():
        q = q.where(getattr(ContactView, k) == v)
    return db.session.scalar(q)


# --- 1. imports update only people of the importer's scope ----------------------------------------

def csv_file(rows):
    buf = io.StringIO()
    csv.writer(buf).writerows([HEADER, *rows])
    return buf.getvalue().encode()


def upload(client, data):
    return client.post("/volunteers/import", data={"file": (io.BytesIO(data), "v.csv"),
                                                   "attest": "y"},
                       content_type="multipart/form-data")


def test_village_admin_import_cannot_take_over_the_town_admin(client, auth, town):
    admin = town["admin"]
    grant_role(admin, "volunteer")  # the town admin also volunteers in the 村居
    db.session.add(VolunteerProfile(user=admin, home_grid=town["ga"], lat=30.757, lon=121.353))
    db.session.commit()
    auth.login(user=town["village_admin"])
    rows = [["新人", "13800000001", "电工", "", "", "VA-01"],
            ["冒名", admin.phone, "电工", "", "", "VA-01"],
            ["改名", town["far"].phone, "电工", "", "", "VA-01"],  # a volunteer of another 村居
            ["改名", town["leader"].phone, "电工", "", "", "VA-01"]]  # a leader: rank 30 < 40
    body = upload(client, csv_file(rows)).get_data(as_text=True)
    assert 'data-testid="import-errors"' in body and 'name="token"' not in body
    assert "<td>3</td>" in body and "<td>4</td>" in body and "<td>5</td>" not in body
    db.session.expire_all()
    assert db.session.get(User, admin.id).name == "网格办"
    assert db.session.get(User, town["far"].id).profile.home_grid_id == town["gb"].id
    assert db.session.scalar(db.select(User).where(User.phone == "13800000001")) is None


def test_village_admin_import_updates_people_of_the_village(client, auth, town):
    auth.login(user=town["village_admin"])
    rows = [["童大电工", town["near"].phone, "电工", "", "", "VA-01"],
            ["网格长", town["leader"].phone, "电工", "", "", "VA-01"]]
    body = upload(client, csv_file(rows)).get_data(as_text=True)
    token = body.split('name="token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/volunteers/import/confirm", data={"token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, town["near"].id).name == "童大电工"
    assert db.session.get(User, town["leader"].id).profile.home_grid_id == town["ga"].id


def run(runner, tmp_path, rows, *args):
    path = tmp_path / "v.csv"
    path.write_bytes(csv_file(rows))
    return runner.invoke(args=["import-volunteers", str(path), *args])


def test_scoped_cli_import_updates_only_its_village(runner, tmp_path, town):
    rows = [["甲", "13800000001", "电工", "", "", "VA-01"],
            ["乙", town["far"].phone, "电工", "", "", "VA-01"],
            ["丙", town["admin"].phone, "电工", "", "", "VA-01"],
            ["丁", town["village_admin"].phone, "电工", "", "", "VA-01"]]
    result = run(runner, tmp_path, rows, "--scope", "VA")
    assert result.exit_code != 0
    for line in (3, 4, 5):
        assert f"line {line}: phone:" in result.output
    assert "line 2:" not in result.output
    db.session.expire_all()
    assert db.session.get(User, town["far"].id).name == "李电工"
    assert db.session.scalar(db.select(User).where(User.phone == "13800000001")) is None
    assert run(runner, tmp_path, rows[:1], "--scope", "NOPE").exit_code != 0
    ok = run(runner, tmp_path, [["童大电工", town["near"].phone, "电工", "", "", "VA-01"]],
             "--scope", "VA")
    assert ok.exit_code == 0, ok.output


def test_town_wide_cli_import_never_changes_the_town_admin(runner, tmp_path, town):
    result = run(runner, tmp_path, [["甲", town["far"].phone, "电工", "", "", "VA-01"],
                                    ["乙", town["admin"].phone, "电工", "", "", "VA-01"]])
    assert result.exit_code != 0 and "line 3: phone:" in result.output
    assert "line 2:" not in result.output
    result = run(runner, tmp_path, [["李大电工", town["far"].phone, "电工", "", "", "VA-01"]])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(User, town["far"].id).profile.home_grid_id == town["ga"].id


@pytest.mark.parametrize("row,field", [
    (["=HYPERLINK(1)", "13800000001", "电工", "", "", "VA-01"], "name"),
    (["张三", "13800000001", "电工、会修\u202e机", "", "", "VA-01"], "skills"),
])
def test_import_judges_names_and_free_text_by_the_input_rules(runner, tmp_path, town, row, field):
    result = run(runner, tmp_path, [row])
    assert result.exit_code != 0 and f"line 2: {field}:" in result.output


# --- 3. phones: masked in lists, revealed on purpose ---------------------------------------------

def test_no_full_phone_in_a_leaders_match_or_suggestions(client, auth, town, following_matcher):
    leader = town["leader"]
    before = views()
    resp = client.post("/api/v1/match", headers=bearer(leader),
                       json={"text": "路灯全部不亮", "lat": 30.757, "lon": 121.353})
    assert resp.status_code == 200 and len(resp.json["suggestions"]) == 2
    assert not PHONE.search(resp.get_data(as_text=True))
    issue = lamp(town)
    resp = client.get(f"/api/v1/issues/{issue.id}/suggestions", headers=bearer(leader))
    assert len(resp.json["suggestions"]) == 2 and not PHONE.search(resp.get_data(as_text=True))
    auth.login(user=leader)
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    section = page.split('data-testid="suggestions"')[1].split("</section>")[0]
    assert mask_phone(town["near"].phone) in section and not PHONE.search(section)
    assert views() == before


def test_reveal_from_the_suggestions_is_logged_with_its_reason(client, auth, town,
                                                               following_matcher):
    issue = lamp(town)
    auth.login(user=town["leader"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    # Only the volunteer of the leader's 村居 can be revealed.
    assert f'/volunteers/{town["near"].id}/contact' in page
    assert f'/volunteers/{town["far"].id}/contact' not in page
    resp = client.post(f'/volunteers/{town["near"].id}/contact',
                       data={"reason": "invite", "next": f"/issues/{issue.id}#suggestions"})
    body = resp.get_data(as_text=True)
    assert town["near"].phone in body and f'href="/issues/{issue.id}#suggestions"' in body
    row = db.session.scalar(db.select(ContactView))
    assert (row.viewer_id, row.subject_id, row.context, row.note) == \
        (town["leader"].id, town["near"].id, "reveal", "invite")
    assert client.post(f'/volunteers/{town["far"].id}/contact',
                       data={"reason": "invite"}).status_code == 403
    resp = client.post(f'/volunteers/{town["near"].id}/contact', data={"reason": "nonsense"})
    assert resp.status_code == 302 and views() == 1
    resp = client.post(f'/volunteers/{town["near"].id}/contact',
                       data={"reason": "task", "next": "https://evil.example/"})
    assert 'href="https://evil.example/"' not in resp.get_data(as_text=True)


def test_reveals_are_limited_per_day(client, auth, town, monkeypatch):
    monkeypatch.setattr(policy, "REVEALS_PER_DAY", 2)
    auth.login(user=town["leader"])
    url = f'/volunteers/{town["near"].id}/contact'
    for _ in range(2):
        assert town["near"].phone in client.post(url, data={"reason": "task"}).get_data(
            as_text=True)
    resp = client.post(url, data={"reason": "task"})
    assert resp.status_code == 302 and views(context="reveal") == 2
    assert town["near"].phone not in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_reveal_in_the_api(client, town, factory, monkeypatch):
    url = f'/api/v1/volunteers/{town["near"].id}/contact'
    lh = bearer(town["leader"])
    resp = client.post(url, headers=lh, json={"reason": "邀请协助排查路灯"})
    assert resp.status_code == 200, resp.json
    assert resp.json["phone"] == town["near"].phone
    assert resp.json["reveals_left_today"] == policy.REVEALS_PER_DAY - 1
    row = db.session.scalar(db.select(ContactView))
    assert (row.context, row.note) == ("reveal", "邀请协助排查路灯")
    assert client.post(url, headers=lh, json={}).status_code == 422
    assert client.post(url, headers=lh, json={"reason": "<b>x</b>"}).status_code == 422
    far = f'/api/v1/volunteers/{town["far"].id}/contact'
    assert client.post(far, headers=lh, json={"reason": "x"}).status_code == 404
    resident = bearer(factory.user("resident"))
    assert client.post(url, headers=resident, json={"reason": "x"}).status_code == 404
    assert client.post("/api/v1/volunteers/999999/contact", headers=lh,
                       json={"reason": "x"}).status_code == 404
    monkeypatch.setattr(policy, "REVEALS_PER_DAY", 1)
    assert client.post(url, headers=lh, json={"reason": "again"}).status_code == 429
    assert views() == 1
    spec = client.get("/api/v1/openapi.json").json
    assert "post" in spec["paths"]["/volunteers/{user_id}/contact"]


def test_search_finds_a_phone_only_by_all_its_digits(client, auth, town):
    auth.login(user=town["leader"])
    phone = town["near"].phone
    assert "童电工" not in client.get(f"/volunteers/?q={phone[:7]}").get_data(as_text=True)
    assert "童电工" not in client.get(f"/volunteers/?q={phone[-4:]}").get_data(as_text=True)
    assert "童电工" in client.get(f"/volunteers/?q={phone}").get_data(as_text=True)
    assert "童电工" in client.get("/volunteers/?q=童电").get_data(as_text=True)


def test_staff_page_masks_the_phone(client, auth, town):
    auth.login(user=town["leader"])
    page = client.get(f'/volunteers/{town["near"].id}').get_data(as_text=True)
    assert town["near"].phone not in page and mask_phone(town["near"].phone) in page
    assert 'data-testid="reveal"' in page and views() == 0


def test_an_accepted_helpers_phone_is_shown_to_the_organiser_and_logged_once(client, auth, town,
                                                                          following_matcher):
    issue = lamp(town)
    (inv,) = invite(town["leader"], issue, [Pick(town["far"].id)])
    db.session.commit()
    auth.login(user=town["leader"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert town["far"].phone not in page  # invited, not yet accepted
    respond(town["far"], inv, True)
    db.session.commit()
    for _ in range(2):
        page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
        assert f'data-testid="helper-phone">{town["far"].phone}' in page
    assert views(context="helper", subject_id=town["far"].id) == 1


# --- 4. homes never leave the server ----------------------------------------------------------

def test_suggestion_maps_never_show_a_home(client, auth, town, following_matcher):
    issue = lamp(town)
    auth.login(user=town["leader"])
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    for home in ("30.757456", "121.353789", "30.758123", "121.354321"):
        assert home not in page
    section = page.split('data-testid="suggestions"')[1]
    points = section.split('data-points="')[1].split('"')[0]
    assert "30.762" in points and "121.358" in points  # the other 村居's volunteer: grid centre
    assert "李**" in page and "李电工" not in page  # …and their name masked
    assert "童电工" in page  # one of the leader's own 村居


def test_distances_are_rounded(client, town, following_matcher):
    resp = client.post("/api/v1/match", headers=bearer(town["leader"]),
                       json={"text": "路灯全部不亮", "lat": 30.757, "lon": 121.353})
    by_id = {s["volunteer"]["id"]: s for s in resp.json["suggestions"]}
    near, far = by_id[town["near"].id], by_id[town["far"].id]
    assert near["distance_m"] % 10 == 0 and near["distance_m"] >= 10
    assert far["distance_m"] % 100 == 0 and far["distance_m"] >= 100
    assert far["volunteer"]["name"] == "李**" and near["volunteer"]["name"] == "童电工"
    # The reasons carry the same rounded distance.
    assert any(str(far["distance_m"]) in r for r in far["reasons"])


def test_phone_searches_are_limited_per_account(make_app):
    """Searching by whole phone numbers is limited, so that the 10⁴ numbers behind a masked one
    cannot be tried; searching by name is not."""
    from volunteer.setup import load_reference_data

    from .conftest import PASSWORD, Factory

    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        load_reference_data()
        db.session.commit()
        f = Factory()
        keeper = f.user("grid_leader", f.grid())
        web = app.test_client()
        web.post("/auth/login", data={"login": keeper.phone, "password": PASSWORD})
        codes = [web.get(f"/volunteers/?q=1380000{n:04d}").status_code for n in range(31)]
        assert codes[:30] == [200] * 30 and codes[30] == 429
        assert web.get("/volunteers/?q=张").status_code == 200
        db.session.remove()
