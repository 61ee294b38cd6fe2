"""CLI commands of DESIGN §6: create-user, create-token."""
import pytest

from volunteer.auth.models import User
from volunteer.extensions import db


def test_create_admin_and_token_reads_the_api(runner, client):
    result = runner.invoke(args=["create-user", "--phone", "13811112222", "--name", "管理员",
                                 "--password", "admin1234", "--role", "admin"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-token", "--phone", "13811112222"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/openapi.json", headers=headers).status_code == 200
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json["roles"][0]["role"] == "admin"


def test_create_user_with_scope_and_again_adds_role(runner, factory):
    grid = factory.grid(code="G-01")
    result = runner.invoke(args=["create-user", "--phone", "13811113333", "--name", "网格长",
                                 "--password", "pass12345", "--role", "grid_leader",
                                 "--scope", "G-01"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-user", "--phone", "13811113333", "--name", "网格长",
                                 "--password", "pass12345", "--role", "village_admin",
                                 "--scope", grid.village.code])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.phone == "13811113333"))
    assert user.role_codes() == {"grid_leader", "village_admin"}
    assert user.consent_method == "attested"


@pytest.mark.parametrize("args", [
    ["--phone", "12345", "--name", "张三", "--password", "pass12345", "--role", "resident"],
    ["--phone", "13811114444", "--name", " ", "--password", "pass12345", "--role", "resident"],
    ["--phone", "13811114444", "--name", "张三", "--password", "short", "--role", "resident"],
    ["--phone", "13811114444", "--name", "张三", "--password", "pass12345", "--role", "king"],
    ["--phone", "13811114444", "--name", "张三", "--password", "pass12345", "--role",
     "grid_leader"],
    ["--phone", "13811114444", "--name", "张三", "--password", "pass12345", "--role",
     "grid_leader", "--scope", "NOPE"],
    ["--phone", "13811114444", "--name", "张三", "--password", "pass12345", "--role", "resident",
     "--scope", "X"],
])
def test_create_user_bad_input(runner, args):
    result = runner.invoke(args=["create-user", *args])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_create_token_unknown_phone(runner):
    result = runner.invoke(args=["create-token", "--phone", "13899998888"])
    assert result.exit_code != 0 and "no user" in result.output
