"""Accounts: registration, login, passwords, roles and their scope, API tokens."""
from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
