"""``make loadtest``: a city on PostgreSQL, gunicorn with Redis for rate limits, Locust's users,
and the figures against the targets.

1. The database (``LOADTEST_DATABASE_URL``, default the local PostgreSQL's ``loadtest``) gets
   ``setup`` and, when it holds no city yet (or with ``--reseed``), ``seed-city``.
2. ``tick`` runs as cron would, then ``matching snapshot`` writes the matcher's index (as the
   service's ``ExecStartPre`` does); gunicorn's workers map it.
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
import threading
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
#: Kind of request (the name's prefix) → its p95 target in milliseconds. Logging in has none:
#: checking a password is slow on purpose (a key-derivation function), and every user logs in
#: in the first seconds, all at once; it is reported all the same.
#: The niceness cron gives ``tick`` (README, "Production"): its minute of work yields to requests.
TICK_NICE = 10
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


def postgres_memory(url: str) -> dict:
    """PostgreSQL's own buffers against the database's size, and the database read into them
    (``pg_prewarm``): a server that has run a while holds its hot data in memory, and the test
    measures that steady state, not a cold start. Buffers smaller than the database leave the
    rest to the operating system's page cache, which some machines reclaim within seconds of
    disuse (README, "Production")."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        buffers = conn.execute(sa.text("SELECT setting::bigint * 8192 FROM pg_settings "
                                       "WHERE name = 'shared_buffers'")).scalar()
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        started = time.perf_counter()
        warmed = 0
        if buffers >= size:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            warmed = conn.execute(sa.text(
                "SELECT COALESCE(SUM(pg_prewarm(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't')")).scalar()
    engine.dispose()
    return {"buffers": buffers, "size": size, "warmed": warmed * 8192,
            "seconds": time.perf_counter() - started}


PREPARE = """
import json, sys
from io import BytesIO
from PIL import Image
import sqlalchemy as sa
from volunteer import create_app
from volunteer.auth.services import create_token
from volunteer.auth.models import User
from volunteer.common import utcnow
from volunteer.extensions import db
from volunteer.invitations.models import Invitation, InvitationStatus
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
    # Volunteers with a task still waiting for their answer (an earlier run answered some).
    waiting = db.session.scalars(
        db.select(User.phone).join(Invitation, Invitation.volunteer_id == User.id)
        .where(Invitation.status == InvitationStatus.invited,
               Invitation.expires_at > utcnow())
        .order_by(Invitation.id).limit(2000)).all()
    json.dump({"leaders": leaders, "volunteers": waiting}, open(f"{work}/tokens.json", "w"))
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


#: Process groups whose CPU time the report shows: (name, a part of their command line).
GROUPS = [("Locust", ".venv-load/bin/locust"), ("gunicorn", "bin/gunicorn"),
          ("PostgreSQL", "postgres")]


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by the processes of each of ``GROUPS``, and by
    the whole machine ("all"); the difference of two calls is what a stretch of time cost."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {name: 0.0 for name, _needle in GROUPS}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        group = next((name for name, needle in GROUPS if needle in cmd), None)
        if group:
            out[group] += (int(fields[11]) + int(fields[12])) / hz
    busy = open("/proc/stat").readline().split()[1:]
    out["all"] = (sum(map(int, busy)) - int(busy[3]) - int(busy[4])) / hz  # not idle, iowait
    return out


def run_measured(cmd: list[str], env: dict) -> tuple[float, float]:
    """Run ``cmd`` to its end: (seconds it took, CPU seconds it used)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped here
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def cron(env: dict, stop: threading.Event, every: float, took: list[tuple[float, float]]
         ) -> None:
    """``tick`` every ``every`` seconds, as cron runs it in production (at a lower priority
    than the web workers: ``nice``), until ``stop``."""
    while not stop.wait(every):
        took.append(run_measured(["nice", "-n", str(TICK_NICE), str(VENV / "flask"), "--app",
                                  "wsgi", "tick"], env))


def report(work: Path, memory: list[dict], firsts: list[float], args, cpu: dict[str, float],
           ticks: list[tuple[float, float]]) -> int:
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
    seconds = args.minutes * 60
    cores = os.cpu_count() or 1
    lines.append(f"CPU over the run ({cores} cores; PostgreSQL: the connections open at the "
                 f"end): machine busy "
                 f"{100 * cpu.get('all', 0) / seconds / cores:.0f}%; " + ", ".join(
                     f"{name} {cpu.get(name, 0) / seconds:.2f} cores" for name, _n in GROUPS))
    pg = args.pg
    lines.append(f"PostgreSQL: shared_buffers {pg['buffers'] // 2**20:,} MB, database "
                 f"{pg['size'] // 2**20:,} MB, "
                 + (f"{pg['warmed'] // 2**20:,} MB read into the buffers before the start"
                    if pg["warmed"] else "buffers smaller than the database: not prewarmed"))
    lines.append(f"tick (cron, every {args.tick_every:.0f} s) during the run: "
                 + (", ".join(f"{t:.1f} s ({cpu_s:.1f} s of CPU)" for t, cpu_s in ticks)
                    if ticks else "none"))
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
    p.add_argument("--threads", type=int, default=1,
                   help="Threads per worker (more than 1: gunicorn's gthread workers).")
    p.add_argument("--port", type=int, default=8077)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/2")
    p.add_argument("--cache-redis", default="redis://127.0.0.1:6379/3",
                   help="The figures' cache shared by the workers and tick.")
    p.add_argument("--tick-every", type=float, default=180,
                   help="Seconds between two ticks during the run (cron's interval).")
    p.add_argument("--work", default="/tmp/loadtest")
    p.add_argument("--reseed", action="store_true", help="Drop the database and seed anew.")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("stats*.csv"):
        old.unlink()
    env = {**os.environ, "DATABASE_URL": args.database_url,
           "SECRET_KEY": secrets.token_hex(32), "RATELIMIT_STORAGE_URI": args.redis,
           "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": args.cache_redis}

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
    args.pg = postgres_memory(args.database_url)
    mb = {k: v // 2**20 for k, v in args.pg.items() if k != "seconds"}
    if args.pg["warmed"]:
        print(f"PostgreSQL: {mb['warmed']:,} MB read into its {mb['buffers']:,} MB of buffers "
              f"in {args.pg['seconds']:.1f} s", flush=True)
    else:
        print(f"warning: PostgreSQL's shared_buffers ({mb['buffers']:,} MB) are smaller than "
              f"the database ({mb['size']:,} MB); see README, \"Production\"", flush=True)
    subprocess.run([str(VENV / "python"), "-c", PREPARE, str(work)], cwd=ROOT, env=env,
                   check=True)
    tokens = json.loads((work / "tokens.json").read_text())["leaders"]
    started = time.perf_counter()
    flask(env, "tick")  # cron's: the dashboards' default views computed into the shared cache
    print(f"tick before the start: {time.perf_counter() - started:.1f} s", flush=True)
    # As the service's ExecStartPre does (README, "Production"): right before gunicorn starts.
    print(flask(env, "matching", "snapshot").strip(), flush=True)

    log = open(work / "gunicorn.log", "w")
    server = subprocess.Popen(
        [str(VENV / "gunicorn"), "-w", str(args.workers), "--threads", str(args.threads),
         # Locust talks to gunicorn directly: keep its connections open as nginx would (75 s),
         # longer than a user's pause, so no request meets a connection being closed.
         "--keep-alive", "75",
         "-b", f"127.0.0.1:{args.port}", "--preload", "--timeout", "120", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log,
        stderr=log)
    try:
        wait_for(args.port)
        firsts = first_matches(args.port, tokens[0]["token"], args.workers * 2)
        print(f"first matches after start (s): {[round(f, 2) for f in firsts]}", flush=True)
        load_env = {**env, "LOADTEST_GRIDS": str(grids), "LOADTEST_TOWNS": str(towns),
                    "LOADTEST_WORK": str(work)}
        stop, ticks = threading.Event(), []
        ticker = threading.Thread(target=cron, args=(env, stop, args.tick_every, ticks))
        ticker.start()
        before = cpu_seconds()
        _took, locust_cpu = run_measured(
            [str(LOAD_VENV / "locust"), "-f", str(ROOT / "loadtest" / "locustfile.py"),
             "--headless", "-u", str(args.users), "-r", "5", "-t", f"{int(args.minutes * 60)}s",
             "--host", f"http://127.0.0.1:{args.port}", "--csv", str(work / "stats"),
             "--only-summary", "--loglevel", "WARNING"], load_env)
        after = cpu_seconds()
        after["Locust"] = before["Locust"] + locust_cpu
        memory = worker_memory(server.pid)
        stop.set()
        ticker.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    cpu = {k: after[k] - before[k] for k in after}
    return report(work, memory, firsts, args, cpu, ticks)


if __name__ == "__main__":
    sys.exit(main())
