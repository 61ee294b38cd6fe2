"""The matcher's result as a viewer may see it, on the pages and in the API: reasons as short
text in the viewer's language ("电工（已认证）· 350 米 · 同网格 · 周六上午有空 · 当前 1 项任务")
from the matcher's codes, the suggested volunteers described with what the viewer may see of
them (names, phones, distances, map pins), and the skills by name.
"""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from volunteer import policy
from volunteer.auth.models import User
from volunteer.common import mask_name
from volunteer.extensions import db
from volunteer.geo import haversine_km
from volunteer.matching.matcher import MatchResult
from volunteer.org.models import Grid
from volunteer.skills.models import Skill
from volunteer.volunteers import availability
from volunteer.volunteers.models import VolunteerProfile, VolunteerSkill
from volunteer.volunteers.services import list_phone, may_reveal


def skill_names(codes) -> dict[str, str]:
    """The skills' names in the current language, by code."""
    en = str(get_locale()).startswith("en")
    rows = db.session.execute(db.select(Skill.code, Skill.name_en if en else Skill.name_zh)
                              .where(Skill.code.in_(list(codes)))).tuples().all()
    return dict(rows)


def _distance(m: int) -> str:
    return _("%(m)s m", m=m) if m < 1000 else _("%(km).1f km", km=m / 1000)


def render_reasons(reasons: list[tuple], names: dict[str, str], distance=None) -> list[str]:
    """The matcher's (code, params) reasons as short translated phrases; ``distance`` rounds a
    volunteer's distance as the viewer may see it (none: the volunteer's own)."""
    out = []
    for code, p in reasons:
        if code == "skill":
            name = names.get(p["code"], p["code"])
            out.append(_("%(skill)s (verified)", skill=name) if p.get("verified") else name)
        elif code == "skill_unverified":
            out.append(_("%(skill)s (unverified)", skill=names.get(p["code"], p["code"])))
        elif code == "skill_related":
            out.append(_("related skill: %(skill)s", skill=names.get(p["code"], p["code"])))
        elif code == "skill_similar":
            out.append(_("close to %(skill)s", skill=names.get(p["code"], p["code"])))
        elif code == "distance":
            m = distance(p["m"]) if distance else p["m"]
            if m is not None:  # none: not to be shown
                out.append(_distance(m))
        elif code == "same_grid":
            out.append(_("same grid"))
        elif code == "same_village":
            out.append(_("same village"))
        elif code == "other_town":
            out.append(_("from the next town"))
        elif code == "available":
            out.append(_("free %(when)s", when="、".join(availability.labels(p["mask"]))))
        elif code == "busy":
            out.append(_("usually busy then"))
        elif code == "load":
            out.append(_("%(n)s open tasks", n=p["n"]))
    return out


def for_page(viewer: User, result: MatchResult, chosen: bool,
             origin: tuple[float, float] | None = None) -> dict:
    """A match for a page: the skills by name, the volunteers described, the team's ids."""
    names = skill_names([c for c, _p in result.skills])
    return {"skills": [(c, names.get(c, c), p) for c, p in result.skills],
            "items": describe(viewer, result, origin), "chosen": chosen,
            "team": [uid for uid, _c in result.team]}


def describe(viewer: User, result: MatchResult,
             origin: tuple[float, float] | None = None) -> list[dict]:
    """The suggestions as dicts: volunteer (id, name, masked phone, skills, whether the viewer
    may reveal the phone), score, distance and reasons as the viewer may see them, and where a
    map shows the volunteer (never their home: ``policy.volunteer_pin``)."""
    return describe_many(viewer, [(result, origin)])[0]


def describe_many(viewer: User, parts: list[tuple[MatchResult, tuple[float, float] | None]]
                  ) -> list[list[dict]]:
    """``describe`` for several results (each with its origin) in the same two queries."""
    ids = {s.user_id for result, _o in parts for s in result.suggestions}
    profile = joinedload(User.profile)  # with its grid and 村居 in the same query
    users = {u.id: u for u in db.session.scalars(
        db.select(User).where(User.id.in_(ids or [-1]))
        .options(profile.joinedload(VolunteerProfile.home_grid).joinedload(Grid.village)))
        .unique()}
    en = str(get_locale()).startswith("en")
    # Their skills by name, as columns (no skill rows built for a list of names).
    held: dict[int, list[str]] = {}
    for user_id, name_zh, name_en, free_text in db.session.execute(
            db.select(VolunteerProfile.user_id, Skill.name_zh, Skill.name_en,
                      VolunteerSkill.free_text)
            .join(VolunteerSkill, VolunteerSkill.profile_id == VolunteerProfile.id)
            .outerjoin(Skill, Skill.id == VolunteerSkill.skill_id)
            .where(VolunteerProfile.user_id.in_(ids or [-1])).order_by(VolunteerSkill.id)):
        held.setdefault(user_id, []).append(
            (name_en if en else name_zh) if name_zh is not None else (free_text or ""))
    codes = {c for result, _o in parts for c, _p in result.skills}
    for result, _o in parts:
        for s in result.suggestions:
            codes.update(p.get("code") for code, p in s.reasons if "code" in p)
    names = skill_names(codes)
    return [_described(viewer, result, origin, users, held, names) for result, origin in parts]


def _described(viewer: User, result: MatchResult, origin, users: dict,
               held: dict[int, list[str]], names: dict) -> list[dict]:
    out = []
    for s in result.suggestions:
        user = users.get(s.user_id)
        if user is None:
            continue
        profile = user.profile
        if profile is None:
            continue
        skills = held.get(user.id, [])
        village = profile.home_grid.village_id if profile.home_grid else None

        if not policy.home_measured(viewer, village):
            # Outside one's 村居: from the volunteer's grid centre, never from their home.
            grid = profile.home_grid
            away = None if origin is None or grid is None or grid.lat is None else \
                float(haversine_km(origin[0], origin[1], grid.lat, grid.lon)) * 1000

            def distance(m, village=village, away=away):
                return policy.shown_distance(viewer, away, village)
        else:
            def distance(m, village=village):
                return policy.shown_distance(viewer, m, village)

        pin = policy.volunteer_pin(viewer, profile) or (None, None)
        out.append({
            "volunteer": {"id": user.id,
                          "name": user.name if policy.full_name_shown(viewer, profile)
                          else mask_name(user.name),
                          "phone": list_phone(viewer, profile),
                          "revealable": may_reveal(viewer, profile),
                          "skills": skills},
            "score": policy.shown_score(viewer, s.score, village),
            "distance_m": distance(s.distance_m), "tier": s.tier,
            "reasons": render_reasons(s.reasons, names, distance),
            "lat": pin[0], "lon": pin[1],
        })
    return out
