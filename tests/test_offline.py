"""Offline patrol reports: the phone outbox's endpoint files each report id once (a repeat
answers the same issue, another account's id is refused), refuses bad input with a message and
writes nothing, needs the CSRF token and a login, keeps the time the phone made the report, and
survives two identical requests at once; the app's manifest and service worker."""
import io
import json
import re
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import pytest
from PIL import Image

from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.issues.models import Issue, IssueEvent, IssuePhoto, IssueStatus
from volunteer.offline import routes as offline_routes

from .conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("english")
URL = "/issues/outbox"


def jpeg(colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    return buf.getvalue()


def iso(dt: datetime) -> str:
    return dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def report(uuid=None, made_at=None, photos=(("a.jpg", None),), **extra) -> dict:
    """The multipart body the phone's sender posts."""
    data = {"title": "地下室积水", "description": "三号楼地下室积水约十厘米", "category": "facilities",
            "urgency": "normal", "lat": "30.75710", "lon": "121.35310", "grid": "",
            "helpers_needed": "1", "client_uuid": uuid or str(uuid4()),
            "made_at": made_at if made_at is not None else iso(utcnow() - timedelta(hours=2))}
    data["photos"] = [(io.BytesIO(content or jpeg()), name) for name, content in photos]
    data.update(extra)
    return data


def post(client, data):
    return client.post(URL, data=data, content_type="multipart/form-data")


def counts() -> tuple[int, int, int]:
    return (db.session.scalar(db.select(db.func.count(Issue.id))),
            db.session.scalar(db.select(db.func.count(IssuePhoto.id))),
            db.session.scalar(db.select(db.func.count(IssueEvent.id))))


def photo_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "issue_photos"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def grid(factory):
    return factory.grid(factory.village(code="VA", name="甲村"), code="VA-01")


def test_files_once_and_answers_the_same_number_for_a_repeat(client, auth, grid):
    member = auth.login("grid_member", grid)
    made = utcnow().replace(microsecond=0) - timedelta(hours=3)
    uuid = str(uuid4())
    resp = post(client, report(uuid, iso(made)))
    assert resp.status_code == 201, resp.json
    issue = db.session.get(Issue, resp.json["id"])
    assert resp.json["url"] == f"/issues/{issue.id}"
    assert (issue.client_uuid, issue.made_at, issue.reporter_id) == (uuid, made, member.id)
    assert issue.source == "patrol" and issue.status == IssueStatus.reported
    assert issue.created_at > made and len(issue.photos) == 1
    before = counts()
    # The answer was lost; the phone sends the same report again (even with other photos).
    again = post(client, report(uuid, iso(made), photos=(("b.jpg", jpeg((0, 0, 255))),)))
    assert again.status_code == 200 and again.json == resp.json
    assert counts() == before == (1, 1, 1)
    # The UUID in another spelling is the same report.
    assert post(client, report(uuid.upper(), iso(made))).json["id"] == issue.id


def test_the_same_id_from_another_account_is_refused(client, auth, grid, factory):
    auth.login("grid_member", grid)
    uuid = str(uuid4())
    first = post(client, report(uuid)).json["id"]
    auth.logout()
    auth.login("resident")
    resp = post(client, report(uuid))
    assert resp.status_code == 409 and resp.json["error"] == "uuid_taken"
    assert "id" not in resp.json and str(first) not in resp.get_data(as_text=True)
    assert counts()[0] == 1


@pytest.mark.parametrize("change, field, code", [
    ({"title": ""}, "title", "invalid"),
    ({"description": "<script>x</script>"}, "description", "invalid"),
    ({"category": "no-such"}, "category", "unknown_category"),
    ({"urgency": "whenever"}, "urgency", "unknown_urgency"),
    ({"lat": "", "lon": ""}, "lat", "no_location"),
    ({"lat": "31.9", "lon": "118.8"}, "lat", "outside_town"),
    ({"lat": "abc"}, "lat", "invalid"),
    ({"helpers_needed": "999"}, "helpers_needed", "invalid"),
    ({"client_uuid": ""}, "client_uuid", "bad_uuid"),
    ({"client_uuid": "1; drop table issue"}, "client_uuid", "bad_uuid"),
    ({"made_at": ""}, "made_at", "made_at_missing"),
    ({"made_at": "yesterday"}, "made_at", "made_at_invalid"),
    ({"made_at": "2026-11-30T09:00:00"}, "made_at", "made_at_invalid"),  # no offset
    ({"made_at": iso(utcnow() + timedelta(hours=1))}, "made_at", "made_at_future"),
    ({"made_at": iso(utcnow() - timedelta(days=31))}, "made_at", "made_at_old"),
    ({"photos": [(io.BytesIO(b"not a photo"), "x.jpg")]}, "photos", "bad_type"),
    ({"photos": [(io.BytesIO(b"\xff\xd8\xff" + b"\0" * 100), "broken.jpg")]}, "photos",
     "unreadable"),
    ({"photos": [(io.BytesIO(jpeg()), f"{n}.jpg") for n in range(4)]}, "photos", "too_many"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_written(app, client, auth, grid,
                                                                 change, field, code):
    auth.login("grid_member", grid)
    resp = post(client, {**report(), **change})
    assert resp.status_code in (409, 422), resp.json
    assert resp.json["error"] == code and resp.json["message"]
    assert field in resp.json["fields"] and resp.json["fields"][field]
    assert counts() == (0, 0, 0) and photo_files(app) == []


def test_a_refused_photo_is_named_in_the_message(client, auth, grid):
    auth.login("grid_member", grid)
    resp = post(client, report(photos=(("a.jpg", None), ("notes.jpg", b"hello"))))
    assert resp.status_code == 422 and "notes.jpg" in resp.json["message"]


def test_messages_are_in_the_persons_language(client, auth, grid):
    auth.login("grid_member", grid)
    client.set_cookie("lang", "zh_CN")
    resp = post(client, {**report(), "category": "no-such"})
    assert resp.status_code == 422
    assert resp.json["message"] == "请从列表中选择类别。" or not resp.json["message"].isascii()


def test_login_is_needed_and_answered_in_json(client):
    resp = post(client, report())
    assert resp.status_code == 401 and resp.json["error"] == "login_needed"
    assert client.get(URL + "/token").status_code == 401
    assert client.get(URL).status_code == 302  # the page asks to log in
    assert counts()[0] == 0


def test_who_files_what(client, auth, grid):
    """Anyone with an account may file (as on the issue form); only staff choose the source."""
    auth.login("resident")
    resp = post(client, {**report(), "source": "hotline"})
    assert resp.status_code == 201
    assert db.session.get(Issue, resp.json["id"]).source == "resident_report"
    auth.logout()
    auth.login("grid_member", grid)
    resp = post(client, {**report(), "source": "hotline"})
    assert db.session.get(Issue, resp.json["id"]).source == "hotline"
    resp = post(client, {**report(), "source": "open311"})
    assert resp.status_code == 422 and "source" in resp.json["fields"]


def test_csrf_is_required_and_a_fresh_token_comes_from_the_token_endpoint(app, make_app, grid,
                                                                           factory):
    member = factory.user("grid_member", grid)
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    login_token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"login": member.phone, "password": PASSWORD,
                                     "csrf_token": login_token})
    resp = post(client, report())
    assert resp.status_code == 400 and resp.json["error"] == "csrf" and resp.json["message"]
    assert counts()[0] == 0
    fresh = client.get(URL + "/token")
    assert fresh.json["user_id"] == member.id and fresh.headers["Cache-Control"] == "no-store"
    resp = client.post(URL, data=report(), headers={"X-CSRFToken": fresh.json["csrf_token"]},
                       content_type="multipart/form-data")
    assert resp.status_code == 201
    assert counts()[0] == 1


def test_the_time_made_on_the_phone_is_shown_on_the_issue(client, auth, grid):
    auth.login("grid_member", grid)
    made = utcnow().replace(second=0, microsecond=0) - timedelta(days=2)
    shanghai = made.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=8)))
    resp = post(client, report(made_at=shanghai.isoformat()))  # "…+08:00"
    assert resp.status_code == 201
    page = client.get(resp.json["url"]).get_data(as_text=True)
    local = made + timedelta(hours=8)
    shown = page.split('data-testid="made-at">')[1].split("</dd>")[0]
    assert shown.startswith(f"on the phone at {local.month}/{local.day}/")
    assert f"{local.hour % 12 or 12}:{local.minute:02d}" in shown.split("(arrived")[0]


def test_a_clock_a_little_ahead_is_taken_as_arrival(client, auth, grid):
    auth.login("grid_member", grid)
    resp = post(client, report(made_at=iso(utcnow() + timedelta(minutes=3))))
    assert resp.status_code == 201
    issue = db.session.get(Issue, resp.json["id"])
    assert issue.made_at <= issue.created_at


def test_two_identical_reports_at_once_make_one_issue(app, client, auth, grid, factory,
                                                      monkeypatch):
    """Both requests pass the check for an earlier filing before either writes; the unique
    id makes the second fail, and it answers the first one's issue (SQLite and PostgreSQL)."""
    member = auth.login("grid_member", grid)
    other = app.test_client()
    other.post("/auth/login", data={"login": member.phone, "password": PASSWORD})
    barrier = threading.Barrier(2, timeout=20)
    real = offline_routes.file_offline

    def both_checked_first(*args):
        barrier.wait()
        return real(*args)

    monkeypatch.setattr(offline_routes, "file_offline", both_checked_first)
    uuid = str(uuid4())
    answers = []

    def send(c):
        resp = post(c, report(uuid))
        answers.append((resp.status_code, resp.json))

    threads = [threading.Thread(target=send, args=(c,)) for c in (client, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(code for code, _ in answers) == [200, 201], answers
    assert answers[0][1]["id"] == answers[1][1]["id"]
    db.session.expire_all()
    assert counts() == (1, 1, 1)
    assert len(photo_files(app)) == 2  # one photo, as uploaded and its web copy; none left over


def test_the_outbox_page_and_token(client, auth, grid):
    member = auth.login("grid_member", grid)
    page = client.get(URL).get_data(as_text=True)
    assert f'data-user="{member.id}"' in page and "outbox-page.js" in page
    assert 'href="/issues/outbox"' in page  # in the navigation
    form = client.get("/issues/new").get_data(as_text=True)
    assert 'id="offline-form"' in form and "offline-form.js" in form
    assert 'data-testid="outbox-link"' in form


def test_manifest_and_service_worker(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = json.loads(manifest.data)
    assert body["display"] == "standalone" and body["start_url"] == "/"
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}
    for icon in body["icons"]:
        assert client.get(icon["src"]).status_code == 200
    sw = client.get("/sw.js")
    assert sw.mimetype == "text/javascript" and sw.headers["Cache-Control"] == "no-cache"
    assert sw.headers["Service-Worker-Allowed"] == "/"
    text = sw.get_data(as_text=True)
    assert text.startswith("self.GV_SW = ") and "precacheAndRoute" in text
    assert "googleapis" not in text.split("\n", 1)[1]  # Workbox from our own files, no CDN
    for url in re.findall(r'"url": "([^"]+)"', text):
        assert client.get(url).status_code == 200, url
    home = client.get("/").get_data(as_text=True)
    assert 'rel="manifest"' in home and "pwa.js" in home


def test_the_issue_form_files_its_report_id_once(client, auth, grid):
    """The form carries the report's id too: a second tap files nothing more, and a post the
    service worker kept offline (same id) answers the issue the form filed."""
    auth.login("grid_member", grid)
    uuid = str(uuid4())
    data = {**report(uuid), "photos": []}
    del data["made_at"]
    first = client.post("/issues/new", data=data, content_type="multipart/form-data")
    issue = db.session.scalar(db.select(Issue))
    assert first.status_code == 302 and first.headers["Location"] == f"/issues/{issue.id}"
    assert issue.client_uuid == uuid and issue.made_at is None
    again = client.post("/issues/new", data=data, content_type="multipart/form-data")
    assert again.headers["Location"] == f"/issues/{issue.id}"
    resp = post(client, report(uuid))
    assert resp.status_code == 200 and resp.json["id"] == issue.id
    assert counts()[0] == 1
    # Without an id (or with a malformed one) the form files as before.
    client.post("/issues/new", data={**data, "client_uuid": "x"},
                content_type="multipart/form-data")
    assert counts()[0] == 2 and db.session.scalars(db.select(Issue.client_uuid)).all().count(
        None) == 1
