import re
import pytest
from volunteer.extensions import db
from tests.test_security_registry import town, bearer, lamp, PHONE  # noqa
from tests.conftest import PASSWORD

ABSURD = ["99999999999999999999", "²", "-1", "0", "1e9", "nan", "9"*5000, "１２", "\x00", "'", "%", "0001-01-01", "9999-12-31", "99999999999999999999-1"]

def sweep(app, client, who):
    bad = []
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and not r.rule.startswith("/static") and "/admin" not in r.rule]
    for r in rules:
        kw = {}
        for a in r.arguments:
            conv = r._converters[a].__class__.__name__
            kw[a] = 1 if "Id" in conv or "Integer" in conv else "x"
        try:
            url = app.url_for if False else None
            from flask import url_for
            with app.test_request_context():
                base = url_for(r.endpoint, **kw)
        except Exception as e:
            continue
        for p in ("page", "month", "from", "to", "start", "end", "department_id", "village", "grid", "lat", "lon", "per_page", "limit", "unit", "q", "skill", "category", "status", "text", "format", "id", "point", "item", "week", "date", "radius"):
            for v in ABSURD:
                resp = client.get(base, query_string={p: v})
                if resp.status_code >= 500:
                    bad.append((who, base, p, v[:30], resp.status_code))
    return bad

def test_sweep(app, client, factory, town, following_matcher):
    bad = sweep(app, client, "anon")
    client.post("/auth/login", data={"login": town["admin"].phone, "password": PASSWORD})
    bad += sweep(app, client, "admin")
    print("\nBAD", len(bad))
    for b in bad[:80]:
        print(b)
    assert not bad
