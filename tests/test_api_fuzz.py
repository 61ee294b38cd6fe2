"""Fuzz the JSON API from its own OpenAPI document: no input may cause a server error."""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from volunteer.auth.services import create_token
from volunteer.extensions import db
from volunteer.issues.services import IssueInput, file_issue

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def token(factory):
    village = factory.village(code="VA")
    grid = factory.grid(village, code="VA-01", lat=30.757, lon=121.353)
    leader = factory.user("grid_leader", grid)
    for i in range(3):
        file_issue(leader, IssueInput(title=f"事项{i}", description="d", category="facilities",
                                      lat=30.7571, lon=121.3531))
    value = create_token(leader)
    db.session.commit()
    return value


@pytest.fixture
def api_schema(app, token):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_never_fails_with_a_server_error(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                           checks=[not_a_server_error])
