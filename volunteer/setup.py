"""Reference data that every installation needs: the district and town rows and the skills
taxonomy.

``load_reference_data`` only inserts what is missing (matched by code); rows an admin has
edited are never touched, so ``flask --app wsgi setup`` can run on every start.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import current_app

from volunteer.extensions import db
from volunteer.issues.models import IssueCategory, UrgencyLevel
from volunteer.org.models import Department, District, Town
from volunteer.skills.models import Skill, SkillCategory

DATA_DIR = Path(__file__).resolve().parent / "data"


@cache
def taxonomy() -> dict:
    """The skills taxonomy shipped with the package (data/skills.json)."""
    return json.loads((DATA_DIR / "skills.json").read_text(encoding="utf-8"))


def load_reference_data() -> dict[str, int]:
    """Insert the district and town (when there are none) and any missing skill categories
    and skills; returns what was added."""
    added = {"district": 0, "town": 0, "skill_categories": 0, "skills": 0}
    district = db.session.scalar(db.select(District).order_by(District.id).limit(1))
    if district is None:
        district = District(code=current_app.config["DISTRICT_CODE"],
                            name=current_app.config["DISTRICT_NAME"])
        db.session.add(district)
        added["district"] = 1
    if db.session.scalar(db.select(db.func.count(Town.id))) == 0:
        db.session.add(Town(code=current_app.config["TOWN_CODE"],
                            name=current_app.config["TOWN_NAME"], district=district))
        added["town"] = 1
    data = taxonomy()
    categories = {c.code: c for c in db.session.scalars(db.select(SkillCategory))}
    for row in data["categories"]:
        if row["code"] not in categories:
            cat = SkillCategory(code=row["code"], name_zh=row["zh"], name_en=row["en"])
            db.session.add(cat)
            categories[row["code"]] = cat
            added["skill_categories"] += 1
    have_codes = set(db.session.scalars(db.select(Skill.code)))
    have_names = set(db.session.scalars(db.select(Skill.name_zh)))
    for row in data["skills"]:
        if row["code"] in have_codes or row["zh"] in have_names:
            continue
        db.session.add(Skill(
            code=row["code"], name_zh=row["zh"], name_en=row["en"],
            category=categories[row["category"]], synonyms_zh=row.get("synonyms_zh", []),
            synonyms_en=row.get("synonyms_en", []),
            needs_certificate=bool(row.get("needs_certificate")),
            certificate_name=row.get("certificate"), related=row.get("related") or []))
        added["skills"] += 1
    added.update(_load_issue_reference())
    db.session.flush()
    return added


def _load_issue_reference() -> dict[str, int]:
    """Issue categories (with their default department when it exists) and urgency levels."""
    data = json.loads((DATA_DIR / "issue_categories.json").read_text(encoding="utf-8"))
    added = {"issue_categories": 0, "urgency_levels": 0}
    have = set(db.session.scalars(db.select(IssueCategory.code)))
    departments = {d.name: d for d in db.session.scalars(db.select(Department))}
    for row in data["categories"]:
        if row["code"] not in have:
            db.session.add(IssueCategory(code=row["code"], name_zh=row["zh"], name_en=row["en"],
                                         default_department=departments.get(row["department"])))
            added["issue_categories"] += 1
    have = set(db.session.scalars(db.select(UrgencyLevel.code)))
    for row in data["urgencies"]:
        if row["code"] not in have:
            db.session.add(UrgencyLevel(code=row["code"], name_zh=row["zh"], name_en=row["en"],
                                        hours=row["hours"]))
            added["urgency_levels"] += 1
    return added


def link_category_departments() -> None:
    """Give categories without a default department the one the data file names (demo, import)."""
    data = json.loads((DATA_DIR / "issue_categories.json").read_text(encoding="utf-8"))
    wanted = {row["code"]: row["department"] for row in data["categories"]}
    departments = {d.name: d for d in db.session.scalars(  # the first town's, when several
        db.select(Department).where(Department.town_id.is_not(None))
        .order_by(Department.id.desc()))}
    for cat in db.session.scalars(db.select(IssueCategory).where(
            IssueCategory.default_department_id.is_(None))):
        dept = departments.get(wanted.get(cat.code) or "")
        if dept is not None:
            cat.default_department = dept
