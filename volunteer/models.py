"""Imports every model so that Alembic and the mapper registry see them all."""
from volunteer.auth.models import ApiToken, OneTimeCode, RoleAssignment, User  # noqa: F401
from volunteer.callups.models import CallUp, CallUpResponse  # noqa: F401
from volunteer.checkin.models import CheckIn  # noqa: F401
from volunteer.hours.models import Certificate, HoursCorrection, ServiceHours  # noqa: F401
from volunteer.inbox.models import Notification, NotificationSetting  # noqa: F401,E402
from volunteer.invitations.models import Invitation  # noqa: F401
from volunteer.issues.models import (  # noqa: F401
    Issue,
    IssueCategory,
    IssueEvent,
    IssueFollower,
    IssuePhoto,
    UrgencyLevel,
)
from volunteer.matching.models import Slate  # noqa: F401
from volunteer.org.models import (  # noqa: F401
    Department,
    Grid,
    GridPoint,
    ServiceItem,
    Town,
    Village,
)
from volunteer.outbox.models import OutboxMessage  # noqa: F401
from volunteer.planning.models import Plan, PlanItem, PlanNeed  # noqa: F401
from volunteer.services.models import ServiceSession, SessionSignup  # noqa: F401
from volunteer.skills.models import Skill, SkillCategory  # noqa: F401
from volunteer.volunteers.models import (  # noqa: F401
    ContactView,
    VolunteerProfile,
    VolunteerSkill,
    WorkUnit,
)
