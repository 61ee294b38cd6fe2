"""``make loadtest``: a city on PostgreSQL, gunicorn with Redis for rate limits, Locust's users,
and the figures against the targets.

1. The database (``LOADTEST_DATABASE_URL``, default the local PostgreSQL's ``loadtest``) gets
   ``setup`` and, when it holds no city yet (or with ``--reseed``), ``seed-city``.
2. ``matching snapshot`` writes the matcher's index once; gunicorn's workers map it.
3. gunicorn starts (4 workers); the first match after the start is timed on every worker.
4. Locust runs headless (50 users, 5 minutes by default) and writes its CSV files.
5. The report: per request p50/p95/p99, requests/s, errors, rate-limited answers, each worker's
   memory, and each target met or not (exit code 1 when one is missed).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
LOAD_VENV = ROOT / ".venv-load" / "bin"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/loadtest"
#: Kind of request (the name's prefix) → its p95 target in milliseconds.
TARGETS = {"page": 300, "action": 300, "match": 100, "dash-town": 1000, "dash-district": 3000}


def flask(env: dict, *args: str, check: bool = True) -> str:
    out = subprocess.run([str(VENV / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if check and out.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def ensure_database(url: str, reseed: bool) -> None:
    u = sa.engine.make_url(url)
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": u.database}).scalar()
        if exists and reseed:
            conn.execute(sa.text(f'DROP DATABASE "{u.database}" WITH (FORCE)'))
            exists = False
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def city_size(url: str) -> tuple[int, int, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        towns = conn.execute(sa.text("SELECT COUNT(*) FROM town")).scalar()
        grids = conn.execute(sa.text("SELECT COUNT(*) FROM grid")).scalar()
        vols = conn.execute(sa.text("SELECT COUNT(*) FROM volunteer_profile")).scalar()
    engine.dispose()
    return towns, grids, vols


PREPARE = """
import json, sys
from io import BytesIO
from PIL import Image
import sqlalchemy as sa
from volunteer import create_app
from volunteer.auth.services import create_token
from volunteer.auth.models import User
from volunteer.extensions import db
from volunteer.issues.models import Issue, OPEN_STATUSES
work = sys.argv[1]
app = create_app()
with app.app_context():
    leaders = []
    for n in range(40):
        user = db.session.scalar(db.select(User).where(User.phone == f"142{n:08d}"))
        if user is None:
            break
        grid = next(a.grid_id for a in user.roles if a.grid_id)
        issues = db.session.scalars(db.select(Issue.id).where(
            Issue.grid_id == grid, Issue.status.in_(OPEN_STATUSES)).limit(10)).all()
        leaders.append({"token": create_token(user, "loadtest"), "issues": list(issues)})
    db.session.commit()
    json.dump({"leaders": leaders}, open(f"{work}/tokens.json", "w"))
img = Image.new("RGB", (1200, 900), (120, 160, 200))
buf = BytesIO()
img.save(buf, "JPEG", quality=85)
open(f"{work}/photo.jpg", "wb").write(buf.getvalue())
"""


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit("gunicorn did not start")


def first_matches(port: int, token: str, n: int) -> list[float]:
    """Time ``n`` matches sent at once right after the start (each worker's first)."""
    body = json.dumps({"text": "水管漏水需要维修", "lat": 31.1, "lon": 121.4}).encode()

    def one(_):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/match", data=body,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
        started = time.perf_counter()
        try:
            urllib.request.urlopen(req, timeout=120).read()
        except urllib.error.HTTPError as exc:
            return -float(exc.code)
        return time.perf_counter() - started

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def worker_memory(master: int) -> list[dict]:
    """RSS and PSS (shared pages divided among their users) of each gunicorn worker, in MB."""
    out = []
    children = Path(f"/proc/{master}/task/{master}/children")
    pids = [int(p) for p in children.read_text().split()] if children.exists() else []
    for pid in pids:
        mem = {}
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                k, *v = line.split()
                if k in ("Rss:", "Pss:", "Shared_Clean:"):
                    mem[k.rstrip(":").lower()] = int(v[0]) // 1024
        except OSError:
            continue
        out.append({"pid": pid, **mem})
    return out


def report(work: Path, memory: list[dict], firsts: list[float], args) -> int:
    rows = list(csv.DictReader(open(work / "stats_stats.csv", encoding="utf-8")))
    limited = json.loads((work / "rate_limited.json").read_text()).get("n", 0) \
        if (work / "rate_limited.json").exists() else 0
    lines = [f"Load test: {args.users} users for {args.minutes} min, {args.workers} gunicorn "
             f"workers, PostgreSQL, Redis rate limits; city of {args.towns} towns, "
             f"{args.volunteers:,} volunteers.", "",
             "| request | n | errors | req/s | p50 ms | p95 ms | p99 ms | target p95 |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    missed = []
    total = None
    for r in rows:
        if r["Name"] == "Aggregated":
            total = r
            continue
        kind = r["Name"].split(":", 1)[0]
        target = TARGETS.get(kind)
        p95 = float(r["95%"] or 0)
        ok = target is None or p95 <= target
        if not ok:
            missed.append(f"{r['Name']} p95 {p95:.0f} ms > {target} ms")
        verdict = f"≤ {target} ms {'✓' if ok else '✗'}" if target else ""
        lines.append(f"| {r['Type']} {r['Name']} | {r['Request Count']} | {r['Failure Count']} "
                     f"| {float(r['Requests/s']):.1f} | {r['50%']} | {r['95%']} | {r['99%']} "
                     f"| {verdict} |")
    errors = int(total["Failure Count"]) if total else 0
    if errors:
        missed.append(f"{errors} errors")
    lines += ["", f"All requests: {total['Request Count'] if total else 0}, "
              f"{float(total['Requests/s']) if total else 0:.1f} req/s, {errors} errors, "
              f"{limited} rate-limited answers (429, counted apart)."]
    good = [f for f in firsts if f >= 0]
    lines.append(f"First match after the start, {len(firsts)} at once over the workers: "
                 f"slowest {max(good):.2f} s, fastest {min(good):.2f} s"
                 if good else "First match after the start: failed")
    if not good or max(good) > 5:
        missed.append("first match after start > 5 s")
    for m in memory:
        lines.append(f"Worker {m['pid']}: RSS {m.get('rss', 0)} MB, PSS {m.get('pss', 0)} MB "
                     f"(shared clean {m.get('shared_clean', 0)} MB)")
    lines += ["", "Targets met." if not missed else "Missed: " + "; ".join(missed)]
    text = "\n".join(lines)
    (work / "report.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if not missed else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database-url", default=os.environ.get("LOADTEST_DATABASE_URL",
                                                             DEFAULT_URL))
    p.add_argument("--towns", type=int, default=20)
    p.add_argument("--volunteers", type=int, default=1_000_000)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--minutes", type=float, default=5)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--port", type=int, default=8077)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/2")
    p.add_argument("--work", default="/tmp/loadtest")
    p.add_argument("--reseed", action="store_true", help="Drop the database and seed anew.")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("stats*.csv"):
        old.unlink()
    env = {**os.environ, "DATABASE_URL": args.database_url,
           "SECRET_KEY": secrets.token_hex(32), "RATELIMIT_STORAGE_URI": args.redis}

    ensure_database(args.database_url, args.reseed)
    flask(env, "setup")
    towns, grids, vols = city_size(args.database_url)
    if towns < 2 or vols == 0:
        print(f"seeding a city of {args.towns} towns and {args.volunteers:,} volunteers …",
              flush=True)
        print(flask(env, "seed-city", "--towns", str(args.towns), "--volunteers",
                    str(args.volunteers)))
        towns, grids, vols = city_size(args.database_url)
    elif vols != args.volunteers:
        print(f"note: the database holds {vols:,} volunteers (--reseed to rebuild)")
    args.towns, args.volunteers = towns, vols
    print(flask(env, "matching", "snapshot").strip(), flush=True)
    subprocess.run([str(VENV / "python"), "-c", PREPARE, str(work)], cwd=ROOT, env=env,
                   check=True)
    tokens = json.loads((work / "tokens.json").read_text())["leaders"]

    log = open(work / "gunicorn.log", "w")
    server = subprocess.Popen(
        [str(VENV / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{args.port}",
         "--preload", "--timeout", "120", "wsgi:app"], cwd=ROOT, env=env, stdout=log,
        stderr=log)
    try:
        wait_for(args.port)
        firsts = first_matches(args.port, tokens[0]["token"], args.workers * 2)
        print(f"first matches after start (s): {[round(f, 2) for f in firsts]}", flush=True)
        load_env = {**env, "LOADTEST_GRIDS": str(grids), "LOADTEST_TOWNS": str(towns),
                    "LOADTEST_WORK": str(work)}
        subprocess.run([str(LOAD_VENV / "locust"), "-f", str(ROOT / "loadtest" / "locustfile.py"),
                        "--headless", "-u", str(args.users), "-r", "5",
                        "-t", f"{int(args.minutes * 60)}s", "--host",
                        f"http://127.0.0.1:{args.port}", "--csv", str(work / "stats"),
                        "--only-summary", "--loglevel", "WARNING"],
                       cwd=ROOT, env=load_env, check=False)
        memory = worker_memory(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return report(work, memory, firsts, args)


if __name__ == "__main__":
    sys.exit(main())
