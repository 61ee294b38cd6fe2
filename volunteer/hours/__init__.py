"""Service hours (志愿服务时长): proposed by the volunteer or the leader, confirmed by the leader,
corrected on request; the volunteer's service record."""
from flask import Blueprint

bp = Blueprint("hours", __name__, url_prefix="/hours")
