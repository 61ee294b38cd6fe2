"""Computing the dashboards' default views ahead of their readers (``tick``, from cron): each
town's, the whole district's and the towns side by side, for the default period, those read
within a day, into the app's cache. With a cache shared by the workers (Redis) an office
opening its dashboard does not wait for a district's figures."""
from __future__ import annotations

from flask import current_app

from volunteer.common import was_read
from volunteer.dashboard.figures import Scope, gather, view_key
from volunteer.dashboard.routes import resolve_period
from volunteer.dashboard.towns import compare, compare_key
from volunteer.extensions import db
from volunteer.org.models import Town, Village


def warm() -> int:
    """Compute anew the default views read within a day (nothing when the cache is off); how
    many."""
    if float(current_app.config.get("DASHBOARD_CACHE_SECONDS", 0)) <= 0:
        return 0
    period = resolve_period(None, None)
    towns = db.session.scalars(db.select(Town).order_by(Town.code)).all()
    scopes = [Scope("")]  # everything: the district's, or the only town's
    if len(towns) > 1:
        scopes += [Scope(t.name, village_ids=frozenset(db.session.scalars(
            db.select(Village.id).where(Village.town_id == t.id)))) for t in towns]
    done = 0
    for scope in scopes:
        if was_read("dashboard", view_key(scope, period)):
            gather(scope, period, fresh=True)
            done += 1
    if len(towns) > 1 and was_read("towns", compare_key(towns, period)):
        compare(towns, period, fresh=True)
        done += 1
    db.session.rollback()  # read only: end the transaction
    return done
