"""The load test's users (Locust), against a city made by ``seed-city`` (``make loadtest``).

Residents browse the board, the service menu and the grid points; grid leaders open their
issues with the matcher's suggestions, file issues with a photo and invite; volunteers answer
the task waiting for them and look at their record; town and district offices open their
dashboards; API clients ask the matcher. Each request is named by its kind before a colon
(page, action, match, dash-town, dash-district), which ``run.py`` checks against the targets.
Rate-limit answers (429) are counted apart, not as errors.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import HttpUser, between, events, task

PASSWORD = "demo1234"
GRIDS = int(os.environ.get("LOADTEST_GRIDS", "50000"))
TOWNS = int(os.environ.get("LOADTEST_TOWNS", "20"))
OPEN_TASKS = int(os.environ.get("LOADTEST_OPEN_TASKS", "2000"))
WORK = os.environ.get("LOADTEST_WORK", "/tmp/loadtest")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ISSUE_LINK = re.compile(r'href="/issues/(\d+)"')
GRID_SELECT = re.compile(r'name="grid"[^>]*>(.*?)</select>', re.S)
OWN_GRID = re.compile(r'<option selected value="([^"]+)"|<option value="([^"]+)" selected')
TASK_LINK = re.compile(r'href="/tasks/(\d+)"')
ACCEPT = re.compile(r'action="/tasks/(\d+)/accept"')
TEXTS = ["楼道灯坏了，晚上很黑", "小区门口下水道堵塞，污水外溢", "独居老人家里水管漏水需要维修",
         "路边电线杆上的电线垂下来了", "老人想咨询遗嘱和继承的法律问题", "小孩发烧需要医生上门看看"]
_volunteers = itertools.count()
_offices = itertools.count()
rate_limited = {"n": 0}


def _tokens() -> dict:
    try:
        with open(os.path.join(WORK, "tokens.json"), encoding="utf-8") as fh:
            return json.load(fh)
    except OSError:
        return {"leaders": [], "admins": []}


TOKENS = _tokens()
try:
    with open(os.path.join(WORK, "photo.jpg"), "rb") as fh:
        PHOTO = fh.read()
except OSError:
    PHOTO = b""


def phone(prefix: str, n: int) -> str:
    return f"{prefix}{n:08d}" if prefix != "15" else f"15{n:09d}"


def checked(resp, ok=(200,)) -> bool:
    """Mark a response: 429 apart (a success here, counted), anything else unexpected a
    failure."""
    if resp.status_code == 429:
        rate_limited["n"] += 1
        resp.success()
        return False
    if resp.status_code not in ok:
        resp.failure(f"HTTP {resp.status_code}")
        return False
    resp.success()
    return True


class Base(HttpUser):
    abstract = True
    wait_time = between(1, 4)
    csrf = ""

    def get(self, url: str, name: str, ok=(200,)):
        with self.client.get(url, name=name, catch_response=True) as resp:
            if checked(resp, ok):
                m = CSRF.search(resp.text or "")
                if m:
                    self.csrf = m.group(1)
            return resp

    def post(self, url: str, name: str, data: dict, files=None, ok=(302, 303)):
        data = {**data, "csrf_token": self.csrf}
        with self.client.post(url, name=name, data=data, files=files, allow_redirects=False,
                              catch_response=True) as resp:
            checked(resp, ok)
            return resp

    def login(self, login: str) -> bool:
        self.get("/auth/login", "page: /auth/login")
        resp = self.post("/auth/login", "login: POST /auth/login", {"login": login, "password": PASSWORD})
        return resp.status_code == 302


class Resident(HttpUser):
    """Anyone, without an account: the public pages of a town."""

    weight = 10
    wait_time = between(1, 4)

    def on_start(self):
        self.town = f"T{random.randint(2, TOWNS):03d}" if TOWNS > 1 else ""

    def _get(self, url, name):
        with self.client.get(url, name=name, catch_response=True) as resp:
            checked(resp)

    @task(3)
    def board(self):
        self._get(f"/board/?town={self.town}&page={random.randint(1, 5)}", "page: /board/")

    @task(2)
    def board_map(self):
        lat, lon = 31.10 + random.uniform(-0.4, 0.4), 121.40 + random.uniform(-0.4, 0.4)
        self._get(f"/board/map.json?town={self.town}&lat={lat:.4f}&lon={lon:.4f}",
                  "page: /board/map.json")

    @task(2)
    def services(self):
        self._get(f"/services/?town={self.town}", "page: /services/")

    @task(2)
    def points(self):
        self._get(f"/services/points/?town={self.town}", "page: /services/points/")

    @task(1)
    def points_map(self):
        self._get(f"/services/points/map.json?town={self.town}",
                  "page: /services/points/map.json")

    @task(1)
    def home(self):
        self._get("/", "page: /")


class Leader(Base):
    """A grid leader: their queue, an issue with its suggestions, filing with a photo,
    inviting."""

    weight = 4

    def on_start(self):
        self.grid = random.randrange(GRIDS)
        self.issues: list[int] = []
        self.login(phone("142", self.grid))

    @task(3)
    def queue(self):
        resp = self.get("/issues/?queue=grid", "page: /issues/")
        self.issues = [int(i) for i in ISSUE_LINK.findall(resp.text or "")][:20]

    @task(4)
    def issue_with_suggestions(self):
        if self.issues:
            self.get(f"/issues/{random.choice(self.issues)}", "page: /issues/[id]")

    @task(1)
    def file_issue(self):
        resp = self.get("/issues/new", "page: /issues/new")
        select = GRID_SELECT.search(resp.text or "")
        own = OWN_GRID.search(select.group(1)) if select else None
        if resp.status_code != 200 or not own:
            return
        files = [("photos", ("lamp.jpg", PHOTO, "image/jpeg"))] if PHOTO else None
        self.post("/issues/new", "action: file issue with photo",
                  {"title": "路灯不亮", "description": random.choice(TEXTS),
                   "category": "facilities", "urgency": "normal", "source": "patrol",
                   "grid": own.group(1) or own.group(2), "lat": "", "lon": "",
                   "helpers_needed": "1"}, files=files)

    @task(1)
    def invite(self):
        if self.issues:
            issue = random.choice(self.issues)
            self.get(f"/issues/{issue}", "page: /issues/[id]")
            self.post(f"/tasks/invite/{issue}", "action: invite", {"mode": "next"})


class Volunteer(Base):
    """A volunteer with a task waiting: they answer it, then look at their tasks and record.
    Once they have answered, another volunteer with a task waiting may take their place (a
    new sign-in), so that answers are many enough for their percentiles to mean something."""

    weight = 4
    HAND_OVER = 0.3  # chance, at each look at the tasks once answered, that the next one comes

    def on_start(self):
        self.become_next()

    def become_next(self):
        self.client.cookies.clear()
        n = next(_volunteers)
        waiting = TOKENS.get("volunteers")
        self.answered = False
        self.login(waiting[n % len(waiting)] if waiting else phone("15", n % OPEN_TASKS))

    @task(3)
    def my_tasks(self):
        if self.answered and random.random() < self.HAND_OVER:
            self.become_next()
        resp = self.get("/tasks/", "page: /tasks/")
        links = TASK_LINK.findall(resp.text or "")
        if not links:
            return
        detail = self.get(f"/tasks/{links[0]}", "page: /tasks/[id]")
        found = ACCEPT.findall(detail.text or "")
        if found and not self.answered:
            self.answered = True
            verb = "accept" if random.random() < 0.7 else "decline"
            self.post(f"/tasks/{found[0]}/{verb}", f"action: {verb}", {})

    @task(1)
    def near(self):
        self.get("/tasks/near", "page: /tasks/near")

    @task(1)
    def record(self):
        self.get("/hours/", "page: /hours/")


class Office(Base):
    """A town office or the district's: dashboards."""

    weight = 1

    def on_start(self):
        self.district = next(_offices) % 2 == 1  # every other office is the district's
        if self.district:
            self.login("14000000000")
        else:
            self.login(phone("140", random.randint(1, TOWNS)))

    @task
    def dashboard(self):
        if self.district:
            if random.random() < 0.5:
                self.get("/dashboard/", "dash-district: /dashboard/")
            else:
                self.get("/dashboard/towns", "dash-district: /dashboard/towns")
        else:
            self.get("/dashboard/", "dash-town: /dashboard/")


class ApiClient(HttpUser):
    """A client of the JSON API with a grid leader's token: the matcher."""

    weight = 1
    wait_time = between(0.5, 2)

    def on_start(self):
        leaders = [t for t in TOKENS.get("leaders", []) if t.get("issues")] or [{}]
        self.me = random.choice(leaders)
        self.headers = {"Authorization": f"Bearer {self.me.get('token', '')}"}

    @task(3)
    def match(self):
        body = {"text": random.choice(TEXTS), "lat": 31.10 + random.uniform(-0.3, 0.3),
                "lon": 121.40 + random.uniform(-0.3, 0.3), "limit": 10}
        with self.client.post("/api/v1/match", json=body, headers=self.headers,
                              name="match: POST /api/v1/match", catch_response=True) as resp:
            checked(resp)

    @task(2)
    def suggestions(self):
        if not self.me.get("issues"):
            return
        issue = random.choice(self.me["issues"])
        with self.client.get(f"/api/v1/issues/{issue}/suggestions", headers=self.headers,
                             name="match: GET /api/v1/issues/[id]/suggestions",
                             catch_response=True) as resp:
            checked(resp)


@events.quitting.add_listener
def _report(environment, **kwargs):
    with open(os.path.join(WORK, "rate_limited.json"), "w", encoding="utf-8") as fh:
        json.dump(rate_limited, fh)
