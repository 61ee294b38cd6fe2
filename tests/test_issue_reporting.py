"""Reporting from a phone: photos (checked by content, metadata stripped beyond staff, public
only when staff say so), the duplicate hint and "me too", the queue maps, and privacy."""
import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from volunteer.extensions import db
from volunteer.inbox.models import Notification
from volunteer.issues.models import Issue, IssueEvent, IssueFollower, IssuePhoto
from volunteer.issues.nearby import similar_open_issues, text_similarity
from volunteer.issues.photos import original_path, web_path
from volunteer.issues.services import Details, IssueInput, file_issue, transition

GPS = 0x8825


def jpeg(w=64, h=48, colour=(200, 30, 30)) -> bytes:
    """A small JPEG whose EXIF data holds a camera name and a GPS position."""
    img = Image.new("RGB", (w, h), colour)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[GPS] = {1: "N", 2: (30.0, 45.0, 25.0), 3: "E", 4: (121.0, 21.0, 10.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def png(w=40, h=30) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), (0, 128, 0, 128)).save(buf, "PNG")
    return buf.getvalue()


def png_claiming(w: int, h: int) -> bytes:
    """A tiny PNG file whose header claims w × h pixels (a decompression bomb)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def town(factory):
    village = factory.village(code="VA", name="甲村")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    return {"village": village, "grid": grid,
            "member": factory.user("grid_member", grid, name="网格员"),
            "leader": factory.user("grid_leader", grid, name="网格长"),
            "vadmin": factory.user("village_admin", village, name="村居干部"),
            "resident": factory.user("resident", name="居民甲"),
            "neighbour": factory.user("resident", name="邻居乙")}


def form(**extra):
    data = {"title": "路灯不亮", "description": "小区绿地的路灯晚上全部不亮", "category": "facilities",
            "urgency": "normal", "lat": "30.75710", "lon": "121.35310", "grid": "",
            "helpers_needed": "1"}
    data.update(extra)
    return data


def files(*items):
    return [(io.BytesIO(data), name) for name, data in items]


def photo_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "issue_photos"
    return sorted(folder.iterdir()) if folder.exists() else []


# --- photos -----------------------------------------------------------------------------------

def test_file_with_photos_strips_metadata_beyond_staff(app, client, auth, town):
    auth.login(user=town["resident"])
    resp = client.post("/issues/new", data=form(photos=files(("a.jpg", jpeg()), ("b.png", png()))),
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    issue = db.session.scalar(db.select(Issue))
    assert [p.mime for p in issue.photos] == ["image/jpeg", "image/png"]
    assert len(photo_files(app)) == 4  # each: the original and the copy without metadata
    first = issue.photos[0]
    assert Image.open(original_path(first)).getexif().get_ifd(GPS)  # kept for staff

    # The reporter sees the copy, without any EXIF data; the original is not theirs to see.
    shown = client.get(f"/issues/{issue.id}/photos/{first.id}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    img = Image.open(io.BytesIO(shown.data))
    assert not img.getexif() and "exif" not in img.info
    assert client.get(f"/issues/{issue.id}/photos/{first.id}?original=1").status_code == 404
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f"/issues/{issue.id}/photos/{first.id}" in page and "original=1" not in page

    auth.logout()
    auth.login(user=town["leader"])
    original = client.get(f"/issues/{issue.id}/photos/{first.id}?original=1")
    assert original.status_code == 200
    assert Image.open(io.BytesIO(original.data)).getexif().get_ifd(GPS)
    auth.logout()
    outsider = auth.login(role="grid_leader")  # another grid
    assert client.get(f"/issues/{issue.id}/photos/{first.id}").status_code == 404
    assert outsider


BAD_PHOTOS = {
    "fake": ([("virus.jpg", b"MZ\x90\x00 this is not a picture")], "is not a JPEG or PNG photo"),
    "oversized": ([("huge.jpg", b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024 + 10))],
                  "larger than 5 MB"),
    "bomb": ([("bomb.png", png_claiming(20_000, 20_000))], "too many pixels"),
    "truncated": ([("half.jpg", jpeg(640, 480)[:900])], "cannot be read as a photo"),
    "too many": ([(f"p{i}.jpg", jpeg()) for i in range(4)], "at most 3 photos"),
    "one bad of two": ([("ok.jpg", jpeg()), ("fake.png", b"\x89PNG\r\n\x1a\nnonsense")],
                       "cannot be read as a photo"),
}


@pytest.mark.parametrize("case", list(BAD_PHOTOS))
def test_bad_photos_are_refused_and_nothing_is_written(app, client, auth, town, case):
    uploads, message = BAD_PHOTOS[case]
    auth.login(user=town["member"])
    resp = client.post("/issues/new", data=form(photos=files(*uploads)),
                       content_type="multipart/form-data")
    assert resp.status_code == 200  # the form again, with the message
    body = resp.get_data(as_text=True)
    assert message in body.replace("&#39;", "'") or message in body, body[:3000]
    assert db.session.scalar(db.select(db.func.count(Issue.id))) == 0
    assert db.session.scalar(db.select(db.func.count(IssuePhoto.id))) == 0
    assert photo_files(app) == []


def test_bad_form_asks_to_choose_photos_again(client, auth, town):
    auth.login(user=town["member"])
    resp = client.post("/issues/new", data=form(title="", photos=files(("a.jpg", jpeg()))),
                       content_type="multipart/form-data")
    assert "Please choose the photos again" in resp.get_data(as_text=True)


def test_only_leaders_and_village_staff_make_a_photo_public(app, client, auth, town):
    issue = file_issue(town["resident"], IssueInput(title="垃圾堆放", description="楼下垃圾",
                                                    category="environment", lat=30.7571,
                                                    lon=121.3531))
    db.session.commit()
    auth.login(user=town["resident"])
    client.post(f"/issues/{issue.id}/photos", data={"photos": files(("a.jpg", jpeg()))},
                content_type="multipart/form-data")
    photo = db.session.scalar(db.select(IssuePhoto))
    assert photo is not None and not photo.public
    assert client.get(f"/board/photos/{photo.id}").status_code == 404

    for who in ("resident", "member"):
        auth.logout()
        auth.login(user=town[who])
        resp = client.post(f"/issues/{issue.id}/photos/{photo.id}/public")
        assert resp.status_code == 403
        db.session.refresh(photo)
        assert not photo.public

    auth.logout()
    auth.login(user=town["leader"])
    client.post(f"/issues/{issue.id}/photos/{photo.id}/public")
    db.session.refresh(photo)
    assert photo.public and photo.public_by_id == town["leader"].id
    auth.logout()
    board = client.get("/board/").get_data(as_text=True)
    assert f"/board/photos/{photo.id}" in board
    shown = client.get(f"/board/photos/{photo.id}")
    assert shown.status_code == 200
    assert not Image.open(io.BytesIO(shown.data)).getexif()
    events = [e.action for e in db.session.get(Issue, issue.id).events]
    assert events[-2:] == ["photo", "photo_public"]


def test_photo_limits_per_issue_and_who_may_add(client, auth, town):
    issue = file_issue(town["resident"], IssueInput(title="t", description="d",
                                                    category="environment", lat=30.7571,
                                                    lon=121.3531))
    db.session.commit()
    auth.login(user=town["member"])
    for _ in range(2):
        client.post(f"/issues/{issue.id}/photos",
                    data={"photos": files(*[(f"{i}.jpg", jpeg()) for i in range(3)])},
                    content_type="multipart/form-data")
    resp = client.post(f"/issues/{issue.id}/photos", data={"photos": files(("7.jpg", jpeg()))},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "at most 6 photos" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(IssuePhoto.id))) == 6
    auth.logout()
    auth.login(user=town["neighbour"])  # cannot see the issue at all
    resp = client.post(f"/issues/{issue.id}/photos", data={"photos": files(("x.jpg", jpeg()))},
                       content_type="multipart/form-data")
    assert resp.status_code == 404


# --- the duplicate hint and "me too" -----------------------------------------------------------

def test_text_similarity():
    assert text_similarity("绿地路灯不亮", "小区绿地的路灯晚上全部不亮") > 0.4
    assert text_similarity("绿地路灯不亮", "楼道堆放杂物") == 0
    assert text_similarity("Street lamp is out", "street-lamp out!") > 0.6
    assert text_similarity("", "x") == 0


def test_similar_open_issues_within_300_m(town):
    near = file_issue(town["resident"], IssueInput(
        title="绿地路灯不亮", description="晚上路灯全灭", category="facilities",
        lat=30.7571, lon=121.3531))
    other = file_issue(town["resident"], IssueInput(
        title="楼道堆放杂物", description="消防通道被占", category="environment",
        lat=30.7572, lon=121.3532))
    far = file_issue(town["resident"], IssueInput(
        title="绿地路灯不亮", description="同样的问题", category="facilities",
        lat=30.7571 + 0.0045, lon=121.3531))  # ~500 m north
    closed = file_issue(town["resident"], IssueInput(
        title="绿地路灯不亮", description="", category="facilities", lat=30.7571,
        lon=121.3531))
    closed.status = "closed"
    db.session.commit()
    found = similar_open_issues(30.7570, 121.3530, "路灯不亮", "facilities")
    assert [n.issue.id for n in found] == [near.id, other.id]
    assert found[0].likely and not found[1].likely
    assert far.id not in [n.issue.id for n in found]


def test_similar_endpoint_shows_titles_only_to_who_may_see_them(client, auth, town):
    issue = file_issue(town["resident"], IssueInput(
        title="绿地路灯不亮", description="晚上路灯全灭", category="facilities",
        lat=30.7571, lon=121.3531))
    db.session.commit()
    auth.login(user=town["neighbour"])
    data = client.get("/issues/similar?lat=30.757&lon=121.353&text=路灯").get_json()
    item = data["items"][0]
    assert item["id"] == issue.id and item["me_too"] == f"/issues/{issue.id}/me-too"
    assert "title" not in item and "url" not in item and "likely" not in item
    assert item["distance_m"] == 50  # 14 m away, shown to 50 m
    assert "居民甲" not in json.dumps(data, ensure_ascii=False)
    auth.logout()
    auth.login(user=town["leader"])
    item = client.get("/issues/similar?lat=30.757&lon=121.353&text=路灯").get_json()["items"][0]
    assert item["title"] == "绿地路灯不亮" and item["url"] == f"/issues/{issue.id}"
    for bad in ("", "?lat=x&lon=1", "?lat=91&lon=121", "?lat=30.7"):
        resp = client.get("/issues/similar" + bad)
        assert resp.status_code == 400 and resp.get_json()["error"] == "bad_location"


def test_me_too_follows_the_issue(client, auth, town):
    issue = file_issue(town["resident"], IssueInput(
        title="绿地路灯不亮", description="晚上路灯全灭", category="facilities",
        lat=30.7571, lon=121.3531))
    db.session.commit()
    auth.login(user=town["neighbour"])
    assert client.get(f"/issues/{issue.id}").status_code == 404
    resp = client.post(f"/issues/{issue.id}/me-too", follow_redirects=True)
    assert "You were added to issue no." in resp.get_data(as_text=True)
    follower = db.session.scalar(db.select(IssueFollower))
    assert follower.user_id == town["neighbour"].id
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'data-testid="me-too-count"' in page and "居民甲" not in page  # reporter masked: 居**
    mine = client.get("/issues/?queue=mine").get_data(as_text=True)
    assert f"#{issue.id} " in mine

    # Twice: refused, nothing written.
    resp = client.post(f"/issues/{issue.id}/me-too", follow_redirects=True)
    assert "You already follow this issue" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(IssueFollower.id))) == 1

    # Followers hear about changes like the reporter.
    transition(town["member"], db.session.get(Issue, issue.id), "accept")
    db.session.commit()
    kinds = db.session.scalars(db.select(Notification.event).where(
        Notification.user_id == town["neighbour"].id)).all()
    assert kinds == ["accept"]


def test_at_closure_only_the_reporter_is_asked_to_rate(town):
    from volunteer.issues.services import me_too

    issue = file_issue(town["resident"], IssueInput(
        title="t", description="d", category="facilities", lat=30.7571, lon=121.3531))
    db.session.flush()
    me_too(town["neighbour"], issue)
    for action in ("accept", "start"):
        transition(town["member"], issue, action)
    transition(town["member"], issue, "resolve", Details(resolution="修好了"))
    transition(town["leader"], issue, "verify")
    db.session.commit()

    def last(user):
        return db.session.scalars(db.select(Notification.event).where(
            Notification.user_id == user.id).order_by(Notification.id.desc())).first()
    assert last(town["resident"]) == "verify" and last(town["neighbour"]) == "closed"


def test_me_too_on_a_closed_issue_is_refused(client, auth, town):
    issue = file_issue(town["resident"], IssueInput(
        title="绿地路灯不亮", description="d", category="facilities", lat=30.7571,
        lon=121.3531))
    db.session.flush()
    for action in ("accept", "start"):
        transition(town["member"], issue, action)
    transition(town["member"], issue, "resolve", Details(resolution="修好了"))
    transition(town["leader"], issue, "verify")
    db.session.commit()
    events = db.session.scalar(db.select(db.func.count(IssueEvent.id)))
    auth.login(user=town["neighbour"])
    resp = client.post(f"/issues/{issue.id}/me-too", follow_redirects=True)
    assert "no longer open" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(IssueFollower.id))) == 0
    assert db.session.scalar(db.select(db.func.count(IssueEvent.id))) == events
    assert client.post("/issues/999999/me-too").status_code == 404


def test_position_far_from_the_town_is_refused(client, auth, town):
    auth.login(user=town["member"])
    resp = client.post("/issues/new", data=form(lat="39.9", lon="116.4"))  # Beijing
    assert "not within 3 km of any grid" in resp.get_data(as_text=True)
    for lat, lon in (("abc", "121"), ("95", "121"), ("30.75", "")):
        resp = client.post("/issues/new", data=form(lat=lat, lon=lon))
        assert "The map pin is not a valid location" in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Issue.id))) == 0


# --- maps -------------------------------------------------------------------------------------

def test_queue_map_shows_the_same_filtered_list(client, auth, town):
    a = file_issue(town["resident"], IssueInput(title="a", description="d",
                                                category="facilities", lat=30.7571, lon=121.3531))
    b = file_issue(town["resident"], IssueInput(title="b", description="d",
                                                category="environment", lat=30.7572, lon=121.3532))
    db.session.commit()
    auth.login(user=town["leader"])
    page = client.get("/issues/map?queue=grid&category=facilities").get_data(as_text=True)
    assert "markercluster" in page and "/issues/map.json?" in page and "category=facilities" in page
    data = client.get("/issues/map.json?queue=grid&category=facilities").get_json()
    assert [p[0] for p in data["points"]] == [a.id] and data["total"] == 1
    assert data["link"] == "/issues/"
    data = client.get("/issues/map.json?queue=grid").get_json()
    assert {p[0] for p in data["points"]} == {a.id, b.id}
    auth.logout()
    auth.login(role="grid_leader")  # another grid: nothing of this one
    assert client.get("/issues/map.json?queue=grid").get_json()["points"] == []


def test_board_map_has_rounded_points_and_no_titles(client, town):
    file_issue(town["resident"], IssueInput(title="居民甲家门口", description="d",
                                            category="facilities", lat=30.757123,
                                            lon=121.353456))
    db.session.commit()
    data = client.get("/board/map.json").get_json()
    assert data["points"][0][1:3] == [30.757, 121.353]
    assert "居民甲" not in json.dumps(data, ensure_ascii=False)
    assert "link" not in data


# --- privacy ----------------------------------------------------------------------------------

def test_download_and_delete_include_reports_photos_and_me_too(app, client, auth, town):
    other = file_issue(town["neighbour"], IssueInput(title="别人的", description="d",
                                                    category="facilities", lat=30.7571,
                                                    lon=121.3531))
    db.session.commit()
    auth.login(user=town["resident"])
    client.post("/issues/new", data=form(photos=files(("a.jpg", jpeg()))),
                content_type="multipart/form-data")
    client.post(f"/issues/{other.id}/me-too")
    data = client.get("/auth/my-data.json").get_json()
    reports = data["reports"]
    assert [r["title"] for r in reports["reported"]] == ["路灯不亮"]
    assert reports["me_too"][0]["issue"] == other.id and len(reports["photos"]) == 1

    photo = db.session.scalar(db.select(IssuePhoto))
    paths = [original_path(photo), web_path(photo)]
    assert all(p.exists() for p in paths)
    resp = client.post("/auth/delete", data={"password": "passw0rd123", "confirm": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    mine = db.session.scalar(db.select(Issue).where(Issue.title == "路灯不亮"))
    assert mine.reporter_id is None  # the report stays, anonymous
    assert db.session.scalar(db.select(db.func.count(IssuePhoto.id))) == 0
    assert not any(p.exists() for p in paths)
    assert db.session.scalar(db.select(db.func.count(IssueFollower.id))) == 0


def test_me_too_shows_only_the_public_facts(client, auth, town):
    from tests.test_invitations import bearer

    issue = file_issue(town["resident"], IssueInput(
        title="王大爷家漏水", description="独居的王大爷家水管漏水", category="housing_repair",
        lat=30.7571, lon=121.3531))
    db.session.commit()
    auth.login(user=town["neighbour"])
    client.post(f"/issues/{issue.id}/me-too")
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "王大爷" not in page and "Home repairs" in page and "You reported the same" in page
    assert 'data-action="comment"' not in page
    mine = client.get("/issues/?queue=mine").get_data(as_text=True)
    assert "王大爷" not in mine and f"#{issue.id} Home repairs" in mine
    inbox_page = client.get("/inbox/").get_data(as_text=True)
    transition(town["member"], db.session.get(Issue, issue.id), "accept")
    db.session.commit()
    inbox_page = client.get("/inbox/").get_data(as_text=True)
    assert "王大爷" not in inbox_page and f"#{issue.id}" in inbox_page
    got = client.get(f"/api/v1/issues/{issue.id}", headers=bearer(town["neighbour"])).json
    assert got["description"] == "" and "王大爷" not in str(got) and got["lat"] == 30.757
    resp = client.post(f"/issues/{issue.id}/act", data={"action": "comment", "version": "2",
                                                        "comment": "我家也漏"},
                       follow_redirects=True)
    assert "does not allow" in resp.get_data(as_text=True)


def test_public_photo_is_not_cached(client, auth, town):
    issue = file_issue(town["resident"], IssueInput(title="t", description="d",
                                                    category="environment", lat=30.7571,
                                                    lon=121.3531))
    db.session.commit()
    auth.login(user=town["leader"])
    client.post(f"/issues/{issue.id}/photos", data={"photos": files(("a.jpg", jpeg()))},
                content_type="multipart/form-data")
    photo = db.session.scalar(db.select(IssuePhoto))
    client.post(f"/issues/{issue.id}/photos/{photo.id}/public")
    auth.logout()
    resp = client.get(f"/board/photos/{photo.id}")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-cache"
