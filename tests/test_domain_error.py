"""One domain error: its messages in both languages, the API's one handler, the web's one helper
for action POSTs, the 500 page, and the error codes of the OpenAPI document (issue 15, part 3)."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError
from wtforms import Form, StringField

from volunteer.actions import attempt, perform
from volunteer.auth.services import AccountError, create_token
from volunteer.errors import Conflict, DomainError, error_table
from volunteer.extensions import db
from volunteer.hours.services import HoursError
from volunteer.invitations.services import InvitationError
from volunteer.issues.services import IssueError
from volunteer.issues.workflow import WorkflowError
from volunteer.org.models import Department, District
from volunteer.services.sessions import SessionError
from volunteer.volunteers.importer import ImportFileError

ROOT = Path(__file__).parents[1] / "volunteer"


def half_written() -> None:
    """Write a row the way a service does before a rule refuses: added and flushed."""
    db.session.add(Department(code="HALF", name="half-written",
                              district=District(code="HALFD", name="half-written district")))
    db.session.flush()


def written() -> bool:
    return db.session.scalar(db.select(Department).where(Department.code == "HALF")) is not None


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


# --- the error and its messages ---------------------------------------------------------------

def test_message_in_english_and_chinese(app):
    busy = InvitationError("double_booked", "张三")
    with app.test_request_context():
        with force_locale("en"):
            assert busy.message == "张三 is already busy at that time."
            assert InvitationError("double_booked").message == \
                "The volunteer is already busy at that time."  # the default for an empty who
        with force_locale("zh_CN"):
            assert busy.message == "张三 在该时段已有任务。"
            assert HoursError("not_done").message == "事项办结后才能记录时长。"


def test_code_status_field_and_params(app):
    exc = HoursError("hours_range", "hours")
    assert (str(exc), exc.code, exc.field, exc.status) == ("hours_range", "hours_range", "hours",
                                                            422)
    assert InvitationError("double_booked", "张三").who == "张三"  # the old attribute still works
    assert InvitationError("not_allowed").status == 403
    assert SessionError("cancelled").status == 409  # a state conflict by default
    assert IssueError("stale").status == 409
    assert DomainError("anything", status=418).status == 418
    assert str(AccountError("scope_needed", "scope")) == "scope_needed"  # the CLI reads the code
    with app.test_request_context(), force_locale("en"):
        assert str(ImportFileError("empty")) == "The file is empty."  # the CLI prints it
        assert DomainError("no_such_rule").message == "no such rule"  # no message: the code


def test_every_subclass_is_in_the_registry():
    for cls in (InvitationError, HoursError, IssueError, WorkflowError, SessionError,
                AccountError, ImportFileError, Conflict):
        assert cls in DomainError.registry
        assert cls.messages, cls


# --- the API: one handler ---------------------------------------------------------------------

@pytest.fixture
def token(factory):
    user = factory.user("grid_member", factory.grid())
    value = create_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {value}"}


ISSUE = {"title": "路灯不亮", "description": "绿地路灯全部不亮", "category": "facilities",
         "lat": 30.7571, "lon": 121.3531}


def test_api_answers_a_domain_error_and_rolls_back(client, token, monkeypatch):
    def refuse(user, data):
        half_written()
        raise IssueError("outside_town", "lat")

    monkeypatch.setattr("volunteer.api.issues.file_issue", refuse)
    resp = client.post("/api/v1/issues", headers=token, json=ISSUE)
    text = "This place is not within 3 km of any grid of the town."  # English, as the API speaks
    assert resp.status_code == 422
    assert resp.json == {"error": "outside_town", "message": text, "fields": {"lat": text}}
    assert not written()


def test_api_state_conflict_has_no_fields(client, token, monkeypatch):
    def refuse(user, data):
        half_written()
        raise SessionError("cancelled")

    monkeypatch.setattr("volunteer.api.issues.file_issue", refuse)
    resp = client.post("/api/v1/issues", headers=token, json=ISSUE)
    assert resp.status_code == 409
    assert resp.json == {"error": "cancelled", "message": "This session was cancelled.",
                         "fields": {}}
    assert not written()


def test_api_answers_a_concurrent_duplicate_with_409(client, token, monkeypatch):
    def duplicate(user, data):
        half_written()
        raise IntegrityError("INSERT …", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr("volunteer.api.issues.file_issue", duplicate)
    resp = client.post("/api/v1/issues", headers=token, json=ISSUE)
    assert resp.status_code == 409 and resp.json["error"] == "conflict"
    assert resp.json["fields"] == {}
    assert not written()


def test_no_api_module_or_route_rolls_back_by_itself():
    """Rollbacks live in the handlers (errors.py, api/errors.py) and the web helper only."""
    modules = [*ROOT.glob("api/*.py"), *ROOT.rglob("*routes.py")]
    allowed = {ROOT / "api/errors.py"}
    offenders = [str(p.relative_to(ROOT)) for p in modules
                 if p not in allowed and "rollback()" in p.read_text(encoding="utf-8")]
    assert offenders == []
    assert len(modules) > 15


# --- the web: one helper ----------------------------------------------------------------------

def test_perform_flashes_and_rolls_back(app, client, english):
    def refused():
        half_written()
        raise HoursError("not_done")

    app.add_url_rule("/test/refused", "test_refused", methods=["POST"], view_func=lambda: perform(
        refused, "Done.", "/done", failure_redirect="/try-again", suffix="Nothing was changed."))
    resp = client.post("/test/refused")
    assert resp.status_code == 302 and resp.headers["Location"] == "/try-again"
    assert flashes(client) == [("warning", "Hours can be recorded once the issue is closed. "
                                           "Nothing was changed.")]
    assert not written()


def test_perform_commits_and_flashes_the_success(app, client):
    def done():
        half_written()
        return "HALF"

    app.add_url_rule("/test/done", "test_done", methods=["POST"], view_func=lambda: perform(
        done, lambda code: f"{code} saved.", lambda code: f"/departments/{code}",
        failure_redirect="/try-again"))
    resp = client.post("/test/done")
    assert resp.status_code == 302 and resp.headers["Location"] == "/departments/HALF"
    assert flashes(client) == [("success", "HALF saved.")]
    assert written()


def test_perform_reports_a_concurrent_duplicate_as_its_conflict(app, client, english):
    def duplicate():
        half_written()
        db.session.add(Department(code="HALF", name="the same code at the same moment",
                                  district=District(code="HALFE", name="another district")))

    app.add_url_rule("/test/twice", "test_twice", methods=["POST"], view_func=lambda: perform(
        duplicate, "Done.", "/back", conflict=HoursError("recorded_meanwhile"),
        category="danger"))
    resp = client.post("/test/twice")
    assert resp.status_code == 302 and resp.headers["Location"] == "/back"
    assert flashes(client) == [("warning", "Someone recorded these hours at the same moment; "
                                           "please look again.")]
    assert not written()


class HoursForm(Form):
    hours = StringField()
    note = StringField()


def test_attempt_puts_the_message_on_the_field_at_fault(app):
    with app.test_request_context(), force_locale("en"):
        form = HoursForm()
        with attempt(form=form, field="note") as outcome:
            half_written()
            raise HoursError("hours_range", "hours")
        assert outcome.error.code == "hours_range" and not outcome.ok
        assert form.hours.errors == ["Hours must be more than 0 and at most 24 for one "
                                     "activity."]
        with attempt(form=form, field="note"):  # no field of the form: the one named
            raise HoursError("not_done")
        assert form.note.errors == ["Hours can be recorded once the issue is closed."]
        assert not written()
        with attempt(dry_run=True) as outcome:  # a preview keeps nothing
            half_written()
        assert outcome.ok and not written()


# --- the site's fallbacks: 500 and an uncaught DomainError -------------------------------------

def test_unexpected_error_gives_the_500_page_and_domain_error_does_not(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.route("/test/boom")
    def boom():
        half_written()
        raise RuntimeError("boom")

    @app.route("/test/refuse", methods=["GET", "POST"])
    def refuse():
        half_written()
        raise SessionError("cancelled")

    with app.app_context():
        client = app.test_client()
        client.set_cookie("lang", "en")
        resp = client.get("/test/boom")
        assert resp.status_code == 500 and "500" in resp.get_data(as_text=True)
        assert not written()

        resp = client.get("/test/refuse")
        assert resp.status_code == 409
        assert "This session was cancelled." in resp.get_data(as_text=True)
        assert not written()

        resp = client.post("/test/refuse", headers={"Referer": "http://localhost/services/"})
        assert resp.status_code == 302 and resp.headers["Location"] == "/services/"
        assert flashes(client) == [("danger", "This session was cancelled.")]
        resp = client.post("/test/refuse", headers={"Referer": "https://elsewhere.example/x"})
        assert resp.status_code == 409  # never back to another site
        assert not written()
        db.session.remove()


def test_debug_mode_lets_the_exception_through(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=True)

    @app.route("/test/boom")
    def boom():
        raise RuntimeError("for the debugger")

    with app.app_context(), pytest.raises(RuntimeError, match="for the debugger"):
        app.test_client().get("/test/boom")


# --- the OpenAPI document ---------------------------------------------------------------------

def test_openapi_lists_the_error_codes_of_the_registry(client):
    doc = client.get("/api/v1/openapi.json").json
    table = {(row["type"], row["code"]): row for row in doc["x-error-codes"]}
    assert table[("InvitationError", "double_booked")] == {
        "type": "InvitationError", "code": "double_booked", "status": 409,
        "message": "%(who)s is already busy at that time."}
    assert table[("WorkflowError", "not_allowed")]["status"] == 403
    assert table[("HoursError", "hours_range")]["status"] == 422
    assert {(r["type"], r["code"]) for r in error_table()} == set(table)
    expected = {(cls.__name__, code) for cls in DomainError.registry
                if cls.__module__.startswith("volunteer.") for code in cls.messages}
    assert set(table) == expected

    # Per operation, under each status, the codes its view may raise with their messages.
    responses = doc["paths"]["/issues/{issue_id}/transitions"]["post"]["responses"]
    refused = responses["403"]["content"]["application/json"]["examples"]
    assert refused["not_allowed"]["value"] == {
        "error": "not_allowed", "message": "Your role does not allow this action on this issue.",
        "fields": {}}
    assert "stale" in responses["409"]["content"]["application/json"]["examples"]
    assert "conflict" in responses["409"]["content"]["application/json"]["examples"]
    assert "resolution_needed" in responses["422"]["content"]["application/json"]["examples"]
    hours = doc["paths"]["/invitations/{invitation_id}/hours/confirm"]["post"]["responses"]
    assert "own_hours" in hours["403"]["content"]["application/json"]["examples"]
