"""Benchmark: import 10,000 and 100,000 volunteers from CSV on SQLite (make bench).

Each import runs in its own process (``flask import-volunteers``) on a fresh database holding
the demo town, so that the peak memory printed is that import's own. Beside it, in the same run:
the same file with ``--dry-run`` (read and validate only) and, for 10,000 rows, a naive baseline
that saves row by row through the ORM services the web form uses.
"""
from __future__ import annotations

import csv
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKILLS = ["电工", "水电工", "医生", "大夫", "护士", "律师", "教师", "退休教师", "保洁", "厨师", "园艺",
          "驾驶员", "会计", "社工", "家电维修", "电脑维修", "治安巡逻", "政策宣传", "会修自行车", "书法"]
TIMES = ["工作日晚上", "周末上午", "周末", "工作日上午;周末下午", ""]


def make_csv(path: Path, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["姓名", "手机", "技能", "纬度", "经度", "党员", "工作单位", "服务时间", "服务半径"])
        for i in range(n):
            w.writerow([f"{rnd.choice('王李张刘陈杨黄赵吴周')}{rnd.choice('伟芳娜敏静丽强磊军洋')}",
                        f"15{i:09d}", "、".join(rnd.sample(SKILLS, rnd.randint(1, 3))),
                        f"{30.757 + rnd.uniform(-0.04, 0.04):.6f}",
                        f"{121.353 + rnd.uniform(-0.05, 0.05):.6f}",
                        rnd.choice(["是", "否", "否"]), rnd.choice(["金山区人民医院", "上海石化", ""]),
                        rnd.choice(TIMES), rnd.choice(["3", "5", "8", ""])])


def flask(db_url: str, *args: str) -> tuple[float, float, str]:
    """Run a flask command; return (seconds, peak RSS in MB, output)."""
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{out}")
    return took, usage.ru_maxrss / 1024, out


def fresh_db(tmp: Path, name: str) -> str:
    url = f"sqlite:///{tmp / name}.sqlite3"
    flask(url, "setup")
    flask(url, "seed-demo")
    return url


NAIVE = r'''
import csv, sys, time
from volunteer import create_app
from volunteer.auth.services import create_user
from volunteer.extensions import db
from volunteer.volunteers.services import ProfileData, save_profile, skill_index, grid_at
app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})
with app.app_context():
    index = skill_index()
    rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig")))
    for r in rows:
        ids, free = index.parse(r["技能"])
        lat, lon = float(r["纬度"]), float(r["经度"])
        user = create_user(name=r["姓名"], phone=r["手机"], consent_method="attested_cli")
        save_profile(user, ProfileData(home_grid=grid_at(lat, lon), lat=lat, lon=lon,
                                       skill_ids=ids, free_skills=free))
        db.session.flush()
    db.session.commit()
'''


def naive(db_url: str, csv_path: Path) -> tuple[float, float]:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", NAIVE, str(csv_path)], cwd=ROOT, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("naive baseline failed")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    print("Import of volunteers from CSV on SQLite (demo town already loaded)")
    print(f"{'rows':>8}  {'mode':<28} {'wall s':>8} {'rows/s':>9} {'import s':>9} "
          f"{'rows/s':>9} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for n in sizes:
            path = tmp / f"v{n}.csv"
            make_csv(path, n)
            url = fresh_db(tmp, f"bulk{n}")
            for mode, args in [("validate only (--dry-run)", ["--dry-run"]),
                               ("import, new people", []), ("re-import, updates", [])]:
                took, peak, out = flask(url, "import-volunteers", str(path), *args)
                inner = re.search(r"in ([\d.]+) s", out)
                own = f"{float(inner[1]):>9.1f} {n / max(float(inner[1]), 0.05):>9.0f}" \
                    if inner else f"{'':>9} {'':>9}"
                print(f"{n:>8}  {mode:<28} {took:>8.1f} {n / took:>9.0f} {own} {peak:>8.0f}")
            if n <= 10_000:
                took, peak = naive(fresh_db(tmp, f"naive{n}"), path)
                print(f"{n:>8}  {'baseline: row by row (ORM)':<28} {took:>8.1f} {n / took:>9.0f} "
                      f"{'':>9} {'':>9} {peak:>8.0f}")
    print("wall: the whole command, starting Python and the app included; import: as the "
          "command reports it")
    print("targets: >= 2,000 rows/s and < 1,024 MB peak at 100,000 rows")


if __name__ == "__main__":
    main()
