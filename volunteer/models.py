"""Imports every model so that Alembic and the mapper registry see them all."""
from volunteer.auth.models import ApiToken, OneTimeCode, RoleAssignment, User  # noqa: F401
from volunteer.org.models import (Department, Grid, GridPoint, ServiceItem, Town,  # noqa: F401
                                  Village)
from volunteer.skills.models import Skill, SkillCategory  # noqa: F401
