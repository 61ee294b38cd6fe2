"""Migrations build the schema the models describe, on SQLite and PostgreSQL; setup is idempotent."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from volunteer.extensions import db
from volunteer.skills.models import Skill


def test_migrations_match_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_every_model_table_exists(app):
    names = set(db.inspect(db.engine).get_table_names())
    assert {"town", "village", "grid", "grid_point", "department", "service_item", "user",
            "role_assignment", "skill", "skill_category", "api_token",
            "one_time_code"} <= names


def test_setup_is_idempotent_and_keeps_edits(runner):
    first = runner.invoke(args=["setup"])
    assert first.exit_code == 0, first.output
    assert "skills +0" in first.output  # the app fixture already loaded them
    doctor = db.session.scalar(db.select(Skill).where(Skill.code == "doctor"))
    doctor.name_en = "Physician (edited)"
    db.session.commit()
    again = runner.invoke(args=["setup"])
    assert again.exit_code == 0, again.output
    assert "skills +0" in again.output
    db.session.expire_all()
    assert db.session.scalar(db.select(Skill.name_en).where(Skill.code == "doctor")) == \
        "Physician (edited)"


def test_setup_leaves_a_working_empty_town(client):
    assert client.get("/").status_code == 200
    assert client.get("/auth/register").status_code == 200
