"""Benchmark: the dashboards for the whole demo town and for a town ten times its size.

Each size runs in its own process on a fresh SQLite database: `setup`, the demo town, and for
the large town nine more copies of its 村居, grids, volunteers (with their skills), issues (with
their timelines), invitations and hours under new codes. Then, logged in as the town admin, the
p50 and p95 of five requests (after one warm-up) of each dashboard page: the dashboard, coverage
gaps, the monthly report and the XLSX export of every table.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["/dashboard/", "/dashboard/gaps", "/dashboard/report", "/dashboard/export.xlsx?table=all"]


def _copy_town(times: int) -> None:
    """Add ``times - 1`` copies of the demo town's people and issues under new codes."""
    import sqlalchemy as sa

    from volunteer.extensions import db

    meta = db.metadata.tables
    conn = db.session.connection()

    def rows(name):
        return [dict(r._mapping) for r in conn.execute(sa.select(meta[name]))]

    def next_id(name):
        return (conn.execute(sa.select(sa.func.max(meta[name].c.id))).scalar() or 0) + 1

    villages, grids = rows("village"), rows("grid")
    profiles, skills = rows("volunteer_profile"), rows("volunteer_skill")
    volunteer_ids = {p["user_id"] for p in profiles}
    users = [u for u in rows("user") if u["id"] in volunteer_ids]
    issues, events = rows("issue"), rows("issue_event")
    invitations = [i for i in rows("invitation") if i["issue_id"]]
    hours = [h for h in rows("service_hours") if h["issue_id"]]
    for k in range(1, times):
        ids = {}
        for name, source in (("village", villages), ("grid", grids), ("user", users),
                             ("volunteer_profile", profiles), ("volunteer_skill", skills),
                             ("issue", issues), ("issue_event", events),
                             ("invitation", invitations), ("service_hours", hours)):
            start = next_id(name)
            ids[name] = {r["id"]: start + i for i, r in enumerate(source)}

        def remap(r, name, ids=ids, **fks):
            r = dict(r, id=ids[name][r["id"]])
            for col, table in fks.items():
                if r.get(col) is not None:
                    r[col] = ids[table].get(r[col], r[col])
            return r

        conn.execute(meta["village"].insert(), [dict(remap(v, "village"), code=f"K{k}{v['code']}",
                                                    lat=v["lat"] + 0.2 * k)
                                               for v in villages])
        conn.execute(meta["grid"].insert(), [dict(remap(g, "grid", village_id="village"),
                                                 code=f"K{k}{g['code']}", lat=g["lat"] + 0.2 * k)
                                            for g in grids])
        conn.execute(meta["user"].insert(), [dict(remap(u, "user"), phone=f"19{k}{u['phone'][3:]}",
                                                 email=None) for u in users])
        conn.execute(meta["volunteer_profile"].insert(), [
            dict(remap(p, "volunteer_profile", user_id="user", home_grid_id="grid"),
                 lat=p["lat"] + 0.2 * k) for p in profiles])
        conn.execute(meta["volunteer_skill"].insert(), [
            remap(s, "volunteer_skill", profile_id="volunteer_profile") for s in skills])
        conn.execute(meta["issue"].insert(), [
            dict(remap(i, "issue", grid_id="grid", village_id="village"), duplicate_of_id=None,
                 lat=i["lat"] + 0.2 * k) for i in issues])
        conn.execute(meta["issue_event"].insert(), [
            remap(e, "issue_event", issue_id="issue") for e in events])
        conn.execute(meta["invitation"].insert(), [
            remap(i, "invitation", issue_id="issue", volunteer_id="user") for i in invitations])
        conn.execute(meta["service_hours"].insert(), [
            dict(remap(h, "service_hours", issue_id="issue", volunteer_id="user",
                       invitation_id="invitation"), session_id=None) for h in hours])
    db.session.commit()


def run_size(times: int) -> dict:
    """Build the town in a temporary database and time the dashboard pages."""
    tmp = tempfile.mkdtemp()
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    from flask_migrate import upgrade

    from volunteer import create_app
    from volunteer.demo.seed import DEMO_PASSWORD, DEMO_PHONES, seed_demo
    from volunteer.extensions import db
    from volunteer.issues.models import Issue
    from volunteer.setup import load_reference_data
    from volunteer.volunteers.models import VolunteerProfile

    app = create_app({"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        load_reference_data()
        db.session.commit()
        seed_demo()
        db.session.commit()
        if times > 1:
            _copy_town(times)
        n_issues = db.session.scalar(db.select(db.func.count(Issue.id)))
        n_vols = db.session.scalar(db.select(db.func.count(VolunteerProfile.id)))
    client = app.test_client()
    client.post("/auth/login", data={"login": DEMO_PHONES["admin"], "password": DEMO_PASSWORD})
    out = {"times": times, "issues": n_issues, "volunteers": n_vols, "pages": {}}
    for page in PAGES:
        assert client.get(page).status_code == 200, page  # warm-up (fits the model once)
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            client.get(page)
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        out["pages"][page] = (samples[2], samples[-1])
    return out


def main() -> None:
    if len(sys.argv) > 1:
        print(json.dumps(run_size(int(sys.argv[1]))))
        return
    results = []
    for times in (1, 10):
        proc = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_dashboard",
                               str(times)], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    small, large = results
    print(f"\nDashboards (town admin, whole town; p50 / p95 of 5 requests, ms): demo town "
          f"{small['issues']:,} issues / {small['volunteers']:,} volunteers vs "
          f"{large['issues']:,} / {large['volunteers']:,}")
    print("| page | demo p50 | demo p95 | 10× p50 | 10× p95 | ratio (p50) |")
    print("|---|---:|---:|---:|---:|---:|")
    for page in PAGES:
        a, b = small["pages"][page], large["pages"][page]
        print(f"| `{page}` | {a[0]:.0f} | {a[1]:.0f} | {b[0]:.0f} | {b[1]:.0f} | "
              f"{b[0] / a[0]:.1f}× |")


if __name__ == "__main__":
    main()
