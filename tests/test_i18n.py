"""Chinese by default, English by a switch that persists; the large-text mode persists."""
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from volunteer.auth.models import User
from volunteer.extensions import db

PAGES = ["/", "/auth/login", "/auth/register", "/auth/forgot", "/auth/reset", "/terms",
         "/no-such-page"]


@pytest.mark.parametrize("path", PAGES)
def test_chinese_by_default_and_english_on_switch(client, path):
    zh = client.get(path).get_data(as_text=True)
    assert 'lang="zh-CN"' in zh and "网格志愿" in zh
    client.post("/lang/en", data={"next": path})
    en = client.get(path).get_data(as_text=True)
    assert 'lang="en"' in en and "Grid Volunteers" in en


def test_language_switch_persists_on_the_account(client, auth):
    user = auth.login()
    resp = client.post("/lang/en", data={"next": "/auth/tokens"})
    assert resp.headers["Location"] == "/auth/tokens"
    assert db.session.get(User, user.id).locale == "en"
    client.delete_cookie("lang")
    assert "API tokens" in client.get("/auth/tokens").get_data(as_text=True)


def test_switch_ignores_unknown_language_and_foreign_next(client):
    resp = client.post("/lang/xx", data={"next": "https://evil.example"})
    assert resp.headers["Location"] == "/"
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)


def test_large_text_mode_persists(client, auth):
    assert 'class="large-text"' not in client.get("/").get_data(as_text=True)
    client.post("/large-text")
    assert 'class="large-text"' in client.get("/").get_data(as_text=True)
    user = auth.login()
    assert 'class="large-text"' in client.get("/").get_data(as_text=True)  # kept at login
    client.post("/large-text")  # off, on the account and the device
    assert db.session.get(User, user.id).large_text is False
    assert 'class="large-text"' not in client.get("/").get_data(as_text=True)
    client.post("/large-text")
    assert db.session.get(User, user.id).large_text is True
    other = client.application.test_client()  # another device
    auth.client = other
    auth.login(user=user)
    assert 'class="large-text"' in other.get("/").get_data(as_text=True)


def test_every_message_is_translated_to_chinese():
    po = Path(__file__).parents[1] / "volunteer/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str)
                                                      else all(m.string))]
    assert missing == []
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == []


def test_catalogue_covers_the_source(tmp_path):
    """Every translatable string in the code and templates is in the catalogue."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).parents[1]
    po = root / "volunteer/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
    with po.open("rb") as fh:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh)}
    method_map = [("volunteer/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    found = set()
    for _f, _l, msg, _c, _ctx in extract_from_dir(str(root), method_map=method_map,
                                                 keywords=keywords):
        found.add(msg if isinstance(msg, str) else msg[0])
    assert sorted(found - known) == []
